"""Kinde Management API: :class:`ManagementClient`, its async twin
:class:`AsyncManagementClient`, and lazy pagination."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes
from .._retry import RetryPolicy
from .client import ManagementClient
from .pagination import paginate

if TYPE_CHECKING:
    from .async_client import AsyncManagementClient

# The async client imports httpx, which a sync-only application need not install.
__getattr__, __dir__ = lazy_attributes(
    __name__, globals(), {"AsyncManagementClient": "async_client"}
)

__all__ = ["AsyncManagementClient", "ManagementClient", "RetryPolicy", "paginate"]
