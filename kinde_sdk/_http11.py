"""HTTP/1.1 for the async transport, without I/O: a request's bytes, and a response
parser that is fed what the socket gives and says when the response is complete.

Only what an API client needs: one request at a time per connection (no pipelining),
bodies framed by ``Content-Length``, ``Transfer-Encoding: chunked`` or the end of the
connection (RFC 9112, section 6.3), ``gzip``/``deflate`` content codings, interim 1xx
answers skipped. Anything malformed or ambiguous is a :class:`ProtocolError`, never a
guess: a connection whose framing is in doubt is never used again.

The parser enforces the caps the sync transport has (the body's size, counted as it
arrives, before and after decoding) plus one of its own on the head, so a hostile
server can neither grow memory without bound nor make a call hang on a lie about
lengths (the transport's timeouts bound the waiting).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Optional

# A head (status line and headers) larger than this is refused: real ones are ~1 KiB.
MAX_HEAD = 64 * 1024
# One chunk-size line, extensions included.
_MAX_CHUNK_LINE = 4 * 1024
# Request header names are tokens; values have no control characters but tab.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_NO_BODY_STATUSES = frozenset({204, 304})


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 this client can trust."""


class TooLarge(Exception):
    """The body passed the cap."""


class InvalidRequest(ValueError):
    """A request header or target that would corrupt the request (CR, LF, NUL...)."""


def encode_request(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str],
    body: Optional[bytes],
) -> bytes:
    """The bytes of one request. ``host`` is the ``Host`` header value; a caller's own
    ``Host`` header wins. Refuses any header or target that could split the request."""
    if _BAD_TARGET.search(target) or not target.startswith("/"):
        raise InvalidRequest("the request target has characters a URL cannot carry")
    lines = [f"{method} {target} HTTP/1.1"]
    own_host = own_length = False
    for name, value in headers.items():
        value = str(value)
        if not _TOKEN.fullmatch(name.encode("latin-1", "replace")) or _BAD_VALUE.search(value):
            # Never the value in the message: it may be a secret.
            raise InvalidRequest(f"the {name[:64]!r} header has characters a header cannot carry")
        lowered = name.lower()
        if lowered == "host":
            own_host = True
        elif lowered == "content-length":
            own_length = True
        elif lowered == "transfer-encoding":
            raise InvalidRequest("the transport frames bodies itself: no Transfer-Encoding")
        lines.append(f"{name}: {value}")
    if not own_host:
        lines.insert(1, f"Host: {host}")
    if not own_length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body) if body else 0}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidRequest("a request header is not Latin-1 text") from None
    return head + body if body else head


# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


