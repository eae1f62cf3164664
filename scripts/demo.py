#!/usr/bin/env python3
"""Run the Kinde SDK README's management example and a login flow against local servers.

1. Starts Prism (serving the Management API spec) behind a loopback front that answers
   /oauth2/token, and runs examples/management_example.py unmodified against it.
2. Starts node-oidc-provider with Kinde-style routes and claims, and runs
   examples/login_flow.py, signing in through the provider's real login and consent
   pages over HTTP (the part a browser plays).
Then stops the servers.
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
from tests.servers.oidc_provider import login_and_get_callback, start_oidc_provider  # noqa: E402
from tests.servers.prism import start_prism  # noqa: E402


def management_demo() -> int:
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


def login_demo() -> int:
    print("\nStarting node-oidc-provider (a local OpenID provider with Kinde's routes)...")
    provider = start_oidc_provider()
    try:
        settings = {
            "KINDE_DOMAIN": provider.url,
            "KINDE_CLIENT_ID": provider.client_id,
            "KINDE_CLIENT_SECRET": provider.client_secret,
            "KINDE_REDIRECT_URI": provider.redirect_uri,
            "KINDE_LOGOUT_REDIRECT_URI": provider.logout_redirect_uri,
            "KINDE_AUDIENCE": provider.api_audience,
        }
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        try:
            sys.path.insert(0, str(ROOT / "examples"))
            import login_flow

            login_flow.run(lambda url: login_and_get_callback(url, login="demo-user"))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return 0
    finally:
        provider.stop()


def main() -> int:
    status = management_demo()
    return status or login_demo()


if __name__ == "__main__":
    raise SystemExit(main())
