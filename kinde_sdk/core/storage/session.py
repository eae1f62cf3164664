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

**No tokens in a client-side session.** Flask's default session (and Django's
``signed_cookies`` backend, and Starlette's ``SessionMiddleware``) is a *signed, not
encrypted* cookie: anyone holding the cookie reads what is in it, and a refresh token
there is a 2 KB cookie that outlives logout on every copy of it. So a SessionStorage
over a client-side session refuses to store tokens (a value with an ``access_token``,
``refresh_token`` or ``id_token`` field, or the OAuth client's token record) and raises
:class:`~kinde_sdk.errors.StorageError`; everything else (pending logins, preferences)
is stored. Flask's ``SecureCookieSession`` and Django's ``signed_cookies`` sessions are
recognised; for any other mapping say ``client_side=True`` (a cookie session, e.g.
Starlette's) or ``client_side=False`` (a server-side session such as Flask-Session on
redis). We chose refusing over encrypting: an encrypted refresh token in a cookie is
still replayable by whoever copies the cookie, and cannot be revoked by deleting it
server-side. The framework integrations never use this class: they keep tokens
server-side and put only a signed session id in the cookie.
"""

from __future__ import annotations

import threading
from collections.abc import MutableMapping
from typing import Any, Callable, Optional

from ._backend import StorageBackend, check_key, decode_value, encode_value
from ._errors import StorageError

__all__ = ["SessionStorage"]

SessionMapping = MutableMapping[str, Any]

_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})
_TOKEN_KEY_MARK = "kinde_oauth_tokens:"
# (module, class name) of sessions known to live in the browser's cookie.
_CLIENT_SIDE_SESSIONS = (
    ("flask.sessions", "SecureCookieSession"),
    ("django.contrib.sessions.backends.signed_cookies", "SessionStore"),
)


def is_client_side(mapping: object) -> bool:
    """Whether ``mapping`` is a session kept in the browser's cookie (Flask's default,
    Django's ``signed_cookies``), found by its class without importing any framework."""
    unwrap = getattr(mapping, "_get_current_object", None)  # Flask's ``session`` proxy
    if callable(unwrap):
        mapping = unwrap()
    for cls in type(mapping).__mro__:
        if (cls.__module__, cls.__qualname__) in _CLIENT_SIDE_SESSIONS:
            return True
    return False


def holds_tokens(key: str, value: Any) -> bool:
    if _TOKEN_KEY_MARK in key:
        return True
    return isinstance(value, dict) and any(
        isinstance(value.get(name), str) and value.get(name) for name in _TOKEN_FIELDS
    )


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
        client_side: Optional[bool] = None,
    ) -> None:
        if (session is None) == (session_getter is None):
            raise TypeError("SessionStorage needs exactly one of session or session_getter")
        if not isinstance(prefix, str):
            raise TypeError("SessionStorage prefix must be a str")
        if client_side is not None and not isinstance(client_side, bool):
            raise TypeError("SessionStorage client_side must be True, False or None")
        self._client_side = client_side
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
            mapping = self._mapping()
            client_side = self._client_side
            if client_side is None:
                client_side = is_client_side(mapping)
            if client_side and holds_tokens(key, stored):
                # Only the key is named: the value is a token.
                raise StorageError(
                    f"refusing to store tokens under {key!r} in a client-side (cookie) "
                    "session: it is signed, not encrypted, so anyone holding the cookie "
                    "reads them. Keep tokens server-side (memory, file or redis storage; "
                    "the framework integrations do) or pass client_side=False for a "
                    "server-side session"
                )
            mapping[self._prefix + key] = stored

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
