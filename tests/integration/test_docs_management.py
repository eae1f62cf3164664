"""docs/management-drift.md and docs/management-pagination.md, run as written.

The marked Python blocks (``<!-- example:NAME:start -->`` ... ``:end``) run as scripts in a
subprocess, configured by the environment as the pages say, against a loopback Kinde
(tests/_loopback.py) that serves what each page describes; the iterator table must list
exactly the generated iterators.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk_generated._kinde_paged import PAGED_OPERATIONS
from tests._loopback import LoopbackKinde

DOCS = Path(__file__).resolve().parents[2] / "docs"
_MARKED = re.compile(
    r"<!-- example:([a-z-]+):start -->\n```python\n(.*?)```\n<!-- example:\1:end -->", re.DOTALL
)


def _examples(page: str) -> dict[str, str]:
    return dict(_MARKED.findall((DOCS / page).read_text(encoding="utf-8")))


def _run(code: str, server: LoopbackKinde) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KINDE_DOMAIN": server.url,
        "KINDE_MANAGEMENT_CLIENT_ID": "docs-example",
        "KINDE_MANAGEMENT_CLIENT_SECRET": "docs-secret",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


APPLICATION = {
    "code": "OK",
    "application": {
        "id": "3b0b5c6c8fcc464fab397f4969b5f482",
        "name": "My app",
        "type": "native",
        "new_field": {"since": "2027"},
    },
}


@pytest.fixture
def drifted() -> Iterator[LoopbackKinde]:
    with LoopbackKinde(lambda method, path, query: APPLICATION) as server:
        yield server


def test_the_drift_page_lenient_example(drifted: LoopbackKinde) -> None:
    out = _run(_examples("management-drift.md")["drift-lenient"], drifted)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "native",
        "{'since': '2027'}",
        "{'since': '2027'}",
        "{'since': '2027'}",
    ]
    assert "GetApplicationResponseApplication.type has a value the spec does not list" in out.stderr
    assert (
        "GetApplicationResponseApplication.new_field is a field the spec does not have"
        in out.stderr
    )


def test_the_drift_page_strict_example(drifted: LoopbackKinde) -> None:
    out = _run(_examples("management-drift.md")["drift-strict"], drifted)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "200 GetApplicationResponse"
    assert sorted(lines[1:]) == [
        "application.new_field: extra_forbidden",
        "application.type: value_error",
    ]


def _pages(method: str, path: str, query: dict[str, list[str]]) -> Any:
    if path == "/api/v1/users":
        if "email" in query:
            return {"users": [{"id": "kp_ada1"}, {"id": "kp_ada2"}, {"id": "kp_ada3"}]}
        size = int(query["page_size"][0])
        start = int(query.get("next_token", ["0"])[0])
        end = min(start + size, 1234)
        body: dict[str, Any] = {"users": [{"id": f"kp_{i}"} for i in range(start, end)]}
        if end < 1234:
            body["next_token"] = str(end)
        return body
    if path == "/api/v1/organizations/org_1ccfb819462/users":
        return {"organization_users": [{"id": "kp_1"}, {"id": "kp_2"}], "next_token": "more"}
    raise AssertionError(path)


def test_the_pagination_page_example() -> None:
    with LoopbackKinde(_pages) as server:
        out = _run(_examples("management-pagination.md")["pagination"], server)
        requested = [(path, query) for _m, path, query in server.requests]
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["1234", "['kp_ada1', 'kp_ada2']", "kp_1", "kp_2"]
    users = [q for p, q in requested if p == "/api/v1/users" and "email" not in q]
    assert len(users) == 3  # 1234 users in pages of 500
    assert requested[-1] == ("/api/v1/organizations/org_1ccfb819462/users", "sort=name_asc")


def test_the_pagination_page_lists_every_iterator() -> None:
    text = (DOCS / "management-pagination.md").read_text(encoding="utf-8")
    table = text[
        text.index("<!-- paged-operations:start -->") : text.index("<!-- paged-operations:end -->")
    ]
    rows = re.findall(
        r"^\| `(iter_\w+)` \| `client\.(\w+)\.(\w+)` \| `(\w+)` \| `(\w+)` \|$", table, re.M
    )
    expected = [
        (p.iterator, p.api_module.removesuffix("_api"), p.method, p.items_field, p.item_model)
        for p in PAGED_OPERATIONS
    ]
    assert rows == expected
