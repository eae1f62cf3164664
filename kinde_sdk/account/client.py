"""``AccountClient``: the Kinde Account API for the signed-in user (blocking).

Every request and answer is :mod:`._core`'s; this module only sends, over the SDK's
:class:`~kinde_sdk._transport.Transport`, with the user's access token as the bearer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from .._config import from_env, normalize_domain, require
from .._transport import Response, TimeoutArg, Transport, default_transport
from ..enums import GrantType
from ..errors import KindeConfigurationError, TokenError
from . import _models as m
from ._core import (
    TOKEN,
    AccountCore,
    Call,
    Effect,
    Flow,
    Refresh,
    Renew,
    RenewalLocks,
    Send,
    drive,
)

if TYPE_CHECKING:
    from ..auth.oauth import OAuth

__all__ = ["AccountClient"]

DOMAIN_ENV = ("KINDE_HOST", "KINDE_DOMAIN")
CLIENT_ID_ENV = ("KINDE_CLIENT_ID",)
_HEADERS = {"Accept": "application/json"}

TokenSource = Union[str, Callable[[], Optional[str]]]


class AccountSettings:
    """What both clients resolve the same way: the domain, the client id and secret
    (for ``revoke``) and the core. An ``oauth`` session gives all three; otherwise the
    arguments, then ``KINDE_HOST``/``KINDE_DOMAIN`` and ``KINDE_CLIENT_ID``."""

    def __init__(
        self,
        *,
        access_token: Any,
        oauth: Any,
        oauth_types: tuple[type, ...],
        domain: Optional[str],
        client_id: Optional[str],
        client_secret: Optional[str],
        strict_responses: bool,
    ) -> None:
        name = type(self).__name__
        if (access_token is None) == (oauth is None):
            raise KindeConfigurationError(f"{name} needs exactly one of access_token or oauth=")
        if oauth is not None and not any(isinstance(oauth, kind) for kind in oauth_types):
            kinds = " or ".join(t.__name__ for t in oauth_types)
            raise KindeConfigurationError(f"{name}(oauth=...) needs an {kinds}")
        if access_token is not None and not (
            isinstance(access_token, str) or callable(access_token)
        ):
            raise KindeConfigurationError("access_token must be a str or a callable returning one")
        if oauth is not None:
            origin = normalize_domain(domain) if domain is not None else oauth.domain
            self.client_id: Optional[str] = client_id or oauth.client_id
            self._client_secret = client_secret or oauth._client_secret
        else:
            raw = require(from_env(domain, *DOMAIN_ENV), "domain", DOMAIN_ENV)
            origin = normalize_domain(raw)
            self.client_id = from_env(client_id, *CLIENT_ID_ENV)
            self._client_secret = client_secret
        self.origin = origin
        self._core = AccountCore(origin, strict=strict_responses)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(domain={self.origin!r})"

    def _revoke_flow(self, token: str, token_type_hint: Optional[str]) -> Flow[None]:
        if not self.client_id:
            raise KindeConfigurationError(
                "revoke needs the application's client_id: pass client_id=... (or build "
                "the client from an OAuth session, or set KINDE_CLIENT_ID)"
            )
        return self._core.revoke(
            token,
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_type_hint=token_type_hint,
        )


def no_token() -> TokenError:
    return TokenError(
        "no signed-in user: the Account API needs the user's access token",
        error="login_required",
    )


def refresh_session(oauth: OAuth, rejected: str) -> None:
    """Make a blocking OAuth session's next access token a fresh one, after a 401 to
    ``rejected``: a refresh grant when the session holds a refresh token (without one
    there is nothing to refresh, and the 401 stands); with the client-credentials
    grant, the rejected M2M token is dropped from its cache."""
    if oauth.grant_type is GrantType.CLIENT_CREDENTIALS:
        oauth._m2m().invalidate(rejected)
        return
    tokens = oauth.get_tokens()
    if tokens is not None and tokens.get("refresh_token"):
        oauth.refresh_tokens()


def request_args(call: Call, token: str) -> dict[str, Any]:
    """The transport arguments for ``call`` (shared with the async client)."""
    headers: Mapping[str, str] = {**_HEADERS, "Authorization": f"Bearer {token}"}
    args: dict[str, Any] = {"headers": headers}
    if call.form is not None:
        args["fields"] = list(call.form)
    return args


class AccountClient(AccountSettings):
    """The Kinde Account API, called as the signed-in user.

    Build it from an access token (``AccountClient("eyJ...", domain="acme.kinde.com")``)
    or from an :class:`~kinde_sdk.auth.OAuth` session (``AccountClient(oauth=oauth)``, or
    ``oauth.account``): then every call asks the session for its access token, which it
    refreshes when due, and in a web framework that is the current request's user.
    ``access_token`` may also be a callable returning the token (or None when signed out).

    Errors are the SDK's: :class:`~kinde_sdk.errors.PermissionDeniedError` (403),
    :class:`~kinde_sdk.errors.RateLimitError` (429, with ``retry_after``), ... and
    :class:`~kinde_sdk.errors.TokenError` (``error="login_required"``) when there is no
    signed-in user. A failure is always raised, never answered with an empty result.
    A 401 is answered with one fresh token (the session refreshed, the callable asked
    again; one refresh for all the calls that got it) and one replay; a second 401, or
    one to a fixed token string, raises :class:`~kinde_sdk.errors.AuthenticationError`.

    ``strict_responses=True`` validates every answer against the spec (for tests).
    """

    def __init__(
        self,
        access_token: Optional[TokenSource] = None,
        *,
        oauth: Optional[OAuth] = None,
        domain: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        transport: Optional[Transport] = None,
        timeout: TimeoutArg = None,
        strict_responses: bool = False,
    ) -> None:
        from ..auth.oauth import OAuth

        super().__init__(
            access_token=access_token,
            oauth_types=(OAuth,),  # an AsyncOAuth is AsyncAccountClient's
            oauth=oauth,
            domain=domain,
            client_id=client_id,
            client_secret=client_secret,
            strict_responses=strict_responses,
        )
        self._oauth = oauth
        self._fixed = access_token if isinstance(access_token, str) else None
        self._source = access_token if callable(access_token) else None
        if transport is None and oauth is not None:
            transport = oauth._transport
        self._transport = transport or default_transport()
        self._timeout = timeout
        # A fixed token has nothing to refresh: its 401 is raised at once.
        self._renewable = self._fixed is None
        self._renewals: RenewalLocks[threading.Lock] = RenewalLocks(threading.Lock)

    def access_token(self) -> str:
        """The token the next call sends (refreshed through the OAuth session when due)."""
        if self._oauth is not None:
            token = self._oauth.get_access_token()
        elif self._source is not None:
            token = self._source()
        else:
            token = self._fixed
        if not token:
            raise no_token()
        return token

    def _send(self, call: Call) -> Response:
        return drive(self._core.exchange(call, renewable=self._renewable), self._perform)

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Send):
            args = request_args(effect.call, effect.token)
            return self._transport.request(
                effect.call.method, effect.call.url(self.origin), timeout=self._timeout, **args
            )
        if effect is TOKEN:
            return self.access_token()
        if isinstance(effect, Renew):
            with self._renewals.lock_for(effect.rejected) as lock, lock:
                return drive(self._core.renew(effect.rejected), self._perform)
        if isinstance(effect, Refresh):
            if self._oauth is not None:
                refresh_session(self._oauth, effect.rejected)
            return None
        raise AssertionError(f"unknown effect {effect!r}")

    def _run(self, flow: Flow[Any]) -> Any:
        return drive(flow, self._send)

    # --- the operations ------------------------------------------------------------

    def get_entitlements(self, *, page_size: Optional[int] = None) -> m.Entitlements:
        """Every entitlement of the user, all pages (``starting_after``/``has_more``)."""
        result: m.Entitlements = self._run(self._core.entitlements(page_size))
        return result

    def get_entitlement(self, key: str) -> Optional[m.Entitlement]:
        """The entitlement for feature ``key``; None when the API says the user has none."""
        result: Optional[m.Entitlement] = self._run(self._core.entitlement(key))
        return result

    def get_feature_flags(self, *, page_size: Optional[int] = None) -> m.FeatureFlags:
        result: m.FeatureFlags = self._run(self._core.feature_flags(page_size))
        return result

    def get_permissions(self, *, page_size: Optional[int] = None) -> m.Permissions:
        result: m.Permissions = self._run(self._core.permissions(page_size))
        return result

    def get_roles(self, *, page_size: Optional[int] = None) -> m.Roles:
        result: m.Roles = self._run(self._core.roles(page_size))
        return result

    def get_properties(self, *, page_size: Optional[int] = None) -> m.Properties:
        result: m.Properties = self._run(self._core.properties(page_size))
        return result

    def get_portal_link(
        self, *, subnav: Optional[str] = None, return_url: Optional[str] = None
    ) -> m.PortalLink:
        """A link to the user's self-serve portal, landing on ``subnav`` (``"profile"``,
        ``"plan_selection"``, ...), then returning to ``return_url``."""
        result: m.PortalLink = self._run(self._core.portal_link(subnav, return_url))
        return result

    def get_user_profile(self) -> m.UserProfile:
        result: m.UserProfile = self._run(self._core.user_profile())
        return result

    def introspect(
        self, token: Optional[str] = None, *, token_type_hint: Optional[str] = None
    ) -> m.TokenIntrospection:
        """What Kinde says about ``token`` (default: the user's access token)."""
        target = token if token is not None else self.access_token()
        result: m.TokenIntrospection = self._run(self._core.introspect(target, token_type_hint))
        return result

    def revoke(self, token: Optional[str] = None, *, token_type_hint: Optional[str] = None) -> None:
        """Revoke ``token`` (default: the user's access token, hint ``access_token``).
        To end a session use ``OAuth.logout()``, which revokes its refresh token."""
        if token is None:
            token, token_type_hint = self.access_token(), token_type_hint or "access_token"
        self._run(self._revoke_flow(token, token_type_hint))
