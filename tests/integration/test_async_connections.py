"""The async transport's connections at the edges of their life, against loopback servers
that script every byte (tests/servers/script.py): an answer that comes before the request
was sent whole, a call still in flight when the transport closes, event loops that end
with idle connections, the read timer of an answered call, what a URL's host and target
are (names, IPv6 literals, a query right after the host, hosts no name can have).

Each test of a fix failed before it; those of host names and IPv6 literals passed
already and stay as coverage. Nothing asserts on durations: servers wait on events the
test sets.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import warnings
import weakref
from typing import Callable, Optional

import pytest

from kinde_sdk._aio_connection import Connection
from kinde_sdk._async_transport import AsyncTransport, _target
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.errors import KindeConnectionError
from tests.servers.hostile import anyio_backend_fixture  # noqa: F401 - fixture
from tests.servers.script import (  # noqa: F401 - serve_fixture is the serve fixture
    WAIT,
    ScriptServer,
    answer,
    echo_ids,
    read_request,
    request_id,
    serve_fixture,
)

pytestmark = pytest.mark.anyio


def closed_by_client(conn: socket.socket) -> bool:
    """Block until the client ends ``conn``: True when it closed it, False when the wait
    ran out (or the connection broke)."""
    try:
        while conn.recv(65536):
            pass
    except OSError:
        return False
    return True


async def in_thread(wait: Callable[[float], bool]) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, wait, WAIT)


# -- an answer before the request was sent whole ----------------------------------------------


@pytest.mark.parametrize("connection", [b"close", b"keep-alive"])
async def test_an_answer_before_the_body_was_sent_is_read_not_a_write_timeout(
    serve: Callable[..., ScriptServer], connection: bytes
) -> None:
    # A server may refuse a request by its head (401, 413) without reading the body.
    # The answer was the write timeout of a server that stopped reading.
    done = threading.Event()

    def refuses_early(number: int, conn: socket.socket) -> None:
        if number == 0:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(1)
            conn.sendall(
                b"HTTP/1.1 413 Content Too Large\r\nConnection: %s\r\nContent-Length: 7\r\n\r\n"
                b"too big" % connection
            )
            done.wait(WAIT)  # reads nothing more
            return
        echo_ids(number, conn)

    server = serve(refuses_early)
    body = b"x" * (64 << 20)  # far more than the kernel buffers on both ends hold
    try:
        async with AsyncTransport(timeout=(5.0, 2.0), retry=RetryPolicy(max_retries=0)) as t:
            response = await t.request("POST", server.url, body=body)
            assert (response.status, response.data) == (413, b"too big")
            # The rest of that body was never sent: the connection is not reused, even
            # when the server offered to keep it.
            assert (await t.request("GET", server.url, request_id="next")).data == b"next"
    finally:
        done.set()
    assert server.connections == 2


async def test_the_rest_of_a_refused_body_is_not_sent_after_the_answer(
    serve: Callable[..., ScriptServer],
) -> None:
    # A server that answers early, then ends its side (a lingering close: it reads and
    # drops what still comes). The connection was closed gracefully, which first sends
    # the whole rest of the body: 64 MiB for nobody.
    answered = threading.Event()
    received: list[int] = []

    def answers_then_drains(number: int, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(1)
        conn.sendall(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        answered.wait(WAIT)
        count = 0
        try:
            while data := conn.recv(1 << 20):
                count += len(data)
        except OSError:
            pass
        received.append(count)
        drained.set()

    drained = threading.Event()
    server = serve(answers_then_drains)
    body = b"x" * (64 << 20)
    try:
        async with AsyncTransport(timeout=(5.0, 10.0), retry=RetryPolicy(max_retries=0)) as t:
            assert (await t.request("POST", server.url, body=body)).status == 413
            answered.set()
            # The loop runs on meanwhile: a graceful close would go on sending.
            assert await in_thread(drained.wait)
    finally:
        answered.set()
    # What the kernels had buffered got through, not the rest.
    assert received[0] < len(body) // 2


def reads_slowly_but_steadily(number: int, conn: socket.socket) -> None:
    """Reads a request 256 KiB at a time with a pause between reads, then answers."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(1)
    head, _, _ = head.partition(b"\r\n\r\n")
    left = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    pause = threading.Event()
    while left > 0:
        data = conn.recv(min(left, 256 << 10))
        if not data:
            return
        left -= len(data)
        pause.wait(0.02)
    conn.sendall(answer(b"all read"))


async def test_the_write_timeout_is_a_pause_in_sending_not_a_bound_on_the_whole_body(
    serve: Callable[..., ScriptServer],
) -> None:
    # As the sync transport's socket timeout: sending that goes on, however slowly, is
    # not timed out. The whole body had to be sent within one read timeout.
    server = serve(reads_slowly_but_steadily)
    body = b"x" * (32 << 20)  # seconds at the server's pace, each pause 1/100 of the timeout
    async with AsyncTransport(timeout=(5.0, 2.0), retry=RetryPolicy(max_retries=0)) as t:
        response = await t.request("POST", server.url, body=body)
    assert response.data == b"all read"


