"""Verify Kinde-issued JWTs (access tokens, ID tokens, webhook bodies) against the JWKS.

One :class:`TokenValidator` per Kinde domain and audience, shared by all threads. The
verification steps are pure (:mod:`kinde_sdk.auth._jwt_core`); the only I/O is the JWKS
fetch (:mod:`kinde_sdk.auth._jwks`). :class:`TokenValidatorCore` holds the settings, the
cache and the verification flow as a generator that asks for keys; this module's
:class:`TokenValidator` answers it with blocking JWKS lookups, and
:class:`~kinde_sdk.auth.async_token_validator.AsyncTokenValidator` with awaited ones.

Cost model: a token seen for the first time costs one header parse (memoised per
distinct header), one dict lookup for the prepared key, one signature check and one JSON
parse of the claims; a token seen before is answered from a bounded LRU of verified
tokens after re-checking ``exp``/``nbf`` against the clock.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Generator, Iterable
from typing import Any, Callable, Optional, TypeVar, Union, cast
from urllib.parse import urlsplit

from jwt import PyJWK
from typing_extensions import Self

from .._config import check_seconds, is_loopback_host, normalize_domain
from .._transport import Transport, default_transport
from ..errors import (
    InvalidTokenError,
    JWKSFetchError,
    KindeConfigurationError,
    MalformedTokenError,
)
from ._jwks import DEFAULT_JWKS_COOLDOWN, DEFAULT_JWKS_TTL, JWKS_PATH, JWKSCache, KeySet
from ._jwt_core import (
    DEFAULT_ALGORITHMS,
    ClaimsPolicy,
    TokenHeader,
    TokenInput,
    check_algorithm,
    check_claims,
    check_times,
    claims_from_verified_segment,
    decode_unverified,
    normalize_audience,
    parse_header,
    token_bytes,
    validate_algorithms,
    verify_signature,
)
from ._token_lru import DEFAULT_MAX_CACHED_TOKENS, CacheInfo, VerifiedToken, VerifiedTokenCache
from ._webhook_core import DEFAULT_WEBHOOK_TOLERANCE, check_tolerance, check_webhook_claims
from .claims import Claims
from .jwks import JsonWebKeySet

__all__ = ["CacheInfo", "Claims", "TokenValidator", "decode_token", "decode_token_unverified"]

DEFAULT_LEEWAY = 30.0


def _check_jwks_url(url: str) -> str:
    """https, or plain http for loopback test servers only (as for the domain)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise KindeConfigurationError("jwks_url is not a valid URL") from None
    if "@" in parts.netloc:
        raise KindeConfigurationError("jwks_url must not contain credentials")
    if not host:
        raise KindeConfigurationError("jwks_url has no host name")
    scheme = parts.scheme.lower()
    if scheme == "https" or (scheme == "http" and is_loopback_host(host)):
        return url
    raise KindeConfigurationError(
        "jwks_url must be an https URL (plain http is allowed only for loopback hosts)"
    )


# A verification, written once for both shells: it yields (kid, alg) whenever it needs
# the signing key and is sent the key back (or has the key lookup's error thrown in).
# The sync validator drives it with a blocking JWKS lookup, the async one awaits it.
_T = TypeVar("_T")
KeyRequest = tuple[Optional[str], str]
VerifyFlow = Generator[KeyRequest, PyJWK, _T]


