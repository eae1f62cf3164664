"""The async transport's response parser (kinde_sdk._http11) against h11, and against
hostile bytes.

Differential: many valid HTTP/1.1 responses, generated from a seeded ``random.Random``
(interim 1xx answers, 204/304, HEAD, Content-Length, chunked with extensions and
trailers, close-delimited bodies, gzip and deflate content codings, random headers and
case, random split points), must
read the same through both parsers: status, reason, headers, body, and whether the
connection may carry another request. h11 (a dev dependency, never a runtime one) is
the reference; where the two differ on purpose the generator says why (see
``expected_reusable``): ours refuses obs-fold, conflicting Content-Length and unknown
transfer codings as h11 does, and besides honours HTTP/1.0 keep-alive (RFC 9112,
section 9.3), which h11 never does.

Hostile: mutated and random responses, fed whole and byte by byte, only ever end done,
waiting for more, :class:`ProtocolError` or :class:`TooLarge`, alike however they are
split, with the parser's buffer under its caps all along. Splitting never makes the
work quadratic: a head trickled one byte at a time and a body of many one-byte chunks
parse (a generous bound in bytes, never a timing).
"""

from __future__ import annotations

import gzip
import random
import re
import zlib
from dataclasses import dataclass, field
from typing import Optional

import h11
import pytest

from kinde_sdk._http11 import _CHUNK_SIZE as CHUNK_SIZE_STATE
from kinde_sdk._http11 import _MAX_CHUNK_LINE as MAX_CHUNK_LINE
from kinde_sdk._http11 import MAX_HEAD, ProtocolError, ResponseParser, TooLarge

LIMIT = 1 << 20
CASES = 600
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
VCHARS = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
STATUSES = [200, 201, 202, 204, 206, 299, 301, 302, 304, 400, 401, 403, 404, 409, 429, 500, 503]


def rand_case(rng: random.Random, name: str) -> str:
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in name)


def rand_token(rng: random.Random, size: int = 12) -> str:
    return "".join(rng.choice(TOKEN_CHARS) for _ in range(rng.randint(1, size)))


def rand_value(rng: random.Random) -> bytes:
    """A field value: visible characters (obs-text too) with inner spaces and tabs."""
    words = [bytes(rng.choice(VCHARS) for _ in range(rng.randint(1, 8))) for _ in range(3)]
    words = words[: rng.randint(0, 3)]
    return b"".join(
        w + (rng.choice([b" ", b"\t", b"  "]) if i < len(words) - 1 else b"")
        for i, w in enumerate(words)
    )


def ows(rng: random.Random) -> bytes:
    return rng.choice([b"", b"", b" ", b"\t", b"  "])


def field_line(rng: random.Random, name: str, value: bytes) -> bytes:
    return rand_case(rng, name).encode() + b":" + ows(rng) + value + ows(rng) + b"\r\n"


def random_fields(rng: random.Random, count: int) -> list[bytes]:
    names = ["X-Request-Id", "Content-Type", "Cache-Control", "Vary", "Set-Cookie", "Date"]
    lines = []
    for _ in range(count):
        name = rng.choice(names) if rng.random() < 0.4 else "X-" + rand_token(rng)
        lines.append(field_line(rng, name, rand_value(rng)))
    return lines


@dataclass
class Case:
    method: str
    wire: bytes
    eof: bool  # the body runs to the end of the connection
    http10: bool
    connection: set[str] = field(default_factory=set)
    framed: str = "none"  # "length", "chunked" or "none"
    coding: str = ""  # a Content-Encoding the body is compressed with


def decoded(coding: str, data: bytes) -> bytes:
    """What ours should make of a body h11 hands over as it came (h11 does not decode)."""
    if not coding or not data:
        return data
    return gzip.decompress(data) if coding == "gzip" else zlib.decompress(data)


