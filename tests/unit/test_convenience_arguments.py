"""The README conveniences tell the truth: an unknown keyword is a TypeError naming the
accepted ones (never silently dropped), and get_feature_flags' docs match its result."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from kinde_sdk.management import ManagementClient

# The conveniences table moved from the README to the management docs page.
MANAGEMENT_DOCS = Path(__file__).resolve().parents[2] / "docs" / "management.md"


@pytest.fixture
def client() -> Iterator[ManagementClient]:
    # No request is made: every case fails before anything is sent.
    with ManagementClient("https://acme.kinde.com", "id", "secret", max_retries=0) as c:
        yield c


CASES: list[tuple[str, Callable[[ManagementClient], Any], str, list[str]]] = [
    (
        "create_organization",
        lambda c: c.create_organization("Acme", slug="acme"),
        "slug",
        ["name", "external_id", "handle"],
    ),
    (
        "update_organization",
        lambda c: c.update_organization("org_1", nmae="Acme"),
        "nmae",
        ["name"],
    ),
    ("get_users", lambda c: c.get_users(emial="a@b.c"), "emial", ["email", "next_token"]),
    ("get_user", lambda c: c.get_user("kp_1", expnd="organizations"), "expnd", ["expand"]),
    ("get_organizations", lambda c: c.get_organizations(srot="name_asc"), "srot", ["sort"]),
    ("get_roles", lambda c: c.get_roles(nexttoken="t"), "nexttoken", ["next_token"]),
    (
        "update_user",
        lambda c: c.update_user("kp_1", nick="Ada"),
        "nick",
        ["picture", "is_suspended"],
    ),
    ("create_role", lambda c: c.create_role("Admin", slug="admin"), "slug", ["name", "key"]),
    (
        "update_role",
        lambda c: c.update_role("r_1", "Admin", key="admin", slug="x"),
        "slug",
        ["key"],
    ),
    ("create_user", lambda c: c.create_user("Ada", emial="a@b.c"), "emial", []),
]


@pytest.mark.parametrize(("name", "call", "typo", "accepted"), CASES, ids=[c[0] for c in CASES])
def test_an_unknown_keyword_is_a_type_error(
    client: ManagementClient,
    name: str,
    call: Callable[[ManagementClient], Any],
    typo: str,
    accepted: list[str],
) -> None:
    with pytest.raises(TypeError) as raised:
        call(client)
    message = str(raised.value)
    assert repr(typo) in message
    for expected in accepted:
        assert re.search(rf"\b{expected}\b", message), message


def test_get_feature_flags_docs_and_code_agree() -> None:
    returned = inspect.signature(ManagementClient.get_feature_flags).return_annotation
    assert (
        returned in ("FeatureFlagList", "'FeatureFlagList'")
        or getattr(returned, "__name__", "") == "FeatureFlagList"
    )
    row = next(
        line for line in MANAGEMENT_DOCS.read_text().splitlines() if "`get_feature_flags(" in line
    )
    assert "FeatureFlagList" in row and ".feature_flags" in row
    assert "as a list of" not in (ManagementClient.get_feature_flags.__doc__ or "")
