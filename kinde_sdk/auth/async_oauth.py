"""``AsyncOAuth``: the asyncio shell of the authorization-code flow.

The twin of :class:`~kinde_sdk.auth.OAuth`, with the same settings, storage, sessions,
errors and behaviour. Every decision is the shared core's
(:class:`~kinde_sdk.auth._oauth_core.OAuthCore` and :mod:`kinde_sdk.auth._flow`); this
module only awaits the I/O: discovery, the token and revocation requests over
:class:`~kinde_sdk._async_transport.AsyncTransport` and the verifications with
:class:`~kinde_sdk.auth.AsyncTokenValidator`.

Awaitable: ``login``, ``register``, ``create_org``, ``handle_redirect``,
``get_access_token``, ``refresh_tokens``, ``logout``, ``get_openid_configuration``.
Plain methods (no network): ``is_authenticated``, ``get_user_info``, ``get_tokens`` and
the claims helpers, which read the verified claims cached in the session's token
record. They never refresh: an access token past its expiry gives no claims (as if
signed out) until ``await get_access_token()`` refreshes it, so await that once per
request before reading claims. With ``force_api=True`` a claims helper asks the Account
API instead and returns an awaitable of the same shape
(``await oauth.get_permission("x", force_api=True)``).

Refresh is single-flight per session: coroutines that find the token due while another
refreshes it wait for that refresh (an ``asyncio.Lock`` per session) and use its result.

Storage calls are synchronous, as in ``OAuth``: memory and file storage are local and
fast; with Redis storage each call is one short blocking round trip on the event loop.

Needs no extra dependency. A client belongs to the event loop that first uses it (its
session locks are asyncio objects); close it with :meth:`AsyncOAuth.aclose` (or
``async with``). Framework integrations (``framework=``) are ``OAuth``'s.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union, cast, overload

from ..core.storage import NamespacedStorage, StorageBackend, StorageConfig
from ..errors import KindeConnectionError, KindeError, TokenError
from . import _claims, _flow
from ._flow import TokenSet
from ._oauth_core import (
    DEFAULT_REFRESH_MARGIN,
    FORM_HEADERS,
    OAuthCore,
    RecordFlow,
    parse_discovery,
)
from .async_token_validator import AsyncTokenValidator

if TYPE_CHECKING:
    from .._async_transport import AsyncTransport
    from ..account.async_client import AsyncAccountClient

__all__ = ["AsyncOAuth"]


class AsyncOAuth(OAuthCore):
    """A Kinde OAuth client for async web apps (authorization code + PKCE).

    The arguments are :class:`~kinde_sdk.auth.OAuth`'s (same env fallbacks and checks),
    except ``transport``, an :class:`~kinde_sdk._async_transport.AsyncTransport`
    (without one the client makes its own, closed by :meth:`aclose`), and no
    ``framework``/``grant_type`` (for machine-to-machine tokens see
    :class:`~kinde_sdk.auth.ClientCredentials`).
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
        transport: Optional[AsyncTransport] = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        pending_ttl: float = _flow.DEFAULT_PENDING_TTL,
        leeway: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
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
        from .._async_transport import AsyncTransport

        self._owns_transport = transport is None
        self._transport = transport if transport is not None else AsyncTransport()
        # asyncio primitives are made inside coroutines: before Python 3.10 they bind
        # to the event loop current at construction.
        self._metadata_lock: Optional[asyncio.Lock] = None
        # Held weakly: a session's lock lives while a refresh uses it (see OAuth).
        self._refresh_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._id_validator: Optional[AsyncTokenValidator] = None
        self._access_validator: Optional[AsyncTokenValidator] = None
        self._account: Optional[AsyncAccountClient] = None

    async def aclose(self) -> None:
        """Close the transport the client made for itself (not one it was given)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncOAuth:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _forget_refresh_lock(self, session_id: str) -> None:
        with self._lock:
            self._refresh_locks.pop(session_id, None)

    # --- discovery and validators -------------------------------------------------

    async def _metadata(self) -> dict[str, Any]:
        """The OpenID provider metadata, fetched once (single-flight) and cached."""
        cached = self._metadata_cache
        if cached is not None:
            return cached
        if self._metadata_lock is None:
            self._metadata_lock = asyncio.Lock()
        async with self._metadata_lock:
            if self._metadata_cache is None:
                # After a failure, the coroutines that waited here (and every caller
                # during the backoff) get its error instead of one fetch each.
                self._discovery_gate()
                url = self.discovery_url
                try:
                    response = await self._transport.request(
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

    async def get_openid_configuration(self) -> dict[str, Any]:
        """A copy of the discovered OpenID provider metadata."""
        return dict(await self._metadata())

    async def _validators(self) -> tuple[AsyncTokenValidator, AsyncTokenValidator]:
        meta = await self._metadata()
        if self._id_validator is None or self._access_validator is None:
            common = {**self._validator_settings(meta), "transport": self._transport}
            self._id_validator = AsyncTokenValidator(self.domain, self.client_id, **common)
            # One JWKS cache for both: a rotated key costs one refetch, not two.
            self._access_validator = self._id_validator.for_audience(self.audience)
        return self._id_validator, self._access_validator

    async def _verify(self, flow: RecordFlow) -> dict[str, Any]:
        """Drive a record flow with awaited verifications."""
        id_validator, access_validator = await self._validators()
        try:
            kind, token = next(flow)
            while True:
                validator = id_validator if kind == "id_token" else access_validator
                kind, token = flow.send(await validator.verify(token))
        except StopIteration as done:
            return cast(dict[str, Any], done.value)

    # --- login ---------------------------------------------------------------------

    async def _start(self, options: Mapping[str, Any]) -> str:
        self._check_login_settings()  # a missing setting fails before any request
        return self._start_with(await self._metadata(), options)

    async def login(self, **options: Any) -> str:
        """The authorization URL for a new login attempt; see :meth:`OAuth.login`."""
        return await self._start(options)

    async def register(self, **options: Any) -> str:
        """Like :meth:`login`, opening Kinde's sign-up page (``prompt=create``)."""
        return await self._start(self._register_options(options))

    async def create_org(self, org_name: Optional[str] = None, **options: Any) -> str:
        """Sign-up that also creates an organization (``is_create_org=true``)."""
        return await self._start(self._create_org_options(org_name, options))

    # --- redirect ------------------------------------------------------------------

    async def handle_redirect(
        self,
        code: Optional[str],
        state: Optional[str],
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        iss: Optional[str] = None,
    ) -> dict[str, Any]:
        """Complete a login from the redirect's query; see :meth:`OAuth.handle_redirect`
        (same checks, errors and result)."""
        pending = self._redirect_state(state)
        form = self._redirect_form(
            await self._metadata(),
            pending,
            code,
            error=error,
            error_description=error_description,
            iss=iss,
        )
        tokens = await self._token_request(form)
        record = await self._verify(self._record_flow(tokens, nonce=pending.nonce, previous=None))
        return self._store_login(record)

    async def _token_request(self, form: list[tuple[str, str]]) -> TokenSet:
        meta = await self._metadata()
        response = await self._transport.request(
            "POST", meta["token_endpoint"], fields=form, headers=FORM_HEADERS, kind="token"
        )
        return self._parse_tokens(response.status, response.data)

    # --- session -------------------------------------------------------------------

    def _refresh_lock(self) -> asyncio.Lock:
        device = self._store.get_device_id()
        with self._lock:
            lock = self._refresh_locks.get(device)
            if lock is None:
                lock = self._refresh_locks[device] = asyncio.Lock()
            return lock

    async def _current_record(self) -> Optional[dict[str, Any]]:
        """The session's record with a fresh access token (refreshing if due), or None."""
        record, due = self._refresh_due(self._load())
        if not due or record is None:
            return record
        lock = self._refresh_lock()
        if lock.locked() and not self._expired(record, 0.0):
            return record  # still valid; another coroutine is refreshing it
        async with lock:
            # Another coroutine may have refreshed while this one waited: one refresh.
            latest, due = self._still_due(record, self._load())
            if not due or latest is None:
                return latest
            served = self._refresh_gate(latest)
            if served is not None:
                return served
            try:
                refreshed = await self._refresh(latest)
            except KindeError as exc:
                served = self._refresh_failed(latest, exc)
                if served is None:
                    raise
                return served
            self._refresh_succeeded()
            return refreshed

    async def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        try:
            tokens = await self._token_request(self._refresh_form(record))
        except TokenError as exc:
            self._refresh_refused(exc)
            raise
        flow = self._record_flow(tokens, nonce=None, previous=record)
        return self._refreshed(await self._verify(flow))

    async def get_access_token(self) -> Optional[str]:
        """A valid access token, refreshed ``refresh_margin`` seconds before expiry (one
        refresh at a time per session; a rotated refresh token replaces the old one).

        None when there is no session. On ``invalid_grant`` the session is cleared and
        TokenError raised. Other failures keep the session: a token that is still valid
        (inside the margin) is returned, an expired one raises; the session then waits
        1-30 s (growing, jittered) before its next refresh attempt, and callers meanwhile
        get the same answer without a request of their own."""
        record = await self._current_record()
        return None if record is None else str(record["access_token"])

    async def refresh_tokens(self) -> dict[str, Any]:
        """Refresh now, whatever the expiry; returns :meth:`get_tokens`."""
        record = self._record_for_forced_refresh()
        async with self._refresh_lock():
            await self._refresh(self._load() or record)
        tokens = self.get_tokens()
        assert tokens is not None
        return tokens

    # --- logout --------------------------------------------------------------------

    async def logout(self, *, revoke: bool = True) -> str:
        """End this session; see :meth:`OAuth.logout` (revokes the refresh token, deletes
        this session's tokens only, returns the end-session URL)."""
        meta = await self._metadata()
        record = self._load()
        revocation = self._revocation(meta, record, revoke)
        if revocation is not None:
            endpoint, form = revocation
            try:
                response = await self._transport.request(
                    "POST", endpoint, fields=form, headers=FORM_HEADERS, kind="token"
                )
            except KindeConnectionError as exc:
                self._revocation_answered(None, exc)
            else:
                self._revocation_answered(response.status)
        return self._finish_logout(meta, record)

    # --- the Account API ---------------------------------------------------------------

    @property
    def account(self) -> AsyncAccountClient:
        """The Account API as the signed-in user of the current session: an
        :class:`~kinde_sdk.account.AsyncAccountClient` over this client's transport,
        which awaits this client's access token (refreshed when due) at every call."""
        if self._account is None:
            from ..account.async_client import AsyncAccountClient

            self._account = AsyncAccountClient(oauth=self)
        return self._account

    # The claims helpers read the token without I/O; ``force_api=True`` asks the Account
    # API instead and so returns an awaitable of the same shape.

    async def _api_permission(self, key: str) -> dict[str, Any]:
        from ..account._core import permission_claim

        return permission_claim(await self.account.get_permissions(), key)

    async def _api_permissions(self) -> dict[str, Any]:
        from ..account._core import permissions_claim

        return permissions_claim(await self.account.get_permissions())

    async def _api_roles(self) -> list[dict[str, Any]]:
        from ..account._core import roles_claim

        return roles_claim(await self.account.get_roles())

    async def _api_flag(self, code: str, default: Any, type: Optional[str]) -> dict[str, Any]:
        from ..account._core import flag_claims

        claims = flag_claims(await self.account.get_feature_flags())
        return _claims.get_flag(claims, code, default, type)

    async def _api_flag_value(
        self, code: str, default: Any, type: str, convert: Callable[[Any], Any]
    ) -> Any:
        return convert((await self._api_flag(code, default, type))["value"])

    @overload
    def get_permission(self, key: str, *, force_api: Literal[False] = False) -> dict[str, Any]: ...
    @overload
    def get_permission(
        self, key: str, *, force_api: Literal[True]
    ) -> Awaitable[dict[str, Any]]: ...
    @overload
    def get_permission(
        self, key: str, *, force_api: bool
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]: ...
    def get_permission(
        self, key: str, *, force_api: bool = False
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]:
        """``{"orgCode", "isGranted"}`` from the token, or (``force_api``) an awaitable
        of it from the Account API."""
        if force_api:
            return self._api_permission(key)
        return super().get_permission(key)

    @overload
    def get_permissions(self, *, force_api: Literal[False] = False) -> dict[str, Any]: ...
    @overload
    def get_permissions(self, *, force_api: Literal[True]) -> Awaitable[dict[str, Any]]: ...
    @overload
    def get_permissions(
        self, *, force_api: bool
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]: ...
    def get_permissions(
        self, *, force_api: bool = False
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]:
        if force_api:
            return self._api_permissions()
        return super().get_permissions()

    @overload
    def get_roles(self, *, force_api: Literal[False] = False) -> list[dict[str, Any]]: ...
    @overload
    def get_roles(self, *, force_api: Literal[True]) -> Awaitable[list[dict[str, Any]]]: ...
    @overload
    def get_roles(
        self, *, force_api: bool
    ) -> Union[list[dict[str, Any]], Awaitable[list[dict[str, Any]]]]: ...
    def get_roles(
        self, *, force_api: bool = False
    ) -> Union[list[dict[str, Any]], Awaitable[list[dict[str, Any]]]]:
        if force_api:
            return self._api_roles()
        return super().get_roles()

    @overload
    def get_flag(
        self,
        code: str,
        default: Any = None,
        type: Optional[str] = None,
        *,
        force_api: Literal[False] = False,
    ) -> dict[str, Any]: ...
    @overload
    def get_flag(
        self,
        code: str,
        default: Any = None,
        type: Optional[str] = None,
        *,
        force_api: Literal[True],
    ) -> Awaitable[dict[str, Any]]: ...
    @overload
    def get_flag(
        self, code: str, default: Any = None, type: Optional[str] = None, *, force_api: bool
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]: ...
    def get_flag(
        self,
        code: str,
        default: Any = None,
        type: Optional[str] = None,
        *,
        force_api: bool = False,
    ) -> Union[dict[str, Any], Awaitable[dict[str, Any]]]:
        if force_api:
            return self._api_flag(code, default, type)
        return super().get_flag(code, default, type)

    @overload
    def get_boolean_flag(
        self, code: str, default: Optional[bool] = None, *, force_api: Literal[False] = False
    ) -> bool: ...
    @overload
    def get_boolean_flag(
        self, code: str, default: Optional[bool] = None, *, force_api: Literal[True]
    ) -> Awaitable[bool]: ...
    @overload
    def get_boolean_flag(
        self, code: str, default: Optional[bool] = None, *, force_api: bool
    ) -> Union[bool, Awaitable[bool]]: ...
    def get_boolean_flag(
        self, code: str, default: Optional[bool] = None, *, force_api: bool = False
    ) -> Union[bool, Awaitable[bool]]:
        if force_api:
            return self._api_flag_value(code, default, "b", bool)
        return super().get_boolean_flag(code, default)

    @overload
    def get_string_flag(
        self, code: str, default: Optional[str] = None, *, force_api: Literal[False] = False
    ) -> str: ...
    @overload
    def get_string_flag(
        self, code: str, default: Optional[str] = None, *, force_api: Literal[True]
    ) -> Awaitable[str]: ...
    @overload
    def get_string_flag(
        self, code: str, default: Optional[str] = None, *, force_api: bool
    ) -> Union[str, Awaitable[str]]: ...
    def get_string_flag(
        self, code: str, default: Optional[str] = None, *, force_api: bool = False
    ) -> Union[str, Awaitable[str]]:
        if force_api:
            return self._api_flag_value(code, default, "s", str)
        return super().get_string_flag(code, default)

    @overload
    def get_integer_flag(
        self, code: str, default: Optional[int] = None, *, force_api: Literal[False] = False
    ) -> int: ...
    @overload
    def get_integer_flag(
        self, code: str, default: Optional[int] = None, *, force_api: Literal[True]
    ) -> Awaitable[int]: ...
    @overload
    def get_integer_flag(
        self, code: str, default: Optional[int] = None, *, force_api: bool
    ) -> Union[int, Awaitable[int]]: ...
    def get_integer_flag(
        self, code: str, default: Optional[int] = None, *, force_api: bool = False
    ) -> Union[int, Awaitable[int]]:
        if force_api:
            return self._api_flag_value(code, default, "i", int)
        return super().get_integer_flag(code, default)
