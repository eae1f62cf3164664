"""What bearer-token validation costs a FastAPI endpoint: requests per second of the same
endpoint without validation, with ``BearerAuth`` (AsyncTokenValidator, verified-token
cache on) and with the cache off (a full RS256 verification per request).

One uvicorn worker in a child process serves the app and its own JWKS; a threaded
urllib3 client (keep-alive) drives it for a few seconds per endpoint, same machine,
same run. Usage: ``python scripts/bench_bearer.py [--seconds 5] [--threads 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AUDIENCE = "https://bench.example/api"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def serve(port: int, key_file: str) -> None:
    """The child process: the app under uvicorn."""
    import jwt
    import uvicorn
    from cryptography.hazmat.primitives import serialization
    from fastapi import Depends, FastAPI

    from kinde_sdk.frameworks.fastapi import BearerAuth

    private = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))  # type: ignore[arg-type]
    jwk.update({"kid": "bench-1", "use": "sig", "alg": "RS256"})
    origin = f"http://127.0.0.1:{port}"
    cached = BearerAuth(domain=origin, audience=AUDIENCE)
    uncached = BearerAuth(domain=origin, audience=AUDIENCE, max_cached_tokens=0)
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict[str, Any]:
        return {"keys": [jwk]}

    @app.get("/open")
    async def open_endpoint() -> dict[str, str]:
        return {"sub": "anonymous"}

    @app.get("/bearer")
    async def bearer_endpoint(claims: dict[str, Any] = Depends(cached)) -> dict[str, str]:
        return {"sub": claims["sub"]}

    @app.get("/bearer-nocache")
    async def nocache_endpoint(claims: dict[str, Any] = Depends(uncached)) -> dict[str, str]:
        return {"sub": claims["sub"]}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def mint(key_file: Path, port: int) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "iss": f"http://127.0.0.1:{port}",
        "aud": AUDIENCE,
        "sub": "bench-user",
        "iat": now,
        "exp": now + 3600,
        "permissions": ["read:users"],
    }
    return jwt.encode(claims, key_file.read_bytes(), algorithm="RS256", headers={"kid": "bench-1"})


def drive(url: str, headers: dict[str, str], seconds: float, threads: int) -> float:
    import urllib3

    http = urllib3.PoolManager(maxsize=threads, retries=False)
    assert http.request("GET", url, headers=headers).status == 200  # warm-up, JWKS fetched
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            r = http.request("GET", url, headers=headers)
            if r.status != 200:
                raise RuntimeError(f"{url}: HTTP {r.status}")
            counts[i] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--serve", nargs=2, metavar=("PORT", "KEY_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "key.pem"
        make_key(key_file)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), str(key_file)], env=env
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("the bench server did not start") from None
                    time.sleep(0.1)
            base = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {mint(key_file, port)}"}
            results = {
                "no validation (/open)": drive(f"{base}/open", {}, args.seconds, args.threads),
                "BearerAuth, verified-token cache (/bearer)": drive(
                    f"{base}/bearer", auth, args.seconds, args.threads
                ),
                "BearerAuth, full RS256 verification per request (/bearer-nocache)": drive(
                    f"{base}/bearer-nocache", auth, args.seconds, args.threads
                ),
            }
        finally:
            proc.terminate()
            proc.wait(10)
    baseline = next(iter(results.values()))
    print(f"uvicorn, 1 worker; client: {args.threads} threads, {args.seconds:g} s per endpoint")
    for name, rps in results.items():
        print(f"  {name:68s} {rps:8.0f} req/s  ({rps / baseline:5.1%} of no validation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
