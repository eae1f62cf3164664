"""The README's conveniences, awaited on AsyncManagementClient, against Prism.

The assertions are test_management_seed.py's own: each of its convenience tests runs
here on a facade that awaits every call of the async client on an event loop in a
background thread. So the async conveniences are held to exactly the sync ones' results.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from kinde_sdk.management import AsyncManagementClient, ManagementClient
from kinde_sdk.management._seed_methods import SeedMethods
from tests.integration import test_management_seed as seed
from tests.servers.front import FrontServer

pytestmark = pytest.mark.prism


class AwaitingFacade:
    """``facade.get_users(...)`` runs ``await client.get_users(...)`` on ``loop``."""

    def __init__(self, client: AsyncManagementClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)
        assert inspect.iscoroutinefunction(method), f"{name} is not awaitable"

        def call(*args: Any, **kwargs: Any) -> Any:
            future = asyncio.run_coroutine_threadsafe(method(*args, **kwargs), self._loop)
            return future.result(timeout=60)

        return call


@pytest.fixture
def awaited(kinde_domain: FrontServer) -> Iterator[AwaitingFacade]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    client = AsyncManagementClient(
        kinde_domain.url,
        kinde_domain.state.client_id,
        kinde_domain.state.client_secret,
        max_retries=0,
        strict_responses=True,
    )
    yield AwaitingFacade(client, loop)
    asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=30)
    loop.close()


@pytest.mark.parametrize(
    "case",
    [seed.test_users, seed.test_organizations, seed.test_roles, seed.test_feature_flags],
    ids=lambda case: case.__name__,
)
def test_the_seed_conveniences_awaited(case: Callable[[Any], None], awaited: Any) -> None:
    case(awaited)


def test_every_convenience_has_an_async_twin_with_the_same_signature() -> None:
    names = [
        name
        for name, value in vars(SeedMethods).items()
        if callable(value) and not name.startswith("_")
    ]
    assert len(names) == 19  # users 5, organizations 5, roles 5, feature flags 4
    for name in names:
        sync_method = getattr(ManagementClient, name)
        async_method = getattr(AsyncManagementClient, name)
        assert inspect.iscoroutinefunction(async_method), name
        assert inspect.signature(async_method) == inspect.signature(sync_method), name
        assert async_method.__doc__ == sync_method.__doc__, name
