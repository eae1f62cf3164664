"""In-process storage: a dict of JSON text behind a lock.

The default backend (``{"type": "memory"}``). State lives as long as the process, so it
suits tests, scripts and single-process servers. Values are kept as JSON text rather than
as objects so that memory behaves exactly like the file and redis backends: the same
values are accepted and every ``get`` returns a fresh copy.
"""

from __future__ import annotations

import threading
from typing import Any

from ._backend import StorageBackend, check_key, decode_value, encode_value

__all__ = ["MemoryStorage"]


class MemoryStorage(StorageBackend):
    """Thread-safe in-memory backend. No options."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        check_key(key)
        with self._lock:
            text = self._data.get(key)
        return None if text is None else decode_value(text)

    def set(self, key: str, value: Any) -> None:
        check_key(key)
        text = encode_value(key, value)
        with self._lock:
            self._data[key] = text

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._data.pop(key, None)

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            return sorted(k for k in self._data if k.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._data if k.startswith(prefix)]
            for k in doomed:
                del self._data[k]
        return len(doomed)
