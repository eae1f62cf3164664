"""JWT verification steps with no I/O: algorithm policy, header parsing, claim checks.

Everything here is a pure function of its arguments (the current time is passed in), so
the sync :class:`~kinde_sdk.auth.token_validator.TokenValidator` and the async
:class:`~kinde_sdk.auth.async_token_validator.AsyncTokenValidator` share it unchanged;
only fetching the JWKS differs between them.

Why the token is taken apart here and not by ``jwt.decode``: PyJWT checks each segment's
alphabet with a per-character Python loop and re-parses the header it was not asked
about, which costs about 60% of a whole ``jwt.decode`` (twice the signature check
itself). Here the header is parsed once per distinct header (memoised), the segments are
checked with one regular expression and a canonical re-encoding (as strict as PyJWT:
only the base64url alphabet, no padding, no stray bits), and the signature is checked by
the key's own PyJWT algorithm object. The rules are PyJWT's (the algorithm must be
allowed and be the one the JWK is bound to; ``sub`` and ``jti`` must be strings), plus
stricter ones Kinde's tokens never meet: no ``crit`` header parameters and no
unencoded (``b64: false``) payloads.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn, Optional, Union

from jwt import PyJWK

from ..errors import (
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    KindeConfigurationError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
)

# Asymmetric JWS algorithms (RFC 7518, RFC 8037, RFC 8812). A verifier that holds only
# public keys must never accept HS*: the classic confusion attack signs an HS256 token
# with the public key as the HMAC secret. ``none`` is not an algorithm at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "ES256K",
        "EdDSA",
    }
)
DEFAULT_ALGORITHMS = ("RS256",)

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_SHOW_MAX = 80

TokenInput = Union[str, bytes]


def validate_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """The allow-list, checked once at construction: asymmetric algorithms only."""
    if isinstance(algorithms, (str, bytes)):
        raise KindeConfigurationError(
            "algorithms must be a list of names such as ('RS256',), not a single string"
        )
    result: list[str] = []
    for name in algorithms:
        if not isinstance(name, str):
            raise KindeConfigurationError(f"algorithm names must be strings, got {name!r}")
        if name.lower() == "none":
            raise KindeConfigurationError(
                "algorithm 'none' is never allowed: it means an unsigned token"
            )
        if name.upper().startswith("HS"):
            raise KindeConfigurationError(
                f"algorithm {name!r} is symmetric (HMAC) and is not allowed: Kinde signs "
                "tokens with asymmetric keys, and accepting HS* with a public key lets "
                "anyone who has that public key forge tokens"
            )
        if name not in ASYMMETRIC_ALGORITHMS:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise KindeConfigurationError(f"unknown algorithm {name!r}; use one of {allowed}")
        if name not in result:
            result.append(name)
    if not result:
        raise KindeConfigurationError("algorithms must name at least one algorithm")
    return tuple(result)


def show(value: Any) -> str:
    """A short, printable rendering of an untrusted value for error messages."""
    text = repr(value)
    return text if len(text) <= _SHOW_MAX else text[: _SHOW_MAX - 3] + "..."


class TokenHeader(NamedTuple):
    """The parts of an unverified token needed before its signature can be checked.

    (A NamedTuple, not a frozen dataclass: it is built once per verification, and a
    frozen dataclass's ``__init__`` costs several times more.)
    """

    alg: str
    kid: Optional[str]
    payload_segment: str


def _b64url_json(segment: str, what: str) -> Any:
    if not _SEGMENT.fullmatch(segment):
        raise MalformedTokenError(f"the token {what} is not base64url")
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise MalformedTokenError(f"the token {what} is not base64url-encoded JSON") from None


def _as_text(token: TokenInput) -> str:
    if isinstance(token, bytes):
        try:
            return token.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedTokenError("the token contains non-ASCII bytes") from None
    if not isinstance(token, str):
        raise MalformedTokenError(f"a token must be str or bytes, got {type(token).__name__}")
    if not token.isascii():
        raise MalformedTokenError("the token contains non-ASCII characters")
    return token


def token_bytes(token: TokenInput) -> bytes:
    """The token as ASCII bytes (what gets hashed for the verified-token cache)."""
    if isinstance(token, bytes):
        return token
    return _as_text(token).encode("ascii")


def _malformed_shape(token: str) -> NoReturn:
    if not token.strip():
        raise MalformedTokenError("the token is empty")
    if token[:7].lower() == "bearer ":
        raise MalformedTokenError(
            "the token starts with 'Bearer ': pass the token without the scheme prefix"
        )
    raise MalformedTokenError(
        "the token is not a compact JWS (three base64url segments separated by '.')"
    )


def parse_header(token: TokenInput) -> TokenHeader:
    """Read ``alg`` and ``kid`` from the unverified header (nothing else is trusted)."""
    text = _as_text(token)
    # Slice out the two leading segments rather than split(): the signature is not needed.
    first = text.find(".")
    second = text.find(".", first + 1)
    if first <= 0 or second < 0 or text.find(".", second + 1) >= 0:
        _malformed_shape(text)
    try:
        alg, kid = _alg_and_kid(text[:first])
    except MalformedTokenError:
        if text[:7].lower() == "bearer ":
            _malformed_shape(text)
        raise
    return TokenHeader(alg, kid, text[first + 1 : second])


# Every token signed by one key has the very same header segment, so its parse is
# memoised: a dict hit instead of base64 + JSON on each verification. Bounded in count
# (cleared when full) and in entry size, so a flood of forged headers costs a re-parse,
# never memory.
_HEADER_MEMO: dict[str, tuple[str, Optional[str]]] = {}
_HEADER_MEMO_MAX = 256
_HEADER_MEMO_MAX_LENGTH = 512


def _alg_and_kid(segment: str) -> tuple[str, Optional[str]]:
    known = _HEADER_MEMO.get(segment)
    if known is not None:
        return known
    header = _b64url_json(segment, "header")
    if not isinstance(header, dict):
        raise MalformedTokenError("the token header is not a JSON object")
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise MalformedTokenError("the token header has no 'alg'")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedTokenError("the token header 'kid' is not a string")
    if "crit" in header or "b64" in header:
        # Extensions that change how the token must be read (RFC 7515 4.1.11, RFC 7797):
        # a verifier that does not implement them must refuse the token.
        raise MalformedTokenError("the token header asks for JWS extensions (crit, b64)")
    if len(segment) <= _HEADER_MEMO_MAX_LENGTH:
        if len(_HEADER_MEMO) >= _HEADER_MEMO_MAX:
            _HEADER_MEMO.clear()
        _HEADER_MEMO[segment] = (alg, kid)
    return alg, kid


def check_algorithm(alg: str, allowed: Sequence[str]) -> None:
    if alg not in allowed:
        if alg.lower() == "none":
            reason = "unsigned tokens are never accepted"
        elif alg.upper().startswith("HS"):
            reason = "symmetric (HMAC) algorithms are never accepted"
        else:
            reason = f"allowed: {', '.join(allowed)}"
        raise InvalidAlgorithmError(f"token algorithm {show(alg)} is not allowed ({reason})")


def claims_from_verified_segment(segment: str) -> dict[str, Any]:
    """Fresh claims from the payload segment of a token that already passed verification
    (so no validation is repeated; callers may mutate the result)."""
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return claims


def decode_payload_segment(segment: str) -> dict[str, Any]:
    """The claims of an already verified token, as a fresh dict (callers may mutate it)."""
    claims = _b64url_json(segment, "payload")
    if not isinstance(claims, dict):
        raise MalformedTokenError("the token payload is not a JSON object")
    return claims


def decode_unverified(token: TokenInput) -> dict[str, Any]:
    """The payload of a token WITHOUT checking its signature or any claim."""
    text = _as_text(token)
    if text.count(".") != 2:
        _malformed_shape(text)
    header_segment, payload_segment, _ = text.split(".")
    if not header_segment or not payload_segment:
        _malformed_shape(text)
    header = _b64url_json(header_segment, "header")
    if not isinstance(header, dict):
        raise MalformedTokenError("the token header is not a JSON object")
    return decode_payload_segment(payload_segment)


# --- Signature --------------------------------------------------------------------------


def verify_signature(
    token: TokenInput, header: TokenHeader, key: PyJWK, algorithms: Sequence[str]
) -> dict[str, Any]:
    """Check the signature of ``token`` (whose ``header`` :func:`parse_header` read) with
    ``key``, and return its claims; no claim is checked here but the types of ``sub`` and
    ``jti``.

    The key is a :class:`jwt.PyJWK` bound to one algorithm, and the token's must be that
    one, so no RS256 key is ever used as an HMAC secret or with another padding.
    """
    check_algorithm(header.alg, algorithms)
    if header.alg != key.algorithm_name:
        raise InvalidAlgorithmError(
            f"the token algorithm {show(header.alg)} is not the algorithm of the key it "
            f"names ({key.algorithm_name})"
        )
    text = _as_text(token)
    cut = text.rfind(".")
    signature = _segment_bytes(text[cut + 1 :], "signature")
    payload = _segment_bytes(header.payload_segment, "payload")
    try:
        valid = key.Algorithm.verify(text[:cut].encode("ascii"), key.key, signature)
    except Exception:  # a signature of the wrong size or shape for the key
        valid = False
    if not valid:
        raise InvalidSignatureError("the token signature does not verify with the key it names")
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        raise MalformedTokenError("the token payload is not JSON") from None
    if not isinstance(claims, dict):
        raise MalformedTokenError("the token payload is not a JSON object")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise MalformedTokenError(f"the token '{name}' claim is not a string")
    return claims


def _segment_bytes(segment: str, what: str) -> bytes:
    """A segment's bytes, refusing anything but canonical unpadded base64url (so one
    token has exactly one spelling)."""
    if len(segment) % 4 == 1 or not _SEGMENT.fullmatch(segment):
        raise MalformedTokenError(f"the token {what} is not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # Unused low bits in the last character decode to the same bytes; re-encoding
    # tells a canonical segment from such a variant.
    if base64.urlsafe_b64encode(data).rstrip(b"=") != segment.encode("ascii"):
        raise MalformedTokenError(f"the token {what} is not canonical base64url")
    return data


# --- Claims ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimsPolicy:
    """What a verified token's claims must satisfy.

    ``issuer_required`` false means a token without ``iss`` passes (used for webhooks,
    whose proof of origin is the signature); one that has ``iss`` must still match.
    """

    issuer: str
    audience: Optional[tuple[str, ...]]
    leeway: float
    require_exp: bool = True
    issuer_required: bool = True
    # Webhooks check their iat against a window of their own (replay tolerance), with
    # their own error; tokens refuse an iat in the future beyond the leeway here.
    reject_future_iat: bool = True


def _numeric(claims: dict[str, Any], name: str) -> Optional[float]:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedTokenError(f"the {name!r} claim is not a number")
    # JSON parsers (Python's included) accept NaN and Infinity: NaN compares false with
    # everything, so an exp of NaN would never expire, and Infinity never does either.
    if not math.isfinite(value):
        raise MalformedTokenError(f"the {name!r} claim is not a finite number")
    return float(value)


def check_times(exp: Optional[float], nbf: Optional[float], now: float, leeway: float) -> None:
    """Expiry and not-before, with leeway for clock skew. Run on every cache hit too."""
    if exp is not None and exp <= now - leeway:
        raise TokenExpiredError(f"the token expired {now - exp:.0f}s ago (leeway {leeway:g}s)")
    if nbf is not None and nbf > now + leeway:
        raise TokenNotYetValidError(
            f"the token is not valid for another {nbf - now:.0f}s (nbf; leeway {leeway:g}s)"
        )


def check_claims(
    claims: dict[str, Any], policy: ClaimsPolicy, now: float
) -> tuple[Optional[float], Optional[float]]:
    """Validate time, issuer and audience claims; return (exp, nbf) for the token cache.

    ``iat`` must be a number when present, and not in the future beyond the leeway: a
    token issued "later" than now comes from a clock or an issuer that cannot be trusted
    (the OpenID RP conformance suite expects the rejection). Within the leeway, clock skew
    is tolerated as for ``nbf``.
    """
    exp = _numeric(claims, "exp")
    nbf = _numeric(claims, "nbf")
    iat = _numeric(claims, "iat")
    if exp is None and policy.require_exp:
        raise MalformedTokenError(
            "the token has no 'exp' claim; tokens that never expire are refused"
        )
    check_times(exp, nbf, now, policy.leeway)
    if policy.reject_future_iat and iat is not None and iat > now + policy.leeway:
        raise TokenNotYetValidError(
            f"the token was issued {iat - now:.0f}s in the future (iat; leeway {policy.leeway:g}s)"
        )

    iss = claims.get("iss")
    if iss is None:
        if policy.issuer_required:
            raise InvalidIssuerError(
                f"the token has no 'iss' claim; expected {show(policy.issuer)}"
            )
    elif iss != policy.issuer:
        raise InvalidIssuerError(
            f"the token issuer {show(iss)} is not the expected {show(policy.issuer)}"
        )

    if policy.audience is not None:
        aud = claims.get("aud")
        values = [aud] if isinstance(aud, str) else aud
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidAudienceError(
                "the token 'aud' claim is missing or is not a string or list of strings"
            )
        if not any(expected in values for expected in policy.audience):
            raise InvalidAudienceError(
                f"the token audience {show(values)} does not include "
                f"{' or '.join(show(a) for a in policy.audience)}"
            )
    return exp, nbf


def normalize_audience(audience: Union[str, Iterable[str], None]) -> Optional[tuple[str, ...]]:
    """``None`` (no audience check), one audience, or several (any one must match)."""
    if audience is None:
        return None
    values = [audience] if isinstance(audience, str) else list(audience)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise KindeConfigurationError(
            "audience must be a non-empty string or list of strings, or None for no check"
        )
    return tuple(values)


__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "ClaimsPolicy",
    "TokenHeader",
    "check_algorithm",
    "check_claims",
    "check_times",
    "claims_from_verified_segment",
    "decode_payload_segment",
    "decode_unverified",
    "normalize_audience",
    "parse_header",
    "show",
    "token_bytes",
    "validate_algorithms",
    "verify_signature",
]
