"""Kinde's claim shapes, read from already verified claims (pure; no I/O).

* ``permissions``: list of permission keys, scoped to ``org_code``;
* ``roles``: list of ``{"id", "key", "name"}``;
* ``org_code`` (access token) and ``org_codes`` (ID token);
* ``feature_flags``: ``{code: {"t": "b"|"s"|"i", "v": value}}``.

The returned shapes follow Kinde's other SDKs (``{"orgCode", "isGranted"}`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from ..errors import KindeError

__all__ = [
    "FLAG_TYPES",
    "FlagNotFoundError",
    "FlagTypeError",
    "get_flag",
    "organization",
    "permission",
    "permissions",
    "roles",
    "user_organizations",
]

# Kinde's one-letter flag types and the names accepted for them.
FLAG_TYPES = {"b": "boolean", "s": "string", "i": "integer"}
_TYPE_ALIASES = {
    "b": "b",
    "bool": "b",
    "boolean": "b",
    "s": "s",
    "str": "s",
    "string": "s",
    "i": "i",
    "int": "i",
    "integer": "i",
}


class FlagNotFoundError(KindeError, LookupError):
    """The feature flag is not in the token and no default was given."""

    def __init__(self, code: str) -> None:
        super().__init__(f"feature flag {code!r} is not set for this user and no default was given")
        self.code = code


class FlagTypeError(KindeError, TypeError):
    """The feature flag (or its default) is not of the requested type."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _org_code(claims: Mapping[str, Any]) -> Optional[str]:
    value = claims.get("org_code")
    return value if isinstance(value, str) else None


def permission(claims: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {"orgCode": _org_code(claims), "isGranted": key in _list(claims.get("permissions"))}


def permissions(claims: Mapping[str, Any]) -> dict[str, Any]:
    keys = [p for p in _list(claims.get("permissions")) if isinstance(p, str)]
    return {"orgCode": _org_code(claims), "permissions": keys}


def roles(claims: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in _list(claims.get("roles")) if isinstance(r, Mapping)]


def organization(claims: Mapping[str, Any]) -> dict[str, Any]:
    return {"orgCode": _org_code(claims)}


def user_organizations(id_claims: Mapping[str, Any]) -> dict[str, Any]:
    codes = [c for c in _list(id_claims.get("org_codes")) if isinstance(c, str)]
    return {"orgCodes": codes}


def _normalize_type(flag_type: Optional[str], code: str) -> Optional[str]:
    if flag_type is None:
        return None
    short = _TYPE_ALIASES.get(str(flag_type).lower())
    if short is None:
        raise FlagTypeError(
            f"unknown flag type {flag_type!r} for {code!r}; use 'b', 's' or 'i'", code=code
        )
    return short


def _type_of(value: Any) -> Optional[str]:
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "i"
    if isinstance(value, str):
        return "s"
    return None


def get_flag(
    claims: Mapping[str, Any],
    code: str,
    default: Any = None,
    flag_type: Optional[str] = None,
) -> dict[str, Any]:
    """``{"code", "type", "value", "is_default"}`` for flag ``code``.

    A flag missing from the token gives ``default`` (``is_default`` True); with no
    default (None) it raises FlagNotFoundError. When ``flag_type`` is given ('b'/'s'/'i'
    or 'boolean'/'string'/'integer') the flag, or the default, must be of that type, or
    FlagTypeError is raised. A flag whose value does not match its own ``t`` is refused
    too, so a boolean flag always yields a real ``bool``.
    """
    wanted = _normalize_type(flag_type, code)
    flags = claims.get("feature_flags")
    entry = flags.get(code) if isinstance(flags, Mapping) else None
    if isinstance(entry, Mapping) and "v" in entry:
        declared = entry.get("t")
        value = entry["v"]
        actual = _type_of(value)
        if declared not in FLAG_TYPES or actual != declared:
            raise FlagTypeError(
                f"feature flag {code!r} is malformed: type {declared!r} with a "
                f"{type(value).__name__} value",
                code=code,
            )
        if wanted is not None and declared != wanted:
            raise FlagTypeError(
                f"feature flag {code!r} is a {FLAG_TYPES[declared]}, not a {FLAG_TYPES[wanted]}",
                code=code,
            )
        return {"code": code, "type": FLAG_TYPES[declared], "value": value, "is_default": False}
    if default is None:
        raise FlagNotFoundError(code)
    actual = _type_of(default)
    if wanted is not None and actual != wanted:
        raise FlagTypeError(
            f"the default for feature flag {code!r} is a {type(default).__name__}, "
            f"not a {FLAG_TYPES[wanted]}",
            code=code,
        )
    kind = FLAG_TYPES.get(actual or "", type(default).__name__)
    return {"code": code, "type": kind, "value": default, "is_default": True}
