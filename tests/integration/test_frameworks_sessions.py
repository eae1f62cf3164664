"""Browser sessions in all three frameworks against node-oidc-provider, through each
framework's test client: two tabs of one browser (issue 14 item 6), logout as a
CSRF-checked POST (item 7), the Secure cookie behind a proxy (item 9), bounded and
expiring pending logins (item 10) and session lifetimes on every backend (issue 12),
with a fake clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Callable, Optional

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("flask")
pytest.importorskip("django")

from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import (
    FileStorage,
    MemoryStorage,
    NamespacedStorage,
    RedisStorage,
    StorageBackend,
)
from tests.integration._frameworks import configure_django, oauth_kwargs
from tests.servers.oidc_provider import DevLoginDriver, OIDCProvider

configure_django()

HOST = "127.0.0.1:8000"
ORIGIN = f"http://{HOST}"
KINDS = ("fastapi", "flask", "django")


class Clock:
    """Wall time plus an offset the test moves (ID tokens are checked against it too,
    so it starts at the real time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Resp:
    status: int
    location: str
    set_cookie: str
    text: str


class Browser:
    """One browser (one cookie jar) on one app, whatever the framework."""

    def __init__(self, kind: str, app: Any) -> None:
        self.kind = kind
        if kind == "fastapi":
            from fastapi.testclient import TestClient

            self.client: Any = TestClient(app, base_url=ORIGIN, follow_redirects=False)
        elif kind == "flask":
            self.client = app.test_client()
        else:
            from django.test import Client

            self.client = Client(HTTP_HOST=HOST)

    def request(
        self,
        method: str,
        path: str,
        headers: Optional[dict[str, str]] = None,
        data: Optional[dict[str, str]] = None,
    ) -> Resp:
        headers = headers or {}
        if self.kind == "fastapi":
            r = self.client.request(method, path, headers=headers, data=data)
            cookies = "\n".join(r.headers.get_list("set-cookie"))
            return Resp(r.status_code, r.headers.get("location", ""), cookies, r.text)
        if self.kind == "flask":
            r = self.client.open(path, method=method, headers=headers, data=data, base_url=ORIGIN)
            cookies = "\n".join(r.headers.getlist("Set-Cookie"))
            return Resp(r.status_code, r.headers.get("Location", ""), cookies, r.text)
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        call = self.client.post if method == "POST" else self.client.get
        r = call(path, data or {}, **meta)
        cookies = "\n".join(m.output(header="") for m in r.cookies.values())
        return Resp(r.status_code, r.get("Location", ""), cookies, r.content.decode())

    def get(self, path: str, **headers: str) -> Resp:
        return self.request("GET", path, {k.replace("_", "-"): v for k, v in headers.items()})

    def post(self, path: str, data: Optional[dict[str, str]] = None, **headers: str) -> Resp:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        return self.request("POST", path, hdrs, data)

    def whoami(self) -> Optional[str]:
        r = self.get("/whoami", Accept="application/json")
        assert r.status == 200, r.text
        import json

        return json.loads(r.text)["sub"]


Build = Callable[..., tuple[Callable[[], Browser], OAuth]]


@pytest.fixture
def build(oidc_provider: OIDCProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[Build]:
    """``build(kind, storage=..., clock=..., **framework_options)``: an app with a
    ``/whoami`` route, and a factory of browsers on it."""
    from django.urls import clear_url_caches

    from kinde_sdk.frameworks import django as kinde_django
    from tests.integration._django_urls import urlpatterns

    def make(
        kind: str,
        storage: Optional[StorageBackend] = None,
        clock: Optional[Clock] = None,
        wrap: Optional[Callable[[Any], Any]] = None,
        **options: Any,
    ) -> tuple[Callable[[], Browser], OAuth]:
        kwargs = oauth_kwargs(oidc_provider, **options)
        if storage is not None:
            kwargs["storage"] = NamespacedStorage(storage)
        if clock is not None:
            kwargs["clock"] = clock
        if "redirect_uri" in options:
            kwargs["redirect_uri"] = kwargs["framework_options"].pop("redirect_uri")
        if kind == "fastapi":
            from fastapi import FastAPI

            app: Any = FastAPI()
            oauth = OAuth(framework="fastapi", app=app, **kwargs)

            @app.get("/whoami")
            async def whoami() -> dict[str, Any]:
                info = oauth.get_user_info()  # the session's user, whatever the token's age
                return {"sub": info and info["sub"]}

        elif kind == "flask":
            from flask import Flask

            app = Flask(__name__)
            oauth = OAuth(framework="flask", app=app, **kwargs)

            @app.route("/whoami")
            def whoami_flask() -> Any:
                info = oauth.get_user_info()  # the session's user, whatever the token's age
                return {"sub": info and info["sub"]}

        else:
            from django.http import HttpRequest, JsonResponse
            from django.urls import path

            oauth = OAuth(framework="django", **kwargs)

            def whoami_django(request: HttpRequest) -> JsonResponse:
                info = oauth.get_user_info()  # the session's user, whatever the token's age
                return JsonResponse({"sub": info and info["sub"]})

            urlpatterns[:] = [*oauth.integration.urlpatterns, path("whoami", whoami_django)]
            clear_url_caches()
            app = None
        if wrap is not None:
            app = wrap(app)
        return (lambda: Browser(kind, app)), oauth

    yield make
    urlpatterns.clear()
    clear_url_caches()
    monkeypatch.setattr(kinde_django, "_registered", None)


def start_login(browser: Browser, next_: str = "") -> str:
    r = browser.get("/login" + (f"?next={next_}" if next_ else ""))
    assert r.status == 302, r.text
    return r.location


def finish_login(browser: Browser, provider: OIDCProvider, url: str, who: str) -> Resp:
    query = DevLoginDriver(provider.redirect_uri).login(url, login=who)
    assert "code" in query, query
    from urllib.parse import urlencode

    return browser.get("/callback?" + urlencode(query))


def sign_in(browser: Browser, provider: OIDCProvider, who: str = "alice") -> None:
    done = finish_login(browser, provider, start_login(browser), who)
    assert done.status == 302, done.text
    assert browser.whoami() == who


def session_id(browser: Browser) -> str:
    if browser.kind == "flask":
        value = browser.client.get_cookie("kinde_session", domain="127.0.0.1").value
    elif browser.kind == "django":
        value = browser.client.cookies["kinde_session"].value
    else:
        value = browser.client.cookies.get("kinde_session")
    return str(value).split(".")[0]


# --- issue 14 item 6: two tabs ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_two_tabs_of_one_browser_both_complete(
    kind: str, build: Build, oidc_provider: OIDCProvider
) -> None:
    new_browser, _ = build(kind)
    browser = new_browser()
    tab1 = start_login(browser, "/one")
    tab2 = start_login(browser, "/two")
    done1 = finish_login(browser, oidc_provider, tab1, "alice")
    assert done1.status == 302 and done1.location == "/one"
    done2 = finish_login(browser, oidc_provider, tab2, "alice")
    assert done2.status == 302, done2.text  # was: 400 "unknown state"
    assert done2.location == "/two"
    assert browser.whoami() == "alice"


# --- issue 14 item 7: logout is a CSRF-checked POST ------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_logout_refuses_cross_site_requests(
    kind: str, build: Build, oidc_provider: OIDCProvider
) -> None:
    new_browser, _ = build(kind)
    browser = new_browser()
    sign_in(browser, oidc_provider)

    # A link or a form on another site: refused, still signed in.
    page = browser.get("/logout", Sec_Fetch_Site="cross-site")
    assert page.status == 200 and "kinde_logout_token" in page.text
    assert browser.whoami() == "alice"
    bare = browser.get("/logout")  # no Sec-Fetch-Site (old browser, typed URL): a page
    assert bare.status == 200 and "<form method='post'" in bare.text
    assert browser.whoami() == "alice"
    for headers in (
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "null"},
        {"Origin": "http://["},  # unparsable: refused, not a 500
        {"Origin": "http://127.0.0.1:8000@evil.example"},
        {},
    ):
        refused = browser.request("POST", "/logout", headers)
        assert refused.status == 403, headers
        assert browser.whoami() == "alice"
    forged = browser.post("/logout", {"kinde_logout_token": "x" * 43})
    assert forged.status == 403

    # The confirmation page's button: the token it carries signs out.
    token = page.text.split("value='", 1)[1].split("'", 1)[0]
    out = browser.post("/logout", {"kinde_logout_token": token})
    assert out.status == 303 and out.location.startswith(oidc_provider.url)
    assert "Max-Age=0" in out.set_cookie or "max-age=0" in out.set_cookie.lower()
    assert browser.whoami() is None

    # From the app's own pages: a same-origin form POST, or a same-origin link.
    sign_in(browser, oidc_provider, "bob")
    assert browser.post("/logout", Origin=ORIGIN).status == 303
    assert browser.whoami() is None
    sign_in(browser, oidc_provider, "bob")
    assert browser.post("/logout", Sec_Fetch_Site="same-origin").status == 303
    assert browser.whoami() is None
    sign_in(browser, oidc_provider, "bob")
    link = browser.get("/logout", Sec_Fetch_Site="same-origin")
    assert link.status == 302 and link.location.startswith(oidc_provider.url)
    assert browser.whoami() is None


