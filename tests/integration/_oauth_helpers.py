"""Helpers shared by the OAuth integration tests (sync and async) against the real
node-oidc-provider: transports that count token requests and can take the token
endpoint "down", client construction, sign-in through the provider's dev pages, and
direct calls to the provider's endpoints."""

from __future__ import annotations

import json
import threading
from typing import Any, Optional, TypeVar

import urllib3

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Response, Transport
from kinde_sdk.auth import OAuth
from kinde_sdk.auth._oauth_core import OAuthCore
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from tests.servers._process import free_port
from tests.servers.oidc_provider import OIDCProvider, login_and_get_callback

_C = TypeVar("_C", bound=OAuthCore)

RETRY = RetryPolicy(max_retries=0, deadline=20)


class TokenEndpointSwitch:
    """Counts POSTs to the token endpoint and, while ``token_down``, sends them to a
    closed port (the endpoint "down")."""

    def __init__(self) -> None:
        self.token_endpoint: Optional[str] = None
        self.token_down = False
        self.token_posts = 0
        self._count_lock = threading.Lock()

    def route(self, url: str) -> str:
        if self.token_endpoint is not None and url == self.token_endpoint:
            with self._count_lock:
                self.token_posts += 1
            if self.token_down:
                return f"http://127.0.0.1:{free_port()}/oauth2/token"
        return url


class SwitchableTransport(Transport, TokenEndpointSwitch):
    """A real transport with a :class:`TokenEndpointSwitch`."""

    def __init__(self) -> None:
        Transport.__init__(self, timeout=10, retry=RETRY)
        TokenEndpointSwitch.__init__(self)

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        return super().request(method, self.route(url), **kwargs)


def client_settings(
    provider: OIDCProvider, *, storage: Optional[NamespacedStorage] = None
) -> dict[str, Any]:
    """The constructor arguments of an OAuth/AsyncOAuth client of ``provider``."""
    return {
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": provider.redirect_uri,
        "host": provider.url,
        "audience": provider.api_audience,
        "logout_redirect_uri": provider.logout_redirect_uri,
        "storage": storage or NamespacedStorage(MemoryStorage()),
    }


def make_oauth(
    provider: OIDCProvider, transport: Transport, *, storage: Optional[NamespacedStorage] = None
) -> OAuth:
    return OAuth(**client_settings(provider, storage=storage), transport=transport)


def consent_callback(authorization_url: str, login: str = "alice") -> dict[str, str]:
    """Log in through the provider's pages; the callback's query (``code``, ``state``,
    ``iss``). offline_access (a refresh token) needs prompt=consent at node-oidc-provider,
    so pass an URL made with ``login(prompt="consent")``."""
    callback = login_and_get_callback(authorization_url, login=login)
    assert "code" in callback, callback
    return callback


def sign_in(oauth: OAuth, login: str = "alice") -> dict[str, Any]:
    callback = consent_callback(oauth.login(prompt="consent"), login)
    return oauth.handle_redirect(callback["code"], callback["state"], iss=callback["iss"])


def token_post(provider: OIDCProvider, endpoint: str, **fields: str) -> tuple[int, Any]:
    form = {"client_id": provider.client_id, "client_secret": provider.client_secret, **fields}
    response = urllib3.PoolManager().request("POST", endpoint, fields=form, encode_multipart=False)
    return response.status, json.loads(response.data) if response.data else None


def revoke_refresh_token(provider: OIDCProvider, refresh_token: str) -> None:
    """Revoke at the provider, behind the client's back."""
    revocation = str(provider.discovery()["revocation_endpoint"])
    status, _ = token_post(
        provider, revocation, token=refresh_token, token_type_hint="refresh_token"
    )
    assert status == 200


def refresh_token_is_revoked(provider: OIDCProvider, refresh_token: str) -> bool:
    token_endpoint = str(provider.discovery()["token_endpoint"])
    status, body = token_post(
        provider, token_endpoint, grant_type="refresh_token", refresh_token=refresh_token
    )
    return status == 400 and body["error"] == "invalid_grant"


def expire_access_token(oauth: OAuthCore) -> None:
    """Make the stored access token (of the bound session, if any) look expired: the
    next get_access_token refreshes."""
    store = oauth._store
    record = store.get(oauth._tokens_key)
    record["expires_at"] = 0
    store.set(oauth._tokens_key, record)
