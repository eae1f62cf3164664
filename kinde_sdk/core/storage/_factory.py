"""``create_storage(config)``: the seed's ``{"type": ..., "options": {...}}`` dicts.

Configuration mistakes (unknown type, misspelt option, wrong value type) raise
:class:`~kinde_sdk.errors.KindeConfigurationError` here, at start-up, instead of turning
into a surprising default or a failure on the first login.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Union

from ...errors import KindeConfigurationError
from ._backend import StorageBackend, check_options
from .local_storage import FileStorage
from .memory import MemoryStorage
from .redis_storage import RedisStorage

__all__ = ["STORAGE_TYPES", "StorageConfig", "create_storage"]

STORAGE_TYPES = ("memory", "local_storage", "redis")
_REDIS_OPTIONS = (
    "url",
    "host",
    "port",
    "db",
    "username",
    "password",
    "ssl",
    "prefix",
    "ttl",
    "socket_timeout",
    "retries",
    "client",
)

#: A config dict, a ready backend (e.g. a SessionStorage), or None for memory.
StorageConfig = Union[Mapping[str, Any], StorageBackend, None]


def create_storage(config: StorageConfig = None) -> StorageBackend:
    """Build the backend that ``config`` describes.

    ``None`` means memory storage. A :class:`StorageBackend` instance is used as is, so
    callers can plug in a backend no config dict can describe (a framework session, a
    custom store).
    """
    if config is None:
        return MemoryStorage()
    if isinstance(config, StorageBackend):
        return config
    if not isinstance(config, Mapping):
        raise KindeConfigurationError(
            "storage config must be a dict like {'type': 'memory', 'options': {}}, "
            f"not {type(config).__name__}"
        )
    extra = sorted(str(k) for k in config if k not in ("type", "options"))
    if extra:
        raise KindeConfigurationError(
            f"unknown storage config key(s): {', '.join(extra)}; allowed: type, options"
        )
    kind = config.get("type")
    if kind not in STORAGE_TYPES:
        shown = repr(kind) if isinstance(kind, str) else type(kind).__name__
        raise KindeConfigurationError(
            f"unknown storage type {shown}; allowed types: {', '.join(STORAGE_TYPES)}"
        )
    options = config.get("options")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise KindeConfigurationError(
            f"storage options must be a dict, not {type(options).__name__}"
        )

    if kind == "memory":
        check_options("memory", options, ("max_entries",))
        if "max_entries" in options:
            return MemoryStorage(max_entries=options["max_entries"])
        return MemoryStorage()
    if kind == "local_storage":
        check_options("local_storage", options, ("path",))
        path = options.get("path")
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise KindeConfigurationError("local_storage option 'path' must be a path string")
        return FileStorage(path)
    check_options("redis", options, _REDIS_OPTIONS)
    return RedisStorage(**dict(options))
