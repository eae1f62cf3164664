"""The Account API with FakeKinde: the claims helpers' ``force_api``, the framework
integrations acting as the current request's user (FastAPI async routes, Flask), the
fake's own Account API, and one test per bug of the official SDK's Account API
(each named ``test_official_bug_...``), showing ours gets it right."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.account import AccountClient, AsyncAccountClient
from kinde_sdk.auth import AsyncOAuth, OAuth
from kinde_sdk.core.storage import MemoryStorage
from kinde_sdk.errors import NotFoundError, PermissionDeniedError, TokenError
from kinde_sdk.testing import FakeKinde

SESSION_SECRET = "account-test-session-secret-0123456789"
Login = Callable[..., Any]

USER: dict[str, Any] = {
    "sub": "kp_ann",
    "org_code": "org_acme",
    "permissions": ["read:users", "export:reports"],
    "roles": ["admin", "billing"],
    "feature_flags": {"dark_mode": True, "theme": "dark", "max_projects": 5},
    "entitlements": {"seats": 10, "advanced_reports": None},
    "plans": ["pro"],
    "properties": {"company_name": "Acme", "seats_used": 3},
}


def oauth_for(fake: FakeKinde, cls: Any = OAuth, **kwargs: Any) -> Any:
    """An ``OAuth`` (or ``cls``, e.g. AsyncOAuth) client of ``fake``, with memory storage."""
    return cls(
        domain=fake.domain,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        redirect_uri="http://127.0.0.1/callback",
        audience=fake.audience,
        storage=MemoryStorage(),
        **kwargs,
    )


@pytest.fixture
def signed_in(fake_kinde: FakeKinde) -> OAuth:
    oauth = oauth_for(fake_kinde)
    fake_kinde.login(oauth, **USER)
    return oauth


# --- force_api: the same shapes, from the API --------------------------------------------


def test_force_api_answers_in_the_token_shape(signed_in: OAuth, fake_kinde: FakeKinde) -> None:
    oauth = signed_in
    assert oauth.get_permission("read:users", force_api=True) == oauth.get_permission("read:users")
    assert oauth.get_permission("read:users", force_api=True) == {
        "orgCode": "org_acme",
        "isGranted": True,
    }
    assert oauth.get_permission("delete:users", force_api=True)["isGranted"] is False
    assert oauth.get_permissions(force_api=True) == oauth.get_permissions()
    assert oauth.get_roles(force_api=True) == oauth.get_roles()
    for code in ("dark_mode", "theme", "max_projects"):
        assert oauth.get_flag(code, force_api=True) == oauth.get_flag(code)
    assert oauth.get_boolean_flag("dark_mode", force_api=True) is True
    assert oauth.get_string_flag("theme", force_api=True) == "dark"
    assert oauth.get_integer_flag("max_projects", force_api=True) == 5
    assert oauth.get_flag("missing", "fallback", force_api=True)["is_default"] is True
    # Each force_api call asked the API; the token helpers did not.
    assert fake_kinde.request_count("/account_api/v1/permissions") == 4
    assert fake_kinde.request_count("/account_api/v1/roles") == 1
    assert fake_kinde.request_count("/account_api/v1/feature_flags") == 7


def test_oauth_account_is_the_signed_in_user(signed_in: OAuth) -> None:
    account = signed_in.account
    assert account is signed_in.account
    entitlements = account.get_entitlements()
    assert entitlements.org_code == "org_acme"
    assert entitlements.has_plan("pro")
    assert {e.feature_key for e in entitlements} == {"seats", "advanced_reports"}
    assert account.get_properties().as_dict() == {"company_name": "Acme", "seats_used": 3}
    assert account.get_user_profile().sub == "kp_ann"
    assert account.get_user_profile().email == "test@example.com"
    assert account.introspect().active is True


def test_signed_out_is_an_error_not_an_empty_answer(fake_kinde: FakeKinde) -> None:
    oauth = oauth_for(fake_kinde)
    with pytest.raises(TokenError) as caught:
        oauth.account.get_entitlements()
    assert caught.value.error == "login_required"
    with pytest.raises(TokenError):
        oauth.get_permission("read:users", force_api=True)


def test_the_session_refreshes_the_token_when_due(fake_kinde: FakeKinde) -> None:
    now = [time.time()]
    oauth = oauth_for(fake_kinde, clock=lambda: now[0])
    fake_kinde.login(oauth, **USER)
    first = oauth.get_access_token()
    now[0] += 3600  # the access token is now due
    assert oauth.account.get_permissions().keys == ["read:users", "export:reports"]
    assert oauth.get_access_token() != first
    assert fake_kinde.token_requests == 2  # the code exchange, then one refresh


def test_async_oauth_force_api_is_awaitable(fake_kinde: FakeKinde) -> None:
    now = [time.time()]

    async def main() -> None:
        async with AsyncOAuth(
            clock=lambda: now[0],
            domain=fake_kinde.domain,
            client_id=fake_kinde.client_id,
            client_secret=fake_kinde.client_secret,
            redirect_uri="http://127.0.0.1/callback",
            audience=fake_kinde.audience,
            storage=MemoryStorage(),
        ) as oauth:
            callback = fake_kinde.authorize(await oauth.login(), **USER)
            query = dict(parse_qsl(urlsplit(callback).query))
            await oauth.handle_redirect(query["code"], query["state"])
            token_shape = oauth.get_permission("read:users")
            assert await oauth.get_permission("read:users", force_api=True) == token_shape
            assert await oauth.get_permissions(force_api=True) == oauth.get_permissions()
            assert await oauth.get_roles(force_api=True) == oauth.get_roles()
            assert await oauth.get_flag("theme", force_api=True) == oauth.get_flag("theme")
            assert await oauth.get_boolean_flag("dark_mode", force_api=True) is True
            assert await oauth.get_integer_flag("max_projects", force_api=True) == 5
            assert await oauth.get_string_flag("theme", force_api=True) == "dark"
            entitlements = await oauth.account.get_entitlements()
            assert entitlements.get("seats").entitlement_limit_max == 10  # type: ignore[union-attr]
            assert fake_kinde.token_requests == 1
            now[0] += 3600  # due: the next call refreshes through the session first
            assert (await oauth.account.get_roles()).keys == ["admin", "billing"]
            assert fake_kinde.token_requests == 2

    asyncio.run(main())


# --- the fake's Account API ----------------------------------------------------------------


def test_the_fake_paginates_and_refuses_bad_tokens(fake_kinde: FakeKinde) -> None:
    token = fake_kinde.issue_access_token(
        permissions=[f"perm:{i}" for i in range(25)],
        entitlements=[{"feature_key": f"f{i}", "entitlement_limit_max": i} for i in range(12)],
    )
    client = AccountClient(
        token, domain=fake_kinde.domain, client_id=fake_kinde.client_id, strict_responses=True
    )  # strict: the fake's answers match the Account API spec
    assert len(client.get_permissions()) == 25
    assert fake_kinde.request_count("/account_api/v1/permissions") == 3  # 10 + 10 + 5
    assert [e.entitlement_limit_max for e in client.get_entitlements(page_size=5)] == list(
        range(12)
    )
    for bad in (
        fake_kinde.issue_access_token(expired=True),
        fake_kinde.issue_access_token(signed_by_other_key=True),
    ):
        with pytest.raises(PermissionDeniedError):
            AccountClient(bad, domain=fake_kinde.domain).get_roles()
    client.revoke()
    with pytest.raises(PermissionDeniedError):
        client.get_roles()
    with pytest.raises(TypeError):
        fake_kinde.issue_access_token(entitlements="seats")


# --- the official SDK's bugs, each done right here ------------------------------------------


def test_official_bug_get_entitlement_drops_the_key(fake_kinde: FakeKinde) -> None:
    token = fake_kinde.issue_access_token(entitlements={"seats": 10, "a/b c": 1})
    client = AccountClient(token, domain=fake_kinde.domain)
    seats = client.get_entitlement("seats")
    assert seats is not None and seats.feature_key == "seats"
    assert seats.entitlement_limit_max == 10
    assert fake_kinde.request_count("/account_api/v1/entitlement/seats") == 1
    odd = client.get_entitlement("a/b c")  # percent-encoded into one path segment
    assert odd is not None and odd.feature_key == "a/b c"
    with pytest.raises(NotFoundError):
        client.get_entitlement("not_in_the_plan")
    with pytest.raises(ValueError):
        client.get_entitlement("")


def test_official_bug_force_api_permission_is_always_false(signed_in: OAuth) -> None:
    assert signed_in.get_permission("export:reports", force_api=True)["isGranted"] is True
    assert "export:reports" in signed_in.account.get_permissions()


def test_official_bug_flags_from_the_api_are_always_empty(signed_in: OAuth) -> None:
    flags = signed_in.account.get_feature_flags()
    assert {f.key: f.value for f in flags} == {
        "dark_mode": True,
        "theme": "dark",
        "max_projects": 5,
    }
    assert signed_in.get_flag("dark_mode", force_api=True)["value"] is True


def test_official_bug_errors_are_swallowed_into_empty_results(
    signed_in: OAuth, fake_kinde: FakeKinde
) -> None:
    signed_in.account.revoke()  # the session's access token is now refused by the API
    for call in (
        lambda: signed_in.get_permission("read:users", force_api=True),
        lambda: signed_in.get_permissions(force_api=True),
        lambda: signed_in.get_roles(force_api=True),
        lambda: signed_in.get_flag("dark_mode", False, force_api=True),
        signed_in.account.get_entitlements,
        signed_in.account.get_properties,
    ):
        with pytest.raises(PermissionDeniedError) as caught:
            call()
        assert caught.value.status == 403 and caught.value.request_id


def test_official_bug_portal_link_sends_sub_nav(fake_kinde: FakeKinde) -> None:
    # Against the spec (Prism) the query is checked in test_account_api.py; here the
    # fake, which reads `subnav`, lands the user where asked.
    client = AccountClient(fake_kinde.issue_access_token(), domain=fake_kinde.domain)
    link = client.get_portal_link(subnav="plan_selection", return_url="https://app.test/")
    assert link.url is not None and link.url.endswith("subnav=plan_selection")
    with pytest.raises(ValueError, match="subnav"):
        client.get_portal_link(subnav="plans")  # not one of the spec's values: never sent


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        time.sleep(0.5)
        body = b'{"data": {"roles": [{"id": "r1", "key": "admin", "name": "Admin"}]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_official_bug_sync_calls_inside_async_def(
    slow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_blocking_io(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the async client used the blocking transport")

    monkeypatch.setattr(Transport, "request", no_blocking_io)

    async def main() -> int:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        async with AsyncAccountClient(
            "token", domain=slow_server, transport=AsyncTransport(retry=RetryPolicy(0))
        ) as client:
            roles = await asyncio.gather(client.get_roles(), client.get_roles())
        stop.set()
        await task
        assert [r.keys for r in roles] == [["admin"], ["admin"]]
        return ticks

    # While the two calls waited on the server, the loop kept running other tasks.
    assert asyncio.run(main()) > 1


# --- frameworks: the current request's user ------------------------------------------------


def test_fastapi_async_routes_use_the_async_client_as_the_request_user(
    fake_kinde: FakeKinde, kinde_login: Login
) -> None:
    pytest.importorskip("fastapi")
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.testclient import TestClient

    from kinde_sdk.frameworks.fastapi import get_account_client, require_user

    app = FastAPI()
    kinde_oauth = OAuth(
        framework="fastapi",
        app=app,
        domain=fake_kinde.domain,
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        redirect_uri="http://testserver/callback",
        audience=fake_kinde.audience,
        storage=MemoryStorage(),
        framework_options={"session_secret": SESSION_SECRET, "cookie_secure": False},
    )

    @app.get("/billing")
    async def billing(
        user: dict[str, Any] = Depends(require_user),
        account: AsyncAccountClient = Depends(get_account_client),
    ) -> dict[str, Any]:
        entitlements = await account.get_entitlements()
        return {
            "sub": user["sub"],
            "plans": [p.key for p in entitlements.plans],
            "features": sorted(e.feature_key or "" for e in entitlements),
        }

    @app.get("/reports/advanced")
    async def advanced_reports(
        account: AsyncAccountClient = Depends(get_account_client),
    ) -> dict[str, Any]:
        # Plan gating: the live entitlement, not a claim minted at login.
        if "advanced_reports" not in await account.get_entitlements():
            raise HTTPException(402, "upgrade to use advanced reports")
        seats = await account.get_entitlement("seats")
        return {"report": "ok", "seats": seats.entitlement_limit_max if seats else None}

    @app.get("/export")
    def export() -> dict[str, Any]:  # a sync route: FastAPI runs it in its threadpool
        return kinde_oauth.get_permission("export:reports", force_api=True)

    with (
        TestClient(app, follow_redirects=False) as ann,
        TestClient(app, follow_redirects=False) as bob,
    ):
        kinde_login(ann, **USER)
        kinde_login(
            bob,
            sub="kp_bob",
            permissions=["read:users"],
            entitlements={"seats": 1},
            plans=["free"],
        )
        assert ann.get("/billing").json() == {
            "sub": "kp_ann",
            "plans": ["pro"],
            "features": ["advanced_reports", "seats"],
        }
        assert bob.get("/billing").json() == {
            "sub": "kp_bob",
            "plans": ["free"],
            "features": ["seats"],
        }
        assert ann.get("/reports/advanced").json() == {"report": "ok", "seats": 10}
        assert bob.get("/reports/advanced").status_code == 402
        assert ann.get("/export").json() == {"orgCode": "org_acme", "isGranted": True}
        assert bob.get("/export").json() == {"orgCode": None, "isGranted": False}
    with TestClient(app, follow_redirects=False) as anonymous:
        refused = anonymous.get("/reports/advanced", headers={"Accept": "application/json"})
        assert refused.status_code == 401  # not a 500 from the Account API call
        assert anonymous.get("/reports/advanced").status_code in (302, 303, 307)
    assert fake_kinde.request_count("/account_api/v1/permissions") == 2


def test_flask_routes_use_the_request_user(fake_kinde: FakeKinde, kinde_login: Login) -> None:
    pytest.importorskip("flask")
    from flask import Flask

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "flask-secret-key-0123456789abcdef"
    kinde_oauth = OAuth(
        framework="flask",
        app=app,
        domain=fake_kinde.domain,
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        redirect_uri="http://localhost/callback",
        audience=fake_kinde.audience,
        storage=MemoryStorage(),
    )

    @app.route("/plan")
    def plan() -> Any:
        entitlements = kinde_oauth.account.get_entitlements()
        return {
            "plans": [p.key for p in entitlements.plans],
            "export": kinde_oauth.get_permission("export:reports", force_api=True)["isGranted"],
        }

    ann, bob = app.test_client(), app.test_client()
    kinde_login(ann, **USER)
    kinde_login(bob, sub="kp_bob", plans=["free"])
    assert ann.get("/plan").json == {"plans": ["pro"], "export": True}
    assert bob.get("/plan").json == {"plans": ["free"], "export": False}


def test_the_token_never_reaches_logs_reprs_or_errors(
    fake_kinde: FakeKinde, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    token = fake_kinde.issue_access_token(permissions=["read:users"])
    client = AccountClient(token, domain=fake_kinde.domain, client_id=fake_kinde.client_id)
    with caplog.at_level(logging.DEBUG):
        introspection = client.introspect()
        client.revoke()
        with pytest.raises(PermissionDeniedError) as caught:
            client.get_permissions()
    signature = token.rsplit(".", 1)[1]
    for text in (repr(client), repr(introspection), str(caught.value), repr(caught.value)):
        assert signature not in text
    assert caplog.records and all(signature not in r.getMessage() for r in caplog.records)


def test_django_views_use_the_request_user(
    fake_kinde: FakeKinde, kinde_login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("django")
    pytest.importorskip("rest_framework")
    from tests.integration._frameworks import configure_django

    configure_django()
    from django.http import HttpRequest, JsonResponse
    from django.test import Client
    from django.urls import clear_url_caches, path

    from kinde_sdk.frameworks import django as kinde_django
    from kinde_sdk.frameworks.django import login_required
    from tests.integration._django_urls import urlpatterns

    kinde_oauth = OAuth(
        framework="django",
        domain=fake_kinde.domain,
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        redirect_uri="http://testserver/callback",
        audience=fake_kinde.audience,
        storage=MemoryStorage(),
        framework_options={"session_secret": SESSION_SECRET},
    )

    @login_required
    def plan(request: HttpRequest) -> JsonResponse:
        entitlements = kinde_oauth.account.get_entitlements()
        granted = kinde_oauth.get_permission("export:reports", force_api=True)
        return JsonResponse(
            {"plans": [p.key for p in entitlements.plans], "export": granted["isGranted"]}
        )

    urlpatterns[:] = [*kinde_oauth.integration.urlpatterns, path("plan", plan)]
    clear_url_caches()
    try:
        ann, bob = Client(), Client()
        kinde_login(ann, **USER)
        kinde_login(bob, sub="kp_bob", plans=["free"])
        assert ann.get("/plan").json() == {"plans": ["pro"], "export": True}
        assert bob.get("/plan").json() == {"plans": ["free"], "export": False}
    finally:
        urlpatterns.clear()
        clear_url_caches()
        monkeypatch.setattr(kinde_django, "_registered", None)
