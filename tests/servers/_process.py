"""Start and stop local server processes for tests and the demo (loopback only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "tools" / "node_modules" / ".bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float, logs: deque[str]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n" + "\n".join(logs))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"server did not listen on port {port} within {timeout}s:\n" + "\n".join(logs)
    )


class ServerProcess:
    """A child process whose output is kept (last lines) for failure messages."""

    def __init__(self, argv: list[str], *, port: int, env: Optional[dict[str, str]] = None) -> None:
        self.argv = argv
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.logs: deque[str] = deque(maxlen=2000)
        self.proc: Optional[subprocess.Popen[str]] = None
        self.cleanup_paths: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0) -> ServerProcess:
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=ROOT,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        try:
            wait_for_port(self.port, self.proc, ready_timeout, self.logs)
        except BaseException:
            self.stop()
            raise
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.logs.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()  # the pump thread ends at EOF; no pipe left open
        for path in self.cleanup_paths:
            shutil.rmtree(path, ignore_errors=True)