# --- issue 14 item 9: Secure --------------------------------------------------------------


def _secure(resp: Resp) -> bool:
    return "secure" in [p.strip().lower() for p in resp.set_cookie.split(";")]


@pytest.mark.parametrize("kind", KINDS)
def test_secure_follows_the_redirect_uri_not_the_host(kind: str, build: Build) -> None:
    # nginx's default: plain http to the app, Host 127.0.0.1:8000; the site is https.
    new_browser, _ = build(kind, redirect_uri="https://app.example.com/callback")
    r = new_browser().get("/login")
    assert r.status == 302 and _secure(r)
    new_browser, _ = build(kind)  # http redirect URI, http request: local development
    assert not _secure(new_browser().get("/login"))


def _proxy_fix(app: Any) -> Any:
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1)
    return app


def _uvicorn_proxy_headers(app: Any) -> Any:
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    return ProxyHeadersMiddleware(app, trusted_hosts="*")


@pytest.mark.parametrize("kind", KINDS)
def test_secure_behind_a_trusted_proxy(kind: str, build: Build) -> None:
    """The framework's own trusted-proxy setting (uvicorn's proxy headers, werkzeug's
    ProxyFix, Django's SECURE_PROXY_SSL_HEADER), or ``trust_forwarded_proto``."""
    from django.test import override_settings

    forwarded = {"X-Forwarded-Proto": "https"}
    new_browser, _ = build(kind)
    assert not _secure(new_browser().request("GET", "/login", forwarded))  # not trusted
    new_browser, _ = build(kind, trust_forwarded_proto=True)
    assert _secure(new_browser().request("GET", "/login", forwarded))
    if kind == "django":
        new_browser, _ = build(kind)
        with override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https")):
            assert _secure(new_browser().request("GET", "/login", forwarded))
    else:
        wrap = _uvicorn_proxy_headers if kind == "fastapi" else _proxy_fix
        new_browser, _ = build(kind, wrap=wrap)
        assert _secure(new_browser().request("GET", "/login", forwarded))
        assert not _secure(new_browser().request("GET", "/login"))


