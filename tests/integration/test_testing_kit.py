"""kinde_sdk.testing dogfooded: the SDK's TokenValidator, OAuth and ManagementClient,
unchanged, against FakeKinde through the pytest plugin's fixtures (``fake_kinde``,
``kinde_token``, ``kinde_validator``, registered by the ``pytest11`` entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from kinde_sdk.auth import OAuth, TokenValidator, _claims
from kinde_sdk.auth._flow import code_challenge_s256
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    TokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
)
from kinde_sdk.management import ManagementClient
from kinde_sdk.testing import WRONG_AUDIENCE, FakeKinde

BAD_TOKENS = [
    ("expired", TokenExpiredError),
    ("wrong_audience", InvalidAudienceError),
    ("signed_by_other_key", InvalidSignatureError),
    ("not_yet_valid", TokenNotYetValidError),
]
REDIRECT_URI = "http://127.0.0.1:9/callback"
VERIFIER = "v" * 43


def _oauth(fake: FakeKinde, **kwargs: Any) -> OAuth:
    return OAuth(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        domain=fake.domain,
        redirect_uri=REDIRECT_URI,
        audience=fake.audience,
        storage=NamespacedStorage(MemoryStorage()),
        **kwargs,
    )


def test_the_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("kinde_sdk")


def test_a_minted_access_token_verifies_with_kinde_claim_shapes(
    kinde_validator: TokenValidator, kinde_token: Callable[..., str], fake_kinde: FakeKinde
) -> None:
    token = kinde_token(
        "kp_42",
        permissions=["read:users", "delete:users"],
        roles=["admin"],
        org_code="org_123",
        feature_flags={"dark_mode": True, "limit": 5, "theme": "dark"},
    )
    claims = kinde_validator.verify(token)
    assert claims["iss"] == fake_kinde.issuer == fake_kinde.url
    assert claims["sub"] == "kp_42"
    assert claims["aud"] == [fake_kinde.audience]
    assert claims["azp"] == fake_kinde.client_id
    assert claims["scp"] == ["openid", "profile", "email", "offline"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["roles"] == [{"id": "role_admin", "key": "admin", "name": "Admin"}]
    # The SDK's own claim helpers read the verified claims.
    assert _claims.permission(claims, "delete:users") == {"orgCode": "org_123", "isGranted": True}
    assert _claims.permissions(claims)["permissions"] == ["read:users", "delete:users"]
    assert _claims.organization(claims) == {"orgCode": "org_123"}
    assert _claims.get_flag(claims, "dark_mode", flag_type="b")["value"] is True
    assert _claims.get_flag(claims, "limit", flag_type="integer")["value"] == 5
    assert _claims.get_flag(claims, "theme", flag_type="s")["value"] == "dark"
    with pytest.raises(_claims.FlagTypeError):
        _claims.get_flag(claims, "dark_mode", flag_type="s")


def test_minimal_token_and_extra_claims(
    kinde_validator: TokenValidator, fake_kinde: FakeKinde
) -> None:
    claims = kinde_validator.verify(fake_kinde.issue_access_token())
    assert claims["sub"] == "kp_test" and claims["permissions"] == []
    assert not {"roles", "org_code", "feature_flags", "nbf"} & claims.keys()
    token = fake_kinde.issue_access_token(
        scopes=["openid"], expires_in=60, extra_claims={"jti": None, "custom": {"a": 1}}
    )
    claims = kinde_validator.verify(token)
    assert "jti" not in claims and claims["custom"] == {"a": 1} and claims["scp"] == ["openid"]
    assert claims["exp"] - claims["iat"] == 60
    assert "sub" not in kinde_validator.verify(fake_kinde.issue_access_token(None))


@pytest.mark.parametrize(("flag", "error"), BAD_TOKENS)
def test_each_bad_access_token_is_refused_with_its_error(
    kinde_validator: TokenValidator,
    kinde_token: Callable[..., str],
    flag: str,
    error: type[InvalidTokenError],
) -> None:
    with pytest.raises(error):
        kinde_validator.verify(kinde_token(permissions=["read:users"], **{flag: True}))


@pytest.mark.parametrize(("flag", "error"), BAD_TOKENS)
def test_each_bad_id_token_is_refused_with_its_error(
    fake_kinde: FakeKinde, flag: str, error: type[InvalidTokenError]
) -> None:
    validator = TokenValidator(fake_kinde.domain, audience=fake_kinde.client_id)
    assert validator.verify(fake_kinde.issue_id_token())["email"] == "test@example.com"
    with pytest.raises(error):
        validator.verify(fake_kinde.issue_id_token(**{flag: True}))


def test_wrong_audience_and_issuer(fake_kinde: FakeKinde) -> None:
    token = fake_kinde.issue_access_token(audience=["https://a.example", "https://b.example"])
    assert TokenValidator(fake_kinde.domain, audience="https://b.example").verify(token)
    assert TokenValidator(fake_kinde.domain).verify(
        fake_kinde.issue_access_token(wrong_audience=True)
    )["aud"] == [WRONG_AUDIENCE]
    other_issuer = TokenValidator(
        fake_kinde.domain, issuer="https://acme.kinde.com", jwks_url=fake_kinde.jwks_url
    )
    with pytest.raises(InvalidIssuerError):
        other_issuer.verify(fake_kinde.issue_access_token())


def test_the_jwks_is_fetched_once_and_counters_start_at_zero(
    kinde_validator: TokenValidator, kinde_token: Callable[..., str], fake_kinde: FakeKinde
) -> None:
    assert fake_kinde.jwks_requests == 0  # reset for each test by the fixture
    for n in range(5):
        kinde_validator.verify(kinde_token(f"kp_{n}"))
    assert fake_kinde.jwks_requests == 1
    assert fake_kinde.request_count("/.well-known/jwks.json") == 1


def test_key_rotation_is_picked_up(kinde_validator: TokenValidator, fake_kinde: FakeKinde) -> None:
    old_kid = fake_kinde.kid
    before = fake_kinde.issue_access_token()
    kinde_validator.verify(before)
    new_kid = fake_kinde.rotate_key()
    assert new_kid == fake_kinde.kid != old_kid
    assert [k["kid"] for k in fake_kinde.jwks()["keys"]] == [new_kid, old_kid]
    kinde_validator.verify(fake_kinde.issue_access_token())  # unknown kid: one refetch
    assert fake_kinde.jwks_requests == 2
    kinde_validator.verify(before)  # the old key is still published
    # Dropping the old key: a validator that never saw it refuses its tokens.
    fake_kinde.rotate_key(keep_old=False)
    fresh = TokenValidator(fake_kinde.domain, audience=fake_kinde.audience)
    with pytest.raises(UnknownKeyError):
        fresh.verify(before)


def test_rotation_with_the_default_refetch_cooldown(fake_kinde: FakeKinde) -> None:
    offset = [0.0]
    validator = TokenValidator(
        fake_kinde.domain, audience=fake_kinde.audience, clock=lambda: time.time() + offset[0]
    )
    validator.verify(fake_kinde.issue_access_token())
    fake_kinde.rotate_key()
    rotated = fake_kinde.issue_access_token()
    with pytest.raises(UnknownKeyError):  # within the 30 s cooldown: no refetch yet
        validator.verify(rotated)
    offset[0] = 31.0
    assert validator.verify(rotated)["sub"] == "kp_test"
    assert fake_kinde.jwks_requests == 2


def test_the_fixture_restores_the_key_and_login_user(fake_kinde: FakeKinde) -> None:
    # Whatever ran before (test_key_rotation_is_picked_up rotates twice, another test
    # sets login_user), each test starts from the session's key, listed alone.
    assert [k["kid"] for k in fake_kinde.jwks()["keys"]] == [fake_kinde.kid]
    assert fake_kinde.login_user == {}


def test_webhooks(kinde_validator: TokenValidator, fake_kinde: FakeKinde) -> None:
    body = fake_kinde.issue_webhook("user.created", {"user": {"id": "kp_1"}})
    event = kinde_validator.decode_webhook(body.encode())
    assert event["type"] == "user.created"
    assert event["data"] == {"user": {"id": "kp_1"}}
    assert event["event_id"].startswith("event_")
    with pytest.raises(InvalidSignatureError):
        kinde_validator.decode_webhook(
            fake_kinde.issue_webhook("user.deleted", {}, signed_by_other_key=True)
        )


def test_openid_discovery_works_unchanged(fake_kinde: FakeKinde) -> None:
    meta = _oauth(fake_kinde).get_openid_configuration()
    origin = fake_kinde.url
    assert meta["issuer"] == origin
    assert meta["jwks_uri"] == origin + "/.well-known/jwks.json"
    assert meta["authorization_endpoint"] == origin + "/oauth2/auth"
    assert meta["token_endpoint"] == origin + "/oauth2/token"
    assert meta["end_session_endpoint"] == origin + "/logout"
    assert meta["revocation_endpoint"] == origin + "/oauth2/revoke"
    assert fake_kinde.discovery_requests == 1


def test_a_full_login_through_the_authorization_code_flow(fake_kinde: FakeKinde) -> None:
    oauth = _oauth(fake_kinde)
    user = fake_kinde.login(
        oauth,
        sub="kp_ann",
        email="ann@example.com",
        given_name="Ann",
        family_name="Lee",
        org_codes=["org_1", "org_2"],
        permissions=["read:users"],
        roles=["admin"],
        org_code="org_1",
        feature_flags={"dark_mode": True, "limit": 5, "theme": "dark"},
    )
    assert user["id"] == "kp_ann" and user["email"] == "ann@example.com"
    assert oauth.is_authenticated()
    assert oauth.get_boolean_flag("dark_mode") is True
    assert oauth.get_integer_flag("limit") == 5
    assert oauth.get_string_flag("theme") == "dark"
    assert oauth.get_boolean_flag("missing", default=False) is False
    assert oauth.get_permission("read:users") == {"orgCode": "org_1", "isGranted": True}
    assert oauth.get_roles() == [{"id": "role_admin", "key": "admin", "name": "Admin"}]
    assert oauth.get_organization() == {"orgCode": "org_1"}
    assert oauth.get_user_organizations() == {"orgCodes": ["org_1", "org_2"]}
    assert oauth.get_claim("aud") == [fake_kinde.audience]

    first = oauth.get_tokens()
    assert first is not None and first["refresh_token"]
    refreshed = oauth.refresh_tokens()  # refresh-token rotation
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert oauth.get_user_info() == user

    logout_url = oauth.logout()
    assert logout_url.startswith(fake_kinde.url + "/logout?")
    assert fake_kinde.request_count("/oauth2/revoke") == 1
    assert not oauth.is_authenticated()
    # The revoked refresh token is dead at the fake, as at Kinde.
    form = {"grant_type": "refresh_token", "refresh_token": str(refreshed["refresh_token"])}
    _, answer = _post_token(fake_kinde, {**form, "client_id": fake_kinde.client_id})
    assert answer["error"] == "invalid_grant"


def test_the_authorization_endpoint_over_http_signs_in_login_user(fake_kinde: FakeKinde) -> None:
    fake_kinde.login_user = {"sub": "kp_http", "permissions": ["p"]}
    oauth = _oauth(fake_kinde)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(oauth.login())
    assert caught.value.code == 302
    location = caught.value.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["iss"] == fake_kinde.issuer
    assert oauth.handle_redirect(query["code"], query["state"], iss=query["iss"])["id"] == "kp_http"
    assert oauth.get_permission("p")["isGranted"] is True


def test_codes_are_single_use_and_bound_to_pkce(fake_kinde: FakeKinde) -> None:
    url = (
        fake_kinde.authorization_endpoint
        + "?"
        + urlencode(
            {
                "client_id": fake_kinde.client_id,
                "redirect_uri": REDIRECT_URI,
                "state": "s",
                "code_challenge": code_challenge_s256(VERIFIER),
                "code_challenge_method": "S256",
                "scope": "openid offline",
            }
        )
    )
    code = parse_qs(urlsplit(fake_kinde.authorize(url)).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": fake_kinde.client_id,
        "code_verifier": "wrong",
    }
    status, answer = _post_token(fake_kinde, form)
    assert (status, answer["error"]) == (400, "invalid_grant")
    code = parse_qs(urlsplit(fake_kinde.authorize(url, sub="kp_x")).query)["code"][0]
    form.update(code=code, code_verifier=VERIFIER)
    status, answer = _post_token(fake_kinde, form)
    assert status == 200 and answer["refresh_token"] and answer["id_token"]
    status, answer = _post_token(fake_kinde, form)  # replayed
    assert (status, answer["error"]) == (400, "invalid_grant")
    with pytest.raises(ValueError, match="client_id"):
        fake_kinde.authorize(url.replace(fake_kinde.client_id, "someone-else"))
    with pytest.raises(TypeError, match="unknown test-user field"):
        fake_kinde.authorize(url, permission=["typo"])


def _post_token(fake: FakeKinde, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        fake.token_endpoint, data=urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_management_client_fetches_its_m2m_token_from_the_fake(fake_kinde: FakeKinde) -> None:
    client = ManagementClient(fake_kinde.url, fake_kinde.client_id, fake_kinde.client_secret)
    try:
        token = client.get_access_token()
    finally:
        client.close()
    claims = TokenValidator(fake_kinde.domain, audience=fake_kinde.url + "/api").verify(token)
    assert claims["gty"] == ["client_credentials"] and claims["azp"] == fake_kinde.client_id
    assert fake_kinde.token_requests == 1
    wrong = ManagementClient(fake_kinde.url, fake_kinde.client_id, "not-the-secret")
    try:
        with pytest.raises(TokenError) as caught:
            wrong.get_access_token()
    finally:
        wrong.close()
    assert caught.value.error == "invalid_client"


def test_a_fake_of_ones_own_and_its_lifecycle() -> None:
    fake = FakeKinde(client_id="my-app", audience="https://api.acme.example")
    with pytest.raises(RuntimeError, match="not started"):
        _ = fake.url
    assert "not started" in repr(fake)
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        validator = TokenValidator(fake.domain, audience="https://api.acme.example")
        assert validator.verify(fake.issue_access_token())["azp"] == "my-app"
        assert fake.client_secret not in repr(fake)
    with pytest.raises(RuntimeError):
        _ = fake.domain


def test_the_plugin_in_a_fresh_project(tmp_path: Path) -> None:
    """As an application's suite would use it: no conftest, fixtures from the plugin."""
    (tmp_path / "test_app.py").write_text(
        textwrap.dedent(
            """
            def test_fixtures(fake_kinde, kinde_token, kinde_validator):
                claims = kinde_validator.verify(kinde_token(permissions=["a"]))
                assert claims["permissions"] == ["a"]
                assert fake_kinde.jwks_requests == 1
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
