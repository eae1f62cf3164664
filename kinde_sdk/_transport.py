"""The one HTTP transport every sync call goes through (token, API, discovery, JWKS).

A urllib3 pool with keep-alive, timeouts on by default, a request id per call, and
retries decided by :mod:`kinde_sdk._retry`. It returns every response, error statuses
included; callers turn statuses into their own typed errors. It never logs headers or
bodies, so secrets cannot leak through it.

Two bounds hold whatever the server does:

* the total deadline of the call (``RetryPolicy.deadline``), even while the status
  line, headers or body trickle in: each attempt is watched by :mod:`kinde_sdk._deadline`,
  which shuts its socket down when the deadline passes;
* the size of the body, per kind of endpoint (:class:`ResponseLimits`): the body is read
  in chunks and the call fails with :class:`~kinde_sdk.errors.ResponseTooLargeError` as
  soon as it crosses the cap (at once when ``Content-Length`` says so), never after
  buffering it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional, Protocol, Union
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

from . import _deadline
from ._retry import FailureKind, RetryPolicy, RetryState, parse_retry_after
from ._version import __version__
from .errors import KindeConnectionError, KindeTimeoutError, ResponseTooLargeError

logger = logging.getLogger("kinde_sdk")

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
REQUEST_ID_HEADER = "X-Request-Id"
# Response headers that may carry the server's own id for a request, most specific first.
_RESPONSE_ID_HEADERS = ("x-request-id", "kinde-request-id", "x-amzn-requestid", "cf-ray")
USER_AGENT = f"kinde-sdk-python/{__version__} python/{platform.python_version()}"

TimeoutArg = Union[float, tuple[float, float], None]
FormFields = Sequence[tuple[str, Any]]

# What a request is for; it picks the body size cap (ResponseLimits). The OAuth token
# endpoint and the revocation endpoint are both "token".
EndpointKind = Literal["management", "token", "jwks", "discovery"]
_MIB = 1024 * 1024
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ResponseLimits:
    """The largest response body accepted, in bytes, per kind of endpoint.

    The defaults are generous: a Kinde JWKS or discovery document is a few KB, a token
    response a few KB (more with many permissions), a Management API page well under
    a MB. Past the cap a call raises :class:`~kinde_sdk.errors.ResponseTooLargeError`
    without reading the rest. Give a transport other limits with
    ``Transport(limits=ResponseLimits(management=...))``.
    """

    management: int = 64 * _MIB
    token: int = 1 * _MIB
    jwks: int = 1 * _MIB
    discovery: int = 1 * _MIB

    def __post_init__(self) -> None:
        for kind in ("management", "token", "jwks", "discovery"):
            value = getattr(self, kind)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"ResponseLimits.{kind} must be a positive number of bytes")

    def limit(self, kind: EndpointKind) -> int:
        value: int = getattr(self, kind)
        return value


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
    # Once per distinct URL before its query (the query is dropped anyway): every call
    # needs it, for its errors and debug log.
    base = url.partition("?")[0]
    safe = _safe_urls.get(base)
    if safe is None:
        parts = urlsplit(base)
        host = parts.hostname or ""
        if ":" in host:  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:  # out of range or not a number: the request will fail anyway
            port = None
        if port:
            host = f"{host}:{port}"
        safe = urlunsplit((parts.scheme, host, parts.path, "", ""))
        if len(_safe_urls) >= _SAFE_URLS_MAX:
            _safe_urls.clear()  # paths with ids vary without end; stay bounded
        _safe_urls[base] = safe
    return safe


_SAFE_URLS_MAX = 512
_safe_urls: dict[str, str] = {}


class ReceivedHead(Protocol):
    """What a read copy of a response is made from: an unread ``urllib3`` response, or
    the async transport's record of a response head."""

    @property
    def headers(self) -> Any: ...
    @property
    def status(self) -> int: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def version(self) -> int: ...
    @property
    def url(self) -> Optional[str]: ...


