"""Client-credentials (machine-to-machine) access tokens, cached per process.

Every client with the same token endpoint, client id, audience and *secret* shares one
cached token. The cache key holds a keyed fingerprint of the secret, never the secret:
a client built with a rotated secret gets its own entry and so uses the new secret, and
no entry ever answers for credentials other than the ones that fetched it.

Refresh happens ``refresh_margin`` seconds before expiry, one request at a time: threads
arriving while a refresh is in flight wait for it instead of sending their own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ._transport import Response, Transport
from .errors import KindeConnectionError, KindeError, TokenError

logger = logging.getLogger("kinde_sdk")

DEFAULT_REFRESH_MARGIN = 60.0
# Used when a token response has no expires_in: short, so a wrong guess costs little.
FALLBACK_LIFETIME = 300.0

# Keyed so that a fingerprint seen in a heap dump cannot be brute-forced offline.
_FINGERPRINT_KEY = secrets.token_bytes(32)


def credentials_fingerprint(client_id: str, client_secret: str) -> str:
    message = client_id.encode() + b"\x00" + client_secret.encode()
    return hmac.new(_FINGERPRINT_KEY, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    token_url: str
    client_id: str
    audience: Optional[str]
    fingerprint: str = field(repr=False)


class _CachedToken:
    """One shared token slot. Weakly registered: it lives while a client uses it."""

    __slots__ = ("__weakref__", "expires_at", "lock", "refresh_at", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: Optional[str] = None
        self.refresh_at = 0.0
        self.expires_at = 0.0


_registry: weakref.WeakValueDictionary[CacheKey, _CachedToken] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def _shared_slot(key: CacheKey) -> _CachedToken:
    with _registry_lock:
        slot = _registry.get(key)
        if slot is None:
            slot = _CachedToken()
            _registry[key] = slot
        return slot


class ClientCredentialsTokenProvider:
    """Gets and caches access tokens with the OAuth 2.0 client-credentials grant."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: Optional[str],
        transport: Transport,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.audience = audience
        self._client_secret = client_secret
        self._transport = transport
        self._refresh_margin = refresh_margin
        self._clock = clock
        self._key = CacheKey(
            token_url, client_id, audience, credentials_fingerprint(client_id, client_secret)
        )
        self._slot = _shared_slot(self._key)

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsTokenProvider(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, audience={self.audience!r})"
        )

    def token(self) -> str:
        """A valid access token, from the cache or from one token request."""
        slot = self._slot
        now = self._clock()
        value = slot.value
        if value is not None and now < slot.refresh_at:
            return value
        with slot.lock:
            now = self._clock()
            if slot.value is not None and now < slot.refresh_at:
                return slot.value
            try:
                self._fetch_into(slot)
            except KindeError:
                # Refreshing early failed but the old token is still good: use it and
                # let a later call try again.
                if slot.value is not None and self._clock() < slot.expires_at:
                    logger.warning("token refresh failed; using the cached token until it expires")
                    return slot.value
                raise
            assert slot.value is not None
            return slot.value

    def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` (the API answered 401 to it).

        Only that exact token is dropped, so many requests failing with the same old
        token cause one new token request, not one each.
        """
        slot = self._slot
        with slot.lock:
            if slot.value == rejected_token:
                slot.value = None
                slot.refresh_at = slot.expires_at = 0.0

    def _fetch_into(self, slot: _CachedToken) -> None:
        sent_at = self._clock()
        fields = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id),
            ("client_secret", self._client_secret),
        ]
        if self.audience:
            fields.append(("audience", self.audience))
        try:
            response = self._transport.request(
                "POST",
                self.token_url,
                fields=fields,
                headers={"Accept": "application/json"},
                kind="token",
            )
        except KindeConnectionError as exc:
            raise TokenError(f"the token endpoint could not be reached: {exc}") from exc
        token, lifetime = parse_token_response(response)
        margin = min(self._refresh_margin, lifetime / 2)
        slot.value = token
        slot.expires_at = sent_at + lifetime
        slot.refresh_at = sent_at + lifetime - margin
        logger.debug("fetched a client-credentials token valid for %.0fs", lifetime)


def parse_token_response(response: Response) -> tuple[str, float]:
    """Return (access_token, lifetime seconds) or raise :class:`TokenError`."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status != 200:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            description = body.get("error_description")
            raise TokenError(
                "the token endpoint refused the request",
                error=body["error"],
                error_description=description if isinstance(description, str) else None,
                status=response.status,
            )
        raise TokenError("the token endpoint failed", status=response.status)
    if not isinstance(body, dict):
        raise TokenError("the token endpoint answered with a body that is not JSON", status=200)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError("the token endpoint's answer has no access_token", status=200)
    expires_in = body.get("expires_in")
    try:
        lifetime = float(expires_in) if expires_in is not None else FALLBACK_LIFETIME
    except (TypeError, ValueError):
        lifetime = FALLBACK_LIFETIME
    if lifetime <= 0:
        raise TokenError("the token endpoint issued a token that is already expired", status=200)
    return token, lifetime
