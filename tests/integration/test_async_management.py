"""AsyncManagementClient's own behaviour: tokens, errors, request ids, settings, closing.

Against the loopback token front + Prism (tokens counted by the front) and against
pytest-httpserver where a test needs an answer Prism does not give (an error status).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from kinde_sdk._transport import REQUEST_ID_HEADER
from kinde_sdk.errors import KindeConfigurationError, NotFoundError, TokenError
from kinde_sdk.management import AsyncManagementClient, ManagementClient
from tests.servers._process import ServerProcess
from tests.servers.front import FrontServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def own_front(prism: ServerProcess) -> Iterator[FrontServer]:
    """A front with credentials no other test uses, so the token cache starts cold."""
    front = FrontServer(
        upstream=prism.url, client_id="async-m2m", client_secret=secrets.token_urlsafe(16)
    )
    front.start()
    yield front
    front.stop()


def _client(front: FrontServer, **options: object) -> AsyncManagementClient:
    return AsyncManagementClient(
        front.url, front.state.client_id, front.state.client_secret, max_retries=0, **options
    )


@pytest.mark.prism
async def test_100_concurrent_calls_on_a_cold_cache_make_one_token_request(
    own_front: FrontServer,
) -> None:
    async with _client(own_front) as client:
        pages = await asyncio.gather(*(client.users.get_users() for _ in range(100)))
    assert len(pages) == 100
    assert own_front.state.token_requests == 1
    assert own_front.state.api_requests == 100


@pytest.mark.prism
async def test_a_401_is_replayed_once_with_a_fresh_token(own_front: FrontServer) -> None:
    async with _client(own_front) as client:
        await client.users.get_users()
        with own_front.state.lock:
            own_front.state.tokens.clear()  # the API no longer accepts the cached token
        page = await client.users.get_users()
    assert page.users is not None
    assert own_front.state.token_requests == 2
    assert own_front.state.api_requests == 3  # 1 + the refused call + its replay


@pytest.mark.prism
async def test_sync_and_async_clients_with_the_same_credentials_share_one_token(
    own_front: FrontServer,
) -> None:
    with ManagementClient(
        own_front.url, own_front.state.client_id, own_front.state.client_secret
    ) as sync_client:
        token = sync_client.get_access_token()
        async with _client(own_front) as client:
            assert await client.get_access_token() == token
    assert own_front.state.token_requests == 1


@pytest.mark.prism
async def test_a_rotated_secret_gets_its_own_token(own_front: FrontServer) -> None:
    async with _client(own_front) as client:
        await client.users.get_users()
    old_secret = own_front.state.client_secret
    own_front.state.client_secret = secrets.token_urlsafe(16)  # rotated at Kinde
    async with _client(own_front) as client:
        assert (await client.users.get_users()).users is not None
    assert own_front.state.token_requests == 2
    async with AsyncManagementClient(
        own_front.url, own_front.state.client_id, old_secret, max_retries=0
    ) as stale:
        with pytest.raises(TokenError):
            # Its cached token is still valid at the front: drop it to force a request.
            await stale._tokens.invalidate(await stale.get_access_token())
            await stale.users.get_users()


async def test_error_statuses_are_sdk_errors_with_the_request_id(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "t", "expires_in": 3600, "token_type": "bearer"}
    )
    httpserver.expect_request("/api/v1/user").respond_with_json(
        {"errors": [{"code": "USER_NOT_FOUND", "message": "no such user"}]},
        status=404,
        headers={"X-Request-Id": "req-from-kinde"},
    )
    async with AsyncManagementClient(
        httpserver.url_for("/").rstrip("/"), "id", "s3cret-value", max_retries=0
    ) as client:
        with pytest.raises(NotFoundError) as raised:
            await client.users.get_user_data(id="kp_missing")
    error = raised.value
    assert error.status == 404
    assert error.code == "USER_NOT_FOUND"
    assert error.request_id == "req-from-kinde"
    api_request = next(r for r, _ in httpserver.log if r.path == "/api/v1/user")
    assert api_request.headers[REQUEST_ID_HEADER]  # every request carries an id
    assert api_request.headers["Authorization"] == "Bearer t"
    assert "s3cret-value" not in repr(client) and "s3cret-value" not in str(error)


async def test_settings_come_from_the_same_environment_as_the_sync_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KINDE_DOMAIN", "acme.kinde.com")
    monkeypatch.setenv("KINDE_MANAGEMENT_CLIENT_ID", "m2m-id")
    monkeypatch.setenv("KINDE_MANAGEMENT_CLIENT_SECRET", "m2m-secret")
    async with AsyncManagementClient() as client:
        sync_client = ManagementClient()
        assert (
            (client.origin, client.client_id, client.audience)
            == (
                sync_client.origin,
                sync_client.client_id,
                sync_client.audience,
            )
            == ("https://acme.kinde.com", "m2m-id", "https://acme.kinde.com/api")
        )
        assert "m2m-secret" not in repr(client)
    monkeypatch.delenv("KINDE_MANAGEMENT_CLIENT_SECRET")
    monkeypatch.delenv("KINDE_CLIENT_SECRET", raising=False)
    with pytest.raises(KindeConfigurationError, match="client_secret"):
        AsyncManagementClient()
    with pytest.raises(KindeConfigurationError, match="plain http"):
        AsyncManagementClient("http://acme.kinde.com", "id", "secret")


async def test_aclose_closes_the_pool_and_a_given_transport_stays_open() -> None:
    from kinde_sdk._async_transport import AsyncTransport

    client = AsyncManagementClient("https://acme.kinde.com", "id", "secret")
    async with client:
        pass
    assert client._transport._closed
    async with AsyncTransport() as shared:
        async with AsyncManagementClient(
            "https://acme.kinde.com", "id", "secret", transport=shared
        ):
            pass
        assert not shared._closed


def test_the_constructors_take_the_same_arguments() -> None:
    import inspect

    sync_params = inspect.signature(ManagementClient.__init__).parameters
    async_params = inspect.signature(AsyncManagementClient.__init__).parameters
    assert list(async_params) == list(sync_params)
    for name, param in sync_params.items():
        assert async_params[name].kind == param.kind, name
        assert async_params[name].default == param.default, name