class TokenValidatorCore:
    """Settings, the verified-token cache and the verification flows of a validator,
    without I/O. :class:`TokenValidator` and
    :class:`~kinde_sdk.auth.async_token_validator.AsyncTokenValidator` add the JWKS."""

    def __init__(
        self,
        domain: str,
        audience: Union[str, Iterable[str], None] = None,
        *,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = DEFAULT_LEEWAY,
        jwks_cache_ttl: float = DEFAULT_JWKS_TTL,
        jwks_cooldown: float = DEFAULT_JWKS_COOLDOWN,
        issuer: Optional[str] = None,
        jwks_url: Optional[str] = None,
        clock: Callable[[], float] = time.time,
        max_cached_tokens: int = DEFAULT_MAX_CACHED_TOKENS,
        webhook_tolerance: float = DEFAULT_WEBHOOK_TOLERANCE,
    ) -> None:
        origin = normalize_domain(domain)
        if issuer is not None and (not isinstance(issuer, str) or not issuer.strip()):
            raise KindeConfigurationError("issuer must be a non-empty string")
        if isinstance(max_cached_tokens, bool) or not isinstance(max_cached_tokens, int):
            raise KindeConfigurationError("max_cached_tokens must be an int")
        if max_cached_tokens < 0:
            raise KindeConfigurationError("max_cached_tokens must be >= 0")
        self.issuer = issuer if issuer is not None else origin
        self.audience = normalize_audience(audience)
        self.algorithms = validate_algorithms(algorithms)
        self.leeway = check_seconds(leeway, "leeway", allow_zero=True)
        self.jwks_url = _check_jwks_url(jwks_url) if jwks_url else origin + JWKS_PATH
        self._jwks_ttl = check_seconds(jwks_cache_ttl, "jwks_cache_ttl")
        self._jwks_cooldown = check_seconds(jwks_cooldown, "jwks_cooldown", allow_zero=True)
        self.webhook_tolerance = check_tolerance(webhook_tolerance)
        self._clock = clock
        self._cache = VerifiedTokenCache(max_cached_tokens)
        self._policy = ClaimsPolicy(issuer=self.issuer, audience=self.audience, leeway=self.leeway)
        # Kinde webhook bodies are JWTs signed with the same keys but carry no audience
        # and need not carry exp or iss: the signature by this domain's keys proves their
        # origin. An iss that is present must still be this issuer.
        self._webhook_policy = ClaimsPolicy(
            issuer=self.issuer,
            audience=None,
            leeway=self.leeway,
            require_exp=False,
            issuer_required=False,
            reject_future_iat=False,
        )

    def for_audience(self, audience: Union[str, Iterable[str], None]) -> Self:
        """A validator like this one for another audience, sharing its JWKS cache (one
        download per key rotation for both) but not its cache of verified tokens."""
        twin = copy.copy(self)
        twin.audience = normalize_audience(audience)
        twin._cache = VerifiedTokenCache(self._cache.maxsize)
        twin._policy = ClaimsPolicy(issuer=self.issuer, audience=twin.audience, leeway=self.leeway)
        return twin

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(issuer={self.issuer!r}, audience={self.audience!r}, "
            f"algorithms={self.algorithms!r})"
        )

    def _verify_flow(self, token: TokenInput) -> VerifyFlow[Claims]:
        """``verify``: the verified-token cache first, then the full verification."""
        digest = hashlib.sha256(token_bytes(token)).digest()
        entry = self._cache.get(digest)
        if entry is not None:
            try:
                check_times(entry.exp, entry.nbf, self._clock(), self.leeway)
                # A key that left the JWKS (after a TTL refresh) stops vouching for the
                # tokens it signed; the same key object means the same JWK.
                key = yield entry.kid, entry.alg
            except InvalidTokenError:
                self._cache.discard(digest)
                raise
            if key is entry.key:
                return Claims(claims_from_verified_segment(entry.payload_segment))
            self._cache.discard(digest)
        header, key, claims, (exp, nbf) = yield from self._signed_flow(token, self._policy)
        self._cache.put(
            digest, VerifiedToken(exp, nbf, header.kid, header.alg, key, header.payload_segment)
        )
        return Claims(claims)

    def _signed_flow(
        self, token: TokenInput, policy: ClaimsPolicy
    ) -> VerifyFlow[
        tuple[TokenHeader, PyJWK, dict[str, Any], tuple[Optional[float], Optional[float]]]
    ]:
        """The one verification path: header, algorithm, key, signature, claims."""
        header = parse_header(token)
        check_algorithm(header.alg, self.algorithms)
        key = yield header.kid, header.alg
        claims = verify_signature(token, header, key, self.algorithms)
        times = check_claims(claims, policy, self._clock())
        return header, key, claims, times

    def _webhook_flow(
        self, body: Union[str, bytes], tolerance: Optional[float] = None
    ) -> VerifyFlow[dict[str, Any]]:
        """``decode_webhook``: no audience; ``iss``, ``exp``, ``nbf`` only when present;
        then the event claims and freshness (:mod:`._webhook_core`)."""
        if not isinstance(body, (str, bytes)):
            raise MalformedTokenError(
                f"a webhook body must be str or bytes, got {type(body).__name__}"
            )
        window = self.webhook_tolerance if tolerance is None else check_tolerance(tolerance)
        claims = (yield from self._signed_flow(body.strip(), self._webhook_policy))[2]
        check_webhook_claims(claims, now=self._clock(), tolerance=window, leeway=self.leeway)
        return claims

    def _key_set(self, keys: Optional[KeySet]) -> JsonWebKeySet:
        if keys is None:  # not expected after a successful refresh; be explicit anyway
            raise JWKSFetchError(f"no signing keys are available from {self.jwks_url}")
        return JsonWebKeySet.from_keyset(keys)

    def cache_info(self) -> CacheInfo:
        """Hits, misses, maximum and current size of the verified-token cache."""
        return self._cache.info()

    def clear_cache(self) -> None:
        """Forget every verified token (the JWKS stays cached)."""
        self._cache.clear()


