"""The async twin of :mod:`kinde_sdk._transport`, over ``httpx.AsyncClient``.

Only the I/O is written here. The policy is the sync transport's, imported rather than
repeated: timeouts (:func:`~kinde_sdk._transport.make_timeout`), the retry loop's
decisions (:class:`~kinde_sdk._retry.RetryState`), request ids, the User-Agent, the
:class:`~kinde_sdk._transport.Response` type, error messages and types, and logging
(never headers or bodies). Waits use ``asyncio.sleep`` (injectable), so nothing here
blocks the event loop.

httpx is an optional dependency (``pip install "kinde-sdk[async]"``): it is imported when
an :class:`AsyncTransport` is created, and a missing httpx is a
:class:`~kinde_sdk.errors.KindeConfigurationError` saying so.

Like any ``httpx.AsyncClient``, an :class:`AsyncTransport` belongs to the event loop that
first uses it: create one per loop (one per application, usually).

At most ``pool_maxsize`` requests are on the wire at once, each on a kept-alive
connection; the others wait their turn in :class:`_Slots`, in order, with the wait counted
against the retry deadline. httpx would queue them itself, but its pool rescans every
queued request against every connection (and polls each idle socket) whenever a request
starts or ends, which costs more than the request once a few hundred are queued
(scripts/bench_async.py); and an unbounded pool opens a socket per concurrent request,
then closes all but a few of them again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import sys
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Coroutine, Mapping
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import urlencode

from urllib3 import encode_multipart_formdata

from ._retry import FailureKind, RetryPolicy, RetryState
from ._transport import (
    READ_CHUNK,
    USER_AGENT,
    EndpointKind,
    FormFields,
    Response,
    ResponseLimits,
    TimeoutArg,
    check_content_length,
    connection_error,
    deadline_error,
    log_response,
    log_retry,
    make_timeout,
    request_headers,
    too_large,
    url_for_log,
)
from .errors import KindeConfigurationError, KindeConnectionError

logger = logging.getLogger("kinde_sdk")
_T = TypeVar("_T")

# urllib3 sends the fields of these methods in the query string, the others' in the body.
_URL_FIELD_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS"})


def _require_httpx() -> None:
    try:
        import httpx  # noqa: F401
    except ImportError:
        raise KindeConfigurationError(
            "the async API needs httpx: pip install 'kinde-sdk[async]'"
        ) from None


class AsyncTransport:
    """The async HTTP client of the SDK: the same policy as :class:`~kinde_sdk._transport.
    Transport` (same arguments, defaults and errors), with ``await request(...)``.

    ``sleep`` is awaited between retries (``asyncio.sleep`` unless a test injects one).
    ``pool_maxsize`` bounds the connections, hence the requests in flight at once; more
    concurrent calls wait for a free connection (within the retry deadline).
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
        _require_httpx()
        import httpx

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
        # One queue per event loop: an asyncio future must never cross loops.
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Slots] = (
            weakref.WeakKeyDictionary()
        )
        # As the sync transport: the system's trust store, no proxies or certificates
        # from the environment, no redirects. Every connection is kept alive: with fewer
        # kept than opened, httpx closes each connection as its request ends (it compares
        # the keep-alive limit with all connections, not the idle ones).
        self._client = httpx.AsyncClient(
            verify=ssl.create_default_context(),
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=pool_maxsize, max_keepalive_connections=pool_maxsize
            ),
        )

    def __repr__(self) -> str:
        return f"AsyncTransport(timeout={self.timeout!r}, retry={self.retry!r})"

    async def aclose(self) -> None:
        self._closed = True
        await self._client.aclose()

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        """
        import httpx

        method = method.upper()
        policy = retry or self.retry
        connect, read = make_timeout(timeout) if timeout is not None else self.timeout
        send_headers, rid = request_headers(self.headers, headers, request_id)
        limit = self.limits.limit(kind)
        if fields is not None:
            url, body, send_headers = _encode_fields(
                method, url, fields, encode_multipart, send_headers
            )
        state = RetryState(policy, method, clock=self._clock, rand=self._rand)
        safe_url = url_for_log(url)
        loop = asyncio.get_running_loop()
        slots = self._slots.get(loop)
        if slots is None:
            slots = self._slots[loop] = _Slots(self.pool_maxsize)
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
            attempt_timeout = httpx.Timeout(
                connect=min(connect, remaining),
                read=min(read, remaining),
                write=min(read, remaining),
                pool=min(connect, remaining),
            )
            try:
                try:
                    # httpx's timeouts bound each read; this bounds the whole attempt,
                    # headers and body, so a trickling server cannot stretch the deadline.
                    raw, raw_headers, data = await _within(
                        remaining,
                        self._attempt(
                            method, url, send_headers, body, attempt_timeout, limit, safe_url
                        ),
                    )
                finally:
                    slots.release()
            except asyncio.TimeoutError:
                raise deadline_error(method, safe_url, policy) from None
            except (httpx.RequestError, httpx.InvalidURL) as exc:
                failure = _failure_kind(exc)
                logger.debug("HTTP %s %s failed: %s", method, safe_url, type(exc).__name__)
                delay = state.after_failure(failure)
                if delay is None:
                    raise connection_error(failure, method, safe_url) from exc
            else:
                response = Response.received(raw.status_code, raw_headers, data, rid, raw=raw)
                log_response(method, safe_url, response, state.elapsed(), rid)
                delay = state.after_status(response.status, response.headers)
                if delay is None:
                    return response
            log_retry(method, safe_url, delay, state.retries)
            await self._sleep(delay)

    async def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: Optional[bytes],
        timeout: Any,
        limit: int,
        safe_url: str,
    ) -> tuple[Any, Any, bytes]:
        """One attempt: the response (read, as an ``httpx.Response``), the headers as
        received, and the body, read in chunks and capped at ``limit`` bytes."""
        import httpx

        async with self._client.stream(
            method, url, headers=headers, content=body, timeout=timeout
        ) as raw:
            check_content_length(raw.headers, limit, method, safe_url)
            chunks: list[bytes] = []
            size = 0
            async for chunk in raw.aiter_bytes(READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(method, safe_url, limit)
                chunks.append(chunk)
        data = b"".join(chunks)
        # A read copy for callers that want httpx's own object: the body is already
        # decoded, so the encoding headers no longer describe it.
        read = httpx.Response(
            raw.status_code,
            headers=[
                (k, v)
                for k, v in raw.headers.multi_items()
                if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
            ],
            content=data,
            request=raw.request,
            extensions=raw.extensions,
        )
        return read, raw.headers, data


async def _within(seconds: float, attempt: Coroutine[Any, Any, _T]) -> _T:
    """``await attempt``, cancelled after ``seconds`` (asyncio.TimeoutError)."""
    if sys.version_info >= (3, 11):
        # No extra task per request, unlike wait_for on older Pythons.
        async with asyncio.timeout(seconds):  # novermin (guarded by the version check)
            return await attempt
    return await asyncio.wait_for(attempt, timeout=seconds)


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


def _failure_kind(exc: Exception) -> FailureKind:
    import httpx

    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return "connect_timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "read_timeout"
    if isinstance(exc, httpx.WriteTimeout):
        return "write_timeout"
    if isinstance(exc, httpx.ConnectError):
        # httpx reports a failed TLS handshake as a ConnectError caused by ssl.SSLError.
        return "tls" if _caused_by_tls(exc) else "connect"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.ProtocolError)):
        return "broken"
    return "other"


def _caused_by_tls(exc: BaseException) -> bool:
    seen: Optional[BaseException] = exc
    for _ in range(8):  # httpx -> httpcore -> ssl; a bound against cycles
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
