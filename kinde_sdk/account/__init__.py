"""The Kinde Account API: the signed-in user's entitlements, feature flags, permissions,
roles, properties, self-serve portal link and profile, as they are now (not as they were
when the token was minted), plus token introspection and revocation.

:class:`AccountClient` (blocking) and :class:`AsyncAccountClient` (asyncio) share one
core without I/O (:mod:`._core`); the results are the typed dataclasses of
:mod:`._models`. Names are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._models import (
        Entitlement,
        Entitlements,
        FeatureFlag,
        FeatureFlags,
        Permission,
        Permissions,
        Plan,
        PortalLink,
        Properties,
        Property,
        Role,
        Roles,
        TokenIntrospection,
        UserProfile,
    )
    from .async_client import AsyncAccountClient
    from .client import AccountClient

_MODELS = (
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
)
_LAZY = {
    "AccountClient": "client",
    "AsyncAccountClient": "async_client",
    **{name: "_models" for name in _MODELS},
}

__all__ = [
    "AccountClient",
    "AsyncAccountClient",
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


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
