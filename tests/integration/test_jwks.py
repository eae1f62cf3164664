"""TokenValidator against a real local JWKS server (pytest-httpserver on loopback).

Keys are RSA keys generated here; tokens are minted with PyJWT. Time never passes by
sleeping: the validator gets an injected clock that the tests advance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.auth import TokenValidator
from kinde_sdk.errors import (
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    InvalidWebhookError,
    JWKSFetchError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
)

AUDIENCE = "https://api.example.com"
START = 1_700_000_000.0
TTL = 600.0
COOLDOWN = 30.0
LEEWAY = 30.0
JWKS_PATH = "/.well-known/jwks.json"


# --- keys, clock, server ---------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self, **extra: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        data.update(kid=self.kid, alg="RS256", use="sig")
        data.update(extra)
        return data

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {
        kid: SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        for kid in ("k1", "k2", "k3")
    }


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class JWKSEndpoint:
    """What the JWKS server answers, changeable mid-test, and how often it was asked."""

    keys: list[dict[str, Any]]
    status: int = 200
    body: Optional[bytes] = None
    requests: int = 0
    on_request: Optional[Callable[[], None]] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        if self.on_request is not None:
            self.on_request()
        if self.status != 200:
            return Response("upstream broke", status=self.status)
        body = self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()
        return Response(body, status=200, content_type="application/json")


def serve(server: HTTPServer, endpoint: JWKSEndpoint) -> str:
    server.expect_request(JWKS_PATH, method="GET").respond_with_handler(endpoint.handle)
    return f"http://{server.host}:{server.port}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport() -> Iterator[Transport]:
    # No retries: a failing endpoint is seen as failing at once, without backoff sleeps.
    with Transport(timeout=5, retry=RetryPolicy(max_retries=0)) as t:
        yield t


@dataclass
class Env:
    origin: str
    endpoint: JWKSEndpoint
    clock: Clock
    transport: Transport
    keys: dict[str, SigningKey]

    def validator(self, audience: Optional[str] = AUDIENCE, **kwargs: Any) -> TokenValidator:
        options: dict[str, Any] = {
            "transport": self.transport,
            "clock": self.clock,
            "jwks_cache_ttl": TTL,
            "jwks_cooldown": COOLDOWN,
            "leeway": LEEWAY,
        }
        options.update(kwargs)
        return TokenValidator(self.origin, audience, **options)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(self.clock.now)
        claims: dict[str, Any] = {
            "iss": self.origin,
            "aud": [AUDIENCE],
            "sub": "kp_0123456789abcdef",
            "azp": "client123",
            "iat": now,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
            "scp": ["openid", "profile"],
            "permissions": ["read:things"],
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(
        self,
        kid: str = "k1",
        *,
        signer: Optional[str] = None,
        headers: Optional[dict[str, Any]] = None,
        algorithm: str = "RS256",
        **claims: Any,
    ) -> str:
        header: dict[str, Any] = {"kid": kid}
        header.update(headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        key = self.keys[signer or kid].private
        return jwt.encode(self.claims(**claims), key, algorithm=algorithm, headers=header)


@pytest.fixture
def env(
    httpserver: HTTPServer, keys: dict[str, SigningKey], clock: Clock, transport: Transport
) -> Env:
    endpoint = JWKSEndpoint(keys=[keys["k1"].jwk(), keys["k2"].jwk()])
    return Env(serve(httpserver, endpoint), endpoint, clock, transport, keys)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments_of(token: str) -> list[str]:
    return [part for part in token.split(".") if len(part) >= 8]


def assert_token_not_leaked(exc: BaseException, token: str) -> None:
    """Neither the token nor any of its segments appears in the error or its causes."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        for text in (str(seen), repr(seen)):
            assert len(token) < 8 or token not in text
            for part in segments_of(token):
                assert part not in text
        seen = seen.__cause__ or seen.__context__


# --- bad tokens ------------------------------------------------------------------------


def token_alg_none(env: Env) -> str:
    return jwt.encode(env.claims(), None, algorithm="none", headers={"kid": "k1"})


