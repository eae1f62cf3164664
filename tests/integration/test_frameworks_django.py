"""The Django integration against node-oidc-provider with Django's test client: login,
/user, protected views, logout, callback errors, protected/excluded paths, bearer APIs
for plain Django views and for Django REST Framework."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

django = pytest.importorskip("django")  # the [django] extra; part of the dev extra
pytest.importorskip("rest_framework")

from django.conf import settings  # noqa: E402

from tests.integration._frameworks import configure_django  # noqa: E402

configure_django()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from kinde_sdk.auth import OAuth  # noqa: E402
from kinde_sdk.frameworks import django as kinde_django  # noqa: E402
from kinde_sdk.frameworks.django import (  # noqa: E402
    BearerAuth,
    KindeBearerAuthentication,
    KindePermission,
    login_required,
    require_auth,
)
from tests.integration._django_urls import urlpatterns  # noqa: E402
from tests.integration._frameworks import bearer_cases, oauth_kwargs  # noqa: E402
from tests.servers.oidc_provider import DevLoginDriver, OIDCProvider  # noqa: E402

HOST = "127.0.0.1:8000"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def kinde(oidc_provider: OIDCProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[OAuth]:
    kinde_oauth = OAuth(framework="django", **oauth_kwargs(oidc_provider))
    bearer = BearerAuth(domain=oidc_provider.url, audience=oidc_provider.api_audience)
    monkeypatch.setattr(KindeBearerAuthentication, "bearer", bearer)

    def home(request: HttpRequest) -> JsonResponse:
        if kinde_oauth.is_authenticated():
            return JsonResponse({"user": kinde_oauth.get_user_info()})
        return JsonResponse({"user": None})

    @login_required
    def protected(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"email": request.kinde_user["email"]})  # type: ignore[attr-defined]

    @require_auth(roles=["admin"], permissions=["read:users"])
    def admin(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"admin": request.kinde_user["email"]})  # type: ignore[attr-defined]

    @require_auth(permissions=["manage:billing"])
    def billing(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"billing": True})

    @bearer.require(permissions=["write:users"], roles=["admin"])
    def api_users(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"sub": request.kinde_claims["sub"]})  # type: ignore[attr-defined]

    class DRFUsers(APIView):
        kinde_permissions = ("write:users",)
        kinde_roles = ("admin",)

        def get(self, request: Any) -> Response:
            return Response({"sub": request.user.id, "org": request.auth.get("org_code")})

    class DRFRead(APIView):
        permission_classes = (KindePermission.require(permissions=["read:users"]),)

        def get(self, request: Any) -> Response:
            return Response({"sub": request.auth["sub"]})

    def health(request: HttpRequest) -> JsonResponse:
        return JsonResponse({"ok": True})

    urlpatterns[:] = [
        *kinde_oauth.integration.urlpatterns,
        path("", home),
        path("protected", protected),
        path("admin", admin),
        path("billing", billing),
        path("api/users", api_users),
        path("drf/users", DRFUsers.as_view()),
        path("drf/read", DRFRead.as_view()),
        path("health", health),
    ]
    clear_url_caches()
    yield kinde_oauth
    urlpatterns.clear()
    clear_url_caches()
    monkeypatch.setattr(kinde_django, "_registered", None)


@pytest.fixture
def client(kinde: OAuth) -> Client:
    return Client(HTTP_HOST=HOST)


def sign_in(client: Client, provider: OIDCProvider, login: str, next_: str = "") -> Any:
    url = "/login" + (f"?{urlencode({'next': next_})}" if next_ else "")
    start = client.get(url)
    assert start.status_code == 302
    cookie = start.cookies["kinde_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    query = DevLoginDriver(provider.redirect_uri).login(start["Location"], login=login)
    done = client.get("/callback", query)
    assert done.status_code == 302, done.content
    return done


def test_login_user_protected_logout(client: Client, oidc_provider: OIDCProvider) -> None:
    assert client.get("/").json() == {"user": None}
    done = sign_in(client, oidc_provider, "alice", next_="/protected")
    assert done["Location"] == "/protected"
    old = client.cookies["kinde_session"].value
    assert len(old) < 100
    assert client.get("/user").json()["email"] == "alice@example.test"
    assert client.get("/").json()["user"]["sub"] == "alice"
    assert client.get("/protected").json() == {"email": "alice@example.test"}
    assert client.get("/admin").json() == {"admin": "alice@example.test"}
    assert client.get("/billing", **JSON).status_code == 403

    out = client.post("/logout", HTTP_ORIGIN=f"http://{HOST}")
    assert out.status_code == 303 and out["Location"].startswith(oidc_provider.url + "/logout")
    assert out.cookies["kinde_session"]["max-age"] == 0
    refused = client.get("/protected")
    assert refused.status_code == 302 and refused["Location"] == "/login?next=%2Fprotected"
    assert client.get("/protected", **JSON).status_code == 401
    client.cookies["kinde_session"] = old  # replayed: the session was deleted
    assert client.get("/user", **JSON).status_code == 401


def test_two_users_do_not_mix(kinde: OAuth, oidc_provider: OIDCProvider) -> None:
    clients = {login: Client(HTTP_HOST=HOST) for login in ("alice", "bob")}
    for login, c in clients.items():
        sign_in(c, oidc_provider, login)
    for _ in range(10):
        for login, c in clients.items():
            assert c.get("/user").json()["sub"] == login


def test_callback_errors_and_open_redirect(client: Client, oidc_provider: OIDCProvider) -> None:
    bad = client.get("/callback", {"code": "x", "state": "nope"})
    assert bad.status_code == 400 and b"invalid or has expired" in bad.content
    assert b"Traceback" not in bad.content
    denied = client.get("/callback", {"error": "access_denied"})
    assert denied.status_code == 400
    assert sign_in(client, oidc_provider, "alice", next_="//evil.com")["Location"] == "/"


def test_protected_paths(oidc_provider: OIDCProvider, kinde: OAuth) -> None:
    other = OAuth(framework="django", **oauth_kwargs(oidc_provider, protected_paths=["/"]))
    assert other.integration.flow.settings.excluded_paths == ("/health",)  # from settings
    assert other.integration.flow.settings.protected_paths == ("/",)
    # The project's middleware finds the OAuth named by KINDE_OAUTH, else the last one
    # built: here, switch the fixture's to "everything protected" the same way.
    kinde.integration.flow.settings.protected_paths = ("/",)
    kinde_django._registered = kinde.integration
    c = Client(HTTP_HOST=HOST)
    assert c.get("/health").json() == {"ok": True}
    r = c.get("/")
    assert r.status_code == 302 and r["Location"] == "/login?next=%2F"
    assert c.get("/", **JSON).status_code == 401
    sign_in(c, oidc_provider, "carol")
    assert c.get("/").json()["user"]["sub"] == "carol"


def test_secret_key_read_not_written(oidc_provider: OIDCProvider, kinde: OAuth) -> None:
    before = settings.SECRET_KEY
    kwargs = oauth_kwargs(oidc_provider)
    kwargs["framework_options"] = {}
    OAuth(framework="django", **kwargs)  # derives its key from SECRET_KEY
    assert before == settings.SECRET_KEY
    kinde_django._registered = kinde.integration


CASES = [
    "valid",
    "expired",
    "wrong_audience",
    "missing_permission",
    "missing_role",
    "garbage_header",
    "basic_scheme",
    "forged_signature",
    "missing",
]


@pytest.mark.parametrize("case", CASES)
def test_bearer_django_view(client: Client, oidc_provider: OIDCProvider, case: str) -> None:
    headers, status, error = bearer_cases(oidc_provider)[case]
    r = client.get("/api/users", headers=headers)
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json() == {"sub": "api-user"}
        return
    assert r["WWW-Authenticate"].startswith('Bearer realm="kinde"')
    assert (f'error="{error}"' in r["WWW-Authenticate"]) if error else True


@pytest.mark.parametrize("case", CASES)
def test_bearer_drf(client: Client, oidc_provider: OIDCProvider, case: str) -> None:
    headers, status, error = bearer_cases(oidc_provider)[case]
    if case == "basic_scheme":
        status = 401  # refused by our authentication class (not a bearer token)
    r = client.get("/drf/users", headers=headers)
    assert r.status_code == status, r.content
    if status == 200:
        assert r.json() == {"sub": "api-user", "org": "org_123"}
        return
    challenge = r["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="kinde"')
    if error:
        assert f'error="{error}"' in challenge


def test_drf_permission_require(client: Client, oidc_provider: OIDCProvider) -> None:
    cases = bearer_cases(oidc_provider)
    assert client.get("/drf/read", headers=cases["missing_permission"][0]).status_code == 200
    assert client.get("/drf/read", headers=cases["valid"][0]).json() == {"sub": "api-user"}
    assert client.get("/drf/read").status_code == 401