# --- issue 14 item 10: pending logins expire and are bounded ---------------------------


def _pending_keys(storage: StorageBackend, sid: str = "") -> list[str]:
    found = storage.keys(f"device:{sid}" if sid else "device:")
    return [k for k in found if k.split(":")[2] == "kinde_oauth_pending"]


@pytest.mark.parametrize("kind", KINDS)
def test_pending_logins_are_bounded_per_browser(
    kind: str, build: Build, oidc_provider: OIDCProvider
) -> None:
    storage = MemoryStorage()
    new_browser, _ = build(kind, storage=storage, max_pending_logins=3)
    browser = new_browser()
    urls = [start_login(browser, f"/t{i}") for i in range(6)]
    sid = session_id(browser)
    assert len(_pending_keys(storage, sid)) == 3
    assert len([k for k in storage.keys("device:") if "kinde_fw_next:" in k]) == 3
    oldest = finish_login(browser, oidc_provider, urls[0], "alice")
    assert oldest.status == 400  # dropped to keep the bound
    newest = finish_login(browser, oidc_provider, urls[-1], "alice")
    assert newest.status == 302 and newest.location == "/t5"


@pytest.mark.parametrize("kind", KINDS)
def test_abandoned_logins_expire(kind: str, build: Build) -> None:
    """Issue 14 item 10: cookie-less ``GET /login?next=<1 KB>`` used to leave two keys
    each, forever. Now everything of such a session expires with the pending TTL."""
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    new_browser, _ = build(kind, storage=storage, clock=clock)
    for _ in range(40):
        start_login(new_browser(), "/" + "x" * 1000)
    assert len(storage.keys("device:")) == 40 * 3  # pending, next, session record
    clock.offset += 601  # the default pending_ttl is 600 s
    assert storage.keys("device:") == []


