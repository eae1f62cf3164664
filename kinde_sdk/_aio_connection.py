"""Kept-alive HTTP/1.1 connections on asyncio's protocol layer, pooled per origin: the
I/O under :class:`~kinde_sdk._async_transport.AsyncTransport`.

Why not a general HTTP library: an API client sends small requests and reads one
answer per connection turn, and the generic stacks (httpx over httpcore, anyio and h11)
spend several times the work of the whole request on their layers, which is what capped
the async client below the sync one (docs/benchmarks.md). A protocol object parses
what the loop hands it (:mod:`kinde_sdk._http11`, sans-I/O) with no task, stream or
buffer copy of its own in between.

A connection carries one request at a time. Any doubt about its state (a cancelled
call, a timeout, a malformed or over-long answer, bytes nobody asked for) closes it, so
a response can never be read as the answer to the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from collections.abc import AsyncGenerator, Coroutine
from typing import Any, Optional, TypeVar, Union

from ._http11 import ProtocolError, ResponseParser, TooLarge
from ._retry import FailureKind

_T = TypeVar("_T")

Origin = tuple[str, str, int]  # scheme, host, port


class AttemptFailed(Exception):
    """One attempt failed in a way the retry policy judges by ``kind``. ``unsent`` means
    a kept-alive connection was found dead before any answer: the request never reached
    a live server, so sending it again on a new connection is always safe."""

    def __init__(self, kind: FailureKind, *, unsent: bool = False) -> None:
        super().__init__(kind)
        self.kind = kind
        self.unsent = unsent


class Connection(asyncio.Protocol):
    """One socket, at most one request on it at a time."""

    __slots__ = (
        "_drained",
        "_last_read",
        "_loop",
        "_parser",
        "_paused",
        "_timer",
        "_transport",
        "_waiter",
        "closed",
        "used",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: Optional[asyncio.Transport] = None
        self._parser: Optional[ResponseParser] = None
        self._waiter: Optional[asyncio.Future[None]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._last_read = 0.0
        self._paused = False
        self._drained: Optional[asyncio.Future[None]] = None
        self.closed = False
        self.used = False  # has carried a request before (so may have gone stale idle)

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:
            # Nobody asked: a server's parting 408, or garbage. Never let it be read as
            # the next request's answer.
            self.close()
            return
        self._last_read = self._loop.time()
        try:
            done = parser.feed(data)
        except ProtocolError:
            self._fail(AttemptFailed("broken"))
        except TooLarge as exc:
            self._fail(exc)
        else:
            if done:
                self._wake()

    def eof_received(self) -> bool:
        parser = self._parser
        self.closed = True
        if parser is not None and not parser.done:
            try:
                parser.feed_eof()
            except ProtocolError:
                self._fail(AttemptFailed("broken", unsent=self.used and not parser.started))
            else:
                self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        parser = self._parser
        if parser is not None and not parser.done:
            self._fail(AttemptFailed("broken", unsent=self.used and not parser.started))
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    # -- use -------------------------------------------------------------------------

    async def exchange(
        self, request: bytes, parser: ResponseParser, read_timeout: float
    ) -> ResponseParser:
        """Send ``request`` and wait until ``parser`` holds the whole answer. Raises
        :class:`AttemptFailed` or :class:`~kinde_sdk._http11.TooLarge`; on any failure or
        cancellation the connection is closed."""
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            raise AttemptFailed("broken", unsent=True)
        loop = self._loop
        self._parser = parser
        waiter = self._waiter = loop.create_future()
        try:
            transport.write(request)
            if self._paused:
                await self._drain(waiter, read_timeout)
            self._last_read = loop.time()
            self._timer = loop.call_at(
                self._last_read + read_timeout, self._check_idle, read_timeout
            )
            await waiter
        except BaseException:
            self.close()
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._waiter = None
        self._parser = None
        self.used = True
        if not parser.reusable or transport.get_write_buffer_size():
            # A server may answer before it read the whole request (an early 413 or
            # 401): the rest of the body, still to be sent, would be read as the next
            # request.
            self.close()
        return parser

    async def _drain(self, waiter: asyncio.Future[None], timeout: float) -> None:
        """Wait until the request is sent but for what the transport buffers below its
        low-water mark, or the answer is whole, or the connection is gone. The timeout
        is a pause in sending, as the sync transport's socket timeout is: a server that
        reads a large body slowly but steadily is not timed out."""
        transport = self._transport
        assert transport is not None
        while self._paused and not self.closed and not waiter.done():
            unsent = transport.get_write_buffer_size()
            drained = self._drained = self._loop.create_future()
            try:
                await within(timeout, drained)
            except asyncio.TimeoutError:
                if transport.get_write_buffer_size() >= unsent:
                    raise AttemptFailed("write_timeout") from None
            finally:
                self._drained = None

    def _check_idle(self, timeout: float) -> None:
        # One timer per request, moved on when data arrived since it was set: cheaper
        # than a new timer for every piece received.
        waiter = self._waiter
        if waiter is None or waiter.done():
            # The answer is whole (its call has not resumed yet): nothing to time out,
            # and a connection fit for reuse must not be closed.
            self._timer = None
            return
        idle = self._loop.time() - self._last_read
        if idle >= timeout:
            self._timer = None
            self._fail(AttemptFailed("read_timeout"))
        else:
            self._timer = self._loop.call_later(timeout - idle, self._check_idle, timeout)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        # An answer that came while the request was still being sent ends the sending:
        # waiting for the server to read the rest would turn its answer into a timeout.
        drained = self._drained
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        transport = self._transport
        if transport is not None and (
            not transport.is_closing() or transport.get_write_buffer_size()
        ):
            # abort, not close: nothing we would still send matters (a graceful close,
            # begun when the server ended its side, would first send the rest of the
            # request), and an unread answer must not be waited for.
            transport.abort()


class ConnectionPool:
    """The idle connections of one event loop, per origin; newest used first.

    It holds no reference to its loop: the transport keys pools by loop weakly, and a
    value that held its key would keep every finished loop alive. Once closed, a
    connection given back (by a call that was in flight) is closed, not kept.
    """

    __slots__ = ("_idle", "_tls", "closed")

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._idle: dict[Origin, list[Connection]] = {}
        self.closed = False

    async def get(self, origin: Origin, connect_timeout: float) -> Connection:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return await self._connect(origin, connect_timeout)

    def put(self, origin: Origin, connection: Connection) -> None:
        if self.closed:
            connection.close()
        elif not connection.closed:
            self._idle.setdefault(origin, []).append(connection)

    def close(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    async def _connect(self, origin: Origin, timeout: float) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._tls if scheme == "https" else None
        try:
            _, connection = await within(
                timeout,
                loop.create_connection(
                    lambda: Connection(loop),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                ),
            )
        except asyncio.TimeoutError:
            raise AttemptFailed("connect_timeout") from None
        except ssl.SSLError:  # CertificateError is one too
            raise AttemptFailed("tls") from None
        except OSError:
            raise AttemptFailed("connect") from None
        return connection


def start_on_running_loop(agen: AsyncGenerator[None, None]) -> None:
    """Run ``agen`` to its first ``yield`` now, without awaiting: that first step is
    what registers it with the running loop (``sys.set_asyncgen_hooks``)."""
    with contextlib.suppress(StopIteration):
        agen.asend(None).send(None)


async def within(
    seconds: float, awaitable: Union[Coroutine[Any, Any, _T], asyncio.Future[_T]]
) -> _T:
    """``await awaitable``, cancelled after ``seconds`` (``asyncio.TimeoutError``)."""
    if sys.version_info >= (3, 11):
        # No extra task per call, unlike wait_for on older Pythons.
        async with asyncio.timeout(seconds):  # novermin (guarded by the version check)
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout=seconds)
