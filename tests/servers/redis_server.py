"""A throwaway redis-server on 127.0.0.1 for integration tests.

No persistence (``--save ''``, ``--appendonly no``) and a temporary working directory,
so nothing is written outside it. A missing ``redis-server`` binary is an error, not a
skip: the redis backend must be tested in CI (``apt-get install redis-server``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Optional

from ._process import ServerProcess, free_port

INSTALL_HINT = (
    "redis-server was not found on PATH; install it (Debian/Ubuntu: "
    "`apt-get install -y redis-server`, macOS: `brew install redis`) to run the redis "
    "storage tests"
)


class RedisServerMissing(RuntimeError):
    pass


def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise RedisServerMissing(INSTALL_HINT)
    return path


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = sock.recv(64)
                if not chunk:
                    return False
                reply += chunk
            # "-LOADING ..." while a dataset loads; only +PONG means ready.
            return reply.startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """``redis-server`` as a child process; ``url`` points at database 0."""

    def __init__(self, port: Optional[int] = None) -> None:
        binary = redis_server_binary()
        self.port = port or free_port()
        self.workdir = tempfile.mkdtemp(prefix="kinde-redis-")
        self.process = ServerProcess(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.workdir,
            ],
            port=self.port,
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, ready_timeout: float = 60.0) -> RedisServer:
        self.process.start(ready_timeout=ready_timeout)
        deadline = time.monotonic() + ready_timeout
        while not _answers_ping(self.port):
            proc = self.process.proc
            if proc is not None and proc.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"redis-server exited with {proc.returncode}:\n" + "\n".join(self.process.logs)
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"redis-server on port {self.port} did not answer PING within "
                    f"{ready_timeout}s:\n" + "\n".join(self.process.logs)
                )
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(attempts: int = 3) -> RedisServer:
    """Start a server on a free port, retrying with a new port if one was taken between
    choosing it and binding it."""
    last: Optional[Exception] = None
    for _ in range(attempts):
        server = RedisServer()
        try:
            return server.start()
        except RuntimeError as exc:
            last = exc
    assert last is not None
    raise last
