"""OAuth 2.0 / OpenID Connect helpers: JWT verification, JWKS cache, webhook decoding.

Names are imported on first use (PEP 562 ``__getattr__``), so ``import kinde_sdk.auth``
does not load PyJWT or cryptography until a verifier is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .async_oauth import AsyncOAuth
    from .async_token_validator import AsyncTokenValidator
    from .client_credentials import ClientCredentials
    from .oauth import FlagNotFoundError, FlagTypeError, OAuth, StateError
    from .token_validator import (
        CacheInfo,
        TokenValidator,
        decode_token,
        decode_token_unverified,
    )

_LAZY = {
    "AsyncOAuth": "async_oauth",
    "AsyncTokenValidator": "async_token_validator",
    "ClientCredentials": "client_credentials",
    "FlagNotFoundError": "oauth",
    "FlagTypeError": "oauth",
    "OAuth": "oauth",
    "StateError": "oauth",
    "CacheInfo": "token_validator",
    "TokenValidator": "token_validator",
    "decode_token": "token_validator",
    "decode_token_unverified": "token_validator",
}

__all__ = [
    "AsyncOAuth",
    "AsyncTokenValidator",
    "CacheInfo",
    "ClientCredentials",
    "FlagNotFoundError",
    "FlagTypeError",
    "OAuth",
    "StateError",
    "TokenValidator",
    "decode_token",
    "decode_token_unverified",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