def random_response(rng: random.Random) -> Case:
    method = rng.choice(["GET", "GET", "POST", "HEAD", "DELETE"])
    http10 = rng.random() < 0.15
    wire = b""
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        status = rng.choice([100, 102, 103])
        wire += b"HTTP/1.1 %d %s\r\n" % (status, rand_token(rng).encode())
        wire += b"".join(random_fields(rng, rng.randint(0, 3))) + b"\r\n"
    status = rng.choice(STATUSES)
    no_body = method == "HEAD" or status in (204, 304)
    version = b"HTTP/1.0" if http10 else b"HTTP/1.1"
    reason = rng.choice([b" OK", b" ", b"", b" " + rand_value(rng)])
    head = [b"%s %d%s\r\n" % (version, status, reason)]
    head += random_fields(rng, rng.randint(0, 8))
    connection: set[str] = set()
    if rng.random() < 0.3:
        tokens = rng.sample(["close", "keep-alive", "upgrade", "x-thing"], rng.randint(1, 2))
        connection = set(tokens)
        if rng.random() < 0.5:  # one header, or one per token: all of them count
            head.append(field_line(rng, "Connection", ", ".join(tokens).encode()))
        else:
            head += [field_line(rng, "Connection", token.encode()) for token in tokens]
    body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 1, 5, 100, 3000])))
    framing = rng.choice(["length", "length", "chunked", "none"])
    if http10 and framing == "chunked":
        framing = "length"
    coding = rng.choice(["", "", "", "gzip", "deflate"])
    if coding:
        head.append(field_line(rng, "Content-Encoding", rand_case(rng, coding).encode()))
        body = gzip.compress(body) if coding == "gzip" else zlib.compress(body)
    chunks = b""
    if framing == "length":
        length = str(len(body)).encode()
        if rng.random() < 0.2:
            length = length + b", " + length  # a list of equal values is one value
        head.append(field_line(rng, "Content-Length", length))
    elif framing == "chunked":
        head.append(field_line(rng, "Transfer-Encoding", rand_case(rng, "chunked").encode()))
        pos = 0
        while pos < len(body):
            # (RFC 9112 allows whitespace before the ";" of an extension, which ours
            # reads; h11 does not, so none is generated.)
            size = rng.randint(1, max(1, len(body) - pos))
            ext = rng.choice([b"", b"", b";a=b", b";name", b';q="x y"', b";a=1;b"])
            digits = (b"%x" if rng.random() < 0.5 else b"%X") % size
            chunks += b"0" * rng.randint(0, 2) + digits + ext + b"\r\n"
            chunks += body[pos : pos + size] + b"\r\n"
            pos += size
        chunks += b"0" + rng.choice([b"", b";end"]) + b"\r\n"
        chunks += b"".join(random_fields(rng, rng.randint(0, 2))) + b"\r\n"
    # The status line stays first; the fields come in any order.
    head_bytes = head[0] + b"".join(sorted(head[1:], key=lambda _: rng.random())) + b"\r\n"
    if no_body:
        payload = b""
    elif framing == "chunked":
        payload = chunks
    else:
        payload = body
    return Case(
        method,
        wire + head_bytes + payload,
        eof=framing == "none" and not no_body,
        http10=http10,
        connection=connection,
        framed=framing,
        coding=coding,
    )


def random_splits(rng: random.Random, data: bytes) -> list[bytes]:
    choice = rng.random()
    if choice < 0.2 or len(data) < 2:
        return [data]
    if choice < 0.35:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 12))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]


@dataclass
class Read:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    reusable: bool