class ResponseParser:
    """Reads one response to a ``method`` request; its body may be at most ``limit``
    bytes (encoded, and again decoded).

    :meth:`feed` each piece the connection receives and :meth:`feed_eof` at its end;
    either returns True once the response is complete. Then ``status``, ``reason``,
    ``headers`` (name/value pairs as sent), ``body`` (decoded) and ``reusable`` (the
    connection may carry another request) are set. Bytes after the response (a server
    may not answer unasked) leave the response whole but the connection not reusable;
    fed after it is done, they are a :class:`ProtocolError`.
    """

    __slots__ = (
        "_buffer",
        "_chunks",
        "_decoder",
        "_left",
        "_method",
        "_size",
        "_state",
        "body",
        "headers",
        "limit",
        "reason",
        "reusable",
        "started",
        "status",
        "version",
    )

    def __init__(self, method: str, limit: int) -> None:
        self._method = method
        self.limit = limit
        self._state = _HEAD
        self._buffer = b""
        self._chunks: list[bytes] = []
        self._size = 0
        self._left = 0
        self._decoder: Optional[_Decoder] = None
        self.status = 0
        self.reason = ""
        self.version = "HTTP/1.1"
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.reusable = False
        # True once any byte of the response arrived: a kept-alive connection that
        # fails before that never delivered the request to a live server.
        self.started = False

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> bool:
        if not data:
            return self._state == _DONE
        self.started = True
        if self._state == _DONE:
            raise ProtocolError("the server sent bytes after the response")
        if self._state == _LENGTH and not self._buffer:
            # The usual case, a body of known length arriving in large pieces: no copy
            # into the buffer first.
            return self._take_length(data)
        self._buffer = self._buffer + data if self._buffer else data
        return self._run()

    def feed_eof(self) -> bool:
        """The connection ended. Completes a body framed by the connection's end; any
        other unfinished response is a :class:`ProtocolError`."""
        if self._state == _UNTIL_CLOSE:
            self._finish()
            return True
        if self._state == _DONE:
            return True
        raise ProtocolError("the connection closed before the response was complete")

    # -- states ----------------------------------------------------------------------

    def _run(self) -> bool:
        while self._buffer:
            state = self._state
            if state == _HEAD:
                if not self._head():
                    return False
            elif state == _LENGTH:
                data, self._buffer = self._buffer, b""
                return self._take_length(data)
            elif state == _UNTIL_CLOSE:
                data, self._buffer = self._buffer, b""
                if data:
                    self._add(data)
                return False
            elif state == _CHUNK_SIZE:
                if not self._chunk_size():
                    return False
            elif state == _CHUNK_DATA:
                take = self._buffer[: self._left]
                self._buffer = self._buffer[len(take) :]
                self._left -= len(take)
                self._add(take)
                if self._left == 0:
                    self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(self._buffer) < 2:
                    return False
                if self._buffer[:2] != b"\r\n":
                    raise ProtocolError("a chunk does not end with CRLF")
                self._buffer = self._buffer[2:]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                if not self._trailers():
                    return False
            else:  # _DONE, with bytes nobody asked for after it
                self._buffer = b""
                self.reusable = False
        return self._state == _DONE

    def _head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise ProtocolError("the response head is too large")
            return False
        if end > MAX_HEAD:
            raise ProtocolError("the response head is too large")
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        lines = head.split(b"\r\n")
        match = _STATUS_LINE.fullmatch(lines[0])
        if match is None:
            raise ProtocolError("the response does not start with an HTTP/1.x status line")
        status = int(match.group(2))
        headers = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                # Also refuses obs-fold continuation lines (RFC 9112, section 5.2).
                raise ProtocolError("the response has a malformed header line")
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        if 100 <= status < 200:
            if status == 101:
                raise ProtocolError("the server switched protocols unasked")
            return True  # an interim answer; the final one follows (stay in _HEAD)
        self.status = status
        self.reason = (match.group(3) or b"").decode("latin-1")
        self.version = "HTTP/1.1" if match.group(1) == b"1" else "HTTP/1.0"
        self.headers = headers
        self._frame(match.group(1) == b"1")
        return True

    def _frame(self, http11: bool) -> None:
        """Pick how the body is delimited (RFC 9112, section 6.3)."""
        lengths: set[str] = set()
        codings: list[str] = []
        close = not http11
        content_coding = ""
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == "content-length":
                lengths.update(part.strip() for part in value.split(","))
            elif lowered == "transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(",") if c.strip())
            elif lowered == "connection":
                tokens = {t.strip().lower() for t in value.split(",")}
                if "close" in tokens:
                    close = True
                elif "keep-alive" in tokens and not http11:
                    close = False
            elif lowered == "content-encoding":
                content_coding = value.strip().lower()
        self.reusable = not close
        if content_coding and content_coding != "identity":
            self._decoder = _Decoder(content_coding, self.limit)
        if self._method == "HEAD" or self.status in _NO_BODY_STATUSES:
            self._finish()
            return
        if codings:
            if lengths:
                # Both framings: a smuggling attempt or a broken proxy. Trust neither
                # for reuse.
                self.reusable = False
            if codings[-1] == "chunked" and codings.count("chunked") == 1:
                if codings[:-1]:
                    raise ProtocolError("unsupported transfer coding")
                self._state = _CHUNK_SIZE
                return
            raise ProtocolError("unsupported transfer coding")
        if lengths:
            if len(lengths) != 1:
                raise ProtocolError("the response has conflicting Content-Length headers")
            (length,) = lengths
            if not length.isdigit() or not length.isascii():
                raise ProtocolError("the response has an invalid Content-Length")
            self._left = int(length)
            if self._left > self.limit:
                raise TooLarge()
            if self._left == 0:
                self._finish()
            else:
                self._state = _LENGTH
            return
        # No framing: the body runs to the end of the connection.
        self.reusable = False
        self._state = _UNTIL_CLOSE

    def _take_length(self, data: bytes) -> bool:
        left = self._left
        if len(data) > left:
            # The answer is whole; what follows was not asked for, so the connection
            # can no longer be trusted to frame the next one.
            data = data[:left]
            self.reusable = False
        self._add(data)
        self._left = left - len(data)
        if self._left == 0:
            self._finish()
            return True
        return False

    def _chunk_size(self) -> bool:
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_CHUNK_LINE:
                raise ProtocolError("a chunk-size line is too long")
            return False
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        size_text = line.split(b";", 1)[0].strip(b" \t")
        if not size_text or len(size_text) > 16 or not _is_hex(size_text):
            raise ProtocolError("a chunk size is not a hex number")
        size = int(size_text, 16)
        if size == 0:
            self._state = _TRAILERS
            return True
        if self._size + size > self.limit:
            raise TooLarge()
        self._left = size
        self._state = _CHUNK_DATA
        return True

    def _trailers(self) -> bool:
        # Trailer fields are read and dropped; an empty line ends them.
        while True:
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    raise ProtocolError("the response trailers are too large")
                return False
            line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            if not line:
                self._finish()
                return True

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.limit:
            raise TooLarge()
        if self._decoder is not None:
            data = self._decoder.decode(data)
        if data:
            self._chunks.append(data)

    def _finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        chunks = self._chunks
        self.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._state = _DONE


def _is_hex(text: bytes) -> bool:
    return all(c in b"0123456789abcdefABCDEF" for c in text)


class _Decoder:
    """A ``gzip`` or ``deflate`` content decoder whose output is capped at ``limit``
    bytes, so a small compressed body cannot expand into a huge one."""

    __slots__ = ("_inner", "_limit", "_out")

    def __init__(self, coding: str, limit: int) -> None:
        if coding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":
            wbits = zlib.MAX_WBITS  # zlib-wrapped, as RFC 9110 defines deflate
        else:
            raise ProtocolError("unsupported content coding")
        self._inner = zlib.decompressobj(wbits)
        self._limit = limit
        self._out = 0

    def decode(self, data: bytes) -> bytes:
        try:
            out = self._inner.decompress(data, self._limit - self._out + 1)
        except zlib.error:
            raise ProtocolError("the response body is not valid for its content coding") from None
        self._out += len(out)
        if self._out > self._limit or self._inner.unconsumed_tail:
            raise TooLarge()
        return out

    def flush(self) -> bytes:
        if not self._inner.eof:
            raise ProtocolError("the compressed response body is cut short")
        return b""


def header_lines(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a read response is described with once its body is decoded: the
    framing and coding headers no longer describe ``body``."""
    return [
        (k, v)
        for k, v in headers
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
