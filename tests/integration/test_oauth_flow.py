"""The authorization-code flow of ``OAuth`` end to end against a real node-oidc-provider:
login over HTTP through the dev pages, code exchange, verification, claims, refresh with
rotation, invalid_grant, replayed state and code, endpoint failures and logout."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from kinde_sdk.auth import FlagNotFoundError, FlagTypeError, OAuth, StateError
from kinde_sdk.auth._flow import pending_key
from kinde_sdk.auth._oauth_core import REFRESH_BACKOFF_BASE
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import InvalidTokenError, KindeConnectionError, TokenError
from tests.integration._oauth_helpers import (
    SwitchableTransport,
    expire_access_token,
    make_oauth,
    refresh_token_is_revoked,
    revoke_refresh_token,
    sign_in,
)
from tests.servers.oidc_provider import OIDCProvider, login_and_get_callback


@pytest.fixture
def transport(oidc_provider: OIDCProvider) -> Iterator[SwitchableTransport]:
    t = SwitchableTransport()
    t.token_endpoint = str(oidc_provider.discovery()["token_endpoint"])
    yield t
    t.close()


@pytest.fixture
def oauth(oidc_provider: OIDCProvider, transport: SwitchableTransport) -> OAuth:
    return make_oauth(oidc_provider, transport)


def test_authorization_url_comes_from_discovery(oauth: OAuth, oidc_provider: OIDCProvider) -> None:
    url = oauth.login(org_code="org_123", lang="en")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oidc_provider.url}/oauth2/auth"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["code_challenge_method"] == "S256"
    assert query["audience"] == oidc_provider.api_audience
    assert query["org_code"] == "org_123"
    assert query["scope"] == "openid profile email offline_access"


def test_full_flow_user_info_and_tokens(oauth: OAuth) -> None:
    assert not oauth.is_authenticated()
    assert oauth.get_access_token() is None
    info = sign_in(oauth, "alice")
    assert info == {
        "id": "alice",
        "sub": "alice",
        "email": "alice@example.test",
        "given_name": "Test",
        "family_name": "alice",
        "picture": "https://example.test/alice.png",
    }
    assert oauth.is_authenticated()
    assert oauth.get_user_info() == info
    tokens = oauth.get_tokens()
    assert tokens is not None
    assert tokens["refresh_token"] and tokens["id_token"]
    assert oauth.get_access_token() == tokens["access_token"]


def test_claims_helpers_on_issued_tokens(oauth: OAuth, oidc_provider: OIDCProvider) -> None:
    sign_in(oauth)
    assert oauth.get_claim("aud") == oidc_provider.api_audience
    assert oauth.get_claim("aud", token="id_token") == oidc_provider.client_id
    assert oauth.get_claim("org_codes", token="id_token") == ["org_123", "org_456"]
    assert oauth.get_claim("no_such_claim") is None
    assert oauth.get_permission("read:users") == {"orgCode": "org_123", "isGranted": True}
    assert oauth.get_permission("delete:users") == {"orgCode": "org_123", "isGranted": False}
    assert oauth.get_permissions() == {
        "orgCode": "org_123",
        "permissions": ["read:users", "write:users"],
    }
    assert oauth.get_roles() == [{"id": "role_1", "key": "admin", "name": "Admin"}]
    assert oauth.get_organization() == {"orgCode": "org_123"}
    assert oauth.get_user_organizations() == {"orgCodes": ["org_123", "org_456"]}
    assert oauth.get_boolean_flag("is_dark_mode") is True
    assert oauth.get_string_flag("theme") == "dark"
    assert oauth.get_integer_flag("competitions_limit") == 5
    assert oauth.get_flag("theme") == {
        "code": "theme",
        "type": "string",
        "value": "dark",
        "is_default": False,
    }
    assert oauth.get_boolean_flag("missing_flag", False) is False
    assert oauth.get_flag("missing_flag", default=3)["is_default"] is True
    with pytest.raises(FlagTypeError):
        oauth.get_integer_flag("theme")
    with pytest.raises(FlagNotFoundError):
        oauth.get_string_flag("missing_flag")


def test_refresh_rotates_and_writes_back(oauth: OAuth) -> None:
    sign_in(oauth)
    before = oauth.get_tokens()
    assert before is not None
    expire_access_token(oauth)
    new_access = oauth.get_access_token()
    after = oauth.get_tokens()
    assert after is not None
    assert new_access == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated
    assert after["expires_at"] > 0
    assert oauth.get_user_info() is not None
    assert oauth.get_user_info()["sub"] == "alice"  # type: ignore[index]
    assert oauth.get_permission("read:users")["isGranted"] is True
    # the stored (rotated) refresh token works again
    oauth.refresh_tokens()


def test_refresh_margin_triggers_refresh(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    oauth = make_oauth(oidc_provider, transport)
    sign_in(oauth)
    eager = OAuth(
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
        redirect_uri=oidc_provider.redirect_uri,
        host=oidc_provider.url,
        storage=oauth._storage,  # type: ignore[arg-type]
        transport=transport,
        refresh_margin=7200,  # longer than the 1 h token lifetime: always due
    )
    first = oauth.get_tokens()
    assert first is not None
    assert eager.get_access_token() != first["access_token"]


def test_concurrent_refresh_is_single_flight(oauth: OAuth, transport: SwitchableTransport) -> None:
    sign_in(oauth)
    expire_access_token(oauth)
    posts_before = transport.token_posts
    barrier = threading.Barrier(6)
    results: list[Optional[str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(oauth.get_access_token())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(set(results)) == 1
    assert transport.token_posts - posts_before == 1


def test_invalid_grant_ends_the_session(oauth: OAuth, oidc_provider: OIDCProvider) -> None:
    sign_in(oauth)
    tokens = oauth.get_tokens()
    assert tokens is not None
    revoke_refresh_token(oidc_provider, tokens["refresh_token"])
    expire_access_token(oauth)
    with pytest.raises(TokenError) as info:
        oauth.get_access_token()
    assert info.value.error == "invalid_grant"
    assert tokens["refresh_token"] not in str(info.value)
    assert not oauth.is_authenticated()
    assert oauth.get_tokens() is None
    assert oauth.get_access_token() is None


def test_unknown_missing_and_reused_state_rejected(oauth: OAuth) -> None:
    callback = login_and_get_callback(oauth.login(prompt="consent"))
    with pytest.raises(StateError):
        oauth.handle_redirect(callback["code"], "forged-state")
    with pytest.raises(StateError):
        oauth.handle_redirect(callback["code"], None)
    with pytest.raises(StateError):
        oauth.handle_redirect(callback["code"], "")
    assert not oauth.is_authenticated()
    oauth.handle_redirect(callback["code"], callback["state"])
    assert oauth.is_authenticated()
    with pytest.raises(StateError):
        oauth.handle_redirect(callback["code"], callback["state"])


def test_code_exchanged_twice_is_rejected(oauth: OAuth) -> None:
    callback = login_and_get_callback(oauth.login(prompt="consent"))
    key = pending_key(callback["state"])
    saved = oauth._storage.get(key)
    oauth.handle_redirect(callback["code"], callback["state"])
    tokens = oauth.get_tokens()
    oauth._storage.set(key, saved)  # replay the attempt itself: the server must refuse
    with pytest.raises(TokenError) as info:
        oauth.handle_redirect(callback["code"], callback["state"])
    assert info.value.error == "invalid_grant"
    assert oauth.get_tokens() == tokens  # the session from the first exchange is intact


def test_nonce_mismatch_rejected(oauth: OAuth) -> None:
    callback = login_and_get_callback(oauth.login(prompt="consent"))
    key = pending_key(callback["state"])
    record = oauth._storage.get(key)
    record["nonce"] = "not-the-nonce-that-was-sent"
    oauth._storage.set(key, record)
    with pytest.raises(InvalidTokenError, match="nonce"):
        oauth.handle_redirect(callback["code"], callback["state"])
    assert not oauth.is_authenticated()


def test_authorization_error_redirect(oauth: OAuth) -> None:
    url = oauth.login()
    state = parse_qs(urlsplit(url).query)["state"][0]
    with pytest.raises(TokenError) as info:
        oauth.handle_redirect(None, state, error="access_denied", error_description="no")
    assert info.value.error == "access_denied"
    with pytest.raises(StateError):  # the attempt is used up
        oauth.handle_redirect("code", state)


def test_token_endpoint_down_keeps_the_session(
    oauth: OAuth, transport: SwitchableTransport
) -> None:
    sign_in(oauth)
    expire_access_token(oauth)
    tokens = oauth.get_tokens()
    assert tokens is not None
    transport.token_down = True
    with pytest.raises(KindeConnectionError) as info:
        oauth.get_access_token()
    assert "cannot connect" in str(info.value)
    assert oauth.is_authenticated()
    assert oauth.get_tokens() == tokens
    transport.token_down = False
    posts = transport.token_posts
    # During the backoff after the failure, callers share its error without a request.
    with pytest.raises(KindeConnectionError):
        oauth.get_access_token()
    assert transport.token_posts == posts
    time.sleep(REFRESH_BACKOFF_BASE + 0.1)
    assert oauth.get_access_token() != tokens["access_token"]


def test_logout_revokes_and_clears_only_this_session(
    oidc_provider: OIDCProvider, transport: SwitchableTransport
) -> None:
    backend = MemoryStorage()  # one backend, two devices
    first = make_oauth(oidc_provider, transport, storage=NamespacedStorage(backend))
    second = make_oauth(oidc_provider, transport, storage=NamespacedStorage(backend))
    sign_in(first, "alice")
    sign_in(second, "bob")
    first._storage.set("app_data", {"kept": True})
    first_tokens = first.get_tokens()
    assert first_tokens is not None

    url = first.logout()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oidc_provider.url}/logout"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["post_logout_redirect_uri"] == oidc_provider.logout_redirect_uri
    assert query["id_token_hint"] == first_tokens["id_token"]
    assert query["client_id"] == oidc_provider.client_id

    assert not first.is_authenticated()
    assert first.get_tokens() is None
    assert first._storage.get("app_data") == {"kept": True}
    # the refresh token was revoked at the server
    assert refresh_token_is_revoked(oidc_provider, first_tokens["refresh_token"])
    # the other session is untouched and still refreshes
    assert second.is_authenticated()
    assert second.get_user_info()["sub"] == "bob"  # type: ignore[index]
    second.refresh_tokens()


def test_logout_page_accepts_the_url(oauth: OAuth) -> None:
    sign_in(oauth)
    response = urllib3.PoolManager().request("GET", oauth.logout(), redirect=False)
    assert response.status == 200  # the provider's logout confirmation form


def test_no_secret_or_token_in_logs_reprs_or_storage(
    oauth: OAuth, oidc_provider: OIDCProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kinde_sdk")
    sign_in(oauth)
    tokens = oauth.get_tokens()
    assert tokens is not None
    expire_access_token(oauth)
    oauth.get_access_token()
    secrets_seen = [oidc_provider.client_secret, tokens["access_token"], tokens["refresh_token"]]
    text = caplog.text + repr(oauth)
    for secret in secrets_seen:
        assert secret not in text
    backend = oauth._storage.backend  # type: ignore[attr-defined]
    stored = json.dumps({k: backend.get(k) for k in backend.keys("")})
    assert oidc_provider.client_secret not in stored


def test_redirect_from_another_issuer_rejected(oauth: OAuth) -> None:
    callback = login_and_get_callback(oauth.login(prompt="consent"))
    with pytest.raises(TokenError, match="mix-up"):
        oauth.handle_redirect(callback["code"], callback["state"], iss="https://evil.example")
    assert not oauth.is_authenticated()
