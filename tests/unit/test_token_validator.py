"""TokenValidator and its pure core without a network: the JWKS comes from a fake
transport, time from an injected clock."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Optional

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

import kinde_sdk.errors as errors
from kinde_sdk._transport import Response
from kinde_sdk.auth import TokenValidator, decode_token, decode_token_unverified
from kinde_sdk.auth._jwks import JWKSCache, KeySet, parse_jwks
from kinde_sdk.auth._jwt_core import ClaimsPolicy, check_claims, parse_header
from kinde_sdk.auth._token_lru import VerifiedToken, VerifiedTokenCache
from kinde_sdk.errors import (
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidTokenError,
    JWKSFetchError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
)

DOMAIN = "https://acme.kinde.com"
NOW = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeTransport:
    """Answers every GET with ``document`` (or raises ``error``) and counts the calls."""

    def __init__(self, document: Any, status: int = 200) -> None:
        self.document = document
        self.status = status
        self.error: Optional[Exception] = None
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        assert method == "GET"
        self.calls += 1
        if self.error is not None:
            raise self.error
        data = json.dumps(self.document).encode()
        return Response(status=self.status, headers={}, data=data, request_id="r", raw=None)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str = "r1", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, alg="RS256", use="sig")
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": DOMAIN, "sub": "kp_1", "iat": int(NOW), "exp": int(NOW) + 60}
    base.update(overrides)
    return base


# --- configuration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithms",
    [("HS256",), ("RS256", "HS512"), ("hs384",), ("none",), ("None",), (), ("RS1",), "RS256"],
    ids=str,
)
def test_symmetric_none_unknown_or_empty_algorithms_are_refused(algorithms: Any) -> None:
    with pytest.raises(KindeConfigurationError):
        TokenValidator(DOMAIN, algorithms=algorithms, transport=FakeTransport({}))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"domain": "http://acme.kinde.com"}, "http"),
        ({"jwks_url": "http://keys.example.com/jwks"}, "https"),
        ({"jwks_url": "https://user:pw@keys.example.com/jwks"}, "credentials"),
        ({"leeway": -1}, "leeway"),
        ({"leeway": float("nan")}, "leeway"),
        ({"jwks_cache_ttl": 0}, "jwks_cache_ttl"),
        ({"jwks_cooldown": -5}, "jwks_cooldown"),
        ({"max_cached_tokens": -1}, "max_cached_tokens"),
        ({"audience": ""}, "audience"),
        ({"audience": []}, "audience"),
        ({"issuer": " "}, "issuer"),
    ],
)
def test_invalid_settings_fail_at_construction(kwargs: dict[str, Any], match: str) -> None:
    options: dict[str, Any] = {"domain": DOMAIN, "transport": FakeTransport({})}
    options.update(kwargs)
    with pytest.raises(KindeConfigurationError, match=match):
        TokenValidator(**options)


def test_defaults_follow_the_domain() -> None:
    validator = TokenValidator("acme.kinde.com", "api", transport=FakeTransport({}))
    assert validator.issuer == DOMAIN
    assert validator.jwks_url == DOMAIN + "/.well-known/jwks.json"
    assert validator.algorithms == ("RS256",)
    assert validator.audience == ("api",)
    assert validator.leeway == 30
    assert validator.cache_info().maxsize == 1024
    assert "acme.kinde.com" in repr(validator)

    custom = TokenValidator(
        "127.0.0.1:8080",
        issuer="https://auth.example.com",
        jwks_url="http://localhost:9/keys",
        transport=FakeTransport({}),
    )
    assert custom.issuer == "https://auth.example.com"
    assert custom.jwks_url == "http://localhost:9/keys"


def test_importing_kinde_sdk_auth_does_not_load_pyjwt() -> None:
    code = (
        "import sys, kinde_sdk.auth as auth; "
        "assert 'jwt' not in sys.modules and 'cryptography' not in sys.modules; "
        "auth.TokenValidator; assert 'jwt' in sys.modules; print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "ok", result.stderr


def test_new_errors_form_one_tree_and_are_exported() -> None:
    token_errors = [
        "MalformedTokenError",
        "InvalidAlgorithmError",
        "InvalidSignatureError",
        "UnknownKeyError",
        "InvalidIssuerError",
        "InvalidAudienceError",
        "TokenExpiredError",
        "TokenNotYetValidError",
    ]
    for name in [*token_errors, "InvalidTokenError", "JWKSFetchError"]:
        assert name in errors.__all__
        assert issubclass(getattr(errors, name), KindeError)
    for name in token_errors:
        assert issubclass(getattr(errors, name), InvalidTokenError)
    assert not issubclass(JWKSFetchError, InvalidTokenError)


# --- verification without a network --------------------------------------------------------


def test_verify_with_a_fake_transport(rsa_key: rsa.RSAPrivateKey) -> None:
    transport = FakeTransport({"keys": [rsa_jwk(rsa_key)]})
    validator = TokenValidator(DOMAIN, transport=transport, clock=Clock())  # type: ignore[arg-type]
    token = jwt.encode(claims(aud=["anything"]), rsa_key, "RS256", {"kid": "r1"})
    assert validator.verify(token)["sub"] == "kp_1"
    assert transport.calls == 1


@pytest.mark.parametrize("alg", ["PS256", "ES256", "ES384", "EdDSA"])
def test_other_asymmetric_algorithms(alg: str) -> None:
    private: Any
    if alg == "PS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    elif alg.startswith("ES"):
        private = ec.generate_private_key(ec.SECP256R1() if alg == "ES256" else ec.SECP384R1())
        jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    else:
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk["kid"] = "x"  # no "alg": the algorithm is inferred from kty/crv
    validator = TokenValidator(
        DOMAIN,
        algorithms=("RS256", alg),
        transport=FakeTransport({"keys": [jwk]}),  # type: ignore[arg-type]
        clock=Clock(),
    )
    token = jwt.encode(claims(), private, alg, {"kid": "x"})
    assert validator.verify(token)["sub"] == "kp_1"


def test_decode_token_does_not_verify(rsa_key: rsa.RSAPrivateKey) -> None:
    assert decode_token is decode_token_unverified
    assert "WITHOUT" in (decode_token_unverified.__doc__ or "")
    expired_and_unknown = jwt.encode(claims(exp=1), rsa_key, "RS256", {"kid": "nobody"})
    assert decode_token(expired_and_unknown) == claims(exp=1)
    assert decode_token(expired_and_unknown.encode())["exp"] == 1
    unsigned = jwt.encode(claims(), None, algorithm="none")
    assert decode_token_unverified(unsigned)["sub"] == "kp_1"


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "e30.W10.sig", "W10.e30.sig", "e30..sig", "ünï.cödé.x", 42]
)
def test_decode_token_rejects_what_does_not_decode(token: Any) -> None:
    with pytest.raises(MalformedTokenError):
        decode_token(token)


# --- pure pieces -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"kid": "a"}, "alg"),
        ({"alg": "", "kid": "a"}, "alg"),
        ({"alg": "RS256", "kid": 7}, "kid"),
    ],
)
def test_parse_header_requires_alg_and_a_string_kid(header: dict[str, Any], message: str) -> None:
    import base64

    segment = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    with pytest.raises(MalformedTokenError, match=message):
        parse_header(f"{segment}.e30.c2ln")


POLICY = ClaimsPolicy(issuer=DOMAIN, audience=("api",), leeway=0)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"aud": "api"}, None),
        ({"aud": ["x", "api"]}, None),
        ({"aud": "other"}, InvalidAudienceError),
        ({"aud": [1, 2]}, InvalidAudienceError),
        ({"aud": {"api": True}}, InvalidAudienceError),
        ({"aud": "api", "iss": DOMAIN + "/"}, InvalidIssuerError),
        ({"aud": "api", "iss": 5}, InvalidIssuerError),
        ({"aud": "api", "exp": True}, MalformedTokenError),
        ({"aud": "api", "iat": "yesterday"}, MalformedTokenError),
        ({"aud": "api", "iat": NOW + 3600}, TokenNotYetValidError),  # issued in the future
        ({"aud": "api", "iat": NOW}, None),
        ({"aud": "api", "exp": float("nan")}, MalformedTokenError),  # NaN never compares
        ({"aud": "api", "exp": float("inf")}, MalformedTokenError),
        ({"aud": "api", "nbf": float("-inf")}, MalformedTokenError),
        ({"aud": "api", "iat": float("nan")}, MalformedTokenError),
        ({"aud": "api", "exp": NOW}, TokenExpiredError),
        ({"aud": "api", "nbf": NOW + 1}, TokenNotYetValidError),
    ],
)
def test_check_claims(overrides: dict[str, Any], expected: Optional[type[Exception]]) -> None:
    token_claims = claims(**overrides)
    if expected is None:
        check_claims(token_claims, POLICY, NOW)
    else:
        with pytest.raises(expected):
            check_claims(token_claims, POLICY, NOW)


def test_iat_within_the_leeway_passes_and_beyond_it_fails() -> None:
    policy = ClaimsPolicy(issuer=DOMAIN, audience=("api",), leeway=30)
    check_claims(claims(aud="api", iat=NOW + 30), policy, NOW)
    with pytest.raises(TokenNotYetValidError, match="iat"):
        check_claims(claims(aud="api", iat=NOW + 31), policy, NOW)
    # Webhooks judge their iat against their own window (see the webhook checks).
    webhooks = ClaimsPolicy(DOMAIN, None, 30, require_exp=False, reject_future_iat=False)
    check_claims(claims(iat=NOW + 31), webhooks, NOW)


def test_a_signed_token_with_exp_nan_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    # The whole path: json.dumps writes NaN, PyJWT signs it, the validator parses it back.
    token = jwt.encode(claims(exp=float("nan")), rsa_key, algorithm="RS256", headers={"kid": "r1"})
    transport = FakeTransport({"keys": [rsa_jwk(rsa_key)]})
    validator = TokenValidator(DOMAIN, transport=transport, clock=Clock())  # type: ignore[arg-type]
    with pytest.raises(MalformedTokenError, match="finite"):
        validator.verify(token)


def test_webhook_policy_allows_missing_iss_and_exp_but_not_a_wrong_iss() -> None:
    policy = ClaimsPolicy(DOMAIN, None, 0, require_exp=False, issuer_required=False)
    assert check_claims({"type": "user.created"}, policy, NOW) == (None, None)
    with pytest.raises(InvalidIssuerError):
        check_claims({"iss": "https://evil"}, policy, NOW)


def test_parse_jwks_keeps_only_usable_signing_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    document = {
        "keys": [
            rsa_jwk(rsa_key, "good"),
            rsa_jwk(rsa_key, "enc", use="enc"),
            rsa_jwk(rsa_key, "ops", key_ops=["encrypt"]),
            rsa_jwk(rsa_key, "rs512", alg="RS512"),
            rsa_jwk(rsa_key, "private", d="AQAB"),
            rsa_jwk(rsa_key, "ec-labelled", kty="EC"),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "no-modulus", "alg": "RS256"},
            rsa_jwk(rsa_key, "alg-list", alg=["RS256"]),
            "not a key",
            rsa_jwk(rsa_key, "good", alg=None),  # duplicate kid for RS256: first wins
        ]
    }
    keys = parse_jwks(document, ("RS256", "PS256"), seen_at=NOW)
    assert keys.kids == {"good"}
    assert keys.ignored == 10
    assert keys.find("good", "RS256") is not None
    assert keys.find("good", "PS256") is not None  # from the alg-less duplicate
    assert keys.find("missing", "RS256") is None


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"keys": []}, {"nokeys": 1}])
def test_parse_jwks_rejects_documents_without_usable_keys(document: Any) -> None:
    with pytest.raises(ValueError):
        parse_jwks(document, ("RS256",), seen_at=NOW)


def test_prepared_keys_are_reused_and_dropped_keys_kept_for_one_ttl(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    first = parse_jwks({"keys": [rsa_jwk(rsa_key, "a")]}, ("RS256",), seen_at=NOW)
    second = parse_jwks(
        {"keys": [rsa_jwk(rsa_key, "a"), rsa_jwk(other, "b")]},
        ("RS256",),
        seen_at=NOW + 10,
        previous=first,
    )
    assert second.find("a", "RS256") is first.find("a", "RS256")

    rotated = parse_jwks({"keys": [rsa_jwk(other, "b")]}, ("RS256",), seen_at=NOW + 20)
    merged = rotated.merged_with(second, now=NOW + 20, ttl=100)
    assert merged.kids == {"a", "b"}
    assert merged.find("b", "RS256") is not second.find("b", "RS256")  # not reused here
    assert rotated.merged_with(second, now=NOW + 110, ttl=100).kids == {"b"}
    assert isinstance(merged, KeySet)


def test_jwks_cache_cooldown_and_a_clock_that_goes_backwards(rsa_key: rsa.RSAPrivateKey) -> None:
    clock = Clock()
    transport = FakeTransport({"keys": [rsa_jwk(rsa_key, "a")]})
    cache = JWKSCache(
        "https://acme.kinde.com/.well-known/jwks.json",
        algorithms=("RS256",),
        transport=transport,  # type: ignore[arg-type]
        clock=clock,
        ttl=100,
        cooldown=10,
    )
    assert cache.get_key("a", "RS256") is not None
    for _ in range(5):
        with pytest.raises(UnknownKeyError, match="next refetch is allowed in 10s"):
            cache.get_key("b", "RS256")
    assert transport.calls == 1
    clock.now -= 3600  # e.g. the wall clock was corrected: refetch rather than stall
    with pytest.raises(UnknownKeyError):
        cache.get_key("b", "RS256")
    assert transport.calls == 2
    assert cache.fetches == 2


def test_jwks_cache_wraps_connection_errors(rsa_key: rsa.RSAPrivateKey) -> None:
    transport = FakeTransport({"keys": [rsa_jwk(rsa_key, "a")]})
    transport.error = KindeConnectionError("GET https://x: cannot connect", url="https://x")
    validator = TokenValidator(DOMAIN, transport=transport, clock=Clock())  # type: ignore[arg-type]
    token = jwt.encode(claims(), rsa_key, "RS256", {"kid": "a"})
    with pytest.raises(JWKSFetchError, match="cannot connect") as info:
        validator.verify(token)
    assert isinstance(info.value.__cause__, JWKSFetchError)
    assert isinstance(info.value.__cause__.__cause__, KindeConnectionError)


def test_verified_token_cache_is_an_lru(rsa_key: rsa.RSAPrivateKey) -> None:
    key = jwt.PyJWK(rsa_jwk(rsa_key))
    entry = VerifiedToken(None, None, "r1", "RS256", key, "e30")
    cache = VerifiedTokenCache(2)
    cache.put(b"a", entry)
    cache.put(b"b", entry)
    assert cache.get(b"a") is entry  # "a" is now the most recent
    cache.put(b"c", entry)
    assert cache.get(b"b") is None
    assert cache.get(b"a") is entry and cache.get(b"c") is entry
    assert cache.info() == (3, 1, 2, 2)
    cache.discard(b"a")
    cache.clear()
    assert cache.info() == (0, 0, 2, 0)
    with pytest.raises(ValueError):
        VerifiedTokenCache(-1)
