"""Machine-to-machine tokens: ``ClientCredentials`` and
``OAuth(grant_type="client_credentials")`` against the real node-oidc-provider's
client-credentials grant (a JWT for the audience ``{issuer}/api``), over the foundation's
shared token cache."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from kinde_sdk import TokenValidator
from kinde_sdk.auth import ClientCredentials, OAuth
from kinde_sdk.enums import GrantType
from kinde_sdk.errors import KindeConfigurationError, TokenError
from tests.integration._oauth_helpers import SwitchableTransport, client_settings
from tests.servers.oidc_provider import OIDCProvider


@pytest.fixture
def transport(oidc_provider: OIDCProvider) -> Iterator[SwitchableTransport]:
    t = SwitchableTransport()
    t.token_endpoint = str(oidc_provider.discovery()["token_endpoint"])
    yield t
    t.close()


def m2m(
    provider: OIDCProvider, transport: SwitchableTransport, secret: str = ""
) -> ClientCredentials:
    return ClientCredentials(
        provider.url,
        provider.client_id,
        secret or provider.client_secret,
        provider.api_audience,
        transport=transport,
    )


def verify(provider: OIDCProvider, token: str) -> dict[str, object]:
    validator = TokenValidator(
        provider.url,
        provider.api_audience,
        jwks_url=str(provider.discovery()["jwks_uri"]),
    )
    return validator.verify(token)


def test_token_is_issued_verified_and_cached(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    client = m2m(oidc_provider, transport)
    assert client.token_url == transport.token_endpoint  # from discovery
    token = client.get_access_token()
    claims = verify(oidc_provider, token)
    assert claims["sub"] == claims["client_id"] == oidc_provider.client_id
    assert claims["aud"] == oidc_provider.api_audience
    assert client.headers() == {"Authorization": f"Bearer {token}"}
    assert client.get_access_token() == token
    # another client with the same credentials shares the cached token
    assert m2m(oidc_provider, transport).get_access_token() == token
    assert transport.token_posts == 1
    # a token the API refused is dropped: the next call fetches a new one
    client.invalidate(token)
    assert client.get_access_token() != token
    assert transport.token_posts == 2
    assert oidc_provider.client_secret not in repr(client)


def test_concurrent_cold_cache_makes_one_token_request(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    client = ClientCredentials(
        oidc_provider.url,
        oidc_provider.client_id,
        oidc_provider.client_secret,
        oidc_provider.api_audience,
        token_url=transport.token_endpoint,  # no discovery: only token requests
        transport=transport,
    )
    assert client._tokens()._slot.current is None  # a cold cache
    barrier = threading.Barrier(16)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(client.get_access_token())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 16 and len(set(results)) == 1
    assert transport.token_posts == 1


def test_bad_secret_is_a_token_error(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    wrong = "wrong-" + oidc_provider.client_secret
    client = m2m(oidc_provider, transport, secret=wrong)
    with pytest.raises(TokenError) as info:
        client.get_access_token()
    assert info.value.error == "invalid_client"
    assert wrong not in str(info.value) and wrong not in repr(info.value)


def test_oauth_with_client_credentials_grant(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    clients = []  # kept alive: the shared cache holds a token while a client uses it
    for grant in ("client_credentials", GrantType.CLIENT_CREDENTIALS):
        oauth = OAuth(**client_settings(oidc_provider), grant_type=grant, transport=transport)
        clients.append(oauth)
        token = oauth.get_access_token()
        assert token is not None
        assert verify(oidc_provider, token)["sub"] == oidc_provider.client_id
        assert oauth.get_access_token() == token
        with pytest.raises(KindeConfigurationError, match="client_credentials"):
            oauth.login()
    assert transport.token_posts == 1  # both clients share one cached token


def test_client_credentials_settings_are_checked(
    oidc_provider: OIDCProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("KINDE_CLIENT_SECRET", "KINDE_HOST", "KINDE_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
    settings = client_settings(oidc_provider)
    with pytest.raises(KindeConfigurationError, match="client_secret"):
        OAuth(**{**settings, "client_secret": None}, grant_type="client_credentials")
    with pytest.raises(KindeConfigurationError, match="grant_type"):
        OAuth(**settings, grant_type="password")
    with pytest.raises(KindeConfigurationError, match="refresh"):
        OAuth(**settings, grant_type=GrantType.REFRESH_TOKEN)
    with pytest.raises(KindeConfigurationError, match="client_secret"):
        ClientCredentials(oidc_provider.url, "id", None)
    with pytest.raises(KindeConfigurationError, match="domain"):
        ClientCredentials(None, "id", "secret")
    with pytest.raises(KindeConfigurationError, match="https"):
        ClientCredentials(None, "id", "secret", token_url="http://example.test/token")


def test_without_discovery_the_kinde_token_path_is_used(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_data(
        "not found", status=404
    )
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_data(
        json.dumps({"access_token": "m2m-token", "token_type": "Bearer", "expires_in": 600}),
        content_type="application/json",
    )
    origin = httpserver.url_for("/").rstrip("/")
    client = ClientCredentials(origin, "id", "fallback-secret", "https://api.example")
    assert client.get_access_token() == "m2m-token"
    assert client.token_url == origin + "/oauth2/token"
    token_request = next(r for r, _ in httpserver.log if r.path == "/oauth2/token")
    assert token_request.form["grant_type"] == "client_credentials"
    assert token_request.form["audience"] == "https://api.example"