class Response:
    """A fully read HTTP response, from :class:`Transport` or the async transport.

    ``headers`` is case-insensitive. ``raw`` is the HTTP library's own response object
    (a read ``urllib3.HTTPResponse``, from either transport), already fully read.

    Read-only. What most callers never read is made on first access: the server's
    request id (a few header lookups) and the read copy of the urllib3 response behind
    ``raw``.
    """

    __slots__ = ("_raw", "_request_id", "_sent_id", "_source", "data", "headers", "status")

    status: int
    headers: Mapping[str, str]
    data: bytes
    _request_id: Optional[str]
    _sent_id: str
    _raw: Any
    _source: Optional[ReceivedHead]

    def __init__(
        self, status: int, headers: Mapping[str, str], data: bytes, request_id: str, raw: Any
    ) -> None:
        self._fill(status, headers, data, request_id, request_id, raw, None)

    @classmethod
    def received(
        cls,
        status: int,
        headers: Mapping[str, str],
        data: bytes,
        sent_id: str,
        *,
        raw: Any = None,
        unread: Optional[ReceivedHead] = None,
    ) -> Response:
        """A response as a transport received it. ``request_id`` is the server's id in
        ``headers``, else ``sent_id``. ``raw`` is the library's read response; or, from
        :class:`Transport`, ``unread`` is the urllib3 response whose body was ``data``,
        and ``raw`` a read copy of it made on first access."""
        self = cls.__new__(cls)
        self._fill(status, headers, data, None, sent_id, raw, unread)
        return self

    def _fill(self, *values: Any) -> None:
        # The slots in __slots__ order; past __setattr__, which refuses every change.
        for name, value in zip(_RESPONSE_FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Response is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Response is read-only (cannot delete {name!r})")

    def __repr__(self) -> str:
        # Never the headers or the body: either may carry a secret.
        return f"Response(status={self.status}, request_id={self.request_id!r})"

    @property
    def request_id(self) -> str:
        """The server's id for the request when it sent one, else the id we sent."""
        rid: Optional[str] = self._request_id
        if rid is None:
            rid = response_request_id(self.headers) or self._sent_id
            object.__setattr__(self, "_request_id", rid)
        return rid

    @property
    def raw(self) -> Any:
        raw = self._raw
        if raw is None and self._source is not None:
            raw = _read_response(self._source, self.data)
            object.__setattr__(self, "_raw", raw)
        return raw

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers)


_RESPONSE_FIELDS = ("status", "headers", "data", "_request_id", "_sent_id", "_raw", "_source")


