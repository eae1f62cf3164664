"""The typed results of the Account API.

Each result is a frozen dataclass with typed attributes for the fields the spec
declares, plus ``raw``: the JSON object exactly as the server sent it, so a field the
spec does not (yet) declare is never lost. Parsing is lenient (design principle 13): a
missing field, or one of an unexpected type, reads as ``None`` on the attribute and
stays in ``raw``; nothing the server sends makes parsing fail. A strict check against
the spec exists for tests (``strict_responses=True`` on the clients).

The list results (:class:`Entitlements`, :class:`Permissions`, ...) hold every page.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional, Union

__all__ = [
    "Entitlement",
    "Entitlements",
    "FeatureFlag",
    "FeatureFlags",
    "Permission",
    "Permissions",
    "Plan",
    "PortalLink",
    "Properties",
    "Property",
    "Role",
    "Roles",
    "TokenIntrospection",
    "UserProfile",
]

FlagValue = Union[str, bool, int, dict[str, Any], None]
PropertyValue = Union[str, bool, int, None]

# Kinde's feature flag type names (Account API) and the one-letter codes of the token's
# ``feature_flags`` claim.
_FLAG_CODES = {"boolean": "b", "string": "s", "integer": "i", "b": "b", "s": "s", "i": "i"}


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> Optional[bool]:
    return value if isinstance(value, bool) else None


def _obj(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _objs(value: Any) -> list[dict[str, Any]]:
    return [dict(v) for v in value] if isinstance(value, list) else []


def _datetime(value: Any) -> Optional[datetime]:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        from dateutil.parser import isoparse

        try:
            return isoparse(value)
        except (ValueError, OverflowError):
            return None


@dataclass(frozen=True)
class Plan:
    """A plan the user (or their organization) is subscribed to."""

    key: Optional[str]
    name: Optional[str]
    subscribed_on: Optional[datetime]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Plan:
        return cls(
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            subscribed_on=_datetime(raw.get("subscribed_on")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Entitlement:
    """One billing entitlement: a feature of the user's plan and its limits."""

    id: Optional[str]
    feature_key: Optional[str]
    feature_name: Optional[str]
    price_name: Optional[str]
    fixed_charge: Optional[int]
    unit_amount: Optional[int]
    entitlement_limit_max: Optional[int]
    entitlement_limit_min: Optional[int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entitlement:
        return cls(
            id=_str(raw.get("id")),
            feature_key=_str(raw.get("feature_key")),
            feature_name=_str(raw.get("feature_name")),
            price_name=_str(raw.get("price_name")),
            fixed_charge=_int(raw.get("fixed_charge")),
            unit_amount=_int(raw.get("unit_amount")),
            entitlement_limit_max=_int(raw.get("entitlement_limit_max")),
            entitlement_limit_min=_int(raw.get("entitlement_limit_min")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Entitlements:
    """Every entitlement of the user (all pages), their plans and organization."""

    org_code: Optional[str]
    plans: tuple[Plan, ...]
    entitlements: tuple[Entitlement, ...]

    def __iter__(self) -> Iterator[Entitlement]:
        return iter(self.entitlements)

    def __len__(self) -> int:
        return len(self.entitlements)

    def get(self, feature_key: str) -> Optional[Entitlement]:
        """The entitlement for ``feature_key``, or None when the user has none."""
        return next((e for e in self.entitlements if e.feature_key == feature_key), None)

    def __contains__(self, feature_key: object) -> bool:
        return any(e.feature_key == feature_key for e in self.entitlements)

    def has_plan(self, plan_key: str) -> bool:
        return any(p.key == plan_key for p in self.plans)


@dataclass(frozen=True)
class FeatureFlag:
    """A feature flag as it applies to the user now. ``type`` is Kinde's type name
    (``"boolean"``, ``"string"``, ``"integer"``, ``"object"``)."""

    id: Optional[str]
    key: Optional[str]
    name: Optional[str]
    type: Optional[str]
    value: FlagValue
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeatureFlag:
        value = raw.get("value")
        if not isinstance(value, (str, bool, int, dict)):
            value = None
        return cls(
            id=_str(raw.get("id")),
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            type=_str(raw.get("type")),
            value=value,
            raw=dict(raw),
        )


@dataclass(frozen=True)
class FeatureFlags:
    """Every feature flag that affects the user (all pages)."""

    flags: tuple[FeatureFlag, ...]

    def __iter__(self) -> Iterator[FeatureFlag]:
        return iter(self.flags)

    def __len__(self) -> int:
        return len(self.flags)

    def get(self, key: str) -> Optional[FeatureFlag]:
        return next((f for f in self.flags if f.key == key), None)

    def __contains__(self, key: object) -> bool:
        return any(f.key == key for f in self.flags)

    def as_claim(self) -> dict[str, dict[str, Any]]:
        """The flags in the shape of the token's ``feature_flags`` claim
        (``{key: {"t": "b"|"s"|"i", "v": value}}``), so the claims helpers read both
        sources with one code path. A type Kinde's claim cannot express (``object``)
        keeps its name in ``t``, and reading that flag as a typed flag is refused."""
        claim: dict[str, dict[str, Any]] = {}
        for flag in self.flags:
            if flag.key is None:
                continue
            kind = _FLAG_CODES.get((flag.type or "").lower(), flag.type)
            claim[flag.key] = {"t": kind, "v": flag.value}
        return claim


@dataclass(frozen=True)
class Permission:
    id: Optional[str]
    key: Optional[str]
    name: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Permission:
        return cls(
            id=_str(raw.get("id")),
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Permissions:
    """Every permission the user has (all pages) in organization ``org_code``."""

    org_code: Optional[str]
    permissions: tuple[Permission, ...]

    def __iter__(self) -> Iterator[Permission]:
        return iter(self.permissions)

    def __len__(self) -> int:
        return len(self.permissions)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.permissions if p.key is not None]

    def __contains__(self, key: object) -> bool:
        return key in self.keys


@dataclass(frozen=True)
class Role:
    id: Optional[str]
    key: Optional[str]
    name: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Role:
        return cls(
            id=_str(raw.get("id")),
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Roles:
    """Every role the user has (all pages) in organization ``org_code``."""

    org_code: Optional[str]
    roles: tuple[Role, ...]

    def __iter__(self) -> Iterator[Role]:
        return iter(self.roles)

    def __len__(self) -> int:
        return len(self.roles)

    @property
    def keys(self) -> list[str]:
        return [r.key for r in self.roles if r.key is not None]

    def __contains__(self, key: object) -> bool:
        return key in self.keys


@dataclass(frozen=True)
class Property:
    id: Optional[str]
    key: Optional[str]
    name: Optional[str]
    value: PropertyValue
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Property:
        value = raw.get("value")
        if not isinstance(value, (str, bool, int)):
            value = None
        return cls(
            id=_str(raw.get("id")),
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            value=value,
            raw=dict(raw),
        )


@dataclass(frozen=True)
class Properties:
    """Every property of the user (all pages)."""

    properties: tuple[Property, ...]

    def __iter__(self) -> Iterator[Property]:
        return iter(self.properties)

    def __len__(self) -> int:
        return len(self.properties)

    def get(self, key: str) -> Optional[Property]:
        return next((p for p in self.properties if p.key == key), None)

    def __contains__(self, key: object) -> bool:
        return any(p.key == key for p in self.properties)

    def as_dict(self) -> dict[str, PropertyValue]:
        return {p.key: p.value for p in self.properties if p.key is not None}


@dataclass(frozen=True)
class PortalLink:
    """A one-time link to the user's self-serve portal."""

    url: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class UserProfile:
    """The signed-in user's profile (``/oauth2/v2/user_profile``)."""

    id: Optional[str]
    sub: Optional[str]
    provided_id: Optional[str]
    name: Optional[str]
    given_name: Optional[str]
    family_name: Optional[str]
    email: Optional[str]
    email_verified: Optional[bool]
    picture: Optional[str]
    preferred_username: Optional[str]
    updated_at: Optional[int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> UserProfile:
        return cls(
            id=_str(raw.get("id")),
            sub=_str(raw.get("sub")),
            provided_id=_str(raw.get("provided_id")),
            name=_str(raw.get("name")),
            given_name=_str(raw.get("given_name")),
            family_name=_str(raw.get("family_name")),
            email=_str(raw.get("email")),
            email_verified=_bool(raw.get("email_verified")),
            picture=_str(raw.get("picture")),
            preferred_username=_str(raw.get("preferred_username")),
            updated_at=_int(raw.get("updated_at")),
            raw=dict(raw),
        )


@dataclass(frozen=True)
class TokenIntrospection:
    """What Kinde says about a token (``/oauth2/introspect``). ``active`` is False for
    an expired or revoked token. ``raw`` never appears in the repr (it may name the
    token's subject and client)."""

    active: bool
    aud: tuple[str, ...]
    client_id: Optional[str]
    exp: Optional[int]
    iat: Optional[int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TokenIntrospection:
        aud = raw.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        return cls(
            active=raw.get("active") is True,
            aud=tuple(a for a in audiences if isinstance(a, str)),
            client_id=_str(raw.get("client_id")),
            exp=_int(raw.get("exp")),
            iat=_int(raw.get("iat")),
            raw=dict(raw),
        )
