"""The sans-I/O token core, stepped by hand: no network, no threads, a fake clock.

Each flow is a generator that yields the I/O it needs (Fetch, WaitFlight, ...); the test
plays the shell, so every decision is observable: who fetches, who waits, who is served
the old token, who gets the shared error, and when the next request may go out.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from kinde_sdk._token_core import (
    BACKOFF_MAX,
    Fetch,
    Flow,
    TokenSlot,
    WaitFlight,
    backoff_delay,
    invalidate_flow,
    token_flow,
)
from kinde_sdk.errors import TokenError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def flow(clock: Clock) -> Flow:
    return Flow(
        slot=TokenSlot(),
        clock=clock,
        wall_clock=clock,
        refresh_margin=60.0,
        flight_timeout=30.0,
        rand=lambda: 1.0,  # the top of the jitter range: delays are exact
    )


def start(flow: Flow) -> tuple[Generator[Any, Any, str], Any]:
    gen = token_flow(flow)
    return gen, next(gen)


def finish(gen: Generator[Any, Any, str], value: Any) -> str:
    with pytest.raises(StopIteration) as stop:
        gen.send(value)
    return str(stop.value.value)


def served_at_once(flow: Flow) -> str:
    gen = token_flow(flow)
    with pytest.raises(StopIteration) as stop:
        next(gen)
    return str(stop.value.value)


def test_cold_cache_one_fetch_and_every_waiter_gets_its_token(flow: Flow) -> None:
    leader, effect = start(flow)
    assert effect == Fetch()
    waiters = [start(flow) for _ in range(5)]
    assert all(isinstance(e, WaitFlight) for _, e in waiters)

    assert finish(leader, ("tok-1", 3600.0)) == "tok-1"
    for gen, effect in waiters:
        assert effect.flight.done.is_set()
        assert finish(gen, None) == "tok-1"
    assert served_at_once(flow) == "tok-1"


def test_a_failed_flight_is_shared_with_its_waiters(flow: Flow) -> None:
    leader, _ = start(flow)
    waiters = [start(flow)[0] for _ in range(3)]
    error = TokenError("the token endpoint failed", status=500)
    with pytest.raises(TokenError):
        leader.throw(error)
    for gen in waiters:
        with pytest.raises(TokenError) as info:
            gen.send(None)
        assert info.value.status == 500
        assert info.value is not error  # each caller gets its own copy


def test_failures_back_off_exponentially_without_requests(flow: Flow, clock: Clock) -> None:
    for failures, delay in enumerate([1.0, 2.0, 4.0], start=1):
        leader, effect = start(flow)
        assert effect == Fetch()
        with pytest.raises(TokenError):
            leader.throw(TokenError("down", status=503))
        # Until the delay has passed, callers get the error at once: no Fetch.
        clock.now += delay - 0.01
        with pytest.raises(TokenError, match="not retried") as info:
            next(token_flow(flow))
        assert info.value.status == 503
        clock.now += 0.01
        assert flow.slot.failures == failures
    leader, effect = start(flow)
    assert effect == Fetch()
    assert finish(leader, ("tok-1", 3600.0)) == "tok-1"
    assert flow.slot.failures == 0


def test_backoff_is_jittered_and_capped() -> None:
    assert backoff_delay(1, lambda: 0.0) == 0.5
    assert backoff_delay(1, lambda: 1.0) == 1.0
    assert backoff_delay(3, lambda: 0.5) == pytest.approx(3.0)
    assert backoff_delay(50, lambda: 1.0) == BACKOFF_MAX
    assert 0.5 * BACKOFF_MAX <= backoff_delay(50) <= BACKOFF_MAX


def test_inside_the_margin_the_valid_token_is_served_while_one_refresh_runs(
    flow: Flow, clock: Clock
) -> None:
    leader, _ = start(flow)
    finish(leader, ("tok-1", 3600.0))
    clock.now += 3550.0  # inside the 60 s margin, still valid

    refresher, effect = start(flow)
    assert effect == Fetch()
    # Everyone else gets the old token without waiting for the refresh.
    assert [served_at_once(flow) for _ in range(10)] == ["tok-1"] * 10

    assert finish(refresher, ("tok-2", 3600.0)) == "tok-2"
    assert served_at_once(flow) == "tok-2"


def test_a_failed_refresh_serves_the_valid_token_and_backs_off(flow: Flow, clock: Clock) -> None:
    leader, _ = start(flow)
    finish(leader, ("tok-1", 3600.0))
    clock.now += 3550.0

    refresher, _ = start(flow)
    with pytest.raises(StopIteration) as stop:
        refresher.throw(TokenError("down", status=503))
    assert stop.value.value == "tok-1"
    # Backing off: nobody refreshes for now, everyone is served the valid token.
    assert [served_at_once(flow) for _ in range(10)] == ["tok-1"] * 10
    clock.now += 1.0
    assert isinstance(start(flow)[1], Fetch)


def test_an_abandoned_flight_is_taken_over(flow: Flow) -> None:
    leader, _ = start(flow)
    waiter, effect = start(flow)
    assert isinstance(effect, WaitFlight)
    with pytest.raises(KeyboardInterrupt):
        leader.throw(KeyboardInterrupt())
    # The waiter does not inherit an interruption: it leads a new flight.
    assert waiter.send(None) == Fetch()
    assert finish(waiter, ("tok-1", 3600.0)) == "tok-1"


def test_a_waiter_gives_up_after_the_flight_timeout(flow: Flow) -> None:
    leader, _ = start(flow)  # kept: a discarded flow abandons its flight
    waiter, effect = start(flow)
    assert effect.timeout == 30.0
    with pytest.raises(TokenError, match="gave up"):
        waiter.send(None)  # the shell returns with the flight still running
    leader.close()


def test_invalidate_drops_only_the_rejected_token(flow: Flow) -> None:
    leader, _ = start(flow)
    finish(leader, ("tok-1", 3600.0))
    for _ in invalidate_flow(flow, "tok-0"):
        pytest.fail("no I/O without a shared store")
    assert served_at_once(flow) == "tok-1"
    list(invalidate_flow(flow, "tok-1"))
    assert isinstance(start(flow)[1], Fetch)


def test_a_forked_child_does_not_inherit_a_flight() -> None:
    import os
    import sys
    import time

    from kinde_sdk._token_cache import CacheKey, shared_slot

    if not hasattr(os, "fork") or sys.platform == "darwin":
        pytest.skip("fork")
    slot = shared_slot(CacheKey("https://x/token", "fork-test", None, "fp"))
    flow_ = Flow(
        slot=slot,
        clock=time.monotonic,
        wall_clock=time.time,
        refresh_margin=60.0,
        flight_timeout=30.0,
    )
    leader, effect = start(flow_)  # a flight in progress in this (parent) process
    assert effect == Fetch()
    pid = os.fork()
    if pid == 0:  # the child: a new caller leads its own flight instead of waiting
        ok = isinstance(next(token_flow(flow_)), Fetch)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    leader.close()


def test_reprs_of_the_flow_values_hold_no_token() -> None:
    from kinde_sdk._token_core import Issued, StoreOp, _Serve

    assert "secret-token" not in repr(Issued("secret-token", 10.0, 5.0))
    assert "secret-token" not in repr(_Serve("secret-token"))
    assert "secret-token" not in repr(StoreOp("set", ("name", b"p1secret-token", 1.0)))
