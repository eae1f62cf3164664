"""The FastAPI integration against node-oidc-provider, through Starlette's test client:
login, /user, protected pages, logout, callback errors, open redirects, two users with
interleaved concurrent requests, and bearer-token APIs."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

fastapi = pytest.importorskip("fastapi")  # the [fastapi] extra; part of the dev extra

from fastapi import Depends, FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from kinde_sdk.auth import OAuth  # noqa: E402
from kinde_sdk.errors import KindeConfigurationError  # noqa: E402
from kinde_sdk.frameworks.fastapi import (  # noqa: E402
    BearerAuth,
    BearerAuthMiddleware,
    RequireAuth,
    require_user,
)
from tests.integration._frameworks import APP_ORIGIN, bearer_cases, oauth_kwargs  # noqa: E402
from tests.servers.oidc_provider import DevLoginDriver, OIDCProvider  # noqa: E402


def build_app(provider: OIDCProvider, **options: Any) -> tuple[FastAPI, OAuth]:
    app = FastAPI()
    kinde_oauth = OAuth(framework="fastapi", app=app, **oauth_kwargs(provider, **options))
    bearer = BearerAuth(domain=provider.url, audience=provider.api_audience)

    @app.get("/")
    async def home() -> dict[str, Any]:
        if kinde_oauth.is_authenticated():
            return {"user": kinde_oauth.get_user_info()}
        return {"user": None}

    @app.get("/protected")
    async def protected(user: dict[str, Any] = Depends(require_user)) -> dict[str, Any]:
        return {"email": user["email"], "roles": kinde_oauth.get_roles()}

    @app.get("/admin")
    async def admin(
        user: dict[str, Any] = Depends(RequireAuth(roles=["admin"], permissions=["read:users"])),
    ) -> dict[str, Any]:
        return {"admin": user["email"]}

    @app.get("/billing")
    async def billing(
        user: dict[str, Any] = Depends(RequireAuth(permissions=["manage:billing"])),
    ) -> dict[str, Any]:
        return {"billing": user["email"]}

    @app.get("/slow-whoami")
    async def slow_whoami() -> dict[str, Any]:
        # Reads the session before and after yielding to the event loop: another
        # request's session must never leak in between.
        first = kinde_oauth.get_user_info()
        await asyncio.sleep(random.uniform(0, 0.01))
        second = kinde_oauth.get_claim("sub", token="id_token")
        await asyncio.sleep(random.uniform(0, 0.01))
        return {"first": first and first["sub"], "second": second}

    write_users = bearer.require(permissions=["write:users"], roles=["admin"])

    @app.get("/api/users")
    async def api_users(claims: dict[str, Any] = Depends(write_users)) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    return app, kinde_oauth


@pytest.fixture
def app_and_oauth(oidc_provider: OIDCProvider) -> tuple[FastAPI, OAuth]:
    return build_app(oidc_provider)


@pytest.fixture
def client(app_and_oauth: tuple[FastAPI, OAuth]) -> Iterator[TestClient]:
    with TestClient(app_and_oauth[0], base_url=APP_ORIGIN) as c:
        yield c


def sign_in(client: TestClient, provider: OIDCProvider, login: str, next_: str = "") -> Any:
    params = {"next": next_} if next_ else {}
    start = client.get("/login", params=params, follow_redirects=False)
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(provider.url)
    cookie = start.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    query = DevLoginDriver(provider.redirect_uri).login(start.headers["location"], login=login)
    assert "code" in query, query
    done = client.get("/callback", params=query, follow_redirects=False)
    assert done.status_code == 302, done.text
    return done


def test_login_user_protected_logout(client: TestClient, oidc_provider: OIDCProvider) -> None:
    assert client.get("/").json() == {"user": None}
    before = client.cookies.get("kinde_session")
    done = sign_in(client, oidc_provider, "alice", next_="/protected?x=1")
    assert done.headers["location"] == "/protected?x=1"
    after = client.cookies.get("kinde_session")
    assert after and after != before  # a new session id at login
    assert len(done.headers["set-cookie"]) < 200  # only id + signature, never tokens

    user = client.get("/user").json()
    assert user["email"] == "alice@example.test" and user["sub"] == "alice"
    assert client.get("/").json()["user"]["sub"] == "alice"
    page = client.get("/protected")
    assert page.status_code == 200
    assert page.json()["email"] == "alice@example.test"
    assert page.json()["roles"][0]["key"] == "admin"
    assert client.get("/admin").json() == {"admin": "alice@example.test"}
    forbidden = client.get("/billing", headers={"Accept": "application/json"})
    assert forbidden.status_code == 403

    out = client.post("/logout", headers={"Origin": APP_ORIGIN}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith(oidc_provider.url + "/logout")
    assert "Max-Age=0" in out.headers["set-cookie"]
    refused = client.get("/protected", follow_redirects=False)
    assert refused.status_code == 302
    assert refused.headers["location"] == "/login?next=%2Fprotected"
    api = client.get("/protected", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert client.get("/user", headers={"Accept": "application/json"}).status_code == 401
    # The old cookie, replayed, is worth nothing either: the session was deleted.
    client.cookies.set("kinde_session", after)
    assert client.get("/user", headers={"Accept": "application/json"}).status_code == 401


def test_unauthenticated_browser_and_api(client: TestClient) -> None:
    page = client.get("/protected?a=b", follow_redirects=False)
    assert page.status_code == 302
    assert page.headers["location"] == "/login?next=%2Fprotected%3Fa%3Db"
    assert "set-cookie" not in page.headers  # no session is created for nothing
    xhr = client.get("/protected", headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 401
    assert xhr.headers["www-authenticate"].startswith("Bearer")


def test_forged_cookie_is_ignored(client: TestClient, oidc_provider: OIDCProvider) -> None:
    sign_in(client, oidc_provider, "mallory")
    value = client.cookies.get("kinde_session")
    assert value is not None
    with TestClient(client.app, base_url=APP_ORIGIN) as other:
        # Other cookies of the app, not RFC-clean, do not hide the session cookie.
        messy = f'prefs={{"a": 1}}; x=a b; kinde_session={value}; y="q"'
        assert other.get("/user", headers={"Cookie": messy}).json()["sub"] == "mallory"
    session_id, _, sig = value.partition(".")
    forged = f"{session_id}.{sig[:-2]}AA"
    client.cookies.clear()
    client.cookies.set("kinde_session", forged)
    assert client.get("/user", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "http:/evil.com",
        "/\r\nLocation: https://evil.com",
        "javascript:alert(1)",
    ],
)
def test_open_redirect_refused(
    client: TestClient, oidc_provider: OIDCProvider, target: str
) -> None:
    done = sign_in(client, oidc_provider, "alice", next_=target)
    assert done.headers["location"] == "/"


def test_callback_errors_are_clear_pages(client: TestClient, oidc_provider: OIDCProvider) -> None:
    # Denied consent: the provider redirects back with error=access_denied.
    start = client.get("/login", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    denied = client.get(
        "/callback",
        params={"error": "access_denied", "error_description": "denied", "state": state},
    )
    assert denied.status_code == 400
    assert "text/html" in denied.headers["content-type"]
    assert "cancelled or access was denied" in denied.text
    assert "Traceback" not in denied.text

    bad_state = client.get("/callback", params={"code": "abc", "state": "not-a-state"})
    assert bad_state.status_code == 400 and "invalid or has expired" in bad_state.text
    no_state = client.get("/callback", params={"code": "abc"})
    assert no_state.status_code == 400

    start = client.get("/login", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    bad_code = client.get("/callback", params={"code": "forged-code", "state": state})
    assert bad_code.status_code == 400
    assert "identity provider returned an error (invalid_grant)" in bad_code.text

    # A state issued to another browser session is refused in this one.
    other = TestClient(client.app, base_url=APP_ORIGIN)
    start = other.get("/login", follow_redirects=False)
    query = DevLoginDriver(oidc_provider.redirect_uri).login(start.headers["location"])
    stolen = client.get("/callback", params=query)
    assert stolen.status_code == 400
    assert client.get("/user", headers={"Accept": "application/json"}).status_code == 401


def test_two_users_interleaved(
    app_and_oauth: tuple[FastAPI, OAuth], oidc_provider: OIDCProvider
) -> None:
    app = app_and_oauth[0]
    cookies = {}
    for login in ("alice", "bob"):
        with TestClient(app, base_url=APP_ORIGIN) as c:
            sign_in(c, oidc_provider, login)
            cookies[login] = c.cookies.get("kinde_session")

    async def run() -> list[tuple[str, dict[str, Any]]]:
        transport = httpx.ASGITransport(app=app)
        clients = {
            login: httpx.AsyncClient(
                transport=transport, base_url=APP_ORIGIN, cookies={"kinde_session": value}
            )
            for login, value in cookies.items()
        }
        order = ["alice", "bob"] * 25
        random.shuffle(order)

        async def one(login: str) -> tuple[str, dict[str, Any]]:
            path = random.choice(["/slow-whoami", "/user", "/protected"])
            r = await clients[login].get(path)
            assert r.status_code == 200, r.text
            return login, {"path": path, **r.json()}

        try:
            return await asyncio.gather(*(one(login) for login in order))
        finally:
            for c in clients.values():
                await c.aclose()

    results = asyncio.run(run())
    assert len(results) == 50
    for login, body in results:
        if body["path"] == "/slow-whoami":
            assert body["first"] == body["second"] == login
        elif body["path"] == "/user":
            assert body["sub"] == login
        else:
            assert body["email"] == f"{login}@example.test"


def test_session_helpers_outside_a_request_refuse(app_and_oauth: tuple[FastAPI, OAuth]) -> None:
    with pytest.raises(KindeConfigurationError, match="no browser session"):
        app_and_oauth[1].is_authenticated()


def test_protected_paths_middleware(oidc_provider: OIDCProvider) -> None:
    app, _ = build_app(oidc_provider, protected_paths=["/"], excluded_paths=["/health", "/static/"])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/static/app.js")
    async def asset() -> dict[str, str]:
        return {"js": "yes"}

    with TestClient(app, base_url=APP_ORIGIN) as c:
        assert c.get("/health").json() == {"ok": "yes"}
        assert c.get("/static/app.js").json() == {"js": "yes"}
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 302 and r.headers["location"] == "/login?next=%2F"
        assert c.get("/", headers={"Accept": "application/json"}).status_code == 401
        assert c.get("/healthz", headers={"Accept": "application/json"}).status_code == 401
        sign_in(c, oidc_provider, "carol")
        assert c.get("/").json()["user"]["sub"] == "carol"


def test_secure_cookie_outside_loopback(oidc_provider: OIDCProvider) -> None:
    app, _ = build_app(oidc_provider)
    with TestClient(app, base_url="https://app.example.com") as c:
        r = c.get("/login", follow_redirects=False)
        assert "Secure" in r.headers["set-cookie"]
    with TestClient(app, base_url="http://app.example.com") as c:
        r = c.get("/login", follow_redirects=False)
        # Plain http and an http redirect URI: a Secure cookie would never come back.
        # (Behind a TLS proxy: see test_frameworks_cookies.py.)
        assert "Secure" not in r.headers["set-cookie"]


def test_custom_paths_and_settings(oidc_provider: OIDCProvider) -> None:
    app, _ = build_app(oidc_provider, login_path="/auth/in", logout_path="/auth/out")
    with TestClient(app, base_url=APP_ORIGIN) as c:
        assert c.get("/auth/in", follow_redirects=False).status_code == 302
        assert c.get("/login", follow_redirects=False).status_code == 404
        r = c.get("/protected", follow_redirects=False)
        assert r.headers["location"].startswith("/auth/in?next=")
    with pytest.raises(KindeConfigurationError, match="post_login_redirect"):
        build_app(oidc_provider, post_login_redirect="https://evil.com/")
    with pytest.raises(KindeConfigurationError, match="unknown framework option"):
        build_app(oidc_provider, not_an_option=1)


def test_session_secret_required(oidc_provider: OIDCProvider, monkeypatch: Any) -> None:
    monkeypatch.delenv("KINDE_SESSION_SECRET", raising=False)
    kwargs = oauth_kwargs(oidc_provider)
    kwargs["framework_options"] = {}
    with pytest.raises(KindeConfigurationError, match="signing key"):
        OAuth(framework="fastapi", app=FastAPI(), **kwargs)
    with pytest.raises(KindeConfigurationError, match="unknown framework"):
        OAuth(framework="bottle", app=FastAPI(), **oauth_kwargs(oidc_provider))
    with pytest.raises(KindeConfigurationError, match="needs app=FastAPI"):
        OAuth(framework="fastapi", app=object(), **oauth_kwargs(oidc_provider))


@pytest.mark.parametrize(
    "case",
    [
        "valid",
        "expired",
        "wrong_audience",
        "missing_permission",
        "missing_role",
        "garbage_header",
        "basic_scheme",
        "forged_signature",
        "missing",
    ],
)
def test_bearer_api(client: TestClient, oidc_provider: OIDCProvider, case: str) -> None:
    headers, status, error = bearer_cases(oidc_provider)[case]
    r = client.get("/api/users", headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json() == {"sub": "api-user"}
        return
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="kinde"')
    if error:
        assert f'error="{error}"' in challenge
        assert "error_description=" in challenge
    else:
        assert "error=" not in challenge


def test_bearer_async_validator_per_loop_and_aclose(oidc_provider: OIDCProvider) -> None:
    bearer = BearerAuth(domain=oidc_provider.url, audience=oidc_provider.api_audience)
    token = bearer_cases(oidc_provider)["valid"][0]["Authorization"]

    async def once() -> str:
        claims = await bearer.claims(token, ["read:users"], ["admin"])
        await bearer.aclose()
        return str(claims["sub"])

    # Two event loops one after the other: each gets its own validator (and transport).
    assert asyncio.run(once()) == asyncio.run(once()) == "api-user"


def test_bearer_middleware_and_sync_validator(oidc_provider: OIDCProvider) -> None:
    from kinde_sdk.auth import TokenValidator

    app = FastAPI()
    validator = TokenValidator(oidc_provider.url, oidc_provider.api_audience)
    app.add_middleware(
        BearerAuthMiddleware,
        bearer=BearerAuth(validator=validator),
        excluded_paths=["/health"],
        permissions=["read:users"],
    )

    @app.get("/health")
    async def health() -> str:
        return "ok"

    @app.get("/api/me")
    async def me(request: fastapi.Request) -> dict[str, Any]:
        return {"sub": request.state.kinde_claims["sub"]}

    cases = bearer_cases(oidc_provider)
    with TestClient(app, base_url=APP_ORIGIN) as c:
        assert c.get("/health").json() == "ok"
        assert c.get("/api/me", headers=cases["missing_permission"][0]).status_code == 200
        assert c.get("/api/me", headers=cases["valid"][0]).json() == {"sub": "api-user"}
        assert c.get("/api/me").status_code == 401
        assert c.get("/api/me", headers=cases["expired"][0]).status_code == 401
        assert c.get("/api/me", headers=cases["wrong_audience"][0]).status_code == 401


def test_bearer_settings_checked_at_construction() -> None:
    with pytest.raises(KindeConfigurationError):
        BearerAuth(domain="http://not-loopback.example")  # plain http off loopback
    with pytest.raises(KindeConfigurationError, match="exactly one"):
        BearerAuth()
