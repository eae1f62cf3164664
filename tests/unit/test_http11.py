"""The async transport's HTTP/1.1 framing (kinde_sdk._http11), without sockets: what the
parser makes of well-formed answers however the network splits them, and that anything
malformed, ambiguous or over a cap is refused rather than guessed at."""

from __future__ import annotations

import gzip
import zlib
from typing import Optional

import pytest

from kinde_sdk._http11 import (
    MAX_HEAD,
    InvalidRequest,
    ProtocolError,
    ResponseParser,
    TooLarge,
    encode_request,
)

LIMIT = 1 << 20


def parse(
    *pieces: bytes, method: str = "GET", limit: int = LIMIT, eof: bool = False
) -> ResponseParser:
    parser = ResponseParser(method, limit)
    done = False
    for piece in pieces:
        done = parser.feed(piece)
    if eof:
        done = parser.feed_eof()
    assert done and parser.done
    return parser


def splits(data: bytes) -> list[list[bytes]]:
    """``data`` whole, byte by byte, and cut in two at every position."""
    ways = [[data], [data[i : i + 1] for i in range(len(data))]]
    ways += [[data[:i], data[i:]] for i in range(1, len(data))]
    return ways


def headers_of(parser: ResponseParser) -> dict[str, str]:
    return {k.lower(): v for k, v in parser.headers}


LENGTH_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: abc\r\n"
    b'Content-Length: 12\r\n\r\n{"ok": true}'
)
CHUNKED_RESPONSE = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'4;ext=1\r\n{"a"\r\n7\r\n: [1,2]\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n'
)


@pytest.mark.parametrize("pieces", splits(LENGTH_RESPONSE))
def test_a_content_length_body_however_it_is_split(pieces: list[bytes]) -> None:
    parser = parse(*pieces)
    assert (parser.status, parser.reason, parser.version) == (200, "OK", "HTTP/1.1")
    assert parser.body == b'{"ok": true}'
    assert headers_of(parser)["x-request-id"] == "abc"
    assert parser.reusable


@pytest.mark.parametrize("pieces", splits(CHUNKED_RESPONSE))
def test_a_chunked_body_however_it_is_split(pieces: list[bytes]) -> None:
    parser = parse(*pieces)
    assert parser.status == 201
    assert parser.body == b'{"a": [1,2]}'
    assert parser.reusable
    # The trailer is read and dropped, not taken for a header.
    assert "x-trailer" not in headers_of(parser)


def test_the_response_is_not_done_before_its_last_byte() -> None:
    parser = ResponseParser("GET", LIMIT)
    assert not parser.feed(LENGTH_RESPONSE[:-1])
    assert not parser.done
    assert parser.feed(LENGTH_RESPONSE[-1:])


def test_interim_answers_are_skipped() -> None:
    parser = parse(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
        + LENGTH_RESPONSE
    )
    assert parser.status == 200 and parser.body == b'{"ok": true}'


