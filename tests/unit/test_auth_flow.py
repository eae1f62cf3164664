"""The sans-I/O OAuth core (PKCE, URLs, pending logins, token responses, claims) and the
parts of ``OAuth`` that need no network (configuration, state handling)."""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from kinde_sdk._transport import Response, Transport
from kinde_sdk.auth import FlagNotFoundError, FlagTypeError, OAuth, StateError, _claims, _flow
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage, StorageManager
from kinde_sdk.errors import InvalidTokenError, KindeConfigurationError, TokenError

DOMAIN = "https://acme.kinde.example"
SECRET = "canary-client-secret-5f3a9c"
DISCOVERY = {
    "issuer": DOMAIN,
    "authorization_endpoint": f"{DOMAIN}/oauth2/auth",
    "token_endpoint": f"{DOMAIN}/oauth2/token",
    "jwks_uri": f"{DOMAIN}/.well-known/jwks.json",
    "end_session_endpoint": f"{DOMAIN}/logout",
}


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# --- PKCE, state, nonce ---------------------------------------------------------------


def test_pkce_s256_rfc7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert _flow.code_challenge_s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_generated_verifier_state_nonce() -> None:
    verifier = _flow.new_code_verifier()
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len({_flow.new_state() for _ in range(50)}) == 50
    assert len({_flow.new_nonce() for _ in range(50)}) == 50
    with pytest.raises(ValueError):
        _flow.code_challenge_s256("short")


# --- authorization URL ----------------------------------------------------------------


def build(**options: Any) -> dict[str, str]:
    url = _flow.build_authorization_url(
        f"{DOMAIN}/oauth2/auth",
        client_id="cid",
        redirect_uri="https://app.example/callback",
        scopes=_flow.DEFAULT_SCOPES,
        state="s1",
        nonce="n1",
        code_challenge="c1",
        options=options,
    )
    assert url.startswith(f"{DOMAIN}/oauth2/auth?")
    return query_of(url)


def test_authorization_url_core_params() -> None:
    assert build() == {
        "response_type": "code",
        "client_id": "cid",
        "redirect_uri": "https://app.example/callback",
        "scope": "openid profile email offline_access",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": "c1",
        "code_challenge_method": "S256",
    }


def test_authorization_url_kinde_params_and_extras() -> None:
    query = build(
        org_code="org_1",
        org_name="Acme & Co",
        is_create_org=True,
        prompt="create",
        lang="fr",
        login_hint="a@b.example",
        connection_id="conn_1",
        audience=["https://api.one", "https://api.two"],
        scope="openid email",
        invitation_code="inv_1",
        plan_interest="pro",
        pricing_table_key="tbl",
        has_success_page=False,
        redirect_url="https://app.example/after",
        custom_extra="x",
        skipped=None,
    )
    assert query["org_code"] == "org_1"
    assert query["org_name"] == "Acme & Co"
    assert query["is_create_org"] == "true"
    assert query["has_success_page"] == "false"
    assert query["prompt"] == "create"
    assert query["lang"] == "fr"
    assert query["login_hint"] == "a@b.example"
    assert query["connection_id"] == "conn_1"
    assert query["audience"] == "https://api.one https://api.two"
    assert query["scope"] == "openid email"
    assert query["invitation_code"] == "inv_1"
    assert query["plan_interest"] == "pro"
    assert query["pricing_table_key"] == "tbl"
    assert query["redirect_url"] == "https://app.example/after"
    assert query["custom_extra"] == "x"
    assert "skipped" not in query


@pytest.mark.parametrize("name", ["state", "nonce", "code_challenge", "client_id", "redirect_uri"])
def test_flow_params_cannot_be_overridden(name: str) -> None:
    with pytest.raises(KindeConfigurationError):
        build(**{name: "evil"})


def test_scopes_normalized() -> None:
    assert _flow.normalize_scopes(None) == ("openid", "profile", "email", "offline_access")
    assert _flow.normalize_scopes("openid  email openid") == ("openid", "email")
    assert _flow.normalize_scopes(["openid", "profile"]) == ("openid", "profile")
    with pytest.raises(KindeConfigurationError):
        _flow.normalize_scopes("")
    with pytest.raises(KindeConfigurationError):
        _flow.normalize_scopes(["open id"])


# --- pending logins -------------------------------------------------------------------


