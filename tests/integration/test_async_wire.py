"""The async transport's own HTTP/1.1 connections against loopback servers that script
every byte they send: kept-alive connections that die, answers cut short or sent
unasked, cancelled calls, TLS, several event loops. Whatever the server does, a call
gets its own answer or a typed error, and a connection in doubt is never used again.

Nothing here asserts on durations: servers wait on events the test sets, and the
transport's sleeps are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
from typing import Callable

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import ResponseLimits
from kinde_sdk.errors import KindeConnectionError, KindeTimeoutError, ResponseTooLargeError
from tests.servers.hostile import self_signed_tls
from tests.servers.script import (  # noqa: F401 - serve_fixture is the serve fixture
    WAIT,
    ScriptServer,
    Sleeps,
    answer,
    echo_ids,
    read_request,
    request_id,
    serve_fixture,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- kept-alive connections that die --------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_kept_alive_connection_closed_by_the_server_is_replaced_unseen(
    serve: Callable[..., ScriptServer], method: str
) -> None:
    # Servers close idle connections when they like, without a word. The request never
    # reached a live server, so sending it on a new connection is safe for any method,
    # and is no retry.
    def one_answer_then_close(number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        assert request is not None
        conn.sendall(answer(b"first %d" % number))
        conn.shutdown(socket.SHUT_RDWR)

    server = serve(one_answer_then_close)
    sleeps = Sleeps()
    async with AsyncTransport(retry=RetryPolicy(max_retries=0), sleep=sleeps) as transport:
        assert (await transport.request(method, server.url, body=b"{}")).data == b"first 0"
        # The close may or may not have been seen yet: the answer must be right either way.
        await asyncio.sleep(0)
        assert (await transport.request(method, server.url, body=b"{}")).data == b"first 1"
    assert sleeps == []
    assert server.connections == 2


async def test_a_connection_cut_mid_answer_fails_a_post_without_retrying_it(
    serve: Callable[..., ScriptServer],
) -> None:
    def cut(number: int, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        conn.shutdown(socket.SHUT_RDWR)

    server = serve(cut)
    sleeps = Sleeps()
    async with AsyncTransport(retry=RetryPolicy(max_retries=3), sleep=sleeps) as transport:
        with pytest.raises(KindeConnectionError, match="connection broken"):
            await transport.request("POST", server.url, body=b"{}")
    # The server may have acted on it: a POST is not sent twice.
    assert sleeps == [] and server.connections == 1


async def test_a_connection_cut_mid_answer_is_retried_for_a_get(
    serve: Callable[..., ScriptServer],
) -> None:
    def cut_first(number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        if number == 0:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            conn.shutdown(socket.SHUT_RDWR)
            return
        assert request is not None
        conn.sendall(answer(b"whole"))

    server = serve(cut_first)
    sleeps = Sleeps()
    async with AsyncTransport(retry=RetryPolicy(max_retries=3), sleep=sleeps) as transport:
        assert (await transport.request("GET", server.url)).data == b"whole"
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    "reply",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot hex\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
    ],
)
async def test_an_answer_that_is_not_http_is_a_connection_error(
    serve: Callable[..., ScriptServer], reply: bytes
) -> None:
    def garbage(number: int, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(reply)
        serve_wait = threading.Event()
        serve_wait.wait(0.5 if number else 0)  # keep the socket open a moment

    server = serve(garbage)
    async with AsyncTransport(retry=RetryPolicy(max_retries=0), timeout=WAIT) as transport:
        with pytest.raises(KindeConnectionError, match="connection broken"):
            await transport.request("GET", server.url)


async def test_bytes_sent_unasked_are_never_read_as_the_next_answer(
    serve: Callable[..., ScriptServer],
) -> None:
    sent = threading.Event()

    def unasked(number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        assert request is not None
        if number == 0:
            conn.sendall(answer(request_id(request[0])))
            conn.sendall(answer(b"FORGED"))  # an answer to a request nobody made
            sent.set()
            server.wait_closed(conn)
            return
        conn.sendall(answer(request_id(request[0])))
        echo_ids(number, conn)

    server = serve(unasked)
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as transport:
        await transport.request("GET", server.url, request_id="one")
        await asyncio.get_running_loop().run_in_executor(None, sent.wait, WAIT)
        for _ in range(3):
            # Let the forged bytes arrive (or not): the answer is right either way.
            await asyncio.sleep(0.01)
        assert (await transport.request("GET", server.url, request_id="two")).data == b"two"
    assert server.connections == 2


async def test_a_cancelled_call_never_leaves_its_answer_to_the_next_call(
    serve: Callable[..., ScriptServer],
) -> None:
    half_sent = threading.Event()
    release = threading.Event()

    def slow_first(number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        assert request is not None
        if number == 0:
            body = request_id(request[0]) * 10
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            conn.sendall(body[:5])
            half_sent.set()
            release.wait(WAIT)
            conn.sendall(body[5:])
            echo_ids(number, conn)
            return
        conn.sendall(answer(request_id(request[0])))
        echo_ids(number, conn)

    server = serve(slow_first)
    async with AsyncTransport(retry=RetryPolicy(max_retries=0), pool_maxsize=1) as transport:
        first = asyncio.ensure_future(transport.request("GET", server.url, request_id="one"))
        await asyncio.get_running_loop().run_in_executor(None, half_sent.wait, WAIT)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        release.set()
        second = await transport.request("GET", server.url, request_id="two")
    assert second.data == b"two"
    assert server.connections == 2


async def test_an_over_long_answer_closes_its_connection(
    serve: Callable[..., ScriptServer],
) -> None:
    def chunks(number: int, conn: socket.socket) -> None:
        while (request := read_request(conn)) is not None:
            if number == 0:
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                conn.sendall(b"400\r\n" + b"x" * 1024 + b"\r\n")
                server.wait_closed(conn)
                return
            conn.sendall(answer(request_id(request[0])))

    server = serve(chunks)
    limits = ResponseLimits(management=1000)
    async with AsyncTransport(limits=limits, retry=RetryPolicy(max_retries=0)) as transport:
        with pytest.raises(ResponseTooLargeError):
            await transport.request("GET", server.url)
        assert (await transport.request("GET", server.url, request_id="ok")).data == b"ok"
    assert server.connections == 2


async def test_a_compressed_answer_is_decoded(serve: Callable[..., ScriptServer]) -> None:
    body = b'{"users": [' + b'{"id": "kp_1"},' * 100 + b'{"id": "kp_2"}]}'
    packed = gzip.compress(body)

    def gzipped(number: int, conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(answer(packed, b"Content-Encoding: gzip\r\n"))

    server = serve(gzipped)
    async with AsyncTransport() as transport:
        response = await transport.request("GET", server.url)
    assert response.data == body
    assert response.headers["content-encoding"] == "gzip"  # as urllib3 reports it


async def test_requests_share_kept_alive_connections_and_raw_is_urllib3s(
    serve: Callable[..., ScriptServer],
) -> None:
    server = serve(echo_ids)
    async with AsyncTransport() as transport:
        for rid in ("a", "b", "c"):
            response = await transport.request("GET", server.url, request_id=rid)
            assert response.data == rid.encode()
    assert server.connections == 1
    raw = response.raw
    assert (raw.status, raw.data, raw.headers["Content-Length"]) == (200, b"c", "1")


async def test_a_header_that_would_split_the_request_is_a_value_error(
    serve: Callable[..., ScriptServer],
) -> None:
    server = serve(echo_ids)
    async with AsyncTransport() as transport:
        with pytest.raises(ValueError) as info:
            await transport.request(
                "GET", server.url, headers={"Authorization": "Bearer tok\r\nX-Evil: 1"}
            )
    assert "tok" not in str(info.value)
    assert server.connections == 0  # refused before connecting


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/r", "http:///r", "http://127.0.0.1:99999/r"])
async def test_a_url_it_cannot_send_is_a_connection_error(url: str) -> None:
    async with AsyncTransport() as transport:
        with pytest.raises(KindeConnectionError):
            await transport.request("GET", url)


# -- TLS ------------------------------------------------------------------------------------


async def test_https_with_a_trusted_certificate(
    serve: Callable[..., ScriptServer], tmp_path: object
) -> None:
    context, ca_file = self_signed_tls(str(tmp_path))
    server = serve(echo_ids, tls=context)
    async with AsyncTransport() as transport:
        # The transport trusts the system's CAs only; give it this test's CA.
        transport._tls = ssl.create_default_context(cafile=ca_file)
        assert (await transport.request("GET", server.url, request_id="tls")).data == b"tls"
        assert (await transport.request("GET", server.url, request_id="again")).data == b"again"
    assert server.connections == 1


async def test_https_with_an_untrusted_certificate_is_a_tls_error(
    serve: Callable[..., ScriptServer], tmp_path: object
) -> None:
    context, _ = self_signed_tls(str(tmp_path))
    server = serve(echo_ids, tls=context)
    sleeps = Sleeps()
    async with AsyncTransport(retry=RetryPolicy(max_retries=3), sleep=sleeps) as transport:
        with pytest.raises(KindeConnectionError, match="TLS error"):
            await transport.request("GET", server.url)
    assert sleeps == []  # a certificate does not get better by asking again


# -- several event loops --------------------------------------------------------------------


def test_one_transport_serves_several_event_loops_and_closes_them_all(
    serve: Callable[..., ScriptServer],
) -> None:
    closed = threading.Semaphore(0)

    def echo_then_note_close(number: int, conn: socket.socket) -> None:
        echo_ids(number, conn)
        closed.release()

    server = serve(echo_then_note_close)
    transport = AsyncTransport()
    got: list[bytes] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    ready = threading.Barrier(3)

    def loop_thread(name: str) -> None:
        async def run() -> None:
            got.append((await transport.request("GET", server.url, request_id=name)).data)
            ready.wait(WAIT)
            # Keep this loop running until the test is done: aclose from the other loop
            # must close this loop's connection on this loop.
            while not stop.is_set():
                await asyncio.sleep(0.01)

        try:
            asyncio.run(run())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=loop_thread, args=(n,)) for n in ("x", "y")]
    for thread in threads:
        thread.start()
    ready.wait(WAIT)
    assert sorted(got) == [b"x", b"y"]
    assert server.connections == 2  # one per loop: sockets never cross loops
    asyncio.run(transport.aclose())
    assert closed.acquire(timeout=WAIT) and closed.acquire(timeout=WAIT)
    stop.set()
    for thread in threads:
        thread.join(WAIT)
    assert errors == []


async def test_a_server_that_stops_reading_is_a_write_timeout(
    serve: Callable[..., ScriptServer],
) -> None:
    done = threading.Event()

    def never_reads(number: int, conn: socket.socket) -> None:
        done.wait(WAIT)

    server = serve(never_reads)
    body = b"x" * (64 << 20)  # far more than the kernel buffers on both ends hold
    async with AsyncTransport(timeout=(5.0, 0.5), retry=RetryPolicy(max_retries=0)) as transport:
        with pytest.raises(KindeTimeoutError, match="timed out sending"):
            await transport.request("POST", server.url, body=body)
    done.set()
