"""The backend interface and the JSON rules every backend shares.

A backend is a flat key -> JSON value store with prefix deletion. It knows nothing about
devices or users: :class:`~kinde_sdk.core.storage.NamespacedStorage` builds those
namespaces out of plain key prefixes, so any store that can list or scan by prefix can
hold SDK state.

Values are always JSON. Encoding happens *before* a backend touches its store, so a value
that cannot be encoded raises :class:`StorageSerializationError` and nothing is written;
and every read returns a fresh decoded copy, so mutating a returned dict never changes
what is stored.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, Union

from ..._config import check_seconds
from ...errors import KindeConfigurationError
from ._errors import StorageSerializationError

__all__ = [
    "StorageBackend",
    "check_key",
    "check_options",
    "check_ttl",
    "decode_value",
    "encode_value",
]


def _reject(obj: object) -> NoReturn:
    # Called by json.dumps for objects it cannot encode; only the type name is reported.
    raise TypeError(f"objects of type {type(obj).__name__} cannot be stored")


def encode_value(key: str, value: Any) -> str:
    """Return the compact JSON text for ``value`` or raise StorageSerializationError.

    NaN and infinities are refused (``allow_nan=False``): they are not JSON and other
    readers of a file or redis would choke on them.
    """
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":"), default=_reject)
    except TypeError as exc:
        # Messages from json and _reject name types only, never data.
        reason = str(exc)
    except ValueError as exc:
        # "Out of range float values ...: nan" would echo a value: say it in our words.
        circular = "circular" in str(exc).lower()
        reason = "circular reference" if circular else "NaN and infinite floats are not JSON"
    except RecursionError:
        reason = "value is nested too deeply"
    # Raised outside the handlers so that no chained traceback can carry the value.
    raise StorageSerializationError(key, reason)


def decode_value(text: Union[str, bytes]) -> Any:
    """Parse JSON text produced by :func:`encode_value` (raises ``ValueError`` if bad,
    including text nested too deeply to parse, which json reports as RecursionError)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def check_key(key: object) -> str:
    """Keys are non-empty strings; anything else is a programming error."""
    if not isinstance(key, str):
        raise TypeError(f"storage keys must be str, not {type(key).__name__}")
    if not key:
        raise ValueError("storage keys must not be empty")
    return key


def check_ttl(ttl: object) -> float:
    """A lifetime in seconds: a finite number > 0 (KindeConfigurationError, a
    ValueError, otherwise)."""
    return check_seconds(ttl, "ttl")


def check_options(backend: str, options: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """Fail loudly on a misspelt option instead of silently using a default."""
    allowed_set = set(allowed)
    unknown = sorted(str(name) for name in options if name not in allowed_set)
    if unknown:
        raise KindeConfigurationError(
            f"unknown option(s) for {backend} storage: {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed_set)) or '(none)'}"
        )


class StorageBackend(ABC):
    """A thread-safe key -> JSON value store.

    Implementations must be safe to call from many threads, must validate values with
    :func:`encode_value` before changing anything, and must never put values in logs,
    reprs or exception messages.
    """

    @abstractmethod
    def get(self, key: str) -> Any:
        """Return a fresh copy of the value stored under ``key``, or ``None``."""

    @abstractmethod
    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable) under ``key``, replacing any old value."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def keys(self, prefix: str = "") -> list[str]:
        """Return the stored keys that start with ``prefix``, sorted."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix``; return how many were removed."""

    # -- expiry (optional; the defaults keep a backend without expiry working) -------

    def set_expiring(self, key: str, value: Any, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds; after that ``get`` answers None and the
        entry is purged. Backends without expiry store it like :meth:`set` (framework
        sessions still end: their lifetime is also checked on every request)."""
        self.set(key, value)

    def touch(self, key: str, ttl: float) -> None:  # noqa: B027 - optional hook
        """Give an existing entry ``ttl`` more seconds from now (idle timeouts)."""

    def purge_expired(self) -> int:
        """Remove expired entries now; return how many. Backends purge on their own as
        well (memory and file on writes, redis by itself)."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections or handles. The default has nothing to release."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
