"""The async transport against a real loopback HTTP server (pytest-httpserver, 127.0.0.1).

As in ``test_transport.py``: every transport records its waits instead of sleeping (an
injected async ``sleep``), so retries cost no time and the number of attempts can be read
off the recorded waits; nothing asserts on durations, and read timeouts use handlers that
block until the test releases them. Several tests run one scenario through both
transports and compare, since they share one retry policy and must behave alike.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any, Callable, Optional, Union

import pytest
from pytest_httpserver import HTTPServer

from kinde_sdk._async_transport import AsyncTransport, _Slots
from kinde_sdk._retry import FailureKind, RetryPolicy, RetryState, failure_is_retryable
from kinde_sdk._transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    REQUEST_ID_HEADER,
    USER_AGENT,
    Response,
    Transport,
    connection_error,
)
from kinde_sdk.errors import KindeConnectionError, KindeTimeoutError
from tests.integration import test_transport
from tests.integration.test_transport import FakeClock, blocking_handler, wait_for

pytestmark = pytest.mark.anyio

# test_transport.py's fixtures, used here as they are there.
release = test_transport.release
refused_url = test_transport.refused_url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's async code is written for asyncio


class Sleeps(list[float]):
    """An async ``sleep`` that records its waits instead of waiting."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def transport(sleeps: Sleeps) -> AsyncIterator[AsyncTransport]:
    async with AsyncTransport(timeout=5.0, retry=RetryPolicy(max_retries=2), sleep=sleeps) as t:
        yield t


# -- basics ---------------------------------------------------------------------------------