def header_lines(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers but the framing and coding ones, which describe the body as sent,
    not as read (the two parsers report those differently)."""
    framing = ("content-encoding", "content-length", "transfer-encoding")
    return [(k, v) for k, v in headers if k.lower() not in framing]


def read_ours(case: Case, pieces: list[bytes]) -> Read:
    parser = ResponseParser(case.method, LIMIT)
    done = False
    for piece in pieces:
        assert not done, "the parser was done before the last byte"
        done = parser.feed(piece)
    if case.eof:
        assert not done
        done = parser.feed_eof()
    assert done
    return Read(
        parser.status,
        parser.reason,
        header_lines(parser.headers),
        parser.body,
        parser.reusable,
    )


def read_h11(case: Case, pieces: list[bytes]) -> Read:
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=case.method, target="/", headers=[("Host", "h")]))
    conn.send(h11.EndOfMessage())
    response: Optional[h11.Response] = None
    body = b""
    ended = False
    for piece in [*pieces, b""] if case.eof else pieces:
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                break
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                ended = True
    assert response is not None and ended
    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw_items()]
    return Read(
        response.status_code,
        response.reason.decode("latin-1"),
        header_lines(raw),
        body,
        conn.their_state is h11.DONE,
    )


def expected_reusable(case: Case, h11_says: bool) -> bool:
    """h11 never keeps an HTTP/1.0 connection; RFC 9112 (section 9.3) lets a client keep
    one the server asked to keep alive, when its framing is not the connection's end."""
    if not case.http10:
        return h11_says
    no_body = case.framed == "none" and not case.eof
    return (
        "keep-alive" in case.connection
        and "close" not in case.connection
        and (case.framed == "length" or no_body)
    )


@pytest.mark.parametrize("seed", range(6))
def test_valid_responses_read_as_h11_reads_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(CASES // 6):
        case = random_response(rng)
        pieces = random_splits(rng, case.wire)
        theirs = read_h11(case, pieces)
        ours = read_ours(case, pieces)
        context = f"seed {seed}: {case.method} {case.wire[:300]!r}"
        assert (ours.status, ours.reason) == (theirs.status, theirs.reason), context
        assert ours.headers == theirs.headers, context
        assert ours.body == decoded(case.coding, theirs.body), context
        assert ours.reusable == expected_reusable(case, theirs.reusable), context


# -- hostile bytes --------------------------------------------------------------------


def mutate(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a byte
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif op == 1:  # insert line structure or a control character
            data[at:at] = rng.choice([b"\r", b"\n", b"\r\n", b"\0", b" ", b"\t", b":", b";"])
        elif op == 2:  # delete a range
            del data[at : at + rng.randint(1, 8)]
        elif op == 3:  # repeat a range
            data[at:at] = data[at : at + rng.randint(1, 40)] * rng.randint(2, 5)
        elif op == 4:  # a huge or odd number
            data[at:at] = rng.choice(
                [b"9" * 30, b"9" * 5000, b"ffffffffffffffffff", b"-1", b"0x10", b"1_0"]
            )
        elif op == 5:  # a framing header from nowhere
            data[at:at] = rng.choice(
                [
                    b"\r\nContent-Length: 3",
                    b"\r\nTransfer-Encoding: chunked",
                    b"\r\nTransfer-Encoding: gzip",
                    b"\r\nContent-Encoding: gzip",
                    b"\r\n folded",
                    b"HTTP/1.1 100 Continue\r\n\r\n",
                ]
            )
        elif op == 6:  # truncate
            del data[at:]
        else:  # a length or chunk size no cap can hold, or with leading zeros
            number = rng.choice([b"9" * 5000, b"0" * 5000 + b"1", b"f" * 40, b"0" * 40 + b"1"])
            data = bytearray(
                re.sub(rb"(?i)(content-length:[ \t]*)[0-9]+", rb"\g<1>" + number, bytes(data))
                if rng.random() < 0.5
                else re.sub(
                    rb"\r\n([0-9a-fA-F]+)\r\n", b"\r\n" + number + b"\r\n", bytes(data), count=1
                )
            )
    return bytes(data)


Outcome = tuple[str, object]


def outcome(method: str, limit: int, pieces: list[bytes], eof: bool) -> Outcome:
    """How feeding ``pieces`` (then the connection's end, if ``eof``) ends; checks the
    buffer caps after every piece."""
    parser = ResponseParser(method, limit)
    extra = False
    try:
        for i, piece in enumerate(pieces):
            if parser.feed(piece):
                extra = any(pieces[i + 1 :])
                break
            assert len(parser._buffer) < MAX_HEAD + 2
            if parser._state == CHUNK_SIZE_STATE:
                assert len(parser._buffer) <= MAX_CHUNK_LINE + 1
            assert parser._size <= limit
        if eof and not parser.done:
            parser.feed_eof()
    except ProtocolError:
        return ("protocol error", None)
    except TooLarge:
        return ("too large", None)
    if not parser.done:
        return ("need more", None)
    assert len(parser.body) <= limit
    return (
        "done",
        (parser.status, parser.headers, parser.body, parser.reusable and not extra),
    )


@pytest.mark.parametrize("seed", range(8))
def test_hostile_bytes_end_in_a_known_way_however_they_are_split(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(150):
        case = random_response(rng)
        data = mutate(rng, case.wire) if rng.random() < 0.9 else rng.randbytes(rng.randint(1, 300))
        limit = rng.choice([LIMIT, 64, 3])
        eof = rng.random() < 0.5
        whole = outcome(case.method, limit, [data], eof)
        bytewise = outcome(case.method, limit, [data[i : i + 1] for i in range(len(data))], eof)
        split = outcome(case.method, limit, random_splits(rng, data), eof)
        context = f"seed {seed}: {case.method} {data[:300]!r}"
        if whole == bytewise == split:
            continue
        # A compressed body both over the cap and corrupt is refused for whichever of
        # the two the decoder meets first, which depends on how its input is cut.
        assert {whole[0], bytewise[0], split[0]} == {"too large", "protocol error"}, context


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "two lengths"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "coding"),
        (b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n", "NUL in a value"),
        (b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "status below 100"),
    ],
)
def test_what_both_refuse(response: bytes, why: str) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser("GET", LIMIT).feed(response)
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[("Host", "h")]))
    conn.receive_data(response)
    with pytest.raises(h11.RemoteProtocolError):
        while conn.next_event() is not h11.NEED_DATA:
            pass


