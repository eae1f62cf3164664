"""The client-credentials token cache as a sans-I/O core: every decision, no I/O.

One :class:`TokenSlot` per set of credentials holds the cached token and the state of
its refresh. :func:`token_flow` is a generator that decides, step by step, what a caller
must do to get a token, and *yields* each piece of I/O as an effect for a shell to
perform: :class:`Fetch` (one token request), :class:`StoreOp` (one call on a shared
token store), :class:`Sleep` and :class:`WaitFlight` (wait for another caller's
request). The sync shell (:mod:`kinde_sdk._token_cache`) performs them with blocking
calls, the async one (:mod:`kinde_sdk._async_token_cache`) with ``await``; neither
holds any logic of its own, so the two cannot drift (httpx's ``Auth.auth_flow`` works
the same way).

The decisions (the stampede rules of DESIGN principle 16):

- *fresh*: a token before its refresh point is served at once;
- *one flight*: the first caller that needs a token leads a :class:`Flight`; callers
  arriving meanwhile wait for it (no token) or are served the still-valid token (inside
  the refresh margin), and the flight's result, token or error, is shared with every
  waiter: one request, never one per caller;
- *back off*: after a failed request no new one starts before a jittered, exponentially
  growing delay; callers meanwhile get the last error (or the still-valid token) at once;
- *across processes* (a shared :class:`~kinde_sdk._token_store.TokenStore`): the leader
  first looks for a token another process stored, then takes the store's lock (which
  expires and belongs to its owner) to fetch one, or waits, bounded, for the lock's
  owner to store one. A store that fails is skipped for a while: the process fetches its
  own token and logs a warning; a store never makes a call fail.

A :class:`Flight` is plain threading state (an Event and callbacks), never an asyncio
primitive: a flight led on one event loop (or thread) wakes waiters on any other loop
through their own loop's ``call_soon_threadsafe``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from ._error_copy import copy_error
from ._retry import failure_backoff
from .errors import TokenError

logger = logging.getLogger("kinde_sdk")

DEFAULT_REFRESH_MARGIN = 60.0
# Used when a token response has no expires_in: short, so a wrong guess costs little.
FALLBACK_LIFETIME = 300.0
# Backoff after failed token requests: base * 2**(failures-1), capped, with jitter.
BACKOFF_BASE = 1.0
BACKOFF_MAX = 30.0
# A waiter never waits on a flight longer than the leader's own bounded work plus this.
FLIGHT_WAIT_SLACK = 10.0


# -- effects: what a shell performs ----------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    """Send one token request; the shell sends back ``(access_token, lifetime)`` or
    throws the :class:`~kinde_sdk.errors.TokenError` into the flow."""


@dataclass(frozen=True)
class StoreOp:
    """Call ``getattr(store, name)(*args)``; the shell sends back the result, or throws
    :class:`StoreUnavailable` when the store failed (any exception, or too slow)."""

    name: str
    args: tuple[Any, ...] = field(repr=False)  # a record may hold a token (encrypt=False)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class WaitFlight:
    """Wait until ``flight`` is done, at most ``timeout`` seconds."""

    flight: Flight
    timeout: float


Effect = Union[Fetch, StoreOp, Sleep, WaitFlight]
TokenFlow = Generator[Effect, Any, str]


class StoreUnavailable(Exception):
    """A shared token store failed or was too slow (thrown into the flow by a shell)."""


# -- state --------------------------------------------------------------------------------


class Flight:
    """One token request in progress, shared by every caller that needs its result.

    Thread-safe and loop-agnostic: sync callers wait on :attr:`done`, async callers
    register a callback that wakes a future on their own event loop.
    """

    __slots__ = ("_callbacks", "_lock", "done", "error", "token")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.done = threading.Event()
        self.token: Optional[str] = None
        self.error: Optional[TokenError] = None

    def finish(self, token: Optional[str] = None, error: Optional[TokenError] = None) -> None:
        with self._lock:
            if self.done.is_set():
                return
            # Neither (the leader was cancelled or interrupted): waiters decide again.
            self.token, self.error = token, error
            self.done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the finishing thread) when done; now if already done."""
        with self._lock:
            if not self.done.is_set():
                self._callbacks.append(callback)
                return
        callback()


@dataclass(frozen=True)
class Issued:
    """A token and when it stops being valid, in the provider's monotonic clock."""

    token: str = field(repr=False)  # a bearer token: never in a repr or a log line
    expires_at: float
    refresh_at: float


