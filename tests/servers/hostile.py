"""A loopback HTTP server that misbehaves on purpose, per path: it answers normally,
trickles its headers or body one byte at a time, sends a huge body, or never answers at
all (a black hole). Threaded, one thread per connection; ``stop()`` ends every one.

Routes map a path (without query) to a :class:`Route`; unknown paths get 404.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

Mode = Literal["ok", "trickle_headers", "trickle_body", "huge", "huge_chunked", "black_hole"]


@dataclass
class Route:
    mode: Mode = "ok"
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json"
    # trickle: seconds between bytes; size: bytes of a trickled or huge body
    interval: float = 0.25
    size: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # more response headers


def self_signed_tls(directory: str) -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and the
    certificate's path for clients to trust."""
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


@dataclass
class HostileServer:
    routes: dict[str, Route] = field(default_factory=dict)
    host: str = "127.0.0.1"
    # A server-side TLS context: connections are wrapped in it (https URLs).
    tls: Optional[ssl.SSLContext] = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + path

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for _, p in self.requests if p == path)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- serving ------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _read_request(self, reader: socket.socket) -> Optional[tuple[str, str, dict[str, str]]]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = reader.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            chunk = reader.recv(65536)
            if not chunk:
                return None
            rest += chunk
        return method, target.split("?", 1)[0], headers

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
                conn.settimeout(None)
                with self._lock:
                    self._conns.append(conn)
            while not self._stop.is_set():
                request = self._read_request(conn)
                if request is None:
                    return
                method, path, headers = request
                with self._lock:
                    self.requests.append((method, path))
                    self.request_headers.append(headers)
                route = self.routes.get(path)
                if route is None:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    continue
                if not self._respond(conn, route):
                    return
        except OSError:
            return
        finally:
            conn.close()

    def _head(self, route: Route, length: Optional[int]) -> bytes:
        lines = [f"HTTP/1.1 {route.status} X", f"Content-Type: {route.content_type}"]
        if length is None:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {length}")
        lines.extend(f"{name}: {value}" for name, value in route.headers.items())
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _trickle(self, conn: socket.socket, data: bytes, interval: float) -> bool:
        for i in range(len(data)):
            if self._stop.wait(interval):
                return False
            conn.sendall(data[i : i + 1])
        return True

    def _respond(self, conn: socket.socket, route: Route) -> bool:
        """Send the answer; False when the connection should end."""
        if route.mode == "ok":
            conn.sendall(self._head(route, len(route.body)) + route.body)
            return True
        if route.mode == "black_hole":
            self._stop.wait()
            return False
        if route.mode == "trickle_headers":
            # A header that never ends: 2,000 bytes at one byte per interval.
            head = self._head(route, len(route.body))[:-2] + b"X-Slow: " + b"a" * 2000
            return self._trickle(conn, head, route.interval)
        if route.mode == "trickle_body":
            total = route.size or 2000  # bytes to trickle
            body = (route.body * (1 + total // max(1, len(route.body))))[:total]
            conn.sendall(self._head(route, len(body)))
            return self._trickle(conn, body, route.interval)
        if route.mode in ("huge", "huge_chunked"):
            chunked = route.mode == "huge_chunked"
            conn.sendall(self._head(route, None if chunked else route.size))
            block = b"x" * 65536
            sent = 0
            while sent < route.size and not self._stop.is_set():
                piece = block[: min(len(block), route.size - sent)]
                if chunked:
                    conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                else:
                    conn.sendall(piece)
                sent += len(piece)
            if chunked:
                conn.sendall(b"0\r\n\r\n")
            return True
        raise AssertionError(route.mode)


# Fixtures for the test modules that use this server: import them by these names.
@pytest.fixture(name="server")
def server_fixture() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture(name="anyio_backend")
def anyio_backend_fixture() -> str:
    return "asyncio"  # the SDK's async code is written for asyncio