@pytest.mark.parametrize(
    "response",
    [
        # RFC 9112, section 5.2 asks a user agent to unfold obs-fold, as h11 does. Ours
        # refuses it on purpose: no API server folds, and a reader that disagrees on
        # where a field ends is how responses are smuggled.
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
        # RFC 9112, section 2.2 lets a recipient take a bare LF for a line end; h11 does.
        # Ours refuses: a reader that did not would see different headers (smuggling).
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 5\r\nContent-Length: 0\r\n\r\n",
        # A bare CR is invalid (section 2.2); h11 keeps it in the value.
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_ours_is_stricter_than_h11_on_line_structure(response: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser("GET", LIMIT).feed(response)


# -- no quadratic work ------------------------------------------------------------------


class Counted(bytes):
    """Bytes that count what the parser does with them: the bytes each slice copies and
    each search scans. Slices are Counted too, so a copy of a copy counts again."""

    work = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def,override]
        out = bytes.__getitem__(self, key)
        if isinstance(key, slice):
            Counted.work += len(out)
            return Counted(out)
        return out

    def find(self, sub, start=0, end=None):  # type: ignore[no-untyped-def,override]
        end = len(self) if end is None else min(end, len(self))
        found = bytes.find(self, sub, start, end)
        Counted.work += (found + len(sub) if found >= 0 else end) - start
        return found


def test_the_work_on_many_small_chunks_is_linear_in_the_bytes() -> None:
    # Each chunk copied the rest of the buffer: work quadratic in the body (1 MiB of
    # one-byte chunks took about 10 s of CPU; the operations are counted here, not timed).
    count = 48 * 1024 // 6
    wire = Counted(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"1\r\nx\r\n" * count
        + b"0\r\n\r\n"
    )
    Counted.work = 0
    parser = ResponseParser("GET", LIMIT)
    assert parser.feed(wire) and parser.body == b"x" * count
    assert Counted.work < 4 * len(wire)


def test_a_mebibyte_of_one_byte_chunks_parses() -> None:
    # Each chunk used to copy the rest of the buffer: minutes of CPU for this.
    count = (1 << 20) // 6
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"1\r\nx\r\n" * count
        + b"0\r\n\r\n"
    )
    parser = ResponseParser("GET", LIMIT)
    assert parser.feed(wire)
    assert parser.body == b"x" * count
    # The same in the pieces a socket gives (asyncio reads up to 256 KiB at once).
    parser = ResponseParser("GET", LIMIT)
    pieces = [wire[i : i + 65536] for i in range(0, len(wire), 65536)]
    assert [parser.feed(piece) for piece in pieces][-1]
    assert parser.body == b"x" * count


def test_a_head_trickled_one_byte_at_a_time_up_to_its_cap_parses() -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * (MAX_HEAD - 100) + b"\r\nContent-Length: 2\r\n\r\n"
    )
    assert len(head) <= MAX_HEAD
    parser = ResponseParser("GET", LIMIT)
    for i in range(len(head)):
        assert not parser.feed(head[i : i + 1])
    assert parser.feed(b"ok") and parser.body == b"ok"


def test_interim_answers_and_trailers_in_one_piece_parse() -> None:
    interims = b"HTTP/1.1 100 Continue\r\n\r\n" * 20000
    trailers = b"X-T: v\r\n" * 8000  # under the head's cap together
    parser = ResponseParser("GET", LIMIT)
    assert parser.feed(
        interims
        + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
        + trailers
        + b"\r\n"
    )
    assert parser.body == b"hi"


def test_trailers_all_together_are_held_to_the_heads_cap() -> None:
    parser = ResponseParser("GET", LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
    with pytest.raises(ProtocolError, match="trailers"):
        for _ in range(MAX_HEAD // 8 + 2):
            parser.feed(b"X-T: v\r\n")
