"""OAuth 2.0 / OpenID Connect helpers: JWT verification, JWKS cache, webhook decoding.

Names are imported on first use (PEP 562 ``__getattr__``), so ``import kinde_sdk.auth``
does not load PyJWT or cryptography until a verifier is actually needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from .async_client_credentials import AsyncClientCredentials
    from .async_oauth import AsyncOAuth
    from .async_token_validator import AsyncTokenValidator
    from .client_credentials import ClientCredentials
    from .oauth import FlagNotFoundError, FlagTypeError, OAuth, StateError
    from .token_stores import FileTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore
    from .token_validator import (
        CacheInfo,
        TokenValidator,
        decode_token,
        decode_token_unverified,
    )

_LAZY = {
    "AsyncClientCredentials": "async_client_credentials",
    "FileTokenStore": "token_stores",
    "MemoryTokenStore": "token_stores",
    "RedisTokenStore": "token_stores",
    "TokenStore": "token_stores",
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
    "AsyncClientCredentials",
    "AsyncOAuth",
    "AsyncTokenValidator",
    "CacheInfo",
    "ClientCredentials",
    "FileTokenStore",
    "FlagNotFoundError",
    "FlagTypeError",
    "MemoryTokenStore",
    "OAuth",
    "RedisTokenStore",
    "StateError",
    "TokenStore",
    "TokenValidator",
    "decode_token",
    "decode_token_unverified",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
