"""``OAuth``: the synchronous shell of the authorization-code flow (PKCE, state, nonce).

All protocol logic is in :mod:`kinde_sdk.auth._flow` and every decision about settings,
sessions and token records in :mod:`kinde_sdk.auth._oauth_core` (no I/O in either; the
async shell, :mod:`kinde_sdk.auth.async_oauth`, shares both). This module adds the
blocking I/O: OpenID discovery, the token and revocation endpoints (through the SDK
:class:`~kinde_sdk._transport.Transport`) and verification of the tokens with
:class:`~kinde_sdk.auth.TokenValidator`.

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
  Any other failure (endpoint down, 5xx) leaves the session as it was: a token still
  valid (inside ``refresh_margin``) is returned, an expired one raises. A failure is
  shared, not retried once per caller: the callers that waited for the refresh, and all
  callers during a jittered backoff (1 s doubling to 30 s), get the same outcome.

Abandoned login attempts stay in storage until ``clear_device_data()``; they are
refused once older than ``pending_ttl`` seconds. Single use of a state is enforced with
a process-wide lock around read-then-delete; with a storage shared between processes
(redis) two processes racing with the same state within that window is not excluded.

Machine-to-machine: with ``grant_type="client_credentials"`` (or
``GrantType.CLIENT_CREDENTIALS``) there is no user; ``get_access_token()`` returns the
client's own token through :class:`~kinde_sdk.auth.ClientCredentials` and the user flows
(``login``...) raise KindeConfigurationError.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, cast

from .._integrations import install
from .._transport import Transport, default_transport
from ..core.storage import NamespacedStorage, StorageBackend, StorageConfig
from ..enums import GrantType
from ..errors import KindeConfigurationError, KindeConnectionError, KindeError, TokenError
from . import _claims, _flow
from ._claims import FlagNotFoundError, FlagTypeError
from ._flow import StateError, TokenSet
from ._oauth_core import (
    DEFAULT_REFRESH_MARGIN,
    FORM_HEADERS,
    OAuthCore,
    RecordFlow,
    SessionBinding,
    parse_discovery,
)
from .client_credentials import ClientCredentials
from .token_validator import TokenValidator

if TYPE_CHECKING:
    from ..account.client import AccountClient

__all__ = ["FlagNotFoundError", "FlagTypeError", "OAuth", "SessionBinding", "StateError"]

_T = TypeVar("_T")

_USER_FLOWS = (GrantType.AUTHORIZATION_CODE, GrantType.AUTHORIZATION_CODE_WITH_PKCE)


def normalize_grant_type(value: Union[GrantType, str, None]) -> GrantType:
    """The grant type as a GrantType: authorization code (the default, always with PKCE)
    or client credentials; anything else is a KindeConfigurationError."""
    if value is None:
        return GrantType.AUTHORIZATION_CODE
    try:
        grant = GrantType(value)
    except ValueError:
        raise KindeConfigurationError(
            f"grant_type must be 'authorization_code' or 'client_credentials', not {value!r}"
        ) from None
    if grant is GrantType.REFRESH_TOKEN:
        raise KindeConfigurationError(
            "grant_type=refresh_token is not a flow of its own: refresh is automatic"
        )
    return grant


class OAuth(OAuthCore):
    """A Kinde OAuth client for a server-side web app (authorization code + PKCE).

    Settings come from the arguments, else from the environment: ``KINDE_CLIENT_ID``,
    ``KINDE_CLIENT_SECRET``, ``KINDE_REDIRECT_URI``, ``KINDE_HOST`` (or
    ``KINDE_DOMAIN``), ``KINDE_AUDIENCE``, ``KINDE_LOGOUT_REDIRECT_URI``,
    ``KINDE_SCOPES``; the environment includes a ``.env`` file when python-dotenv is
    installed (read once, never overriding a set variable). A missing required one
    raises KindeConfigurationError naming it (and saying whether ``.env`` was read).

    Storage: with ``storage=`` (a NamespacedStorage or a backend) this client keeps its
    state there and nowhere else. Otherwise the process-wide ``StorageManager`` is
    initialized with ``storage_config`` (as the seed documents) and used.

    ``refresh_margin``: seconds before expiry at which ``get_access_token`` refreshes.
    ``pending_ttl``: seconds a login attempt (its state) stays valid.

    ``grant_type``: ``"authorization_code"`` (default) or ``"client_credentials"`` (a
    :class:`~kinde_sdk.enums.GrantType` or its value) for a service calling its own API:
    then ``get_access_token()`` returns the client's own token (cached, see
    :class:`~kinde_sdk.auth.ClientCredentials`) and the domain and secret are required.

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
        grant_type: Union[GrantType, str, None] = None,
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
        self.grant_type = normalize_grant_type(grant_type)
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            host=host,
            domain=domain,
            audience=audience,
            scopes=scopes,
            logout_redirect_uri=logout_redirect_uri,
            storage_config=storage_config,
            storage=storage,
            refresh_margin=refresh_margin,
            pending_ttl=pending_ttl,
            leeway=leeway,
            clock=clock,
        )
        self._transport = transport or default_transport()
        # Held weakly: a session's lock lives while a refresh uses it, not for the
        # client's life (most sessions end without a logout that would drop it).
        self._refresh_locks: weakref.WeakValueDictionary[str, threading.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._id_validator: Optional[TokenValidator] = None
        self._access_validator: Optional[TokenValidator] = None
        self._client_credentials: Optional[ClientCredentials] = None
        self._account: Optional[AccountClient] = None
        if self.grant_type is GrantType.CLIENT_CREDENTIALS:
            if framework is not None:
                raise KindeConfigurationError(
                    "grant_type=client_credentials has no users to sign in: no framework="
                )
            self.domain  # noqa: B018 - required now, not at the first token request
            if self._client_secret is None:
                raise KindeConfigurationError(
                    "grant_type=client_credentials needs client_secret (or KINDE_CLIENT_SECRET)"
                )
        self.framework: Optional[str] = None
        self.integration: Any = None
        if framework is not None:
            self.framework = framework
            self._sessions_required = True
            self.integration = install(self, framework, app, dict(framework_options or {}))

    def _forget_refresh_lock(self, session_id: str) -> None:
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
                # After a failure, the threads that waited here (and every caller during
                # the backoff) get its error instead of one fetch each.
                self._discovery_gate()
                url = self.discovery_url
                try:
                    response = self._transport.request(
                        "GET", url, headers={"Accept": "application/json"}, kind="discovery"
                    )
                    try:
                        data = response.json()
                    except ValueError:
                        data = None
                    self._metadata_cache = parse_discovery(url, response.status, data)
                except KindeError as exc:
                    self._discovery_done(exc)
                    raise
                self._discovery_done(None)
            return self._metadata_cache

    def get_openid_configuration(self) -> dict[str, Any]:
        """A copy of the discovered OpenID provider metadata."""
        return dict(self._metadata())

    def _validators(self) -> tuple[TokenValidator, TokenValidator]:
        meta = self._metadata()
        with self._lock:
            if self._id_validator is None or self._access_validator is None:
                common = {**self._validator_settings(meta), "transport": self._transport}
                self._id_validator = TokenValidator(self.domain, self.client_id, **common)
                # One JWKS cache for both: a rotated key costs one refetch, not two.
                self._access_validator = self._id_validator.for_audience(self.audience)
            return self._id_validator, self._access_validator

    def _verify(self, flow: RecordFlow) -> dict[str, Any]:
        """Drive a record flow with blocking verifications."""
        id_validator, access_validator = self._validators()
        try:
            kind, token = next(flow)
            while True:
                validator = id_validator if kind == "id_token" else access_validator
                kind, token = flow.send(validator.verify(token))
        except StopIteration as done:
            return cast(dict[str, Any], done.value)

    # --- login ---------------------------------------------------------------------

    def _check_login_settings(self) -> str:
        if self.grant_type not in _USER_FLOWS:
            raise KindeConfigurationError(
                "this client uses grant_type=client_credentials: it has no users to sign in"
            )
        return super()._check_login_settings()

    def _start(self, options: Mapping[str, Any]) -> str:
        self._check_login_settings()  # a missing setting fails before any request
        return self._start_with(self._metadata(), options)

    def login(self, **options: Any) -> str:
        """The authorization URL for a new login attempt. Options are Kinde's
        authorization parameters (``org_code``, ``prompt``, ``lang``, ``login_hint``,
        ``connection_id``, ``audience``, ``scope``, ``invitation_code``, ...) or any
        other parameter to pass through."""
        return self._start(options)

    def register(self, **options: Any) -> str:
        """Like :meth:`login`, opening Kinde's sign-up page (``prompt=create``)."""
        return self._start(self._register_options(options))

    def create_org(self, org_name: Optional[str] = None, **options: Any) -> str:
        """Sign-up that also creates an organization (``is_create_org=true``)."""
        return self._start(self._create_org_options(org_name, options))

    # --- redirect ------------------------------------------------------------------

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
        pending = self._redirect_state(state)
        form = self._redirect_form(
            self._metadata(),
            pending,
            code,
            error=error,
            error_description=error_description,
            iss=iss,
        )
        tokens = self._token_request(form)
        record = self._verify(self._record_flow(tokens, nonce=pending.nonce, previous=None))
        return self._store_login(record)

    def _token_request(self, form: list[tuple[str, str]]) -> TokenSet:
        response = self._transport.request(
            "POST",
            self._metadata()["token_endpoint"],
            fields=form,
            headers=FORM_HEADERS,
            kind="token",
        )
        return self._parse_tokens(response.status, response.data)

    # --- session -------------------------------------------------------------------

    def _refresh_lock(self) -> threading.Lock:
        device = self._store.get_device_id()
        with self._lock:
            lock = self._refresh_locks.get(device)
            if lock is None:
                lock = self._refresh_locks[device] = threading.Lock()
            return lock

    def _current_record(self) -> Optional[dict[str, Any]]:
        """The session's record with a fresh access token (refreshing if due), or None.

        One refresh at a time per session. While the token is still valid (inside the
        refresh margin) the others do not wait for it; after a failure every caller
        shares its outcome until the backoff ends (see ``OAuthCore._refresh_gate``)."""
        record, due = self._refresh_due(self._load())
        if not due or record is None:
            return record
        lock = self._refresh_lock()
        if not lock.acquire(blocking=self._expired(record, 0.0)):
            return record  # still valid; another thread is refreshing it
        try:
            # Another thread may have refreshed while this one waited: one refresh only.
            latest, due = self._still_due(record, self._load())
            if not due or latest is None:
                return latest
            served = self._refresh_gate(latest)
            if served is not None:
                return served
            try:
                refreshed = self._refresh(latest)
            except KindeError as exc:
                served = self._refresh_failed(latest, exc)
                if served is None:
                    raise
                return served
            self._refresh_succeeded()
            return refreshed
        finally:
            lock.release()

    def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        try:
            tokens = self._token_request(self._refresh_form(record))
        except TokenError as exc:
            self._refresh_refused(exc)
            raise
        return self._refreshed(self._verify(self._record_flow(tokens, nonce=None, previous=record)))

    def _m2m(self) -> ClientCredentials:
        client = self._client_credentials
        if client is None:
            token_url = self._metadata()["token_endpoint"]
            with self._lock:
                if self._client_credentials is None:
                    self._client_credentials = ClientCredentials(
                        self.domain,
                        self.client_id,
                        self._client_secret,
                        self.audience,
                        token_url=token_url,
                        transport=self._transport,
                        refresh_margin=self.refresh_margin,
                    )
                client = self._client_credentials
        return client

    def get_access_token(self) -> Optional[str]:
        """A valid access token, refreshed ``refresh_margin`` seconds before expiry (one
        refresh at a time per session; a rotated refresh token replaces the old one).

        None when there is no session. On ``invalid_grant`` the session is cleared and
        TokenError raised. Other failures keep the session: a token that is still valid
        (inside the margin) is returned, an expired one raises; the session then waits
        1-30 s (growing, jittered) before its next refresh attempt, and callers meanwhile
        get the same answer without a request of their own.

        With ``grant_type="client_credentials"``: the client's own token (never None;
        TokenError when the token endpoint refuses the credentials)."""
        if self.grant_type is GrantType.CLIENT_CREDENTIALS:
            return self._m2m().get_access_token()
        record = self._current_record()
        return None if record is None else str(record["access_token"])

    def refresh_tokens(self) -> dict[str, Any]:
        """Refresh now, whatever the expiry; returns :meth:`get_tokens`."""
        record = self._record_for_forced_refresh()
        with self._refresh_lock():
            self._refresh(self._load() or record)
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
        revocation = self._revocation(meta, record, revoke)
        if revocation is not None:
            endpoint, form = revocation
            try:
                response = self._transport.request(
                    "POST", endpoint, fields=form, headers=FORM_HEADERS, kind="token"
                )
            except KindeConnectionError as exc:
                self._revocation_answered(None, exc)
            else:
                self._revocation_answered(response.status)
        return self._finish_logout(meta, record)

    # --- claims --------------------------------------------------------------------

    def _claims(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token``; the access token is refreshed first when
        due (so this may raise what :meth:`get_access_token` raises)."""
        self._check_token_name(token)
        if token == "access_token":
            return self._claims_of(self._current_record(), token)
        return self._claims_of(self._load(), token)

    # --- the Account API ---------------------------------------------------------------

    @property
    def account(self) -> AccountClient:
        """The Account API as the signed-in user of the current session (in a web
        framework, the current request's user): an
        :class:`~kinde_sdk.account.AccountClient` over this client's transport, which
        asks this client for the access token (refreshed when due) at every call."""
        client = self._account
        if client is None:
            from ..account.client import AccountClient

            with self._lock:
                if self._account is None:
                    self._account = AccountClient(oauth=self)
                client = self._account
        return client

    # The claims helpers with ``force_api=True`` ask the Account API instead of reading
    # the token, and answer in the same shape, so a check can move between the two.

    def get_permission(self, key: str, *, force_api: bool = False) -> dict[str, Any]:
        """``{"orgCode": ..., "isGranted": bool}`` for permission ``key``; with
        ``force_api`` from the Account API (the permissions as they are now)."""
        if force_api:
            from ..account._core import permission_claim

            return permission_claim(self.account.get_permissions(), key)
        return super().get_permission(key)

    def get_permissions(self, *, force_api: bool = False) -> dict[str, Any]:
        """``{"orgCode": ..., "permissions": [...]}``; with ``force_api`` from the API."""
        if force_api:
            from ..account._core import permissions_claim

            return permissions_claim(self.account.get_permissions())
        return super().get_permissions()

    def get_roles(self, *, force_api: bool = False) -> list[dict[str, Any]]:
        """``[{"id", "key", "name"}, ...]``; with ``force_api`` from the API."""
        if force_api:
            from ..account._core import roles_claim

            return roles_claim(self.account.get_roles())
        return super().get_roles()

    def get_flag(
        self,
        code: str,
        default: Any = None,
        type: Optional[str] = None,
        *,
        force_api: bool = False,
    ) -> dict[str, Any]:
        """``{"code", "type", "value", "is_default"}``; with ``force_api`` the flag's
        current value from the Account API (same defaults and type checks)."""
        if force_api:
            from ..account._core import flag_claims

            claims = flag_claims(self.account.get_feature_flags())
            return _claims.get_flag(claims, code, default, type)
        return super().get_flag(code, default, type)

    def get_boolean_flag(
        self, code: str, default: Optional[bool] = None, *, force_api: bool = False
    ) -> bool:
        return bool(self.get_flag(code, default, "b", force_api=force_api)["value"])

    def get_string_flag(
        self, code: str, default: Optional[str] = None, *, force_api: bool = False
    ) -> str:
        return str(self.get_flag(code, default, "s", force_api=force_api)["value"])

    def get_integer_flag(
        self, code: str, default: Optional[int] = None, *, force_api: bool = False
    ) -> int:
        return int(self.get_flag(code, default, "i", force_api=force_api)["value"])