class Transport:
    """Thread-safe HTTP client shared by everything in the SDK.

    ``timeout`` is seconds, or (connect, read) seconds, per attempt; ``retry`` bounds
    retries and the total time of one call; ``headers`` are sent with every request (an
    ``X-Request-Id`` among them is kept, not replaced by a generated one); ``limits``
    caps response bodies per kind of endpoint.
    """

    def __init__(
        self,
        *,
        timeout: TimeoutArg = None,
        retry: Optional[RetryPolicy] = None,
        headers: Optional[Mapping[str, str]] = None,
        limits: Optional[ResponseLimits] = None,
        pool_maxsize: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.timeout = make_timeout(timeout)
        # The attempt timeout of every call that sets none (and has time enough left).
        self._timeout = urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1])
        self.retry = retry or RetryPolicy()
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        self.limits = limits or ResponseLimits()
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        # retries=False: urllib3 raises the original error and this module decides.
        self._pool = urllib3.PoolManager(maxsize=pool_maxsize, retries=False, block=False)
        # Connections whose sockets the deadline watchdog can shut down.
        self._pool.pool_classes_by_scheme = _deadline.POOL_CLASSES_BY_SCHEME
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
        kind: EndpointKind = "management",
    ) -> Response:
        """Send one logical request, retrying per the policy; return the final response.

        The request id sent as ``X-Request-Id`` is ``request_id``, else one set in
        ``headers`` or the transport's headers, else a new one; every attempt of the call
        sends the same. ``kind`` picks the body size cap from :attr:`limits`.
        """
        method = method.upper()
        policy = retry or self.retry
        if timeout is None:
            connect, read = self.timeout
            usual = self._timeout
        else:
            connect, read = make_timeout(timeout)
            usual = None
        send_headers, rid = request_headers(self.headers, headers, request_id)
        limit = self.limits.limit(kind)
        state = RetryState(policy, method, clock=self._clock, rand=self._rand)
        safe_url = url_for_log(url)
        while True:
            remaining = state.remaining()
            if remaining <= 0:
                raise deadline_error(method, safe_url, policy)
            if usual is not None and remaining >= connect and remaining >= read:
                attempt_timeout = usual  # urllib3 clones it per request: safe to share
            else:
                attempt_timeout = urllib3.Timeout(
                    connect=min(connect, remaining), read=min(read, remaining)
                )
            try:
                raw, data = self._attempt(
                    method,
                    url,
                    send_headers,
                    body,
                    fields,
                    encode_multipart,
                    attempt_timeout,
                    remaining,
                    limit,
                    safe_url,
                )
            except _DeadlinePassed as exc:
                raise deadline_error(method, safe_url, policy) from exc.__cause__
            except HTTPError as exc:
                failure = _failure_kind(exc)
                logger.debug("HTTP %s %s failed: %s", method, safe_url, type(exc).__name__)
                delay = state.after_failure(failure)
                if delay is None:
                    raise connection_error(failure, method, safe_url) from exc
            else:
                status = raw.status
                response = Response.received(status, raw.headers, data, rid, unread=raw)
                if logger.isEnabledFor(logging.DEBUG):
                    log_response(method, safe_url, response, state.elapsed(), rid)
                if status not in policy.retry_statuses:  # the usual case: no retry to decide
                    return response
                delay = state.after_status(status, response.headers)
                if delay is None:
                    return response
            log_retry(method, safe_url, delay, state.retries)
            self._sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: Optional[bytes],
        fields: Optional[FormFields],
        encode_multipart: bool,
        timeout: urllib3.Timeout,
        seconds: float,
        limit: int,
        safe_url: str,
    ) -> tuple[urllib3.BaseHTTPResponse, bytes]:
        """One attempt under the deadline watchdog (``seconds`` left): the response and
        its whole body. Raises _DeadlinePassed when the deadline cut it short."""
        watch = _deadline.start(seconds)
        raw: Optional[urllib3.BaseHTTPResponse] = None
        data: Optional[bytes] = None
        try:
            raw = self._send(method, url, headers, body, fields, encode_multipart, timeout)
            data = _read_body(raw, limit, method, safe_url)
        except Exception as exc:
            if watch.fired:
                # Whatever the interrupted read raised, the cause is the deadline.
                raise _DeadlinePassed() from exc
            raise
        finally:
            # The watch ends before the connection can go back to the pool: a late
            # firing must never shut down a connection another request has taken.
            fired = _deadline.stop(watch)
            if raw is not None:
                if data is None or fired:
                    raw.close()  # never reuse a connection with unread bytes on it
                raw.release_conn()
        if fired:
            raise _DeadlinePassed()  # what was read may be cut short
        return raw, data

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
        # preload_content=False: the body is read by _read_body, within its cap.
        if fields is not None:
            return self._pool.request(
                method,
                url,
                fields=list(fields),
                headers=dict(headers),
                encode_multipart=encode_multipart,
                timeout=timeout,
                redirect=False,
                preload_content=False,
            )
        route = split_url(url)
        send: Callable[..., urllib3.BaseHTTPResponse]
        if route is None:
            send, target = self._pool.request, url
        else:
            # What PoolManager.request does for a body without form fields and without
            # redirects, minus parsing the whole URL again on every call.
            scheme, host, port, target = route
            send = self._pool.connection_from_host(host, port=port, scheme=scheme).urlopen
        return send(
            method,
            target,
            body=body,
            headers=dict(headers),
            timeout=timeout,
            redirect=False,
            assert_same_host=False,  # what PoolManager passes its pools
            preload_content=False,
        )


def split_url(url: str) -> Optional[tuple[str, str, Optional[int], str]]:
    """(scheme, host, port, request target) of ``url``, as urllib3's PoolManager finds
    them, or None for a URL it should parse itself (no path, credentials, a fragment)."""
    sep = url.find("://")
    start = url.find("/", sep + 3) if sep > 0 else -1
    if start < 0:
        return None
    origin, target = url[:start], url[start:]
    if "#" in target:
        return None
    found = _origins.get(origin)
    if found is None:
        parts = urllib3.util.parse_url(origin)
        # A "?" or "#" before the first "/" ends the authority: that "/" is no path's.
        if parts.query is not None or parts.fragment is not None:
            return None
        if not parts.scheme or not parts.host or parts.auth or parts.path:
            return None
        found = (parts.scheme, parts.host, parts.port)
        if len(_origins) >= _SAFE_URLS_MAX:
            _origins.clear()  # stay bounded, whatever a caller sends
        _origins[origin] = found
    return (*found, target)


# "https://host:port" -> (scheme, host, port): parsed once each, not on every request.
_origins: dict[str, tuple[str, str, Optional[int]]] = {}


class _DeadlinePassed(Exception):
    """An attempt was cut short by the deadline watchdog."""


