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
from typing import Any, ClassVar, Generic, Optional, TypeVar, Union

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


_Item = TypeVar("_Item")


class _Listing(Generic[_Item]):
    """What every all-pages result shares: iteration, length, and lookup of an item by
    its key (``_lookup`` names the attribute)."""

    _lookup: ClassVar[str] = "key"

    def _items(self) -> tuple[_Item, ...]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[_Item]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    @property
    def keys(self) -> list[str]:
        found = (getattr(item, self._lookup) for item in self._items())
        return [key for key in found if isinstance(key, str)]

    def get(self, key: str) -> Optional[_Item]:
        """The item with this key, or None."""
        return next((i for i in self._items() if getattr(i, self._lookup) == key), None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None


_N = TypeVar("_N", bound="_Named")


@dataclass(frozen=True)
class _Named:
    id: Optional[str]
    key: Optional[str]
    name: Optional[str]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls: type[_N], raw: Mapping[str, Any]) -> _N:
        return cls(
            id=_str(raw.get("id")),
            key=_str(raw.get("key")),
            name=_str(raw.get("name")),
            raw=dict(raw),
        )


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
class Entitlements(_Listing[Entitlement]):
    """Every entitlement of the user (all pages), their plans and organization.
    ``"seats" in entitlements``, ``entitlements.get("seats")`` and ``keys`` go by
    feature key."""

    _lookup: ClassVar[str] = "feature_key"

    org_code: Optional[str]
    plans: tuple[Plan, ...]
    entitlements: tuple[Entitlement, ...]

    def _items(self) -> tuple[Entitlement, ...]:
        return self.entitlements

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
class FeatureFlags(_Listing[FeatureFlag]):
    """Every feature flag that affects the user (all pages)."""

    flags: tuple[FeatureFlag, ...]

    def _items(self) -> tuple[FeatureFlag, ...]:
        return self.flags

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
class Permission(_Named):
    """A permission the user has (``key`` is what tokens list)."""


@dataclass(frozen=True)
class Permissions(_Listing[Permission]):
    """Every permission the user has (all pages) in organization ``org_code``."""

    org_code: Optional[str]
    permissions: tuple[Permission, ...]

    def _items(self) -> tuple[Permission, ...]:
        return self.permissions


@dataclass(frozen=True)
class Role(_Named):
    """A role the user has."""


@dataclass(frozen=True)
class Roles(_Listing[Role]):
    """Every role the user has (all pages) in organization ``org_code``."""

    org_code: Optional[str]
    roles: tuple[Role, ...]

    def _items(self) -> tuple[Role, ...]:
        return self.roles


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
class Properties(_Listing[Property]):
    """Every property of the user (all pages)."""

    properties: tuple[Property, ...]

    def _items(self) -> tuple[Property, ...]:
        return self.properties

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
