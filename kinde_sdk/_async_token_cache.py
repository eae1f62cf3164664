"""The async shell of the client-credentials token cache.

The same sans-I/O flow as the sync provider (:mod:`kinde_sdk._token_core`), with its
effects awaited: the token request through :class:`~kinde_sdk._async_transport.
AsyncTransport`, waits with ``asyncio.sleep``, calls on a shared token store in a worker
thread (they are rare, bounded, and must not block the loop).

Nothing here is bound to an event loop but the transport: a flight led on one loop (or
by a sync caller in a thread) wakes waiters on any other loop through a future created
on the waiter's own loop and resolved with that loop's ``call_soon_threadsafe``. Sync
and async providers with the same credentials share one slot, hence one token.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Generator
from typing import Any, Callable, Optional, TypeVar

from ._async_transport import AsyncTransport
from ._token_cache import TokenProviderBase, parse_token_response
from ._token_core import (
    Effect,
    Fetch,
    Flight,
    Sleep,
    StoreOp,
    WaitFlight,
    fresh_token,
    invalidate_flow,
    token_flow,
)
from ._transport import Response
from .errors import KindeConnectionError, TokenError

__all__ = ["AsyncClientCredentialsTokenProvider"]

T = TypeVar("T")


async def adrive(flow: Generator[Effect, Any, T], perform: Callable[[Effect], Awaitable[Any]]) -> T:
    """:func:`kinde_sdk._token_cache.drive`, awaiting each effect. A cancellation is
    thrown into the flow like any error, so a cancelled leader hands its flight over."""
    value: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        value, error = None, None
        try:
            value = await perform(effect)
        except BaseException as exc:
            error = exc


class _AcquireHandoff:
    """A store acquire running in a worker thread, and the task awaiting it. If the task
    gives up first, the worker releases what it acquires; if the worker finished first
    (the task cancelled before it could read the result), the task releases it. Exactly
    one of them sees True."""

    __slots__ = ("_abandoned", "_acquired", "_done", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = self._acquired = self._abandoned = False

    def finished(self, acquired: bool) -> bool:
        """In the worker: True when the task already gave up and the lock must go."""
        with self._lock:
            self._done, self._acquired = True, acquired
            return acquired and self._abandoned

    def give_up(self) -> bool:
        """In the task: True when the lock was acquired and is the task's to release."""
        with self._lock:
            self._abandoned = True
            return self._done and self._acquired


async def wait_flight(flight: Flight, timeout: float) -> None:
    """Wait for ``flight`` on the running loop, whoever leads it and wherever."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def resolve() -> None:
        if not future.done():
            future.set_result(None)

    def wake() -> None:
        # RuntimeError: that loop is closed, nobody is waiting there any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(resolve)

    flight.add_done_callback(wake)
    # On a timeout the flow sees the flight still running, and raises.
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(future, timeout)


class AsyncClientCredentialsTokenProvider(TokenProviderBase[AsyncTransport]):
    """Gets and caches client-credentials access tokens, with ``await``.

    The interface other async clients build on: ``await token()``, ``await
    invalidate(rejected_token)`` and ``await send_with_token(send)`` (one fresh token and
    one replay on a 401). The token cache is shared by every loop and thread.
    """

    async def token(self) -> str:
        """A valid access token, from the cache or from one token request."""
        value = fresh_token(self._slot, self._clock)
        if value is not None:
            return value
        return await adrive(token_flow(self._flow), self._perform)

    async def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` (the API answered 401 to it), here and, once, in a
        shared store; other tokens are kept, so many failed requests cause one fetch."""
        await adrive(invalidate_flow(self._flow, rejected_token), self._perform)

    async def send_with_token(self, send: Callable[[str], Awaitable[Response]]) -> Response:
        """``await send(token)``; on a 401, one fresh token and one replay."""
        token = await self.token()
        response = await send(token)
        if response.status == 401:
            await self.invalidate(token)
            response = await send(await self.token())
        return response

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Fetch):
            return await self._fetch()
        if isinstance(effect, StoreOp):
            return await self._store_call(effect)
        if isinstance(effect, WaitFlight):
            await wait_flight(effect.flight, effect.timeout)
            return None
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
            return None
        raise AssertionError(f"unknown effect {effect!r}")

    async def _store_call(self, effect: StoreOp) -> Any:
        # redis-py and file locks block: a worker thread keeps the loop free.
        loop = asyncio.get_running_loop()
        if effect.name == "release":
            # Runs even if this task is cancelled (again) while the release waits for a
            # worker thread: a dropped release holds the fleet's lock until its TTL. A
            # failure is the TTL's to end, as in the flow.
            await asyncio.shield(loop.run_in_executor(None, self._release_lock, effect))
            return None
        if effect.name != "acquire":
            return await loop.run_in_executor(None, self._call_store, effect)
        # A worker thread cannot be stopped: when this task is cancelled (or times out)
        # while the acquire runs, the acquire may still succeed, and the flow, which
        # never sees it, would not release the lock. The handoff makes whichever side
        # finishes last release it.
        handoff = _AcquireHandoff()
        try:
            return await loop.run_in_executor(None, self._acquire_in_worker, effect, handoff)
        except BaseException:
            if handoff.give_up():
                # A thread of its own: rare, and works while the loop shuts down too.
                threading.Thread(target=self._release_lock, args=(effect,), daemon=True).start()
            raise

    def _acquire_in_worker(self, effect: StoreOp, handoff: _AcquireHandoff) -> Any:
        acquired = self._call_store(effect)
        if handoff.finished(bool(acquired)):
            self._release_lock(effect)
        return acquired

    def _release_lock(self, effect: StoreOp) -> None:
        """Release the lock ``effect`` (its acquire or release) names, in a worker thread:
        for a caller that gave up, or one that may give up meanwhile."""
        name, owner = effect.args[0], effect.args[1]
        with contextlib.suppress(Exception):  # else it expires after its TTL
            self._call_store(StoreOp("release", (name, owner)))

    async def _fetch(self) -> tuple[str, float]:
        try:
            response = await self._transport.request(
                "POST",
                self.token_url,
                fields=self._fields(),
                headers={"Accept": "application/json"},
                kind="token",
            )
        except KindeConnectionError as exc:
            raise TokenError(f"the token endpoint could not be reached: {exc}") from exc
        return parse_token_response(response)
