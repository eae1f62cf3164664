"""Helpers shared by the framework integration tests: OAuth settings for the test
provider, and access tokens minted with the provider's own signing key (expired, wrong
audience, without permissions) for the bearer-API tests."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import jwt

from tests.servers.oidc_provider import OIDCProvider

SESSION_SECRET = secrets.token_urlsafe(32)
APP_ORIGIN = "http://127.0.0.1:8000"  # the provider's registered redirect URI's origin


def configure_django() -> None:
    """Configure Django for the test process, once, whichever test module comes first
    (settings cannot change afterwards): URLs from ``tests.integration._django_urls``,
    the Kinde middleware, DRF with the Kinde authentication and permission classes."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="host-django-secret-" + secrets.token_urlsafe(16),
        ALLOWED_HOSTS=["127.0.0.1", "testserver"],
        ROOT_URLCONF="tests.integration._django_urls",
        MIDDLEWARE=["kinde_sdk.frameworks.django.KindeMiddleware"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "kinde_sdk.frameworks.django.KindeBearerAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["kinde_sdk.frameworks.django.KindePermission"],
            "UNAUTHENTICATED_USER": None,
        },
        KINDE_EXCLUDED_PATHS=["/health"],
    )
    django.setup()


def oauth_kwargs(provider: OIDCProvider, **framework_options: Any) -> dict[str, Any]:
    from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage

    return {
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": provider.redirect_uri,
        "host": provider.url,
        "audience": provider.api_audience,
        "logout_redirect_uri": provider.logout_redirect_uri,
        "storage": NamespacedStorage(MemoryStorage()),
        "framework_options": {"session_secret": SESSION_SECRET, **framework_options},
    }


def mint(provider: OIDCProvider, **overrides: Any) -> str:
    """An RS256 access token signed with the provider's key; ``overrides`` replace or,
    with value None, remove claims."""
    jwks = json.loads((Path(provider.workdir) / "jwks.json").read_text())
    jwk = jwks["keys"][0]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": provider.url,
        "aud": provider.api_audience,
        "sub": "api-user",
        "iat": now,
        "exp": now + 600,
        "permissions": ["read:users", "write:users"],
        "roles": [{"id": "role_1", "key": "admin", "name": "Admin"}],
        "org_code": "org_123",
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwk["kid"]})  # type: ignore[arg-type]


def bearer_cases(provider: OIDCProvider) -> dict[str, tuple[dict[str, str], int, str]]:
    """name -> (headers, expected status, expected error in WWW-Authenticate or "")."""
    past = int(time.time()) - 3600
    return {
        "valid": ({"Authorization": f"Bearer {mint(provider)}"}, 200, ""),
        "expired": (
            {"Authorization": f"Bearer {mint(provider, exp=past, iat=past - 600)}"},
            401,
            "invalid_token",
        ),
        "wrong_audience": (
            {"Authorization": f"Bearer {mint(provider, aud='https://other.example/api')}"},
            401,
            "invalid_token",
        ),
        "missing_permission": (
            {"Authorization": f"Bearer {mint(provider, permissions=['read:users'])}"},
            403,
            "insufficient_scope",
        ),
        "missing_role": (
            {"Authorization": f"Bearer {mint(provider, roles=[])}"},
            403,
            "insufficient_scope",
        ),
        "garbage_header": ({"Authorization": "Bearer not-a-jwt"}, 401, "invalid_token"),
        "basic_scheme": ({"Authorization": "Basic dXNlcjpwdw=="}, 401, "invalid_request"),
        "forged_signature": (
            {"Authorization": f"Bearer {mint(provider)[:-6]}AAAAAA"},
            401,
            "invalid_token",
        ),
        "missing": ({}, 401, ""),
    }
