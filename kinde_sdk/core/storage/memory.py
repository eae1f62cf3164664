"""In-process storage: JSON text behind a lock, bounded (LRU) and with expiry (TTL).

The default backend (``{"type": "memory"}``). State lives as long as the process, so it
suits tests, scripts and single-process servers. Values are kept as JSON text rather than
as objects so that memory behaves exactly like the file and redis backends: the same
values are accepted and every ``get`` returns a fresh copy.

A web app on memory storage gets a pending login for every ``GET /login`` and a session
for every browser; abandoned ones must not grow the process forever. So:

* **Bounded.** At most ``max_entries`` keys (default 100,000). Past the bound the least
  recently used keys are evicted: abandoned sessions go first, a session in use is
  touched on every request and stays. Size the bound for your peak of live sessions
  (a signed-in browser session holds 2-3 keys); a session evicted early is a user
  signed out early, never a user reading another's data.
* **Expiry.** Entries written with :meth:`set_expiring` vanish after their TTL; expired
  entries are purged as they are met and by a sweep every few hundred writes.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

from ...errors import KindeConfigurationError
from ._backend import StorageBackend, check_key, check_ttl, decode_value, encode_value

__all__ = ["DEFAULT_MAX_ENTRIES", "MemoryStorage"]

DEFAULT_MAX_ENTRIES = 100_000
# A full sweep for expired entries every this many writes: O(n) spread over n/256 writes.
_SWEEP_EVERY = 256


class MemoryStorage(StorageBackend):
    """Thread-safe in-memory backend. ``max_entries`` bounds the number of keys (None:
    no bound); ``clock`` (monotonic seconds) is for tests."""

    def __init__(
        self,
        *,
        max_entries: Optional[int] = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise KindeConfigurationError("memory storage max_entries must be a whole number >= 1")
        self._max = max_entries
        self._clock = clock
        # key -> (JSON text, expiry on self._clock or None); order = least recently used first.
        self._data: OrderedDict[str, tuple[str, Optional[float]]] = OrderedDict()
        self._lock = threading.Lock()
        self._writes = 0

    @property
    def max_entries(self) -> Optional[int]:
        return self._max

    def __repr__(self) -> str:
        return f"MemoryStorage(max_entries={self._max!r})"

    def __len__(self) -> int:
        """How many live (unexpired) entries there are."""
        with self._lock:
            self._purge_locked()
            return len(self._data)

    # -- internals (lock held) --------------------------------------------------------

    def _live(self, key: str) -> Optional[str]:
        item = self._data.get(key)
        if item is None:
            return None
        text, expires = item
        if expires is not None and self._clock() >= expires:
            del self._data[key]
            return None
        self._data.move_to_end(key)
        return text

    def _store(self, key: str, text: str, expires: Optional[float]) -> None:
        self._data[key] = (text, expires)
        self._data.move_to_end(key)
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._purge_locked()
        if self._max is not None:
            # O(1): the least recently used entry goes (abandoned ones are the oldest).
            while len(self._data) > self._max:
                self._data.popitem(last=False)

    def _purge_locked(self) -> int:
        now = self._clock()
        doomed = [k for k, (_, exp) in self._data.items() if exp is not None and now >= exp]
        for k in doomed:
            del self._data[k]
        return len(doomed)

    # -- API ---------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        check_key(key)
        with self._lock:
            text = self._live(key)
        return None if text is None else decode_value(text)

    def set(self, key: str, value: Any) -> None:
        check_key(key)
        text = encode_value(key, value)
        with self._lock:
            self._store(key, text, None)

    def set_expiring(self, key: str, value: Any, ttl: float) -> None:
        check_key(key)
        seconds = check_ttl(ttl)
        text = encode_value(key, value)
        with self._lock:
            self._store(key, text, self._clock() + seconds)

    def touch(self, key: str, ttl: float) -> None:
        check_key(key)
        seconds = check_ttl(ttl)
        with self._lock:
            text = self._live(key)
            if text is not None:
                self._data[key] = (text, self._clock() + seconds)

    def purge_expired(self) -> int:
        with self._lock:
            return self._purge_locked()

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._data.pop(key, None)

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            self._purge_locked()
            return sorted(k for k in self._data if k.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._data if k.startswith(prefix)]
            for k in doomed:
                del self._data[k]
        return len(doomed)
