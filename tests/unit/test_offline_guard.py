""".ci/offline/sitecustomize.py, which .ci/run puts on PYTHONPATH to prove the build,
demo and tests need no network: it must refuse the outside and let loopback through."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import socket, urllib3
try:
    urllib3.request("GET", "https://api-spec.kinde.com/spec.yaml", retries=False)
except urllib3.exceptions.HTTPError as exc:
    print("refused:", exc)
try:
    socket.create_connection(("8.8.8.8", 53), timeout=5)
except OSError as exc:
    print("refused:", exc)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
socket.create_connection(server.getsockname(), timeout=5).close()
print("loopback: ok")
"""


def test_the_offline_guard_refuses_everything_but_loopback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / ".ci" / "offline")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    assert "offline check: no lookup of 'api-spec.kinde.com'" in lines[0]
    assert "offline check: no lookup of '8.8.8.8'" in lines[1]
    assert lines[2] == "loopback: ok"
