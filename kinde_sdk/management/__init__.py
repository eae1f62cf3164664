"""Kinde Management API: :class:`ManagementClient` and lazy pagination."""

from .client import ManagementClient
from .pagination import paginate

__all__ = ["ManagementClient", "paginate"]
