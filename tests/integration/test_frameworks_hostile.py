"""Hostile cookies and bearer tokens against live servers (issue 14, item 5): uvicorn
(FastAPI) and werkzeug (Flask) over raw sockets, so that bytes no HTTP client would
send reach the app; Django through its test client. Every answer is a 200 on a
public page or a 401, never a 500 or a dropped connection, and every header we emit
is ASCII."""

from __future__ import annotations

import base64
import json
import random
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("flask")
pytest.importorskip("uvicorn")

from kinde_sdk.auth import OAuth
from kinde_sdk.frameworks._session import RequestSession
from tests.integration._frameworks import SESSION_SECRET, oauth_kwargs
from tests.servers._process import free_port
from tests.servers.app_threads import serve_fastapi, serve_flask
from tests.servers.oidc_provider import OIDCProvider


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def smiley_kid_token() -> str:
    header = _b64(json.dumps({"alg": "RS256", "kid": "\u263a"}).encode())
    payload = _b64(json.dumps({"sub": "x", "exp": int(time.time()) + 60}).encode())
    return f"{header}.{payload}.{_b64(b'not-a-signature')}"


def signed_cookie() -> str:
    from kinde_sdk.frameworks._session import IntegrationSettings

    settings = IntegrationSettings.build({"session_secret": SESSION_SECRET})
    return settings.sign(RequestSession(None).session_id)


def hostile_cookies() -> list[bytes]:
    good = signed_cookie().encode("ascii")
    rng = random.Random(5)
    cookies = [
        good + b"\xe9",  # the review's value
        good[:-1] + b"\xe9",
        good.replace(b".", b".\xe2\x98\xba", 1),  # UTF-8 of U+263A
        b"\xff" * 100,
        b"x" * 5000,
        b"",
    ]
    for _ in range(20):
        cookies.append(bytes(rng.randrange(0x21, 256) for _ in range(rng.randrange(1, 120))))
    return [c.replace(b";", b"").replace(b"\r", b"").replace(b"\n", b"") for c in cookies]


def raw_request(port: int, path: str, headers: dict[str, bytes]) -> tuple[int, list[bytes]]:
    """Send one request with raw header bytes; the status and the header lines."""
    lines = [f"GET {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{port}".encode()]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines += [b"Connection: close", b"", b""]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\r\n".join(lines))
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data, "the server dropped the connection"
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    status = int(head[0].split()[1])
    return status, head[1:]


def assert_ascii_headers(header_lines: list[bytes]) -> None:
    for line in header_lines:
        assert all(0x20 <= b < 0x7F or b == 0x09 for b in line), line


def build_fastapi(provider: OIDCProvider) -> Any:
    from fastapi import Depends, FastAPI

    from kinde_sdk.frameworks.fastapi import BearerAuth, require_user

    app = FastAPI()
    OAuth(framework="fastapi", app=app, **oauth_kwargs(provider))
    bearer = BearerAuth(domain=provider.url, audience=provider.api_audience)

    @app.get("/public")
    async def public() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/private")
    async def private(user: dict[str, Any] = Depends(require_user)) -> dict[str, Any]:
        return user

    @app.get("/api")
    async def api(claims: dict[str, Any] = Depends(bearer)) -> dict[str, Any]:
        return claims

    return app


def build_flask(provider: OIDCProvider) -> Any:
    from flask import Flask

    from kinde_sdk.frameworks.flask import BearerAuth, login_required

    app = Flask(__name__)
    OAuth(framework="flask", app=app, **oauth_kwargs(provider))
    bearer = BearerAuth(domain=provider.url, audience=provider.api_audience)

    @app.route("/public")
    def public() -> Any:
        return {"ok": "yes"}

    @app.route("/private")
    @login_required
    def private() -> Any:
        return {"private": True}

    @app.route("/api")
    @bearer
    def api() -> Any:
        return {"api": True}

    return app


@pytest.fixture(params=["uvicorn", "werkzeug"])
def live_port(request: pytest.FixtureRequest, oidc_provider: OIDCProvider) -> Iterator[int]:
    port = free_port()
    if request.param == "uvicorn":
        stop = serve_fastapi(build_fastapi(oidc_provider), port, log_level="critical")
    else:
        stop = serve_flask(build_flask(oidc_provider), port)
    yield port
    stop()


