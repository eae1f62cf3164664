"""AsyncTokenValidator against a real local JWKS server (pytest-httpserver on 127.0.0.1).

The keys, the clock, the JWKS endpoint and the token minting are ``test_jwks.py``'s
(imported, not copied), so the async validator is held to the sync one's cases. Time
never passes by sleeping: the validator's clock is injected and advanced by the tests.

The concurrency tests hold the JWKS response in the server until a coroutine on the
test's own event loop releases it. So they also show that nothing in a verification
blocks the loop: if a fetch blocked it, the release could never run and the test would
fail (after a bound) instead of passing.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Callable

import jwt
import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk.auth import AsyncTokenValidator
from kinde_sdk.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    JWKSFetchError,
    KindeConfigurationError,
    TokenExpiredError,
    UnknownKeyError,
)
from tests.integration import test_jwks
from tests.integration.test_jwks import (
    AUDIENCE,
    BAD_TOKENS,
    COOLDOWN,
    LEEWAY,
    START,
    TTL,
    Env,
    assert_token_not_leaked,
    webhook_event,
)

pytestmark = pytest.mark.anyio

# test_jwks.py's fixtures, used here as they are there: the RSA keys, the clock, the JWKS
# endpoint with its Env (and the sync transport under Env's sync validator, which some
# tests compare with).
keys = test_jwks.keys
clock = test_jwks.clock
transport = test_jwks.transport
env = test_jwks.env

SUB = "kp_0123456789abcdef"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's async code is written for asyncio


@pytest.fixture
async def async_transport() -> AsyncIterator[AsyncTransport]:
    # No retries: a failing endpoint is seen as failing at once, without backoff waits.
    async with AsyncTransport(timeout=5, retry=RetryPolicy(max_retries=0)) as t:
        yield t


def make_validator(
    env: Env, transport: AsyncTransport, audience: Any = AUDIENCE, **kwargs: Any
) -> AsyncTokenValidator:
    """What ``Env.validator`` makes, but async."""
    options: dict[str, Any] = {
        "transport": transport,
        "clock": env.clock,
        "jwks_cache_ttl": TTL,
        "jwks_cooldown": COOLDOWN,
        "leeway": LEEWAY,
    }
    options.update(kwargs)
    return AsyncTokenValidator(env.origin, audience, **options)


@pytest.fixture
def validator(env: Env, async_transport: AsyncTransport) -> AsyncTokenValidator:
    return make_validator(env, async_transport)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a held JWKS response go; always set at teardown, so no handler stays stuck."""
    event = threading.Event()
    yield event
    event.set()


def hold_responses(env: Env, release: threading.Event) -> None:
    """From now on the JWKS endpoint answers only once ``release`` is set."""

    def hold() -> None:
        assert release.wait(30)

    env.endpoint.on_request = hold


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Bounded polling that lets the event loop run."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


# --- one token at a time ---------------------------------------------------------------------


async def test_valid_token_verifies_and_returns_its_claims(
    env: Env, validator: AsyncTokenValidator
) -> None:
    token = env.mint("k1", permissions=["read:things", "write:things"])

    claims = await validator.verify(token)

    assert claims["sub"] == SUB
    assert claims["permissions"] == ["read:things", "write:things"]
    assert claims == env.validator().verify(token)  # the sync validator agrees
    assert await validator.verify(token.encode()) == claims


async def test_repeated_token_is_served_from_the_cache(
    env: Env, validator: AsyncTokenValidator
) -> None:
    token = env.mint("k2")

    first = await validator.verify(token)
    first["sub"] = "changed by the caller"
    second = await validator.verify(token)

    assert second["sub"] == SUB
    assert validator.cache_info() == (1, 1, 1024, 1)
    assert env.endpoint.requests == 1


async def test_expired_token_is_rejected(env: Env, validator: AsyncTokenValidator) -> None:
    with pytest.raises(TokenExpiredError):
        await validator.verify(env.mint(exp=int(env.clock.now) - 3600))


async def test_cached_token_is_rejected_once_it_expires(
    env: Env, validator: AsyncTokenValidator
) -> None:
    token = env.mint(exp=int(env.clock.now) + 60)
    assert (await validator.verify(token))["sub"] == SUB

    env.clock.advance(60 + LEEWAY + 1)

    with pytest.raises(TokenExpiredError):
        await validator.verify(token)
    assert validator.cache_info().currsize == 0


async def test_wrong_audience_is_rejected(env: Env, validator: AsyncTokenValidator) -> None:
    with pytest.raises(InvalidAudienceError):
        await validator.verify(env.mint(aud=["https://other.example.com"]))


