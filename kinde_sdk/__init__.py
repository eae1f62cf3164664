"""kinde_sdk: the Kinde Management API, typed, with OAuth 2.0 and verified tokens.

Public names are imported lazily, so ``import kinde_sdk`` costs almost nothing and a
script pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .auth import TokenValidator
    from .enums import GrantType
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InvalidAlgorithmError,
        InvalidAudienceError,
        InvalidIssuerError,
        InvalidSignatureError,
        InvalidTokenError,
        JWKSFetchError,
        KindeAPIError,
        KindeConfigurationError,
        KindeConnectionError,
        KindeError,
        KindeTimeoutError,
        MalformedTokenError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        StorageError,
        TokenError,
        TokenExpiredError,
        TokenNotYetValidError,
        UnknownKeyError,
    )
    from .kinde_api_client import KindeApiClient
    from .management import ManagementClient

_LAZY = {
    "InvalidTokenError": "errors",
    "MalformedTokenError": "errors",
    "InvalidAlgorithmError": "errors",
    "InvalidSignatureError": "errors",
    "UnknownKeyError": "errors",
    "InvalidIssuerError": "errors",
    "InvalidAudienceError": "errors",
    "TokenExpiredError": "errors",
    "TokenNotYetValidError": "errors",
    "JWKSFetchError": "errors",
    "StorageError": "errors",
    "TokenValidator": "auth",
    "GrantType": "enums",
    "KindeApiClient": "kinde_api_client",
    "ManagementClient": "management",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConflictError": "errors",
    "KindeAPIError": "errors",
    "KindeConfigurationError": "errors",
    "KindeConnectionError": "errors",
    "KindeError": "errors",
    "KindeTimeoutError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "RateLimitError": "errors",
    "ServerError": "errors",
    "TokenError": "errors",
}

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "GrantType",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "JWKSFetchError",
    "KindeAPIError",
    "KindeApiClient",
    "KindeConfigurationError",
    "KindeConnectionError",
    "KindeError",
    "KindeTimeoutError",
    "MalformedTokenError",
    "ManagementClient",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StorageError",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenValidator",
    "UnknownKeyError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kinde_sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
