"""Abandoned browser sessions against memory storage (issue 12's session measure):
N cookie-less ``GET /login?next=<1 KB>`` through a Flask app (each one a new browser
session with a pending login), memory storage bounded at ``--bound`` keys. Prints the
key count after every 1,000 logins, the peak, and how many keys are left once the
pending logins' TTL has passed (a fake clock moves it). Exit 1 if the bound is passed.

The provider is kinde_sdk.testing.FakeKinde on loopback (only discovery is used).
Usage: ``python scripts/bench_sessions.py [--sessions 10000] [--bound 5000]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from flask import Flask

from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.testing import FakeKinde


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--bound", type=int, default=5_000)
    args = parser.parse_args()
    clock = Clock()
    storage = MemoryStorage(max_entries=args.bound, clock=clock.monotonic)
    with FakeKinde() as kinde:
        app = Flask(__name__)
        OAuth(
            framework="flask",
            app=app,
            domain=kinde.domain,
            client_id=kinde.client_id,
            client_secret=kinde.client_secret,
            redirect_uri="http://127.0.0.1:5000/callback",
            storage=NamespacedStorage(storage),
            clock=clock.wall,
            framework_options={"session_secret": "bench-session-secret-0123456789"},
        )
        client = app.test_client()
        peak = 0
        started = time.perf_counter()
        for i in range(1, args.sessions + 1):
            client.delete_cookie("kinde_session", domain="localhost")
            response = client.get("/login?next=/" + "x" * 1000)
            assert response.status_code == 302, response.status_code
            peak = max(peak, len(storage._data))
            if i % 1000 == 0:
                print(f"{i:>6} sessions: {len(storage._data):>6} keys (bound {args.bound})")
        elapsed = time.perf_counter() - started
    clock.offset += 601  # past the default pending_ttl (600 s)
    left = len(storage)
    result = {
        "sessions": args.sessions,
        "bound": args.bound,
        "peak_keys": peak,
        "keys_after_ttl": left,
        "ms_per_login": round(elapsed * 1000 / args.sessions, 3),
    }
    print(json.dumps(result))
    return 0 if peak <= args.bound and left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
