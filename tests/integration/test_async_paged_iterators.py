"""``async for`` over every cursor-paged list, on AsyncManagementClient.

The async iterators are derived (scripts/gen_async_apis.py) from the sync client's, which
are derived from the spec (scripts/_paged.py); the cases, the multi-page loopback server
and its expectations are test_paged_iterators.py's.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk.management import AsyncManagementClient
from kinde_sdk_generated._kinde_paged import PAGED_OPERATIONS, PagedOperation
from tests._loopback import LoopbackKinde
from tests.integration.test_paged_iterators import (
    PAGES,
    PER_PAGE,
    _page_server,
    _required_args,
    pages,  # noqa: F401  (the module's loopback server fixture)
)

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_one_async_iterator_per_sync_iterator() -> None:
    for paged in PAGED_OPERATIONS:
        assert callable(getattr(AsyncManagementClient, paged.iterator)), paged.iterator


@pytest.mark.parametrize("paged", PAGED_OPERATIONS, ids=[p.iterator for p in PAGED_OPERATIONS])
async def test_the_async_iterator_walks_every_page_lazily(
    pages: LoopbackKinde,  # noqa: F811
    paged: PagedOperation,
) -> None:
    field = paged.items_field
    base = _page_server().answer

    def answer(method: str, path: str, query: dict[str, list[str]]) -> Any:
        body = base(method, path, query)
        body[field] = body.pop("items")
        return body

    pages.answer = answer
    async with AsyncManagementClient(
        pages.url, f"apaged-{paged.iterator}", "s", max_retries=0
    ) as client:
        del pages.requests[:]
        args = _required_args(client, paged)  # type: ignore[arg-type]
        iterator = getattr(client, paged.iterator)(*args, page_size=4)
        assert pages.requests == []  # nothing fetched before iteration
        first = [await iterator.__anext__() for _ in range(PER_PAGE + 1)]
        assert len(pages.requests) == 2  # only the pages needed so far
        rest = [item async for item in iterator]
    items = first + rest
    assert len(items) == PAGES * PER_PAGE
    assert all(type(item).__name__ == paged.item_model for item in items)
    assert len({item.id for item in items}) == len(items)
    assert [query for _method, _path, query in pages.requests] == [
        "page_size=4",
        "page_size=4&next_token=page-1",
        "page_size=4&next_token=page-2",
    ]


async def test_filters_max_pages_and_the_generic_paginate(
    pages: LoopbackKinde,  # noqa: F811
) -> None:
    base = _page_server().answer

    def answer(method: str, path: str, query: dict[str, list[str]]) -> Any:
        body = base(method, path, query)
        body["users"] = body.pop("items")
        return body

    pages.answer = answer
    async with AsyncManagementClient(pages.url, "apaged-filters", "s", max_retries=0) as client:
        del pages.requests[:]
        users = [u async for u in client.iter_users(email="ada@example.com", max_pages=1)]
        assert len(users) == PER_PAGE
        assert pages.requests[0][2] == "email=ada%40example.com"
        with pytest.raises(TypeError, match="emial"):
            client.iter_users(emial="ada@example.com")  # type: ignore[call-arg]
        del pages.requests[:]
        walked = [u async for u in client.paginate(client.users.get_users, "users", page_size=2)]
        assert len(walked) == PAGES * PER_PAGE
        assert len(pages.requests) == PAGES


def test_a_type_checker_sees_awaitables_and_async_iterators(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from kinde_sdk.management import AsyncManagementClient

            async def main() -> None:
                async with AsyncManagementClient("https://acme.kinde.com", "id", "s") as client:
                    reveal_type(client.users.get_users(page_size=10))
                    page = await client.users.get_users(page_size=10)
                    reveal_type(page)
                    reveal_type(await client.get_users(page_size=10))
                    async for user in client.iter_users():
                        reveal_type(user)
                    await client.users.get_users(page_size="ten")
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", str(snippet)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    ).stdout
    lines = out.splitlines()
    revealed = [line for line in lines if "Revealed type" in line]
    assert (
        "Coroutine[Any, Any, kinde_sdk_generated.models.users_response.UsersResponse]"
        in (revealed[0])
    ), out
    assert revealed[1].endswith('"kinde_sdk_generated.models.users_response.UsersResponse"'), out
    assert revealed[2].endswith('"kinde_sdk_generated.models.users_response.UsersResponse"'), out
    assert "UsersResponseUsersInner" in revealed[3], out
    # A wrong argument type is caught before running anything.
    assert any('"get_users"' in line and "page_size" in line for line in lines), out
