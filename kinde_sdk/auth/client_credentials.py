"""Machine-to-machine access tokens for services calling their own APIs:
:class:`ClientCredentials`.

A thin front on the foundation's client-credentials cache
(:class:`kinde_sdk._token_cache.ClientCredentialsTokenProvider`): every client with the
same token URL, client id, audience and secret shares one cached token, refreshed
shortly before expiry by one request at a time (threads arriving meanwhile wait for it).
``OAuth(..., grant_type="client_credentials")`` uses this class for
``get_access_token()``. :class:`~kinde_sdk.auth.AsyncClientCredentials` is its async twin.

``token_store=`` shares the tokens between processes (see
:class:`~kinde_sdk.auth.RedisTokenStore` and :class:`~kinde_sdk.auth.FileTokenStore`).
"""

from __future__ import annotations

import threading
from typing import Optional

from typing_extensions import Self

from .._config import from_env, normalize_domain, require
from .._token_cache import (
    DEFAULT_REFRESH_MARGIN,
    ClientCredentialsTokenProvider,
    check_refresh_margin,
)
from .._token_store import TokenStore, check_token_store
from .._transport import Response, Transport, default_transport
from ..errors import KindeConfigurationError, KindeConnectionError, TokenError
from ._oauth_core import DISCOVERY_PATH, check_endpoint

__all__ = ["ClientCredentials"]

# Kinde's token endpoint, used when the domain has no OpenID discovery document.
KINDE_TOKEN_PATH = "/oauth2/token"


class CredentialsSettings:
    """The settings :class:`ClientCredentials` and its async twin share, read and checked
    once: explicit arguments first, the environment as a fallback."""

    def __init__(
        self,
        domain: Optional[str],
        client_id: Optional[str],
        client_secret: Optional[str],
        audience: Optional[str],
        *,
        token_url: Optional[str],
        refresh_margin: float,
        token_store: Optional[TokenStore],
    ) -> None:
        self.client_id = require(
            from_env(client_id, "KINDE_CLIENT_ID"), "client_id", ["KINDE_CLIENT_ID"]
        )
        self._client_secret = require(
            from_env(client_secret, "KINDE_CLIENT_SECRET"),
            "client_secret",
            ["KINDE_CLIENT_SECRET"],
        )
        self.audience = from_env(audience, "KINDE_AUDIENCE") or None
        raw_domain = from_env(domain, "KINDE_HOST", "KINDE_DOMAIN")
        if token_url is not None:
            try:
                self._token_url: Optional[str] = check_endpoint(token_url, "token_url")
            except KindeConnectionError:
                raise KindeConfigurationError(
                    "token_url must be an https URL (plain http only on loopback hosts)"
                ) from None
            self.domain = normalize_domain(raw_domain) if raw_domain else None
        else:
            self._token_url = None
            self.domain = normalize_domain(
                require(raw_domain, "domain", ["KINDE_HOST", "KINDE_DOMAIN"])
            )
        self._refresh_margin = check_refresh_margin(refresh_margin)
        self._token_store = check_token_store(token_store)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={self.client_id!r}, domain={self.domain!r}, "
            f"audience={self.audience!r})"
        )

    def _discovery_url(self) -> str:
        assert self.domain is not None
        return self.domain + DISCOVERY_PATH

    def _discovery_failed(self, exc: KindeConnectionError) -> TokenError:
        return TokenError(f"the token endpoint could not be discovered: {exc}")


class ClientCredentials(CredentialsSettings):
    """Access tokens from the OAuth 2.0 client-credentials grant, cached.

    ``domain``, ``client_id``, ``client_secret`` and ``audience`` fall back to
    ``KINDE_HOST``/``KINDE_DOMAIN``, ``KINDE_CLIENT_ID``, ``KINDE_CLIENT_SECRET`` and
    ``KINDE_AUDIENCE``; a missing required one raises KindeConfigurationError naming it.
    ``token_url`` defaults to the ``token_endpoint`` of the domain's OpenID discovery
    document, or ``{domain}/oauth2/token`` when the domain has none (looked up on the
    first token request). ``audience`` is sent as Kinde's ``audience`` parameter.
    ``token_store`` shares tokens between processes (default: in this process only).

    ``get_access_token()`` raises :class:`~kinde_sdk.errors.TokenError` when the token
    endpoint refuses the credentials (``error`` is the OAuth error, e.g.
    ``invalid_client``) or cannot be reached.
    """

    def __init__(
        self,
        domain: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        audience: Optional[str] = None,
        *,
        token_url: Optional[str] = None,
        transport: Optional[Transport] = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        token_store: Optional[TokenStore] = None,
    ) -> None:
        super().__init__(
            domain,
            client_id,
            client_secret,
            audience,
            token_url=token_url,
            refresh_margin=refresh_margin,
            token_store=token_store,
        )
        self._transport = transport or default_transport()
        self._provider: Optional[ClientCredentialsTokenProvider] = None
        self._lock = threading.Lock()

    @property
    def token_url(self) -> str:
        """The token endpoint (discovered on first use unless given)."""
        return self._tokens().token_url

    def _tokens(self) -> ClientCredentialsTokenProvider:
        provider = self._provider
        if provider is not None:
            return provider
        with self._lock:
            if self._provider is None:
                url = self._token_url or self._discover_token_url()
                self._provider = ClientCredentialsTokenProvider(
                    token_url=url,
                    client_id=self.client_id,
                    client_secret=self._client_secret,
                    audience=self.audience,
                    transport=self._transport,
                    refresh_margin=self._refresh_margin,
                    token_store=self._token_store,
                )
            return self._provider

    def _discover_token_url(self) -> str:
        try:
            response = self._transport.request(
                "GET",
                self._discovery_url(),
                headers={"Accept": "application/json"},
                kind="discovery",
            )
        except KindeConnectionError as exc:
            raise self._discovery_failed(exc) from exc
        assert self.domain is not None
        return token_url_from_discovery(self.domain, response)

    def get_access_token(self) -> str:
        """A valid access token: the cached one, or one fetched now (single-flight)."""
        return self._tokens().token()

    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a request to your API."""
        return {"Authorization": f"Bearer {self.get_access_token()}"}

    def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` (your API answered 401 to it): the next call fetches
        a new one. Other tokens are kept, so many failed requests cause one fetch."""
        self._tokens().invalidate(rejected_token)

    def close(self) -> None:
        """Drop this client's handle on the cached token (other clients with the same
        credentials keep sharing it). The transport is left open: it is the one given,
        or the SDK's shared default."""
        with self._lock:
            self._provider = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def token_url_from_discovery(domain: str, response: Response) -> str:
    """The ``token_endpoint`` of a discovery response, or Kinde's default path."""
    endpoint = None
    if response.status == 200:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            endpoint = data.get("token_endpoint")
    if endpoint is None:
        return domain + KINDE_TOKEN_PATH
    return check_endpoint(endpoint, "token_endpoint")
