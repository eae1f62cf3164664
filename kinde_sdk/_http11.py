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
from collections.abc import Mapping
from typing import Optional, Union

# A head (status line and headers) larger than this is refused: real ones are ~1 KiB.
MAX_HEAD = 64 * 1024
# One chunk-size line, extensions included.
_MAX_CHUNK_LINE = 4 * 1024
# Request header names are tokens; values have no control characters but tab.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([0-9]{3})(?: (.*))?", re.DOTALL)
_NO_BODY_STATUSES = frozenset({204, 304})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


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
    if method not in _METHODS and not _TOKEN.fullmatch(method.encode("latin-1", "replace")):
        raise InvalidRequest(f"the request method {method[:32]!r} is not a token")
    length = len(body) if body else 0
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
            # Another length than the body's would make the server read another request
            # out of the bytes than the one sent.
            if value.strip() != str(length):
                raise InvalidRequest("the Content-Length header is not the body's length")
            own_length = True
        elif lowered == "transfer-encoding":
            raise InvalidRequest("the transport frames bodies itself: no Transfer-Encoding")
        lines.append(f"{name}: {value}")
    if not own_host:
        lines.insert(1, f"Host: {host}")
    if not own_length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {length}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidRequest("a request header is not Latin-1 text") from None
    return head + body if body else head


# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)
# An empty line after a bare LF: a head a lenient reader would take as ended. Looked
# for while a head is incomplete, so that a server ending its lines with LF alone is
# refused at once rather than waited on.
_BARE_LF_END = re.compile(rb"\n\r?\n")
# Control characters a status line or field may not carry (HTAB is allowed). RFC 9110,
# section 5.5: a recipient of CR, LF or NUL in a field value must reject the message or
# replace them; this parser rejects.
_CONTROLS = bytes([*range(0x09), *range(0x0A, 0x20), 0x7F])
# Content-Length digits beyond leading zeros: more than this is more than any cap (and
# than int() would convert on Python >= 3.11, whose limit is 4300 digits).
_MAX_LENGTH_DIGITS = 18
# A chunk-size line: hex digits, then extensions (read past, unchecked but for line ends).
_CHUNK_LINE = re.compile(rb"[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?")


