"""Kinde Management API: :class:`ManagementClient` and lazy pagination."""

from .._retry import RetryPolicy
from .client import ManagementClient
from .pagination import paginate

__all__ = ["ManagementClient", "RetryPolicy", "paginate"]
