"""A tiny loopback Kinde for tests that need bodies Prism cannot serve (drifted bodies,
real multi-page lists): the token endpoint, and every other request answered by a
function of (method, path, query) -> JSON body."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

Answer = Callable[[str, str, dict[str, list[str]]], Any]


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackKinde
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        url = urlsplit(self.path)
        if url.path == "/oauth2/token":
            body: Any = {"access_token": "t", "token_type": "bearer", "expires_in": 3600}
        else:
            with self.server.lock:
                self.server.requests.append((self.command, url.path, url.query))
            body = self.server.answer(self.command, url.path, parse_qs(url.query))
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class LoopbackKinde(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Optional[Answer] = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer: Answer = answer or (lambda method, path, query: {})
        self.requests: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LoopbackKinde:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