def test_hostile_cookie_never_500_live(live_port: int) -> None:
    for cookie in hostile_cookies():
        headers = {"Cookie": b"kinde_session=" + cookie}
        status, lines = raw_request(live_port, "/public", headers)
        assert status == 200, cookie
        assert_ascii_headers(lines)
        status, lines = raw_request(
            live_port, "/private", {**headers, "Accept": b"application/json"}
        )
        assert status == 401, cookie
        assert_ascii_headers(lines)


def test_hostile_bearer_never_500_live(live_port: int) -> None:
    rng = random.Random(7)
    values = [
        b"Bearer " + smiley_kid_token().encode(),
        b"Bearer " + "\u263a.\u263a.\u263a".encode(),
        b"Bearer \xe9\xff",
        b"Bearer " + b"a" * 20_000,
        b"Bearer a.b.c",
        b"Basic \xe9",
    ]
    values += [b"Bearer " + bytes(rng.randrange(0x21, 256) for _ in range(60)) for _ in range(10)]
    for value in values:
        status, lines = raw_request(live_port, "/api", {"Authorization": value})
        assert status == 401, value
        assert_ascii_headers(lines)
        challenge = [line for line in lines if line.lower().startswith(b"www-authenticate")]
        assert challenge and challenge[0].split(b":", 1)[1].strip().startswith(b"Bearer")


def test_hostile_cookie_and_bearer_django(oidc_provider: OIDCProvider) -> None:
    pytest.importorskip("django")
    from tests.integration._frameworks import configure_django

    configure_django()
    from django.http import JsonResponse
    from django.test import Client
    from django.urls import path

    from kinde_sdk.frameworks.django import BearerAuth
    from tests.integration import _django_urls

    oauth = OAuth(framework="django", **oauth_kwargs(oidc_provider))
    _django_urls.urlpatterns[:] = [
        *oauth.integration.urlpatterns,
        path("public", lambda request: JsonResponse({"ok": "yes"})),
    ]
    try:
        client = Client()
        for cookie in hostile_cookies():
            client.cookies["kinde_session"] = cookie.decode("latin-1")
            assert client.get("/public").status_code == 200
            api = client.get("/user", HTTP_ACCEPT="application/json")
            assert api.status_code == 401
    finally:
        _django_urls.urlpatterns.clear()
    bearer = BearerAuth(domain=oidc_provider.url, audience=oidc_provider.api_audience)
    from kinde_sdk.frameworks._session import AuthFailure

    for header in (f"Bearer {smiley_kid_token()}", "Bearer \u263a", "Bearer \xe9"):
        with pytest.raises(AuthFailure) as caught:
            bearer.claims(header)
        assert caught.value.status == 401
        assert caught.value.www_authenticate.isascii()


def test_crafted_jwts_are_401_through_the_validator(oidc_provider: OIDCProvider) -> None:
    """Past the parser: well-formed b64tokens with hostile headers and payloads reach
    the validator and still end as a 401 with an ASCII challenge, never another error."""
    from kinde_sdk.auth import TokenValidator
    from kinde_sdk.frameworks._session import AuthFailure, verify_bearer

    validator = TokenValidator(oidc_provider.url, oidc_provider.api_audience)
    rng = random.Random(11)
    headers = [
        b"[]",
        b"null",
        b'{"alg":"RS256","kid":123}',
        b'{"alg":"none"}',
        b'{"alg":"HS256","kid":"x"}',
        b'{"alg":"RS256","kid":"' + b"k" * 5000 + b'"}',
        b'{"alg":"RS256","kid":"\\u263a"}',
        b'{"alg":["RS256"]}',
        b"\xff\xfe",
        b'{"alg":"RS256","jku":"http://127.0.0.1:1/"}',
    ]
    payloads = [b"{}", b"[]", b"x", b'{"exp":"NaN"}', b'{"exp":1e309}', b'{"aud":{}}']
    tokens = [
        f"{_b64(h)}.{_b64(p)}.{_b64(bytes(rng.randrange(256) for _ in range(64)))}"
        for h in headers
        for p in payloads
    ]
    for _ in range(100):
        parts = rng.choice([1, 2, 3, 3, 4])
        tokens.append(
            ".".join(
                _b64(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))))
                for _ in range(parts)
            )
        )
    for token in tokens:
        with pytest.raises(AuthFailure) as caught:
            verify_bearer(validator, f"Bearer {token}")
        assert caught.value.status == 401, token
        assert caught.value.www_authenticate.isascii()


# -- the routes themselves: login, callback, logout with hostile query, headers and forms --

HOSTILE_QUERY_VALUES = [
    b"%E9",
    b"%FF%FE",
    b"%00",
    b"%E2%98%BA",
    b"a" * 3000,
    b"http://[",
    b"%0d%0aX:1",
]


