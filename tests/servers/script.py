"""A loopback server that scripts every byte it sends, for the async transport's wire
tests: ``handler(connection_number, socket)`` runs in a thread per accepted connection.
Servers wait on events the test sets (at most ``WAIT`` seconds), never on timings.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Callable, Optional

import pytest

WAIT = 30.0  # how long a server waits for the test at most; never reached when it passes


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


Handler = Callable[[int, socket.socket], None]


class ScriptServer:
    """Runs ``handler(connection_number, socket)`` for every accepted connection, each in
    its own thread; counts connections and notices when the client closes them."""

    def __init__(
        self, handler: Handler, tls: Optional[ssl.SSLContext] = None, host: str = "127.0.0.1"
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.closed_by_client = 0
        self._lock = threading.Lock()
        self.host = host
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, 0), family=family)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/r"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                number = self.connections
                self.connections += 1
            thread = threading.Thread(target=self._run, args=(number, conn), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, number: int, conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.handler(number, conn)
        except OSError:
            pass
        finally:
            conn.close()

    def wait_closed(self, conn: socket.socket) -> None:
        """Block until the client closes ``conn``; count it."""
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        with self._lock:
            self.closed_by_client += 1

    def stop(self) -> None:
        self._sock.close()
        for thread in self._threads:
            thread.join(timeout=WAIT)


@pytest.fixture(name="serve")
def serve_fixture() -> Iterator[Callable[..., ScriptServer]]:
    """``serve(handler, tls=None, host="127.0.0.1")`` starts a :class:`ScriptServer`;
    all are stopped after the test."""
    servers: list[ScriptServer] = []

    def start(
        handler: Handler, tls: Optional[ssl.SSLContext] = None, host: str = "127.0.0.1"
    ) -> ScriptServer:
        server = ScriptServer(handler, tls, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def read_request(conn: socket.socket) -> Optional[tuple[bytes, bytes]]:
    """(head, body) of the next request on ``conn``; None when the client closed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    length = int(match.group(1)) if match else 0
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def request_id(head: bytes) -> bytes:
    match = re.search(rb"(?i)\r\nx-request-id: *([^\r]+)", head)
    assert match
    return match.group(1)


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def echo_ids(number: int, conn: socket.socket) -> None:
    """A keep-alive server answering every request with its request id."""
    while (request := read_request(conn)) is not None:
        conn.sendall(answer(request_id(request[0])))
