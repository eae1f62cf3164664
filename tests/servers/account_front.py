"""A loopback proxy in front of Prism serving the Account API spec.

Every request goes to Prism, which validates it against the spec (a violation is
recorded with the reason from Prism's ``sl-violations`` header, so a test can fail with
it) and answers with the spec's example. Prism's examples always say ``has_more:
false``; to exercise pagination across several pages the proxy can hold a number of
items per list (``state.items``): it then answers each list page with the slice the
request's ``starting_after``/``page_size`` asks for, built from Prism's example item, and
Kinde's ``metadata``. ``state.prefer_code`` makes Prism answer with another response of
the spec (403, 429), and ``state.retry_after`` adds a ``Retry-After`` header to a 429.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

import urllib3

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
# List path -> the field of `data` holding its items.
LISTS = {
    "/account_api/v1/entitlements": "entitlements",
    "/account_api/v1/feature_flags": "feature_flags",
    "/account_api/v1/permissions": "permissions",
    "/account_api/v1/properties": "properties",
    "/account_api/v1/roles": "roles",
}


@dataclass
class AccountFrontState:
    upstream: str
    items: dict[str, int] = field(default_factory=dict)
    prefer_code: Optional[int] = None
    retry_after: Optional[str] = None
    requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.items.clear()
            self.prefer_code = None
            self.retry_after = None
            self.requests.clear()


def _page(body: dict[str, Any], path: str, query: dict[str, str], total: int) -> dict[str, Any]:
    field_name = LISTS[path]
    data = body.get("data") or {}
    template = (data.get(field_name) or [{}])[0]
    prefix = path.rsplit("/", 1)[-1]
    items = [
        {**template, "id": f"{prefix}_{i:04d}", "key": f"{prefix}_key_{i:04d}"}
        for i in range(total)
    ]
    if field_name == "entitlements":
        items = [{**item, "feature_key": item["key"]} for item in items]
        for item in items:
            del item["key"]
    size = int(query.get("page_size") or 10)
    start = 0
    after = query.get("starting_after")
    if after:
        start = [item["id"] for item in items].index(after) + 1
    page = items[start : start + size]
    has_more = start + size < total
    meta: dict[str, Any] = {"has_more": has_more}
    if has_more:
        meta["next_page_starting_after"] = page[-1]["id"]
    return {**body, "data": {**data, field_name: page}, "metadata": meta}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._proxy()

    do_POST = do_GET

    def _proxy(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body else {}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        with state.lock:
            state.requests.append((self.command, parts.path, query, form))
            prefer, total, retry_after = (
                state.prefer_code,
                state.items.get(parts.path),
                state.retry_after,
            )
        if prefer is not None:
            headers["Prefer"] = f"code={prefer}"
        upstream = self.server.pool.request(
            self.command,
            state.upstream + self.path,
            body=body or None,
            headers=headers,
            redirect=False,
            retries=urllib3.Retry(total=2, allowed_methods=None, status=0, redirect=False),
            timeout=urllib3.Timeout(connect=5, read=30),
        )
        violations = upstream.headers.get("sl-violations")
        if violations:
            with state.lock:
                state.violations.append(f"{self.command} {self.path}: {violations}")
        data = upstream.data
        if total is not None and upstream.status == 200:
            data = json.dumps(_page(json.loads(data), parts.path, query, total)).encode()
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_HEADERS}
        if upstream.status == 429 and retry_after is not None:
            out["Retry-After"] = retry_after
        self.send_response(upstream.status)
        for name, value in out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, state: AccountFrontState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.pool = urllib3.PoolManager(maxsize=16)


class AccountFront:
    def __init__(self, *, upstream: str) -> None:
        self.state = AccountFrontState(upstream=upstream)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AccountFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
