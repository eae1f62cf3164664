#!/usr/bin/env python3
"""Benchmarks of kinde_sdk against the floor of its own dependencies and the official SDK.

Run by ``make bench``; not part of the test suite. One run measures everything side by
side on this machine and reports ratios, because absolute numbers on a shared 2-core box
mean little: every figure is a median over repeated runs, and the runs of the things
compared are interleaved so that drift hits them alike.

* cold import: a fresh interpreter per sample; the time of the import statement itself;
* ``get_users`` (a 50-user page) through ``ManagementClient`` vs bare urllib3 +
  ``json.loads`` vs the official ``kinde-python-sdk`` management client, all against one
  loopback HTTP/1.1 keep-alive server in its own process; the same for a 20-user page
  without date-time fields, and a 50-user page with Kinde's ``+11`` offsets against the
  typed floor (urllib3 + ``UsersResponse.model_validate_json``, our own model);
* iterating 20,000 and 100,000 users with ``iter_users`` (pages of 500 following
  ``next_token``) vs urllib3 + ``model_validate_json`` over the same pages: the client's
  CPU time (the target; wall time is shown too), and peak RSS of a fresh process per run
  (flat memory: 100k costs what 20k does);
* ``TokenValidator.verify`` (JWKS cached) vs bare ``jwt.decode`` with a preloaded key, for
  first-seen and repeated tokens;
* the M2M token cache under 32 threads on a cold cache (token requests must be 1);
* peak RSS (``ru_maxrss``) after the import and after 1,000 ``get_users`` calls.

The official SDK (``kinde-python-sdk==2.4.0``) is installed on first run into its own venv
under ``build/bench-venv-official`` (``--no-official`` skips it). Every process this
script starts runs with ``python -I`` from a scratch directory, so the official SDK and
this repository never see each other's ``kinde_sdk``.

Output: a Markdown table on stdout, and JSON (``--json``, default ``bench-results.json``
at the repository root, git-ignored) with every sample and each target met or missed.

This file imports only the standard library at module level: it also runs, as a worker,
under the official SDK's venv.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_VERSION = "2.4.0"
OFFICIAL_VENV = ROOT / "build" / "bench-venv-official"
DEFAULT_JSON = ROOT / "bench-results.json"

CLIENT_ID = "bench_client"
CLIENT_SECRET = "bench-secret-not-real"
PAGE_SIZE = 50
TOKEN_DELAY = 0.05  # seconds the token endpoint takes, so concurrent callers overlap
THREADS = 32
AUDIENCE = "bench-api"

IMPORT_FLOOR = "import urllib3, pydantic, jwt"
IMPORT_PACKAGE = "import kinde_sdk"
IMPORT_CLIENT = "from kinde_sdk.management import ManagementClient"
IMPORT_USERS_API = "import kinde_sdk_generated.api.users_api"

ITER_PAGE = 500  # users per page when iterating
ITER_TOTALS = (20_000, 100_000)

# The loopback server listens once per page shape (one port each): get_users sends only
# page_size and next_token, so the port is what picks the page.
VARIANTS = {
    "compat50": "50 users, +11:00 offsets (the official SDK reads these)",
    "plain20": "20 users, no date-time fields",
    "kinde50": "50 users, Kinde's +11 offsets",
    "iterate": f"pages of {ITER_PAGE} users (+11 offsets) chained by next_token",
}

TARGETS = {
    "import_client": 1.5,  # ManagementClient import <= 1.5x the deps floor
    "get_users": 1.25,  # get_users through ManagementClient <= 1.25x urllib3 + json.loads
    "get_users_plain20": 1.20,  # 20 users, no date-times: <= 1.20x urllib3 + json.loads
    "get_users_kinde50": 1.05,  # 50 users, +11: <= 1.05x urllib3 + model_validate_json
    "iterate_100k": 1.10,  # iter_users over 100k <= 1.10x urllib3 + model_validate_json
    "iterate_memory": 1.10,  # peak RSS iterating 100k <= 1.10x iterating 20k (flat)
    "verify_first": 1.15,  # first-seen verify <= 1.15x bare jwt.decode
    "verify_repeat": 0.25,  # repeated verify <= 0.25x bare jwt.decode
    "m2m_token_requests": 1,  # 32 threads, cold cache: exactly one token request
}


# -- the loopback server ----------------------------------------------------------------


def users_page(
    count: int = PAGE_SIZE, *, offset: str = "+11:00", datetimes: bool = True
) -> dict[str, Any]:
    """A deterministic page of users with the fields Kinde returns from GET /api/v1/users.

    ``offset`` is the UTC offset of the date-times (Kinde sends ``+11``; the official SDK
    reads only ``+11:00``); ``datetimes=False`` leaves out every date-time field."""
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
    users = []
    for i in range(count):
        given, family = first[i % len(first)], last[(i * 3) % len(last)]
        email = f"{given.lower()}.{family.lower()}{i}@example.com"
        org = f"org_{i % 5:x}1e8a0c2d9f"
        users.append(
            {
                "id": f"kp_{i:04x}0f3a8de5b1c24e7d9a6b{i:08x}",
                "provided_id": f"ext-{100000 + i}" if i % 3 == 0 else None,
                "email": email,
                "phone": f"+6140000{i:04d}" if i % 4 == 0 else None,
                "username": f"{given.lower()}{i}" if i % 2 == 0 else None,
                "last_name": family,
                "first_name": given,
                "is_suspended": i % 17 == 0,
                "picture": f"https://lh3.googleusercontent.com/a/ACg8ocK{i:06d}=s96-c",
                "total_sign_ins": 3 * i + 1,
                "failed_sign_ins": i % 3,
                "last_signed_in": f"2025-0{1 + i % 9}-1{i % 10}T0{i % 10}:12:34.567890+00:00",
                "created_on": f"2024-1{i % 3}-0{1 + i % 9}T08:00:00.{i:06d}+00:00",
                "organizations": [org, "org_b0a7f3"] if i % 6 == 0 else [org],
                "identities": [
                    {"type": "email", "identity": email},
                    *([{"type": "oauth2:google", "identity": email}] if i % 2 else []),
                ],
                "last_organization_sign_ins": [
                    {
                        "org_code": org,
                        # Kinde also sends offsets like "+11", which the official SDK
                        # rejects; "+11:00" keeps the page readable by both.
                        "last_signed_in": f"2025-0{1 + i % 9}-1{i % 10}T0{i % 10}:12:34.567"
                        + offset,
                    }
                ],
                "billing": {"customer_id": f"customer_{i:010d}"} if i % 5 == 0 else None,
            }
        )
        if not datetimes:
            for name in ("last_signed_in", "created_on", "last_organization_sign_ins"):
                del users[-1][name]
    return {"code": "OK", "message": "Success", "users": users, "next_token": "MTo6OmlkX2FzYw=="}


def serve(workdir: Path) -> None:
    """The loopback Kinde: /oauth2/token, /api/v1/users, the JWKS and counters.

    Prints its port and serves until stdin closes. Responses are prebuilt bytes written
    in one ``write`` (no Nagle stalls), so the server adds as little as it can.
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (workdir / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="bench-1", alg="RS256", use="sig")
    pages = {
        "compat50": json.dumps(users_page()).encode(),
        "plain20": json.dumps(users_page(20, datetimes=False)).encode(),
        "kinde50": json.dumps(users_page(offset="+11")).encode(),
    }
    # An iteration page is this prefix, then its next_token (none on the last page).
    chained = users_page(ITER_PAGE, offset="+11")
    del chained["next_token"]
    iter_prefix = json.dumps(chained).encode()[:-1]
    jwks_body = json.dumps({"keys": [jwk]}).encode()
    stats = {"token_requests": 0, "iterate_total": ITER_TOTALS[-1]}
    lock = threading.Lock()

    def response(status: int, body: bytes) -> bytes:
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        )
        return head.encode() + body

    page_responses = {name: response(200, body) for name, body in pages.items()}
    jwks_response = response(200, jwks_body)

    def iteration_page(query: str) -> bytes:
        """Page ``next_token`` (0 without one) of ``stats["iterate_total"]`` users."""
        params = dict(part.partition("=")[::2] for part in query.split("&") if part)
        index = int(params.get("next_token", "0"))
        pages_total = stats["iterate_total"] // ITER_PAGE
        tail = b',"next_token":"%d"}' % (index + 1) if index + 1 < pages_total else b"}"
        return response(200, iter_prefix + tail)

    not_found = response(404, b'{"errors":[{"code":"ROUTE_NOT_FOUND","message":"no route"}]}')

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _drain(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        variant = "compat50"

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            if path == "/api/v1/users":
                if self.variant == "iterate":
                    self.wfile.write(iteration_page(query))
                else:
                    self.wfile.write(page_responses[self.variant])
            elif path == "/.well-known/jwks.json":
                self.wfile.write(jwks_response)
            elif path == "/__stats":
                with lock:
                    body = json.dumps(stats).encode()
                self.wfile.write(response(200, body))
            else:
                self.wfile.write(not_found)

        def do_POST(self) -> None:
            self._drain()
            if self.path == "/oauth2/token":
                time.sleep(TOKEN_DELAY)
                with lock:
                    stats["token_requests"] += 1
                    n = stats["token_requests"]
                body = json.dumps(
                    {
                        "access_token": f"bench-access-token-{n}",
                        "expires_in": 86399,
                        "scope": "",
                        "token_type": "bearer",
                    }
                ).encode()
                self.wfile.write(response(200, body))
            elif self.path == "/__reset":
                with lock:
                    stats["token_requests"] = 0
                self.wfile.write(response(200, b"{}"))
            elif self.path.startswith("/__iterate_total/"):
                with lock:
                    stats["iterate_total"] = int(self.path.rsplit("/", 1)[1])
                self.wfile.write(response(200, b"{}"))
            else:
                self.wfile.write(not_found)

    servers = {}
    for variant in VARIANTS:
        handler = type(f"Handler_{variant}", (Handler,), {"variant": variant})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[variant] = server
    print(json.dumps({v: s.server_address[1] for v, s in servers.items()}), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    for server in servers.values():
        server.shutdown()


# -- workers (fresh processes; ``--worker``) ---------------------------------------------


def make_caller(client: str, origin: str, page_size: int = PAGE_SIZE) -> Callable[[], Any]:
    """A zero-argument function doing one get_users call with the given client."""
    if client in ("floor", "typed"):
        import urllib3

        pool = urllib3.PoolManager(maxsize=10, retries=False)
        token_resp = pool.request(
            "POST",
            f"{origin}/oauth2/token",
            fields={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "audience": f"{origin}/api",
            },
            encode_multipart=False,
        )
        token = json.loads(token_resp.data)["access_token"]
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        url = f"{origin}/api/v1/users?page_size={page_size}"
        timeout = urllib3.Timeout(connect=5.0, read=30.0)
        if client == "typed":
            # The least any typed client can do: one pydantic pass over the raw bytes
            # into the same generated model ManagementClient returns.
            from kinde_sdk_generated.models.users_response import UsersResponse

            def typed_call() -> Any:
                return UsersResponse.model_validate_json(
                    pool.request("GET", url, headers=headers, timeout=timeout, redirect=False).data
                )

            return typed_call

        def call() -> Any:
            return json.loads(
                pool.request("GET", url, headers=headers, timeout=timeout, redirect=False).data
            )

        return call
    if client == "ours":
        from kinde_sdk.management import ManagementClient

        ours = ManagementClient(origin, CLIENT_ID, CLIENT_SECRET)

        def call() -> Any:
            return ours.get_users(page_size=page_size)

        return call
    if client == "official":
        import logging

        logging.disable(logging.CRITICAL)
        from kinde_sdk.management import ManagementClient as OfficialClient

        # The official client hard-codes https://{domain} for the API and the token
        # endpoint; both are plain attributes, pointed here at the loopback server.
        official: Any = OfficialClient("bench.invalid", CLIENT_ID, CLIENT_SECRET)
        official.configuration.host = origin
        official.token_manager.token_url = f"{origin}/oauth2/token"

        def call() -> Any:
            return official.users_api.get_users(page_size=page_size)

        return call
    raise SystemExit(f"unknown client {client!r}")


def worker_calls(client: str, origin: str, page_size: int = PAGE_SIZE) -> None:
    """Warm up, print ``ready``; then for each line N on stdin, time N calls."""
    call = make_caller(client, origin, page_size)
    result = call()
    check = result["users"] if isinstance(result, dict) else result.users
    assert len(check) == page_size, f"{client}: expected {page_size} users"
    for _ in range(50):
        call()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        started = time.perf_counter()
        for _ in range(n):
            call()
        print(time.perf_counter() - started, flush=True)


def worker_iterate(client: str, origin: str, total: int) -> None:
    """Iterate ``total`` users once, in a fresh process: time and peak RSS."""
    import resource

    def peak_kib() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    import urllib3

    from kinde_sdk.management import ManagementClient
    from kinde_sdk_generated.models.users_response import UsersResponse

    # Both sides load the same modules before the clock starts: a third of a walk's time
    # is the cyclic GC, which scans every live object, so a bigger heap alone would tell
    # on a 100k walk. Imports are measured apart (cold import rows).
    ours = ManagementClient(origin, CLIENT_ID, CLIENT_SECRET)
    ours.users  # noqa: B018 - imports the users API module
    count = 0
    if client == "ours":
        ours.get_access_token()
        before = peak_kib()
        started, cpu = time.perf_counter(), time.process_time()
        for _user in ours.iter_users(page_size=ITER_PAGE):
            count += 1
    elif client == "typed":
        pool = urllib3.PoolManager(maxsize=10, retries=False)
        token = json.loads(
            pool.request(
                "POST",
                f"{origin}/oauth2/token",
                fields={"grant_type": "client_credentials", "client_id": CLIENT_ID},
                encode_multipart=False,
            ).data
        )["access_token"]
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
        timeout = urllib3.Timeout(connect=5.0, read=30.0)
        before = peak_kib()
        started, cpu = time.perf_counter(), time.process_time()
        next_token: Optional[str] = None
        while True:
            url = f"{origin}/api/v1/users?page_size={ITER_PAGE}"
            if next_token:
                url += f"&next_token={next_token}"
            page = UsersResponse.model_validate_json(
                pool.request("GET", url, headers=headers, timeout=timeout, redirect=False).data
            )
            for _user in page.users or []:
                count += 1
            next_token = page.next_token
            if not next_token or not page.users:
                break
    else:
        raise SystemExit(f"unknown client {client!r}")
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    assert count == total, f"{client}: iterated {count} users, expected {total}"
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "users": count,
                "peak_before_kib": before,
                "peak_after_kib": peak_kib(),
            }
        )
    )


