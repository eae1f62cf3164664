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
        slot = self._slot
        value = slot.value
        if value is not None and self._clock() < slot.refresh_at:
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
            # redis-py and file locks block: a worker thread keeps the loop free.
            return await asyncio.get_running_loop().run_in_executor(None, self._call_store, effect)
        if isinstance(effect, WaitFlight):
            await wait_flight(effect.flight, effect.timeout)
            return None
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
            return None
        raise AssertionError(f"unknown effect {effect!r}")

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