def test_start_login_binds_url_and_record() -> None:
    request = _flow.start_login(
        f"{DOMAIN}/oauth2/auth",
        client_id="cid",
        redirect_uri="https://app.example/cb",
        scopes=("openid",),
        now=1000.0,
    )
    query = query_of(request.url)
    pending = request.pending
    assert query["state"] == pending.state
    assert query["nonce"] == pending.nonce
    assert query["code_challenge"] == _flow.code_challenge_s256(pending.code_verifier)
    assert pending.created_at == 1000.0
    assert _flow.PendingLogin.from_json(json.loads(json.dumps(pending.to_json()))) == pending
    for secret in (pending.nonce, pending.code_verifier, pending.state):
        assert secret not in repr(pending) and secret not in repr(request)


def test_pending_expiry_and_state_match() -> None:
    pending = _flow.PendingLogin("s", "n", "v" * 43, "https://app.example/cb", 1000.0)
    pending.check("s", 1000.0 + 600, 600)  # exactly at the limit: still valid
    with pytest.raises(StateError, match="expired"):
        pending.check("s", 1000.0 + 600.5, 600)
    with pytest.raises(StateError):
        pending.check("other", 1000.0, 600)
    with pytest.raises(StateError):
        _flow.PendingLogin.from_json({"state": "s"})


# --- token responses ------------------------------------------------------------------


def test_parse_token_response_success() -> None:
    body = json.dumps(
        {
            "access_token": "secret-access",
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": "secret-refresh",
            "id_token": "secret-id",
            "scope": "openid",
        }
    ).encode()
    tokens = _flow.parse_token_response(200, body, now=100.0)
    assert tokens.access_token == "secret-access"
    assert tokens.expires_at == 3700.0
    assert tokens.refresh_token == "secret-refresh" and tokens.id_token == "secret-id"
    assert "secret" not in repr(tokens)


def test_parse_token_response_oauth_error() -> None:
    body = b'{"error": "invalid_grant", "error_description": "grant request is invalid"}'
    with pytest.raises(TokenError) as info:
        _flow.parse_token_response(400, body, now=0)
    assert info.value.error == "invalid_grant"
    assert info.value.error_description == "grant request is invalid"
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b"<html>oops</html>"),
        (200, b"not json"),
        (200, b'{"token_type": "Bearer"}'),
        (200, b'{"access_token": "secret-at-123", "token_type": "mac"}'),
        (200, b'{"access_token": "secret-at-123", "token_type": "Bearer", "expires_in": "x"}'),
    ],
)
def test_parse_token_response_bad(status: int, body: bytes) -> None:
    with pytest.raises(TokenError) as info:
        _flow.parse_token_response(status, body, now=0)
    assert "secret-at-123" not in str(info.value)
    assert info.value.status == status


def test_check_nonce() -> None:
    _flow.check_nonce({"nonce": "abc"}, "abc")
    with pytest.raises(InvalidTokenError):
        _flow.check_nonce({"nonce": "abd"}, "abc")
    with pytest.raises(InvalidTokenError):
        _flow.check_nonce({}, "abc")


def test_forms_and_end_session_url() -> None:
    pending = _flow.PendingLogin("s", "n", "v" * 43, "https://app.example/cb", 0.0)
    form = dict(
        _flow.authorization_code_form(
            code="c", pending=pending, client_id="cid", client_secret="sec"
        )
    )
    assert form == {
        "grant_type": "authorization_code",
        "code": "c",
        "redirect_uri": "https://app.example/cb",
        "code_verifier": "v" * 43,
        "client_id": "cid",
        "client_secret": "sec",
    }
    url = _flow.end_session_url(
        f"{DOMAIN}/logout",
        client_id="cid",
        post_logout_redirect_uri="https://app.example/",
        id_token_hint="idt",
    )
    assert query_of(url) == {
        "client_id": "cid",
        "id_token_hint": "idt",
        "post_logout_redirect_uri": "https://app.example/",
        "redirect": "https://app.example/",
    }


# --- claims ---------------------------------------------------------------------------

CLAIMS = {
    "org_code": "org_1",
    "permissions": ["a", "b"],
    "roles": [{"id": "r1", "key": "admin", "name": "Admin"}],
    "feature_flags": {
        "flag_b": {"t": "b", "v": False},
        "flag_s": {"t": "s", "v": "x"},
        "flag_i": {"t": "i", "v": 0},
        "bad": {"t": "b", "v": "true"},
    },
}


