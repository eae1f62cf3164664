"""A node-oidc-provider (tools/node_modules) on 127.0.0.1 for the OAuth integration tests,
and a driver for its dev login + consent pages over plain HTTP (no browser).

The provider (``oidc_provider.mjs``) issues RS256 tokens from a key generated into a
temporary directory, requires PKCE, rotates refresh tokens and puts Kinde-like claims
(``permissions``, ``org_code``, ``roles``, ``feature_flags``; ``org_codes`` in the ID
token) into its tokens. The dev login accepts any login and password; the login becomes
the ``sub``.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Optional
from urllib.parse import parse_qs, urljoin, urlsplit

import urllib3

from ._process import ROOT, ServerProcess, free_port

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "oidc_provider.mjs"
MODULE = ROOT / "tools" / "node_modules" / "oidc-provider" / "lib" / "index.js"

CLIENT_ID = "kinde-sdk-test"
REDIRECT_URI = "http://127.0.0.1:8000/callback"
LOGOUT_REDIRECT_URI = "http://127.0.0.1:8000/"


class OIDCProvider:
    """``node oidc_provider.mjs`` as a child process on a free port."""

    def __init__(
        self,
        *,
        port: Optional[int] = None,
        kinde_routes: bool = True,
        extra_redirect_uris: Sequence[str] = (),
        extra_logout_redirect_uris: Sequence[str] = (),
    ) -> None:
        if not MODULE.exists():
            raise RuntimeError(f"{MODULE} is missing: run `make install` (npm ci in tools/)")
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node was not found on PATH (needed for oidc-provider)")
        self.port = port or free_port()
        self.workdir = tempfile.mkdtemp(prefix="kinde-oidc-")
        self.client_id = CLIENT_ID
        # A fresh secret per run: nothing may rely on a fixed value.
        self.client_secret = secrets.token_urlsafe(24)
        self.redirect_uri = REDIRECT_URI
        self.logout_redirect_uri = LOGOUT_REDIRECT_URI
        self.process = ServerProcess(
            [node, str(SCRIPT)],
            port=self.port,
            env={
                "PORT": str(self.port),
                "ISSUER": self.url,
                "CLIENT_ID": self.client_id,
                "CLIENT_SECRET": self.client_secret,
                # Extra URIs: example apps served on free ports (tests/e2e).
                "REDIRECT_URI": ",".join([self.redirect_uri, *extra_redirect_uris]),
                "LOGOUT_REDIRECT_URI": ",".join(
                    [self.logout_redirect_uri, *extra_logout_redirect_uris]
                ),
                "JWKS_FILE": str(Path(self.workdir) / "jwks.json"),
                "OIDC_PROVIDER_MODULE": str(MODULE),
                "KINDE_ROUTES": "1" if kinde_routes else "0",
            },
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_audience(self) -> str:
        return f"{self.url}/api"

    def start(self, ready_timeout: float = 60.0) -> OIDCProvider:
        try:
            self.process.start(ready_timeout=ready_timeout)
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def discovery(self) -> dict[str, object]:
        response = urllib3.request("GET", f"{self.url}/.well-known/openid-configuration")
        data: dict[str, object] = json.loads(response.data)
        return data


def start_oidc_provider(attempts: int = 3, **options: Any) -> OIDCProvider:
    """Start on a free port, retrying with a new port if one was taken meanwhile."""
    last: Optional[Exception] = None
    for _ in range(attempts):
        provider = OIDCProvider(**options)
        try:
            return provider.start()
        except RuntimeError as exc:
            last = exc
    assert last is not None
    raise last


class _FormParser(HTMLParser):
    """The first <form>'s action and its hidden/preset inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: Optional[str] = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = values.get("action")
        elif tag == "input" and self._in_form and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


class LoginError(AssertionError):
    pass


class DevLoginDriver:
    """Walks the provider's dev interaction pages like a browser would: one cookie jar,
    redirects followed by hand, forms posted, stopping at the client's redirect URI."""

    def __init__(self, redirect_uri: str = REDIRECT_URI) -> None:
        self.redirect_uri = redirect_uri
        self.http = urllib3.PoolManager(retries=False)
        self.cookies: dict[str, str] = {}

    def _request(
        self, method: str, url: str, fields: Optional[dict[str, str]] = None
    ) -> urllib3.BaseHTTPResponse:
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if fields is not None:
            response = self.http.request(
                method, url, fields=fields, headers=headers, encode_multipart=False, redirect=False
            )
        else:
            response = self.http.request(method, url, headers=headers, redirect=False)
        for value in response.headers.getlist("Set-Cookie"):
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def _follow(
        self, method: str, url: str, fields: Optional[dict[str, str]] = None
    ) -> tuple[str, urllib3.BaseHTTPResponse]:
        """Send, then follow redirects until a page or the client's redirect URI."""
        response = self._request(method, url, fields)
        for _ in range(20):
            if response.status not in (301, 302, 303, 307, 308):
                return url, response
            url = urljoin(url, response.headers["Location"])
            if url.startswith(self.redirect_uri):
                return url, response
            response = self._request("GET", url)
        raise LoginError("too many redirects")

    def _submit(
        self, page_url: str, page: urllib3.BaseHTTPResponse, fields: dict[str, str]
    ) -> tuple[str, urllib3.BaseHTTPResponse]:
        if page.status != 200:
            raise LoginError(
                f"expected an interaction page at {page_url}, got {page.status}: "
                f"{page.data[:500]!r}"
            )
        parser = _FormParser()
        parser.feed(page.data.decode("utf-8", "replace"))
        if parser.action is None:
            raise LoginError(f"no form on {page_url}: {page.data[:500]!r}")
        return self._follow("POST", urljoin(page_url, parser.action), {**parser.fields, **fields})

    def login(
        self, authorization_url: str, *, login: str = "alice", password: str = "pw"
    ) -> dict[str, str]:
        """Run the whole interaction; return the callback's query (``code``, ``state``,
        ``iss``, or ``error``...)."""
        url, response = self._follow("GET", authorization_url)
        for _ in range(4):
            if url.startswith(self.redirect_uri):
                query = parse_qs(urlsplit(url).query)
                return {k: v[0] for k, v in query.items()}
            if not re.search(r"/interaction/[^/]+$", urlsplit(url).path):
                raise LoginError(f"unexpected page {url} ({response.status})")
            body = response.data.decode("utf-8", "replace")
            if 'name="login"' in body:
                url, response = self._submit(
                    url, response, {"login": login, "password": password, "prompt": "login"}
                )
            else:
                url, response = self._submit(url, response, {"prompt": "consent"})
        raise LoginError("the interaction did not end at the redirect URI")


def login_and_get_callback(
    authorization_url: str, *, login: str = "alice", redirect_uri: str = REDIRECT_URI
) -> dict[str, str]:
    """One fresh browser-like session through login + consent; the callback's query."""
    return DevLoginDriver(redirect_uri).login(authorization_url, login=login)
