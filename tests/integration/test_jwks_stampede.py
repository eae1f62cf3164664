"""No stampede on the JWKS endpoint when it fails (issue 14, item 2, JWKS half), sync and
async: the callers waiting on a failed fetch share its error (one request for all of
them), and failed fetches back off with jitter instead of one try per caller."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy, failure_backoff
from kinde_sdk._transport import Transport
from kinde_sdk.auth import TokenValidator
from kinde_sdk.auth._jwks import JWKS_FAILURE_BACKOFF_MAX
from kinde_sdk.auth.async_token_validator import AsyncTokenValidator
from kinde_sdk.errors import JWKSFetchError, KindeConnectionError
from tests.integration.test_deadlines import a_token
from tests.integration.test_refresh_stampede import run_threads
from tests.servers.hostile import HostileServer, Route, anyio_backend_fixture, server_fixture  # noqa: F401 - fixtures
from tests.unit.test_token_validator import Clock, FakeTransport

pytestmark = pytest.mark.anyio

CALLERS = 64
JWKS = "/.well-known/jwks.json"
NO_RETRY = RetryPolicy(max_retries=0, deadline=30)


def test_failure_backoff_grows_with_jitter_and_a_cap() -> None:
    assert failure_backoff(0, 30, 120) == 0.0
    assert failure_backoff(1, 30, 120, lambda: 1.0) == 30
    assert failure_backoff(1, 30, 120, lambda: 0.0) == 15
    assert failure_backoff(3, 30, 120, lambda: 1.0) == 120
    assert failure_backoff(50, 30, 120, lambda: 1.0) == 120
    assert failure_backoff(5, 0, 120) == 0.0  # a cooldown of 0 opts out


@pytest.mark.parametrize("status", [500, 503])
def test_64_threads_and_a_failing_endpoint_make_one_request(
    server: HostileServer, status: int
) -> None:
    # A slow failure, so that every thread arrives while the fetch is in flight.
    server.routes[JWKS] = Route("trickle_body", status=status, body=b"x", interval=0.01, size=50)
    token = a_token()
    with Transport(timeout=10, retry=NO_RETRY) as transport:
        validator = TokenValidator(server.url, transport=transport)
        errors = run_threads(lambda: validator.verify(token), CALLERS)
        # And callers after the failure, inside the backoff, send nothing either.
        for _ in range(10):
            with pytest.raises(JWKSFetchError):
                validator.verify(token)
    assert len(errors) == CALLERS
    assert all(isinstance(e, JWKSFetchError) for e in errors)
    assert server.count(JWKS) == 1


async def test_64_coroutines_and_a_failing_endpoint_make_one_request(
    server: HostileServer,
) -> None:
    server.routes[JWKS] = Route("trickle_body", status=500, body=b"x", interval=0.01, size=50)
    token = a_token()
    async with AsyncTransport(timeout=10, retry=NO_RETRY) as transport:
        validator = AsyncTokenValidator(server.url, transport=transport)
        results = await asyncio.gather(
            *(validator.verify(token) for _ in range(CALLERS)), return_exceptions=True
        )
        for _ in range(10):
            with pytest.raises(JWKSFetchError):
                await validator.verify(token)
    assert all(isinstance(r, JWKSFetchError) for r in results)
    assert server.count(JWKS) == 1


def failing_validator() -> tuple[TokenValidator, FakeTransport, Clock]:
    transport = FakeTransport({"keys": []})
    transport.error = KindeConnectionError("down")
    clock = Clock()
    validator = TokenValidator(
        "https://acme.kinde.com",
        transport=transport,  # type: ignore[arg-type]
        clock=clock,
        jwks_cooldown=30,
    )
    validator._jwks._rand = lambda: 1.0  # the top of each jittered range
    return validator, transport, clock


def verify_fails(validator: TokenValidator, token: str) -> None:
    with pytest.raises(JWKSFetchError):
        validator.verify(token)


def test_failed_fetches_back_off_exponentially() -> None:
    validator, transport, clock = failing_validator()
    token = a_token()
    attempts_at: list[float] = []
    start = clock.now
    while clock.now - start < 600:
        before = transport.calls
        verify_fails(validator, token)
        if transport.calls > before:
            attempts_at.append(clock.now - start)
        clock.now += 1
    gaps = [b - a for a, b in zip(attempts_at, attempts_at[1:])]
    # cooldown 30 s, then doubling to the cap: 30, 60, 120, 120, ...
    assert gaps[:4] == [30, 60, 120, JWKS_FAILURE_BACKOFF_MAX]
    assert len(attempts_at) < 600 / 30  # far fewer than one per cooldown


def test_a_success_resets_the_backoff(rsa_key: Any) -> None:
    from tests.unit.test_token_validator import rsa_jwk

    validator, transport, clock = failing_validator()
    token = a_token()
    for _ in range(3):  # three failures: the next attempt is 120 s away
        verify_fails(validator, token)
        clock.now += 200
    transport.error = None
    transport.document = {"keys": [rsa_jwk(rsa_key, "other")]}
    with pytest.raises(Exception):  # noqa: B017 - keys fetched; this token's kid unknown
        validator.verify(token)
    calls = transport.calls
    clock.now += 31  # back to the plain cooldown after a success
    with pytest.raises(Exception):  # noqa: B017
        validator.verify(token)
    assert transport.calls == calls + 1


@pytest.fixture(scope="module")
def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_waiting_threads_get_the_leaders_error_without_a_request() -> None:
    # The leader's fetch blocks until released; the others wait on that same flight.
    release = threading.Event()
    calls = 0

    class SlowFailing:
        def request(self, method: str, url: str, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            release.wait(30)
            raise KindeConnectionError("down")

    validator = TokenValidator("https://acme.kinde.com", transport=SlowFailing())  # type: ignore[arg-type]
    token = a_token()
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=lambda: errors.append(_catch(validator, token))) for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # let the other threads reach the flight
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert calls == 1
    assert len(errors) == 16
    assert all(isinstance(e, JWKSFetchError) and "down" in str(e) for e in errors)


def _catch(validator: TokenValidator, token: str) -> BaseException:
    try:
        validator.verify(token)
    except BaseException as exc:
        return exc
    raise AssertionError("verify should have failed")