@pytest.mark.parametrize(
    ("make_token", "expected"),
    [pytest.param(make, expected, id=name) for name, make, expected in BAD_TOKENS],
)
async def test_bad_tokens_are_rejected_as_the_sync_validator_rejects_them(
    env: Env,
    validator: AsyncTokenValidator,
    make_token: Callable[[Env], str],
    expected: type[InvalidTokenError],
) -> None:
    token = make_token(env)

    with pytest.raises(expected) as info:
        await validator.verify(token)
    with pytest.raises(expected):
        await validator.verify(token)  # and again: a rejection is never cached
    with pytest.raises(expected):
        env.validator().verify(token)
    assert_token_not_leaked(info.value, token)
    assert validator.cache_info().currsize == 0


async def test_without_audience_configured_aud_is_not_checked(
    env: Env, async_transport: AsyncTransport
) -> None:
    validator = make_validator(env, async_transport, audience=None)
    assert (await validator.verify(env.mint(aud=["https://anything.example.com"])))["sub"] == SUB


async def test_decode_webhook(env: Env, validator: AsyncTokenValidator) -> None:
    event = webhook_event(env, iss=env.origin, iat=int(env.clock.now))
    body = jwt.encode(event, env.keys["k1"].private, "RS256", {"kid": "k1"}).encode() + b"\n"

    assert await validator.decode_webhook(body) == event
    assert await validator.decode_webhook(body.decode()) == event
    assert validator.cache_info().currsize == 0


@pytest.mark.parametrize(
    ("signer", "extra", "expected"),
    [
        ("k3", {}, InvalidSignatureError),
        ("k1", {"iss": "https://evil.example.com"}, InvalidIssuerError),
        ("k1", {"exp": int(START) - 3600}, TokenExpiredError),
    ],
    ids=["other key", "wrong issuer", "expired"],
)
async def test_decode_webhook_rejects_forgeries(
    env: Env,
    validator: AsyncTokenValidator,
    signer: str,
    extra: dict[str, Any],
    expected: type[InvalidTokenError],
) -> None:
    body = jwt.encode(webhook_event(env, **extra), env.keys[signer].private, "RS256", {"kid": "k1"})
    with pytest.raises(expected):
        await validator.decode_webhook(body)


# --- the key set -------------------------------------------------------------------------------


async def test_key_rotation_is_picked_up_through_an_unknown_kid(
    env: Env, validator: AsyncTokenValidator
) -> None:
    old_token = env.mint("k1")
    await validator.verify(old_token)
    env.endpoint.keys = [env.keys["k3"].jwk()]  # k1 and k2 rotated out, k3 in
    env.clock.advance(COOLDOWN + 1)

    assert (await validator.verify(env.mint("k3")))["sub"] == SUB
    # The previous key stays trusted for one TTL after a JWKS last listed it.
    assert (await validator.verify(old_token))["sub"] == SUB
    assert env.endpoint.requests == 2


async def test_unknown_kids_refetch_at_most_once_per_cooldown(
    env: Env, validator: AsyncTokenValidator
) -> None:
    await validator.verify(env.mint("k1"))
    env.clock.advance(COOLDOWN + 1)

    for n in range(5):
        with pytest.raises(UnknownKeyError):
            await validator.verify(env.mint(f"bogus-{n}", signer="k3"))

    assert env.endpoint.requests == 2


async def test_cached_keys_keep_working_while_the_jwks_endpoint_is_down(
    env: Env, validator: AsyncTokenValidator
) -> None:
    cached_token = env.mint("k1")
    await validator.verify(cached_token)
    env.endpoint.status = 500
    env.clock.advance(TTL + 1)  # the keys are stale: the next lookup refreshes them

    assert (await validator.verify(env.mint("k2")))["sub"] == SUB  # the refresh failed
    assert (await validator.verify(cached_token))["sub"] == SUB
    env.clock.advance(COOLDOWN + 1)
    with pytest.raises(UnknownKeyError, match="the last refresh failed") as info:
        await validator.verify(env.mint("k3"))
    assert isinstance(info.value.__cause__, JWKSFetchError)
    assert (await validator.verify(env.mint("k1")))["sub"] == SUB
    assert env.endpoint.requests == 3

    env.endpoint.status = 200  # back up: the next refresh (after the backoff) works
    env.endpoint.keys.append(env.keys["k3"].jwk())
    env.clock.advance(2 * COOLDOWN + 1)  # two failures in a row: up to twice the cooldown
    assert (await validator.verify(env.mint("k3")))["sub"] == SUB


async def test_no_cached_keys_and_the_endpoint_down_is_a_clear_error(
    env: Env, validator: AsyncTokenValidator
) -> None:
    env.endpoint.status = 503

    with pytest.raises(JWKSFetchError, match="no signing keys are available") as info:
        await validator.verify(env.mint("k1"))
    assert info.value.status == 503
    with pytest.raises(JWKSFetchError):
        await validator.refresh_keys()


