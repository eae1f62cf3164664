"""A bounded LRU of tokens that already passed verification.

A bearer token is usually presented many times during its life, and re-checking an RSA
signature each time is the dominant cost of an API request's auth. Like Envoy's
``jwt_authn`` cache, entries are keyed by a hash of the token (never the token itself),
and only the time claims are re-checked on a hit: ``exp``/``nbf`` are kept next to the
entry and compared with the clock every time, so a cached token still expires on time.

The claims are kept as the token's payload segment and decoded afresh on each hit, so a
caller that mutates the returned dict (or a nested list in it) cannot alter what later
callers see, and nothing has to be copied on the first, uncached verification.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import NamedTuple, Optional

from jwt import PyJWK

DEFAULT_MAX_CACHED_TOKENS = 1024


class VerifiedToken(NamedTuple):
    """What a cache hit needs: the time claims, the key that vouched, the claims."""

    exp: Optional[float]
    nbf: Optional[float]
    kid: Optional[str]
    alg: str
    key: PyJWK
    payload_segment: str


class CacheInfo(NamedTuple):
    """Verified-token cache statistics, in the shape of ``functools.lru_cache``."""

    hits: int
    misses: int
    maxsize: int
    currsize: int


class VerifiedTokenCache:
    """Thread-safe LRU keyed by the token's SHA-256 digest. ``maxsize`` 0 disables it."""

    def __init__(self, maxsize: int = DEFAULT_MAX_CACHED_TOKENS) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._entries: OrderedDict[bytes, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, digest: bytes) -> Optional[VerifiedToken]:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                self._misses += 1
                return None
            self._hits += 1
            self._entries.move_to_end(digest)
            return entry

    def put(self, digest: bytes, entry: VerifiedToken) -> None:
        if not self.maxsize:
            return
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def discard(self, digest: bytes) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._hits = self._misses = 0

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, self.maxsize, len(self._entries))
