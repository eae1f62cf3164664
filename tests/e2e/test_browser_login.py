"""End to end in a real browser: Playwright drives Debian's chromium (headless) against
the example apps (examples/fastapi_app.py under uvicorn, examples/flask_app.py under
werkzeug, examples/django_app under runserver), all on 127.0.0.1, and
node-oidc-provider's own login pages.

For each app: click "Log in", sign in on the provider's page, land back on the app, see
the user on /user, open the protected page, log out (confirming on the provider's page),
and find the protected page refused. Then two browser contexts (two users) fire
interleaved parallel requests and each sees only its own user.

Needs ``/usr/bin/chromium`` (``apt-get install -y chromium``) and the PyPI package
``playwright``; Playwright's own browser download is not used.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

from kinde_sdk.core.storage import StorageManager
from tests.servers._process import ServerProcess, free_port
from tests.servers.app_threads import serve_fastapi, serve_flask
from tests.servers.oidc_provider import OIDCProvider, start_oidc_provider

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
TIMEOUT_MS = 20_000


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KINDS = ("fastapi", "flask", "django")


class Apps:
    def __init__(self) -> None:
        self.ports = {kind: free_port() for kind in KINDS}

    def origin(self, kind: str) -> str:
        return f"http://127.0.0.1:{self.ports[kind]}"


@pytest.fixture(scope="module")
def apps() -> Apps:
    return Apps()


@pytest.fixture(scope="module")
def provider(apps: Apps) -> Iterator[OIDCProvider]:
    """A provider of its own, with the example apps' ports registered."""
    origins = [apps.origin(kind) for kind in KINDS]
    server = start_oidc_provider(
        extra_redirect_uris=[f"{o}/callback" for o in origins],
        extra_logout_redirect_uris=[f"{o}/" for o in origins],
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            "the browser tests do not use Playwright's own browser download"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the PyPI package playwright is missing: pip install -e '.[dev]'")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def serve_django(port: int, env: dict[str, str]) -> Callable[[], None]:
    """examples/django_app under Django's runserver, in a child process (Django's
    settings are process-wide, and the integration tests configure their own)."""
    server = ServerProcess(
        [
            sys.executable,
            str(ROOT / "examples" / "django_app" / "manage.py"),
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ],
        port=port,
        env={**env, "DJANGO_SECRET_KEY": secrets.token_urlsafe(32), "PYTHONPATH": str(ROOT)},
    )
    server.start(ready_timeout=30)
    return server.stop


@pytest.fixture(scope="module", params=KINDS)
def app_origin(request: pytest.FixtureRequest, apps: Apps, provider: OIDCProvider) -> Iterator[str]:
    kind = request.param
    origin = apps.origin(kind)
    env = {
        "KINDE_DOMAIN": provider.url,
        "KINDE_CLIENT_ID": provider.client_id,
        "KINDE_CLIENT_SECRET": provider.client_secret,
        "KINDE_REDIRECT_URI": f"{origin}/callback",
        "KINDE_LOGOUT_REDIRECT_URI": f"{origin}/",
        "KINDE_AUDIENCE": provider.api_audience,
        "KINDE_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    StorageManager().reset()
    try:
        port = apps.ports[kind]
        if kind == "fastapi":
            stop = serve_fastapi(load_example("fastapi_app.py").create_app(), port)
        elif kind == "flask":
            stop = serve_flask(load_example("flask_app.py").create_app(), port)
        else:
            stop = serve_django(port, env)
        yield origin
        stop()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        StorageManager().reset()


def sign_in_on_provider(page: Any, provider: OIDCProvider, origin: str, login: str) -> None:
    """On the provider's pages: the login form, then consent if asked; until back."""
    for _ in range(4):
        page.wait_for_url(
            lambda url: url.startswith(origin) or "/interaction/" in url, timeout=TIMEOUT_MS
        )
        if page.url.startswith(origin):
            return
        page.wait_for_load_state()
        if page.locator("input[name=login]").count():
            page.fill("input[name=login]", login)
            page.fill("input[name=password]", "any-password")
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.locator("button[type=submit]").first.click()
    page.wait_for_url(lambda url: url.startswith(origin), timeout=TIMEOUT_MS)


def log_in(page: Any, provider: OIDCProvider, origin: str, login: str) -> None:
    page.goto(origin + "/")
    assert "Please log in" in page.content()
    page.click("#login")
    page.wait_for_url(lambda url: url.startswith(provider.url), timeout=TIMEOUT_MS)
    sign_in_on_provider(page, provider, origin, login)


EVIL = "http://evil.test"


def cross_site_logout_fails(context: Any, page: Any, app_origin: str) -> None:
    """A page of another origin (served by Playwright's router) links to and posts to
    the app's /logout. Chromium marks both requests ``Sec-Fetch-Site: cross-site``."""
    html_page = (
        f"<html><body><a id='evil-link' href='{app_origin}/logout'>win a prize</a>"
        f"<form id='evil-form' method='post' action='{app_origin}/logout'>"
        "<button id='evil-post' type='submit'>go</button></form></body></html>"
    )
    context.route(
        EVIL + "/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html_page),
    )
    page.goto(EVIL + "/")
    page.click("#evil-link")
    page.wait_for_url(f"{app_origin}/logout")
    assert page.locator("#kinde-logout-confirm").count() == 1  # a page, not a logout
    page.goto(EVIL + "/")
    with page.expect_navigation():
        page.click("#evil-post")
    # SameSite=Lax keeps the cookie off a cross-site POST, and without it (or with it:
    # the Origin check refuses) nothing is signed out.
    page.wait_for_load_state()
    page.goto(app_origin + "/user")
    assert json.loads(page.inner_text("body"))["email"] == "alice@example.test"


def test_two_tabs_login_at_once(browser: Any, provider: OIDCProvider, app_origin: str) -> None:
    """Issue 14 item 6: one browser, a login started in two tabs, both completed."""
    context = browser.new_context()
    try:
        tab1, tab2 = context.new_page(), context.new_page()
        for tab in (tab1, tab2):
            tab.set_default_timeout(TIMEOUT_MS)
        tab1.goto(app_origin + "/login?next=/protected")
        tab1.wait_for_url(lambda url: url.startswith(provider.url))
        tab2.goto(app_origin + "/login?next=/user")
        tab2.wait_for_url(lambda url: url.startswith(provider.url))
        sign_in_on_provider(tab1, provider, app_origin, "alice")
        tab1.wait_for_url(f"{app_origin}/protected")
        sign_in_on_provider(tab2, provider, app_origin, "alice")
        tab2.wait_for_url(f"{app_origin}/user")  # was: "unknown state"
        assert json.loads(tab2.inner_text("body"))["sub"] == "alice"
        tab1.reload()
        assert tab1.text_content("#who") == "alice@example.test"
    finally:
        context.close()


def test_login_user_protected_logout(browser: Any, provider: OIDCProvider, app_origin: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        log_in(page, provider, app_origin, "alice")
        # /login?next=/protected: back on the protected page, signed in.
        assert page.url == f"{app_origin}/protected"
        assert page.text_content("#who") == "alice@example.test"

        cookie = next(c for c in context.cookies() if c["name"] == "kinde_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert len(cookie["value"]) < 100

        page.goto(app_origin + "/user")
        user = json.loads(page.inner_text("body"))
        assert user["email"] == "alice@example.test" and user["sub"] == "alice"

        page.goto(app_origin + "/")
        assert page.text_content("#email") == "alice@example.test"
        page.click("#protected")
        page.wait_for_url(f"{app_origin}/protected")
        assert page.text_content("#who") == "alice@example.test"

        # Another site cannot sign the user out: its link gets a confirmation page,
        # its auto-submitted form a 403 (issue 14 item 7).
        cross_site_logout_fails(context, page, app_origin)

        # Log out: the app's own form POSTs /logout; the app ends its session and sends
        # the browser to the provider's end-session page, which asks for confirmation,
        # then back to the app.
        page.goto(app_origin + "/")
        page.click("#logout")
        page.wait_for_url(lambda url: url.startswith(provider.url), timeout=TIMEOUT_MS)
        if not page.url.startswith(app_origin):
            confirm = page.locator("button[type=submit][value=yes], button[name=logout]")
            if confirm.count():
                with page.expect_navigation():
                    confirm.first.click()
        page.wait_for_url(lambda url: url.startswith(app_origin), timeout=TIMEOUT_MS)
        assert "Please log in" in page.content()
        assert not [c for c in context.cookies() if c["name"] == "kinde_session"]

        # The protected page is refused: an API call gets 401, the browser is sent to
        # the provider's login form (its session ended too).
        api = page.request.get(
            app_origin + "/protected", headers={"Accept": "application/json"}, max_redirects=0
        )
        assert api.status == 401
        page.goto(app_origin + "/protected")
        page.wait_for_url(lambda url: url.startswith(provider.url), timeout=TIMEOUT_MS)
        page.wait_for_selector("input[name=login]")
    finally:
        context.close()


def test_two_browser_sessions_in_parallel(
    browser: Any, provider: OIDCProvider, app_origin: str
) -> None:
    contexts = {login: browser.new_context() for login in ("alice", "bob")}
    try:
        pages = {}
        for login, context in contexts.items():
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            log_in(page, provider, app_origin, login)
            pages[login] = page
        # Each page fires 25 concurrent requests; the two batches run at the same time.
        # Started without waiting, then collected: both batches are in flight together.
        start = """() => {
            const paths = Array.from({length: 25}, (_, i) => i % 2 ? '/user' : '/admin');
            window.__kinde = Promise.all(paths.map(p =>
                fetch(p, {headers: {Accept: 'application/json'}}).then(r => r.json())));
        }"""
        for page in pages.values():
            page.evaluate(start)
        for login, page in pages.items():
            bodies = page.evaluate("() => window.__kinde")
            assert [b.get("email") or b.get("admin") for b in bodies] == [
                f"{login}@example.test"
            ] * 25
        # And once more, interleaved from one thread: each page still sees its own user.
        for _ in range(3):
            for login, page in pages.items():
                page.goto(app_origin + "/user")
                assert json.loads(page.inner_text("body"))["sub"] == login
    finally:
        for context in contexts.values():
            context.close()
