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

from ._retry import FailureKind, RetryPolicy, RetryState, parse_retry_after
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
    """A fully read HTTP response, from :class:`Transport` or the async transport.

    ``headers`` is case-insensitive. ``raw`` is the HTTP library's own response object
    (``urllib3.BaseHTTPResponse`` from :class:`Transport`, ``httpx.Response`` from
    :class:`kinde_sdk._async_transport.AsyncTransport`), already fully read.
    """

    status: int
    headers: Mapping[str, str]
    data: bytes
    request_id: str
    raw: Any

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
        state = RetryState(policy, method, clock=self._clock, rand=self._rand)
        safe_url = url_for_log(url)
        while True:
            remaining = state.remaining()
            if remaining <= 0:
                raise deadline_error(method, safe_url, policy)
            attempt_timeout = urllib3.Timeout(
                connect=min(connect, remaining), read=min(read, remaining)
            )
            try:
                raw = self._send(
                    method, url, send_headers, body, fields, encode_multipart, attempt_timeout
                )
            except HTTPError as exc:
                kind = _failure_kind(exc)
                logger.debug("HTTP %s %s failed: %s", method, safe_url, type(exc).__name__)
                delay = state.after_failure(kind)
                if delay is None:
                    raise connection_error(kind, method, safe_url) from exc
            else:
                response = Response(
                    status=raw.status,
                    headers=raw.headers,
                    data=raw.data,
                    request_id=response_request_id(raw.headers) or rid,
                    raw=raw,
                )
                log_response(method, safe_url, response, state.elapsed())
                delay = state.after_status(response.status, response.headers)
                if delay is None:
                    return response
            log_retry(method, safe_url, delay, state.retries)
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


def _failure_kind(exc: HTTPError) -> FailureKind:
    # NewConnectionError (refused, DNS) subclasses ConnectTimeoutError in urllib3 2.
    if isinstance(exc, NewConnectionError):
        return "connect"
    if isinstance(exc, ConnectTimeoutError):
        return "connect_timeout"
    if isinstance(exc, ReadTimeoutError):
        return "read_timeout"
    if isinstance(exc, SSLError):
        return "tls"
    if isinstance(exc, ProtocolError):
        return "broken"
    return "other"


# --- shared with the async transport: no I/O below ---------------------------------------

_FAILURE_MESSAGES: dict[FailureKind, str] = {
    "connect": "cannot connect",
    "connect_timeout": "timed out connecting",
    "read_timeout": "timed out reading the response",
    "write_timeout": "timed out sending the request",
    "broken": "connection broken",
    "tls": "TLS error",
    "other": "cannot connect",
}


def connection_error(kind: FailureKind, method: str, safe_url: str) -> KindeConnectionError:
    """The SDK error for a failed attempt; timeouts are :class:`KindeTimeoutError`."""
    detail = _FAILURE_MESSAGES[kind]
    if kind in ("connect_timeout", "read_timeout", "write_timeout"):
        return KindeTimeoutError(f"{method} {safe_url} {detail}", url=safe_url)
    return KindeConnectionError(f"{method} {safe_url}: {detail}", url=safe_url)


def deadline_error(method: str, safe_url: str, policy: RetryPolicy) -> KindeTimeoutError:
    return KindeTimeoutError(
        f"{method} {safe_url} exceeded its total deadline of {policy.deadline:g}s", url=safe_url
    )


def log_response(method: str, safe_url: str, response: Response, elapsed: float) -> None:
    logger.debug(
        "HTTP %s %s -> %s in %.0f ms (request id %s)",
        method,
        safe_url,
        response.status,
        elapsed * 1000,
        response.request_id,
    )


def log_retry(method: str, safe_url: str, delay: float, retry_number: int) -> None:
    logger.debug("retrying %s %s in %.2fs (retry %d)", method, safe_url, delay, retry_number)


def response_request_id(headers: Mapping[str, str]) -> Optional[str]:
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
