"""Client-credentials (machine-to-machine) access tokens: the sync shell of the token cache.

The decisions live in :mod:`kinde_sdk._token_core` (sans-I/O); this module performs its
effects with blocking calls, and holds what both shells share: the cache key, the
process-wide registry of token slots and the token request itself.

Every client with the same token endpoint, client id, audience and *secret* shares one
cached token. The cache key holds a keyed fingerprint of the secret, never the secret:
a client built with a rotated secret gets its own entry and so uses the new secret, and
no entry ever answers for credentials other than the ones that fetched it. Sync and
async providers with the same credentials share the same slot.

With a shared ``token_store`` (:mod:`kinde_sdk._token_store`), processes share tokens too:
one token request for a whole fleet with a cold cache.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import random
import secrets
import threading
import time
import weakref
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Optional, TypeVar

from ._config import check_seconds
from ._retry import DEFAULT_DEADLINE
from ._token_core import (
    DEFAULT_REFRESH_MARGIN,
    FALLBACK_LIFETIME,
    FLIGHT_WAIT_SLACK,
    Effect,
    Fetch,
    Flow,
    Sleep,
    StoreOp,
    StoreUnavailable,
    TokenSlot,
    WaitFlight,
    fresh_token,
    invalidate_flow,
    token_flow,
)
from ._token_store import TokenStore, shared_for
from ._transport import Response, Transport
from .errors import KindeConnectionError, TokenError

__all__ = [
    "DEFAULT_REFRESH_MARGIN",
    "FALLBACK_LIFETIME",
    "CacheKey",
    "ClientCredentialsTokenProvider",
    "credentials_fingerprint",
    "parse_token_response",
]

logger = logging.getLogger("kinde_sdk")

T = TypeVar("T")

# Keyed so that a fingerprint seen in a heap dump cannot be brute-forced offline. It
# only names in-process slots; shared stores derive their own keys (_token_store).
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


# Weakly registered: a slot lives while a client uses it.
_registry: weakref.WeakValueDictionary[CacheKey, TokenSlot] = weakref.WeakValueDictionary()
_registry_lock = threading.Lock()


def _after_fork_in_child() -> None:
    """A forked child (gunicorn --preload, multiprocessing) inherits the slots as they
    were, possibly with a flight whose leader thread did not come along: it would never
    finish. The child starts with fresh locks and no flights; tokens are kept."""
    global _registry_lock
    _registry_lock = threading.Lock()
    for slot in list(_registry.values()):
        slot.lock = threading.Lock()
        slot.flight = None


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


def shared_slot(key: CacheKey) -> TokenSlot:
    with _registry_lock:
        slot = _registry.get(key)
        if slot is None:
            slot = TokenSlot()
            _registry[key] = slot
        return slot


def check_refresh_margin(value: Any) -> float:
    """``value`` as seconds, or a clear error: a negative margin would serve tokens past
    their expiry, a NaN one would make every call a token request."""
    return check_seconds(value, "refresh_margin", allow_zero=True)


def token_request_fields(
    client_id: str, client_secret: str, audience: Optional[str]
) -> list[tuple[str, str]]:
    fields = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ]
    if audience:
        fields.append(("audience", audience))
    return fields


def drive(flow: Generator[Effect, Any, T], perform: Callable[[Effect], Any]) -> T:
    """Run a sans-I/O flow to its end, performing each effect it yields. Whatever an
    effect raises (KeyboardInterrupt included) is thrown into the flow, so it can share
    or abandon its flight before the exception leaves."""
    value: Any = None
    error: Optional[BaseException] = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        value, error = None, None
        try:
            value = perform(effect)
        except BaseException as exc:
            error = exc


TransportT = TypeVar("TransportT")


class TokenProviderBase(Generic[TransportT]):
    """What the sync and async providers share: settings, slot, flow parameters; they
    differ only in the transport they send with and in how they perform effects."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: Optional[str],
        transport: TransportT,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        token_store: Optional[TokenStore] = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.audience = audience
        self._client_secret = client_secret
        self._transport = transport
        self._clock = clock
        self._slot = shared_slot(
            CacheKey(
                token_url, client_id, audience, credentials_fingerprint(client_id, client_secret)
            )
        )
        shared = shared_for(token_store, token_url, client_id, audience, client_secret)
        # Waiters wait for the leader's whole bounded work: its request (the transport's
        # deadline) and, with a shared store, its wait for another process.
        retry = getattr(transport, "retry", None)
        wait = float(getattr(retry, "deadline", DEFAULT_DEADLINE)) + FLIGHT_WAIT_SLACK
        if shared is not None:
            wait += shared.lock_wait
        self._flow = Flow(
            slot=self._slot,
            clock=clock,
            wall_clock=wall_clock,
            refresh_margin=check_refresh_margin(refresh_margin),
            flight_timeout=wait,
            shared=shared,
            rand=rand,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, audience={self.audience!r})"
        )

    def _fields(self) -> list[tuple[str, str]]:
        return token_request_fields(self.client_id, self._client_secret, self.audience)

    def _call_store(self, effect: StoreOp) -> Any:
        assert self._flow.shared is not None
        try:
            return getattr(self._flow.shared.store, effect.name)(*effect.args)
        except Exception as exc:
            # Never the store's text in a user-facing error: it is logged as a warning.
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc


class ClientCredentialsTokenProvider(TokenProviderBase[Transport]):
    """Gets and caches access tokens with the OAuth 2.0 client-credentials grant."""

    def token(self) -> str:
        """A valid access token, from the cache or from one token request."""
        # The fast path, without the flow: a fresh token.
        value = fresh_token(self._slot, self._clock)
        if value is not None:
            return value
        return drive(token_flow(self._flow), self._perform)

    def invalidate(self, rejected_token: str) -> None:
        """Forget ``rejected_token`` (the API answered 401 to it).

        Only that exact token is dropped, here and in a shared store, so many requests
        failing with the same old token cause one new token request, not one each.
        """
        drive(invalidate_flow(self._flow, rejected_token), self._perform)

    def send_with_token(self, send: Callable[[str], Response]) -> Response:
        """``send(token)``; on a 401, one fresh token and one replay."""
        token = self.token()
        response = send(token)
        if response.status == 401:
            # The token may have been revoked or rotated: one fresh token, one replay.
            self.invalidate(token)
            response = send(self.token())
        return response

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Fetch):
            return self._fetch()
        if isinstance(effect, StoreOp):
            return self._call_store(effect)
        if isinstance(effect, WaitFlight):
            return effect.flight.done.wait(effect.timeout)
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
            return None
        raise AssertionError(f"unknown effect {effect!r}")

    def _fetch(self) -> tuple[str, float]:
        try:
            response = self._transport.request(
                "POST",
                self.token_url,
                fields=self._fields(),
                headers={"Accept": "application/json"},
                kind="token",
            )
        except KindeConnectionError as exc:
            raise TokenError(f"the token endpoint could not be reached: {exc}") from exc
        return parse_token_response(response)


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
    if lifetime <= 0 or lifetime != lifetime or lifetime == float("inf"):
        raise TokenError("the token endpoint issued a token with an unusable lifetime", status=200)
    return token, lifetime
