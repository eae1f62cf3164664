"""What :class:`~kinde_sdk.auth.OAuth` and :class:`~kinde_sdk.auth.AsyncOAuth` share:
everything but the network.

:class:`OAuthCore` holds the settings (arguments, env fallback, checks), the storage and
the per-request session binding, the pending login attempts, the token record of a
session and every decision about it (expired? refresh due? still due after waiting for
another refresh?), the claims helpers and the forms and URLs of each step. The protocol
itself is :mod:`kinde_sdk.auth._flow`. The two shells add only the I/O: discovery, the
token and revocation requests, and the validator calls, blocking in ``OAuth`` and
awaited in ``AsyncOAuth``.

Verifying a token response is written once as a generator, :meth:`OAuthCore._record_flow`:
it yields ``(kind, token)`` for each token to verify (``kind`` is ``"id_token"`` or
``"access_token"``) and is sent the verified claims back; the sync shell answers with
``TokenValidator.verify``, the async one with ``await AsyncTokenValidator.verify``, as
the validators themselves do with their key lookups.

Storage calls are synchronous in both shells (memory and file storage are local; Redis
is one short round trip).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from typing import Any, Callable, NoReturn, Optional, Protocol, Union
from urllib.parse import urlsplit

from .._config import check_seconds, from_env, is_loopback_host, normalize_domain, require
from .._error_copy import copy_error
from .._retry import failure_backoff
from ..core.storage import NamespacedStorage, StorageBackend, StorageConfig, StorageManager
from ..errors import (
    InvalidTokenError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    TokenError,
)
from . import _claims, _flow
from ._flow import StateError, TokenSet

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "DISCOVERY_PATH",
    "OAuthCore",
    "RecordFlow",
    "SessionBinding",
    "check_endpoint",
    "parse_discovery",
]

logger = logging.getLogger("kinde_sdk")

DEFAULT_REFRESH_MARGIN = 60.0
# After a failed refresh (or discovery), the next attempt waits: 1 s doubling to 30 s,
# with jitter. Callers meanwhile get the still-valid token, or the failure's error.
REFRESH_BACKOFF_BASE = 1.0
REFRESH_BACKOFF_MAX = 30.0
_MAX_REFRESH_FAILURES_KEPT = 10_000


class _Failure:
    """The last failure of a shared fetch: its error, how many in a row, and when the
    next attempt is allowed."""

    __slots__ = ("error", "failures", "retry_at")

    def __init__(self, error: BaseException, failures: int, retry_at: float) -> None:
        self.error = error
        self.failures = failures
        self.retry_at = retry_at

    @classmethod
    def after(cls, previous: Optional[_Failure], error: BaseException, now: float) -> _Failure:
        failures = (previous.failures if previous else 0) + 1
        wait = failure_backoff(failures, REFRESH_BACKOFF_BASE, REFRESH_BACKOFF_MAX)
        return cls(error, failures, now + wait)

    def pending(self, now: float) -> bool:
        """Whether the backoff still runs: callers share this failure's outcome."""
        return now < self.retry_at

    def reraise(self) -> NoReturn:
        # Each caller in the backoff gets its own copy: one object raised in several
        # threads or tasks at once would share, and garble, its traceback and context.
        raise copy_error(self.error)


DISCOVERY_PATH = "/.well-known/openid-configuration"
TOKENS_KEY_PREFIX = "kinde_oauth_tokens:"
FORM_HEADERS = {"Accept": "application/json"}
_REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_URL_METADATA = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)
_TOKEN_KEYS = ("access_token", "id_token", "refresh_token", "expires_at", "token_type", "scope")

# A token to verify ("id_token" or "access_token", the JWT); answered with its claims.
VerifyRequest = tuple[str, str]
RecordFlow = Generator[VerifyRequest, dict[str, Any], dict[str, Any]]


class _Store(Protocol):
    def get(self, key: str) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def get_device_id(self) -> str: ...


