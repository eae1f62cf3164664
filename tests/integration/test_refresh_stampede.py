"""No stampede on the token endpoint when a session's refresh fails (issue 14, item 2,
OAuth refresh and discovery paths), sync and async. 64 callers of one session:

* token expired, endpoint failing: one refresh request; every caller gets its error
  (before: 64 requests, one after another);
* token still valid inside the refresh margin, endpoint hanging: the still-valid token is
  served to every caller at once while one refresh tries (before: 64 sequential waits);
* after a failure the session backs off (with jitter) before the next attempt;
* the same for OpenID discovery: one request, its error shared, then a backoff.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.auth._oauth_core import REFRESH_BACKOFF_BASE, REFRESH_BACKOFF_MAX
from kinde_sdk.auth.async_oauth import AsyncOAuth
from kinde_sdk.auth.oauth import OAuth
from kinde_sdk.errors import KindeError, KindeTimeoutError, TokenError
from tests.integration.test_deadlines import discovery, oauth_settings
from tests.servers.hostile import HostileServer, Route, anyio_backend_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.anyio

CALLERS = 64
TOKEN = "/oauth2/token"
POLICY = RetryPolicy(max_retries=0, deadline=2)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        s.routes["/.well-known/openid-configuration"] = Route(body=discovery(s))
        yield s


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def store(client: Any, clock: Clock, *, expires_in: float) -> None:
    client._store.set(
        client._tokens_key,
        {"access_token": "at-old", "refresh_token": "rt", "expires_at": clock.now + expires_in},
    )


def failing(server: HostileServer) -> None:
    # A 500 that takes a moment, so that the callers pile up while it is in flight.
    server.routes[TOKEN] = Route(
        "trickle_body", status=500, body=b'{"error":"server_error"}', interval=0.01, size=30
    )


def run_threads(call: Any, count: int = CALLERS) -> list[Any]:
    """Run ``call`` in ``count`` threads released together; their results or errors."""
    results: list[Any] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run() -> None:
        start.wait()
        try:
            value = call()
        except BaseException as exc:
            value = exc
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_an_expired_session_and_a_failing_endpoint_make_one_request(
    server: HostileServer,
) -> None:
    failing(server)
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=-10)
        results = run_threads(client.get_access_token)
        assert len(results) == CALLERS
        assert all(isinstance(r, TokenError) for r in results)
        assert server.count(TOKEN) == 1
        # Within the backoff: the same error, still no request.
        with pytest.raises(TokenError):
            client.get_access_token()
        assert server.count(TOKEN) == 1
        # After it: one new attempt.
        clock.now += REFRESH_BACKOFF_MAX + 1
        with pytest.raises(TokenError):
            client.get_access_token()
        assert server.count(TOKEN) == 2
    assert client.get_tokens() is not None  # the session is kept


def test_a_still_valid_token_is_served_while_one_refresh_hangs(server: HostileServer) -> None:
    server.routes[TOKEN] = Route("trickle_headers")  # never answers within the deadline
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=30)  # inside the 60 s refresh margin
        results = run_threads(client.get_access_token)
    assert results == ["at-old"] * CALLERS
    assert server.count(TOKEN) == 1


def test_failures_back_off_with_growing_waits(server: HostileServer) -> None:
    server.routes[TOKEN] = Route(status=503, body=b"{}")
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=-10)
        attempts_at = []
        start = clock.now
        while clock.now - start < 120:
            before = server.count(TOKEN)
            with pytest.raises(KindeError):
                client.get_access_token()
            if server.count(TOKEN) > before:
                attempts_at.append(clock.now - start)
            clock.now += 0.25
    gaps = [b - a for a, b in zip(attempts_at, attempts_at[1:])]
    assert len(attempts_at) < 120 / 0.25 / 4  # far fewer than one per caller
    assert gaps[-1] > gaps[0]  # the waits grow
    assert max(gaps) <= REFRESH_BACKOFF_MAX + 0.25


def test_a_session_ended_by_invalid_grant_takes_its_backoff_along(server: HostileServer) -> None:
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        server.routes[TOKEN] = Route(status=503, body=b"{}")
        store(client, clock, expires_in=-10)
        for _ in range(6):  # six failures in a row: the next backoff would be the cap
            with pytest.raises(KindeError):
                client.get_access_token()
            clock.now += REFRESH_BACKOFF_MAX + 1
        server.routes[TOKEN] = Route(status=400, body=b'{"error":"invalid_grant"}')
        with pytest.raises(TokenError):
            client.get_access_token()
        assert client.get_tokens() is None  # the session ended
        # A new session on the same device: its first failure backs off as a first one
        # (at most REFRESH_BACKOFF_BASE), not with the ended session's count.
        server.routes[TOKEN] = Route(status=503, body=b"{}")
        store(client, clock, expires_in=-10)
        with pytest.raises(KindeError):
            client.get_access_token()
        before = server.count(TOKEN)
        clock.now += REFRESH_BACKOFF_BASE + 0.01
        with pytest.raises(KindeError):
            client.get_access_token()
        assert server.count(TOKEN) == before + 1


async def test_async_an_expired_session_and_a_failing_endpoint_make_one_request(
    server: HostileServer,
) -> None:
    failing(server)
    clock = Clock()
    async with AsyncTransport(timeout=5, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=-10)
        results = await asyncio.gather(
            *(client.get_access_token() for _ in range(CALLERS)), return_exceptions=True
        )
        assert all(isinstance(r, TokenError) for r in results)
        assert server.count(TOKEN) == 1
        with pytest.raises(TokenError):
            await client.get_access_token()
        assert server.count(TOKEN) == 1


async def test_async_a_still_valid_token_is_served_while_one_refresh_hangs(
    server: HostileServer,
) -> None:
    server.routes[TOKEN] = Route("trickle_headers")
    clock = Clock()
    async with AsyncTransport(timeout=5, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=30)
        first = asyncio.ensure_future(client.get_access_token())  # the one refresh
        await asyncio.sleep(0.2)
        others = await asyncio.gather(*(client.get_access_token() for _ in range(CALLERS)))
        assert others == ["at-old"] * CALLERS
        assert await first == "at-old"  # its refresh timed out; the token still serves
    assert server.count(TOKEN) == 1


def test_the_timeout_is_what_an_expired_session_raises(server: HostileServer) -> None:
    server.routes[TOKEN] = Route("trickle_headers")
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        store(client, clock, expires_in=-10)
        with pytest.raises(KindeTimeoutError):
            client.get_access_token()
        with pytest.raises(KindeTimeoutError):  # shared during the backoff
            client.get_access_token()
    assert server.count(TOKEN) == 1


DISCOVERY = "/.well-known/openid-configuration"


def test_64_threads_and_a_failing_discovery_make_one_request(server: HostileServer) -> None:
    server.routes[DISCOVERY] = Route("trickle_body", status=503, body=b"x", interval=0.01, size=30)
    clock = Clock()
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport, clock=clock)
        results = run_threads(client.login)
        assert all(isinstance(r, KindeError) for r in results)
        assert server.count(DISCOVERY) == 1
        server.routes[DISCOVERY] = Route(body=discovery(server))
        with pytest.raises(KindeError):  # still in the backoff: no request
            client.login()
        assert server.count(DISCOVERY) == 1
        clock.now += REFRESH_BACKOFF_MAX + 1
        assert client.login().startswith(server.url_for("/oauth2/auth"))
    assert server.count(DISCOVERY) == 2


async def test_async_64_coroutines_and_a_failing_discovery_make_one_request(
    server: HostileServer,
) -> None:
    server.routes[DISCOVERY] = Route("trickle_body", status=503, body=b"x", interval=0.01, size=30)
    clock = Clock()
    async with AsyncTransport(timeout=5, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport, clock=clock)
        results = await asyncio.gather(
            *(client.login() for _ in range(CALLERS)), return_exceptions=True
        )
        assert all(isinstance(r, KindeError) for r in results)
        assert server.count(DISCOVERY) == 1
        server.routes[DISCOVERY] = Route(body=discovery(server))
        clock.now += REFRESH_BACKOFF_MAX + 1
        assert (await client.login()).startswith(server.url_for("/oauth2/auth"))
    assert server.count(DISCOVERY) == 2


def test_failure_logs_and_errors_carry_no_secret(
    server: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="kinde_sdk")
    server.routes[TOKEN] = Route(status=500, body=b'{"error":"server_error"}')
    clock = Clock()
    secrets = ["client-secret-canary", "access-token-canary", "refresh-token-canary"]
    settings = {**oauth_settings(server), "client_secret": secrets[0]}
    errors: list[BaseException] = []
    with Transport(timeout=5, retry=POLICY) as transport:
        client = OAuth(**settings, transport=transport, clock=clock)
        for expires_in in (30, -10):  # served while still valid; raised once expired
            client._store.set(
                client._tokens_key,
                {
                    "access_token": secrets[1],
                    "refresh_token": secrets[2],
                    "expires_at": clock.now + expires_in,
                },
            )
            try:
                client.get_access_token()
            except KindeError as exc:
                errors.append(exc)
            clock.now += REFRESH_BACKOFF_MAX + 1
    assert "serving the still-valid access token" in caplog.text
    assert len(errors) == 1
    text = caplog.text + "".join(f"{e!s}{e!r}" for e in errors) + repr(client)
    for secret in secrets:
        assert secret not in text
