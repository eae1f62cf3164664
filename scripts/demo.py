#!/usr/bin/env python3
"""Run the Kinde SDK README's management example against local servers.

Starts Prism (serving the Management API spec) behind a loopback front that answers
/oauth2/token, runs examples/management_example.py unmodified against it, prints its
output, and stops the servers.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers.front import FrontServer  # noqa: E402
from tests.servers.prism import start_prism  # noqa: E402


def main() -> int:
    client_id, client_secret = "demo-m2m-client", secrets.token_urlsafe(24)
    print("Starting Prism (Kinde Management API mock) and the local token endpoint...", flush=True)
    prism = start_prism()
    front = FrontServer(upstream=prism.url, client_id=client_id, client_secret=client_secret)
    front.start()
    try:
        print(f"Local Kinde domain: {front.url}\n", flush=True)
        env = {
            **os.environ,
            "KINDE_DOMAIN": front.url,
            "KINDE_MANAGEMENT_CLIENT_ID": client_id,
            "KINDE_MANAGEMENT_CLIENT_SECRET": client_secret,
        }
        example = ROOT / "examples" / "management_example.py"
        result = subprocess.run([sys.executable, str(example)], env=env, check=False)
        print(
            f"\nThe example made {front.state.token_requests} token request(s) and "
            f"{front.state.api_requests} API request(s)."
        )
        if front.state.violations:
            print("Requests that broke the spec:\n  " + "\n  ".join(front.state.violations))
            return 1
        return result.returncode
    finally:
        front.stop()
        prism.stop()


if __name__ == "__main__":
    raise SystemExit(main())
