"""``OAuth``: the synchronous shell of the authorization-code flow (PKCE, state, nonce).

All protocol logic is in :mod:`kinde_sdk.auth._flow` (no I/O); this module adds the
I/O: OpenID discovery, the token and revocation endpoints (through the SDK
:class:`~kinde_sdk._transport.Transport`), verification of the tokens with
:class:`~kinde_sdk.auth.TokenValidator` and the storage of one session.

Session state lives in a storage object (the seed's process-wide ``StorageManager`` by
default, or an explicit ``storage=``): the pending login attempts (one key per
``state``) and one token record. The client secret is never stored, logged or shown.

Errors, in short:

* ``handle_redirect``: :class:`~kinde_sdk.auth._flow.StateError` (a TokenError) for a
  missing, unknown, reused or expired state; :class:`~kinde_sdk.errors.TokenError` when
  the token endpoint refuses the code; an ``InvalidTokenError`` when a token fails
  verification (including the nonce). Nothing is stored in any of these cases.
* ``get_access_token``: returns ``None`` when there is no session. When a refresh is
  refused with ``invalid_grant`` (refresh token revoked or expired) this session's tokens
  are deleted, so ``is_authenticated()`` becomes False, and the TokenError is raised.
  Any other failure (endpoint down, 5xx) raises and leaves the session as it was.

Abandoned login attempts stay in storage until ``clear_device_data()``; they are
refused once older than ``pending_ttl`` seconds. Single use of a state is enforced with
a process-wide lock around read-then-delete; with a storage shared between processes
(redis) two processes racing with the same state within that window is not excluded.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable, Optional, Protocol, Union
from urllib.parse import urlsplit

from .._config import from_env, is_loopback_host, normalize_domain, require
from .._transport import Response, Transport, default_transport
from ..core.storage import NamespacedStorage, StorageBackend, StorageConfig, StorageManager
from ..errors import (
    InvalidTokenError,
    KindeConfigurationError,
    KindeConnectionError,
    TokenError,
)
from . import _claims, _flow
from ._claims import FlagNotFoundError, FlagTypeError
from ._flow import StateError, TokenSet
from .token_validator import TokenValidator

__all__ = ["FlagNotFoundError", "FlagTypeError", "OAuth", "StateError"]

logger = logging.getLogger("kinde_sdk")

DEFAULT_REFRESH_MARGIN = 60.0
DISCOVERY_PATH = "/.well-known/openid-configuration"
_TOKENS_KEY_PREFIX = "kinde_oauth_tokens:"
_REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
_URL_METADATA = (
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)
_FORM_HEADERS = {"Accept": "application/json"}


class _Store(Protocol):
    def get(self, key: str) -> Any: ...
    def set(self, key: str, value: Any) -> None: ...
    def delete(self, key: str) -> None: ...
    def get_device_id(self) -> str: ...


def _check_endpoint(url: Any, name: str) -> str:
    """Discovered endpoints must be https (plain http only on loopback test servers)."""
    if not isinstance(url, str) or not url:
        raise KindeConnectionError(f"OpenID discovery document has no valid {name}")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise KindeConnectionError(f"OpenID discovery lists a {name} that is not an https URL")


def _is_jwt(token: str) -> bool:
    return token.count(".") == 2


class SessionBinding(NamespacedStorage):
    """One browser session's storage: the client's backend, namespaced by the session
    id (the device id). ``written`` tells a framework adapter that the session now holds
    state (a pending login or tokens), so its cookie must reach the browser."""

    written: bool = False

    def set(self, key: str, value: Any) -> None:
        super().set(key, value)
        self.written = True


_UNBOUND = object()


class OAuth:
    """A Kinde OAuth client for a server-side web app (authorization code + PKCE).

    Settings come from the arguments, else from the environment: ``KINDE_CLIENT_ID``,
    ``KINDE_CLIENT_SECRET``, ``KINDE_REDIRECT_URI``, ``KINDE_HOST`` (or
    ``KINDE_DOMAIN``), ``KINDE_AUDIENCE``, ``KINDE_LOGOUT_REDIRECT_URI``,
    ``KINDE_SCOPES``. A missing required one raises KindeConfigurationError naming it.

    Storage: with ``storage=`` (a NamespacedStorage or a backend) this client keeps its
    state there and nowhere else. Otherwise the process-wide ``StorageManager`` is
    initialized with ``storage_config`` (as the seed documents) and used.

    ``refresh_margin``: seconds before expiry at which ``get_access_token`` refreshes.
    ``pending_ttl``: seconds a login attempt (its state) stays valid.

    ``framework`` (``"fastapi"``, ``"flask"``, ``"django"``) with ``app`` and
    ``framework_options`` installs that web framework's adapter (see
    :mod:`kinde_sdk.frameworks`; the object is in ``self.integration``). Each request is
    then bound to its browser session (:meth:`bind_session`), whose state lives in this
    client's storage backend under the session id; outside a bound request the session
    helpers raise rather than read one session shared by every user.
    """

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
        framework: Optional[str] = None,
        app: Any = None,
        framework_options: Optional[Mapping[str, Any]] = None,
        transport: Optional[Transport] = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        pending_ttl: float = _flow.DEFAULT_PENDING_TTL,
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if framework is None and (app is not None or framework_options):
            raise KindeConfigurationError(
                "app= and framework_options= need framework= (fastapi, flask or django)"
            )
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
        for name, value in (("refresh_margin", refresh_margin), ("pending_ttl", pending_ttl)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise KindeConfigurationError(f"{name} must be a number of seconds >= 0")
        self.refresh_margin = float(refresh_margin)
        self.pending_ttl = float(pending_ttl)
        self.leeway = leeway
        self._clock = clock
        self._transport = transport or default_transport()
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
        self._tokens_key = _TOKENS_KEY_PREFIX + self.client_id
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._refresh_locks: dict[str, threading.Lock] = {}
        self._metadata_cache: Optional[dict[str, Any]] = None
        self._id_validator: Optional[TokenValidator] = None
        self._access_validator: Optional[TokenValidator] = None
        # Per-request session binding (see bind_session); one variable per client.
        self._session: contextvars.ContextVar[Any] = contextvars.ContextVar(
            f"kinde_oauth_session_{id(self)}", default=_UNBOUND
        )
        self._sessions_required = False
        self.framework: Optional[str] = None
        self.integration: Any = None
        if framework is not None:
            from ..frameworks import install

            self.framework = framework
            self._sessions_required = True
            self.integration = install(self, framework, app, dict(framework_options or {}))

    def __repr__(self) -> str:
        return f"OAuth(client_id={self.client_id!r}, domain={self._domain!r})"

    @property
    def domain(self) -> str:
        """The provider's origin; KindeConfigurationError when none was configured."""
        return require(self._domain, "host", ["KINDE_HOST", "KINDE_DOMAIN"])

    @property
    def redirect_uri(self) -> str:
        """The callback URL; KindeConfigurationError when none was configured."""
        return require(self._redirect_uri, "redirect_uri", ["KINDE_REDIRECT_URI"])

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
        return SessionBinding(self._backend(), device_id=session_id)

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
        this per request; contextvars keep concurrent requests apart."""
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
        """Move this client's tokens from one session id to another and clear the old
        session (adapters rotate the session id at login against session fixation)."""
        old = self.session_storage(old_session_id)
        record = old.get(self._tokens_key)
        old.clear_device_data()
        if record is not None:
            self.session_storage(new_session_id).set(self._tokens_key, record)

    def clear_session(self, session_id: str) -> None:
        """Delete everything stored for browser session ``session_id``."""
        self.session_storage(session_id).clear_device_data()
        with self._lock:
            self._refresh_locks.pop(session_id, None)

    # --- discovery and validators -------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        """The OpenID provider metadata, fetched once and cached."""
        cached = self._metadata_cache
        if cached is not None:
            return cached
        with self._lock:
            if self._metadata_cache is None:
                self._metadata_cache = self._fetch_metadata()
            return self._metadata_cache

    def _fetch_metadata(self) -> dict[str, Any]:
        url = self.domain + DISCOVERY_PATH
        response = self._transport.request("GET", url, headers={"Accept": "application/json"})
        if response.status != 200:
            raise KindeConnectionError(
                f"OpenID discovery at {url} answered HTTP {response.status}", url=url
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise KindeConnectionError(f"OpenID discovery at {url} did not return JSON", url=url)
        for name in _REQUIRED_METADATA:
            if not isinstance(data.get(name), str) or not data[name]:
                raise KindeConnectionError(f"OpenID discovery at {url} has no {name}", url=url)
        for name in _URL_METADATA:
            if name in _REQUIRED_METADATA or data.get(name):
                data[name] = _check_endpoint(data.get(name), name)
        return data

    def get_openid_configuration(self) -> dict[str, Any]:
        """A copy of the discovered OpenID provider metadata."""
        return dict(self._metadata())

    def _validators(self) -> tuple[TokenValidator, TokenValidator]:
        meta = self._metadata()
        with self._lock:
            if self._id_validator is None or self._access_validator is None:
                common: dict[str, Any] = {
                    "issuer": meta["issuer"],
                    "jwks_url": meta["jwks_uri"],
                    "transport": self._transport,
                    "leeway": self.leeway,
                    "clock": self._clock,
                }
                self._id_validator = TokenValidator(self.domain, self.client_id, **common)
                self._access_validator = TokenValidator(self.domain, self.audience, **common)
            return self._id_validator, self._access_validator

    # --- login ---------------------------------------------------------------------

    def _start(self, options: Mapping[str, Any]) -> str:
        redirect_uri = self.redirect_uri  # a missing setting fails before any request
        meta = self._metadata()
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

    def login(self, **options: Any) -> str:
        """The authorization URL for a new login attempt. Options are Kinde's
        authorization parameters (``org_code``, ``prompt``, ``lang``, ``login_hint``,
        ``connection_id``, ``audience``, ``scope``, ``invitation_code``, ...) or any
        other parameter to pass through."""
        return self._start(options)

    def register(self, **options: Any) -> str:
        """Like :meth:`login`, opening Kinde's sign-up page (``prompt=create``)."""
        return self._start({"prompt": "create", **options})

    def create_org(self, org_name: Optional[str] = None, **options: Any) -> str:
        """Sign-up that also creates an organization (``is_create_org=true``)."""
        return self._start(
            {"prompt": "create", "is_create_org": True, "org_name": org_name, **options}
        )

    # --- redirect ------------------------------------------------------------------

    def _take_pending(self, state: str) -> _flow.PendingLogin:
        """Read and delete the attempt that issued ``state`` (single use)."""
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

    def handle_redirect(
        self,
        code: Optional[str],
        state: Optional[str],
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        iss: Optional[str] = None,
    ) -> dict[str, Any]:
        """Complete a login from the redirect's query: check ``state``, exchange
        ``code`` with the attempt's PKCE verifier, verify the tokens (ID token audience,
        issuer, signature and nonce; the access token when it is a JWT), store them.
        Returns :meth:`get_user_info`. ``error`` is the redirect's OAuth error, if any;
        ``iss``, when the redirect carries one (RFC 9207), must be the discovered issuer."""
        if not state:
            raise StateError("the redirect has no state parameter", error="invalid_state")
        pending = self._take_pending(state)
        if iss is not None and iss != self._metadata()["issuer"]:
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
        form = _flow.authorization_code_form(
            code=code,
            pending=pending,
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        tokens = self._token_request(form)
        record = self._verified_record(tokens, nonce=pending.nonce, previous=None)
        self._store.set(self._tokens_key, record)
        info = self.get_user_info()
        assert info is not None
        return info

    def _token_request(self, form: list[tuple[str, str]]) -> TokenSet:
        meta = self._metadata()
        response: Response = self._transport.request(
            "POST", meta["token_endpoint"], fields=form, headers=_FORM_HEADERS
        )
        return _flow.parse_token_response(response.status, response.data, now=self._clock())

    def _verified_record(
        self, tokens: TokenSet, *, nonce: Optional[str], previous: Optional[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Verify a token response and build the record to store."""
        id_validator, access_validator = self._validators()
        id_claims: dict[str, Any] = {}
        if tokens.id_token is not None:
            id_claims = id_validator.verify(tokens.id_token)
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
            access_claims = access_validator.verify(tokens.access_token)
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

    # --- session -------------------------------------------------------------------

    def _load(self) -> Optional[dict[str, Any]]:
        record = self._store.get(self._tokens_key)
        if not isinstance(record, dict) or not isinstance(record.get("access_token"), str):
            return None
        return record

    def _expired(self, record: Mapping[str, Any], margin: float) -> bool:
        expires_at = record.get("expires_at")
        if not isinstance(expires_at, (int, float)):
            return False
        return self._clock() >= float(expires_at) - margin

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
        keys = ("access_token", "id_token", "refresh_token", "expires_at", "token_type", "scope")
        return {k: record.get(k) for k in keys}

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

    def _refresh_lock(self) -> threading.Lock:
        device = self._store.get_device_id()
        with self._lock:
            lock = self._refresh_locks.get(device)
            if lock is None:
                lock = self._refresh_locks[device] = threading.Lock()
            return lock

    def _current_record(self) -> Optional[dict[str, Any]]:
        """The session's record with a fresh access token (refreshing if due), or None."""
        record = self._load()
        if record is None:
            return None
        if not self._expired(record, self.refresh_margin):
            return record
        if not record.get("refresh_token"):
            return None if self._expired(record, 0.0) else record
        with self._refresh_lock():
            # Another thread may have refreshed while this one waited: one refresh only.
            latest = self._load()
            if latest is None:
                return None
            if latest["access_token"] != record["access_token"] or not self._expired(
                latest, self.refresh_margin
            ):
                return latest
            return self._refresh(latest)

    def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        form = _flow.refresh_token_form(
            refresh_token=str(record["refresh_token"]),
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        try:
            tokens = self._token_request(form)
        except TokenError as exc:
            if exc.error == "invalid_grant":
                logger.info("kinde refresh token refused (invalid_grant): session ended")
                self._store.delete(self._tokens_key)
            raise
        new_record = self._verified_record(tokens, nonce=None, previous=record)
        self._store.set(self._tokens_key, new_record)
        return new_record

    def get_access_token(self) -> Optional[str]:
        """A valid access token, refreshed ``refresh_margin`` seconds before expiry (one
        refresh at a time per session; a rotated refresh token replaces the old one).

        None when there is no session. On ``invalid_grant`` the session is cleared and
        TokenError raised; other failures raise and keep the session."""
        record = self._current_record()
        return None if record is None else str(record["access_token"])

    def refresh_tokens(self) -> dict[str, Any]:
        """Refresh now, whatever the expiry; returns :meth:`get_tokens`."""
        record = self._load()
        if record is None or not record.get("refresh_token"):
            raise TokenError("there is no refresh token in this session", error="invalid_grant")
        with self._refresh_lock():
            latest = self._load() or record
            self._refresh(latest)
        tokens = self.get_tokens()
        assert tokens is not None
        return tokens

    # --- logout --------------------------------------------------------------------

    def logout(self, *, revoke: bool = True) -> str:
        """End this session: revoke its refresh token (when discovery lists a
        revocation endpoint and ``revoke``), delete its tokens, and return the
        end-session URL to send the browser to. Other sessions are untouched."""
        meta = self._metadata()
        record = self._load()
        if revoke and record is not None and record.get("refresh_token"):
            self._revoke(meta, str(record["refresh_token"]))
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

    def _revoke(self, meta: Mapping[str, Any], refresh_token: str) -> None:
        endpoint = meta.get("revocation_endpoint")
        if not endpoint:
            return
        form = _flow.revocation_form(
            token=refresh_token,
            token_type_hint="refresh_token",  # noqa: S106 - a hint name, not a secret
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        try:
            response = self._transport.request("POST", endpoint, fields=form, headers=_FORM_HEADERS)
        except KindeConnectionError as exc:
            logger.warning("kinde token revocation failed: %s", exc)
            return
        if response.status != 200:
            logger.warning("kinde token revocation answered HTTP %s", response.status)

    # --- claims --------------------------------------------------------------------

    def _claims(self, token: str) -> dict[str, Any]:
        if token == "access_token":
            record = self._current_record()
            key = "access_token_claims"
        elif token == "id_token":
            record = self._load()
            key = "id_token_claims"
        else:
            raise ValueError("token must be 'access_token' or 'id_token'")
        if record is None:
            return {}
        claims = record.get(key)
        return dict(claims) if isinstance(claims, dict) else {}

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
