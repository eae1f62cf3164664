"""A loopback stand-in for a Kinde domain: one origin for the token endpoint and the API.

``POST /oauth2/token`` issues client-credentials tokens for one configured client;
``/api/...`` checks the bearer token and forwards the request to Prism, which serves the
real spec with request validation. Requests Prism finds invalid are recorded with the
reasons from its ``sl-violations`` header, so a test can fail with the reason.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs

import urllib3

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class FrontState:
    client_id: str
    client_secret: str
    upstream: str
    token_lifetime: int = 3600
    token_requests: int = 0
    api_requests: int = 0
    tokens: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _FrontServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] == "/oauth2/token":
            self._token()
        else:
            self._proxy()

    def do_GET(self) -> None:
        self._proxy()

    do_PUT = do_PATCH = do_DELETE = do_GET

    def _token(self) -> None:
        state = self.server.state
        form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
        with state.lock:
            state.token_requests += 1
        if form.get("grant_type") != "client_credentials":
            self._json(400, {"error": "unsupported_grant_type"})
            return
        if form.get("client_id") != state.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), state.client_secret
        ):
            self._json(401, {"error": "invalid_client", "error_description": "bad credentials"})
            return
        token = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[token] = time.monotonic() + state.token_lifetime
        self._json(
            200,
            {
                "access_token": token,
                "expires_in": state.token_lifetime,
                "token_type": "bearer",
                "scope": "",
            },
        )

    def _proxy(self) -> None:
        state = self.server.state
        body = self._body()
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        with state.lock:
            state.api_requests += 1
            expires = state.tokens.get(token)
        if expires is None or expires < time.monotonic():
            self._json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid token"}]})
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        upstream = self.server.pool.request(
            self.command,
            state.upstream + self.path,
            body=body or None,
            headers=headers,
            redirect=False,
            # Prism closes idle keep-alive connections after 5 s; a request racing that
            # close gets a reset. Prism is a stateless mock, so resending is harmless.
            retries=urllib3.Retry(total=2, allowed_methods=None, status=0, redirect=False),
            timeout=urllib3.Timeout(connect=5, read=30),
        )
        violations = _request_violations(upstream.headers.get("sl-violations"))
        if violations:
            with state.lock:
                state.violations.append(f"{self.command} {self.path}: {violations}")
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
        self._send(upstream.status, upstream.data, out)


def _request_violations(header: Optional[str]) -> str:
    """The violations of the request in Prism's ``sl-violations`` header. Those of the
    response are the spec's own examples breaking its schema (``hotjar_site_id``), which
    the SDK's strict response mode reports by itself."""
    if not header:
        return ""
    try:
        found = json.loads(header)
    except ValueError:
        return header
    if not isinstance(found, list):
        return header
    mine = [
        v for v in found if not (isinstance(v, dict) and v.get("location", [""])[0] == "response")
    ]
    return json.dumps(mine) if mine else ""


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 refuses connections under bursts of parallel clients.
    request_queue_size = 128

    def __init__(self, state: FrontState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.pool = urllib3.PoolManager(maxsize=16)


class FrontServer:
    def __init__(self, *, upstream: str, client_id: str, client_secret: str) -> None:
        self.state = FrontState(client_id=client_id, client_secret=client_secret, upstream=upstream)
        self._server = _FrontServer(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FrontServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
