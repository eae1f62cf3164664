"""kinde_sdk: the Kinde Management API, typed, with OAuth 2.0 and verified tokens.

Public names are imported lazily, so ``import kinde_sdk`` costs almost nothing and a
script pays only for what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_attributes
from ._version import __version__

if TYPE_CHECKING:
    from ._retry import RetryPolicy
    from ._transport import ResponseLimits
    from .account import AccountClient, AsyncAccountClient
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
        ResponseTooLargeError,
        ResponseValidationError,
        ServerError,
        StorageError,
        TokenError,
        TokenExpiredError,
        TokenNotYetValidError,
        UnknownKeyError,
    )
    from .kinde_api_client import KindeApiClient
    from .management import AsyncManagementClient, ManagementClient

_LAZY = {
    "AccountClient": "account",
    "AsyncAccountClient": "account",
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
    "AsyncManagementClient": "management",
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
    "ResponseValidationError": "errors",
    "ServerError": "errors",
    "TokenError": "errors",
    "ResponseTooLargeError": "errors",
    "RetryPolicy": "_retry",
    "ResponseLimits": "_transport",
}

__all__ = [
    "AccountClient",
    "AsyncAccountClient",
    "AsyncManagementClient",
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
    "ResponseLimits",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "StorageError",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenValidator",
    "UnknownKeyError",
    "__version__",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