def worker_memory(client: str, origin: str, calls: int) -> None:
    import resource

    def peak_kib() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    if client == "floor":
        import jwt  # noqa: F401
        import pydantic  # noqa: F401
        import urllib3  # noqa: F401
    else:  # ours or official: the same statement, each in its own venv
        from kinde_sdk.management import ManagementClient  # noqa: F401
    after_import = peak_kib()
    call = make_caller(client, origin)
    for _ in range(calls):
        call()
    print(json.dumps({"after_import_kib": after_import, "after_calls_kib": peak_kib()}))


def worker_threads(client: str, origin: str) -> None:
    """THREADS threads call get_users at once on a cold token cache."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    call = make_caller(client, origin)  # builds the client; no token fetched yet

    def run() -> None:
        barrier.wait()
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"errors": [repr(e) for e in errors[:3]], "error_count": len(errors)}))


def worker_verify(origin: str, workdir: Path, n: int, repeats: int) -> None:
    """TokenValidator.verify vs bare jwt.decode, first-seen and repeated tokens."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from kinde_sdk.auth import TokenValidator

    private = serialization.load_pem_private_key((workdir / "key.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    public = private.public_key()
    now = int(time.time())
    tokens = []
    for i in range(n):
        claims = {
            "iss": origin,
            "sub": f"kp_{i:032x}",
            "aud": [AUDIENCE],
            "azp": "0f3a8de5b1c24e7d9a6b",
            "iat": now,
            "exp": now + 3600,
            "jti": f"{i:08x}-bench",
            "scp": ["openid", "profile", "email", "offline"],
            "org_code": "org_1e8a0c2d9f",
            "permissions": ["read:users", "write:users"],
            "roles": [{"id": "role_1", "key": "admin", "name": "Admin"}],
        }
        tokens.append(jwt.encode(claims, private, algorithm="RS256", headers={"kid": "bench-1"}))
    validator = TokenValidator(origin, AUDIENCE)
    validator.refresh_keys()  # the JWKS is fetched once, here

    def floor_batch(batch: list[str]) -> float:
        started = time.perf_counter()
        for token in batch:
            jwt.decode(token, public, algorithms=["RS256"], audience=AUDIENCE, issuer=origin)
        return (time.perf_counter() - started) / len(batch)

    def ours_first(batch: list[str]) -> float:
        validator.clear_cache()
        started = time.perf_counter()
        for token in batch:
            validator.verify(token)
        return (time.perf_counter() - started) / len(batch)

    def ours_repeat(batch: list[str]) -> float:
        started = time.perf_counter()
        for token in batch:
            validator.verify(token)
        return (time.perf_counter() - started) / len(batch)

    same = [tokens[0]] * n
    for fn, batch in ((floor_batch, tokens), (ours_first, tokens), (ours_repeat, same)):
        fn(batch)  # warm-up
    samples: dict[str, list[float]] = {
        "floor_first": [],
        "ours_first": [],
        "floor_repeat": [],
        "ours_repeat": [],
    }
    for _ in range(repeats):
        samples["floor_first"].append(floor_batch(tokens))
        samples["ours_first"].append(ours_first(tokens))
        samples["floor_repeat"].append(floor_batch(same))
        validator.verify(tokens[0])
        samples["ours_repeat"].append(ours_repeat(same))
    print(json.dumps(samples))


# -- the parent -------------------------------------------------------------------------


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_official_venv() -> tuple[Optional[Path], str]:
    """The official SDK's venv: (python, "") or (None, why not)."""
    python = venv_python(OFFICIAL_VENV)
    marker = OFFICIAL_VENV / f".kinde-python-sdk-{OFFICIAL_VERSION}"
    if marker.exists():
        return python, ""
    print(f"creating {OFFICIAL_VENV} (kinde-python-sdk=={OFFICIAL_VERSION}) ...", file=sys.stderr)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(OFFICIAL_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"kinde-python-sdk=={OFFICIAL_VERSION}",
            ],
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"could not install kinde-python-sdk=={OFFICIAL_VERSION}: {exc}"
    marker.touch()
    return python, ""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ours_python = Path(sys.executable)
        self.official_python: Optional[Path] = None
        self.official_note = "skipped (--no-official)"
        self.scratch = Path(tempfile.mkdtemp(prefix="kinde-bench-"))
        self.results: dict[str, Any] = {}
        self.server: Optional[subprocess.Popen[str]] = None
        self.origin = ""
        self.port = 0
        self.ports: dict[str, int] = {}

    # processes
    def spawn(self, python: Path, *argv: str, **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(python), "-I", str(Path(__file__).resolve()), *argv],
            cwd=self.scratch,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            **kw,
        )

    def run_worker(self, python: Path, *argv: str) -> Any:
        proc = subprocess.run(
            [str(python), "-I", str(Path(__file__).resolve()), *argv],
            cwd=self.scratch,
            text=True,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"worker {argv} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def start_server(self) -> None:
        self.server = self.spawn(self.ours_python, "--serve", str(self.scratch))
        assert self.server.stdout is not None
        self.ports = json.loads(self.server.stdout.readline())
        self.port = self.ports["compat50"]
        self.origin = f"http://127.0.0.1:{self.port}"

    def origin_of(self, variant: str) -> str:
        return f"http://127.0.0.1:{self.ports[variant]}"

    def stop_server(self) -> None:
        if self.server is not None:
            assert self.server.stdin is not None
            self.server.stdin.close()
            self.server.wait(timeout=10)

    def _server_call(self, method: str, path: str, port: Optional[int] = None) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def token_requests(self) -> int:
        return int(self._server_call("GET", "/__stats")["token_requests"])

    def reset_token_count(self) -> None:
        self._server_call("POST", "/__reset")

    def pythons(self, section: str = "") -> dict[str, Path]:
        found = {"floor": self.ours_python, "ours": self.ours_python}
        if section == "calls":
            found["typed"] = self.ours_python
        if self.official_python is not None:
            found["official"] = self.official_python
        return found

    # sections
    def bench_imports(self) -> None:
        code = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
        cases = {
            "floor": (self.ours_python, IMPORT_FLOOR),
            "ours_package": (self.ours_python, IMPORT_PACKAGE),
            "ours_client": (self.ours_python, IMPORT_CLIENT),
            "ours_users_api": (self.ours_python, f"{IMPORT_CLIENT}; {IMPORT_USERS_API}"),
        }
        if self.official_python is not None:
            cases["official_package"] = (self.official_python, IMPORT_PACKAGE)
            cases["official_client"] = (self.official_python, IMPORT_CLIENT)
        samples: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(self.args.import_runs):
            for name, (python, stmt) in cases.items():
                proc = subprocess.run(
                    [str(python), "-I", "-c", code.format(stmt=stmt)],
                    cwd=self.scratch,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                samples[name].append(float(proc.stdout.strip().splitlines()[-1]))
        self.results["import"] = {
            "samples_s": samples,
            "median_s": {k: statistics.median(v) for k, v in samples.items()},
        }

    def bench_calls(self) -> None:
        self.results["get_users"] = self._call_set(self.pythons("calls"), "compat50", PAGE_SIZE)

    def bench_call_shapes(self) -> None:
        """The issue-9 targets: a 20-user page without date-times against the bare floor,
        and Kinde's +11 page against the typed floor."""
        pythons = self.pythons("calls")
        plain = {k: v for k, v in pythons.items() if k != "typed"}
        self.results["get_users_plain20"] = self._call_set(plain, "plain20", 20)
        typed = {k: pythons[k] for k in ("floor", "typed", "ours")}
        self.results["get_users_kinde50"] = self._call_set(typed, "kinde50", PAGE_SIZE)

    def bench_iterate(self) -> None:
        runs = self.args.iterate_runs
        samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
        origin = self.origin_of("iterate")
        for total in ITER_TOTALS:
            self._server_call("POST", f"/__iterate_total/{total}", port=self.ports["iterate"])
            per = samples.setdefault(str(total), {"ours": [], "typed": []})
            for _ in range(runs):
                for name in ("typed", "ours"):
                    per[name].append(
                        self.run_worker(
                            self.ours_python, "--worker", "iterate", name, origin, str(total)
                        )
                    )
        self.results["iterate"] = {
            "page_size": ITER_PAGE,
            "runs": samples,
            "median_s": _medians(samples, "seconds"),
            "median_cpu_s": _medians(samples, "cpu_seconds"),
            "median_peak_kib": _medians(samples, "peak_after_kib"),
        }

    def _call_set(self, pythons: dict[str, Path], variant: str, page_size: int) -> dict[str, Any]:
        origin = self.origin_of(variant)
        workers: dict[str, subprocess.Popen[str]] = {}
        try:
            for name, python in pythons.items():
                proc = self.spawn(python, "--worker", "calls", name, origin, str(page_size))
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"the {name} get_users worker failed to start")
                workers[name] = proc
            samples: dict[str, list[float]] = {name: [] for name in workers}
            n = self.args.calls
            for _ in range(self.args.repeats):
                for name, proc in workers.items():
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write(f"{n}\n")
                    proc.stdin.flush()
                    samples[name].append(float(proc.stdout.readline()) / n)
        finally:
            for proc in workers.values():
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(timeout=30)
        return {
            "page": VARIANTS[variant],
            "calls_per_sample": self.args.calls,
            "samples_s_per_call": samples,
            "median_s_per_call": {k: statistics.median(v) for k, v in samples.items()},
            # Per round ratios: both sides of a round ran back to back, so a busy moment of
            # the machine hits them alike; the median of these is the steadier ratio.
            "median_round_ratio": {
                f"ours/{k}": statistics.median(o / s for o, s in zip(samples["ours"], v))
                for k, v in samples.items()
                if k != "ours"
            },
        }

    def bench_verify(self) -> None:
        samples = self.run_worker(
            self.ours_python,
            "--worker",
            "verify",
            self.origin,
            str(self.scratch),
            str(self.args.tokens),
            str(self.args.repeats),
        )
        self.results["verify"] = {
            "tokens_per_sample": self.args.tokens,
            "samples_s_per_token": samples,
            "median_s_per_token": {k: statistics.median(v) for k, v in samples.items()},
        }

    def bench_threads(self) -> None:
        out: dict[str, Any] = {}
        for name in ("ours", "official"):
            python = self.pythons().get(name)
            if python is None:
                continue
            self.reset_token_count()
            report = self.run_worker(python, "--worker", "threads", name, self.origin)
            report["token_requests"] = self.token_requests()
            out[name] = report
        self.results["m2m_threads"] = out

    def bench_memory(self) -> None:
        out: dict[str, Any] = {}
        for name, python in self.pythons().items():
            runs = [
                self.run_worker(
                    python, "--worker", "memory", name, self.origin, str(self.args.memory_calls)
                )
                for _ in range(3)
            ]
            out[name] = {
                key: statistics.median(run[key] for run in runs)
                for key in ("after_import_kib", "after_calls_kib")
            }
        self.results["memory"] = out

    def run(self) -> dict[str, Any]:
        if not self.args.no_official:
            self.official_python, why = ensure_official_venv()
            self.official_note = why
        self.results["machine"] = machine()
        self.start_server()
        try:
            steps = [
                ("cold imports", self.bench_imports),
                ("get_users", self.bench_calls),
                ("get_users page shapes", self.bench_call_shapes),
                ("iterating 20k and 100k users", self.bench_iterate),
                ("token verification", self.bench_verify),
                ("M2M token cache", self.bench_threads),
                ("peak memory", self.bench_memory),
                ("async management", lambda: __import__("bench_async").run_with(self)),
            ]
            for label, step in steps:
                print(f"bench: {label} ...", file=sys.stderr, flush=True)
                step()
        finally:
            self.stop_server()
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.results["targets"] = evaluate(self.results)
        self.results["machine"]["load_average_end"] = _load()
        self.results["official"] = {
            "version": OFFICIAL_VERSION,
            "included": self.official_python is not None,
            "note": self.official_note,
        }
        self.results["settings"] = {
            "import_runs": self.args.import_runs,
            "repeats": self.args.repeats,
            "calls": self.args.calls,
            "tokens": self.args.tokens,
            "memory_calls": self.args.memory_calls,
            "iterate_runs": self.args.iterate_runs,
            "page_size": PAGE_SIZE,
        }
        return self.results


def _medians(
    samples: dict[str, dict[str, list[dict[str, Any]]]], key: str
) -> dict[str, dict[str, float]]:
    """size -> client -> median of ``key`` over the runs."""
    return {
        size: {name: statistics.median(run[key] for run in runs) for name, runs in per.items()}
        for size, per in samples.items()
    }


def evaluate(results: dict[str, Any]) -> dict[str, Any]:
    imp = results["import"]["median_s"]
    calls = results["get_users"]["median_s_per_call"]
    ver = results["verify"]["median_s_per_token"]
    ours_threads = results["m2m_threads"]["ours"]
    iterate = results["iterate"]
    big, small = (str(n) for n in (ITER_TOTALS[-1], ITER_TOTALS[0]))
    checks = {
        "import_client": imp["ours_client"] / imp["floor"],
        "get_users": calls["ours"] / calls["floor"],
        "get_users_plain20": results["get_users_plain20"]["median_round_ratio"]["ours/floor"],
        "get_users_kinde50": results["get_users_kinde50"]["median_round_ratio"]["ours/typed"],
        # Client CPU time: both sides make the same requests of the same server, and a
        # 100k walk takes seconds, long enough for a busy machine to skew wall time.
        "iterate_100k": (
            iterate["median_cpu_s"][big]["ours"] / iterate["median_cpu_s"][big]["typed"]
        ),
        "iterate_memory": (
            iterate["median_peak_kib"][big]["ours"] / iterate["median_peak_kib"][small]["ours"]
        ),
        "verify_first": ver["ours_first"] / ver["floor_first"],
        "verify_repeat": ver["ours_repeat"] / ver["floor_repeat"],
    }
    out: dict[str, Any] = {
        name: {"ratio": ratio, "target": TARGETS[name], "met": ratio <= TARGETS[name]}
        for name, ratio in checks.items()
    }
    requests = ours_threads["token_requests"]
    out["m2m_token_requests"] = {
        "value": requests,
        "target": 1,
        "met": requests == 1 and ours_threads["error_count"] == 0,
    }
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": _load(),
    }


def _load() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def markdown(results: dict[str, Any]) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f} ms"

    def us(seconds: float) -> str:
        return f"{seconds * 1e6:.0f} µs" if seconds >= 1e-5 else f"{seconds * 1e6:.1f} µs"

    def mib(kib: float) -> str:
        return f"{kib / 1024:.0f} MiB"

    def verdict(name: str) -> str:
        t = results["targets"][name]
        return "**met**" if t["met"] else "**missed**"

    imp = results["import"]["median_s"]
    calls = results["get_users"]["median_s_per_call"]
    ver = results["verify"]["median_s_per_token"]
    mem = results["memory"]
    thr = results["m2m_threads"]
    plain20 = results["get_users_plain20"]["median_s_per_call"]
    kinde50 = results["get_users_kinde50"]["median_s_per_call"]
    it_s = results["iterate"]["median_s"]
    it_cpu = results["iterate"]["median_cpu_s"]
    it_m = results["iterate"]["median_peak_kib"]
    big, small = (str(n) for n in (ITER_TOTALS[-1], ITER_TOTALS[0]))
    official = results["official"]["included"]
    tgt = results["targets"]

    def off(value: str) -> str:
        return value if official else "n/a"

    rows = [
        (
            f"cold import `{IMPORT_CLIENT}`",
            ms(imp["ours_client"]),
            f"{ms(imp['floor'])} (`{IMPORT_FLOOR}`)",
            f"{tgt['import_client']['ratio']:.2f}x",
            off(ms(imp.get("official_client", 0))),
            "<= 1.5x",
            verdict("import_client"),
        ),
        (
            f"cold import `{IMPORT_PACKAGE}`",
            ms(imp["ours_package"]),
            ms(imp["floor"]),
            f"{imp['ours_package'] / imp['floor']:.2f}x",
            off(ms(imp.get("official_package", 0))),
            "",
            "",
        ),
        (
            "cold import, client + users API module (first `get_users`)",
            ms(imp["ours_users_api"]),
            ms(imp["floor"]),
            f"{imp['ours_users_api'] / imp['floor']:.2f}x",
            off(ms(imp.get("official_client", 0))),
            "",
            "",
        ),
        (
            f"`get_users` ({PAGE_SIZE} users), per call, loopback keep-alive",
            us(calls["ours"]),
            f"{us(calls['floor'])} (urllib3 + `json.loads`)",
            f"{tgt['get_users']['ratio']:.2f}x",
            off(us(calls.get("official", 0))),
            "<= 1.25x",
            verdict("get_users"),
        ),
        (
            "`get_users` vs a typed floor: urllib3 + `UsersResponse.model_validate_json`",
            us(calls["ours"]),
            us(calls["typed"]),
            f"{calls['ours'] / calls['typed']:.2f}x",
            "",
            "",
            "",
        ),
        (
            "`get_users` (20 users, no date-time fields), per call",
            us(plain20["ours"]),
            f"{us(plain20['floor'])} (urllib3 + `json.loads`)",
            f"{tgt['get_users_plain20']['ratio']:.2f}x",
            off(us(plain20.get("official", 0))),
            "<= 1.20x",
            verdict("get_users_plain20"),
        ),
        (
            "`get_users` (50 users, Kinde's `+11` offsets) vs the typed floor",
            us(kinde50["ours"]),
            f"{us(kinde50['typed'])} (urllib3 + `UsersResponse.model_validate_json`)",
            f"{tgt['get_users_kinde50']['ratio']:.2f}x",
            "n/a",
            "<= 1.05x",
            verdict("get_users_kinde50"),
        ),
        (
            f"`iter_users` over {ITER_TOTALS[-1]:,} users (pages of {ITER_PAGE}), client CPU",
            ms(it_cpu[big]["ours"]),
            f"{ms(it_cpu[big]['typed'])} (urllib3 + `model_validate_json` per page)",
            f"{tgt['iterate_100k']['ratio']:.2f}x",
            "n/a",
            "<= 1.10x",
            verdict("iterate_100k"),
        ),
        (
            f"`iter_users` over {ITER_TOTALS[-1]:,} users, wall time",
            ms(it_s[big]["ours"]),
            ms(it_s[big]["typed"]),
            f"{it_s[big]['ours'] / it_s[big]['typed']:.2f}x",
            "n/a",
            "",
            "",
        ),
        (
            f"`iter_users` over {ITER_TOTALS[0]:,} users, client CPU",
            ms(it_cpu[small]["ours"]),
            ms(it_cpu[small]["typed"]),
            f"{it_cpu[small]['ours'] / it_cpu[small]['typed']:.2f}x",
            "n/a",
            "",
            "",
        ),
        (
            f"peak RSS iterating {ITER_TOTALS[-1]:,} vs {ITER_TOTALS[0]:,} users (flat memory)",
            f"{mib(it_m[big]['ours'])} vs {mib(it_m[small]['ours'])}",
            f"{mib(it_m[big]['typed'])} vs {mib(it_m[small]['typed'])}",
            f"{tgt['iterate_memory']['ratio']:.2f}x",
            "n/a",
            "<= 1.10x",
            verdict("iterate_memory"),
        ),
        (
            "verify, first-seen token (RS256, JWKS cached)",
            us(ver["ours_first"]),
            f"{us(ver['floor_first'])} (`jwt.decode`, preloaded key)",
            f"{tgt['verify_first']['ratio']:.2f}x",
            "n/a",
            "<= 1.15x",
            verdict("verify_first"),
        ),
        (
            "verify, repeated token",
            us(ver["ours_repeat"]),
            us(ver["floor_repeat"]),
            f"{tgt['verify_repeat']['ratio']:.2f}x",
            "n/a",
            "<= 0.25x",
            verdict("verify_repeat"),
        ),
        (
            f"M2M cache: {THREADS} threads, cold cache: token requests",
            str(thr["ours"]["token_requests"]),
            "",
            "",
            off(str(thr.get("official", {}).get("token_requests", "n/a"))),
            "1",
            verdict("m2m_token_requests"),
        ),
        (
            "peak RSS after import",
            mib(mem["ours"]["after_import_kib"]),
            mib(mem["floor"]["after_import_kib"]),
            f"{mem['ours']['after_import_kib'] / mem['floor']['after_import_kib']:.2f}x",
            off(mib(mem.get("official", {}).get("after_import_kib", 0))),
            "",
            "",
        ),
        (
            f"peak RSS after {results['settings']['memory_calls']:,} `get_users` calls",
            mib(mem["ours"]["after_calls_kib"]),
            mib(mem["floor"]["after_calls_kib"]),
            f"{mem['ours']['after_calls_kib'] / mem['floor']['after_calls_kib']:.2f}x",
            off(mib(mem.get("official", {}).get("after_calls_kib", 0))),
            "",
            "",
        ),
    ]
    head = (
        "| benchmark | kinde_sdk | floor | ratio | official "
        f"{results['official']['version']} | target | result |"
    )
    lines = [head, "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    m = results["machine"]
    s = results["settings"]
    lines.append("")
    lines.append(
        f"{m['date']}; {m['cpus']} CPUs ({m['cpu']}); Python {m['python']}; load average "
        f"{m['load_average']} -> {m['load_average_end']}; medians of {s['import_runs']} "
        f"fresh interpreters per import, {s['repeats']} x {s['calls']} calls, "
        f"{s['repeats']} x {s['tokens']} tokens, 3 processes per memory figure, "
        f"{s['iterate_runs']} fresh processes per iteration size; call ratios are medians of "
        "per-round ratios (each round runs the compared clients back to back)."
    )
    if not official:
        lines.append(f"Official SDK not measured: {results['official']['note']}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--no-official", action="store_true", help="skip the official SDK")
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--import-runs", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200, help="get_users calls per sample")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per sample")
    parser.add_argument("--memory-calls", type=int, default=1000)
    parser.add_argument("--iterate-runs", type=int, default=5, help="fresh processes per size")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.worker:
        kind, *rest = args.worker
        if kind == "calls":
            worker_calls(rest[0], rest[1], int(rest[2]) if len(rest) > 2 else PAGE_SIZE)
        elif kind == "iterate":
            worker_iterate(rest[0], rest[1], int(rest[2]))
        elif kind == "memory":
            worker_memory(rest[0], rest[1], int(rest[2]))
        elif kind == "threads":
            worker_threads(rest[0], rest[1])
        elif kind == "verify":
            worker_verify(rest[0], Path(rest[1]), int(rest[2]), int(rest[3]))
        else:
            raise SystemExit(f"unknown worker {kind!r}")
        return 0
    if args.quick:
        args.import_runs, args.repeats, args.calls, args.tokens = 3, 3, 50, 50
        args.memory_calls = min(args.memory_calls, 200)
        args.iterate_runs = 1
    results = Bench(args).run()
    table = markdown(results)
    results["markdown"] = table
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table)
    print(f"\nJSON: {args.json}", file=sys.stderr)
    missed = [name for name, t in results["targets"].items() if not t["met"]]
    if missed:
        print(f"targets missed: {', '.join(missed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
