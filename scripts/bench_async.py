#!/usr/bin/env python3
"""Benchmarks of AsyncManagementClient (``make bench`` runs them through scripts/bench.py;
``python scripts/bench_async.py`` runs them alone).

Against the loopback server of scripts/bench.py (a 50-user ``get_users`` page):

* per call: ``await client.users.get_users(page_size=50)`` one after another, vs bare
  ``httpx.AsyncClient.get`` + ``json.loads`` on the same kind of loop (target: <= 1.3x);
* throughput: 200 concurrent ``get_users`` on one event loop (``asyncio.gather``) vs the
  sync ``ManagementClient`` making the same 200 calls from a pool of 32 threads (target:
  the async client at least as fast); bare httpx at the same concurrency for reference.
  Both clients run as they come (default pools: the async one holds at most 10
  connections and queues the rest; urllib3 opens one per thread and keeps 10), call the
  same typed operation, and keep the 200 results until the batch ends.

Each variant runs in its own fresh process (``python -I``), warmed up first; samples of
the variants compared are interleaved and the medians reported, so drift on a busy
machine hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402  (the loopback server, credentials and page size are bench.py's)

CONCURRENT = 200
POOL_THREADS = 32
TARGETS = {
    "async_per_call": 1.3,  # AsyncManagementClient get_users <= 1.3x bare httpx + json.loads
    "async_throughput": 1.0,  # 200 on one loop >= the sync client over 32 threads
}


# -- workers (fresh processes) -----------------------------------------------------------


async def _token(origin: str) -> str:
    import httpx

    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{origin}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": bench.CLIENT_ID,
                "client_secret": bench.CLIENT_SECRET,
                "audience": f"{origin}/api",
            },
        )
        return str(response.json()["access_token"])


async def _async_caller(kind: str, origin: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """(one awaitable get_users call, close)."""
    if kind == "httpx":
        import httpx

        token = await _token(origin)
        client = httpx.AsyncClient(
            headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
        )
        url = f"{origin}/api/v1/users"
        params = {"page_size": bench.PAGE_SIZE}

        async def bare() -> Any:
            return json.loads((await client.get(url, params=params)).content)

        return bare, client.aclose
    if kind == "async":
        from kinde_sdk.management import AsyncManagementClient

        ours = AsyncManagementClient(origin, bench.CLIENT_ID, bench.CLIENT_SECRET)

        async def call() -> Any:
            return await ours.users.get_users(page_size=bench.PAGE_SIZE)

        return call, ours.aclose
    raise SystemExit(f"unknown async client {kind!r}")


async def _async_worker(mode: str, kind: str, origin: str) -> None:
    call, close = await _async_caller(kind, origin)
    result = await call()
    users = result["users"] if isinstance(result, dict) else result.users
    assert len(users) == bench.PAGE_SIZE
    for _ in range(50):
        await call()
    if mode == "concurrent":
        await asyncio.gather(*(call() for _ in range(CONCURRENT)))  # warm the pool
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        n = int(line)
        started = time.perf_counter()
        if mode == "sequential":
            for _ in range(n):
                await call()
        else:
            await asyncio.gather(*(call() for _ in range(n)))
        print(time.perf_counter() - started, flush=True)
    await close()


def _threads_worker(origin: str) -> None:
    from kinde_sdk.management import ManagementClient

    client = ManagementClient(origin, bench.CLIENT_ID, bench.CLIENT_SECRET)
    with ThreadPoolExecutor(POOL_THREADS) as pool:

        def batch(n: int) -> None:
            # The same typed operation as the async side (not the seed convenience,
            # whose extra dispatch only the sync side would pay).
            for result in pool.map(
                lambda _: client.users.get_users(page_size=bench.PAGE_SIZE), range(n)
            ):
                assert len(result.users or []) == bench.PAGE_SIZE

        batch(CONCURRENT)
        print("ready", flush=True)
        for line in sys.stdin:
            n = int(line)
            started = time.perf_counter()
            batch(n)
            print(time.perf_counter() - started, flush=True)
    client.close()


def worker(mode: str, kind: str, origin: str) -> None:
    if kind == "threads":
        _threads_worker(origin)
    else:
        asyncio.run(_async_worker(mode, kind, origin))


# -- the parent ---------------------------------------------------------------------------


def _spawn(python: Path, scratch: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(python), "-I", str(Path(__file__).resolve()), *argv],
        cwd=scratch,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )


def _interleaved(
    python: Path, scratch: Path, origin: str, mode: str, kinds: list[str], n: int, repeats: int
) -> dict[str, list[float]]:
    """``repeats`` samples of N calls per variant, each variant in its own process."""
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for kind in kinds:
            proc = _spawn(python, scratch, "--worker", mode, kind, origin)
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {mode} {kind} worker failed to start")
            procs[kind] = proc
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for _ in range(repeats):
            for kind, proc in procs.items():
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(f"{n}\n")
                proc.stdin.flush()
                samples[kind].append(float(proc.stdout.readline()))
        return samples
    finally:
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)


def measure(
    python: Path, scratch: Path, origin: str, *, calls: int, repeats: int
) -> dict[str, Any]:
    """Both measurements against a running bench server at ``origin``."""
    seq = _interleaved(python, scratch, origin, "sequential", ["httpx", "async"], calls, repeats)
    per_call = {k: statistics.median(v) / calls for k, v in seq.items()}
    # Bare httpx at the same concurrency tells the SDK's share of the async cost from
    # httpx's own.
    conc = _interleaved(
        python, scratch, origin, "concurrent", ["async", "threads", "httpx"], CONCURRENT, repeats
    )
    throughput = {k: CONCURRENT / statistics.median(v) for k, v in conc.items()}
    ratio = per_call["async"] / per_call["httpx"]
    speedup = throughput["async"] / throughput["threads"]
    return {
        "calls_per_sample": calls,
        "concurrent": CONCURRENT,
        "pool_threads": POOL_THREADS,
        "samples_s": {"sequential": seq, "concurrent": conc},
        "median_s_per_call": per_call,
        "calls_per_s": throughput,
        "targets": {
            "async_per_call": {
                "ratio": ratio,
                "target": TARGETS["async_per_call"],
                "met": ratio <= TARGETS["async_per_call"],
            },
            "async_throughput": {
                "ratio": speedup,
                "target": TARGETS["async_throughput"],
                "met": speedup >= TARGETS["async_throughput"],
            },
        },
    }


def markdown(result: dict[str, Any]) -> str:
    per_call, tput, tgt = result["median_s_per_call"], result["calls_per_s"], result["targets"]

    def mark(name: str) -> str:
        return "met" if tgt[name]["met"] else "MISSED"

    return "\n".join(
        [
            "| async management | baseline | AsyncManagementClient | ratio | target | result |",
            "|---|---|---|---|---|---|",
            f"| `get_users` per call (one after another) | bare httpx + json.loads "
            f"{per_call['httpx'] * 1e6:.0f} us | {per_call['async'] * 1e6:.0f} us | "
            f"{tgt['async_per_call']['ratio']:.2f}x | <= {TARGETS['async_per_call']}x | "
            f"{mark('async_per_call')} |",
            f"| {result['concurrent']} concurrent `get_users` | sync client, "
            f"{result['pool_threads']} threads: {tput['threads']:.0f} calls/s | one loop: "
            f"{tput['async']:.0f} calls/s | {tgt['async_throughput']['ratio']:.2f}x | "
            f">= {TARGETS['async_throughput']}x | {mark('async_throughput')} |",
            f"| the same 200 with bare httpx + json.loads on one loop | | "
            f"{tput['httpx']:.0f} calls/s | {tput['httpx'] / tput['threads']:.2f}x | | |",
        ]
    )


def run_with(b: Any) -> None:
    """The hook for scripts/bench.py: measure against its running server, store the
    results and the targets beside its own."""
    out = measure(b.ours_python, b.scratch, b.origin, calls=b.args.calls, repeats=b.args.repeats)
    b.results["async_management"] = out
    print(markdown(out) + "\n", flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="sequential calls per sample")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    if args.quick:
        args.repeats, args.calls = 3, 50
    python = Path(sys.executable)
    scratch = Path(tempfile.mkdtemp(prefix="kinde-bench-async-"))
    server = subprocess.Popen(
        [str(python), "-I", str(HERE / "bench.py"), "--serve", str(scratch)],
        cwd=scratch,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        # bench.py's server prints its ports by page variant; make bench measures this
        # against the compatible 50-user page (its ``origin``), so does a run alone.
        origin = f"http://127.0.0.1:{json.loads(server.stdout.readline())['compat50']}"
        result = measure(python, scratch, origin, calls=args.calls, repeats=args.repeats)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