def test_abandoned_sessions_stay_within_the_memory_bound(build: Build) -> None:
    """The measure of issue 12 through a real app: many abandoned logins, memory storage
    with a bound, the count of keys never passes it."""
    storage = MemoryStorage(max_entries=300)
    new_browser, _ = build("flask", storage=storage)
    browser = new_browser()
    for _ in range(1_000):
        browser.client.delete_cookie("kinde_session")
        start_login(browser, "/")
        assert len(storage._data) <= 300


# --- issue 12: session lifetimes on every backend ---------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_idle_timeout_and_max_age(kind: str, build: Build, oidc_provider: OIDCProvider) -> None:
    clock = Clock()
    storage = MemoryStorage(clock=clock)
    new_browser, _ = build(
        kind, storage=storage, clock=clock, session_idle_timeout=3600, session_max_age=3 * 3600
    )
    browser = new_browser()
    sign_in(browser, oidc_provider)
    for _ in range(2):
        clock.offset += 3000  # active within the idle timeout: still signed in
        assert browser.whoami() == "alice"
    clock.offset += 3601  # idle too long
    assert browser.whoami() is None
    assert storage.keys("device:") == []

    clock.offset = 0  # ID tokens are verified against this clock too
    sign_in(browser, oidc_provider)
    for _ in range(3):
        clock.offset += 3000
        assert browser.whoami() == "alice"
    clock.offset += 1801  # 3 h after sign-in: ends whatever the activity
    assert browser.whoami() is None


@pytest.fixture(params=["memory", "file", "redis"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Any
) -> Iterator[tuple[str, Callable[[Clock], StorageBackend]]]:
    if request.param == "memory":
        yield "memory", lambda clock: MemoryStorage(clock=clock)
    elif request.param == "file":
        yield "file", lambda clock: FileStorage(tmp_path / "s.json", clock=clock)
    else:
        url = request.getfixturevalue("redis_url")
        stores: list[RedisStorage] = []

        def make_redis(clock: Clock) -> StorageBackend:
            stores.append(RedisStorage(url=url, prefix=f"lt{time.time_ns()}:"))
            return stores[-1]

        yield "redis", make_redis
        for s in stores:
            s.delete_prefix("")
            s.close()


def test_lifetimes_on_every_backend(
    backend: tuple[str, Callable[[Clock], StorageBackend]],
    build: Build,
    oidc_provider: OIDCProvider,
) -> None:
    name, make = backend
    clock = Clock()
    storage = make(clock)
    new_browser, _ = build(
        "flask", storage=storage, clock=clock, session_idle_timeout=600, session_max_age=3600
    )
    browser = new_browser()
    sign_in(browser, oidc_provider)
    sid = session_id(browser)
    keys = storage.keys(f"device:{sid}:")
    assert sorted(k.split(":")[2] for k in keys) == ["kinde_oauth_tokens", "kinde_session"]
    if name == "redis":
        raw = storage.client  # type: ignore[attr-defined]
        for key in keys:
            ttl = raw.pttl(storage.prefix + key)  # type: ignore[attr-defined]
            assert 0 < ttl <= 600_000  # the idle timeout, as a key TTL
    clock.offset += 500
    assert browser.whoami() == "alice"
    if name == "redis":  # refreshed on use
        assert raw.pttl(storage.prefix + f"device:{sid}:kinde_session") > 590_000  # type: ignore[attr-defined]
    clock.offset += 601
    assert browser.whoami() is None
    assert storage.keys(f"device:{sid}:") == []  # ended sessions are removed


def test_session_from_before_lifetimes_is_not_trusted(
    build: Build, oidc_provider: OIDCProvider
) -> None:
    """A validly signed cookie whose session has no record (data lost, expired by the
    backend) is no session; its cookie is deleted."""
    storage = MemoryStorage()
    new_browser, _ = build("flask", storage=storage)
    browser = new_browser()
    sign_in(browser, oidc_provider)
    sid = session_id(browser)
    storage.delete(f"device:{sid}:kinde_session")
    r = browser.get("/whoami")
    assert r.status == 200 and "max-age=0" in r.set_cookie.lower()
    assert browser.whoami() is None


def test_lifetime_options_are_checked(build: Build) -> None:
    from kinde_sdk.errors import KindeConfigurationError

    for bad in (
        {"session_idle_timeout": 0},
        {"session_max_age": -1},
        {"session_idle_timeout": "1h"},
        {"max_pending_logins": 0},
        {"trust_forwarded_proto": "yes"},
        {"cookie_secure": "false"},  # a truthy string would have meant Secure
    ):
        with pytest.raises(KindeConfigurationError):
            build("flask", **bad)
    build("flask", session_idle_timeout=None, session_max_age=None)
