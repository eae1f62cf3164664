"""The SDK checks token signatures itself (kinde_sdk/auth/_jwt_core.py), not through
``jwt.decode``; here it is held to PyJWT's verdicts. Thousands of tokens, valid and
mutated (a byte changed in any segment, segments swapped, headers re-signed with other
algorithms, padding, non-canonical base64, bad claim types): whatever PyJWT refuses the
SDK refuses, and whatever PyJWT accepts the SDK accepts with the same claims, except the
few cases where the SDK is stricter on purpose (asserted as such)."""

from __future__ import annotations

import base64
import json
import random
from typing import Any, Callable, Optional

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK
from jwt.api_jws import PyJWS

from kinde_sdk.auth._jwt_core import parse_header, verify_signature
from kinde_sdk.errors import InvalidTokenError

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwk(private: Any, alg: str) -> PyJWK:
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    algorithm = RSAAlgorithm if alg.startswith(("RS", "PS")) else ECAlgorithm
    data = json.loads(algorithm.to_jwk(private.public_key()))
    return PyJWK({**data, "alg": alg, "kid": "k1"})


KEYS = {
    "RS256": (RSA_KEY, _jwk(RSA_KEY, "RS256")),
    "PS256": (RSA_KEY, _jwk(RSA_KEY, "PS256")),
    "ES256": (EC_KEY, _jwk(EC_KEY, "ES256")),
}
ALLOWED = ("RS256", "PS256", "ES256")
_PYJWT = jwt.PyJWT(
    options={
        "verify_signature": True,
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,
        "verify_iss": False,
        "require": [],
    }
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pyjwt_verdict(token: str, key: PyJWK) -> Optional[dict[str, Any]]:
    try:
        claims: dict[str, Any] = _PYJWT.decode(token, key, algorithms=list(ALLOWED))
    except jwt.PyJWTError:
        return None
    return claims


def sdk_verdict(token: str, key: PyJWK) -> Optional[dict[str, Any]]:
    try:
        return verify_signature(token, parse_header(token), key, ALLOWED)
    except InvalidTokenError:
        return None


def stricter_on_purpose(token: str) -> bool:
    """Tokens PyJWT accepts and the SDK refuses by design: JWS extensions in the header
    (``crit``, ``b64``) and padded segments (Kinde issues neither)."""
    if "=" in token:
        return True
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    except Exception:
        return False
    return isinstance(header, dict) and ("crit" in header or "b64" in header)


def sign(claims: Any, alg: str, headers: Optional[dict[str, Any]] = None) -> str:
    private = OTHER_RSA_KEY if alg == "RS256-other" else KEYS[alg][0]
    alg = "RS256" if alg == "RS256-other" else alg
    payload = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    return PyJWS().encode(payload, private, algorithm=alg, headers={"kid": "k1", **(headers or {})})


CLAIMS = {"sub": "kp_1", "iss": "https://acme.kinde.com", "exp": 2_000_000_000, "jti": "j1"}


def mutations(token: str, rng: random.Random) -> list[str]:
    header, payload, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    out = []
    for _ in range(6):
        parts = [header, payload, signature]
        which = rng.randrange(3)
        segment = parts[which]
        if segment:
            i = rng.randrange(len(segment))
            parts[which] = segment[:i] + rng.choice(alphabet + "=.+/ ") + segment[i + 1 :]
        out.append(".".join(parts))
    last = signature[-1]
    # The same bytes, spelled with other unused low bits (non-canonical base64url).
    for c in alphabet:
        if c != last:
            out.append(f"{header}.{payload}.{signature[:-1]}{c}")
    out += [
        f"{header}.{payload}.",
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.x",
        f"{header}..{signature}",
        f".{payload}.{signature}",
        f"{header}.{payload}={'=' * rng.randrange(2)}.{signature}",
        f"{header}.{payload}.{signature}==",
        f"{header}.{b64(b'[1, 2]')}.{signature}",
        token.upper(),
        token[:-1],
    ]
    return out


SIGNED_CASES: list[Callable[[], str]] = [
    lambda: sign(CLAIMS, "RS256"),
    lambda: sign(CLAIMS, "PS256"),
    lambda: sign(CLAIMS, "ES256"),
    lambda: sign(CLAIMS, "RS256-other"),  # right algorithm, wrong key
    lambda: sign({**CLAIMS, "sub": 123}, "RS256"),
    lambda: sign({**CLAIMS, "jti": ["x"]}, "RS256"),
    lambda: sign(b"[1, 2, 3]", "RS256"),
    lambda: sign(b"not json", "RS256"),
    lambda: sign(b'"a string"', "RS256"),
    lambda: sign(CLAIMS, "RS256", {"crit": ["b64"], "b64": True}),
    lambda: sign(CLAIMS, "RS256", {"typ": "at+jwt", "x5u": "https://evil"}),
]


@pytest.mark.parametrize("case", range(len(SIGNED_CASES)))
@pytest.mark.parametrize("key_alg", list(KEYS))
def test_the_sdk_agrees_with_pyjwt_on_signed_and_mutated_tokens(case: int, key_alg: str) -> None:
    rng = random.Random(case * 31 + len(key_alg))
    key = KEYS[key_alg][1]
    base = SIGNED_CASES[case]()
    checked = 0
    for token in [base, *mutations(base, rng)]:
        expected = pyjwt_verdict(token, key)
        try:
            parse_header(token)
        except InvalidTokenError:
            # Refused before any key is chosen: PyJWT must refuse it too, or it is one
            # of the stricter cases.
            assert expected is None or stricter_on_purpose(token), token
            continue
        got = sdk_verdict(token, key)
        checked += 1
        if expected is None:
            assert got is None, token
        elif got is None:
            assert stricter_on_purpose(token), token
        else:
            assert got == expected
    assert checked > 0


def test_a_valid_token_passes_and_its_claims_are_returned() -> None:
    for alg, (_, key) in KEYS.items():
        assert sdk_verdict(sign(CLAIMS, alg), key) == CLAIMS


def test_an_algorithm_other_than_the_keys_is_refused_even_when_allowed() -> None:
    # RS256 and PS256 use the same RSA key: a PS256 token must not pass with the RS256 JWK.
    token = sign(CLAIMS, "PS256")
    assert pyjwt_verdict(token, KEYS["RS256"][1]) is None
    assert sdk_verdict(token, KEYS["RS256"][1]) is None


def test_an_hmac_token_signed_with_the_public_key_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    payload = b64(json.dumps(CLAIMS).encode())
    import hashlib
    import hmac

    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(mac)}"
    with pytest.raises(InvalidTokenError):
        verify_signature(token, parse_header(token), KEYS["RS256"][1], (*ALLOWED, "HS256"))


def test_a_header_naming_another_allowed_algorithm_is_refused_though_the_key_verifies() -> None:
    # Signed RS256 (the key's algorithm) under a header saying RS384: the signature is
    # good for the key, but the token lies about how it was made.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = b64(json.dumps({"alg": "RS384", "kid": "k1"}).encode())
    payload = b64(json.dumps(CLAIMS).encode())
    signature = RSA_KEY.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{header}.{payload}.{b64(signature)}"
    key = KEYS["RS256"][1]
    assert key.Algorithm.verify(f"{header}.{payload}".encode(), key.key, signature)
    with pytest.raises(InvalidTokenError, match="not the algorithm of the key"):
        verify_signature(token, parse_header(token), key, (*ALLOWED, "RS384"))