class TokenSlot:
    """The cached token of one set of credentials, shared by every client using them.

    All times are seconds of the provider's monotonic ``clock``. ``lock`` guards the
    fields and is only ever held for a few assignments (no I/O under it), so taking it
    from an event loop does not block the loop.

    ``current`` is the cached token with its deadlines as one immutable :class:`Issued`,
    replaced whole on each change. The fast path reads it without the lock, once: token
    and deadlines then always come from the same fetch. (As separate attributes, a
    refresh landing between two reads could pair the old, expired token with the new
    token's deadline, and serve it.)
    """

    __slots__ = (
        "__weakref__",
        "current",
        "failures",
        "flight",
        "last_error",
        "lock",
        "retry_at",
    )

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: Optional[Issued] = None
        self.flight: Optional[Flight] = None
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: Optional[TokenError] = None

    def valid(self, now: float) -> Optional[Issued]:
        """The cached token if it has not expired at ``now`` (refresh due or not)."""
        current = self.current
        return current if current is not None and now < current.expires_at else None


def fresh_token(slot: TokenSlot, clock: Callable[[], float]) -> Optional[str]:
    """The shells' fast path, without the lock: the cached token when its refresh point
    is still ahead, else None (then the flow decides). One read of the snapshot, then
    the clock: a refresh meanwhile cannot lend the old token the new deadline."""
    current = slot.current
    if current is not None and clock() < current.refresh_at:
        return current.token
    return None


def refresh_point(expires_at: float, lifetime: float, margin: float) -> float:
    """When to refresh: ``margin`` before expiry, but never before half the lifetime."""
    return expires_at - min(margin, lifetime / 2)


