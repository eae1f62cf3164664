#!/usr/bin/env python3
"""The M2M token cache across processes, measured (issue 12, part 3, token half).

Run by ``make bench-fleet``; not part of the test suite. On loopback, with a real
``redis-server`` started here and a token endpoint served by this script:

1. 4 processes x 16 threads on a cold cache, sharing a ``RedisTokenStore``: how many
   token requests (target: exactly 1), and how long until every thread has its token;
2. the same fleet calling ``get_access_token()`` in a loop on short-lived tokens while
   Redis is killed mid-run: every call must succeed (the processes fall back on their
   own token requests, with one warning each);
3. the cost of a cache hit, in µs per call: the in-process hit (the default store, and
   with a Redis store, whose processes keep a local copy), and a hit served by Redis
   (GET + decrypt + parse: what a process pays when its local copy is missing or due).

Prints a Markdown table; ``--json PATH`` also writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROCESSES = 4
THREADS = 16
TOKEN_DELAY = 0.2  # the token endpoint's latency, so that the fleet's callers overlap
CLIENT_ID = "bench-fleet-client"
CLIENT_SECRET = "bench-fleet-secret-not-real"


# -- the token endpoint (a thread of this process) -----------------------------------------


class TokenEndpoint:
    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.count = 0
        self.lifetime = 3600
        lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                time.sleep(TOKEN_DELAY)
                with lock:
                    endpoint.count += 1
                    n = endpoint.count
                body = json.dumps(
                    {"access_token": f"tok-{n}", "expires_in": endpoint.lifetime}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()


# -- redis-server ---------------------------------------------------------------------------


class Redis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not on PATH (apt-get install redis-server)")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.workdir = tempfile.mkdtemp(prefix="bench-fleet-redis-")
        self.proc = subprocess.Popen(
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
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        sys.exit("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- workers (``--worker``: fresh processes) ----------------------------------------------------


def worker(config: dict[str, Any]) -> None:
    """THREADS threads of one process; released by a line on stdin, report one JSON line."""
    import logging

    from kinde_sdk.auth import RedisTokenStore
    from kinde_sdk.management import ManagementClient

    warnings: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record.getMessage())

    logging.getLogger("kinde_sdk").addHandler(Collect(level=logging.WARNING))
    store = RedisTokenStore(config["redis_url"], socket_timeout=0.5)
    client = ManagementClient(
        config["origin"],
        config.get("client_id", CLIENT_ID),
        CLIENT_SECRET,
        token_store=store,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    duration = float(config.get("duration", 0.0))
    calls = [0] * THREADS
    errors: list[str] = []
    waits: list[float] = []

    def run(index: int) -> None:
        started = time.monotonic()
        try:
            client.get_access_token()
            waits.append(time.monotonic() - started)
            calls[index] += 1
            while time.monotonic() - started < duration:
                client.get_access_token()
                calls[index] += 1
                time.sleep(0.005)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(
        json.dumps({"calls": sum(calls), "errors": errors, "warnings": warnings, "waits": waits}),
        flush=True,
    )


def fleet(config: dict[str, Any], during: Optional[Any] = None) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            sys.exit("a worker did not start")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    if during is not None:
        during()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# -- cache hit costs --------------------------------------------------------------------------


def per_call_us(fn: Any, n: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(samples)


def hit_costs(origin: str, redis_url: str, repeats: int) -> dict[str, float]:
    from kinde_sdk import _token_cache
    from kinde_sdk._token_cache import ClientCredentialsTokenProvider
    from kinde_sdk._transport import Transport
    from kinde_sdk.auth import RedisTokenStore

    transport = Transport()
    figures: dict[str, float] = {}
    for label, store in (
        ("in_process", None),
        ("redis_local_copy", RedisTokenStore(redis_url)),
    ):
        _token_cache._registry = weakref.WeakValueDictionary()
        provider = ClientCredentialsTokenProvider(
            token_url=f"{origin}/oauth2/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET + label,
            audience=None,
            transport=transport,
            token_store=store,
        )
        provider.token()
        figures[label] = per_call_us(provider.token, 20_000, repeats)
    for label, encrypt in (("redis_hit_encrypted", True), ("redis_hit_plain", False)):
        provider = ClientCredentialsTokenProvider(
            token_url=f"{origin}/oauth2/token",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET + label,
            audience=None,
            transport=transport,
            token_store=RedisTokenStore(redis_url, encrypt=encrypt),
        )
        provider.token()
        shared = provider._flow.shared
        assert shared is not None

        def from_redis(shared: Any = shared) -> None:
            record = shared.codec.decode_token(shared.store.get(shared.token_name))
            assert record is not None

        figures[label] = per_call_us(from_redis, 1_000, repeats)
    return figures


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return

    repeats = 3 if args.quick else 9
    endpoint = TokenEndpoint()
    redis = Redis()
    report: dict[str, Any] = {}
    try:
        # 1. A cold fleet.
        started = time.monotonic()
        cold = fleet({"origin": endpoint.origin, "redis_url": redis.url})
        report["cold"] = {
            "token_requests": endpoint.count,
            "calls": sum(r["calls"] for r in cold),
            "errors": sum(len(r["errors"]) for r in cold),
            "slowest_wait_s": max(w for r in cold for w in r["waits"]),
            "wall_s": time.monotonic() - started,
        }

        # 3. Hit costs (Redis still up; before scenario 2 kills it).
        report["hits_us"] = hit_costs(endpoint.origin, redis.url, repeats)

        # 2. Redis killed mid-run, tokens living 4 s (refreshed every ~2 s).
        endpoint.count = 0
        endpoint.lifetime = 4
        duration = 6.0

        def kill_redis_midway() -> None:
            time.sleep(duration / 2)
            redis.kill()
            report["killed_at_s"] = duration / 2

        killed = fleet(
            {
                "origin": endpoint.origin,
                "redis_url": redis.url,
                "duration": duration,
                # Other credentials, so this fleet starts cold too.
                "client_id": CLIENT_ID + "-2",
            },
            during=kill_redis_midway,
        )
        report["redis_killed"] = {
            "token_requests": endpoint.count,
            "calls": sum(r["calls"] for r in killed),
            "errors": sum(len(r["errors"]) for r in killed),
            "error_samples": [e for r in killed for e in r["errors"]][:3],
            "processes_warned": sum(1 for r in killed if r["warnings"]),
        }
    finally:
        redis.kill()
        endpoint.close()

    cold, hits, dead = report["cold"], report["hits_us"], report["redis_killed"]
    rows = [
        (
            f"{PROCESSES} processes x {THREADS} threads, cold cache: token requests",
            cold["token_requests"],
            "1",
            "met" if cold["token_requests"] == 1 and cold["errors"] == 0 else "MISSED",
        ),
        (
            f"  slowest caller's wait (token endpoint takes {TOKEN_DELAY * 1000:.0f} ms)",
            f"{cold['slowest_wait_s'] * 1000:.0f} ms",
            "",
            "",
        ),
        (
            f"Redis killed after {report.get('killed_at_s', 0):g} s of a "
            f"{duration:g} s run: calls / failed",
            f"{dead['calls']} / {dead['errors']}",
            "0 failed",
            "met" if dead["errors"] == 0 else "MISSED",
        ),
        (
            "  token requests in that run (4 s tokens; per process once Redis is gone)",
            dead["token_requests"],
            "",
            "",
        ),
        ("  processes that logged a warning", dead["processes_warned"], "", ""),
        ("cache hit, in-process store", f"{hits['in_process']:.2f} µs", "", ""),
        (
            "cache hit, Redis store (the process's local copy)",
            f"{hits['redis_local_copy']:.2f} µs",
            "",
            "",
        ),
        (
            "hit served by Redis (GET + AES-GCM + parse)",
            f"{hits['redis_hit_encrypted']:.0f} µs",
            "",
            "",
        ),
        ("hit served by Redis, encrypt=False", f"{hits['redis_hit_plain']:.0f} µs", "", ""),
    ]
    print("| measure | value | target | result |")
    print("| --- | ---: | --- | --- |")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    load = os.getloadavg()
    print(
        f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; nproc {os.cpu_count()}; "
        f"Python {sys.version.split()[0]}; load average {load[0]:.1f}; medians of {repeats}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if cold["token_requests"] != 1 or dead["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