def token_hs256_with_public_pem(env: Env) -> str:
    # The algorithm-confusion attack: HMAC keyed with the public key everyone can fetch.
    # PyJWT refuses to build this token, so it is assembled by hand.
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64url(json.dumps(env.claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    mac = hmac.new(env.keys["k1"].public_pem(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(mac)}"


def token_tampered_payload(env: Env) -> str:
    header, _, signature = env.mint().split(".")
    forged = b64url(json.dumps(env.claims(sub="kp_admin", permissions=["*"])).encode())
    return f"{header}.{forged}.{signature}"


BAD_TOKENS: list[tuple[str, Callable[[Env], str], type[InvalidTokenError]]] = [
    ("alg none", token_alg_none, InvalidAlgorithmError),
    ("HS256 keyed with the RSA public key", token_hs256_with_public_pem, InvalidAlgorithmError),
    ("RS384 not in the allow-list", lambda e: e.mint(algorithm="RS384"), InvalidAlgorithmError),
    ("wrong issuer", lambda e: e.mint(iss="https://evil.example.com"), InvalidIssuerError),
    ("no issuer", lambda e: e.mint(iss=None), InvalidIssuerError),
    ("wrong audience", lambda e: e.mint(aud=["https://other.example.com"]), InvalidAudienceError),
    ("empty audience", lambda e: e.mint(aud=[]), InvalidAudienceError),
    ("no audience", lambda e: e.mint(aud=None), InvalidAudienceError),
    ("expired", lambda e: e.mint(exp=int(e.clock.now) - 3600), TokenExpiredError),
    ("expired beyond leeway", lambda e: e.mint(exp=int(e.clock.now) - 31), TokenExpiredError),
    ("nbf in the future", lambda e: e.mint(nbf=int(e.clock.now) + 3600), TokenNotYetValidError),
    ("no exp", lambda e: e.mint(exp=None), MalformedTokenError),
    ("exp not a number", lambda e: e.mint(exp="tomorrow"), MalformedTokenError),
    ("unknown kid", lambda e: e.mint("k3"), UnknownKeyError),
    ("tampered payload", token_tampered_payload, InvalidSignatureError),
    (
        "signed by another key under a known kid",
        lambda e: e.mint("k1", signer="k3"),
        InvalidSignatureError,
    ),
    (
        "missing kid, several keys in the JWKS",
        lambda e: e.mint(headers={"kid": None}),
        UnknownKeyError,
    ),
    ("garbage", lambda e: "this is not a token", MalformedTokenError),
    ("empty", lambda e: "", MalformedTokenError),
    ("two segments", lambda e: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0", MalformedTokenError),
    ("header not JSON", lambda e: "bm90IGpzb24.e30.c2ln", MalformedTokenError),
    ("bearer prefix", lambda e: "Bearer " + e.mint(), MalformedTokenError),
    ("non-ASCII", lambda e: e.mint()[:-2] + "\u00e9\ud800", MalformedTokenError),
    ("sub not a string", lambda e: e.mint(sub=42), MalformedTokenError),
    ("signature not base64url", lambda e: e.mint()[:-4] + "!!!!", MalformedTokenError),
]


@pytest.mark.parametrize(
    ("make_token", "expected"),
    [pytest.param(make, cls, id=name) for name, make, cls in BAD_TOKENS],
)
def test_bad_token_is_rejected_with_its_specific_error(
    env: Env, make_token: Callable[[Env], str], expected: type[InvalidTokenError]
) -> None:
    validator = env.validator()
    token = make_token(env)
    with pytest.raises(InvalidTokenError) as info:
        validator.verify(token)
    assert type(info.value) is expected, f"{type(info.value).__name__}: {info.value}"
    assert isinstance(info.value, KindeError)
    assert str(info.value)
    assert_token_not_leaked(info.value, token)
    if token.startswith("Bearer "):
        assert "without the scheme prefix" in str(info.value)
    # Nothing invalid ever enters the verified-token cache.
    assert validator.cache_info().currsize == 0


def test_bad_token_is_rejected_again_on_a_second_presentation(env: Env) -> None:
    validator = env.validator()
    token = token_tampered_payload(env)
    for _ in range(3):
        with pytest.raises(InvalidSignatureError):
            validator.verify(token)


def test_unknown_kids_trigger_one_refetch_per_cooldown(env: Env) -> None:
    validator = env.validator()
    good = env.mint("k1")
    validator.verify(good)
    assert env.endpoint.requests == 1

    # Right after a fetch, an unknown kid does not refetch: the keys are fresh.
    with pytest.raises(UnknownKeyError):
        validator.verify(env.mint("fresh-bogus", signer="k3"))
    assert env.endpoint.requests == 1

    env.clock.advance(COOLDOWN + 1)
    for n in range(50):
        with pytest.raises(UnknownKeyError) as info:
            validator.verify(env.mint(f"bogus-{n}", signer="k3"))
        assert f"bogus-{n}" in str(info.value)
    assert env.endpoint.requests == 2
    validator.verify(env.mint("k2"))  # known keys keep working, without a request
    assert env.endpoint.requests == 2

    env.clock.advance(COOLDOWN + 1)
    with pytest.raises(UnknownKeyError):
        validator.verify(env.mint("bogus-after-cooldown", signer="k3"))
    assert env.endpoint.requests == 3


def test_missing_kid_is_accepted_when_the_jwks_has_exactly_one_key(env: Env) -> None:
    env.endpoint.keys = [env.keys["k1"].jwk()]
    claims = env.validator().verify(env.mint(headers={"kid": None}))
    assert claims["sub"] == "kp_0123456789abcdef"


def test_alg_that_does_not_match_the_keys_alg_is_rejected(env: Env) -> None:
    # PS256 is allowed, but key k1 is published for RS256 only.
    validator = env.validator(algorithms=("RS256", "PS256"))
    with pytest.raises(InvalidAlgorithmError, match="does not match key"):
        validator.verify(env.mint("k1", algorithm="PS256"))


def test_keys_not_for_signing_or_not_allowed_are_ignored(env: Env) -> None:
    env.endpoint.keys = [
        env.keys["k1"].jwk(use="enc"),
        env.keys["k2"].jwk(alg="RS512"),
        {"kty": "oct", "kid": "hmac", "alg": "HS256", "k": b64url(b"s" * 32)},
        env.keys["k3"].jwk(),
    ]
    validator = env.validator()
    assert validator.verify(env.mint("k3"))["iss"] == env.origin
    for kid in ("k1", "k2"):
        with pytest.raises(UnknownKeyError):
            validator.verify(env.mint(kid))


# --- the good path and the verified-token cache ------------------------------------------


def test_valid_token_verifies_and_returns_its_claims(env: Env) -> None:
    validator = env.validator()
    token = env.mint("k1")
    claims = validator.verify(token)
    assert claims == jwt.decode(token, options={"verify_signature": False})
    assert validator.cache_info() == (0, 1, 1024, 1)


def test_bytes_token_and_multiple_audiences(env: Env) -> None:
    validator = env.validator(audience=["https://other", AUDIENCE])
    token = env.mint("k2", aud=AUDIENCE)
    assert validator.verify(token.encode())["aud"] == AUDIENCE


def test_without_audience_configured_aud_is_not_checked(env: Env) -> None:
    validator = env.validator(audience=None)
    assert validator.verify(env.mint(aud=None))["sub"]
    assert validator.verify(env.mint(aud=["anything"]))["aud"] == ["anything"]


def test_leeway_accepts_a_token_that_expired_moments_ago(env: Env) -> None:
    token = env.mint(exp=int(env.clock.now) - 10, nbf=int(env.clock.now) + 10)
    assert env.validator().verify(token)["sub"]
    with pytest.raises(TokenExpiredError):
        env.validator(leeway=0).verify(token)


def test_repeated_token_is_served_from_the_cache_without_decoding(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = env.validator()
    token = env.mint("k1")
    decodes: list[Any] = []  # signature checks
    original = RSAAlgorithm.verify

    def counting_verify(self: RSAAlgorithm, *args: Any, **kwargs: Any) -> Any:
        decodes.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RSAAlgorithm, "verify", counting_verify)

    first = validator.verify(token)
    assert len(decodes) == 1
    for _ in range(5):
        assert validator.verify(token) == first
    assert len(decodes) == 1
    info = validator.cache_info()
    assert (info.hits, info.misses, info.currsize) == (5, 1, 1)
    assert env.endpoint.requests == 1

    # Each call gets its own claims: mutating one does not change the cache.
    mine = validator.verify(token)
    mine["permissions"].append("admin")
    mine["sub"] = "someone else"
    again = validator.verify(token)
    assert again["permissions"] == ["read:things"]
    assert again["sub"] == "kp_0123456789abcdef"


def test_cached_token_is_rejected_once_it_expires(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    validator = env.validator()
    token = env.mint("k1", exp=int(env.clock.now) + 120)
    validator.verify(token)

    env.clock.advance(120 + LEEWAY - 1)
    validator.verify(token)  # still inside the leeway
    assert validator.cache_info().hits == 1

    monkeypatch.setattr(jwt.PyJWT, "decode", lambda *a, **k: pytest.fail("decoded again"))
    env.clock.advance(2)
    with pytest.raises(TokenExpiredError):
        validator.verify(token)
    assert validator.cache_info().currsize == 0


def test_cache_is_bounded_lru_and_can_be_disabled(env: Env) -> None:
    validator = env.validator(max_cached_tokens=2)
    tokens = [env.mint("k1") for _ in range(3)]
    for token in tokens:
        validator.verify(token)
    assert validator.cache_info().currsize == 2
    validator.verify(tokens[2])
    validator.verify(tokens[1])
    assert validator.cache_info().hits == 2
    validator.verify(tokens[0])  # evicted: a miss
    assert validator.cache_info().misses == 4

    uncached = env.validator(max_cached_tokens=0)
    for _ in range(3):
        uncached.verify(tokens[0])
    assert uncached.cache_info() == (0, 3, 0, 0)


# --- key rotation ------------------------------------------------------------------------


def test_key_rotation(env: Env) -> None:
    env.endpoint.keys = [env.keys["k1"].jwk()]
    validator = env.validator()
    old_token = env.mint("k1")
    validator.verify(old_token)
    assert env.endpoint.requests == 1

    # Kinde rotates: the JWKS now lists only the new key.
    env.endpoint.keys = [env.keys["k2"].jwk()]
    env.clock.advance(COOLDOWN + 1)
    validator.verify(env.mint("k1"))  # a known kid: no refetch
    assert env.endpoint.requests == 1

    assert validator.verify(env.mint("k2"))["sub"]  # the new kid: one refetch
    assert env.endpoint.requests == 2
    validator.verify(env.mint("k2"))
    assert env.endpoint.requests == 2

    # The old key stays trusted until a TTL after it was last listed.
    validator.verify(env.mint("k1"))
    validator.verify(old_token)
    assert env.endpoint.requests == 2

    env.clock.advance(TTL)
    with pytest.raises(UnknownKeyError):
        validator.verify(env.mint("k1"))
    with pytest.raises(UnknownKeyError):
        validator.verify(old_token)  # cached, but its key has gone
    assert env.endpoint.requests == 3
    assert validator.verify(env.mint("k2"))["sub"]


def test_unchanged_keys_survive_a_ttl_refresh_with_cached_tokens_intact(env: Env) -> None:
    validator = env.validator()
    token = env.mint("k1", exp=int(env.clock.now) + 3 * int(TTL))
    validator.verify(token)
    env.clock.advance(TTL + 1)
    validator.verify(token)
    assert env.endpoint.requests == 2
    info = validator.cache_info()
    assert (info.hits, info.misses) == (1, 1)


# --- the JWKS endpoint failing -------------------------------------------------------------


def test_cached_keys_keep_working_while_the_endpoint_returns_500(env: Env) -> None:
    validator = env.validator()
    validator._jwks._rand = lambda: 1.0  # failure backoff at the top of its jitter
    validator.verify(env.mint("k1"))
    env.endpoint.status = 500
    env.clock.advance(TTL + 1)

    assert validator.verify(env.mint("k1"))["sub"]  # refresh fails, stale keys serve
    assert env.endpoint.requests == 2
    validator.verify(env.mint("k2"))
    assert env.endpoint.requests == 2  # failed attempts are spaced by the cooldown too

    with pytest.raises(UnknownKeyError) as info:
        env.clock.advance(COOLDOWN + 1)
        validator.verify(env.mint("k3"))
    assert "HTTP 500" in str(info.value)
    assert isinstance(info.value.__cause__, JWKSFetchError)
    assert env.endpoint.requests == 3

    env.endpoint.status = 200
    env.endpoint.keys.append(env.keys["k3"].jwk())
    env.clock.advance(COOLDOWN + 1)  # two failures in a row: the wait has doubled
    with pytest.raises(UnknownKeyError):
        validator.verify(env.mint("k3"))
    assert env.endpoint.requests == 3
    env.clock.advance(COOLDOWN)
    assert validator.verify(env.mint("k3"))["sub"]
    assert env.endpoint.requests == 4


@pytest.mark.parametrize(
    "body", [b"<html>not json</html>", b'{"no": "keys"}', b'{"keys": []}'], ids=str
)
def test_cached_keys_survive_a_bad_jwks_document(env: Env, body: bytes) -> None:
    validator = env.validator()
    validator.verify(env.mint("k1"))
    env.endpoint.body = body
    env.clock.advance(TTL + 1)
    assert validator.verify(env.mint("k1"))["sub"]
    assert env.endpoint.requests == 2


def test_cached_keys_keep_working_when_the_endpoint_refuses_connections(
    keys: dict[str, SigningKey], clock: Clock, transport: Transport
) -> None:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        endpoint = JWKSEndpoint(keys=[keys["k1"].jwk()])
        env = Env(serve(server, endpoint), endpoint, clock, transport, keys)
        validator = env.validator()
        validator.verify(env.mint("k1"))
    finally:
        server.clear()
        server.stop()

    clock.advance(TTL + 1)
    assert validator.verify(env.mint("k1"))["sub"]
    assert endpoint.requests == 1


def test_no_cached_keys_and_endpoint_returning_500_is_a_clear_error(env: Env) -> None:
    env.endpoint.status = 500
    validator = env.validator()
    token = env.mint("k1")
    with pytest.raises(JWKSFetchError) as info:
        validator.verify(token)
    error = info.value
    assert isinstance(error, KindeError)
    assert not isinstance(error, InvalidTokenError)
    assert error.status == 500
    assert "HTTP 500" in str(error) and JWKS_PATH in str(error)
    assert_token_not_leaked(error, token)

    # Within the cooldown the failure is remembered rather than retried per request.
    with pytest.raises(JWKSFetchError):
        validator.verify(token)
    assert env.endpoint.requests == 1


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_cached_keys_and_connection_refused_is_a_clear_error(
    keys: dict[str, SigningKey], clock: Clock, transport: Transport
) -> None:
    origin = f"http://127.0.0.1:{unused_port()}"
    validator = TokenValidator(origin, transport=transport, clock=clock)
    with pytest.raises(JWKSFetchError) as info:
        validator.verify(jwt.encode({"iss": origin}, keys["k1"].private, "RS256", {"kid": "k1"}))
    assert info.value.url == origin + JWKS_PATH
    assert isinstance(info.value.__cause__, JWKSFetchError)
    assert isinstance(info.value.__cause__.__cause__, KindeConnectionError)
    with pytest.raises(JWKSFetchError):
        validator.refresh_keys()


def test_refresh_keys_warms_the_cache(env: Env) -> None:
    validator = env.validator()
    validator.refresh_keys()
    assert env.endpoint.requests == 1
    validator.verify(env.mint("k2"))
    assert env.endpoint.requests == 1


# --- concurrency -------------------------------------------------------------------------


def test_concurrent_cold_start_fetches_the_jwks_once(env: Env) -> None:
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        entered.set()
        assert release.wait(30)

    env.endpoint.on_request = hold
    validator = env.validator()
    tokens = [env.mint("k1" if n % 2 else "k2") for n in range(8)]
    results: list[Any] = [None] * len(tokens)
    # The followers and this thread meet here, so all of them are running before the
    # fetch is released (whether they then wait for it or find it done, one fetch it is).
    started = threading.Barrier(len(tokens))  # 7 followers + this thread

    def worker(n: int) -> None:
        if n:
            started.wait(30)
        try:
            results[n] = validator.verify(tokens[n])["sub"]
        except Exception as exc:  # reported below
            results[n] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(len(tokens))]
    threads[0].start()
    assert entered.wait(30)  # the first fetch is in flight
    for thread in threads[1:]:
        thread.start()
    started.wait(30)
    release.set()
    for thread in threads:
        thread.join(30)
    assert results == ["kp_0123456789abcdef"] * len(tokens)
    assert env.endpoint.requests == 1


def test_stale_keys_serve_other_threads_while_one_refreshes_them(env: Env) -> None:
    validator = env.validator()
    validator.verify(env.mint("k1"))
    env.clock.advance(TTL + 1)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        entered.set()
        assert release.wait(30)

    env.endpoint.on_request = hold
    refresher = threading.Thread(target=validator.verify, args=(env.mint("k1"),))
    refresher.start()
    try:
        assert entered.wait(30)  # the TTL refresh is in flight and stuck
        # Another request does not queue behind it: the stale keys answer.
        assert validator.verify(env.mint("k2"))["sub"]
        assert refresher.is_alive()  # answered while the refresh was still stuck
    finally:
        release.set()
        refresher.join(30)
    assert env.endpoint.requests == 2


def test_concurrent_unknown_kids_refetch_once(env: Env) -> None:
    validator = env.validator()
    validator.verify(env.mint("k1"))
    env.clock.advance(COOLDOWN + 1)
    tokens = [env.mint(f"bogus-{n}", signer="k3") for n in range(16)]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(token: str) -> None:
        try:
            validator.verify(token)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(errors) == len(tokens)
    assert all(isinstance(e, UnknownKeyError) for e in errors)
    assert env.endpoint.requests == 2


# --- webhooks ------------------------------------------------------------------------------


def webhook_event(env: Env, **extra: Any) -> dict[str, Any]:
    """Kinde's documented payload (no iss, exp or iat: its age is its ``timestamp``)."""
    stamp = datetime.fromtimestamp(env.clock.now, tz=timezone.utc).isoformat()
    event: dict[str, Any] = {
        "data": {"user": {"id": "kp_1", "email": "jane@example.com", "first_name": "Jane"}},
        "event_id": "event_0123456789",
        "event_timestamp": stamp,
        "source": "admin",
        "timestamp": stamp,
        "type": "user.created",
    }
    event.update(extra)
    return {k: v for k, v in event.items() if v is not None}


def signed(env: Env, claims: dict[str, Any], kid: str = "k1") -> str:
    return jwt.encode(claims, env.keys[kid].private, "RS256", {"kid": kid})


def test_decode_webhook_verifies_and_returns_the_event(env: Env) -> None:
    validator = env.validator()  # an audience is configured, but webhooks carry none
    event = webhook_event(env, iss=env.origin, iat=int(env.clock.now))
    body = jwt.encode(event, env.keys["k1"].private, "RS256", {"kid": "k1"}).encode() + b"\n"
    assert validator.decode_webhook(body) == event
    assert validator.decode_webhook(body.decode()) == event
    assert validator.cache_info().currsize == 0


def test_decode_webhook_without_iss_or_exp(env: Env) -> None:
    event = webhook_event(env)
    body = jwt.encode(event, env.keys["k2"].private, "RS256", {"kid": "k2"})
    assert env.validator().decode_webhook(body) == event


@pytest.mark.parametrize(
    ("signer", "extra", "expected"),
    [
        ("k3", {}, InvalidSignatureError),
        ("k1", {"iss": "https://evil.example.com"}, InvalidIssuerError),
        ("k1", {"exp": int(START) - 3600}, TokenExpiredError),
    ],
    ids=["other key", "wrong issuer", "expired"],
)
def test_decode_webhook_rejects_forgeries(
    env: Env, signer: str, extra: dict[str, Any], expected: type[InvalidTokenError]
) -> None:
    body = jwt.encode(webhook_event(env, **extra), env.keys[signer].private, "RS256", {"kid": "k1"})
    with pytest.raises(expected):
        env.validator().decode_webhook(body)


# Issue 14 item 16: any JWT signed by the domain used to pass as a webhook.


def test_decode_webhook_rejects_a_users_access_token(env: Env) -> None:
    access_token = env.mint("k1")  # aud, azp, scp, sub, iat, exp: a real user token
    with pytest.raises(InvalidWebhookError, match="access or ID token"):
        env.validator().decode_webhook(access_token)


def test_decode_webhook_rejects_an_id_token_even_with_event_claims(env: Env) -> None:
    now = int(env.clock.now)
    id_token = signed(
        env,
        {
            **webhook_event(env, iat=now),
            "iss": env.origin,
            "aud": "client123",
            "sub": "kp_1",
            "exp": now + 60,
            "nonce": "n",
            "at_hash": "h",
        },
    )
    with pytest.raises(InvalidWebhookError, match="'nonce', 'at_hash'"):
        env.validator().decode_webhook(id_token)


@pytest.mark.parametrize("missing", ["type", "event_id"])
def test_decode_webhook_requires_the_event_claims(env: Env, missing: str) -> None:
    body = signed(env, webhook_event(env, **{missing: None}))
    with pytest.raises(InvalidWebhookError, match=repr(missing)):
        env.validator().decode_webhook(body)
    with pytest.raises(InvalidWebhookError, match=repr(missing)):
        env.validator().decode_webhook(signed(env, webhook_event(env, **{missing: ""})))


def test_decode_webhook_refuses_a_webhook_ten_years_old(env: Env) -> None:
    ten_years = 10 * 365 * 86400
    old_iat = signed(env, webhook_event(env, iat=int(env.clock.now) - ten_years))
    with pytest.raises(InvalidWebhookError, match="more than the tolerance of 300s"):
        env.validator().decode_webhook(old_iat)
    stamp = datetime.fromtimestamp(env.clock.now - ten_years, tz=timezone.utc).isoformat()
    old_stamp = signed(env, webhook_event(env, timestamp=stamp))
    with pytest.raises(InvalidWebhookError, match="more than the tolerance"):
        env.validator().decode_webhook(old_stamp)


def test_decode_webhook_tolerance_is_configurable(env: Env) -> None:
    body = signed(env, webhook_event(env, iat=int(env.clock.now) - 600))
    with pytest.raises(InvalidWebhookError):
        env.validator().decode_webhook(body)
    assert env.validator(webhook_tolerance=900).decode_webhook(body)["type"] == "user.created"
    assert env.validator().decode_webhook(body, tolerance=900)["event_id"] == "event_0123456789"
    with pytest.raises(KindeConfigurationError):
        env.validator(webhook_tolerance=float("inf"))


def test_decode_webhook_at_the_edges_of_the_window(env: Env) -> None:
    now = int(env.clock.now)
    assert env.validator().decode_webhook(signed(env, webhook_event(env, iat=now - 300)))
    assert env.validator().decode_webhook(signed(env, webhook_event(env, iat=now + LEEWAY)))
    with pytest.raises(InvalidWebhookError, match="in the future"):
        env.validator().decode_webhook(signed(env, webhook_event(env, iat=now + LEEWAY + 5)))


@pytest.mark.parametrize(
    "extra",
    [
        {"timestamp": None},  # neither iat nor timestamp
        {"timestamp": "yesterday"},
        {"iat": "now"},
        {"iat": True},
    ],
    ids=["no time", "bad timestamp", "string iat", "bool iat"],
)
def test_decode_webhook_needs_a_readable_time(env: Env, extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidTokenError):  # InvalidWebhookError, or Malformed for iat
        env.validator().decode_webhook(signed(env, webhook_event(env, **extra)))


def test_for_audience_shares_keys_but_checks_its_own_audience(env: Env) -> None:
    id_tokens = env.validator("client123")
    api_tokens = id_tokens.for_audience(AUDIENCE)
    api_token = env.mint("k1")  # aud = AUDIENCE
    id_token = env.mint("k2", aud="client123")

    assert api_tokens.verify(api_token)["aud"] == [AUDIENCE]
    assert id_tokens.verify(id_token)["aud"] == "client123"
    assert env.endpoint.requests == 1  # one JWKS download served both
    with pytest.raises(InvalidAudienceError):
        id_tokens.verify(api_token)
    with pytest.raises(InvalidAudienceError):
        api_tokens.verify(id_token)
    assert api_tokens.audience != id_tokens.audience
