"""FastAPI: one shared Management API client per application, opened and closed with it.

::

    from fastapi import Depends, FastAPI
    from kinde_sdk.frameworks.fastapi import KindeLifespan, get_management_client
    from kinde_sdk.management import AsyncManagementClient

    app = FastAPI(lifespan=KindeLifespan())      # settings from KINDE_* env variables

    @app.get("/users")
    async def users(management: AsyncManagementClient = Depends(get_management_client)):
        return (await management.get_users(page_size=10)).to_dict()

:class:`KindeLifespan` creates an :class:`~kinde_sdk.management.AsyncManagementClient`
when the application starts (on the application's event loop, which the client then
belongs to) and closes it at shutdown; :func:`get_management_client` hands that one
client to every route. The Kinde SDK README's ``Depends(get_kinde_client)`` is
:func:`get_kinde_client`: it hands the route the application's
:class:`~kinde_sdk.kinde_api_client.KindeApiClient`, the README's own type, and nothing
more. In particular it does not check who is signed in: protect a route with
``Depends(require_user)`` or ``Depends(RequireAuth(...))``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Callable, Optional

from fastapi import Request

from ..errors import KindeConfigurationError

if TYPE_CHECKING:
    from ..kinde_api_client import KindeApiClient
    from ..management import AsyncManagementClient

__all__ = ["KindeLifespan", "get_kinde_client", "get_management_client"]

# Where the clients live: attributes of ``app.state``.
MANAGEMENT_STATE = "kinde_management"
KINDE_CLIENT_STATE = "kinde_client"

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


class KindeLifespan:
    """A FastAPI ``lifespan``: the shared management client lives as long as the app.

    Arguments are :class:`~kinde_sdk.management.AsyncManagementClient`'s (``domain``,
    ``client_id``, ``client_secret``, ``timeout``, ...); missing settings come from the
    same environment variables, and missing ones fail at startup, not at the first
    request. ``lifespan`` is the application's own lifespan, run inside this one (so
    it can use the client); what it yields is passed through as Starlette's lifespan
    state.
    """

    def __init__(self, *, lifespan: Optional[Lifespan] = None, **client_options: Any) -> None:
        self._lifespan = lifespan
        self._options = client_options

    def __repr__(self) -> str:
        return f"KindeLifespan(options={sorted(self._options)!r})"

    def __call__(self, app: Any) -> AbstractAsyncContextManager[Optional[Mapping[str, Any]]]:
        return self._run(app)

    @asynccontextmanager
    async def _run(self, app: Any) -> AsyncIterator[Optional[Mapping[str, Any]]]:
        from ..kinde_api_client import KindeApiClient
        from ..management import AsyncManagementClient

        options = dict(self._options)
        async with AsyncExitStack() as stack:
            management = AsyncManagementClient(**options)
            stack.push_async_callback(management.aclose)
            options.pop("transport", None)  # an AsyncTransport: not for the sync client
            kinde_client = KindeApiClient(
                options.pop("domain", None),
                None,
                options.pop("client_id", None),
                options.pop("client_secret", None),
                **options,
            )
            stack.callback(_close_kinde_client, kinde_client)
            setattr(app.state, MANAGEMENT_STATE, management)
            setattr(app.state, KINDE_CLIENT_STATE, kinde_client)
            try:
                if self._lifespan is None:
                    yield None
                else:
                    async with self._lifespan(app) as state:
                        yield state
            finally:
                # A request arriving after shutdown gets a clear error, not a closed pool.
                setattr(app.state, MANAGEMENT_STATE, None)
                setattr(app.state, KINDE_CLIENT_STATE, None)


def _close_kinde_client(client: KindeApiClient) -> None:
    management = client._management
    if management is not None:
        management.close()


async def get_management_client(request: Request) -> AsyncManagementClient:
    """Dependency: the application's shared :class:`AsyncManagementClient`."""
    client = getattr(request.app.state, MANAGEMENT_STATE, None)
    if client is None:
        raise KindeConfigurationError(
            "no Kinde management client on this app: create it with "
            "FastAPI(lifespan=KindeLifespan()) (from kinde_sdk.frameworks.fastapi)"
        )
    return client  # type: ignore[no-any-return]


async def get_kinde_client(request: Request) -> KindeApiClient:
    """Dependency: the application's :class:`~kinde_sdk.kinde_api_client.KindeApiClient`
    (the Kinde SDK README's ``Depends(get_kinde_client)``).

    With :class:`KindeLifespan` it is the one created at startup (its management client
    closed at shutdown). Without it, one is made on first use from the ``KINDE_*``
    environment variables and kept on ``app.state``; making it sends nothing, and a
    missing setting is reported when ``get_management()`` needs it.
    """
    state = request.app.state
    client = getattr(state, KINDE_CLIENT_STATE, None)
    if client is None:
        from ..kinde_api_client import KindeApiClient

        client = KindeApiClient()
        setattr(state, KINDE_CLIENT_STATE, client)
    return client