class ResponseParser:
    """Reads one response to a ``method`` request; its body may be at most ``limit``
    bytes (encoded, and again decoded).

    :meth:`feed` each piece the connection receives and :meth:`feed_eof` at its end;
    either returns True once the response is complete. Then ``status``, ``reason``,
    ``headers`` (name/value pairs as sent), ``body`` (decoded) and ``reusable`` (the
    connection may carry another request) are set. Bytes after the response (a server
    may not answer unasked) leave the response whole but the connection not reusable;
    fed after it is done, they are a :class:`ProtocolError`.

    The work is linear in the bytes received however they are split: unparsed bytes
    wait in a ``bytearray`` (appended to, and cut from the front, in place) and each
    search for a line end resumes where the previous one stopped. A body of known
    length that arrives after its head is never copied into the buffer.
    """

    __slots__ = (
        "_buffer",
        "_chunks",
        "_decoder",
        "_left",
        "_method",
        "_scan",
        "_size",
        "_state",
        "_trailer_size",
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
        self._buffer = bytearray()
        # How far past the unparsed bytes' start the current line end was looked for.
        self._scan = 0
        self._trailer_size = 0
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
        buffer = self._buffer
        if buffer:
            buffer += data
            # Cutting a bytearray's front moves its start: no copy of the rest.
            del buffer[: self._run(buffer)]
        elif self._state == _LENGTH:
            # The usual case, a body of known length arriving in large pieces: no copy
            # into the buffer first.
            self._take_length(data, 0)
        else:
            pos = self._run(data)
            if pos < len(data):
                buffer += memoryview(data)[pos:]
        return self._state == _DONE

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
    # Each reads ``data`` from ``pos`` and returns where it stopped, or -1 when it needs
    # more bytes than there are.

    def _run(self, data: Union[bytes, bytearray]) -> int:
        """Parse ``data`` as far as it goes; how many of its bytes were used."""
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state == _LENGTH:
                return self._take_length(data, pos)
            if state == _CHUNK_DATA:
                take = min(self._left, end - pos)
                self._add(data[pos : pos + take])
                pos += take
                self._left -= take
                if self._left == 0:
                    self._state = _CHUNK_END
                continue
            if state == _HEAD:
                found = self._head(data, pos)
            elif state == _CHUNK_SIZE:
                found = self._chunk_size(data, pos)
            elif state == _CHUNK_END:
                found = self._chunk_end(data, pos)
            elif state == _TRAILERS:
                found = self._trailer(data, pos)
            elif state == _UNTIL_CLOSE:
                self._add(data[pos:])
                return end
            else:  # _DONE, with bytes nobody asked for after it
                self.reusable = False
                return end
            if found < 0:
                return pos
            pos = found
        return pos

    def _line(self, data: Union[bytes, bytearray], pos: int, cap: int, what: str) -> int:
        """Where the CRLF ending the line at ``pos`` starts, or -1 while it has not
        arrived; a line longer than ``cap`` is a :class:`ProtocolError`."""
        found = data.find(b"\r\n", pos + self._scan, pos + cap + 2)
        if found < 0:
            if len(data) - pos > cap + 1:
                raise ProtocolError(f"{what} is too long")
            # Resume after what was searched; a CR at the end may start the CRLF.
            self._scan = max(0, len(data) - pos - 1)
            return -1
        self._scan = 0
        return found

    def _head(self, data: Union[bytes, bytearray], pos: int) -> int:
        # A head, its empty line included, is at most MAX_HEAD bytes: however the bytes
        # are split, one that did not end within them is refused.
        stop = data.find(b"\r\n\r\n", pos + self._scan, pos + MAX_HEAD)
        if stop < 0:
            size = len(data) - pos
            if size >= MAX_HEAD:
                raise ProtocolError("the response head is too large")
            if not b"HTTP/".startswith(bytes(data[pos : pos + 5])):
                # Not HTTP (an SSH banner, TLS from a TLS port): no need to wait for
                # an empty line that may never come.
                raise ProtocolError("the response does not start with an HTTP/1.x status line")
            if _BARE_LF_END.search(data, pos + self._scan):
                # A head whose lines end in LF alone: refused now, not at a timeout.
                raise ProtocolError("the response head has a line ending in a bare LF")
            self._scan = max(0, size - 3)
            return -1
        self._scan = 0
        self._parse_head(bytes(data[pos:stop]))
        return stop + 4

    def _parse_head(self, head: bytes) -> None:
        # The control characters are the CRLF line ends and nothing else (HTAB aside):
        # RFC 9112, section 2.2 makes a bare CR invalid; a bare LF is refused too, since
        # a reader that took it for a line end would see other headers; RFC 9110,
        # section 5.5 lets a recipient refuse NUL and the rest. One pass to delete them
        # all is cheaper than looking for each.
        if len(head) - len(head.translate(None, _CONTROLS)) != 2 * head.count(b"\r\n"):
            raise ProtocolError("the response head has a bare CR or LF or a control character")
        lines = head.split(b"\r\n")
        match = _STATUS_LINE.fullmatch(lines[0])
        if match is None:
            raise ProtocolError("the response does not start with an HTTP/1.x status line")
        status = int(match.group(2))
        if status < 100:
            raise ProtocolError("the response has a status code below 100")
        headers = [_field(line) for line in lines[1:]]
        if status < 200:
            if status == 101:
                raise ProtocolError("the server switched protocols unasked")
            return  # an interim answer; the final one follows (stay in _HEAD)
        self.status = status
        self.reason = (match.group(3) or b"").decode("latin-1")
        # RFC 9112, section 2.3: a higher 1.x minor version is read as 1.1.
        http11 = match.group(1) != b"0"
        self.version = "HTTP/1.1" if http11 else "HTTP/1.0"
        self.headers = headers
        self._frame(http11)

    def _frame(self, http11: bool) -> None:
        """Pick how the body is delimited (RFC 9112, section 6.3)."""
        lengths: set[str] = set()
        codings: list[str] = []
        connection: set[str] = set()
        content_codings: list[str] = []
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == "content-length":
                lengths.update(part.strip() for part in value.split(","))
            elif lowered == "transfer-encoding":
                codings.extend(c.strip().lower() for c in value.split(",") if c.strip())
            elif lowered == "connection":
                connection.update(t.strip().lower() for t in value.split(","))
            elif lowered == "content-encoding":
                content_codings.extend(
                    c.strip().lower() for c in value.split(",") if c.strip().lower() != "identity"
                )
        # Every Connection header counts, in any order (RFC 9112, section 9.3). HTTP/1.0
        # persists only when asked to, and never with a transfer coding, which 1.0 does
        # not have: such framing is in doubt (section 6.1).
        if "close" in connection:
            self.reusable = False
        elif http11:
            self.reusable = True
        else:
            self.reusable = "keep-alive" in connection and not codings
        if self._method == "HEAD" or self.status in _NO_BODY_STATUSES:
            # No body, whatever the headers describe (a HEAD answer carries the GET's).
            self._finish()
            return
        if content_codings:
            if len(content_codings) > 1:
                raise ProtocolError("unsupported content coding")
            self._decoder = _Decoder(content_codings[0], self.limit)
        if codings:
            if lengths:
                # Both framings: a smuggling attempt or a broken proxy. Trust neither
                # for reuse.
                self.reusable = False
            if codings != ["chunked"]:
                raise ProtocolError("unsupported transfer coding")
            self._state = _CHUNK_SIZE
            return
        if lengths:
            if len(lengths) != 1:
                raise ProtocolError("the response has conflicting Content-Length headers")
            (length,) = lengths
            if not length.isdigit() or not length.isascii():
                raise ProtocolError("the response has an invalid Content-Length")
            length = length.lstrip("0") or "0"
            if len(length) > _MAX_LENGTH_DIGITS:
                raise TooLarge()
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

    def _take_length(self, data: Union[bytes, bytearray], pos: int) -> int:
        left = self._left
        end = len(data)
        if pos == 0 and end <= left:
            piece = data
        else:
            piece = data[pos : pos + left]
            if end - pos > left:
                # The answer is whole; what follows was not asked for, so the connection
                # can no longer be trusted to frame the next one.
                self.reusable = False
        self._add(piece)
        self._left = left - len(piece)
        if self._left == 0:
            self._finish()
        return end

    def _chunk_size(self, data: Union[bytes, bytearray], pos: int) -> int:
        end = self._line(data, pos, _MAX_CHUNK_LINE, "a chunk-size line")
        if end < 0:
            return -1
        match = _CHUNK_LINE.fullmatch(data, pos, end)
        if match is None:
            raise ProtocolError("a chunk size is not a hex number")
        digits = match.group(1).lstrip(b"0")
        if len(digits) > 16:
            raise ProtocolError("a chunk size is not a hex number")
        size = int(digits, 16) if digits else 0
        if size == 0:
            self._state = _TRAILERS
            return end + 2
        if self._size + size > self.limit:
            raise TooLarge()
        self._left = size
        self._state = _CHUNK_DATA
        return end + 2

    def _chunk_end(self, data: Union[bytes, bytearray], pos: int) -> int:
        got = data[pos : pos + 2]
        if not b"\r\n".startswith(got):
            raise ProtocolError("a chunk does not end with CRLF")
        if len(got) < 2:
            return -1
        self._state = _CHUNK_SIZE
        return pos + 2

    def _trailer(self, data: Union[bytes, bytearray], pos: int) -> int:
        # Trailer fields are checked as headers are, then dropped; an empty line ends
        # them. All of them together are held to the head's cap.
        cap = max(0, MAX_HEAD - self._trailer_size)
        end = self._line(data, pos, cap, "the response trailers")
        if end < 0:
            return -1
        if end == pos:
            self._finish()
            return end + 2
        self._trailer_size += end + 2 - pos
        line = bytes(data[pos:end])
        if len(line.translate(None, _CONTROLS)) != len(line):
            raise ProtocolError("a trailer line has control characters")
        _field(line)
        return end + 2

    def _add(self, data: Union[bytes, bytearray]) -> None:
        self._size += len(data)
        if self._size > self.limit:
            raise TooLarge()
        if self._decoder is not None:
            data = self._decoder.decode(data)
        if data:
            self._chunks.append(bytes(data) if type(data) is not bytes else data)

    def _finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._chunks.append(tail)
        chunks = self._chunks
        self.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._state = _DONE


def _field(line: bytes) -> tuple[str, str]:
    """A header or trailer line's (name, value)."""
    name, colon, value = line.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        # Also refuses obs-fold continuation lines (RFC 9112, section 5.2).
        raise ProtocolError("the response has a malformed header line")
    return name.decode("latin-1"), value.strip(b" \t").decode("latin-1")


class _Decoder:
    """A ``gzip`` or ``deflate`` content decoder whose output is capped at ``limit``
    bytes, so a small compressed body cannot expand into a huge one."""

    __slots__ = ("_fed", "_inner", "_limit", "_out")

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
        self._fed = False

    def decode(self, data: Union[bytes, bytearray]) -> bytes:
        self._fed = True
        try:
            out = self._inner.decompress(data, self._limit - self._out + 1)
        except zlib.error:
            raise ProtocolError("the response body is not valid for its content coding") from None
        self._out += len(out)
        if self._out > self._limit or self._inner.unconsumed_tail:
            raise TooLarge()
        return out

    def flush(self) -> bytes:
        # An empty body is empty whatever its coding says (servers label empty answers
        # with the coding they would have used); a started stream must be whole.
        if self._fed and not self._inner.eof:
            raise ProtocolError("the compressed response body is cut short")
        return b""