# -- closing the transport with calls in flight ---------------------------------------------------


class HeldAnswer:
    """A server handler that holds each request until ``release`` is set, answers it
    with its request id, then notes whether the client closed the connection."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.noticed = threading.Event()
        self.closed: list[bool] = []

    def __call__(self, number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        assert request is not None
        self.arrived.set()
        self.release.wait(WAIT)
        conn.sendall(answer(request_id(request[0])))
        self.closed.append(closed_by_client(conn))
        self.noticed.set()


async def test_a_call_in_flight_when_the_transport_closes_leaves_no_connection_open(
    serve: Callable[..., ScriptServer],
) -> None:
    # The call got its answer and gave its connection back to a pool already closed: the
    # connection stayed open in it, for nobody.
    held = HeldAnswer()
    server = serve(held)
    transport = AsyncTransport(retry=RetryPolicy(max_retries=0))
    call = asyncio.ensure_future(transport.request("GET", server.url, request_id="late"))
    assert await in_thread(held.arrived.wait)
    await transport.aclose()
    held.release.set()
    assert (await call).data == b"late"  # the call in flight still gets its answer
    assert await in_thread(held.noticed.wait)
    assert held.closed == [True]


def test_a_call_in_flight_on_another_loop_when_the_transport_closes_leaves_no_connection_open(
    serve: Callable[..., ScriptServer],
) -> None:
    held = HeldAnswer()
    stop = threading.Event()
    server = serve(held)
    transport = AsyncTransport(retry=RetryPolicy(max_retries=0))
    got: list[bytes] = []

    def other_loop() -> None:
        async def run() -> None:
            got.append((await transport.request("GET", server.url, request_id="x")).data)
            # The loop runs on: only the transport's closing may close the connection.
            while not stop.is_set():
                await asyncio.sleep(0.01)

        asyncio.run(run())

    thread = threading.Thread(target=other_loop)
    thread.start()
    try:
        assert held.arrived.wait(WAIT)
        asyncio.run(transport.aclose())
        held.release.set()
        assert held.noticed.wait(WAIT)
        assert got == [b"x"] and held.closed == [True]
    finally:
        held.release.set()
        stop.set()
        thread.join(WAIT)


# -- event loops that end -------------------------------------------------------------------------


def test_event_loops_that_end_leave_neither_connections_nor_themselves_behind(
    serve: Callable[..., ScriptServer],
) -> None:
    # One transport, several asyncio.run calls (a script, a test suite): each loop's idle
    # connection stayed open after its loop closed, and kept the loop alive, until the
    # garbage collector found the socket ("unclosed transport" ResourceWarning).
    closes = threading.Semaphore(0)
    outcomes: list[bool] = []

    def echo_then_note_close(number: int, conn: socket.socket) -> None:
        request = read_request(conn)
        assert request is not None
        conn.sendall(answer(request_id(request[0])))
        outcomes.append(closed_by_client(conn))
        closes.release()

    server = serve(echo_then_note_close)
    transport = AsyncTransport(retry=RetryPolicy(max_retries=0))
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def call(rid: str) -> bytes:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        return (await transport.request("GET", server.url, request_id=rid)).data

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for rid in ("a", "b", "c"):
            assert asyncio.run(call(rid)) == rid.encode()
            # The loop's end closed its connection: the server saw it close.
            assert closes.acquire(timeout=WAIT)
        gc.collect()
    assert outcomes == [True, True, True]
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert [ref() for ref in loops] == [None, None, None]
    # The transport still works on a new loop.
    assert asyncio.run(call("d")) == b"d"


# -- the read timer ------------------------------------------------------------------------------


class FakeTransport(asyncio.Transport):
    def __init__(self, closing: bool = False, unsent: int = 0) -> None:
        super().__init__()
        self.aborted = False
        self.closing = closing
        self.unsent = unsent

    def is_closing(self) -> bool:
        return self.aborted or self.closing

    def get_write_buffer_size(self) -> int:
        return self.unsent

    def abort(self) -> None:
        self.aborted = True


async def test_the_read_timer_firing_after_the_answer_leaves_the_connection_open() -> None:
    # The timer can fire between the answer's last byte and the call resuming: it
    # timed out an answered call and closed a connection fit for reuse.
    loop = asyncio.get_running_loop()
    connection = Connection(loop)
    transport = FakeTransport()
    connection.connection_made(transport)
    waiter: asyncio.Future[None] = loop.create_future()
    connection._waiter = waiter
    connection._last_read = loop.time() - 60
    waiter.set_result(None)  # the answer is whole
    connection._check_idle(1.0)
    assert not transport.aborted and not connection.closed
    assert waiter.exception() is None


# -- names and IPv6 literals ---------------------------------------------------------------------


def ipv6_loopback() -> Optional[str]:
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return None
    return "::1"


async def test_a_host_name_is_resolved(serve: Callable[..., ScriptServer]) -> None:
    server = serve(echo_ids)
    url = server.url.replace("127.0.0.1", "localhost")
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as t:
        assert (await t.request("GET", url, request_id="named")).data == b"named"


@pytest.mark.skipif(ipv6_loopback() is None, reason="no IPv6 loopback here")
async def test_an_ipv6_literal_url(serve: Callable[..., ScriptServer]) -> None:
    hosts: list[bytes] = []

    def echo_host(number: int, conn: socket.socket) -> None:
        while (request := read_request(conn)) is not None:
            hosts.extend(
                line.split(b":", 1)[1].strip()
                for line in request[0].split(b"\r\n")
                if line.lower().startswith(b"host:")
            )
            conn.sendall(answer(request_id(request[0])))

    server = serve(echo_host, host="::1")
    assert server.url.startswith("http://[::1]:")
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as t:
        assert (await t.request("GET", server.url, request_id="v6")).data == b"v6"
        assert (await t.request("GET", server.url, request_id="again")).data == b"again"
    assert hosts == [b"[::1]:%d" % server.port] * 2
    assert server.connections == 1


def echo_request_line(lines: list[bytes]) -> Callable[[int, socket.socket], None]:
    """A keep-alive handler noting each request line in ``lines``."""

    def echo_line(number: int, conn: socket.socket) -> None:
        while (request := read_request(conn)) is not None:
            lines.append(request[0].split(b"\r\n", 1)[0])
            conn.sendall(answer(b"ok"))

    return echo_line


async def test_characters_a_target_cannot_carry_are_escaped_as_by_the_sync_transport(
    serve: Callable[..., ScriptServer],
) -> None:
    # They were refused (a ValueError) where the sync transport sends them escaped.
    lines: list[bytes] = []
    server = serve(echo_request_line(lines))
    url = server.url + '/b\u00fccher?q=a b&r="x"&s=%20'
    with Transport(retry=RetryPolicy(max_retries=0)) as sync:
        sync.request("GET", url)
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as t:
        await t.request("GET", url)
    assert lines[0] == lines[1] == b"GET /r/b%C3%BCcher?q=a%20b&r=%22x%22&s=%20 HTTP/1.1"


async def test_a_query_right_after_the_host_is_sent_as_the_query(
    serve: Callable[..., ScriptServer],
) -> None:
    # The target was cut at the first "/" wherever it was: a "/" in the query took
    # the place of the path ("GET /x" for "http://host?next=/x").
    lines: list[bytes] = []
    server = serve(echo_request_line(lines))
    base = server.url[: -len("/r")]
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as t:
        await t.request("GET", base + "?next=/x/y")
        await t.request("GET", base + "#frag/ment")
        await t.request("GET", base + "/p?q=/1#f")
    assert lines == [b"GET /?next=/x/y HTTP/1.1", b"GET / HTTP/1.1", b"GET /p?q=/1 HTTP/1.1"]


@pytest.mark.parametrize("url", ["http://a\x00b/r", "http://a b/r", "http://a\x7fb/r"])
async def test_a_host_no_name_can_have_is_a_connection_error(url: str) -> None:
    # A NUL reached the resolver: a bare ValueError, not the sync transport's error.
    async with AsyncTransport(retry=RetryPolicy(max_retries=0)) as t:
        with pytest.raises(KindeConnectionError):
            await t.request("GET", url)


def test_an_internationalised_host_is_sent_in_its_ascii_form() -> None:
    # Sent as it was, a non-Latin-1 name failed as a header "not Latin-1 text".
    assert _target("https://b\u00fccher.example:8443/p") == (
        ("https", "xn--bcher-kva.example", 8443),
        "xn--bcher-kva.example:8443",
        "/p",
    )
    assert _target("http://\u4f8b\u3048.jp/")[1] == "xn--r8jz45g.jp"  # type: ignore[index]


async def test_closing_a_connection_drops_what_a_graceful_close_would_still_send() -> None:
    # The server's end (eof_received) starts a graceful close, which sends what is
    # buffered first: the rest of a refused body, to a server that answered already.
    connection = Connection(asyncio.get_running_loop())
    transport = FakeTransport(closing=True, unsent=60 << 20)
    connection.connection_made(transport)
    connection.close()
    assert transport.aborted


@pytest.mark.parametrize(
    "url", ["https://user:secret@acme.kinde.com/x", "https://acme.kinde.com:99999/x", "ftp://h/x"]
)
def test_a_url_with_credentials_a_bad_port_or_another_scheme_is_not_sent(url: str) -> None:
    assert _target(url) is None
