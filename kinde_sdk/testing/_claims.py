"""Kinde's claim shapes, built from the friendly values tests pass (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Union

__all__ = ["feature_flag_claims", "role_claims"]

RoleSpec = Union[str, Mapping[str, Any]]


def _flag_entry(code: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        if set(value) != {"t", "v"} or value["t"] not in ("b", "s", "i"):
            raise TypeError(
                f"feature flag {code!r}: a mapping must be Kinde's {{'t': 'b'|'s'|'i', 'v': ...}}"
            )
        return dict(value)
    if isinstance(value, bool):
        return {"t": "b", "v": value}
    if isinstance(value, int):
        return {"t": "i", "v": value}
    if isinstance(value, str):
        return {"t": "s", "v": value}
    raise TypeError(
        f"feature flag {code!r}: Kinde flags are bool, int or str, not {type(value).__name__}"
    )


def feature_flag_claims(flags: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"dark_mode": True, "limit": 5, "theme": "dark"}`` as Kinde's ``feature_flags``
    claim: ``{"dark_mode": {"t": "b", "v": True}, "limit": {"t": "i", "v": 5}, ...}``.

    A value that is already ``{"t": ..., "v": ...}`` is kept as it is (so a test can
    also build a deliberately mistyped flag such as ``{"t": "b", "v": "yes"}``).
    """
    return {str(code): _flag_entry(str(code), value) for code, value in flags.items()}


def _role_name(key: str) -> str:
    return key.replace("-", " ").replace("_", " ").strip().capitalize() or key


def role_claims(roles: Iterable[RoleSpec]) -> list[dict[str, Any]]:
    """Kinde's ``roles`` claim: a role key ``"admin"`` becomes
    ``{"id": "role_admin", "key": "admin", "name": "Admin"}``; a mapping is kept as given."""
    if isinstance(roles, (str, bytes)):
        raise TypeError("roles must be a list of role keys or mappings, not a single string")
    built: list[dict[str, Any]] = []
    for role in roles:
        if isinstance(role, str):
            built.append({"id": f"role_{role}", "key": role, "name": _role_name(role)})
        elif isinstance(role, Mapping):
            built.append(dict(role))
        else:
            raise TypeError(f"a role must be a key (str) or a mapping, not {type(role).__name__}")
    return built
