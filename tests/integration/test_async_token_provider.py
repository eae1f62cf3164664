"""The async M2M token provider and AsyncClientCredentials (issue 10), against a loopback
token endpoint: single flight for 100 tasks, one replay on a 401, rotated secrets, and
several event loops in one process sharing one token cache but no asyncio object.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest
from pytest_httpserver import HTTPServer

from kinde_sdk._async_token_cache import AsyncClientCredentialsTokenProvider
from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Response, Transport
from kinde_sdk.auth import AsyncClientCredentials, ClientCredentials
from kinde_sdk.errors import KindeConfigurationError, TokenError
from tests.integration.test_token_cache import TokenEndpoint, origin, provider_for, serve

pytestmark = pytest.mark.anyio

TASKS = 100


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def client_id() -> str:
    return f"m2m-{uuid.uuid4().hex}"


@pytest.fixture
async def transport() -> AsyncIterator[AsyncTransport]:
    async with AsyncTransport(timeout=5.0, retry=RetryPolicy(max_retries=0)) as t:
        yield t


def async_provider(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport, secret: str = "s3cret"
) -> AsyncClientCredentialsTokenProvider:
    return AsyncClientCredentialsTokenProvider(
        token_url=f"{origin(httpserver)}/oauth2/token",
        client_id=client_id,
        client_secret=secret,
        audience=f"{origin(httpserver)}/api",
        transport=transport,
    )


async def test_100_tasks_on_a_cold_cache_make_one_token_request(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()
    provider = async_provider(httpserver, client_id, transport)
    try:
        tasks = [asyncio.ensure_future(provider.token()) for _ in range(TASKS)]
        # The response is held while every task starts and finds the cache cold.
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in tasks)
        tokens.gate.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks), 30.0)
    finally:
        tokens.gate.set()

    assert results == ["tok-1"] * TASKS
    assert tokens.count == 1
    assert tokens.forms[0]["client_secret"] == "s3cret"


async def test_a_failure_is_shared_by_the_100_tasks(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.failure = (500, b"")
    provider = async_provider(httpserver, client_id, transport)

    results = await asyncio.gather(
        *(provider.token() for _ in range(TASKS)), return_exceptions=True
    )

    assert all(isinstance(r, TokenError) and r.status == 500 for r in results)
    assert tokens.count == 1


async def test_401_is_replayed_once_with_a_fresh_token(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    provider = async_provider(httpserver, client_id, transport)
    sent: list[str] = []

    async def send(token: str) -> Response:
        sent.append(token)
        status = 401 if token == "tok-1" else 200
        return Response(status=status, headers={}, data=b"{}", request_id="r", raw=None)

    response = await provider.send_with_token(send)

    assert response.status == 200
    assert sent == ["tok-1", "tok-2"]
    assert tokens.count == 2
    # A second 401 is returned, not replayed again.
    sent.clear()

    async def always_401(token: str) -> Response:
        sent.append(token)
        return Response(status=401, headers={}, data=b"{}", request_id="r", raw=None)

    assert (await provider.send_with_token(always_401)).status == 401
    assert sent == ["tok-2", "tok-3"]


async def test_a_rotated_secret_gets_its_own_token(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    old = async_provider(httpserver, client_id, transport, secret="secret-v1")
    rotated = async_provider(httpserver, client_id, transport, secret="secret-v2")

    assert await old.token() == "tok-1"
    assert await rotated.token() == "tok-2"
    assert await old.token() == "tok-1"
    assert [form["client_secret"] for form in tokens.forms] == ["secret-v1", "secret-v2"]


async def test_sync_and_async_providers_share_the_token(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    with Transport(timeout=5.0) as sync_transport:
        # Kept alive: a slot lives while a client uses it.
        sync_provider = provider_for(httpserver, client_id, sync_transport)
        assert sync_provider.token() == "tok-1"
    assert await async_provider(httpserver, client_id, transport).token() == "tok-1"
    assert tokens.count == 1


async def test_a_cancelled_leader_hands_the_flight_over(
    httpserver: HTTPServer, client_id: str, transport: AsyncTransport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()
    provider = async_provider(httpserver, client_id, transport)
    try:
        leader = asyncio.ensure_future(provider.token())
        await asyncio.sleep(0.2)
        waiters = [asyncio.ensure_future(provider.token()) for _ in range(10)]
        await asyncio.sleep(0.1)
        leader.cancel()
        await asyncio.sleep(0.1)
        tokens.gate.set()
        results = await asyncio.wait_for(asyncio.gather(*waiters), 30.0)
    finally:
        tokens.gate.set()
    assert leader.cancelled()
    assert len(set(results)) == 1
    assert results[0].startswith("tok-")


def test_several_event_loops_share_one_token_and_no_asyncio_object(
    httpserver: HTTPServer, client_id: str
) -> None:
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()
    credentials = AsyncClientCredentials(
        token_url=f"{origin(httpserver)}/oauth2/token",
        client_id=client_id,
        client_secret="s3cret",
        audience=f"{origin(httpserver)}/api",
    )
    loops = 4
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(loops)

    async def on_this_loop() -> None:
        barrier.wait(timeout=30.0)
        try:
            results.extend(
                await asyncio.gather(*(credentials.get_access_token() for _ in range(25)))
            )
        finally:
            await credentials.aclose()

    def thread_main() -> None:
        try:
            asyncio.run(on_this_loop())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread_main) for _ in range(loops)]
    for thread in threads:
        thread.start()
    threading.Timer(0.5, tokens.gate.set).start()
    for thread in threads:
        thread.join(timeout=60.0)
    tokens.gate.set()

    assert errors == []
    assert results == ["tok-1"] * 100
    assert tokens.count == 1


async def test_async_client_credentials_is_the_twin_of_client_credentials(
    httpserver: HTTPServer, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint())
    monkeypatch.setenv("KINDE_CLIENT_SECRET", "from-env")
    kwargs = {
        "client_id": client_id,
        "audience": "https://api.example",
        "token_url": f"{origin(httpserver)}/oauth2/token",
    }
    sync = ClientCredentials(**kwargs)  # type: ignore[arg-type]
    async with AsyncClientCredentials(**kwargs) as credentials:  # type: ignore[arg-type]
        assert repr(credentials).replace("Async", "") == repr(sync)
        assert "from-env" not in repr(credentials)
        assert await credentials.headers() == {"Authorization": "Bearer tok-1"}
        await credentials.invalidate("tok-1")
        assert await credentials.get_access_token() == "tok-2"
        assert credentials.token_url == kwargs["token_url"]
    assert tokens.forms[0]["client_secret"] == "from-env"
    assert tokens.forms[0]["audience"] == "https://api.example"

    monkeypatch.delenv("KINDE_CLIENT_SECRET")
    monkeypatch.delenv("KINDE_CLIENT_ID", raising=False)
    with pytest.raises(KindeConfigurationError, match="client_secret"):
        AsyncClientCredentials(**kwargs)  # type: ignore[arg-type]


async def test_async_client_credentials_discovers_the_token_endpoint(
    httpserver: HTTPServer, client_id: str
) -> None:
    tokens = TokenEndpoint()
    httpserver.expect_request("/.well-known/openid-configuration").respond_with_json(
        {"token_endpoint": f"{origin(httpserver)}/custom/token"}
    )
    httpserver.expect_request("/custom/token", method="POST").respond_with_handler(tokens)
    async with AsyncClientCredentials(origin(httpserver), client_id, "s3cret") as credentials:
        assert credentials.token_url is None
        results = await asyncio.gather(*(credentials.get_access_token() for _ in range(20)))
        assert credentials.token_url == f"{origin(httpserver)}/custom/token"
    assert results == ["tok-1"] * 20
    assert tokens.count == 1
    discoveries = [r for r, _ in httpserver.log if r.path.startswith("/.well-known")]
    assert len(discoveries) == 1
