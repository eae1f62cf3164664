"""The Account API of :class:`~kinde_sdk.testing.FakeKinde`, answered from the claims
the fake minted (pure; the fake's HTTP handler calls :func:`answer`).

The caller's bearer token must be one the fake signed (current or retired key), not
expired and not revoked; anything else is answered 403 as the spec says. Permissions,
roles, organization and feature flags come from the token's claims; entitlements, plans
and properties, which Kinde does not put in tokens, from what the test gave
``issue_access_token``/``kinde_token``/``kinde_login`` (kept by the fake per token).
Lists are paginated as Kinde does (``page_size``, default 10; ``starting_after`` an
item id; ``metadata.has_more`` and ``next_page_starting_after``), so apps can exercise
their pagination too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union
from urllib.parse import parse_qsl, unquote

import jwt

from ._keys import SigningKey

__all__ = [
    "ACCOUNT_PREFIX",
    "AccountData",
    "answer",
    "entitlement_records",
    "plan_records",
    "property_records",
]

ACCOUNT_PREFIX = "/account_api/v1/"
USER_PROFILE_PATH = "/oauth2/v2/user_profile"
INTROSPECT_PATH = "/oauth2/introspect"
DEFAULT_PAGE_SIZE = 10
_FLAG_TYPES = {"b": "boolean", "s": "string", "i": "integer"}

EntitlementSpec = Union[Mapping[str, Any], Iterable[Mapping[str, Any]]]
PlanSpec = Iterable[Union[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class AccountData:
    """What a token's user has beyond its claims."""

    entitlements: list[dict[str, Any]] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    properties: list[dict[str, Any]] = field(default_factory=list)


def _name(key: str) -> str:
    return key.replace("-", " ").replace("_", " ").strip().capitalize() or key


def entitlement_records(entitlements: Optional[EntitlementSpec]) -> list[dict[str, Any]]:
    """``{"seats": 10, "reports": None}`` (feature key -> maximum, None for no limit), a
    feature key -> dict of entitlement fields, or a list of such dicts, as the API's
    entitlement objects."""
    if entitlements is None:
        return []
    if isinstance(entitlements, (str, bytes)):
        raise TypeError("entitlements must be a mapping of feature keys, or a list of dicts")
    items: list[tuple[str, Any]]
    if isinstance(entitlements, Mapping):
        items = list(entitlements.items())
    else:
        items = []
        for entry in entitlements:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("feature_key"), str):
                raise TypeError("each entitlement in a list must be a dict with a feature_key")
            items.append((entry["feature_key"], entry))
    records = []
    for key, value in items:
        record: dict[str, Any] = {
            "id": f"entitlement_{key}",
            "fixed_charge": None,
            "price_name": _name(key),
            "unit_amount": None,
            "feature_key": key,
            "feature_name": _name(key),
            "entitlement_limit_max": None,
            "entitlement_limit_min": None,
        }
        if isinstance(value, Mapping):
            record.update(value)
        elif value is None or (isinstance(value, int) and not isinstance(value, bool)):
            record["entitlement_limit_max"] = value
        else:
            raise TypeError(
                f"entitlement {key!r}: give its maximum (int or None) or a dict of fields"
            )
        records.append(record)
    return records


def plan_records(plans: Optional[PlanSpec]) -> list[dict[str, Any]]:
    """Plan keys (``["pro"]``) or dicts of plan fields, as the API's plan objects."""
    if plans is None:
        return []
    if isinstance(plans, (str, bytes)):
        raise TypeError("plans must be a list of plan keys, not a single string")
    records = []
    for plan in plans:
        if isinstance(plan, str):
            records.append(
                {"key": plan, "name": _name(plan), "subscribed_on": "2025-01-01T00:00:00Z"}
            )
        elif isinstance(plan, Mapping):
            records.append(dict(plan))
        else:
            raise TypeError(f"a plan must be a key (str) or a dict, not {type(plan).__name__}")
    return records


