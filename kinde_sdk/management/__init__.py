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

# Imported on first use: a sync-only application need not load the async machinery.
__getattr__, __dir__ = lazy_attributes(
    __name__, globals(), {"AsyncManagementClient": "async_client"}
)

__all__ = ["AsyncManagementClient", "ManagementClient", "RetryPolicy", "paginate"]
