"""``AsyncOAuth`` end to end against the real node-oidc-provider: the same flow as
``test_oauth_flow.py`` (whose helpers it shares, from ``_oauth_helpers``) with awaited
I/O: login through the provider's pages, code exchange, verification, claims, refresh
with rotation, single-flight refresh across coroutines, invalid_grant, logout.

The provider's dev pages are walked with blocking urllib3 in a worker thread, so the
test's event loop stays free while the SDK awaits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._transport import Response
from kinde_sdk.auth import AsyncOAuth, FlagNotFoundError, OAuth, StateError
from kinde_sdk.auth._oauth_core import REFRESH_BACKOFF_BASE
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import KindeConnectionError, TokenError
from tests.integration._oauth_helpers import (
    RETRY,
    TokenEndpointSwitch,
    client_settings,
    consent_callback,
    expire_access_token,
    refresh_token_is_revoked,
    revoke_refresh_token,
)
from tests.servers.oidc_provider import OIDCProvider

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's async code is written for asyncio


class SwitchableAsyncTransport(AsyncTransport, TokenEndpointSwitch):
    """A real AsyncTransport with a TokenEndpointSwitch. It also counts how often the
    event loop ran something else while a token request was in flight: more than zero
    means the request did not block the loop."""

    def __init__(self) -> None:
        AsyncTransport.__init__(self, timeout=10, retry=RETRY)
        TokenEndpointSwitch.__init__(self)
        self.loop_ticks = 0
        self.ticks_during_token_posts = 0

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        routed = self.route(url)
        if url != self.token_endpoint:
            return await super().request(method, routed, **kwargs)
        before = self.loop_ticks
        try:
            return await super().request(method, routed, **kwargs)
        finally:
            self.ticks_during_token_posts += self.loop_ticks - before


@pytest.fixture
async def transport(oidc_provider: OIDCProvider) -> AsyncIterator[SwitchableAsyncTransport]:
    async with SwitchableAsyncTransport() as t:
        t.token_endpoint = str(oidc_provider.discovery()["token_endpoint"])
        yield t


def make_async_oauth(
    provider: OIDCProvider,
    transport: AsyncTransport,
    *,
    storage: Optional[NamespacedStorage] = None,
    **options: Any,
) -> AsyncOAuth:
    return AsyncOAuth(**client_settings(provider, storage=storage), transport=transport, **options)


@pytest.fixture
def oauth(oidc_provider: OIDCProvider, transport: SwitchableAsyncTransport) -> AsyncOAuth:
    return make_async_oauth(oidc_provider, transport)


async def callback_for(oauth: AsyncOAuth, login: str = "alice") -> dict[str, str]:
    url = await oauth.login(prompt="consent")
    return await asyncio.to_thread(consent_callback, url, login)


async def sign_in(oauth: AsyncOAuth, login: str = "alice") -> dict[str, Any]:
    callback = await callback_for(oauth, login)
    return await oauth.handle_redirect(callback["code"], callback["state"], iss=callback["iss"])


async def test_full_flow_user_info_tokens_and_claims(
    oauth: AsyncOAuth, oidc_provider: OIDCProvider
) -> None:
    assert not oauth.is_authenticated()
    assert await oauth.get_access_token() is None
    info = await sign_in(oauth, "alice")
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
    assert tokens is not None and tokens["refresh_token"] and tokens["id_token"]
    assert await oauth.get_access_token() == tokens["access_token"]
    # the claims helpers: sync, on the verified claims cached in the session
    assert oauth.get_claim("aud") == oidc_provider.api_audience
    assert oauth.get_claim("aud", token="id_token") == oidc_provider.client_id
    assert oauth.get_permission("read:users") == {"orgCode": "org_123", "isGranted": True}
    assert oauth.get_permissions()["permissions"] == ["read:users", "write:users"]
    assert oauth.get_roles() == [{"id": "role_1", "key": "admin", "name": "Admin"}]
    assert oauth.get_organization() == {"orgCode": "org_123"}
    assert oauth.get_user_organizations() == {"orgCodes": ["org_123", "org_456"]}
    assert oauth.get_boolean_flag("is_dark_mode") is True
    assert oauth.get_integer_flag("competitions_limit") == 5
    with pytest.raises(FlagNotFoundError):
        oauth.get_string_flag("missing_flag")


async def test_urls_match_the_sync_client(oauth: AsyncOAuth, oidc_provider: OIDCProvider) -> None:
    def query(url: str) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}

    login = query(await oauth.login(org_code="org_123"))
    assert login["code_challenge_method"] == "S256"
    assert login["audience"] == oidc_provider.api_audience
    assert login["org_code"] == "org_123"
    assert query(await oauth.register())["prompt"] == "create"
    org = query(await oauth.create_org(org_name="Acme"))
    assert (org["prompt"], org["is_create_org"], org["org_name"]) == ("create", "true", "Acme")
    assert (await oauth.get_openid_configuration())["issuer"] == oidc_provider.url
    # the same parameters as the sync client, which shares the core
    sync = OAuth(**client_settings(oidc_provider))
    sync_login = query(sync.login(org_code="org_123"))
    for volatile in ("state", "nonce", "code_challenge"):
        login.pop(volatile)
        sync_login.pop(volatile)
    assert login == sync_login


async def test_refresh_rotates_and_writes_back(oauth: AsyncOAuth) -> None:
    await sign_in(oauth)
    before = oauth.get_tokens()
    assert before is not None
    expire_access_token(oauth)
    # an expired access token gives no claims until it is refreshed (the helpers are
    # sync and never refresh)
    assert oauth.get_permission("read:users")["isGranted"] is False
    assert oauth.get_claim("sub") is None
    assert oauth.is_authenticated()  # a refresh token is there
    new_access = await oauth.get_access_token()
    after = oauth.get_tokens()
    assert after is not None
    assert new_access == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated
    assert oauth.get_permission("read:users")["isGranted"] is True
    assert oauth.get_user_info()["sub"] == "alice"  # type: ignore[index]
    # the stored (rotated) refresh token works again
    again = await oauth.refresh_tokens()
    assert again["refresh_token"] != after["refresh_token"]


async def test_concurrent_refresh_is_single_flight_and_does_not_block(
    oauth: AsyncOAuth, transport: SwitchableAsyncTransport
) -> None:
    await sign_in(oauth)
    expire_access_token(oauth)
    posts_before = transport.token_posts
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            transport.loop_ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.ensure_future(heartbeat())
    try:
        results = await asyncio.gather(*(oauth.get_access_token() for _ in range(12)))
    finally:
        stop.set()
        await beat
    assert len(set(results)) == 1 and results[0] is not None
    assert transport.token_posts - posts_before == 1
    assert transport.ticks_during_token_posts > 0  # the loop kept running meanwhile


async def test_sessions_bound_per_task_refresh_independently(
    oidc_provider: OIDCProvider, transport: SwitchableAsyncTransport
) -> None:
    oauth = make_async_oauth(oidc_provider, transport, storage=NamespacedStorage(MemoryStorage()))
    for session, login in (("s-alice", "alice"), ("s-bob", "bob")):
        with oauth.bind_session(session):
            await sign_in(oauth, login)
            expire_access_token(oauth)
    posts_before = transport.token_posts

    async def user_of(session: str) -> Optional[str]:
        with oauth.bind_session(session):
            await oauth.get_access_token()
            info = oauth.get_user_info()
            return None if info is None else info["sub"]

    subs = await asyncio.gather(*(user_of(s) for s in ("s-alice", "s-bob") * 3))
    assert subs == ["alice", "bob"] * 3
    assert transport.token_posts - posts_before == 2  # one refresh per session


async def test_invalid_grant_ends_the_session(
    oauth: AsyncOAuth, oidc_provider: OIDCProvider
) -> None:
    await sign_in(oauth)
    tokens = oauth.get_tokens()
    assert tokens is not None
    revoke_refresh_token(oidc_provider, tokens["refresh_token"])
    expire_access_token(oauth)
    with pytest.raises(TokenError) as info:
        await oauth.get_access_token()
    assert info.value.error == "invalid_grant"
    assert tokens["refresh_token"] not in str(info.value)
    assert not oauth.is_authenticated()
    assert oauth.get_tokens() is None
    assert await oauth.get_access_token() is None


async def test_token_endpoint_down_keeps_the_session(
    oauth: AsyncOAuth, transport: SwitchableAsyncTransport
) -> None:
    await sign_in(oauth)
    expire_access_token(oauth)
    tokens = oauth.get_tokens()
    transport.token_down = True
    with pytest.raises(KindeConnectionError):
        await oauth.get_access_token()
    assert oauth.is_authenticated()
    assert oauth.get_tokens() == tokens
    transport.token_down = False
    posts = transport.token_posts
    # During the backoff after the failure, callers share its error without a request.
    with pytest.raises(KindeConnectionError):
        await oauth.get_access_token()
    assert transport.token_posts == posts
    await anyio.sleep(REFRESH_BACKOFF_BASE + 0.1)
    assert await oauth.get_access_token() != tokens["access_token"]  # type: ignore[index]


async def test_state_is_checked_and_single_use(oauth: AsyncOAuth) -> None:
    callback = await callback_for(oauth)
    with pytest.raises(StateError):
        await oauth.handle_redirect(callback["code"], "forged-state")
    with pytest.raises(StateError):
        await oauth.handle_redirect(callback["code"], None)
    assert not oauth.is_authenticated()
    await oauth.handle_redirect(callback["code"], callback["state"])
    assert oauth.is_authenticated()
    with pytest.raises(StateError):
        await oauth.handle_redirect(callback["code"], callback["state"])


async def test_logout_revokes_and_clears_only_this_session(
    oidc_provider: OIDCProvider, transport: SwitchableAsyncTransport
) -> None:
    backend = MemoryStorage()  # one backend, two devices
    first = make_async_oauth(oidc_provider, transport, storage=NamespacedStorage(backend))
    second = make_async_oauth(oidc_provider, transport, storage=NamespacedStorage(backend))
    await sign_in(first, "alice")
    await sign_in(second, "bob")
    first_tokens = first.get_tokens()
    assert first_tokens is not None

    url = await first.logout()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oidc_provider.url}/logout"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["post_logout_redirect_uri"] == oidc_provider.logout_redirect_uri
    assert query["id_token_hint"] == first_tokens["id_token"]

    assert not first.is_authenticated()
    assert first.get_tokens() is None
    assert refresh_token_is_revoked(oidc_provider, first_tokens["refresh_token"])
    assert second.is_authenticated()
    assert second.get_user_info()["sub"] == "bob"  # type: ignore[index]
    await second.refresh_tokens()


async def test_owns_and_closes_its_transport(oidc_provider: OIDCProvider) -> None:
    async with AsyncOAuth(**client_settings(oidc_provider)) as oauth:
        assert (await oauth.login()).startswith(oidc_provider.url)
    with pytest.raises(KindeConnectionError, match="closed"):
        await oauth._transport.request("GET", oidc_provider.url)
