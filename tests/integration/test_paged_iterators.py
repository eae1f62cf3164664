"""Every cursor-paged list has a typed iterator, derived at generation time.

The iterators come from scripts/_paged.py, run by `make generate`. These tests check that
the set of iterators is exactly the set of operations with a ``next_token`` parameter in
the spec, that each iterator walks real multi-page lists from a loopback server that
honours ``next_token`` (sending the operation's own filters), that a type checker sees the
item type, and that the derivation picks up a new paged operation by itself.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk.management import ManagementClient
from kinde_sdk_generated._kinde_paged import PAGED_OPERATIONS, PagedOperation
from tests._loopback import LoopbackKinde
from tests._spec_examples import operations, snake_case

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from _build import BuildError  # noqa: E402
from _paged import find_paged  # noqa: E402

PAGES = 3
PER_PAGE = 4


def test_one_iterator_per_operation_with_next_token_in_the_spec() -> None:
    in_spec = {
        snake_case(op.operation_id)
        for op in operations()
        if any(p.name == "next_token" and p.location == "query" for p in op.parameters)
    }
    assert len(in_spec) == 13
    assert {p.method for p in PAGED_OPERATIONS} == in_spec
    for paged in PAGED_OPERATIONS:
        assert callable(getattr(ManagementClient, paged.iterator))


def _page_server() -> LoopbackKinde:
    """Pages 0..PAGES-1 of items of any list, chained by next_token ``page-N``."""

    def answer(method: str, path: str, query: dict[str, list[str]]) -> Any:
        token = query.get("next_token", ["page-0"])[0]
        page = int(token.removeprefix("page-"))
        field = path.rsplit("/", 1)[-1]
        items = [{"id": f"{field}-{page}-{i}"} for i in range(PER_PAGE)]
        body: dict[str, Any] = {"code": "OK", "message": "Success", "items": items}
        if page + 1 < PAGES:
            body["next_token"] = f"page-{page + 1}"
        return body

    return LoopbackKinde(answer)


@pytest.fixture(scope="module")
def pages() -> Iterator[LoopbackKinde]:
    with _page_server() as server:
        yield server


def _required_args(client: ManagementClient, paged: PagedOperation) -> list[str]:
    signature = inspect.signature(getattr(client, paged.iterator))
    return [
        "x"
        for p in signature.parameters.values()
        if p.default is inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    ]


@pytest.mark.parametrize("paged", PAGED_OPERATIONS, ids=[p.iterator for p in PAGED_OPERATIONS])
def test_the_iterator_walks_every_page_lazily(pages: LoopbackKinde, paged: PagedOperation) -> None:
    # The loopback server names its list "items"; answer under the operation's field.
    field = paged.items_field

    def answer(method: str, path: str, query: dict[str, list[str]]) -> Any:
        body = base(method, path, query)
        body[field] = body.pop("items")
        return body

    base = _page_server().answer
    pages.answer = answer
    with ManagementClient(pages.url, f"paged-{paged.iterator}", "s", max_retries=0) as client:
        del pages.requests[:]
        iterator = getattr(client, paged.iterator)(*_required_args(client, paged), page_size=4)
        assert pages.requests == []  # nothing fetched before iteration
        first = list(islice(iterator, PER_PAGE + 1))
        assert len(pages.requests) == 2  # only the pages needed so far
        rest = list(iterator)
    items = first + rest
    assert len(items) == PAGES * PER_PAGE
    assert all(type(item).__name__ == paged.item_model for item in items)
    assert len({item.id for item in items}) == len(items)
    tokens = [query for _method, _path, query in pages.requests]
    assert tokens == [
        "page_size=4",
        "page_size=4&next_token=page-1",
        "page_size=4&next_token=page-2",
    ]


def test_filters_are_sent_and_unknown_ones_refused(pages: LoopbackKinde) -> None:
    def answer(method: str, path: str, query: dict[str, list[str]]) -> Any:
        return {"users": [{"id": "kp_1"}]}

    pages.answer = answer
    with ManagementClient(pages.url, "paged-filters", "s", max_retries=0) as client:
        del pages.requests[:]
        users = list(client.iter_users(email="ada@example.com", has_organization=True))
        assert [u.id for u in users] == ["kp_1"]
        assert pages.requests[0][2] == "email=ada%40example.com&has_organization=true"
        with pytest.raises(TypeError, match="emial"):
            client.iter_users(emial="ada@example.com")  # type: ignore[call-arg]


def test_a_type_checker_sees_the_item_type(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from kinde_sdk.management import ManagementClient

            client = ManagementClient("https://acme.kinde.com", "id", "secret")
            for user in client.iter_users():
                reveal_type(user)
            for member in client.iter_organization_users("org_1"):
                reveal_type(member)
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
    assert "UsersResponseUsersInner" in out, out
    assert "OrganizationUser" in out, out


def _fake_package(root: Path, response_fields: str) -> Path:
    package = root / "pkg"
    (package / "api").mkdir(parents=True)
    (package / "models").mkdir()
    (package / "api" / "widgets_api.py").write_text(
        textwrap.dedent(
            """
            class WidgetsApi:
                def get_widgets(
                    self,
                    shop_id: Annotated[StrictStr, Field(description="x")],
                    page_size: Annotated[Optional[StrictInt], Field()] = None,
                    next_token: Annotated[Optional[StrictStr], Field()] = None,
                    colour: Annotated[Optional[StrictStr], Field()] = None,
                    _request_timeout: Union[None, float] = None,
                ) -> WidgetsResponse:
                    ...
            """
        )
    )
    (package / "models" / "widgets_response.py").write_text(
        "\nclass WidgetsResponse(KindeModel):\n"
        + textwrap.indent(textwrap.dedent(response_fields), "    ")
    )
    (package / "models" / "widget.py").write_text("\nclass Widget(KindeModel):\n    id: str\n")
    return package


def test_a_new_paged_operation_gets_an_iterator_by_regeneration(tmp_path: Path) -> None:
    package = _fake_package(
        tmp_path,
        """
        widgets: Optional[List[Widget]] = None
        next_token: Optional[StrictStr] = None
        """,
    )
    (found,) = find_paged(package)
    assert (found.iterator, found.items_field, found.item_model) == (
        "iter_widgets",
        "widgets",
        "Widget",
    )
    assert [(p.name, p.hint, p.required) for p in found.params] == [
        ("shop_id", "str", True),
        ("page_size", "Optional[int]", False),
        ("colour", "Optional[str]", False),
    ]


def test_a_paged_operation_with_two_lists_stops_the_build(tmp_path: Path) -> None:
    package = _fake_package(
        tmp_path,
        """
        widgets: Optional[List[Widget]] = None
        gadgets: Optional[List[Widget]] = None
        next_token: Optional[StrictStr] = None
        """,
    )
    with pytest.raises(BuildError, match="get_widgets"):
        find_paged(package)