def property_records(properties: Optional[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``{"company_name": "Acme", "seats_used": 3}`` as the API's property objects."""
    if properties is None:
        return []
    if not isinstance(properties, Mapping):
        raise TypeError("properties must be a mapping of property keys to values")
    records = []
    for key, value in properties.items():
        if not isinstance(value, (str, bool, int)):
            raise TypeError(f"property {key!r}: values are str, bool or int")
        records.append({"id": f"prop_{key}", "key": key, "name": _name(key), "value": value})
    return records


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errors": [{"code": code, "message": message}]}


def verify(
    authorization: Optional[str],
    keys: Sequence[SigningKey],
    revoked: Iterable[str],
    now: float,
) -> dict[str, Any]:
    """The claims of the bearer token, when the fake signed it and it is still valid."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _Refused(403, "INVALID_CREDENTIALS", "a bearer token is required")
    token = authorization[7:].strip()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keys if k.kid == kid), None)
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        claims: dict[str, Any] = jwt.decode(
            token,
            key.private_key.public_key(),
            algorithms=["RS256"],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidTokenError:
        raise _Refused(403, "INVALID_CREDENTIALS", "the token is not valid") from None
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and exp <= now:
        raise _Refused(403, "INVALID_CREDENTIALS", "the token has expired")
    if claims.get("jti") in set(revoked):
        raise _Refused(403, "INVALID_CREDENTIALS", "the token was revoked")
    return claims


def _page(
    items: list[dict[str, Any]], query: Mapping[str, str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    raw_size = query.get("page_size")
    try:
        size = int(raw_size) if raw_size else DEFAULT_PAGE_SIZE
    except ValueError:
        raise _Refused(400, "INVALID_PAGE_SIZE", "page_size must be an integer") from None
    if size < 1:
        raise _Refused(400, "INVALID_PAGE_SIZE", "page_size must be positive")
    start = 0
    after = query.get("starting_after")
    if after:
        ids = [item.get("id") for item in items]
        if after not in ids:
            raise _Refused(400, "INVALID_STARTING_AFTER", "starting_after is not a known id")
        start = ids.index(after) + 1
    page = items[start : start + size]
    has_more = start + size < len(items)
    meta: dict[str, Any] = {"has_more": has_more}
    if has_more and page:
        meta["next_page_starting_after"] = page[-1]["id"]
    return page, meta


def _flags(claims: Mapping[str, Any]) -> list[dict[str, Any]]:
    flags = claims.get("feature_flags")
    records = []
    for key, entry in flags.items() if isinstance(flags, Mapping) else []:
        if isinstance(entry, Mapping):
            kind = entry.get("t")
            records.append(
                {
                    "id": f"flag_{key}",
                    "name": _name(key),
                    "key": key,
                    "type": _FLAG_TYPES.get(kind, kind) if isinstance(kind, str) else None,
                    "value": entry.get("v"),
                }
            )
    return records


def _list_claim(claims: Mapping[str, Any], name: str) -> list[Any]:
    value = claims.get(name)
    return list(value) if isinstance(value, list) else []


def _get(
    path: str, query: Mapping[str, str], claims: Mapping[str, Any], data: AccountData, origin: str
) -> dict[str, Any]:
    # The spec does not declare org_code nullable: a token without one gets none.
    org = {"org_code": claims["org_code"]} if isinstance(claims.get("org_code"), str) else {}
    tail = path[len(ACCOUNT_PREFIX) :] if path.startswith(ACCOUNT_PREFIX) else None
    if path == USER_PROFILE_PATH:
        sub = claims.get("sub")
        return {"id": sub, "sub": sub, "provided_id": None, **claims.get("_profile", {})}
    if tail == "entitlements":
        page, meta = _page(data.entitlements, query)
        plans = data.plans
        body = {**org, "plans": plans, "entitlements": page}
        return {"data": body, "metadata": meta}
    if tail is not None and tail.startswith("entitlement/"):
        key = unquote(tail[len("entitlement/") :])
        found = next((e for e in data.entitlements if e["feature_key"] == key), None)
        if found is None:
            raise _Refused(404, "ENTITLEMENT_NOT_FOUND", f"no entitlement {key!r}")
        return {"data": {**org, "entitlement": found}, "metadata": {}}
    if tail == "feature_flags":
        page, meta = _page(_flags(claims), query)
        return {"data": {"feature_flags": page}, "metadata": meta}
    if tail == "permissions":
        perms = [
            {"id": f"perm_{key}", "name": _name(key), "key": key}
            for key in _list_claim(claims, "permissions")
            if isinstance(key, str)
        ]
        page, meta = _page(perms, query)
        return {"data": {**org, "permissions": page}, "metadata": meta}
    if tail == "roles":
        roles = [dict(r) for r in _list_claim(claims, "roles") if isinstance(r, Mapping)]
        page, meta = _page(roles, query)
        return {"data": {**org, "roles": page}, "metadata": meta}
    if tail == "properties":
        page, meta = _page(data.properties, query)
        return {"data": {"properties": page}, "metadata": meta}
    if tail == "portal_link":
        subnav = query.get("subnav", "profile")
        return {"url": f"{origin}/portal_redirect?key=test&subnav={subnav}"}
    raise _Refused(404, "ROUTE_NOT_FOUND", "no such Account API route")


def answer(
    method: str,
    path: str,
    query_string: str,
    form: Mapping[str, str],
    authorization: Optional[str],
    *,
    keys: Sequence[SigningKey],
    revoked: Iterable[str],
    data_for: Mapping[str, AccountData],
    profiles: Mapping[str, Mapping[str, Any]],
    origin: str,
    now: float,
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) for an Account API request."""
    try:
        claims = verify(authorization, keys, revoked, now)
        if method == "POST" and path == INTROSPECT_PATH:
            target = form.get("token", "")
            try:
                about = verify(f"Bearer {target}", keys, revoked, now)
            except _Refused:
                return 200, {"active": False}
            aud = about.get("aud")
            return 200, {
                "active": True,
                "aud": aud if isinstance(aud, list) else [aud],
                "client_id": about.get("azp"),
                "exp": about.get("exp"),
                "iat": about.get("iat"),
            }
        jti = str(claims.get("jti"))
        data = data_for.get(jti, AccountData())
        full = {**claims, "_profile": dict(profiles.get(str(claims.get("sub")), {}))}
        return 200, _get(path, dict(parse_qsl(query_string)), full, data, origin)
    except _Refused as refused:
        return refused.status, refused.body