def check_endpoint(url: Any, name: str) -> str:
    """Endpoints must be https (plain http only on loopback test servers)."""
    if not isinstance(url, str) or not url:
        raise KindeConnectionError(f"OpenID discovery document has no valid {name}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise KindeConnectionError(f"OpenID discovery lists a {name} that is not an https URL")


def parse_discovery(url: str, status: int, data: Any) -> dict[str, Any]:
    """The provider metadata from a discovery response (``data``: the parsed JSON, or
    None), checked: the required endpoints present, every endpoint https."""
    if status != 200:
        raise KindeConnectionError(f"OpenID discovery at {url} answered HTTP {status}", url=url)
    if not isinstance(data, dict):
        raise KindeConnectionError(f"OpenID discovery at {url} did not return JSON", url=url)
    for name in _REQUIRED_METADATA:
        if not isinstance(data.get(name), str) or not data[name]:
            raise KindeConnectionError(f"OpenID discovery at {url} has no {name}", url=url)
    for name in _URL_METADATA:
        if name in _REQUIRED_METADATA or data.get(name):
            data[name] = check_endpoint(data.get(name), name)
    return data


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2


class SessionBinding(NamespacedStorage):
    """One browser session's storage: the client's backend, namespaced by the session
    id (the device id). ``written`` tells a framework adapter that the session now holds
    state (a pending login or tokens), so its cookie must reach the browser."""

    written: bool = False
    # Set by a framework adapter: the lifetime (seconds) of a key written here, or None
    # for no expiry (pending logins expire with their TTL, session keys when idle).
    ttl_for: Optional[Callable[[str], Optional[float]]] = None

    def set(self, key: str, value: Any) -> None:
        ttl = self.ttl_for(key) if self.ttl_for is not None else None
        if ttl:
            self.set_expiring(key, value, ttl)
        else:
            super().set(key, value)
        self.written = True


_UNBOUND = object()


class OAuthCore:
    """Settings, storage, sessions and every decision of the OAuth client, no network.
    See :class:`~kinde_sdk.auth.OAuth` for the arguments."""

    def __init__(
        self,
        *,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        host: Optional[str] = None,
        domain: Optional[str] = None,
        audience: Optional[str] = None,
        scopes: Union[str, Sequence[str], None] = None,
        logout_redirect_uri: Optional[str] = None,
        storage_config: StorageConfig = None,
        storage: Union[NamespacedStorage, StorageBackend, None] = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        pending_ttl: float = _flow.DEFAULT_PENDING_TTL,
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = require(
            from_env(client_id, "KINDE_CLIENT_ID"), "client_id", ["KINDE_CLIENT_ID"]
        )
        # A public client (PKCE only) has no secret. The domain and redirect URI are
        # checked when a flow needs them, so the Kinde README's storage examples, which
        # build OAuth with a client id only, work as written.
        self._client_secret = from_env(client_secret, "KINDE_CLIENT_SECRET") or None
        self._redirect_uri = from_env(redirect_uri, "KINDE_REDIRECT_URI") or None
        raw_host = from_env(host if host is not None else domain, "KINDE_HOST", "KINDE_DOMAIN")
        self._domain = normalize_domain(raw_host, setting="host") if raw_host else None
        self.audience = from_env(audience, "KINDE_AUDIENCE") or None
        self.logout_redirect_uri = from_env(logout_redirect_uri, "KINDE_LOGOUT_REDIRECT_URI")
        self.scopes = _flow.normalize_scopes(
            scopes if scopes is not None else from_env(None, "KINDE_SCOPES")
        )
        # Finite: a NaN refresh_margin never found a token due (expired ones were served
        # for good), an infinite one refreshed on every call.
        self.refresh_margin = check_seconds(refresh_margin, "refresh_margin", allow_zero=True)
        self.pending_ttl = check_seconds(pending_ttl, "pending_ttl", allow_zero=True)
        self.leeway = leeway
        self._clock = clock
        self._storage: _Store
        if storage is not None:
            if isinstance(storage, StorageBackend):
                storage = NamespacedStorage(storage)
            if not isinstance(storage, NamespacedStorage):
                raise KindeConfigurationError(
                    "storage must be a NamespacedStorage or a StorageBackend"
                )
            self._storage = storage
        else:
            manager = StorageManager()
            if storage_config is not None or not manager._initialized:
                manager.initialize(storage_config)
            self._storage = manager
        self._tokens_key = TOKENS_KEY_PREFIX + self.client_id
        self._lock = threading.Lock()
        # The last failed refresh per session (see _refresh_gate); guarded by _lock.
        self._refresh_failures: dict[str, _Failure] = {}
        # The last failed discovery (see _discovery_gate).
        self._discovery_failure: Optional[_Failure] = None
        self._state_lock = threading.Lock()
        self._metadata_cache: Optional[dict[str, Any]] = None
        # Per-request session binding (see bind_session); one variable per client.
        self._session: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"kinde_oauth_session_{id(self)}", default=_UNBOUND
        )
        self._sessions_required = False
        # A framework adapter's lifetime policy for the keys of browser sessions.
        self.session_ttl_for: Optional[Callable[[str], Optional[float]]] = None
        # ``user:`` keys are scoped to the signed-in user's sub (issue 12): this client
        # is one user source of its storage, answering from its own session, next to any
        # other client using the same storage or manager (not "the first one wins").
        if isinstance(self._storage, (StorageManager, NamespacedStorage)):
            self._storage.add_user_source(self._signed_in_sub)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(client_id={self.client_id!r}, domain={self._domain!r})"

    @property
    def domain(self) -> str:
        """The provider's origin; KindeConfigurationError when none was configured."""
        return require(self._domain, "host", ["KINDE_HOST", "KINDE_DOMAIN"])

    @property
    def redirect_uri(self) -> str:
        """The callback URL; KindeConfigurationError when none was configured."""
        return require(self._redirect_uri, "redirect_uri", ["KINDE_REDIRECT_URI"])

    @property
    def discovery_url(self) -> str:
        return self.domain + DISCOVERY_PATH

    # --- per-request sessions ------------------------------------------------------

    def _backend(self) -> StorageBackend:
        base = self._storage
        if isinstance(base, StorageManager):
            return base.storage.backend
        assert isinstance(base, NamespacedStorage)
        return base.backend

    def session_storage(self, session_id: str) -> SessionBinding:
        """The storage of one browser session: this client's backend, namespaced by
        ``session_id`` (the session's device id)."""
        binding = SessionBinding(self._backend(), device_id=session_id)
        binding.ttl_for = self.session_ttl_for
        # A browser session's storage belongs to this client alone.
        binding.user_resolver = functools.partial(self._signed_in_sub, binding)
        return binding

    def _signed_in_sub(self, store: NamespacedStorage) -> Optional[str]:
        """The ``sub`` of the user signed in to this client on ``store`` (its ID
        token's), or None."""
        record = store.get(self._tokens_key)
        claims = record.get("id_token_claims") if isinstance(record, dict) else None
        value = claims.get("sub") if isinstance(claims, dict) else None
        return value if isinstance(value, str) and value else None

    def enter_session(self, session_id: str) -> tuple[SessionBinding, contextvars.Token[Any]]:
        """Bind the current context (request) to ``session_id``; undo with
        :meth:`exit_session`. Prefer :meth:`bind_session`."""
        binding = self.session_storage(session_id)
        return binding, self._session.set(binding)

    def exit_session(self, token: contextvars.Token[Any]) -> None:
        self._session.reset(token)

    @contextlib.contextmanager
    def bind_session(self, session_id: str) -> Iterator[SessionBinding]:
        """Within the block (and tasks/threads that copy this context), the session
        helpers (``is_authenticated``, ``get_user_info``, claims, ``login``,
        ``handle_redirect``, ``logout``) use the storage of browser session
        ``session_id`` instead of the client's default storage. Framework adapters do
        this per request; contextvars keep concurrent requests (and asyncio tasks)
        apart."""
        binding, token = self.enter_session(session_id)
        try:
            yield binding
        finally:
            self.exit_session(token)

    def current_session(self) -> Optional[SessionBinding]:
        """The session bound to the current context, if any."""
        bound = self._session.get()
        return bound if isinstance(bound, SessionBinding) else None

    @property
    def _store(self) -> _Store:
        bound = self._session.get()
        if isinstance(bound, SessionBinding):
            return bound
        if self._sessions_required:
            # With a framework, the default storage would be one session shared by
            # every user: refuse instead.
            raise KindeConfigurationError(
                "no browser session is bound: with framework= the session helpers work "
                "inside requests that pass through the kinde integration (or inside "
                "oauth.bind_session(...))"
            )
        return self._storage

    def move_session(self, old_session_id: str, new_session_id: str) -> None:
        """Move everything of one session id to another and clear the old session
        (adapters rotate the session id at login against session fixation). Everything,
        not only the tokens: the other pending logins of the same browser (a second tab)
        must survive the first tab's login."""
        old = self.session_storage(old_session_id)
        new = self.session_storage(new_session_id)
        backend = self._backend()
        # Key by key at the backend level: a device key stays a device key (an
        # anonymous ``user:`` key must not turn into the signed-in user's own).
        for key in old.device_keys():
            value = backend.get(old.device_key(key))
            if value is None:
                continue
            ttl = self.session_ttl_for(key) if self.session_ttl_for is not None else None
            if ttl:
                backend.set_expiring(new.device_key(key), value, ttl)
            else:
                backend.set(new.device_key(key), value)
        old.clear_device_data()

    def clear_session(self, session_id: str) -> None:
        """Delete everything stored for browser session ``session_id``."""
        self.session_storage(session_id).clear_device_data()
        self._forget_refresh_lock(session_id)
        with self._lock:
            self._refresh_failures.pop(session_id, None)

    def _forget_refresh_lock(self, session_id: str) -> None:
        """The shells keep one refresh lock per session; drop this one's."""

    # --- discovery and validators -------------------------------------------------

    def _validator_settings(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments both token validators (ID and access) share."""
        return {
            "issuer": meta["issuer"],
            "jwks_url": meta["jwks_uri"],
            "leeway": self.leeway,
            "clock": self._clock,
        }

    # --- login ---------------------------------------------------------------------

    @staticmethod
    def _register_options(options: Mapping[str, Any]) -> dict[str, Any]:
        return {"prompt": "create", **options}

    @staticmethod
    def _create_org_options(org_name: Optional[str], options: Mapping[str, Any]) -> dict[str, Any]:
        return {"prompt": "create", "is_create_org": True, "org_name": org_name, **options}

    def _check_login_settings(self) -> str:
        """The redirect URI, checked before any request (a missing setting fails first)."""
        return self.redirect_uri

    def _start_with(self, meta: Mapping[str, Any], options: Mapping[str, Any]) -> str:
        """A new login attempt against discovered ``meta``: store it, return its URL."""
        redirect_uri = self._check_login_settings()
        opts = dict(options)
        if self.audience is not None and "audience" not in opts:
            opts["audience"] = self.audience
        request = _flow.start_login(
            meta["authorization_endpoint"],
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=self.scopes,
            now=self._clock(),
            options=opts,
        )
        pending = request.pending
        self._store.set(_flow.pending_key(pending.state), pending.to_json())
        return request.url

    # --- redirect ------------------------------------------------------------------

    def _take_pending(self, state: str) -> _flow.PendingLogin:
        """Read and delete the attempt that issued ``state`` (single use). No await in
        between, so this holds for coroutines too."""
        key = _flow.pending_key(state)
        with self._state_lock:
            data = self._store.get(key)
            if data is None:
                raise StateError(
                    "unknown or already used state: this login attempt was not started "
                    "here or was already completed; start a new login",
                    error="invalid_state",
                )
            self._store.delete(key)
        pending = _flow.PendingLogin.from_json(data)
        pending.check(state, self._clock(), self.pending_ttl)
        return pending

    def _redirect_state(self, state: Optional[str]) -> _flow.PendingLogin:
        """Step one of a callback: the state must be present, known, unused, fresh."""
        if not state:
            raise StateError("the redirect has no state parameter", error="invalid_state")
        return self._take_pending(state)

    def _redirect_form(
        self,
        meta: Mapping[str, Any],
        pending: _flow.PendingLogin,
        code: Optional[str],
        *,
        error: Optional[str],
        error_description: Optional[str],
        iss: Optional[str],
    ) -> list[tuple[str, str]]:
        """Step two: the redirect's ``iss``, ``error`` and ``code`` checked; the token
        request form for the code."""
        if iss is not None and iss != meta["issuer"]:
            raise TokenError(
                "the redirect's iss is not this client's issuer (possible mix-up attack)",
                error="invalid_request",
            )
        if error:
            raise TokenError(
                "the authorization server refused the login",
                error=error,
                error_description=error_description,
            )
        if not code:
            raise TokenError("the redirect has no authorization code", error="invalid_request")
        return _flow.authorization_code_form(
            code=code,
            pending=pending,
            client_id=self.client_id,
            client_secret=self._client_secret,
        )

    def _parse_tokens(self, status: int, body: bytes) -> TokenSet:
        return _flow.parse_token_response(status, body, now=self._clock())

    def _record_flow(
        self, tokens: TokenSet, *, nonce: Optional[str], previous: Optional[Mapping[str, Any]]
    ) -> RecordFlow:
        """Verify a token response and build the record to store: yields each token to
        verify and is sent its verified claims (see the module docstring)."""
        id_claims: dict[str, Any] = {}
        if tokens.id_token is not None:
            id_claims = yield "id_token", tokens.id_token
            if nonce is not None:
                _flow.check_nonce(id_claims, nonce)
        elif previous is not None:
            id_claims = dict(previous.get("id_token_claims") or {})
        elif "openid" in self.scopes:
            raise InvalidTokenError("the token response has no ID token")
        if previous is not None:
            old_sub = (previous.get("id_token_claims") or {}).get("sub")
            if old_sub is not None and id_claims.get("sub") != old_sub:
                raise InvalidTokenError("the refreshed ID token is for a different user")
        access_claims: dict[str, Any] = {}
        if _is_jwt(tokens.access_token):
            access_claims = yield "access_token", tokens.access_token
        refresh_token = tokens.refresh_token
        if refresh_token is None and previous is not None:
            refresh_token = previous.get("refresh_token")  # no rotation: keep the old one
        id_token = tokens.id_token
        if id_token is None and previous is not None:
            id_token = previous.get("id_token")
        return {
            "access_token": tokens.access_token,
            "token_type": tokens.token_type,
            "expires_at": tokens.expires_at,
            "refresh_token": refresh_token,
            "id_token": id_token,
            "scope": tokens.scope,
            "id_token_claims": id_claims,
            "access_token_claims": access_claims,
        }

    def _store_login(self, record: dict[str, Any]) -> dict[str, Any]:
        """Last step of a callback: keep the verified record; the user it names."""
        self._store.set(self._tokens_key, record)
        info = self.get_user_info()
        assert info is not None
        return info

    # --- session -------------------------------------------------------------------

    def _load(self) -> Optional[dict[str, Any]]:
        record = self._store.get(self._tokens_key)
        if not isinstance(record, dict) or not isinstance(record.get("access_token"), str):
            return None
        return record

    def _expired(self, record: Mapping[str, Any], margin: float) -> bool:
        expires_at = record.get("expires_at")
        if not isinstance(expires_at, (int, float)) or not math.isfinite(expires_at):
            return False
        return self._clock() >= float(expires_at) - margin

    def _refresh_due(
        self, record: Optional[dict[str, Any]]
    ) -> tuple[Optional[dict[str, Any]], bool]:
        """(the record to answer with, whether to refresh first). Due when the access
        token is within ``refresh_margin`` of expiry and there is a refresh token;
        without one an expired session answers None."""
        if record is None:
            return None, False
        if not self._expired(record, self.refresh_margin):
            return record, False
        if not record.get("refresh_token"):
            return (None if self._expired(record, 0.0) else record), False
        return record, True

    def _still_due(
        self, seen: Mapping[str, Any], latest: Optional[dict[str, Any]]
    ) -> tuple[Optional[dict[str, Any]], bool]:
        """After waiting for the session's refresh lock: another caller may have
        refreshed meanwhile (or ended the session); then use its result, so one
        refresh serves everyone who was waiting."""
        if latest is None:
            return None, False
        if latest["access_token"] != seen["access_token"] or not self._expired(
            latest, self.refresh_margin
        ):
            return latest, False
        return latest, True

    # --- no stampede when refreshing fails -------------------------------------------
    # The shells hold one lock per session around a refresh. Inside the refresh margin
    # (the token still valid) a caller that finds the lock taken does not wait: it gets
    # the still-valid token while one caller refreshes. A failed refresh is recorded
    # here: the callers that waited on the lock, and every caller until the backoff
    # ends, get its outcome (the still-valid token, or its error) without a request.

    def _refresh_gate(self, record: dict[str, Any]) -> Optional[dict[str, Any]]:
        """Before refreshing: None to refresh now; else, during the backoff after a
        failure, ``record`` when its access token is still valid. Raises the failure's
        error when it is not."""
        key = self._store.get_device_id()
        with self._lock:
            failure = self._refresh_failures.get(key)
        if failure is None or not failure.pending(self._clock()):
            return None
        if not self._expired(record, 0.0):
            return record
        failure.reraise()

    def _refresh_failed(self, record: dict[str, Any], exc: KindeError) -> Optional[dict[str, Any]]:
        """After a failed refresh: record it (unless the session ended on
        ``invalid_grant``) and return ``record`` when its token is still valid, to be
        served instead of the error; None means raise."""
        key = self._store.get_device_id()
        if isinstance(exc, TokenError) and exc.error == "invalid_grant":
            # The session is gone, and its failures with it: the next session of this
            # device must not start with their longer backoff.
            with self._lock:
                self._refresh_failures.pop(key, None)
            return None
        now = self._clock()
        with self._lock:
            failure = _Failure.after(self._refresh_failures.pop(key, None), exc, now)
            if len(self._refresh_failures) >= _MAX_REFRESH_FAILURES_KEPT:
                # Forget the oldest sessions' failures (insertion order) to bound memory.
                for stale in list(self._refresh_failures)[: _MAX_REFRESH_FAILURES_KEPT // 10]:
                    del self._refresh_failures[stale]
            self._refresh_failures[key] = failure
        if self._expired(record, 0.0):
            return None
        logger.warning(
            "kinde token refresh failed (%s); serving the still-valid access token, "
            "next attempt in %.1fs",
            type(exc).__name__,
            failure.retry_at - now,
        )
        return record

    def _discovery_gate(self) -> None:
        """Before fetching the discovery document (under the shell's discovery lock):
        during the backoff after a failure, raise that failure's error instead."""
        failure = self._discovery_failure
        if failure is not None and failure.pending(self._clock()):
            failure.reraise()

    def _discovery_done(self, exc: Optional[KindeError]) -> None:
        """After a discovery fetch: record its failure (``exc``), or clear the last one."""
        if exc is None:
            self._discovery_failure = None
        else:
            self._discovery_failure = _Failure.after(self._discovery_failure, exc, self._clock())

    def _refresh_succeeded(self) -> None:
        key = self._store.get_device_id()
        with self._lock:
            self._refresh_failures.pop(key, None)

    def _refresh_form(self, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        return _flow.refresh_token_form(
            refresh_token=str(record["refresh_token"]),
            client_id=self.client_id,
            client_secret=self._client_secret,
        )

    def _refresh_refused(self, exc: TokenError) -> None:
        """A refresh failed: on ``invalid_grant`` (refresh token revoked or expired) the
        session ends here, cleanly; any other failure leaves it as it was."""
        if exc.error == "invalid_grant":
            logger.info("kinde refresh token refused (invalid_grant): session ended")
            self._store.delete(self._tokens_key)

    def _refreshed(self, record: dict[str, Any]) -> dict[str, Any]:
        self._store.set(self._tokens_key, record)
        return record

    def _record_for_forced_refresh(self) -> dict[str, Any]:
        record = self._load()
        if record is None or not record.get("refresh_token"):
            raise TokenError("there is no refresh token in this session", error="invalid_grant")
        return record

    def is_authenticated(self) -> bool:
        """True when this session has an access token that is still valid, or a refresh
        token to get a new one. No network call."""
        record = self._load()
        if record is None:
            return False
        return bool(record.get("refresh_token")) or not self._expired(record, 0.0)

    def get_tokens(self) -> Optional[dict[str, Any]]:
        """The stored tokens (access, ID, refresh, ``expires_at``), or None. No refresh."""
        record = self._load()
        if record is None:
            return None
        return {k: record.get(k) for k in _TOKEN_KEYS}

    def get_user_info(self) -> Optional[dict[str, Any]]:
        """The user from the verified ID token (no network call), or None."""
        record = self._load()
        if record is None:
            return None
        claims = record.get("id_token_claims") or {}
        return {
            "id": claims.get("sub"),
            "sub": claims.get("sub"),
            "email": claims.get("email"),
            "given_name": claims.get("given_name"),
            "family_name": claims.get("family_name"),
            "picture": claims.get("picture"),
        }

    # --- logout --------------------------------------------------------------------

    def _revocation(
        self, meta: Mapping[str, Any], record: Optional[Mapping[str, Any]], revoke: bool
    ) -> Optional[tuple[str, list[tuple[str, str]]]]:
        """(endpoint, form) to revoke the session's refresh token, or None."""
        endpoint = meta.get("revocation_endpoint")
        if not (revoke and endpoint and record is not None and record.get("refresh_token")):
            return None
        form = _flow.revocation_form(
            token=str(record["refresh_token"]),
            token_type_hint="refresh_token",  # noqa: S106 - a hint name, not a secret
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        return str(endpoint), form

    @staticmethod
    def _revocation_answered(status: Optional[int], error: Optional[Exception] = None) -> None:
        """Revocation is best effort: a failure is logged, the logout goes on."""
        if error is not None:
            logger.warning("kinde token revocation failed: %s", error)
        elif status != 200:
            logger.warning("kinde token revocation answered HTTP %s", status)

    def _finish_logout(self, meta: Mapping[str, Any], record: Optional[Mapping[str, Any]]) -> str:
        """Delete this session's tokens; the end-session URL."""
        self._store.delete(self._tokens_key)
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            raise KindeConfigurationError(
                "the OpenID discovery document lists no end_session_endpoint"
            )
        return _flow.end_session_url(
            endpoint,
            client_id=self.client_id,
            post_logout_redirect_uri=self.logout_redirect_uri,
            id_token_hint=record.get("id_token") if record is not None else None,
        )

    # --- claims --------------------------------------------------------------------

    @staticmethod
    def _claims_of(record: Optional[Mapping[str, Any]], token: str) -> dict[str, Any]:
        if record is None:
            return {}
        claims = record.get(f"{token}_claims")
        return dict(claims) if isinstance(claims, dict) else {}

    @staticmethod
    def _check_token_name(token: str) -> None:
        if token not in ("access_token", "id_token"):
            raise ValueError("token must be 'access_token' or 'id_token'")

    def _claims(self, token: str) -> dict[str, Any]:
        """The verified claims of the stored ``token``: never those of an expired access
        token (the sync shell refreshes it first; the async one, whose helpers cannot
        await, answers as if signed out until ``await get_access_token()`` refreshes)."""
        self._check_token_name(token)
        record = self._load()
        if token == "access_token" and record is not None and self._expired(record, 0.0):
            record = None
        return self._claims_of(record, token)

    def get_claim(self, name: str, token: str = "access_token") -> Any:  # noqa: S107
        """A claim of the verified access token (or ``token="id_token"``), or None."""
        return self._claims(token).get(name)

    def get_permission(self, key: str) -> dict[str, Any]:
        """``{"orgCode": ..., "isGranted": bool}`` for permission ``key``."""
        return _claims.permission(self._claims("access_token"), key)

    def get_permissions(self) -> dict[str, Any]:
        """``{"orgCode": ..., "permissions": [...]}``."""
        return _claims.permissions(self._claims("access_token"))

    def get_roles(self) -> list[dict[str, Any]]:
        """The ``roles`` claim: ``[{"id", "key", "name"}, ...]``."""
        return _claims.roles(self._claims("access_token"))

    def get_organization(self) -> dict[str, Any]:
        """``{"orgCode": ...}``: the organization the user signed in to."""
        return _claims.organization(self._claims("access_token"))

    def get_user_organizations(self) -> dict[str, Any]:
        """``{"orgCodes": [...]}`` from the ID token."""
        return _claims.user_organizations(self._claims("id_token"))

    def get_flag(
        self, code: str, default: Any = None, type: Optional[str] = None
    ) -> dict[str, Any]:
        """``{"code", "type", "value", "is_default"}``; see :func:`_claims.get_flag`.
        A missing flag with no default raises FlagNotFoundError; a type mismatch
        raises FlagTypeError."""
        return _claims.get_flag(self._claims("access_token"), code, default, type)

    def get_boolean_flag(self, code: str, default: Optional[bool] = None) -> bool:
        return bool(self.get_flag(code, default, "b")["value"])

    def get_string_flag(self, code: str, default: Optional[str] = None) -> str:
        return str(self.get_flag(code, default, "s")["value"])

    def get_integer_flag(self, code: str, default: Optional[int] = None) -> int:
        return int(self.get_flag(code, default, "i")["value"])
