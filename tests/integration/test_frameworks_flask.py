"""The Flask integration against node-oidc-provider, through Flask's test client (and a
threaded werkzeug server for the concurrency test): login, /user, protected pages,
logout, callback errors, open redirects, two users in parallel, bearer-token APIs."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import urllib3

flask = pytest.importorskip("flask")  # the [flask] extra; part of the dev extra

from flask import Flask, g  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from kinde_sdk.auth import OAuth  # noqa: E402
from kinde_sdk.errors import KindeConfigurationError  # noqa: E402
from kinde_sdk.frameworks.flask import BearerAuth, login_required, require_auth  # noqa: E402
from tests.integration._frameworks import bearer_cases, oauth_kwargs  # noqa: E402
from tests.servers._process import free_port  # noqa: E402
from tests.servers.oidc_provider import DevLoginDriver, OIDCProvider  # noqa: E402

BASE = "http://127.0.0.1:8000"


def build_app(provider: OIDCProvider, storage: Any = None, **options: Any) -> tuple[Flask, OAuth]:
    app = Flask(__name__)
    kwargs = oauth_kwargs(provider, **options)
    if storage is not None:
        kwargs["storage"] = storage
    kinde_oauth = OAuth(framework="flask", app=app, **kwargs)
    bearer = BearerAuth(domain=provider.url, audience=provider.api_audience)

    @app.route("/")
    def home() -> Any:
        if kinde_oauth.is_authenticated():
            return {"user": kinde_oauth.get_user_info()}
        return {"user": None}

    @app.route("/protected")
    @login_required
    def protected() -> Any:
        return {"email": g.kinde_user["email"], "roles": kinde_oauth.get_roles()}

    @app.route("/admin")
    @require_auth(roles=["admin"], permissions=["read:users"])
    def admin() -> Any:
        return {"admin": g.kinde_user["email"]}

    @app.route("/billing")
    @require_auth(permissions="manage:billing")
    def billing() -> Any:
        return {"billing": True}

    @app.route("/slow-whoami")
    def slow_whoami() -> Any:
        first = kinde_oauth.get_user_info()
        time.sleep(random.uniform(0, 0.01))
        second = kinde_oauth.get_claim("sub", token="id_token")
        return {"first": first and first["sub"], "second": second}

    @app.route("/api/users")
    @bearer.require(permissions=["write:users"], roles=["admin"])
    def api_users() -> Any:
        return {"sub": g.kinde_claims["sub"]}

    return app, kinde_oauth


@pytest.fixture
def app(oidc_provider: OIDCProvider) -> Flask:
    return build_app(oidc_provider)[0]


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def sign_in(client: FlaskClient, provider: OIDCProvider, login: str, next_: str = "") -> Any:
    url = "/login" + (f"?{urlencode({'next': next_})}" if next_ else "")
    start = client.get(url, base_url=BASE)
    assert start.status_code == 302, start.text
    cookie = start.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    query = DevLoginDriver(provider.redirect_uri).login(start.headers["Location"], login=login)
    assert "code" in query, query
    done = client.get("/callback?" + urlencode(query), base_url=BASE)
    assert done.status_code == 302, done.text
    return done


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("kinde_session", domain="127.0.0.1")
    assert cookie is not None
    return cookie.value


JSON = {"Accept": "application/json"}


def test_login_user_protected_logout(client: FlaskClient, oidc_provider: OIDCProvider) -> None:
    assert client.get("/", base_url=BASE).json == {"user": None}
    done = sign_in(client, oidc_provider, "alice", next_="/protected?x=1")
    assert done.headers["Location"] == "/protected?x=1"
    assert len(done.headers["Set-Cookie"]) < 200
    old = session_cookie(client)

    user = client.get("/user", base_url=BASE).json
    assert user["email"] == "alice@example.test"
    assert client.get("/", base_url=BASE).json["user"]["sub"] == "alice"
    page = client.get("/protected", base_url=BASE)
    assert page.status_code == 200 and page.json["roles"][0]["key"] == "admin"
    assert client.get("/admin", base_url=BASE).json == {"admin": "alice@example.test"}
    assert client.get("/billing", base_url=BASE, headers=JSON).status_code == 403

    out = client.post("/logout", base_url=BASE, headers={"Origin": BASE})
    assert out.status_code == 303
    assert out.headers["Location"].startswith(oidc_provider.url + "/logout")
    assert "Max-Age=0" in out.headers["Set-Cookie"]
    refused = client.get("/protected", base_url=BASE)
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/login?next=%2Fprotected"
    assert client.get("/protected", base_url=BASE, headers=JSON).status_code == 401
    # The old cookie replayed: the session was deleted server-side.
    client.set_cookie("kinde_session", old, domain="127.0.0.1")
    assert client.get("/user", base_url=BASE, headers=JSON).status_code == 401


def test_host_secret_key_is_read_not_written(oidc_provider: OIDCProvider, monkeypatch: Any) -> None:
    monkeypatch.delenv("KINDE_SESSION_SECRET", raising=False)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "host-app-secret-key-0123456789"
    app.config["SESSION_COOKIE_NAME"] = "host_session"
    before = dict(app.config)
    kwargs = oauth_kwargs(oidc_provider)
    kwargs["framework_options"] = {}
    OAuth(framework="flask", app=app, **kwargs)
    assert dict(app.config) == before
    with pytest.raises(KindeConfigurationError, match="signing key"):
        OAuth(framework="flask", app=Flask(__name__), **kwargs)


def test_callback_errors_are_clear_pages(client: FlaskClient, oidc_provider: OIDCProvider) -> None:
    start = client.get("/login", base_url=BASE)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    denied = client.get(
        "/callback?" + urlencode({"error": "access_denied", "state": state}), base_url=BASE
    )
    assert denied.status_code == 400
    assert denied.mimetype == "text/html"
    assert "cancelled or access was denied" in denied.text and "Traceback" not in denied.text
    bad_state = client.get("/callback?code=abc&state=nope", base_url=BASE)
    assert bad_state.status_code == 400 and "invalid or has expired" in bad_state.text
    start = client.get("/login", base_url=BASE)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    bad_code = client.get(f"/callback?code=forged&state={state}", base_url=BASE)
    assert bad_code.status_code == 400 and "invalid_grant" in bad_code.text


@pytest.mark.parametrize(
    "target", ["//evil.com", "https://evil.com", "/\\evil.com", "/\r\nx", "javascript:x"]
)
def test_open_redirect_refused(
    client: FlaskClient, oidc_provider: OIDCProvider, target: str
) -> None:
    assert sign_in(client, oidc_provider, "alice", next_=target).headers["Location"] == "/"


def test_two_users_fifty_parallel_requests(app: Flask, oidc_provider: OIDCProvider) -> None:
    cookies = {}
    for login in ("alice", "bob"):
        with app.test_client() as c:
            sign_in(c, oidc_provider, login)
            cookies[login] = session_cookie(c)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    http = urllib3.PoolManager(maxsize=50)
    try:
        order = ["alice", "bob"] * 25
        random.shuffle(order)
        barrier = threading.Barrier(50)

        def one(login: str) -> tuple[str, str, dict[str, Any]]:
            path = random.choice(["/slow-whoami", "/user", "/protected"])
            barrier.wait()
            r = http.request(
                "GET",
                f"http://127.0.0.1:{port}{path}",
                headers={"Cookie": f"kinde_session={cookies[login]}", **JSON},
            )
            assert r.status == 200, r.data
            return login, path, r.json()

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(one, order))
    finally:
        server.shutdown()
        thread.join()
    assert len(results) == 50
    for login, path, body in results:
        if path == "/slow-whoami":
            assert body["first"] == body["second"] == login
        elif path == "/user":
            assert body["sub"] == login
        else:
            assert body["email"] == f"{login}@example.test"


def test_protected_paths_and_excluded(oidc_provider: OIDCProvider) -> None:
    app, _ = build_app(oidc_provider, protected_paths=["/"], excluded_paths=["/health"])

    @app.route("/health")
    def health() -> Any:
        return "ok"

    with app.test_client() as c:
        assert c.get("/health", base_url=BASE).text == "ok"
        r = c.get("/", base_url=BASE)
        assert r.status_code == 302 and r.headers["Location"] == "/login?next=%2F"
        assert c.get("/", base_url=BASE, headers=JSON).status_code == 401
        sign_in(c, oidc_provider, "carol")
        assert c.get("/", base_url=BASE).json["user"]["sub"] == "carol"


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
def test_bearer_api(client: FlaskClient, oidc_provider: OIDCProvider, case: str) -> None:
    headers, status, error = bearer_cases(oidc_provider)[case]
    r = client.get("/api/users", base_url=BASE, headers=headers)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json == {"sub": "api-user"}
        return
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="kinde"')
    if error:
        assert f'error="{error}"' in challenge
    else:
        assert "error=" not in challenge


def test_bearer_init_app_excluded_paths(oidc_provider: OIDCProvider) -> None:
    app = Flask(__name__)
    BearerAuth(domain=oidc_provider.url, audience=oidc_provider.api_audience).init_app(
        app, excluded_paths=["/health", "/static/"]
    )

    @app.route("/health")
    def health() -> Any:
        return "ok"

    @app.route("/api/me")
    def me() -> Any:
        return {"sub": g.kinde_claims["sub"]}

    cases = bearer_cases(oidc_provider)
    with app.test_client() as c:
        assert c.get("/health").text == "ok"
        assert c.get("/api/me").status_code == 401
        assert c.get("/api/me", headers=cases["valid"][0]).json == {"sub": "api-user"}
        assert c.get("/api/me", headers=cases["expired"][0]).status_code == 401


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_sessions_in_shared_storage(
    oidc_provider: OIDCProvider, backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """Tokens live in the configured backend, namespaced by session id; a second app
    (another process, say) on the same store and secret serves the same session."""
    from kinde_sdk.core.storage import FileStorage, RedisStorage

    def store() -> Any:
        if backend == "file":
            return FileStorage(tmp_path / "kinde.json")
        return RedisStorage(url=request.getfixturevalue("redis_url"))

    apps = []
    for _ in range(2):
        apps.append(build_app(oidc_provider, storage=store())[0])
    with apps[0].test_client() as c:
        sign_in(c, oidc_provider, "dora")
        value = session_cookie(c)
    session_id = value.split(".")[0]
    keys = store().keys()
    assert keys and all(k.startswith(f"device:{session_id}:") for k in keys), keys
    with apps[1].test_client() as other:
        other.set_cookie("kinde_session", value, domain="127.0.0.1")
        assert other.get("/user", base_url=BASE).json["sub"] == "dora"
        other.post("/logout", base_url=BASE, headers={"Sec-Fetch-Site": "same-origin"})
    assert store().keys() == []
