"""The async twin of :mod:`kinde_sdk._transport`, on asyncio's own sockets.

Only the I/O is written here. The policy is the sync transport's, imported rather than
repeated: timeouts (:func:`~kinde_sdk._transport.make_timeout`), the retry loop's
decisions (:class:`~kinde_sdk._retry.RetryState`), request ids, the User-Agent, the
:class:`~kinde_sdk._transport.Response` type, error messages and types, and logging
(never headers or bodies). Waits use ``asyncio.sleep`` (injectable), so nothing here
blocks the event loop.

HTTP/1.1 is spoken by :mod:`kinde_sdk._aio_connection` (protocol objects on the loop)
and :mod:`kinde_sdk._http11` (the sans-I/O request and response framing): the async
client needs no dependency beyond the SDK's own. ``Response.raw`` is the same read
``urllib3.HTTPResponse`` the sync transport gives, made only when asked for.

A transport may be used from several event loops (threads each running one, or tests):
each loop gets its own connections and queue, as asyncio objects must never cross loops.

At most ``pool_maxsize`` requests per loop are on the wire at once, each on a kept-alive
connection; the others wait their turn in :class:`_Slots`, in order, with the wait
counted against the retry deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import ssl
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Mapping
from typing import Any, Callable, Optional
from urllib.parse import urlencode

from urllib3 import HTTPHeaderDict, encode_multipart_formdata
from urllib3.util import parse_url

from ._aio_connection import (
    AttemptFailed,
    ConnectionPool,
    Origin,
    start_on_running_loop,
    within,
)
from ._http11 import ResponseParser, TooLarge, encode_request
from ._retry import RetryPolicy, RetryState
from ._transport import (
    USER_AGENT,
    EndpointKind,
    FormFields,
    Response,
    ResponseLimits,
    TimeoutArg,
    connection_error,
    deadline_error,
    log_response,
    log_retry,
    make_timeout,
    request_headers,
    split_url,
    too_large,
    url_for_log,
)
from .errors import KindeConnectionError

logger = logging.getLogger("kinde_sdk")

# urllib3 sends the fields of these methods in the query string, the others' in the body.
_URL_FIELD_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class AsyncTransport:
    """The async HTTP client of the SDK: the same policy as :class:`~kinde_sdk._transport.
    Transport` (same arguments, defaults and errors), with ``await request(...)``.

    ``sleep`` is awaited between retries (``asyncio.sleep`` unless a test injects one).
    ``pool_maxsize`` bounds the connections per event loop, hence the requests in flight
    at once; more concurrent calls wait for a free connection (within the retry
    deadline).
    """

    def __init__(
        self,
        *,
        timeout: TimeoutArg = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        limits: Optional[ResponseLimits] = None,
        pool_maxsize: int = 10,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.timeout = make_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.limits = limits or ResponseLimits()
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        if pool_maxsize < 1:
            raise ValueError("pool_maxsize must be at least 1")
        self.pool_maxsize = pool_maxsize
        self._closed = False
        # As the sync transport: the system's trust store, no proxies or certificates
        # from the environment, no redirects. Made on first https use (it reads the
        # system's certificates).
        self._tls: Optional[ssl.SSLContext] = None
        # Per event loop: an asyncio future or socket must never cross loops. Weakly
        # keyed, so a finished loop is not kept alive by a transport that outlives it.
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._loops_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AsyncTransport(timeout={self.timeout!r}, retry={self.retry!r})"

    async def aclose(self) -> None:
        """Close every idle connection; calls made after this fail with
        :class:`~kinde_sdk.errors.KindeConnectionError`."""
        self._closed = True
        with self._loops_lock:
            states = list(self._loops.items())
        running = asyncio.get_running_loop()
        for loop, state in states:
            if loop is running:
                if state.closer is not None:
                    await state.closer.aclose()  # closes the pool now rather than at exit
                state.pool.close()
            elif not loop.is_closed():
                # Another loop's sockets are closed on that loop (unless it closed since).
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(state.pool.close)

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _state(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = self._loops.get(loop)
        if state is None or state.pool.closed:
            with self._loops_lock:
                state = self._loops.get(loop)
                # A pool closed at its loop's shutdown while the transport stays open
                # (a loop that runs on after shutting its generators down) is replaced.
                if state is None or (state.pool.closed and not self._closed):
                    if self._tls is None:
                        self._tls = ssl.create_default_context()
                    state = _LoopState(_Slots(self.pool_maxsize), ConnectionPool(self._tls))
                    self._loops[loop] = state
        return state

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Optional[bytes] = None,
        fields: Optional[FormFields] = None,
        encode_multipart: bool = False,
        timeout: TimeoutArg = None,
        retry: Optional[RetryPolicy] = None,
        request_id: Optional[str] = None,
        kind: EndpointKind = "management",
    ) -> Response:
        """Send one logical request, retrying per the policy; return the final response.

        ``fields`` are encoded as urllib3 encodes them for the sync transport: in the
        query string for GET, HEAD, DELETE and OPTIONS, else as a form (or multipart) body.
        Request ids, ``kind`` and the deadline are as in the sync transport's ``request``.
        A header or URL that could not be sent as it is (a CR or LF in a value, say) is
        a ``ValueError``, as from the sync transport.
        """
        method = method.upper()
        policy = retry or self.retry
        connect, read = make_timeout(timeout) if timeout is not None else self.timeout
        send_headers, rid = request_headers(self.headers, headers, request_id)
        limit = self.limits.limit(kind)
        if fields is not None:
            url, body, send_headers = _encode_fields(
                method, url, fields, encode_multipart, send_headers
            )
        safe_url = url_for_log(url)
        target = _target(url)
        if target is None:
            raise connection_error("other", method, safe_url)
        origin, host_header, path = target
        wire = encode_request(method, path, host_header, send_headers, body)
        state = RetryState(policy, method, clock=self._clock, rand=self._rand)
        loop_state = self._state(asyncio.get_running_loop())
        slots = loop_state.slots
        while True:
            remaining = state.remaining()
            if remaining <= 0:
                raise deadline_error(method, safe_url, policy)
            if not await slots.acquire(remaining):
                raise deadline_error(method, safe_url, policy)
            # Checked once a slot is held: closing may come, or the deadline pass, while
            # the request waits for a connection.
            remaining = state.remaining()
            if self._closed or remaining <= 0:
                slots.release()
                if self._closed:
                    raise KindeConnectionError("the transport is closed", url=safe_url)
                raise deadline_error(method, safe_url, policy)
            try:
                try:
                    # The connection's timeouts bound connecting and each wait for data;
                    # this bounds the whole attempt, so a trickling server cannot
                    # stretch the deadline.
                    parser = await within(
                        remaining,
                        _attempt(
                            loop_state.pool,
                            origin,
                            wire,
                            method,
                            limit,
                            min(connect, remaining),
                            min(read, remaining),
                        ),
                    )
                finally:
                    slots.release()
            except asyncio.TimeoutError:
                raise deadline_error(method, safe_url, policy) from None
            except TooLarge:
                raise too_large(method, safe_url, limit) from None
            except AttemptFailed as exc:
                logger.debug("HTTP %s %s failed: %s", method, safe_url, exc.kind)
                delay = state.after_failure(exc.kind)
                if delay is None:
                    raise connection_error(exc.kind, method, safe_url) from None
            else:
                head = _ReadHead(parser, url)
                response = Response.received(
                    parser.status, head.headers, parser.body, rid, unread=head
                )
                log_response(method, safe_url, response, state.elapsed(), rid)
                delay = state.after_status(response.status, response.headers)
                if delay is None:
                    return response
            log_retry(method, safe_url, delay, state.retries)
            await self._sleep(delay)


class _LoopState:
    """What a transport holds for one event loop. Made on that loop, while it runs."""

    __slots__ = ("closer", "pool", "slots")

    def __init__(self, slots: _Slots, pool: ConnectionPool) -> None:
        self.slots = slots
        self.pool = pool
        # Closes the pool when the loop shuts down (see _close_at_loop_shutdown).
        self.closer: Optional[AsyncGenerator[None, None]] = _close_at_loop_shutdown(self)
        start_on_running_loop(self.closer)


async def _close_at_loop_shutdown(state: _LoopState) -> AsyncGenerator[None, None]:
    """Suspended for the life of ``state``'s loop; closes its pool when the loop shuts
    its async generators down (``asyncio.run`` and ``asyncio.Runner`` do, before they
    close the loop). Without it the idle connections of a loop that ended stay open,
    unreachable: sockets left to the garbage collector ("unclosed transport"
    ResourceWarnings), and the loop kept alive by them."""
    try:
        yield
    finally:
        state.pool.close()
        # A finished generator still holds its loop (its finalizer hook): let go of it,
        # or the weakly keyed state would keep the loop alive.
        state.closer = None


async def _attempt(
    pool: ConnectionPool,
    origin: Origin,
    wire: bytes,
    method: str,
    limit: int,
    connect: float,
    read: float,
) -> ResponseParser:
    """One attempt: the parsed response. A kept-alive connection found dead before it
    answered is replaced by the next (or a new) one without counting as a retry: the
    request never reached a live server, whatever its method."""
    while True:
        connection = await pool.get(origin, connect)
        reused = connection.used
        try:
            parser = await connection.exchange(wire, ResponseParser(method, limit), read)
        except AttemptFailed as exc:
            if reused and exc.unsent:
                continue
            raise
        pool.put(origin, connection)
        return parser


class _ReadHead:
    """The head of a received response, in the shape the lazily made ``Response.raw``
    (a read ``urllib3.HTTPResponse``, as from the sync transport) is copied from."""

    __slots__ = ("headers", "reason", "status", "url", "version")

    def __init__(self, parser: ResponseParser, url: str) -> None:
        self.headers = HTTPHeaderDict(parser.headers)
        self.status = parser.status
        self.reason = parser.reason
        self.version = 11 if parser.version == "HTTP/1.1" else 10
        self.url = url


def _target(url: str) -> Optional[tuple[Origin, str, str]]:
    """(origin, Host header, request target) of ``url`` as urllib3 reads it for the sync
    transport (an IDNA host, a target with what it cannot carry percent-encoded); None
    for a URL this transport cannot send (not http or https, no host, a bad port,
    credentials)."""
    try:
        # The sync transport's parse, cached per origin; a URL it leaves to urllib3 (no
        # path, a fragment, a query right after the host) or whose target needs escaping
        # is parsed whole, as urllib3's pool manager would.
        route = split_url(url)
        if route is None or _NOT_IN_TARGET.search(route[3]):
            parsed = parse_url(url)
            if parsed.auth:
                return None  # credentials in a URL are never sent
            route = (parsed.scheme or "", parsed.host or "", parsed.port, parsed.request_uri)
    except ValueError:  # urllib3's LocationParseError: a host or port no URL can have
        return None
    scheme, host, port, target = route
    default = _DEFAULT_PORTS.get(scheme)
    if default is None or not host:
        return None
    shown = host if port is None or port == default else f"{host}:{port}"
    # urllib3 keeps an IPv6 literal's brackets; the resolver wants the address alone.
    return (scheme, host.strip("[]"), port or default), shown, target


# What a request target may carry as it is (RFC 3986: unreserved, sub-delims, ":", "@",
# "/", "?", and "%" of escapes already made).
_NOT_IN_TARGET = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]")


class _Slots:
    """A FIFO counting semaphore of one event loop whose wait can time out: ``await
    acquire(timeout)`` is True once a slot is held, False when none freed up in time.

    Not ``asyncio.Semaphore``: on Python < 3.10 it binds to the loop current when it is
    created, and bounding its wait takes ``asyncio.wait_for``, a task per waiter. Here a
    release hands its slot straight to the first waiter; a waiter that times out or is
    cancelled after being handed one passes it on.
    """

    # No reference to its loop: the transport keys these by loop weakly, and a value that
    # held its key would keep every finished loop alive.
    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self, timeout: float) -> bool:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except asyncio.TimeoutError:
            return False
        except BaseException:
            # Cancelled (or failed) after a release handed this waiter the slot: pass it on.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()
            raise
        finally:
            timer.cancel()
        return True

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot goes to this waiter
                return
        self._free += 1


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


def _encode_fields(
    method: str,
    url: str,
    fields: FormFields,
    encode_multipart: bool,
    headers: dict[str, str],
) -> tuple[str, Optional[bytes], dict[str, str]]:
    """What ``urllib3.PoolManager.request(fields=...)`` would send: (url, body, headers)."""
    if method in _URL_FIELD_METHODS:
        query = urlencode(list(fields))
        return (url + ("&" if "?" in url else "?") + query if query else url), None, headers
    if encode_multipart:
        body, content_type = encode_multipart_formdata(list(fields))
    else:
        body = urlencode(list(fields)).encode()
        content_type = "application/x-www-form-urlencoded"
    # As urllib3: the caller's own Content-Type wins.
    if not any(name.lower() == "content-type" for name in headers):
        headers = {**headers, "Content-Type": content_type}
    return url, body, headers
