"""Nothing in AsyncManagementClient blocks the event loop.

A ticker task wakes every 10 ms and records how late it woke, while 100 concurrent
management calls run against a loopback server that takes SLOW seconds to answer each.
A blocking send anywhere (a sync socket read, a ``time.sleep`` in a retry, a threading
lock held across the wait) would stall the ticker for about SLOW seconds at least once;
the non-blocking client's largest stall is the CPU time of a few calls. The bound is
generous (half the server's delay) so a busy machine does not make the test flaky.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from kinde_sdk.management import AsyncManagementClient

pytestmark = pytest.mark.anyio

SLOW = 1.0
CALLS = 100

USERS = {
    "code": "OK",
    "message": "Success",
    "users": [
        {"id": f"kp_{i:032x}", "email": f"user{i}@example.com", "first_name": "Jane"}
        for i in range(10)
    ],
    "next_token": None,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply({"access_token": "t", "expires_in": 3600, "token_type": "bearer"})

    def do_GET(self) -> None:
        if self.path.startswith("/api/v1/users"):
            with _in_flight_lock:
                _in_flight[0] += 1
                _in_flight[1] = max(_in_flight[1], _in_flight[0])
            try:
                time.sleep(SLOW)  # the server, not the client, is slow
            finally:
                with _in_flight_lock:
                    _in_flight[0] -= 1
        self._reply(USERS)


# [users requests being answered now, the most at once]: a count, not a clock, shows
# that the client's calls overlapped.
_in_flight = [0, 0]
_in_flight_lock = threading.Lock()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


@pytest.fixture
def slow_server() -> Iterator[str]:
    _in_flight[:] = [0, 0]
    server = _Server(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_100_slow_calls_never_stall_the_loop(slow_server: str) -> None:
    async with AsyncManagementClient(slow_server, "id", "secret", timeout=30) as client:
        await client.users.get_users()  # warm up: token, imports, validators

        stalls: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            period = 0.01
            while not stop.is_set():
                before = time.perf_counter()
                await asyncio.sleep(period)
                stalls.append(time.perf_counter() - before - period)

        tick = asyncio.create_task(ticker())
        results = await asyncio.gather(*(client.users.get_users() for _ in range(CALLS)))
        stop.set()
        await tick

    assert len(results) == CALLS
    assert all(len(r.users or []) == 10 for r in results)
    # The calls overlapped (a blocking send has one request at the server at a time) ...
    assert _in_flight[1] > 1, _in_flight
    # ... and the ticker kept running all along.
    assert len(stalls) > 10
    print(f"largest stall {max(stalls) * 1000:.1f} ms over {len(stalls)} ticks")
    # A blocking send would stall for at least SLOW; parsing 100 answers that land at
    # once may take a while on a busy machine, so the bound leaves room for that.
    assert max(stalls) < SLOW * 0.9, f"the event loop stalled for {max(stalls):.3f}s"
