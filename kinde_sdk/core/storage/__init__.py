"""Storage for SDK state (tokens, OAuth state): the seed's ``StorageManager`` and the
explicit objects under it.

Layers, top to bottom:

* :class:`StorageManager` - the process-wide convenience of the seed README;
* :class:`NamespacedStorage` - the same API on one backend, one per OAuth client;
* backends (:class:`StorageBackend`): :class:`MemoryStorage`, :class:`FileStorage`
  (``"local_storage"``), :class:`RedisStorage` (extra ``kinde-sdk[redis]``) and
  :class:`SessionStorage` for a web framework's session;
* :func:`create_storage` - builds a backend from ``{"type": ..., "options": {...}}``.

Every backend stores JSON values and rejects anything else before writing.
"""

from __future__ import annotations

from ._backend import StorageBackend
from ._errors import StorageCorruptedError, StorageError, StorageSerializationError
from ._factory import STORAGE_TYPES, StorageConfig, create_storage
from .local_storage import FileStorage
from .manager import StorageManager
from .memory import MemoryStorage
from .namespaced import NamespacedStorage
from .redis_storage import RedisStorage
from .session import SessionStorage

__all__ = [
    "STORAGE_TYPES",
    "FileStorage",
    "MemoryStorage",
    "NamespacedStorage",
    "RedisStorage",
    "SessionStorage",
    "StorageBackend",
    "StorageConfig",
    "StorageCorruptedError",
    "StorageError",
    "StorageManager",
    "StorageSerializationError",
    "create_storage",
]
