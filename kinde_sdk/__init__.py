"""kinde_sdk: the Kinde Management API, typed, with OAuth 2.0 and verified tokens.

Public names are imported lazily, so ``import kinde_sdk`` costs almost nothing and a
script pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .enums import GrantType
    from .errors import (
        AuthenticationError,
        BadRequestError,
        ConflictError,
        KindeAPIError,
        KindeConfigurationError,
        KindeConnectionError,
        KindeError,
        KindeTimeoutError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        TokenError,
    )
    from .kinde_api_client import KindeApiClient
    from .management import ManagementClient

_LAZY = {
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
    "KindeAPIError",
    "KindeApiClient",
    "KindeConfigurationError",
    "KindeConnectionError",
    "KindeError",
    "KindeTimeoutError",
    "ManagementClient",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenError",
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
