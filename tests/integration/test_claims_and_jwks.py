"""Verified claims with attribute access, ``get_jwks()``, validators as context managers."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from kinde_sdk.auth import (
    AsyncTokenValidator,
    Claims,
    ClientCredentials,
    FlagNotFoundError,
    JsonWebKeySet,
    Role,
    TokenValidator,
)
from kinde_sdk.errors import JWKSFetchError
from kinde_sdk.testing import FakeKinde


def token_for(fake: FakeKinde, **extra: Any) -> str:
    return fake.issue_access_token(
        "kp_42",
        permissions=["read:items", "write:items"],
        roles=["admin"],
        org_code="org_1",
        feature_flags={"dark_mode": True},
        extra_claims={"email": "jane@example.com", **extra},
    )


def test_verify_returns_claims_with_attributes_and_mapping_access(
    fake_kinde: FakeKinde, kinde_validator: TokenValidator
) -> None:
    claims = kinde_validator.verify(token_for(fake_kinde))
    assert isinstance(claims, Claims) and isinstance(claims, dict)
    assert claims.sub == "kp_42" == claims["sub"]
    assert claims.email == "jane@example.com"
    assert claims.permissions == ["read:items", "write:items"]
    assert claims.org_code == "org_1"
    assert claims.iss == fake_kinde.issuer
    assert claims.aud == [fake_kinde.audience]
    assert claims.roles == [Role(key="admin", id=claims["roles"][0]["id"], name="Admin")]
    assert claims.has_permission("read:items") and not claims.has_permission("delete:items")
    assert claims.has_role("admin") and not claims.has_role("owner")
    assert claims.get_flag("dark_mode") is True
    with pytest.raises(FlagNotFoundError):
        claims.get_flag("missing")
    assert claims.scopes == ["openid", "profile", "email", "offline"]
    assert claims.exp is not None and claims.expires_at is not None
    assert claims.expires_at.timestamp() == claims.exp
    # the raw dict is kept: same content, a plain dict, and JSON as before
    assert type(claims.raw) is dict and claims.raw == claims
    assert json.loads(json.dumps(claims)) == claims.raw


def test_cached_verification_returns_claims_too(
    fake_kinde: FakeKinde, kinde_validator: TokenValidator
) -> None:
    token = token_for(fake_kinde)
    first = kinde_validator.verify(token)
    second = kinde_validator.verify(token)
    assert kinde_validator.cache_info().hits == 1
    assert isinstance(second, Claims) and second == first and second is not first


def test_missing_or_mistyped_claims_read_as_absent() -> None:
    claims = Claims(
        {"sub": "kp_1", "iss": "https://x", "permissions": "not-a-list", "roles": [{"id": 1}]}
    )
    assert claims.email is None and claims.org_code is None
    assert claims.permissions == []
    assert claims.roles == [] and claims.org_codes == [] and claims.feature_flags == {}
    assert claims["permissions"] == "not-a-list"  # the mapping keeps what was signed
    assert Claims({"exp": float("inf")}).exp is None
    with pytest.raises(KeyError, match="'sub'"):
        Claims({}).sub  # noqa: B018
    assert repr(Claims({"sub": "kp_1"})) == "Claims({'sub': 'kp_1'})"


def test_get_jwks_returns_the_cached_key_set(
    fake_kinde: FakeKinde, kinde_validator: TokenValidator
) -> None:
    before = fake_kinde.jwks_requests
    jwks = kinde_validator.get_jwks()
    assert isinstance(jwks, JsonWebKeySet)
    assert [key.kid for key in jwks.keys] == [fake_kinde.kid]
    assert jwks.keys[0].alg == "RS256" and jwks.keys[0].kty == "RSA"
    assert jwks.to_dict() == fake_kinde.jwks()
    assert fake_kinde.jwks_requests == before + 1
    kinde_validator.verify(token_for(fake_kinde))  # uses the same cached keys
    assert kinde_validator.get_jwks() == jwks
    assert fake_kinde.jwks_requests == before + 1


def test_get_jwks_refetches_past_the_ttl(fake_kinde: FakeKinde) -> None:
    now = [1_000_000.0]
    validator = TokenValidator(
        fake_kinde.domain, jwks_cache_ttl=60, jwks_cooldown=0, clock=lambda: now[0]
    )
    old = validator.get_jwks().kids
    new_kid = fake_kinde.rotate_key(keep_old=False)
    assert validator.get_jwks().kids == old  # fresh: no request
    now[0] += 61
    assert validator.get_jwks().kids == [new_kid]


def test_get_jwks_without_any_keys_raises(fake_kinde: FakeKinde) -> None:
    validator = TokenValidator(
        fake_kinde.domain, jwks_url=fake_kinde.url + "/nothing-here", jwks_cooldown=0
    )
    with pytest.raises(JWKSFetchError):
        validator.get_jwks()


def test_async_validator_verify_and_get_jwks(fake_kinde: FakeKinde) -> None:
    async def main() -> None:
        async with AsyncTokenValidator(fake_kinde.domain, fake_kinde.audience) as validator:
            claims = await validator.verify(token_for(fake_kinde))
            assert isinstance(claims, Claims) and claims.org_code == "org_1"
            jwks = await validator.get_jwks()
            assert jwks.kids == [fake_kinde.kid]

    anyio.run(main)


def test_token_validator_is_a_context_manager(fake_kinde: FakeKinde) -> None:
    with TokenValidator(fake_kinde.domain, fake_kinde.audience) as validator:
        token = token_for(fake_kinde)
        assert validator.verify(token).sub == "kp_42"
        assert validator.cache_info().currsize == 1
    assert validator.cache_info().currsize == 0  # closed: verified tokens forgotten


def test_client_credentials_is_a_context_manager(fake_kinde: FakeKinde) -> None:
    with ClientCredentials(
        fake_kinde.domain, fake_kinde.client_id, fake_kinde.client_secret
    ) as client:
        token = client.get_access_token()
        assert client.get_access_token() == token
    assert client._provider is None