def raw_exchange(
    port: int, method: str, target: bytes, headers: dict[bytes, bytes], body: bytes = b""
) -> tuple[int, list[bytes]]:
    """One request with raw target, header and body bytes; the status and header lines."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1", f"Host: 127.0.0.1:{port}".encode()]
    lines += [name + b": " + value for name, value in headers.items()]
    if method == "POST":
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines += [b"Connection: close", b"", b""]
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\r\n".join(lines) + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data, "the server dropped the connection"
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return int(head[0].split()[1]), head[1:]


def test_hostile_route_input_never_500_live(live_port: int) -> None:
    """Query strings of the login, register and callback routes, and the logout route's
    Origin, Sec-Fetch-Site, content type and form (with a live session cookie), end as
    a redirect, a page or a 4xx: never a 500 or a header that is not ASCII."""
    _, lines = raw_exchange(live_port, "GET", b"/login", {})
    cookie = next(
        line.split(b":", 1)[1].strip().split(b";")[0]
        for line in lines
        if line.lower().startswith(b"set-cookie:")
    )
    for value in HOSTILE_QUERY_VALUES:
        for target in (
            b"/callback?state=" + value + b"&code=" + value,
            b"/callback?error=" + value + b"&error_description=" + value + b"&state=" + value,
            b"/callback?code=x&state=x&iss=" + value,
            b"/login?next=" + value + b"&org_code=" + value + b"&lang=" + value,
            b"/register?login_hint=" + value + b"&next=/" + value,
            b"/logout?x=" + value,
        ):
            for headers in ({}, {b"Cookie": cookie}):
                status, lines = raw_exchange(live_port, "GET", target, headers)
                assert status < 500, (target, headers)
                assert_ascii_headers(lines)
    raw_value = b"\xe9\xff["
    for headers in (
        {b"Origin": b"http://" + raw_value},
        {b"Origin": raw_value},
        {b"Sec-Fetch-Site": raw_value},
        {b"Content-Type": b"application/x-www-form-urlencoded"},
        {b"Content-Type": b"application/x-www-form-urlencoded; charset=" + raw_value},
        {b"Content-Type": b"multipart/form-data; boundary=" + raw_value},
    ):
        for body in (
            b"kinde_logout_token=%E9%FF",
            b"kinde_logout_token=" + raw_value,
            b"\xff" * 10,
        ):
            status, lines = raw_exchange(
                live_port, "POST", b"/logout", {b"Cookie": cookie, **headers}, body
            )
            assert status < 500, (headers, body)
            assert_ascii_headers(lines)
        status, lines = raw_exchange(live_port, "GET", b"/logout", {b"Cookie": cookie, **headers})
        assert status < 500, headers
        assert_ascii_headers(lines)


def test_hostile_route_input_never_500_django(oidc_provider: OIDCProvider) -> None:
    pytest.importorskip("django")
    from tests.integration._frameworks import configure_django

    configure_django()
    from django.test import Client

    from tests.integration import _django_urls

    oauth = OAuth(framework="django", **oauth_kwargs(oidc_provider))
    _django_urls.urlpatterns[:] = [*oauth.integration.urlpatterns]
    try:
        client = Client(raise_request_exception=False)
        client.get("/login")  # a live session cookie
        for value in ("\xe9", "\x00", "\u263a", "a" * 3000, "http://[", "\r\nX: 1"):
            for route, query in (
                ("/callback", {"state": value, "code": value}),
                ("/callback", {"error": value, "error_description": value, "state": value}),
                ("/callback", {"code": "x", "state": "x", "iss": value}),
                ("/login", {"next": value, "org_code": value}),
                ("/register", {"login_hint": value, "next": "/" + value}),
            ):
                assert client.get(route, query).status_code < 500, (route, query)
            for extra in ({"HTTP_ORIGIN": "http://" + value}, {"HTTP_SEC_FETCH_SITE": value}):
                response = client.post("/logout", {"kinde_logout_token": value}, **extra)
                assert response.status_code < 500, extra
                client.get("/login")  # a new session if that one signed out
        for content_type in (
            "multipart/form-data; boundary=\xe9",
            "multipart/form-data",
            "application/x-www-form-urlencoded; charset=utf-16",
        ):
            response = client.generic(
                "POST", "/logout", data=b"\xff&=" * 100, content_type=content_type
            )
            assert response.status_code < 500, content_type
    finally:
        _django_urls.urlpatterns.clear()