class TokenValidator(TokenValidatorCore):
    """Verifies JWTs signed by a Kinde domain's keys.

    ``domain`` is the Kinde domain (``acme.kinde.com``, https assumed) or a custom domain.
    ``audience``, when given, must appear in the token's ``aud`` claim (one value, or a
    list of which any one must appear); when None, ``aud`` is not checked. ``issuer``
    defaults to the domain's origin and ``jwks_url`` to ``{origin}/.well-known/jwks.json``.

    ``algorithms`` is the allow-list; only asymmetric algorithms are accepted (``none``
    and ``HS*`` raise KindeConfigurationError). ``leeway`` is the clock skew tolerated on
    ``exp``/``nbf``. ``clock`` returns the current Unix time; tests inject their own.
    ``max_cached_tokens`` bounds the verified-token cache (0 turns it off).
    ``webhook_tolerance``: how old (seconds) a webhook :meth:`decode_webhook` accepts.

    ``verify`` raises a subclass of :class:`kinde_sdk.errors.InvalidTokenError` for a bad
    token and :class:`kinde_sdk.errors.JWKSFetchError` when no signing keys can be had.
    """

    def __init__(
        self,
        domain: str,
        audience: Union[str, Iterable[str], None] = None,
        *,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = DEFAULT_LEEWAY,
        jwks_cache_ttl: float = DEFAULT_JWKS_TTL,
        jwks_cooldown: float = DEFAULT_JWKS_COOLDOWN,
        issuer: Optional[str] = None,
        jwks_url: Optional[str] = None,
        transport: Optional[Transport] = None,
        clock: Callable[[], float] = time.time,
        max_cached_tokens: int = DEFAULT_MAX_CACHED_TOKENS,
        webhook_tolerance: float = DEFAULT_WEBHOOK_TOLERANCE,
    ) -> None:
        super().__init__(
            domain,
            audience,
            algorithms=algorithms,
            leeway=leeway,
            jwks_cache_ttl=jwks_cache_ttl,
            jwks_cooldown=jwks_cooldown,
            issuer=issuer,
            jwks_url=jwks_url,
            clock=clock,
            max_cached_tokens=max_cached_tokens,
            webhook_tolerance=webhook_tolerance,
        )
        self._jwks = JWKSCache(
            self.jwks_url,
            algorithms=self.algorithms,
            transport=transport or default_transport(),
            clock=clock,
            ttl=self._jwks_ttl,
            cooldown=self._jwks_cooldown,
        )

    def verify(self, token: TokenInput) -> Claims:
        """Verify ``token`` (signature, algorithm, ``iss``, ``aud``, ``exp``, ``nbf``) and
        return its claims: a new :class:`~kinde_sdk.auth.Claims` (a dict with typed
        properties) the caller may keep and change."""
        return self._run(self._verify_flow(token))

    def decode_webhook(
        self, body: Union[str, bytes], *, tolerance: Optional[float] = None
    ) -> dict[str, Any]:
        """Verify a Kinde webhook request body (a JWT) and return the event it carries.

        The signature must verify with this domain's JWKS; ``iss``, when present, must
        be the issuer; ``exp``/``nbf``, when present, are honoured. No audience check.
        The claims must be a Kinde event (``type``, ``event_id``), not an access or ID
        token, issued within ``tolerance`` seconds (default ``webhook_tolerance``, 300)
        by ``iat`` or else the event ``timestamp``; otherwise InvalidWebhookError.
        A replay within the tolerance is the caller's to refuse, by ``event_id``
        (:class:`kinde_sdk.webhooks.WebhookReceiver` does).
        """
        return self._run(self._webhook_flow(body, tolerance))

    def refresh_keys(self) -> None:
        """Fetch the JWKS now (e.g. at startup, to fail fast); honours the cooldown."""
        self._jwks.refresh()

    def get_jwks(self) -> JsonWebKeySet:
        """The key set this validator verifies with: the cached one, fetched first when
        there is none yet or it is past its TTL (a failed refresh keeps serving the
        cached keys). Only the usable signing keys are listed. Raises JWKSFetchError
        when no keys can be had at all."""
        if not self._jwks.is_fresh():
            try:
                self._jwks.refresh()
            except JWKSFetchError:
                if self._jwks.keys is None:
                    raise
        return self._key_set(self._jwks.keys)

    def close(self) -> None:
        """Forget the verified tokens. The transport is left open: it is the one given,
        or the SDK's shared default, which other clients use too."""
        self.clear_cache()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, flow: VerifyFlow[_T]) -> _T:
        try:
            request = next(flow)
            while True:
                try:
                    key = self._jwks.get_key(*request)
                except Exception as exc:
                    request = flow.throw(exc)
                else:
                    request = flow.send(key)
        except StopIteration as done:
            return cast(_T, done.value)


def decode_token_unverified(token: TokenInput) -> dict[str, Any]:
    """Return a JWT's claims WITHOUT VERIFYING ANYTHING: not the signature, issuer,
    audience or expiry.

    Anyone can craft a token that decodes. Use this only to inspect a token you already
    trust (say, one you just received from Kinde's token endpoint over TLS), never to
    authenticate a request; for that, use :meth:`TokenValidator.verify`.
    Raises MalformedTokenError when the token does not decode.
    """
    return decode_unverified(token)


decode_token = decode_token_unverified
"""Alias of :func:`decode_token_unverified`: decodes WITHOUT verification."""
