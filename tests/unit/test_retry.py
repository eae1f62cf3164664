"""The retry policy as pure decisions: no I/O, no sleeping, randomness injected."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta, timezone

import pytest
from urllib3 import HTTPHeaderDict

from kinde_sdk._retry import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_AFTER_MAX,
    RetryPolicy,
    RetryState,
    error_is_retryable,
    next_delay,
    parse_retry_after,
    status_is_retryable,
)
from kinde_sdk.errors import KindeConfigurationError


def never_called() -> float:
    raise AssertionError("rand must not be used when the server gave Retry-After")


# -- backoff -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry_number", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (30, 8.0)],
)
def test_backoff_ceiling_doubles_then_caps(retry_number: int, ceiling: float) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=8.0)

    assert policy.backoff(retry_number, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert policy.backoff(retry_number, rand=lambda: 0.0) == 0.0
    assert policy.backoff(retry_number, rand=lambda: 0.25) == pytest.approx(ceiling / 4)


def test_backoff_is_full_jitter_within_bounds() -> None:
    policy = RetryPolicy()
    rng = random.Random(1234)
    for retry_number in range(8):
        ceiling = min(DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_BASE * 2**retry_number)
        delays = [policy.backoff(retry_number, rand=rng.random) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        # Full jitter spreads over the whole range, not just near the ceiling.
        assert min(delays) < ceiling * 0.1
        assert max(delays) > ceiling * 0.9


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_retries == DEFAULT_MAX_RETRIES == 2
    assert policy.retry_after_max == DEFAULT_RETRY_AFTER_MAX


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retries": -1},
        {"max_retries": None},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"deadline": 0},
        {"deadline": -5},
        {"deadline": float("nan")},
        {"deadline": "5"},
        {"backoff_base": None},
        {"retry_statuses": None},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    # Typed (a KindeConfigurationError is a ValueError), wrong types included: these
    # raised a bare TypeError, or (NaN) were accepted.
    with pytest.raises(KindeConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_immutable() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_retries = 10  # type: ignore[misc]


# -- Retry-After -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), (" 3 ", 3.0), ("0", 0.0), ("1.5", 1.5), ("-4", 0.0)],
)
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after({"Retry-After": value}) == seconds


def test_retry_after_http_date_is_relative_to_now() -> None:
    now = datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc)
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}

    assert parse_retry_after(headers, now=now) == pytest.approx(30.0)


def test_retry_after_http_date_in_the_past_means_now() -> None:
    now = datetime(2015, 10, 21, 8, 0, 0, tzinfo=timezone.utc)
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}

    assert parse_retry_after(headers, now=now) == 0.0


def test_retry_after_http_date_defaults_to_the_current_time() -> None:
    soon = datetime.now(timezone.utc) + timedelta(hours=1)
    header = soon.strftime("%a, %d %b %Y %H:%M:%S GMT")

    seconds = parse_retry_after({"Retry-After": header})

    assert seconds is not None
    assert 3000 < seconds <= 3600


@pytest.mark.parametrize("value", ["", "soon", "Wed, 99 Foo 2015 77:28:00 GMT", "1,5"])
def test_retry_after_unparseable_is_none(value: str) -> None:
    assert parse_retry_after({"Retry-After": value}) is None


def test_retry_after_missing_is_none() -> None:
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Content-Type": "application/json"}) is None


def test_retry_after_header_name_is_case_insensitive() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    # What the transport passes: urllib3's case-insensitive header mapping.
    assert parse_retry_after(HTTPHeaderDict({"RETRY-AFTER": "4"})) == 4.0


# -- next_delay ----------------------------------------------------------------------------


def test_next_delay_uses_backoff_without_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, backoff_base=1.0, backoff_max=10.0)

    delays = [
        next_delay(policy, n, retry_after=None, remaining=100.0, rand=lambda: 1.0) for n in range(3)
    ]

    assert delays == [1.0, 2.0, 4.0]


def test_next_delay_gives_up_when_retries_are_exhausted() -> None:
    policy = RetryPolicy(max_retries=2)

    assert next_delay(policy, 1, retry_after=None, remaining=100.0, rand=lambda: 0.5) is not None
    assert next_delay(policy, 2, retry_after=None, remaining=100.0, rand=lambda: 0.5) is None
    assert next_delay(policy, 2, retry_after=1.0, remaining=100.0) is None


def test_next_delay_with_no_retries_never_retries() -> None:
    policy = RetryPolicy(max_retries=0)

    assert next_delay(policy, 0, retry_after=None, remaining=100.0, rand=lambda: 0.5) is None


def test_next_delay_honours_retry_after_exactly() -> None:
    policy = RetryPolicy(backoff_base=0.1, backoff_max=0.1)

    # Longer than any backoff this policy would choose, and rand is not consulted.
    assert next_delay(policy, 0, retry_after=5.0, remaining=100.0, rand=never_called) == 5.0
    assert next_delay(policy, 0, retry_after=0.0, remaining=100.0, rand=never_called) == 0.0


def test_next_delay_refuses_retry_after_beyond_the_cap() -> None:
    policy = RetryPolicy(retry_after_max=10.0)

    assert next_delay(policy, 0, retry_after=10.0, remaining=100.0) == 10.0
    assert next_delay(policy, 0, retry_after=10.5, remaining=100.0) is None
    assert next_delay(policy, 0, retry_after=float("inf"), remaining=1e9) is None


def test_default_cap_refuses_an_hour_long_wait() -> None:
    assert next_delay(RetryPolicy(), 0, retry_after=3600.0, remaining=1e9) is None


def test_next_delay_never_crosses_the_deadline() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=1.0, backoff_max=10.0)

    assert next_delay(policy, 0, retry_after=2.0, remaining=2.5) == 2.0
    assert next_delay(policy, 0, retry_after=2.0, remaining=2.0) is None
    assert next_delay(policy, 0, retry_after=2.0, remaining=1.0) is None
    # Backoff 4.0 (retry 2, rand 1.0) does not fit in 3 s; a smaller draw does.
    assert next_delay(policy, 2, retry_after=None, remaining=3.0, rand=lambda: 1.0) is None
    assert next_delay(policy, 2, retry_after=None, remaining=3.0, rand=lambda: 0.5) == 2.0


def test_next_delay_with_the_deadline_already_passed() -> None:
    policy = RetryPolicy()

    assert next_delay(policy, 0, retry_after=0.0, remaining=0.0) is None
    assert next_delay(policy, 0, retry_after=None, remaining=-1.0, rand=lambda: 0.0) is None


# -- idempotency ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "get", "Put"])
def test_retryable_statuses_for_idempotent_methods(method: str, status: int) -> None:
    assert status_is_retryable(method, status)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["POST", "PATCH", "post"])
def test_statuses_never_retried_for_non_idempotent_methods(method: str, status: int) -> None:
    assert not status_is_retryable(method, status)


@pytest.mark.parametrize("status", [200, 201, 204, 301, 400, 401, 403, 404, 409, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not status_is_retryable("GET", status)


def test_a_plain_500_is_retried_by_default_with_the_same_budget() -> None:
    clock = iter([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    state = RetryState(
        RetryPolicy(max_retries=2), "GET", clock=lambda: next(clock), rand=lambda: 1.0
    )
    assert state.after_status(500, {}) == 0.5
    assert state.after_status(500, {}) == 1.0
    assert state.after_status(500, {}) is None  # the budget of max_retries, as for 503


def test_retry_statuses_are_configurable() -> None:
    policy = RetryPolicy(retry_statuses=[503])
    assert policy.retry_statuses == frozenset({503})
    assert hash(policy)  # still a frozen, hashable value
    state = RetryState(policy, "GET", clock=lambda: 0.0, rand=lambda: 1.0)
    assert state.after_status(500, {}) is None
    assert state.after_status(429, {}) is None
    assert state.after_status(503, {}) == 0.5
    assert RetryPolicy().retry_statuses == frozenset({408, 429, 500, 502, 503, 504})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retry_statuses": [99]},
        {"retry_statuses": ["500"]},
        {"retry_statuses": "500"},
        {"retry_statuses": [True]},
        {"backoff_base": -1},
        {"backoff_max": -1},
        {"retry_after_max": -1},
    ],
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(KindeConfigurationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_is_public() -> None:
    import kinde_sdk
    import kinde_sdk.management

    assert kinde_sdk.RetryPolicy is RetryPolicy
    assert kinde_sdk.management.RetryPolicy is RetryPolicy


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST", "PATCH", "post"])
def test_errors_before_sending_are_always_retryable(method: str) -> None:
    assert error_is_retryable(method, sent=False)


@pytest.mark.parametrize(
    ("method", "retryable"),
    [("GET", True), ("DELETE", True), ("PUT", True), ("POST", False), ("PATCH", False)],
)
def test_errors_after_sending_are_retryable_only_when_idempotent(
    method: str, retryable: bool
) -> None:
    assert error_is_retryable(method, sent=True) is retryable


def test_backoff_of_a_late_retry_does_not_overflow() -> None:
    # 2.0**1024 raised OverflowError: the exponent is bounded, the cap applies.
    policy = RetryPolicy(max_retries=5000, backoff_base=0.5, backoff_max=8.0)
    assert policy.backoff(4000, rand=lambda: 1.0) == 8.0