def test_switching_protocols_unasked_is_refused() -> None:
    with pytest.raises(ProtocolError):
        ResponseParser("GET", LIMIT).feed(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")


@pytest.mark.parametrize(
    ("method", "head"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"),
        ("GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
        ("GET", b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ],
)
def test_answers_without_a_body_end_with_their_head(method: str, head: bytes) -> None:
    parser = parse(head, method=method)
    assert parser.body == b""
    assert parser.reusable


def test_a_body_without_framing_runs_to_the_end_of_the_connection() -> None:
    parser = ResponseParser("GET", LIMIT)
    assert not parser.feed(b"HTTP/1.1 200 OK\r\n\r\nsome")
    assert not parser.feed(b" body")
    assert parser.feed_eof()
    assert parser.body == b"some body"
    assert not parser.reusable


@pytest.mark.parametrize(
    ("head", "reusable"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", True),
    ],
)
def test_whether_the_connection_may_carry_another_request(head: bytes, reusable: bool) -> None:
    assert parse(head).reusable is reusable


def test_repeated_equal_lengths_are_one_length() -> None:
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nhi")
    assert parser.body == b"hi"


def test_both_framings_trust_chunked_and_never_reuse_the_connection() -> None:
    parser = parse(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    assert parser.body == b"hi"
    assert not parser.reusable


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded: continuation\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: \xd9\xa3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\nhi",
    ],
)
def test_malformed_or_ambiguous_answers_are_refused(response: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(response)


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\nextra",
    ],
)
def test_bytes_after_the_response_in_the_same_read_spoil_only_the_connection(
    response: bytes,
) -> None:
    for pieces in splits(response):
        parser = ResponseParser("GET", LIMIT)
        done = False
        for piece in pieces:
            if done:
                with pytest.raises(ProtocolError):
                    parser.feed(piece)
                break
            done = parser.feed(piece)
        assert parser.done and parser.body == b"hi"
        if len(pieces) == 1:
            assert not parser.reusable


def test_bytes_after_a_complete_response_are_refused() -> None:
    parser = parse(LENGTH_RESPONSE)
    with pytest.raises(ProtocolError):
        parser.feed(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize(
    "partial",
    [b"", b"HTTP/1.1 200", LENGTH_RESPONSE[:-3], CHUNKED_RESPONSE[:-2]],
)
def test_a_connection_that_ends_mid_response_is_an_error(partial: bytes) -> None:
    parser = ResponseParser("GET", LIMIT)
    parser.feed(partial)
    with pytest.raises(ProtocolError):
        parser.feed_eof()


def test_started_says_whether_any_byte_arrived() -> None:
    parser = ResponseParser("GET", LIMIT)
    assert not parser.started
    parser.feed(b"H")
    assert parser.started


# -- caps -----------------------------------------------------------------------------------


def test_an_endless_head_is_refused_at_its_cap() -> None:
    parser = ResponseParser("GET", LIMIT)
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProtocolError, match="too large"):
        for _ in range(MAX_HEAD // 1000 + 2):
            parser.feed(b"X-Pad: " + b"a" * 991 + b"\r\n")


def test_an_announced_length_over_the_cap_is_refused_before_the_body() -> None:
    with pytest.raises(TooLarge):
        ResponseParser("GET", 10).feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")


def test_a_body_at_the_cap_passes() -> None:
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + b"x" * 10, limit=10).body


@pytest.mark.parametrize(
    "pieces",
    [
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"b\r\n"],  # one big chunk
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
        + [b"3\r\nabc\r\n"] * 4,  # many small ones
        [b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 6, b"x" * 6],  # until close
    ],
)
def test_unannounced_bodies_are_cut_at_the_cap(pieces: list[bytes]) -> None:
    parser = ResponseParser("GET", 10)
    with pytest.raises(TooLarge):
        for piece in pieces:
            parser.feed(piece)


def _coded(body: bytes, coding: str) -> bytes:
    return gzip.compress(body) if coding == "gzip" else zlib.compress(body)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_bodies_are_decoded(coding: str) -> None:
    body = b'{"users": []}' * 50
    data = _coded(body, coding)
    parser = parse(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
        % (coding.encode(), len(data)),
        data,
    )
    assert parser.body == body


def test_a_compression_bomb_is_cut_at_the_cap_of_the_decoded_body() -> None:
    bomb = gzip.compress(b"\0" * (10 * LIMIT))
    assert len(bomb) < LIMIT  # small on the wire
    with pytest.raises(TooLarge):
        ResponseParser("GET", LIMIT).feed(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
            % (len(bomb), bomb)
        )


@pytest.mark.parametrize("data", [b"not gzip at all", gzip.compress(b"x" * 100)[:-12]])
def test_a_broken_or_cut_compressed_body_is_an_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        ResponseParser("GET", LIMIT).feed(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
            % (len(data), data)
        )


# -- requests -------------------------------------------------------------------------------


def test_a_request_carries_host_headers_and_body() -> None:
    wire = encode_request(
        "POST", "/api/v1/user?x=1", "acme.kinde.com", {"Accept": "application/json"}, b"{}"
    )
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /api/v1/user?x=1 HTTP/1.1"
    assert lines[1] == b"Host: acme.kinde.com"
    assert b"Accept: application/json" in lines
    assert b"Content-Length: 2" in lines
    assert body == b"{}"


@pytest.mark.parametrize(("method", "length"), [("POST", b"0"), ("PUT", b"0"), ("GET", None)])
def test_an_empty_body_is_announced_for_methods_that_carry_one(
    method: str, length: Optional[bytes]
) -> None:
    wire = encode_request(method, "/", "h", {}, None)
    assert (b"Content-Length: 0" in wire) is (length is not None)


