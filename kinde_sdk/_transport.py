"""The one HTTP transport every sync call goes through (token, API, discovery, JWKS).

A urllib3 pool with keep-alive, timeouts on by default, a request id per call, and
retries decided by :mod:`kinde_sdk._retry`. It returns every response, error statuses
included; callers turn statuses into their own typed errors. It never logs headers or
bodies, so secrets cannot leak through it.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union
from urllib.parse import urlsplit, urlunsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from ._retry import (
    RetryPolicy,
    error_is_retryable,
    next_delay,
    parse_retry_after,
    status_is_retryable,
)
from ._version import __version__
from .errors import KindeConnectionError, KindeTimeoutError

logger = logging.getLogger("kinde_sdk")

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
REQUEST_ID_HEADER = "X-Request-Id"
# Response headers that may carry the server's own id for a request, most specific first.
_RESPONSE_ID_HEADERS = ("x-request-id", "kinde-request-id", "x-amzn-requestid", "cf-ray")
USER_AGENT = f"kinde-sdk-python/{__version__} python/{platform.python_version()}"

TimeoutArg = Union[float, tuple[float, float], None]
FormFields = Sequence[tuple[str, Any]]


def make_timeout(timeout: TimeoutArg) -> tuple[float, float]:
    """Normalise a timeout argument to (connect, read) seconds; None means the defaults."""
    if timeout is None:
        return DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
    if isinstance(timeout, tuple):
        connect, read = timeout
    else:
        connect = read = float(timeout)
    if connect <= 0 or read <= 0:
        raise ValueError("timeouts must be positive: a call without a timeout can hang forever")
    return float(connect), float(read)


def url_for_log(url: str) -> str:
    """The URL without credentials or query string, safe for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class Response:
    """A fully read HTTP response."""

    status: int
    headers: Mapping[str, str]
    data: bytes
    request_id: str
    raw: urllib3.BaseHTTPResponse

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers)


class Transport:
    """Thread-safe HTTP client shared by everything in the SDK.

    ``timeout`` is seconds, or (connect, read) seconds, per attempt; ``retry`` bounds
    retries and the total time of one call; ``headers`` are sent with every request.
    """

    def __init__(
        self,
        *,
        timeout: TimeoutArg = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        pool_maxsize: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.timeout = make_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        # retries=False: urllib3 raises the original error and this module decides.
        self._pool = urllib3.PoolManager(maxsize=pool_maxsize, retries=False, block=False)
        self._closed = threading.Event()

    def __repr__(self) -> str:
        return f"Transport(timeout={self.timeout!r}, retry={self.retry!r})"

    def close(self) -> None:
        self._closed.set()
        self._pool.clear()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
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
    ) -> Response:
        """Send one logical request, retrying per the policy; return the final response."""
        method = method.upper()
        policy = retry or self.retry
        connect, read = make_timeout(timeout) if timeout is not None else self.timeout
        rid = request_id or uuid.uuid4().hex
        send_headers = {**self.headers, REQUEST_ID_HEADER: rid, **(headers or {})}
        started = self._clock()
        deadline = started + policy.deadline
        safe_url = url_for_log(url)
        retry_number = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise KindeTimeoutError(
                    f"{method} {safe_url} exceeded its total deadline of {policy.deadline:g}s",
                    url=safe_url,
                )
            attempt_timeout = urllib3.Timeout(
                connect=min(connect, remaining), read=min(read, remaining)
            )
            try:
                raw = self._send(
                    method, url, send_headers, body, fields, encode_multipart, attempt_timeout
                )
            except HTTPError as exc:
                sent = not isinstance(exc, (ConnectTimeoutError, NewConnectionError))
                error = self._connection_error(exc, method, safe_url)
                retryable = not isinstance(exc, SSLError) and error_is_retryable(method, sent=sent)
                delay = (
                    next_delay(
                        policy,
                        retry_number,
                        retry_after=None,
                        remaining=deadline - self._clock(),
                        rand=self._rand,
                    )
                    if retryable
                    else None
                )
                logger.debug("HTTP %s %s failed: %s", method, safe_url, type(exc).__name__)
                if delay is None:
                    raise error from exc
            else:
                response = Response(
                    status=raw.status,
                    headers=raw.headers,
                    data=raw.data,
                    request_id=_response_request_id(raw.headers) or rid,
                    raw=raw,
                )
                logger.debug(
                    "HTTP %s %s -> %s in %.0f ms (request id %s)",
                    method,
                    safe_url,
                    response.status,
                    (self._clock() - started) * 1000,
                    response.request_id,
                )
                if not status_is_retryable(method, response.status):
                    return response
                delay = next_delay(
                    policy,
                    retry_number,
                    retry_after=response.retry_after,
                    remaining=deadline - self._clock(),
                    rand=self._rand,
                )
                if delay is None:
                    return response
            retry_number += 1
            logger.debug(
                "retrying %s %s in %.2fs (retry %d)", method, safe_url, delay, retry_number
            )
            self._sleep(delay)

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: Optional[bytes],
        fields: Optional[FormFields],
        encode_multipart: bool,
        timeout: urllib3.Timeout,
    ) -> urllib3.BaseHTTPResponse:
        if self._closed.is_set():
            raise KindeConnectionError("the transport is closed", url=url_for_log(url))
        if fields is not None:
            return self._pool.request(
                method,
                url,
                fields=list(fields),
                headers=dict(headers),
                encode_multipart=encode_multipart,
                timeout=timeout,
                redirect=False,
            )
        return self._pool.request(
            method, url, body=body, headers=dict(headers), timeout=timeout, redirect=False
        )

    @staticmethod
    def _connection_error(exc: HTTPError, method: str, safe_url: str) -> KindeConnectionError:
        if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)) and not isinstance(
            exc, NewConnectionError
        ):
            phase = "connecting" if isinstance(exc, ConnectTimeoutError) else "reading the response"
            return KindeTimeoutError(f"{method} {safe_url} timed out {phase}", url=safe_url)
        if isinstance(exc, SSLError):
            return KindeConnectionError(f"{method} {safe_url}: TLS error", url=safe_url)
        if isinstance(exc, ProtocolError):
            return KindeConnectionError(f"{method} {safe_url}: connection broken", url=safe_url)
        return KindeConnectionError(f"{method} {safe_url}: cannot connect", url=safe_url)


def _response_request_id(headers: Mapping[str, str]) -> Optional[str]:
    for name in _RESPONSE_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


_default_transport: Optional[Transport] = None
_default_lock = threading.Lock()


def default_transport() -> Transport:
    """The process-wide transport used when a client is not given one (one shared pool)."""
    global _default_transport
    if _default_transport is None:
        with _default_lock:
            if _default_transport is None:
                _default_transport = Transport()
    return _default_transport
