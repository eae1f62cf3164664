"""``StorageManager``: the seed's process-wide storage, a thin layer over one
:class:`NamespacedStorage`.

``StorageManager()`` always returns the same module-level instance, so code anywhere in
an application reaches the storage that ``OAuth`` (or an explicit ``initialize``) set
up, as the seed documents. It is deliberately *not* a cache of objects keyed by client
id or credentials (the official SDK's ``__new__`` singletons silently ignored a rotated
secret): there is exactly one manager, and it only forwards to the NamespacedStorage it
currently holds. Code that needs isolated storage (two OAuth clients in one process,
tests) builds its own ``NamespacedStorage`` instead.

Using the manager before ``initialize`` initializes it with memory storage, so the
seed's "safe access pattern" and plain use both work.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional

from ._factory import StorageConfig, create_storage
from .namespaced import NamespacedStorage, UserSource, UserSources

__all__ = ["StorageManager"]

logger = logging.getLogger("kinde_sdk")


class StorageManager:
    """The process-wide storage of the seed API. ``StorageManager()`` is always the same
    object; see the module docstring for why, and for the explicit alternative."""

    _initialized: bool
    _storage: Optional[NamespacedStorage]
    _lock: threading.RLock
    _user_sources: UserSources

    def __new__(cls) -> StorageManager:
        # Not a lazily keyed singleton: just "the" module-level instance, built below.
        return _MANAGER

    @classmethod
    def _create(cls) -> StorageManager:
        self = object.__new__(cls)
        self._lock = threading.RLock()
        self._storage = None
        # The OAuth clients using the manager, each scoping ``user:`` keys by its own
        # session; handed to every storage the manager creates (see UserSources).
        self._user_sources = UserSources()
        # Read by the seed's safe access pattern: ``if not sm._initialized: sm.initialize()``.
        self._initialized = False
        return self

    def initialize(self, config: StorageConfig = None, device_id: Optional[str] = None) -> None:
        """(Re)configure the backend; ``None`` means memory storage.

        Without ``device_id`` an already-initialized manager keeps its device id (so a
        switch of backend does not orphan this device's keys); a fresh one gets a random
        id. Configure once at start-up: data in the previous backend is not copied.
        A bad config raises KindeConfigurationError and leaves the manager unchanged.
        """
        backend = create_storage(config)
        with self._lock:
            if device_id is None and self._storage is not None:
                device_id = self._storage.get_device_id()
            storage = NamespacedStorage(backend, device_id=device_id)
            storage._user_sources = self._user_sources
            self._storage = storage
            self._initialized = True
        logger.debug("kinde storage initialized with %s", type(backend).__name__)

    def add_user_source(self, source: UserSource) -> None:
        """Register an OAuth client's session reader for ``user:`` keys, for the storage
        in use and any later ``initialize`` (see :class:`NamespacedStorage`)."""
        self._user_sources.add(source)

    def reset(self) -> None:
        """Forget backend and device id (for tests); the next use starts from memory."""
        with self._lock:
            self._storage = None
            self._initialized = False

    @property
    def storage(self) -> NamespacedStorage:
        """The NamespacedStorage in use, initializing memory storage if there is none."""
        with self._lock:
            if self._storage is None:
                logger.debug("StorageManager used before initialize(): using memory storage")
                self.initialize()
            assert self._storage is not None
            return self._storage

    def __repr__(self) -> str:
        return f"StorageManager(initialized={self._initialized!r}, storage={self._storage!r})"

    def get(self, key: str) -> Any:
        return self.storage.get(key)

    def set(self, key: str, value: Any) -> None:
        self.storage.set(key, value)

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def get_device_id(self) -> str:
        return self.storage.get_device_id()

    def clear_device_data(self) -> None:
        self.storage.clear_device_data()


_MANAGER = StorageManager._create()
