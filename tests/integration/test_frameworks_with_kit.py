"""The framework integrations dogfooding kinde_sdk.testing: Django's test client logged
in with the plugin's ``kinde_login`` fixture (the app's real /login and /callback routes
against FakeKinde, no browser, no node-oidc-provider), and the shortcut's own checks
with FastAPI's and Flask's test clients. The happy-path flows against node-oidc-provider
stay in test_frameworks_*.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest

pytest.importorskip("django")  # the [django] extra; part of the dev extra
pytest.importorskip("rest_framework")
pytest.importorskip("fastapi")
pytest.importorskip("flask")

from tests.integration._frameworks import configure_django

configure_django()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402

from kinde_sdk.auth import OAuth  # noqa: E402
from kinde_sdk.core.storage import MemoryStorage  # noqa: E402
from kinde_sdk.frameworks import django as kinde_django  # noqa: E402
from kinde_sdk.frameworks.django import BearerAuth, require_auth  # noqa: E402
from kinde_sdk.testing import FakeKinde, KindeLoginError, login_test_client  # noqa: E402
from tests.integration._django_urls import urlpatterns  # noqa: E402

SESSION_SECRET = "kit-test-session-secret-0123456789"
JSON = {"HTTP_ACCEPT": "application/json"}
Login = Callable[..., Any]


def django_oauth(fake: FakeKinde, **options: Any) -> OAuth:
    return OAuth(
        framework="django",
        domain=fake.domain,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        redirect_uri=options.pop("redirect_uri", "http://testserver/callback"),
        logout_redirect_uri="http://testserver/",
        audience=fake.audience,
        storage=MemoryStorage(),
        framework_options={"session_secret": SESSION_SECRET, **options},
    )


@pytest.fixture
def kinde(fake_kinde: FakeKinde, monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuth]:
    kinde_oauth = django_oauth(fake_kinde)
    bearer = BearerAuth(domain=fake_kinde.domain, audience=fake_kinde.audience)

    @require_auth(permissions=["read:reports"])
    def reports(request: HttpRequest) -> JsonResponse:
        return JsonResponse(
            {
                "email": request.kinde_user.get("email"),  # type: ignore[attr-defined]
                "sub": kinde_oauth.get_claim("sub"),
                "org": kinde_oauth.get_claim("org_code"),
                "roles": [role["key"] for role in kinde_oauth.get_roles()],
                "beta": kinde_oauth.get_boolean_flag("beta", False),
            }
        )

    @bearer.require(permissions=["read:reports"])
    def api_reports(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": request.kinde_claims["sub"]})  # type: ignore[attr-defined]

    urlpatterns[:] = [
        *kinde_oauth.integration.urlpatterns,
        path("reports", reports),
        path("api/reports", api_reports),
    ]
    clear_url_caches()
    yield kinde_oauth
    urlpatterns.clear()
    clear_url_caches()
    monkeypatch.setattr(kinde_django, "_registered", None)


@pytest.fixture
def client(kinde: OAuth) -> Client:
    return Client()  # http://testserver, as in a Django project's tests


def test_anonymous_is_sent_to_login(client: Client) -> None:
    page = client.get("/reports")
    assert page.status_code == 302 and page["Location"] == "/login?next=%2Freports"
    assert client.get("/reports", **JSON).status_code == 401


def test_kinde_login_makes_a_real_session(
    client: Client, kinde_login: Login, fake_kinde: FakeKinde
) -> None:
    done = kinde_login(
        client,
        sub="kp_ann",
        email="ann@example.com",
        permissions=["read:reports"],
        roles=["admin"],
        org_code="org_123",
        feature_flags={"beta": True},
        next="/reports",
    )
    assert done.status_code == 302 and done["Location"] == "/reports"
    cookie = done.cookies["kinde_session"]  # as a real login sets it: id rotated, signed
    # Not Secure: plain http and an http redirect URI (issue 14 item 9).
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert len(cookie.value) < 100
    assert client.get("/reports").json() == {
        "email": "ann@example.com",
        "sub": "kp_ann",
        "org": "org_123",
        "roles": ["admin"],
        "beta": True,
    }
    assert client.get("/user").json()["email"] == "ann@example.com"
    assert fake_kinde.token_requests == 1  # one code exchange, as for a browser

    out = client.post("/logout", HTTP_ORIGIN="http://testserver")
    assert out.status_code == 303 and out["Location"].startswith(fake_kinde.url + "/logout")
    assert client.get("/reports")["Location"] == "/login?next=%2Freports"


def test_without_the_permission_it_is_403(client: Client, kinde_login: Login) -> None:
    kinde_login(client, sub="kp_bob", permissions=["read:other"])
    assert client.get("/reports").status_code == 403
    assert client.get("/reports", **JSON).status_code == 403


def test_logging_in_again_switches_user_and_clients_do_not_mix(
    kinde: OAuth, kinde_login: Login
) -> None:
    ann, bob = Client(), Client()
    kinde_login(ann, sub="kp_ann", permissions=["read:reports"])
    kinde_login(bob, sub="kp_bob", permissions=["read:reports"])
    for _ in range(3):
        assert ann.get("/reports").json()["sub"] == "kp_ann"
        assert bob.get("/reports").json()["sub"] == "kp_bob"
    kinde_login(ann, sub="kp_carol")  # a new login replaces the session
    assert ann.get("/user").json()["sub"] == "kp_carol"
    assert ann.get("/reports").status_code == 403


def test_the_login_user_signs_in_without_fields(
    client: Client, kinde_login: Login, fake_kinde: FakeKinde
) -> None:
    fake_kinde.login_user = {"sub": "kp_default", "permissions": ["read:reports"]}
    kinde_login(client)
    assert client.get("/reports").json()["sub"] == "kp_default"


def test_bearer_api_with_kinde_token(client: Client, kinde_token: Callable[..., str]) -> None:
    good = client.get(
        "/api/reports",
        HTTP_AUTHORIZATION=f"Bearer {kinde_token('kp_api', permissions=['read:reports'])}",
    )
    assert good.status_code == 200 and good.json() == {"sub": "kp_api"}
    weak = client.get("/api/reports", HTTP_AUTHORIZATION=f"Bearer {kinde_token()}")
    assert weak.status_code == 403
    assert client.get("/api/reports").status_code == 401


def test_the_shortcut_says_what_went_wrong(
    client: Client, fake_kinde: FakeKinde, kinde: OAuth
) -> None:
    with pytest.raises(KindeLoginError, match="login route"):
        login_test_client(client, fake_kinde, login_path="/signin")
    with FakeKinde() as other, pytest.raises(KindeLoginError, match="not to this FakeKinde"):
        login_test_client(client, other)
    with pytest.raises(TypeError, match="unknown test-user field"):
        login_test_client(client, fake_kinde, permission=["typo"])


def test_a_redirect_uri_off_the_callback_route(
    fake_kinde: FakeKinde, monkeypatch: pytest.MonkeyPatch, kinde: OAuth
) -> None:
    other = django_oauth(fake_kinde, redirect_uri="http://testserver/auth/callback")
    monkeypatch.setattr(kinde_django, "_registered", other.integration)
    urlpatterns[:] = other.integration.urlpatterns
    clear_url_caches()
    with pytest.raises(KindeLoginError, match="redirect_uri"):
        login_test_client(Client(), fake_kinde)


# --- FastAPI's and Flask's test clients --------------------------------------------


def test_fastapi_testclient_and_the_secure_cookie(
    fake_kinde: FakeKinde, kinde_login: Login
) -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from kinde_sdk.frameworks.fastapi import RequireAuth

    def build(**options: Any) -> FastAPI:
        app = FastAPI()
        OAuth(
            framework="fastapi",
            app=app,
            domain=fake_kinde.domain,
            client_id=fake_kinde.client_id,
            client_secret=fake_kinde.client_secret,
            redirect_uri="http://testserver/callback",
            audience=fake_kinde.audience,
            storage=MemoryStorage(),
            framework_options={"session_secret": SESSION_SECRET, **options},
        )

        @app.get("/reports")
        async def reports(
            user: dict[str, Any] = Depends(RequireAuth(permissions=["read:reports"])),
        ) -> dict[str, Any]:
            return {"sub": user["sub"]}

        return app

    # A Secure cookie over http: httpx drops it, and the kit says why.
    with (
        TestClient(build(cookie_secure=True)) as plain,
        pytest.raises(KindeLoginError, match="cookie_secure"),
    ):
        kinde_login(plain, permissions=["read:reports"])
    for app, base_url in (
        (build(), "https://testserver"),
        (build(), "http://testserver"),  # http redirect URI: not Secure (issue 14 item 9)
        (build(cookie_secure=False), "http://testserver"),
    ):
        with TestClient(app, base_url=base_url, follow_redirects=False) as c:
            done = kinde_login(c, sub="kp_ann", permissions=["read:reports"], next="/reports")
            assert done.status_code == 302 and done.headers["location"] == "/reports"
            assert c.get("/reports").json() == {"sub": "kp_ann"}


def test_flask_test_client(fake_kinde: FakeKinde, kinde_login: Login) -> None:
    from flask import Flask, g

    from kinde_sdk.frameworks.flask import require_auth as flask_require_auth

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "flask-secret-key-0123456789abcdef"
    OAuth(
        framework="flask",
        app=app,
        domain=fake_kinde.domain,
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        redirect_uri="http://localhost/callback",
        audience=fake_kinde.audience,
        storage=MemoryStorage(),
        framework_options={"login_path": "/auth/login"},
    )

    @app.route("/reports")
    @flask_require_auth(permissions=["read:reports"])
    def reports() -> Any:
        return {"sub": g.kinde_user["sub"]}

    c = app.test_client()
    assert c.get("/reports").location == "/auth/login?next=%2Freports"
    done = kinde_login(c, sub="kp_ann", permissions=["read:reports"], login_path="/auth/login")
    assert done.status_code == 302 and done.location == "/"
    assert c.get("/reports").json == {"sub": "kp_ann"}

    forgetful = app.test_client(use_cookies=False)
    with pytest.raises(KindeLoginError, match="keep the session cookie"):
        kinde_login(forgetful, login_path="/auth/login")