def test_claims_shapes() -> None:
    assert _claims.permission(CLAIMS, "a") == {"orgCode": "org_1", "isGranted": True}
    assert _claims.permission({}, "a") == {"orgCode": None, "isGranted": False}
    assert _claims.permissions(CLAIMS) == {"orgCode": "org_1", "permissions": ["a", "b"]}
    assert _claims.roles(CLAIMS) == [{"id": "r1", "key": "admin", "name": "Admin"}]
    assert _claims.organization(CLAIMS) == {"orgCode": "org_1"}
    assert _claims.user_organizations({"org_codes": ["x", 1]}) == {"orgCodes": ["x"]}


def test_flags() -> None:
    flag = _claims.get_flag(CLAIMS, "flag_b", flag_type="boolean")
    assert flag == {"code": "flag_b", "type": "boolean", "value": False, "is_default": False}
    assert _claims.get_flag(CLAIMS, "flag_i", flag_type="i")["value"] == 0
    assert _claims.get_flag(CLAIMS, "flag_s")["value"] == "x"
    missing = _claims.get_flag(CLAIMS, "nope", default=True, flag_type="b")
    assert missing == {"code": "nope", "type": "boolean", "value": True, "is_default": True}
    with pytest.raises(FlagNotFoundError):
        _claims.get_flag(CLAIMS, "nope")
    with pytest.raises(FlagTypeError, match="is a boolean, not a string"):
        _claims.get_flag(CLAIMS, "flag_b", flag_type="s")
    with pytest.raises(FlagTypeError, match="malformed"):
        _claims.get_flag(CLAIMS, "bad")
    with pytest.raises(FlagTypeError):
        _claims.get_flag(CLAIMS, "nope", default="yes", flag_type="b")
    with pytest.raises(FlagTypeError):
        _claims.get_flag(CLAIMS, "flag_b", flag_type="float")


# --- OAuth without a network ----------------------------------------------------------


