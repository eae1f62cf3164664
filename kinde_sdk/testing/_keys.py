"""RSA signing keys for the fake issuer.

Generating a 2048-bit RSA key takes tens to hundreds of milliseconds, so the first key
(and the "other" key used for wrongly signed tokens) is made once per process and shared
by every :class:`~kinde_sdk.testing.FakeKinde`; :meth:`FakeKinde.rotate_key` makes a fresh
one each time it is called.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["SigningKey", "new_signing_key", "shared_key"]

KEY_SIZE = 2048
_lock = threading.Lock()
_shared: dict[str, SigningKey] = {}


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A private RSA key, its ``kid`` (the RFC 7638 thumbprint) and its public JWK."""

    private_key: rsa.RSAPrivateKey = field(repr=False)
    kid: str
    public_jwk: dict[str, Any] = field(repr=False)


def _signing_key(private_key: rsa.RSAPrivateKey) -> SigningKey:
    numbers = private_key.public_key().public_numbers()
    members = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    digest = hashlib.sha256(canonical).digest()
    kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    jwk = {**members, "alg": "RS256", "use": "sig", "kid": kid}
    return SigningKey(private_key, kid, jwk)


def new_signing_key() -> SigningKey:
    """A freshly generated 2048-bit RSA key."""
    return _signing_key(rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE))


def shared_key(name: str) -> SigningKey:
    """The process-wide key called ``name``, generated on first use."""
    with _lock:
        key: Optional[SigningKey] = _shared.get(name)
        if key is None:
            key = _shared[name] = new_signing_key()
        return key