def backoff_delay(failures: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after ``failures`` consecutive failures: exponential,
    capped, with jitter in [50 %, 100 %] so that many processes do not retry in step.
    The shared rule, whose exponent is bounded: an outage of any length never overflows."""
    return failure_backoff(max(failures, 1), BACKOFF_BASE, BACKOFF_MAX, rand)


# -- decisions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Serve:
    token: str = field(repr=False)


@dataclass(frozen=True)
class _Wait:
    flight: Flight


@dataclass(frozen=True)
class _Fail:
    error: TokenError


@dataclass(frozen=True)
class _Lead:
    flight: Flight
    stale: Optional[Issued]


def decide(slot: TokenSlot, now: float) -> Union[_Serve, _Wait, _Fail, _Lead]:
    """What one caller does now. Call with ``slot.lock`` held; a _Lead installs its flight."""
    current = slot.current
    if current is not None and now < current.refresh_at:
        return _Serve(current.token)
    stale = slot.valid(now)
    if slot.flight is not None:
        # Someone is already asking: a valid token is served meanwhile, else wait.
        return _Serve(stale.token) if stale is not None else _Wait(slot.flight)
    if now < slot.retry_at:
        # Backing off after a failure: no new request yet.
        if stale is not None:
            return _Serve(stale.token)
        assert slot.last_error is not None
        return _Fail(
            copy_error(slot.last_error, f"not retried for another {slot.retry_at - now:.1f}s")
        )
    flight = Flight()
    slot.flight = flight
    return _Lead(flight, stale)


def succeed(slot: TokenSlot, flight: Flight, issued: Issued) -> None:
    with slot.lock:
        slot.current = issued
        slot.failures = 0
        slot.retry_at = 0.0
        slot.last_error = None
        if slot.flight is flight:
            slot.flight = None
    flight.finish(token=issued.token)


def fail(
    slot: TokenSlot,
    flight: Flight,
    error: TokenError,
    now: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Record a failed flight; return the backoff delay before the next try."""
    with slot.lock:
        slot.failures += 1
        delay = backoff_delay(slot.failures, rand)
        slot.retry_at = now + delay
        slot.last_error = error
        if slot.flight is flight:
            slot.flight = None
    flight.finish(error=error)
    return delay


def abandon(slot: TokenSlot, flight: Flight) -> None:
    with slot.lock:
        if slot.flight is flight:
            slot.flight = None
    flight.finish()


def forget(slot: TokenSlot, rejected_token: str) -> bool:
    """Drop ``rejected_token`` if it is still the cached one; True when it was."""
    with slot.lock:
        if slot.current is None or slot.current.token != rejected_token:
            return False
        slot.current = None
        return True


# -- the flow ------------------------------------------------------------------------------


class Shared:
    """What the flow needs to use a shared store for one set of credentials.

    ``codec`` turns records into the store's bytes and back (and encrypts them),
    ``names`` are the store keys of the token, its lock and its failure marker.
    ``owner`` names this process's provider as the lock's owner: ``owner_tag`` (random,
    per provider) and the current pid, so that workers forked from one parent (gunicorn
    --preload) stay owners of their own.
    """

    def __init__(
        self,
        *,
        store: Any,
        token_name: str,
        lock_name: str,
        error_name: str,
        codec: Any,
        lock_ttl: float,
        lock_wait: float,
        owner_tag: str,
    ) -> None:
        self.store = store
        self.token_name = token_name
        self.lock_name = lock_name
        self.error_name = error_name
        self.codec = codec
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_wait
        self.owner_tag = owner_tag

    @property
    def owner(self) -> str:
        return f"{os.getpid()}-{self.owner_tag}"


class Flow:
    """The parameters of :func:`token_flow` for one provider (no state of its own)."""

    def __init__(
        self,
        *,
        slot: TokenSlot,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        refresh_margin: float,
        flight_timeout: float,
        shared: Optional[Shared] = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.slot = slot
        self.clock = clock
        self.wall_clock = wall_clock
        self.refresh_margin = refresh_margin
        self.flight_timeout = flight_timeout
        self.shared = shared
        self.rand = rand


def token_flow(flow: Flow) -> TokenFlow:
    """Get a token: the whole decision procedure, yielding every piece of I/O."""
    slot = flow.slot
    while True:
        now = flow.clock()
        with slot.lock:
            decision = decide(slot, now)
        if isinstance(decision, _Serve):
            return decision.token
        if isinstance(decision, _Fail):
            raise decision.error
        if isinstance(decision, _Wait):
            flight = decision.flight
            yield WaitFlight(flight, flow.flight_timeout)
            if not flight.done.is_set():
                raise TokenError(
                    f"gave up after {flow.flight_timeout:g}s waiting for the token request "
                    "another caller is making"
                )
            if flight.error is not None:
                raise copy_error(flight.error)
            if flight.token is not None:
                return flight.token
            continue  # abandoned: decide again
        return (yield from _lead(flow, decision))


def _lead(flow: Flow, decision: _Lead) -> TokenFlow:
    slot, flight = flow.slot, decision.flight
    try:
        issued = yield from _obtain(flow, decision.stale)
    except TokenError as error:
        delay = fail(slot, flight, error, flow.clock(), flow.rand)
        stale = slot.valid(flow.clock())
        if stale is not None:
            logger.warning(
                "token refresh failed; using the cached token until it expires (next try in %.1fs)",
                delay,
            )
            return stale.token
        raise
    except BaseException:
        abandon(slot, flight)
        raise
    succeed(slot, flight, issued)
    return issued.token


def issued_from_response(flow: Flow, sent_at: float, token: str, lifetime: float) -> Issued:
    expires_at = sent_at + lifetime
    return Issued(token, expires_at, refresh_point(expires_at, lifetime, flow.refresh_margin))


def _fetch(flow: Flow) -> Generator[Effect, Any, tuple[Issued, float]]:
    """One token request: (the token, its lifetime)."""
    sent_at = flow.clock()
    token, lifetime = yield Fetch()
    logger.debug("fetched a client-credentials token valid for %.0fs", lifetime)
    return issued_from_response(flow, sent_at, token, lifetime), lifetime


def _obtain(flow: Flow, stale: Optional[Issued]) -> Generator[Effect, Any, Issued]:
    shared = flow.shared
    if shared is None or not shared.store.available():
        issued, _ = yield from _fetch(flow)
        return issued
    try:
        return (yield from _obtain_shared(flow, shared, stale))
    except _Degrade as degrade:
        shared.store.mark_down(degrade.reason)
        if degrade.issued is not None:
            return degrade.issued
        issued, _ = yield from _fetch(flow)
        return issued


class _Degrade(Exception):
    """The store failed: continue per process (with the token, if one was fetched)."""

    def __init__(self, reason: str, issued: Optional[Issued] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issued = issued


def _store(shared: Shared, name: str, *args: Any) -> Generator[Effect, Any, Any]:
    try:
        return (yield StoreOp(name, args))
    except StoreUnavailable as exc:
        raise _Degrade(str(exc)) from None


def _from_store(
    flow: Flow, shared: Shared, raw: Optional[bytes], *, fresh_only: bool
) -> Optional[Issued]:
    """A usable token from a stored record, converted to this process's clock."""
    if raw is None:
        return None
    record = shared.codec.decode_token(raw)
    if record is None:
        return None
    token, expires_wall, lifetime = record
    now = flow.clock()
    remaining = expires_wall - flow.wall_clock()
    if remaining <= 0:
        return None
    expires_at = now + remaining
    refresh_at = refresh_point(expires_at, lifetime, flow.refresh_margin)
    if fresh_only and now >= refresh_at:
        return None
    return Issued(token, expires_at, refresh_at)


def _stored_failure(shared: Shared, raw: Optional[bytes]) -> Optional[TokenError]:
    if raw is None:
        return None
    return shared.codec.decode_error(raw)  # type: ignore[no-any-return]


def _obtain_shared(
    flow: Flow, shared: Shared, stale: Optional[Issued]
) -> Generator[Effect, Any, Issued]:
    stored = _from_store(
        flow, shared, (yield from _store(shared, "get", shared.token_name)), fresh_only=False
    )
    if stored is not None and flow.clock() < stored.refresh_at:
        return stored  # another process refreshed it already
    # A valid token to serve if another process holds the lock: ours (the snapshot the
    # decision saw, so its deadlines are its own), or the stored one.
    fallback: Optional[Issued] = stale if stale is not None else stored
    give_up = flow.clock() + shared.lock_wait
    poll = 0.02
    while True:
        acquired = yield from _store(
            shared, "acquire", shared.lock_name, shared.owner, shared.lock_ttl
        )
        if acquired:
            return (yield from _fetch_as_owner(flow, shared))
        if fallback is not None:
            # Another process is refreshing and this token is still valid: serve it, and
            # look again in a second rather than make this caller wait.
            now = flow.clock()
            return Issued(fallback.token, fallback.expires_at, min(fallback.expires_at, now + 1.0))
        if flow.clock() >= give_up:
            logger.warning(
                "waited %.1fs for another process's token request; fetching one here",
                shared.lock_wait,
            )
            issued, _ = yield from _fetch(flow)
            return issued
        yield Sleep(poll * (0.5 + flow.rand()))
        poll = min(poll * 2, 0.25)
        raw_token, raw_error = yield from _store(
            shared, "get_many", shared.token_name, shared.error_name
        )
        found = _from_store(flow, shared, raw_token, fresh_only=False)
        if found is not None:
            return found
        failure = _stored_failure(shared, raw_error)
        if failure is not None:
            raise failure


def _fetch_as_owner(flow: Flow, shared: Shared) -> Generator[Effect, Any, Issued]:
    """Holding the store's lock: look once more, else fetch and store; then release."""
    try:
        issued = yield from _fetch_and_store(flow, shared)
    except GeneratorExit:
        raise  # the flow is being discarded: no more I/O, the lock expires on its own
    except BaseException:
        yield from _release(shared)
        raise
    yield from _release(shared)
    return issued


def _release(shared: Shared) -> Generator[Effect, Any, None]:
    with contextlib.suppress(StoreUnavailable):  # a lock not released expires on its own
        yield StoreOp("release", (shared.lock_name, shared.owner))


def _fetch_and_store(flow: Flow, shared: Shared) -> Generator[Effect, Any, Issued]:
    # Look once more, now that the lock is ours: a token, or a failure another process
    # just had (then this one backs off too instead of asking again).
    raw_token, raw_error = yield from _store(
        shared, "get_many", shared.token_name, shared.error_name
    )
    found = _from_store(flow, shared, raw_token, fresh_only=True)
    if found is not None:
        return found
    failure = _stored_failure(shared, raw_error)
    if failure is not None:
        raise failure
    try:
        issued, lifetime = yield from _fetch(flow)
    except TokenError as error:
        # Other processes waiting on the lock get this error instead of each trying.
        delay = backoff_delay(1, flow.rand)
        with contextlib.suppress(StoreUnavailable):
            yield StoreOp("set", (shared.error_name, shared.codec.encode_error(error), delay))
        raise
    ttl = issued.expires_at - flow.clock()  # the token's remaining lifetime
    if ttl > 0:
        record = shared.codec.encode_token(issued.token, flow.wall_clock() + ttl, lifetime)
        try:
            yield StoreOp("set", (shared.token_name, record, ttl))
        except StoreUnavailable as exc:
            raise _Degrade(str(exc), issued) from None
    return issued


def invalidate_flow(flow: Flow, rejected_token: str) -> Generator[Effect, Any, None]:
    """Forget a token the API rejected (401), here and, once, in the shared store."""
    forget(flow.slot, rejected_token)
    shared = flow.shared
    if shared is None or not shared.store.available():
        return
    try:
        raw = yield StoreOp("get", (shared.token_name,))
        if raw is None:
            return
        record = shared.codec.decode_token(raw)
        if record is not None and record[0] == rejected_token:
            # Compare-and-delete on the exact bytes: of many processes reporting the same
            # token, one deletes it and the others leave the next token alone.
            yield StoreOp("delete_if", (shared.token_name, raw))
    except StoreUnavailable as exc:
        shared.store.mark_down(str(exc))