def _read_body(raw: urllib3.BaseHTTPResponse, limit: int, method: str, safe_url: str) -> bytes:
    """The whole body, failing as soon as it passes ``limit`` bytes.

    An identity body of known length within the cap (the usual API answer) is read in
    one call: http.client reads exactly the ``Content-Length`` bytes (none after a HEAD),
    so the cap holds without chunks. Anything else (chunked, compressed) is read in
    chunks and counted."""
    # urllib3 parsed Content-Length into length_remaining (None: chunked, absent or
    # invalid; 0 after a HEAD, whose Content-Length announces a body it does not send).
    length: Optional[int] = getattr(raw, "length_remaining", None)
    if length is not None:
        if length > limit:
            raise too_large(method, safe_url, limit)
        if not raw.headers.get("Content-Encoding"):
            return raw.read()
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = raw.read(READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise too_large(method, safe_url, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _read_response(raw: ReceivedHead, data: bytes) -> urllib3.HTTPResponse:
    """A read, closed copy of ``raw`` whose ``.data`` is the body (the generated client
    reads ``.data``, ``.status``, ``.reason`` and ``.headers``)."""
    # From a stream, preloaded: ``.data`` is then b"" for an empty body, as urllib3's
    # own preloaded responses give (bytes given directly would make it None).
    return urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers=raw.headers,
        status=raw.status,
        reason=raw.reason,
        version=raw.version,
        preload_content=True,
        decode_content=False,
        request_url=raw.url,
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


def request_headers(
    defaults: Mapping[str, str],
    per_call: Optional[Mapping[str, str]],
    request_id: Optional[str],
) -> tuple[dict[str, str], str]:
    """The headers of one call and its request id.

    A request id set by the caller is kept: the ``request_id`` argument, else an
    ``X-Request-Id`` of the call's headers, else one of the transport's headers (any
    spelling); only without one is a new id made. Exactly one ``X-Request-Id`` is sent.
    """
    headers = {**defaults, **per_call} if per_call else dict(defaults)
    # Any spelling of the header is dropped (one is sent); the length is checked first,
    # as few header names are 12 characters long.
    spelled = [k for k in headers if len(k) == _ID_LENGTH and k.lower() == _ID_LOWER]
    if spelled:
        for key in spelled:
            del headers[key]
        rid = request_id or _find_header(per_call) or _find_header(defaults)
    else:
        rid = request_id
    headers[REQUEST_ID_HEADER] = rid = rid or new_request_id()
    return headers, rid


_ID_LOWER = REQUEST_ID_HEADER.lower()
_ID_LENGTH = len(_ID_LOWER)
# The bits of a version 4 (random) UUID, as uuid.uuid4() sets them.
_UUID4_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
# Its own generator: request ids need no secrecy (os.urandom would cost a system call per
# request), but must not repeat when an application seeds the random module.
_id_random = random.Random()  # noqa: S311 - ids for correlation, not secrets
if hasattr(os, "register_at_fork"):  # forked workers must not share the parent's ids
    os.register_at_fork(after_in_child=_id_random.seed)


def new_request_id() -> str:
    """A random version 4 UUID as 32 hex digits, the shape ``uuid.uuid4().hex`` has."""
    bits = (_id_random.getrandbits(128) & _UUID4_KEEP) | _UUID4_SET
    return bits.to_bytes(16, "big").hex()


def _find_header(headers: Optional[Mapping[str, str]]) -> Optional[str]:
    """The request id set in ``headers`` (any spelling), if any."""
    if headers:
        for key, value in headers.items():
            if len(key) == _ID_LENGTH and key.lower() == _ID_LOWER and value:
                return str(value)
    return None


def too_large(method: str, safe_url: str, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{method} {safe_url}: the response body is larger than the {limit}-byte cap "
        f"for this endpoint (see kinde_sdk.ResponseLimits)",
        url=safe_url,
        limit=limit,
    )


def deadline_error(method: str, safe_url: str, policy: RetryPolicy) -> KindeTimeoutError:
    return KindeTimeoutError(
        f"{method} {safe_url} exceeded its total deadline of {policy.deadline:g}s", url=safe_url
    )


def log_response(
    method: str, safe_url: str, response: Response, elapsed: float, sent_id: str
) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    # Both ids when they differ: the one we sent (the caller's, for their own logs) and
    # the one the server answered with (for Kinde support).
    ids = sent_id if response.request_id == sent_id else f"{sent_id}, server {response.request_id}"
    logger.debug(
        "HTTP %s %s -> %s in %.0f ms (request id %s)",
        method,
        safe_url,
        response.status,
        elapsed * 1000,
        ids,
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