class DiscoveryOnly(Transport):
    """Answers the discovery request; any other request fails the test."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        self.calls.append(url)
        assert url == f"{DOMAIN}/.well-known/openid-configuration", url
        return Response(
            status=200,
            headers={},
            data=json.dumps(DISCOVERY).encode(),
            request_id="r",
            raw=urllib3.HTTPResponse(body=b""),
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Optional[Clock] = None, **kwargs: Any) -> OAuth:
    settings: dict[str, Any] = {
        "client_id": "cid",
        "client_secret": SECRET,
        "redirect_uri": "https://app.example/cb",
        "host": DOMAIN,
        "storage": NamespacedStorage(MemoryStorage()),
        "transport": DiscoveryOnly(),
        **kwargs,
    }
    if clock is not None:
        settings["clock"] = clock
    return OAuth(**settings)


@pytest.fixture(autouse=True)
def no_kinde_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "KINDE_CLIENT_ID",
        "KINDE_CLIENT_SECRET",
        "KINDE_REDIRECT_URI",
        "KINDE_HOST",
        "KINDE_DOMAIN",
        "KINDE_AUDIENCE",
        "KINDE_LOGOUT_REDIRECT_URI",
        "KINDE_SCOPES",
    ):
        monkeypatch.delenv(name, raising=False)


def test_missing_client_id_is_named_at_construction() -> None:
    with pytest.raises(KindeConfigurationError, match="client_id"):
        OAuth(client_secret=SECRET, storage=MemoryStorage())


@pytest.mark.parametrize("missing", ["redirect_uri", "host"])
def test_missing_flow_setting_is_named_when_a_flow_needs_it(missing: str) -> None:
    settings = {
        "client_id": "cid",
        "client_secret": SECRET,
        "redirect_uri": "https://app.example/cb",
        "host": DOMAIN,
    }
    del settings[missing]
    # The Kinde README builds OAuth with a client id only (storage examples): fine...
    oauth = OAuth(**settings, storage=MemoryStorage())
    assert not oauth.is_authenticated()
    # ...and the first flow that needs the setting names it.
    with pytest.raises(KindeConfigurationError, match=missing) as info:
        oauth.login()
    assert SECRET not in str(info.value)


def test_readme_storage_examples_construct_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    from kinde_sdk.core.storage import StorageManager

    OAuth(client_id="your_client_id", client_secret=SECRET, redirect_uri="your_redirect_uri")
    assert StorageManager()._initialized
    OAuth(client_id="your_client_id", storage_config={"type": "memory", "options": {}})


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINDE_CLIENT_ID", "env-id")
    monkeypatch.setenv("KINDE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("KINDE_REDIRECT_URI", "https://app.example/cb")
    monkeypatch.setenv("KINDE_DOMAIN", "acme.kinde.example")
    monkeypatch.setenv("KINDE_AUDIENCE", "https://api.example")
    monkeypatch.setenv("KINDE_SCOPES", "openid email")
    oauth = OAuth(storage=MemoryStorage())
    assert oauth.client_id == "env-id"
    assert oauth.domain == "https://acme.kinde.example"
    assert oauth.audience == "https://api.example"
    assert oauth.scopes == ("openid", "email")
    assert SECRET not in repr(oauth)
    monkeypatch.setenv("KINDE_HOST", "https://other.kinde.example")
    assert OAuth(storage=MemoryStorage()).domain == "https://other.kinde.example"


def test_framework_arguments_are_checked() -> None:
    # The integrations themselves: tests/integration/test_frameworks_*.py.
    with pytest.raises(KindeConfigurationError, match="unknown framework"):
        make(framework="bottle")
    with pytest.raises(KindeConfigurationError, match="need framework="):
        make(app=object())


def test_default_storage_is_the_storage_manager() -> None:
    manager = StorageManager()
    manager.reset()
    try:
        oauth = make(storage=None, storage_config={"type": "memory"})
        assert manager._initialized
        oauth.login()
        assert any(
            k.split(":", 2)[2].startswith(_flow.PENDING_PREFIX)
            for k in manager.storage.backend.keys("")
        )
    finally:
        manager.reset()


def test_login_register_create_org_urls() -> None:
    oauth = make(audience="https://api.example")
    login = query_of(oauth.login(org_code="org_1"))
    assert login["audience"] == "https://api.example"
    assert login["org_code"] == "org_1"
    assert "prompt" not in login
    assert query_of(oauth.register())["prompt"] == "create"
    org = query_of(oauth.create_org(org_name="Acme"))
    assert org["is_create_org"] == "true" and org["org_name"] == "Acme"
    assert org["prompt"] == "create"
    # discovery is fetched once and cached
    assert len(oauth._transport.calls) == 1  # type: ignore[attr-defined]


def test_two_concurrent_attempts_do_not_overwrite_each_other() -> None:
    oauth = make()
    first = query_of(oauth.login())
    second = query_of(oauth.login())
    assert first["state"] != second["state"]
    assert first["nonce"] != second["nonce"]
    assert first["code_challenge"] != second["code_challenge"]
    one = oauth._take_pending(first["state"])
    two = oauth._take_pending(second["state"])
    assert one.nonce == first["nonce"]
    assert two.nonce == second["nonce"]
    assert _flow.code_challenge_s256(two.code_verifier) == second["code_challenge"]


def test_state_is_single_use() -> None:
    oauth = make()
    state = query_of(oauth.login())["state"]
    oauth._take_pending(state)
    with pytest.raises(StateError, match="unknown or already used"):
        oauth._take_pending(state)


def test_missing_and_unknown_state_rejected_before_any_request() -> None:
    oauth = make()
    oauth.login()
    with pytest.raises(StateError, match="no state"):
        oauth.handle_redirect("code", None)
    with pytest.raises(StateError, match="unknown"):
        oauth.handle_redirect("code", "never-issued")


def test_expired_state_rejected_and_consumed() -> None:
    clock = Clock()
    oauth = make(clock, pending_ttl=60)
    state = query_of(oauth.login())["state"]
    clock.now += 61
    with pytest.raises(StateError, match="expired"):
        oauth.handle_redirect("code", state)
    with pytest.raises(StateError, match="unknown or already used"):
        oauth.handle_redirect("code", state)


def test_client_secret_never_stored() -> None:
    storage = NamespacedStorage(MemoryStorage())
    oauth = make(storage=storage)
    oauth.login()
    oauth.register()
    stored = json.dumps({k: storage.backend.get(k) for k in storage.backend.keys("")})
    assert SECRET not in stored
    assert SECRET not in repr(oauth)


def test_not_authenticated_helpers() -> None:
    oauth = make()
    assert not oauth.is_authenticated()
    assert oauth.get_access_token() is None
    assert oauth.get_user_info() is None
    assert oauth.get_tokens() is None
    assert oauth.get_claim("sub") is None
    assert oauth.get_permission("a") == {"orgCode": None, "isGranted": False}
    assert oauth.get_boolean_flag("x", default=True) is True
    with pytest.raises(FlagNotFoundError):
        oauth.get_boolean_flag("x")
    with pytest.raises(ValueError):
        oauth.get_claim("sub", token="refresh_token")
