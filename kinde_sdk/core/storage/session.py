"""Framework-session storage: keep SDK state in the web framework's own session.

Flask's ``session``, Starlette's ``request.session`` and Django's ``request.session``
are all mutable mappings that the framework loads and saves per request (signed cookie,
server-side store, ...). Storing SDK state there means no second store to run and state
that follows the user's session. The framework adapters build one of these per request,
or once with a ``session_getter`` that returns the current request's session.

Entries are stored under ``prefix + key`` (default ``"kinde:"``) so SDK state never
collides with the application's own session keys, and the values put in the mapping are
plain JSON types, which every session serialiser can handle. Only top-level keys are
assigned or deleted, so frameworks that track changes (Flask's ``session.modified``,
Django's ``SessionBase``) notice every write.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any, Callable, Optional

from ._backend import StorageBackend, check_key, decode_value, encode_value

__all__ = ["SessionStorage"]

SessionMapping = MutableMapping[str, Any]


class SessionStorage(StorageBackend):
    """A backend over a mutable mapping, usually a web framework's session.

    Give exactly one of ``session`` (the mapping itself) or ``session_getter`` (called
    on every operation; for sessions that change per request).
    """

    def __init__(
        self,
        session: Optional[SessionMapping] = None,
        *,
        session_getter: Optional[Callable[[], SessionMapping]] = None,
        prefix: str = "kinde:",
    ) -> None:
        if (session is None) == (session_getter is None):
            raise TypeError("SessionStorage needs exactly one of session or session_getter")
        if not isinstance(prefix, str):
            raise TypeError("SessionStorage prefix must be a str")
        self._session = session
        self._getter = session_getter
        self._prefix = prefix
        # Sessions are usually per request, but one mapping may be shared by threads.
        self._lock = threading.RLock()

    def _mapping(self) -> SessionMapping:
        if self._getter is not None:
            return self._getter()
        assert self._session is not None
        return self._session

    def get(self, key: str) -> Any:
        check_key(key)
        with self._lock:
            value = self._mapping().get(self._prefix + key)
        if value is None:
            return None
        # Round-trip so the caller gets a copy: mutating it must not change the session
        # behind the framework's back (it would not be saved, or saved by surprise).
        return decode_value(encode_value(key, value))

    def set(self, key: str, value: Any) -> None:
        check_key(key)
        stored = decode_value(encode_value(key, value))
        with self._lock:
            self._mapping()[self._prefix + key] = stored

    def delete(self, key: str) -> None:
        check_key(key)
        with self._lock:
            self._mapping().pop(self._prefix + key, None)

    def keys(self, prefix: str = "") -> list[str]:
        full = self._prefix + prefix
        start = len(self._prefix)
        with self._lock:
            names = list(self._mapping())
        return sorted(k[start:] for k in names if isinstance(k, str) and k.startswith(full))

    def delete_prefix(self, prefix: str) -> int:
        full = self._prefix + prefix
        with self._lock:
            mapping = self._mapping()
            doomed = [k for k in list(mapping) if isinstance(k, str) and k.startswith(full)]
            for k in doomed:
                del mapping[k]
        return len(doomed)

    def __repr__(self) -> str:
        return f"SessionStorage(prefix={self._prefix!r})"
