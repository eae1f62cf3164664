"""The M2M token cache when the token endpoint fails (issue 14, item 2): 64 threads,
one token request, everyone gets its result, nobody waits for 63 others' requests.

Against a loopback token endpoint that answers 500, or hangs. Bounds on wall time are
generous (the machine is busy); the counts are exact.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Callable

import pytest
from pytest_httpserver import HTTPServer

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.errors import KindeTimeoutError, TokenError
from tests.integration.test_token_cache import (
    FakeClock,
    TokenEndpoint,
    provider_for,
    serve,
    wait_for,
)

THREADS = 64


@pytest.fixture
def client_id() -> str:
    return f"m2m-{uuid.uuid4().hex}"


def run_threads(target: Callable[[], str]) -> tuple[list[str], list[BaseException], float]:
    """Start THREADS callers at once; return (tokens, errors, wall seconds)."""
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker() -> None:
        try:
            barrier.wait(timeout=30.0)
            results.append(target())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60.0)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors, time.monotonic() - started


@pytest.fixture
def transport() -> Iterator[Transport]:
    with Transport(timeout=1.0, retry=RetryPolicy(max_retries=2)) as t:
        yield t


def test_endpoint_answering_500_gets_one_request_and_every_caller_its_error(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.failure = (500, b'{"message": "internal"}')
    provider = provider_for(httpserver, client_id, transport)

    results, errors, wall = run_threads(provider.token)

    assert results == []
    assert len(errors) == THREADS
    assert all(isinstance(e, TokenError) and e.status == 500 for e in errors)
    # One request for 64 callers (before the fix: 64 sequential ones).
    assert tokens.count == 1
    assert wall < 30.0


def test_hanging_endpoint_gets_one_request_and_ends_by_one_timeout(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()  # the endpoint hangs until the test ends
    provider = provider_for(httpserver, client_id, transport)
    try:
        results, errors, wall = run_threads(provider.token)
    finally:
        tokens.gate.set()

    assert results == []
    assert len(errors) == THREADS
    assert all(isinstance(e, TokenError) for e in errors)
    # The leader timed out once; the 63 others got that same failure.
    assert sum(isinstance(e.__cause__, KindeTimeoutError) for e in errors) == THREADS
    wait_for(lambda: tokens.count == 1)  # the released request reaches the handler
    time.sleep(0.2)
    assert tokens.count == 1
    # Before the fix: 64 sequential 1 s timeouts. Now one, plus a busy machine's slack.
    assert wall < 30.0


def test_inside_the_margin_callers_are_served_while_one_refresh_hangs(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint(lifetime=3600))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=60)
    assert provider.token() == "tok-1"
    clock.now += 3550.0  # inside the margin: tok-1 is valid for 50 s more
    tokens.gate = threading.Event()
    try:
        results, errors, _ = run_threads(provider.token)
    finally:
        tokens.gate.set()

    # The refresh timed out (1 s) and the refresher fell back on tok-1 as well.
    assert errors == []
    assert results == ["tok-1"] * THREADS
    wait_for(lambda: tokens.count == 2)  # the released refresh reaches the handler
    assert tokens.count == 2  # the first token and one refresh attempt, not 64

    # The failed refresh backs off: more callers do not try again at once...
    for _ in range(THREADS):
        assert provider.token() == "tok-1"
    assert tokens.count == 2
    # ...but after the backoff (at most 1 s) one caller refreshes.
    clock.now += 1.0
    assert provider.token() == "tok-3"


def test_inside_the_margin_a_failing_endpoint_is_asked_once(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint(lifetime=3600))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=60)
    assert provider.token() == "tok-1"
    clock.now += 3550.0
    tokens.failure = (500, b"")

    results, errors, _ = run_threads(provider.token)

    assert errors == []
    assert results == ["tok-1"] * THREADS
    assert tokens.count == 2  # the first token, then one refresh attempt, not 64