async def test_get_returns_the_fully_read_response(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_json({"a": 1}, headers={"X-Thing": "yes"})

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 200
    assert response.json() == {"a": 1}
    assert response.headers["x-thing"] == response.headers["X-Thing"] == "yes"
    assert response.retry_after is None
    assert sleeps == []


def test_defaults_are_the_sync_transports() -> None:
    transport = AsyncTransport()
    assert transport.timeout == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert transport.retry == RetryPolicy()
    assert transport.headers == Transport().headers
    assert repr(transport).startswith("AsyncTransport(timeout=(5.0, 30.0)")


async def test_needs_no_http_library_but_the_sdks_own(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("httpx", "httpcore", "anyio", "aiohttp"):
        monkeypatch.setitem(sys.modules, name, None)  # makes `import <name>` fail
    httpserver.expect_request("/r").respond_with_json({"a": 1})

    async with AsyncTransport() as t:
        response = await t.request("GET", httpserver.url_for("/r"))

    assert response.json() == {"a": 1}


async def test_closed_transport_refuses_requests(httpserver: HTTPServer) -> None:
    transport = AsyncTransport()
    await transport.aclose()

    with pytest.raises(KindeConnectionError, match="closed"):
        await transport.request("GET", httpserver.url_for("/r"))

    assert httpserver.log == []


# -- the connection pool under concurrency ----------------------------------------------------


class HeldServer:
    """A loopback HTTP/1.1 keep-alive server on the test's own loop that holds each
    request until ``gate`` is set, recording the connections and the peak of requests in
    progress at once."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.peers: set[tuple[str, int]] = set()
        self.in_progress = 0
        self.peak = 0
        self.served = 0
        self.arrived = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.add(writer.get_extra_info("peername"))
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                self.arrived += 1
                self.in_progress += 1
                self.peak = max(self.peak, self.in_progress)
                await self.gate.wait()
                self.in_progress -= 1
                self.served += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def held_server() -> AsyncIterator[tuple[HeldServer, str]]:
    held = HeldServer()
    server = await asyncio.start_server(held.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield held, f"http://127.0.0.1:{port}/r"
    finally:
        held.gate.set()
        server.close()


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition`` holds (a generous bound, not a timing)."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def test_concurrent_requests_share_at_most_pool_maxsize_kept_alive_connections(
    held_server: tuple[HeldServer, str],
) -> None:
    held, url = held_server
    async with AsyncTransport(pool_maxsize=3, timeout=30.0) as t:
        calls = [asyncio.ensure_future(t.request("GET", url)) for _ in range(20)]
        await until(lambda: held.arrived == 3)
        await asyncio.sleep(0.05)  # room for a wrongly unbounded 4th request to arrive
        assert held.arrived == 3
        held.gate.set()
        responses = await asyncio.gather(*calls)
        # A second burst reuses the kept-alive connections.
        await asyncio.gather(*(t.request("GET", url) for _ in range(20)))

    assert [r.status for r in responses] == [200] * 20
    assert held.served == 40
    assert held.peak == 3
    assert len(held.peers) == 3


async def occupy_the_connection(
    t: AsyncTransport, held: HeldServer, url: str
) -> asyncio.Future[Response]:
    """A request held by the server on a 1-connection transport: the next ones queue."""
    first = asyncio.ensure_future(t.request("GET", url))
    await until(lambda: held.arrived == 1)
    return first


async def test_a_request_waiting_for_a_connection_keeps_to_its_deadline(
    held_server: tuple[HeldServer, str],
) -> None:
    held, url = held_server
    async with AsyncTransport(pool_maxsize=1, timeout=30.0) as t:
        first = await occupy_the_connection(t, held, url)

        with pytest.raises(KindeTimeoutError, match=re.escape("total deadline of 0.2s")):
            await t.request("GET", url, retry=RetryPolicy(deadline=0.2))

        held.gate.set()
        assert (await first).status == 200
        # The slot the expired waiter never took is still there.
        assert (await t.request("GET", url)).status == 200
    assert held.arrived == 2


async def test_cancelled_waiters_give_their_connection_back(
    held_server: tuple[HeldServer, str],
) -> None:
    held, url = held_server
    async with AsyncTransport(pool_maxsize=1, timeout=30.0) as t:
        first = await occupy_the_connection(t, held, url)
        queued = [asyncio.ensure_future(t.request("GET", url)) for _ in range(3)]
        await asyncio.sleep(0)
        for task in queued:
            task.cancel()
        held.gate.set()
        assert (await first).status == 200
        assert (await t.request("GET", url)).status == 200
    assert all(task.cancelled() for task in queued)
    assert held.served == 2


async def test_a_slot_handed_to_a_waiter_cancelled_before_it_runs_is_passed_on() -> None:
    slots = _Slots(1)
    assert await slots.acquire(10.0)
    handed = asyncio.ensure_future(slots.acquire(10.0))
    after = asyncio.ensure_future(slots.acquire(10.0))
    await asyncio.sleep(0)  # both wait now
    slots.release()  # hands the slot to `handed`...
    handed.cancel()  # ...which is cancelled before it could run
    assert await after is True
    assert handed.cancelled()
    slots.release()
    assert await slots.acquire(10.0)  # one slot, neither lost nor doubled
    assert not await slots.acquire(0.01)


def test_pool_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError, match="pool_maxsize"):
        AsyncTransport(pool_maxsize=0)


# -- retries on statuses ----------------------------------------------------------------------


async def test_503_with_retry_after_waits_as_told_then_succeeds(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data(
        "busy", status=503, headers={"Retry-After": "2"}
    )
    httpserver.expect_request("/r").respond_with_data("ok")

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 200
    assert response.data == b"ok"
    assert sleeps == [2.0]
    assert len(httpserver.log) == 2


async def test_429_with_retry_after_waits_as_told_then_succeeds(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_oneshot_request("/r").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_request("/r").respond_with_data("ok")

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 200
    assert sleeps == [3.0, 0.0]
    assert len(httpserver.log) == 3


async def test_exhaustion_returns_the_last_response(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "busy", status=503, headers={"Retry-After": "1"}
    )

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 503
    assert response.retry_after == 1.0
    assert sleeps == [1.0, 1.0]
    assert len(httpserver.log) == 3


async def test_retry_after_beyond_the_cap_is_not_waited_for(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "later", status=429, headers={"Retry-After": "3600"}
    )

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 429
    assert sleeps == []
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_non_idempotent_requests_are_not_retried_on_503(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps, method: str
) -> None:
    httpserver.expect_request("/r", method=method).respond_with_data(
        "busy", status=503, headers={"Retry-After": "1"}
    )

    response = await transport.request(method, httpserver.url_for("/r"), body=b"{}")

    assert response.status == 503
    assert sleeps == []
    assert len(httpserver.log) == 1


async def test_other_statuses_are_returned_at_once(
    httpserver: HTTPServer, transport: AsyncTransport, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/r").respond_with_data("nope", status=501)

    response = await transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 501
    assert sleeps == []


async def test_no_retry_wait_crosses_the_deadline(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=503)
    clock = FakeClock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    policy = RetryPolicy(max_retries=10, backoff_base=1.0, backoff_max=100.0, deadline=5.0)
    async with AsyncTransport(retry=policy, sleep=sleep, clock=clock, rand=lambda: 1.0) as t:
        response = await t.request("GET", httpserver.url_for("/r"))

    # Waits 1 + 2 fit in 5 s; the next (4) would end at 7 s, so the call gives up.
    assert response.status == 503
    assert sleeps == [1.0, 2.0]
    assert len(httpserver.log) == 3


async def test_overshooting_the_deadline_raises_timeout_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=503)
    clock = FakeClock()

    async def sleep(seconds: float) -> None:
        clock.now += seconds + 10.0  # e.g. the loop was starved while waiting

    policy = RetryPolicy(max_retries=3, deadline=5.0)
    t = AsyncTransport(retry=policy, sleep=sleep, clock=clock, rand=lambda: 1.0)
    async with t:
        with pytest.raises(KindeTimeoutError, match="total deadline of 5s"):
            await t.request("GET", httpserver.url_for("/r"))

    assert len(httpserver.log) == 1


# -- connection failures ----------------------------------------------------------------------


async def test_read_timeout_raises_timeout_error(
    httpserver: HTTPServer, release: threading.Event, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/slow").respond_with_handler(blocking_handler(release))

    t = AsyncTransport(timeout=0.5, retry=RetryPolicy(max_retries=0), sleep=sleeps)
    async with t:
        with pytest.raises(KindeTimeoutError) as info:
            await t.request("GET", httpserver.url_for("/slow"))

    assert "timed out reading the response" in str(info.value)
    assert info.value.url == httpserver.url_for("/slow")
    assert sleeps == []
    release.set()
    wait_for(lambda: len(httpserver.log) == 1)


async def test_read_timeout_on_post_is_not_retried(
    httpserver: HTTPServer, release: threading.Event, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/slow", method="POST").respond_with_handler(
        blocking_handler(release)
    )

    t = AsyncTransport(timeout=0.5, retry=RetryPolicy(max_retries=3), sleep=sleeps)
    async with t:
        with pytest.raises(KindeTimeoutError):
            await t.request("POST", httpserver.url_for("/slow"), body=b"{}")

    # The request reached the server, so repeating a POST could apply it twice.
    assert sleeps == []
    release.set()
    wait_for(lambda: len(httpserver.log) == 1)


async def test_read_timeout_on_get_is_retried(
    httpserver: HTTPServer, release: threading.Event, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/slow").respond_with_handler(blocking_handler(release))

    t = AsyncTransport(timeout=0.5, retry=RetryPolicy(max_retries=1), sleep=sleeps)
    async with t:
        with pytest.raises(KindeTimeoutError):
            await t.request("GET", httpserver.url_for("/slow"))

    assert len(sleeps) == 1
    release.set()
    wait_for(lambda: len(httpserver.log) == 2)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_connection_refused_is_retried_for_any_method(
    refused_url: str, transport: AsyncTransport, sleeps: Sleeps, method: str
) -> None:
    # Refused: the request never reached a server, so even a POST is safe to repeat.
    with pytest.raises(KindeConnectionError, match="cannot connect") as info:
        await transport.request(method, refused_url + "/r", body=b"{}")

    assert not isinstance(info.value, KindeTimeoutError)
    assert len(sleeps) == 2


async def test_tls_errors_are_not_retried(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    # https to a plain-http server: the handshake fails, and would fail again.
    url = httpserver.url_for("/r").replace("http://", "https://")
    async with AsyncTransport(retry=RetryPolicy(max_retries=3), sleep=sleeps) as t:
        with pytest.raises(KindeConnectionError, match="TLS error"):
            await t.request("GET", url)

    assert sleeps == []


# -- headers, bodies, logs --------------------------------------------------------------------


async def test_request_id_and_user_agent_are_sent_and_kept_across_retries(
    httpserver: HTTPServer, transport: AsyncTransport
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data("", status=503)
    httpserver.expect_request("/r").respond_with_data("ok")

    response = await transport.request("GET", httpserver.url_for("/r"))

    ids = [request.headers[REQUEST_ID_HEADER] for request, _ in httpserver.log]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert re.fullmatch(r"[0-9a-f]{32}", ids[0])
    assert response.request_id == ids[0]
    assert {request.headers["User-Agent"] for request, _ in httpserver.log} == {USER_AGENT}


async def test_explicit_request_id_and_the_servers_own(
    httpserver: HTTPServer, transport: AsyncTransport
) -> None:
    httpserver.expect_request("/mine").respond_with_data("ok")
    httpserver.expect_request("/theirs").respond_with_data("ok", headers={"X-Request-Id": "srv"})

    mine = await transport.request("GET", httpserver.url_for("/mine"), request_id="abc")
    theirs = await transport.request("GET", httpserver.url_for("/theirs"), request_id="abc")

    assert httpserver.log[0][0].headers[REQUEST_ID_HEADER] == "abc"
    assert mine.request_id == "abc"
    assert theirs.request_id == "srv"


async def test_each_call_gets_its_own_request_id(
    httpserver: HTTPServer, transport: AsyncTransport
) -> None:
    httpserver.expect_request("/r").respond_with_data("ok")

    first = await transport.request("GET", httpserver.url_for("/r"))
    second = await transport.request("GET", httpserver.url_for("/r"))

    assert first.request_id != second.request_id


async def test_default_and_call_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("ok")

    async with AsyncTransport(headers={"X-Default": "d"}) as t:
        await t.request("GET", httpserver.url_for("/r"), headers={"X-Call": "c"})

    sent = httpserver.log[0][0].headers
    assert sent["X-Default"] == "d" and sent["X-Call"] == "c"


def form_fields() -> list[tuple[str, Any]]:
    return [("grant_type", "client_credentials"), ("scope", "a b"), ("scope", "c&d")]


@pytest.mark.parametrize("encode_multipart", [False, True])
async def test_form_fields_are_encoded_as_the_sync_transport_encodes_them(
    httpserver: HTTPServer, transport: AsyncTransport, encode_multipart: bool
) -> None:
    httpserver.expect_request("/form", method="POST").respond_with_data("ok")

    await transport.request(
        "POST", httpserver.url_for("/form"), fields=form_fields(), encode_multipart=encode_multipart
    )
    with Transport() as sync:
        sync.request(
            "POST",
            httpserver.url_for("/form"),
            fields=form_fields(),
            encode_multipart=encode_multipart,
        )

    (async_request, _), (sync_request, _) = httpserver.log
    assert async_request.form.to_dict(flat=False) == sync_request.form.to_dict(flat=False)
    assert async_request.form.getlist("scope") == ["a b", "c&d"]
    kind = "multipart/form-data" if encode_multipart else "application/x-www-form-urlencoded"
    assert async_request.mimetype == sync_request.mimetype == kind


async def test_fields_of_a_get_go_in_the_query_string(
    httpserver: HTTPServer, transport: AsyncTransport
) -> None:
    httpserver.expect_request("/q").respond_with_data("ok")

    await transport.request("GET", httpserver.url_for("/q"), fields=[("a", "1"), ("b", "x y")])

    request = httpserver.log[0][0]
    assert request.args.to_dict() == {"a": "1", "b": "x y"}
    assert request.get_data() == b""


async def test_logs_carry_neither_headers_nor_bodies(
    httpserver: HTTPServer, transport: AsyncTransport, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "canary-3f1e9a"
    httpserver.expect_oneshot_request("/r").respond_with_data(canary, status=503)  # POST
    httpserver.expect_oneshot_request("/r").respond_with_data(canary, status=503)  # GET
    httpserver.expect_request("/r").respond_with_data(canary)

    with caplog.at_level(logging.DEBUG, logger="kinde_sdk"):
        await transport.request(
            "POST",
            httpserver.url_for("/r") + f"?secret={canary}",
            headers={"Authorization": f"Bearer {canary}"},
            body=canary.encode(),
        )
        await transport.request("GET", httpserver.url_for("/r") + f"?secret={canary}")

    ours = [r.getMessage() for r in caplog.records if r.name == "kinde_sdk"]
    assert any("-> 200" in message for message in ours)
    assert any("retrying GET" in message for message in ours)
    assert not [message for message in ours if canary in message]


# -- the same policy as the sync transport ----------------------------------------------------


Scenario = Callable[[HTTPServer], None]


def busy_busy_ok(server: HTTPServer) -> None:
    server.expect_oneshot_request("/r").respond_with_data("", status=502)
    server.expect_oneshot_request("/r").respond_with_data("", status=504)
    server.expect_oneshot_request("/r").respond_with_data("", status=408)
    server.expect_request("/r").respond_with_data("ok")


def always_busy(server: HTTPServer) -> None:
    server.expect_request("/r").respond_with_data("", status=429, headers={"Retry-After": "1.5"})


def not_found(server: HTTPServer) -> None:
    server.expect_request("/r").respond_with_data("", status=404)


@pytest.mark.parametrize("scenario", [busy_busy_ok, always_busy, not_found])
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
async def test_both_transports_make_the_same_decisions(
    httpserver: HTTPServer, scenario: Scenario, method: str
) -> None:
    policy = RetryPolicy(max_retries=3)

    def run_sync() -> tuple[int, list[float], int]:
        httpserver.clear()
        scenario(httpserver)
        sleeps: list[float] = []
        with Transport(retry=policy, sleep=sleeps.append, rand=lambda: 0.25) as t:
            status = t.request(method, httpserver.url_for("/r")).status
        return status, sleeps, len(httpserver.log)

    async def run_async() -> tuple[int, list[float], int]:
        httpserver.clear()
        scenario(httpserver)
        sleeps = Sleeps()
        async with AsyncTransport(retry=policy, sleep=sleeps, rand=lambda: 0.25) as t:
            status = (await t.request(method, httpserver.url_for("/r"))).status
        return status, list(sleeps), len(httpserver.log)

    assert await run_async() == run_sync()


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_both_transports_fail_alike_on_connection_errors(
    refused_url: str, method: str
) -> None:
    policy = RetryPolicy(max_retries=1)

    def outcome(exc: Union[KindeConnectionError, None], sleeps: list[float]) -> tuple[Any, ...]:
        assert exc is not None
        return type(exc), str(exc), exc.url, sleeps

    sync_sleeps: list[float] = []
    sync_error: Optional[KindeConnectionError] = None
    with Transport(retry=policy, sleep=sync_sleeps.append, rand=lambda: 0.5) as t:
        try:
            t.request(method, refused_url + "/r?x=1")
        except KindeConnectionError as exc:
            sync_error = exc

    async_sleeps = Sleeps()
    async_error: Optional[KindeConnectionError] = None
    async with AsyncTransport(retry=policy, sleep=async_sleeps, rand=lambda: 0.5) as at:
        try:
            await at.request(method, refused_url + "/r?x=1")
        except KindeConnectionError as exc:
            async_error = exc

    assert outcome(async_error, list(async_sleeps)) == outcome(sync_error, sync_sleeps)


# -- the shared pieces, without a server ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error_type", "retried_post"),
    [
        ("connect", KindeConnectionError, True),
        ("connect_timeout", KindeTimeoutError, True),
        ("read_timeout", KindeTimeoutError, False),
        ("write_timeout", KindeTimeoutError, False),
        ("broken", KindeConnectionError, False),
        ("other", KindeConnectionError, False),
    ],
)
def test_failure_kinds_decide_retries_and_errors(
    kind: FailureKind, error_type: type[KindeConnectionError], retried_post: bool
) -> None:
    error = connection_error(kind, "POST", "https://x/y")
    assert type(error) is error_type
    assert error.url == "https://x/y"
    assert failure_is_retryable("GET", kind)
    assert failure_is_retryable("POST", kind) is retried_post
    assert not failure_is_retryable("GET", "tls")


def test_retry_state_counts_retries_and_respects_the_deadline() -> None:
    clock = FakeClock()
    state = RetryState(
        RetryPolicy(max_retries=2, deadline=10.0), "get", clock=clock, rand=lambda: 1.0
    )

    assert state.after_status(200, {}) is None
    assert state.after_status(503, {"Retry-After": "4"}) == 4.0
    clock.now += 4.0
    assert state.after_failure("tls") is None
    # Backoff would be 1.0 (0.5 * 2**1), within the 6 s left.
    assert state.after_failure("read_timeout") == 1.0
    assert state.retries == 2
    assert state.after_status(503, {}) is None  # retries exhausted
    assert state.remaining() == 6.0
