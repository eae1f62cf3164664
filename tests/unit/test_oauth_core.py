"""The core shared by OAuth and AsyncOAuth, stepped without a network: the refresh
decisions, the record flow (a generator asking for verifications), discovery parsing
and the grant type."""

from __future__ import annotations

from typing import Any

import pytest

from kinde_sdk.auth._flow import TokenSet
from kinde_sdk.auth._oauth_core import OAuthCore, parse_discovery
from kinde_sdk.auth.oauth import normalize_grant_type
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.enums import GrantType
from kinde_sdk.errors import InvalidTokenError, KindeConfigurationError, KindeConnectionError

NOW = 1_800_000_000.0


def core(**options: Any) -> OAuthCore:
    return OAuthCore(
        client_id="client",
        host="https://acme.kinde.com",
        storage=NamespacedStorage(MemoryStorage()),
        clock=lambda: NOW,
        **options,
    )


def record(expires_in: float, refresh: bool = True, access: str = "at-1") -> dict[str, Any]:
    return {
        "access_token": access,
        "expires_at": NOW + expires_in,
        "refresh_token": "rt" if refresh else None,
        "id_token_claims": {"sub": "alice"},
        "access_token_claims": {"permissions": ["read"]},
    }


def test_refresh_due_decisions() -> None:
    c = core(refresh_margin=60)
    assert c._refresh_due(None) == (None, False)
    fresh = record(3600)
    assert c._refresh_due(fresh) == (fresh, False)
    soon = record(30)
    assert c._refresh_due(soon) == (soon, True)  # within the margin
    no_refresh_soon = record(30, refresh=False)
    assert c._refresh_due(no_refresh_soon) == (no_refresh_soon, False)  # still valid
    assert c._refresh_due(record(-1, refresh=False)) == (None, False)  # expired, no way out


@pytest.mark.parametrize("setting", ["refresh_margin", "pending_ttl"])
@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), True, "60"])
def test_durations_must_be_finite_seconds(setting: str, value: Any) -> None:
    # A NaN refresh_margin was accepted: no token was ever due, expired ones were served.
    with pytest.raises(KindeConfigurationError, match=setting):
        core(**{setting: value})


def test_still_due_after_waiting() -> None:
    c = core(refresh_margin=60)
    seen = record(30)
    assert c._still_due(seen, None) == (None, False)  # session ended meanwhile
    other = record(3600, access="at-2")
    assert c._still_due(seen, other) == (other, False)  # someone else refreshed
    assert c._still_due(seen, dict(seen)) == (seen, True)


def test_record_flow_asks_for_each_verification() -> None:
    c = core()
    tokens = TokenSet(
        access_token="a.b.c", token_type="Bearer", expires_at=NOW + 10, id_token="i.d.t"
    )
    flow = c._record_flow(tokens, nonce="n-1", previous=None)
    assert next(flow) == ("id_token", "i.d.t")
    assert flow.send({"sub": "alice", "nonce": "n-1"}) == ("access_token", "a.b.c")
    with pytest.raises(StopIteration) as done:
        flow.send({"permissions": ["read"]})
    built = done.value.value
    assert built["id_token_claims"]["sub"] == "alice"
    assert built["access_token_claims"] == {"permissions": ["read"]}
    # a wrong nonce stops the flow
    flow = c._record_flow(tokens, nonce="n-1", previous=None)
    next(flow)
    with pytest.raises(InvalidTokenError, match="nonce"):
        flow.send({"sub": "alice", "nonce": "other"})


def test_record_flow_refresh_keeps_old_refresh_token_and_user() -> None:
    c = core()
    previous = {**record(0), "id_token": "old.id.token"}
    opaque = TokenSet(access_token="opaque", token_type="Bearer", expires_at=NOW + 10)
    flow = c._record_flow(opaque, nonce=None, previous=previous)
    with pytest.raises(StopIteration) as done:
        next(flow)  # nothing to verify: no ID token, access token not a JWT
    assert done.value.value["refresh_token"] == "rt"
    assert done.value.value["id_token"] == "old.id.token"
    other_user = TokenSet(access_token="x", token_type="Bearer", expires_at=None, id_token="i")
    flow = c._record_flow(other_user, nonce=None, previous=previous)
    next(flow)
    with pytest.raises(InvalidTokenError, match="different user"):
        flow.send({"sub": "mallory"})


def test_claims_of_an_expired_access_token_are_not_served() -> None:
    c = core()
    c._storage.set(c._tokens_key, record(3600))
    assert c.get_permission("read")["isGranted"] is True
    c._storage.set(c._tokens_key, record(-1))
    assert c.get_permission("read")["isGranted"] is False
    assert c.get_claim("sub", token="id_token") == "alice"  # the ID token's are kept
    with pytest.raises(ValueError):
        c.get_claim("sub", token="refresh_token")


def test_parse_discovery() -> None:
    good = {
        "issuer": "https://acme.kinde.com",
        "authorization_endpoint": "https://acme.kinde.com/oauth2/auth",
        "token_endpoint": "https://acme.kinde.com/oauth2/token",
        "jwks_uri": "https://acme.kinde.com/.well-known/jwks.json",
    }
    assert parse_discovery("u", 200, dict(good)) == good
    with pytest.raises(KindeConnectionError, match="HTTP 500"):
        parse_discovery("u", 500, good)
    with pytest.raises(KindeConnectionError, match="JSON"):
        parse_discovery("u", 200, None)
    with pytest.raises(KindeConnectionError, match="jwks_uri"):
        parse_discovery("u", 200, {**good, "jwks_uri": ""})
    with pytest.raises(KindeConnectionError, match="https"):
        parse_discovery("u", 200, {**good, "token_endpoint": "http://evil.example/token"})


def test_grant_types() -> None:
    assert normalize_grant_type(None) is GrantType.AUTHORIZATION_CODE
    assert normalize_grant_type("client_credentials") is GrantType.CLIENT_CREDENTIALS
    assert normalize_grant_type(GrantType.AUTHORIZATION_CODE_WITH_PKCE) is (
        GrantType.AUTHORIZATION_CODE_WITH_PKCE
    )
    for bad in ("password", GrantType.REFRESH_TOKEN):
        with pytest.raises(KindeConfigurationError):
            normalize_grant_type(bad)


def test_async_oauth_checks_settings_before_any_request() -> None:
    pytest.importorskip("httpx")
    import asyncio

    from kinde_sdk.auth import AsyncOAuth

    async def run() -> None:
        async with AsyncOAuth(
            client_id="client",
            host="https://acme.kinde.com",
            storage=NamespacedStorage(MemoryStorage()),
        ) as oauth:
            with pytest.raises(KindeConfigurationError, match="redirect_uri"):
                await oauth.login()
            assert not oauth.is_authenticated()
            assert await oauth.get_access_token() is None

    asyncio.run(run())