async def test_refresh_keys_warms_the_cache(env: Env, validator: AsyncTokenValidator) -> None:
    await validator.refresh_keys()
    assert env.endpoint.requests == 1

    await validator.verify(env.mint("k2"))
    assert env.endpoint.requests == 1


# --- concurrency -------------------------------------------------------------------------------


async def test_concurrent_cold_start_fetches_the_jwks_once(
    env: Env, validator: AsyncTokenValidator, release: threading.Event
) -> None:
    hold_responses(env, release)
    tokens = [env.mint("k1" if n % 2 else "k2") for n in range(20)]

    verifications = asyncio.gather(*(validator.verify(token) for token in tokens))
    await until(lambda: env.endpoint.requests == 1)  # the fetch is in flight, held
    release.set()
    results = await verifications

    assert [claims["sub"] for claims in results] == [SUB] * len(tokens)
    assert env.endpoint.requests == 1


async def test_concurrent_tokens_of_a_new_key_refetch_exactly_once(
    env: Env, async_transport: AsyncTransport, release: threading.Event
) -> None:
    # No cooldown at all: only the single flight keeps the refetches to one.
    validator = make_validator(env, async_transport, jwks_cooldown=0)
    await validator.verify(env.mint("k1"))
    env.endpoint.keys.append(env.keys["k3"].jwk())  # a key is added: rotation starts
    hold_responses(env, release)
    tokens = [env.mint("k3", sub=f"kp_{n}") for n in range(20)]

    verifications = asyncio.gather(*(validator.verify(token) for token in tokens))
    await until(lambda: env.endpoint.requests == 2)  # the refetch is in flight, held
    release.set()
    results = await verifications

    assert [claims["sub"] for claims in results] == [f"kp_{n}" for n in range(20)]
    assert env.endpoint.requests == 2


async def test_concurrent_unknown_kids_refetch_once(
    env: Env, validator: AsyncTokenValidator, release: threading.Event
) -> None:
    await validator.verify(env.mint("k1"))
    env.clock.advance(COOLDOWN + 1)
    hold_responses(env, release)
    tokens = [env.mint(f"bogus-{n}", signer="k3") for n in range(20)]

    verifications = asyncio.gather(
        *(validator.verify(token) for token in tokens), return_exceptions=True
    )
    await until(lambda: env.endpoint.requests == 2)
    release.set()
    errors = await verifications

    assert all(isinstance(error, UnknownKeyError) for error in errors), errors
    assert env.endpoint.requests == 2


async def test_stale_keys_serve_others_while_one_refreshes_them(
    env: Env, validator: AsyncTokenValidator, release: threading.Event
) -> None:
    await validator.verify(env.mint("k1"))
    env.clock.advance(TTL + 1)
    hold_responses(env, release)

    refresher = asyncio.ensure_future(validator.verify(env.mint("k1")))
    await until(lambda: env.endpoint.requests == 2)  # the TTL refresh is in flight, held
    # Another verification does not queue behind it: the stale keys answer.
    assert (await validator.verify(env.mint("k2")))["sub"] == SUB
    assert not refresher.done()
    release.set()
    assert (await refresher)["sub"] == SUB
    assert env.endpoint.requests == 2


async def test_cancelling_the_caller_that_started_a_fetch_does_not_fail_the_others(
    env: Env, validator: AsyncTokenValidator, release: threading.Event
) -> None:
    hold_responses(env, release)
    leader = asyncio.ensure_future(validator.verify(env.mint("k1")))
    await until(lambda: env.endpoint.requests == 1)
    followers = asyncio.gather(*(validator.verify(env.mint("k2")) for _ in range(5)))
    await asyncio.sleep(0)  # the followers are now waiting for the leader's fetch

    leader.cancel()
    release.set()

    assert [claims["sub"] for claims in await followers] == [SUB] * 5
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert env.endpoint.requests == 1


# --- construction ------------------------------------------------------------------------------


async def test_constructor_is_the_sync_validators(env: Env, validator: AsyncTokenValidator) -> None:
    sync = env.validator()
    for name in ("issuer", "audience", "algorithms", "leeway", "jwks_url"):
        assert getattr(validator, name) == getattr(sync, name), name
    assert repr(validator) == repr(sync).replace("TokenValidator(", "AsyncTokenValidator(", 1)
    with pytest.raises(KindeConfigurationError):
        AsyncTokenValidator(env.origin, algorithms=["HS256"], transport=validator._transport)
    with pytest.raises(KindeConfigurationError):
        AsyncTokenValidator(env.origin, jwks_cache_ttl=0, transport=validator._transport)


async def test_without_a_transport_it_makes_and_closes_its_own(env: Env) -> None:
    async with AsyncTokenValidator(env.origin, AUDIENCE, clock=env.clock) as validator:
        assert (await validator.verify(env.mint("k1")))["sub"] == SUB
    assert env.endpoint.requests == 1
