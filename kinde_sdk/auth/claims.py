"""Verified claims with typed attribute access: :class:`Claims`.

``TokenValidator.verify`` (and the async twin) return a :class:`Claims`: a ``dict`` of
the token's claims exactly as signed (so ``claims["sub"]``, ``claims.get("x")``,
``json.dumps(claims)`` and ``claims == {...}`` work as before), with read-only typed
properties for the claims Kinde issues (``claims.sub``, ``claims.email``,
``claims.permissions``, ``claims.org_code``, ...). A property never raises for a claim
the token lacks: a missing list is ``[]``, a missing value ``None``; only ``sub`` and
``iss``, which every Kinde token carries, are typed ``str`` and raise KeyError when
absent. A claim of the wrong type reads as missing through its property, and stays as
it was in the mapping. Custom claims are read as a mapping (``claims["my_claim"]``).

Being a ``dict`` subclass keeps the verified dict itself as the raw data; :attr:`raw`
is a plain ``dict`` copy for code that wants exactly that type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from ._claims import get_flag

__all__ = ["Claims", "Role"]


@dataclass(frozen=True)
class Role:
    """One entry of Kinde's ``roles`` claim."""

    key: str
    id: Optional[str] = None
    name: Optional[str] = None


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return int(value)
    except (OverflowError, ValueError):  # inf or nan: no time at all
        return None


def _strings(value: Any, *, single: bool = False) -> list[str]:
    """The strings of a list claim; ``single`` also accepts one bare string (``aud``)."""
    if single and isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


class Claims(dict[str, Any]):
    """The verified claims of a token: a ``dict`` with typed properties (see the module
    docstring). Build one from any mapping: ``Claims(decoded)``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Claims({dict.__repr__(self)})"

    def _required(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str):
            raise KeyError(f"the token has no {name!r} claim (or it is not a string)")
        return value

    @property
    def raw(self) -> dict[str, Any]:
        """The claims as a plain ``dict`` (a shallow copy)."""
        return dict(self)

    # --- registered claims (RFC 7519) -----------------------------------------------

    @property
    def sub(self) -> str:
        """The subject: the user id (``kp_...``), or ``<client_id>@clients`` for M2M."""
        return self._required("sub")

    @property
    def iss(self) -> str:
        return self._required("iss")

    @property
    def aud(self) -> list[str]:
        """The audiences, always as a list."""
        return _strings(self.get("aud"), single=True)

    @property
    def exp(self) -> Optional[int]:
        return _int(self.get("exp"))

    @property
    def iat(self) -> Optional[int]:
        return _int(self.get("iat"))

    @property
    def nbf(self) -> Optional[int]:
        return _int(self.get("nbf"))

    @property
    def jti(self) -> Optional[str]:
        return _str(self.get("jti"))

    @property
    def expires_at(self) -> Optional[datetime]:
        """``exp`` as an aware UTC datetime."""
        exp = self.exp
        if exp is None:
            return None
        try:
            return datetime.fromtimestamp(exp, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None  # outside what datetime can hold: as documented, never raise

    # --- OAuth / OpenID Connect --------------------------------------------------------

    @property
    def azp(self) -> Optional[str]:
        """The client the token was issued to."""
        return _str(self.get("azp"))

    @property
    def scopes(self) -> list[str]:
        """Granted scopes: Kinde's ``scp`` list, or a space-separated ``scope``."""
        scp = self.get("scp")
        if isinstance(scp, (list, tuple)):
            return _strings(scp)
        scope = self.get("scope")
        return scope.split() if isinstance(scope, str) else []

    @property
    def email(self) -> Optional[str]:
        return _str(self.get("email"))

    @property
    def email_verified(self) -> Optional[bool]:
        value = self.get("email_verified")
        return value if isinstance(value, bool) else None

    @property
    def name(self) -> Optional[str]:
        return _str(self.get("name"))

    @property
    def given_name(self) -> Optional[str]:
        return _str(self.get("given_name"))

    @property
    def family_name(self) -> Optional[str]:
        return _str(self.get("family_name"))

    @property
    def picture(self) -> Optional[str]:
        return _str(self.get("picture"))

    # --- Kinde ------------------------------------------------------------------------

    @property
    def org_code(self) -> Optional[str]:
        """The organization the access token is scoped to."""
        return _str(self.get("org_code"))

    @property
    def org_name(self) -> Optional[str]:
        return _str(self.get("org_name"))

    @property
    def org_codes(self) -> list[str]:
        """Every organization of the user (ID token)."""
        return _strings(self.get("org_codes"))

    @property
    def permissions(self) -> list[str]:
        """Permission keys granted in :attr:`org_code`."""
        return _strings(self.get("permissions"))

    @property
    def roles(self) -> list[Role]:
        """Roles in :attr:`org_code` (entries without a string ``key`` are skipped)."""
        found = []
        value = self.get("roles")
        for entry in value if isinstance(value, (list, tuple)) else ():
            if isinstance(entry, Mapping) and isinstance(entry.get("key"), str):
                found.append(
                    Role(key=entry["key"], id=_str(entry.get("id")), name=_str(entry.get("name")))
                )
        return found

    @property
    def feature_flags(self) -> dict[str, Any]:
        """Kinde's ``feature_flags`` claim: ``{code: {"t": type, "v": value}}``."""
        value = self.get("feature_flags")
        return dict(value) if isinstance(value, Mapping) else {}

    def has_permission(self, key: str) -> bool:
        return key in self.permissions

    def has_role(self, key: str) -> bool:
        return any(role.key == key for role in self.roles)

    def get_flag(self, code: str, default: Any = None, flag_type: Optional[str] = None) -> Any:
        """The value of feature flag ``code`` (``default`` when the token lacks it; with
        no default, FlagNotFoundError). ``flag_type`` ('b'/'s'/'i' or 'boolean'/'string'/
        'integer') checks its type (FlagTypeError)."""
        return get_flag(self, code, default, flag_type)["value"]
