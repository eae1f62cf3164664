"""kinde_sdk.testing's claim builders (pure): Kinde's flag and role shapes."""

from __future__ import annotations

import pytest

from kinde_sdk.auth import _claims
from kinde_sdk.testing import feature_flag_claims, role_claims


def test_flag_values_are_typed_as_kinde_does() -> None:
    flags = feature_flag_claims({"dark_mode": True, "limit": 5, "theme": "dark"})
    assert flags == {
        "dark_mode": {"t": "b", "v": True},
        "limit": {"t": "i", "v": 5},
        "theme": {"t": "s", "v": "dark"},
    }
    claims = {"feature_flags": flags}
    assert _claims.get_flag(claims, "dark_mode", flag_type="b")["value"] is True
    assert _claims.get_flag(claims, "limit", flag_type="i")["value"] == 5
    assert _claims.get_flag(claims, "theme", flag_type="s")["value"] == "dark"


def test_a_raw_flag_is_kept_so_a_test_can_build_a_malformed_one() -> None:
    flags = feature_flag_claims({"broken": {"t": "b", "v": "yes"}})
    assert flags == {"broken": {"t": "b", "v": "yes"}}
    with pytest.raises(_claims.FlagTypeError):
        _claims.get_flag({"feature_flags": flags}, "broken")


@pytest.mark.parametrize("value", [1.5, None, ["a"], {"t": "x", "v": 1}, {"v": True}])
def test_values_kinde_cannot_carry_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="flag 'f'"):
        feature_flag_claims({"f": value})


def test_role_keys_become_kinde_role_objects() -> None:
    given = {"id": "r_1", "key": "x", "name": "Custom"}
    assert role_claims(["admin", "billing-manager", given]) == [
        {"id": "role_admin", "key": "admin", "name": "Admin"},
        {"id": "role_billing-manager", "key": "billing-manager", "name": "Billing manager"},
        given,
    ]
    assert _claims.roles({"roles": role_claims(["admin"])})[0]["key"] == "admin"


@pytest.mark.parametrize("roles", ["admin", [1]])
def test_bad_roles_are_refused(roles: object) -> None:
    with pytest.raises(TypeError):
        role_claims(roles)  # type: ignore[arg-type]