def test_the_callers_host_header_wins() -> None:
    wire = encode_request("GET", "/", "h", {"host": "other"}, None)
    assert wire.count(b"ost:") == 1 and b"host: other" in wire


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "ok\r\nX-Injected: 1"},
        {"X-A": "ok\nX-Injected: 1"},
        {"X-A": "nul\0byte"},
        {"Bad Name": "v"},
        {"X-A\r\nX-B": "v"},
        {"": "v"},
        {"X-A": "snowman \u2603"},
        {"Transfer-Encoding": "chunked"},
    ],
)
def test_headers_that_could_split_or_reframe_the_request_are_refused(
    headers: dict[str, str],
) -> None:
    with pytest.raises(InvalidRequest) as info:
        encode_request("GET", "/", "h", headers, None)
    assert isinstance(info.value, ValueError)


def test_a_refused_header_value_is_not_repeated_in_the_error() -> None:
    with pytest.raises(InvalidRequest) as info:
        encode_request("GET", "/", "h", {"Authorization": "Bearer s3cret\r\n"}, None)
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("target", ["/a b", "/a\r\nHost: x", "relative", "/tab\there"])
def test_a_target_that_could_split_the_request_is_refused(target: str) -> None:
    with pytest.raises(InvalidRequest):
        encode_request("GET", target, "h", {}, None)


# -- found by review and fuzzing (each failed before its fix) -------------------------------


def test_a_content_length_of_thousands_of_digits_is_too_large_not_a_crash() -> None:
    # int() refuses over 4300 digits on Python >= 3.11: a ValueError nobody caught.
    with pytest.raises(TooLarge):
        parse(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n")
    # Leading zeros are still a number (1*DIGIT).
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"0" * 5000 + b"2\r\n\r\nhi").body


@pytest.mark.parametrize(
    ("method", "head"),
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 50\r\n\r\n"),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\n\r\n"),
        ("GET", b"HTTP/1.1 204 No Content\r\nContent-Encoding: br\r\n\r\n"),
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 0\r\n\r\n"),
    ],
)
def test_an_empty_body_is_empty_whatever_its_content_coding(method: str, head: bytes) -> None:
    # A HEAD answer carries the GET's headers: it was "cut short gzip" before.
    parser = parse(head, method=method)
    assert parser.body == b"" and parser.reusable


def test_two_content_codings_are_refused_not_half_decoded() -> None:
    data = gzip.compress(gzip.compress(b"x"))
    with pytest.raises(ProtocolError):
        parse(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
        )


@pytest.mark.parametrize(
    "head",
    [
        # A close in any Connection header wins, whatever comes after it.
        b"HTTP/1.0 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\n"
        b"Content-Length: 0\r\n\r\n",
        # HTTP/1.0 has no transfer codings: such framing is in doubt (RFC 9112, 6.1).
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
)
def test_connections_whose_persistence_is_in_doubt_are_not_reused(head: bytes) -> None:
    assert not parse(head).reusable


def test_a_later_minor_version_reads_as_http11() -> None:
    # RFC 9112, section 2.3: a higher 1.x minor version is processed as 1.1.
    parser = parse(b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert parser.version == "HTTP/1.1" and parser.reusable


def test_an_answer_that_is_not_http_is_refused_before_a_head_could_end() -> None:
    # An SSH banner or a TLS record: no need to wait for an empty line.
    with pytest.raises(ProtocolError):
        ResponseParser("GET", LIMIT).feed(b"SSH-2.0-OpenSSH_9.6\r\n")


@pytest.mark.parametrize("method", ["GET /x HTTP/1.1\r\nX-Injected: 1\r\nX:", "GET\0", "", "G T"])
def test_a_method_that_could_split_the_request_is_refused(method: str) -> None:
    # http.client (under the sync transport) refuses these too; they went to the wire.
    with pytest.raises(InvalidRequest):
        encode_request(method, "/", "h", {}, None)


@pytest.mark.parametrize(("length", "body"), [("3", b"{}"), ("1", b"{}"), ("2 ", None), ("x", b"")])
def test_a_content_length_that_is_not_the_bodys_is_refused(
    length: str, body: Optional[bytes]
) -> None:
    # The server would read a different request out of the bytes than the one sent:
    # the rest taken for a next request, or a wait for bytes that never come.
    with pytest.raises(InvalidRequest):
        encode_request("POST", "/", "h", {"Content-Length": length}, body)


def test_a_content_length_that_is_the_bodys_is_sent_once() -> None:
    wire = encode_request("POST", "/", "h", {"content-length": "2"}, b"{}")
    assert wire.lower().count(b"content-length") == 1 and wire.endswith(b"\r\n\r\n{}")
