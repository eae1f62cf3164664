"""The public view of a cached JSON Web Key Set: ``validator.get_jwks()``.

Read-only and detached from the cache: changing it changes nothing the validator uses.
Only the keys the validator accepts for signatures are listed (see
:mod:`kinde_sdk.auth._jwks` for which are ignored); a key usable with several allowed
algorithms is listed once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Optional

from ._jwks import KeySet

__all__ = ["JsonWebKey", "JsonWebKeySet"]


@dataclass(frozen=True)
class JsonWebKey:
    """One public signing key: ``kid``, ``kty``, ``alg`` (the algorithm the validator
    verifies with it), ``use`` and the whole JWK as published (:attr:`jwk`)."""

    kid: Optional[str]
    kty: str
    alg: str
    use: Optional[str]
    jwk: Mapping[str, Any] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.jwk)


@dataclass(frozen=True)
class JsonWebKeySet:
    """``keys``: the usable public keys, in the order the JWKS lists them."""

    keys: tuple[JsonWebKey, ...]

    @classmethod
    def from_keyset(cls, keys: KeySet) -> JsonWebKeySet:
        listed: list[JsonWebKey] = []
        seen: set[str] = set()
        for entry in keys.entries:
            jwk = entry.jwk()
            canonical = entry.fingerprint.partition("\x00")[2]
            if canonical in seen:
                continue
            seen.add(canonical)
            kty = jwk.get("kty")
            use = jwk.get("use")
            listed.append(
                JsonWebKey(
                    kid=entry.kid,
                    kty=kty if isinstance(kty, str) else "",
                    alg=entry.alg,
                    use=use if isinstance(use, str) else None,
                    jwk=MappingProxyType(jwk),
                )
            )
        return cls(tuple(listed))

    def __iter__(self) -> Iterator[JsonWebKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, kid: str) -> Optional[JsonWebKey]:
        """The key with this ``kid``, or None."""
        return next((key for key in self.keys if key.kid == kid), None)

    @property
    def kids(self) -> list[str]:
        return [key.kid for key in self.keys if key.kid is not None]

    def to_dict(self) -> dict[str, Any]:
        """As a JWKS document: ``{"keys": [jwk, ...]}``."""
        return {"keys": [key.to_dict() for key in self.keys]}
