"""Verify Kinde-issued JWTs from async code: :class:`AsyncTokenValidator`.

The async shell of :mod:`kinde_sdk.auth.token_validator`. Everything but the JWKS fetch
is the sync validator's own code: the settings and their checks, the verified-token
cache and the verification flow (:class:`~kinde_sdk.auth.token_validator.
TokenValidatorCore`), the JWKS parsing, merging and fetch schedule
(:class:`~kinde_sdk.auth._jwks.JWKSCacheCore`), the pure JWT checks. This module only
answers their requests for keys with an awaited fetch over
:class:`~kinde_sdk._async_transport.AsyncTransport`, so nothing blocks the event loop.

The fetch is single-flight: the first coroutine that needs keys starts it, the others
await the same fetch (or keep using stale keys while it refreshes them). The fetch runs
as a task shielded from the caller that started it, so cancelling that caller (a request
that timed out, say) does not fail the coroutines waiting on the same fetch.

Needs no extra dependency. A validator belongs to the event loop that first uses it
(its single-flight fetch is an asyncio task).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, cast

from jwt import PyJWK
from typing_extensions import Self

from ..errors import JWKSFetchError, KindeConnectionError
from ._jwks import DEFAULT_JWKS_COOLDOWN, DEFAULT_JWKS_TTL, JWKSCacheCore, KeySet
from ._jwt_core import DEFAULT_ALGORITHMS, TokenInput
from ._token_lru import DEFAULT_MAX_CACHED_TOKENS
from ._webhook_core import DEFAULT_WEBHOOK_TOLERANCE
from .claims import Claims
from .jwks import JsonWebKeySet
from .token_validator import DEFAULT_LEEWAY, TokenValidatorCore, VerifyFlow

if TYPE_CHECKING:
    from .._async_transport import AsyncTransport

__all__ = ["AsyncJWKSCache", "AsyncTokenValidator"]

_T = TypeVar("_T")


class AsyncJWKSCache(JWKSCacheCore[asyncio.Event]):
    """The JWKS cache of one URL for one event loop: :class:`JWKSCacheCore` with an
    awaited, single-flight fetch through an :class:`AsyncTransport`."""

    def __init__(
        self,
        url: str,
        *,
        algorithms: Sequence[str],
        transport: AsyncTransport,
        clock: Callable[[], float],
        ttl: float = DEFAULT_JWKS_TTL,
        cooldown: float = DEFAULT_JWKS_COOLDOWN,
    ) -> None:
        super().__init__(url, algorithms=algorithms, clock=clock, ttl=ttl, cooldown=cooldown)
        self._transport = transport
        self._task: Optional[asyncio.Future[None]] = None

    async def get_key(self, kid: Optional[str], alg: str) -> PyJWK:
        """The prepared key for a token header, fetching or refetching as the policy allows.

        Raises UnknownKeyError or InvalidAlgorithmError for the token, JWKSFetchError when
        no keys are available at all.
        """
        key = self._fresh_key(kid, alg)
        if key is not None:
            return key
        flow = self._key_flow(kid, alg)
        try:
            wait = next(flow)
            while True:
                await self._fetch(wait=wait)
                wait = flow.send(None)
        except StopIteration as done:
            return cast(PyJWK, done.value)

    async def refresh(self) -> None:
        """Fetch now unless the cooldown forbids it; raise JWKSFetchError if that fails."""
        before = self._snapshot
        await self._fetch()
        self._check_refreshed(before)

    async def _fetch(self, *, wait: bool = True) -> None:
        """Start one fetch if none is in flight and the cooldown allows, else wait for the
        one in flight (when ``wait``)."""
        claim = self._claim(asyncio.Event)
        if claim is None:
            return
        flight, leader = claim
        if not leader:
            if wait:
                await flight.wait()
            return
        # A strong reference until it ends: the event loop keeps only weak ones.
        task = self._task = asyncio.ensure_future(self._lead(flight))
        task.add_done_callback(self._forget)
        await asyncio.shield(task)

    def _forget(self, task: asyncio.Future[None]) -> None:
        if self._task is task:
            self._task = None

    async def _lead(self, flight: asyncio.Event) -> None:
        started = self._clock()
        keys: Optional[KeySet] = None
        error: Optional[JWKSFetchError] = None
        try:
            keys = await self._download(started)
        except JWKSFetchError as exc:
            error = exc
        finally:
            self._settle(flight, started, keys, error)

    async def _download(self, started: float) -> KeySet:
        try:
            response = await self._transport.request(
                "GET", self.url, headers={"Accept": "application/json"}, kind="jwks"
            )
        except KindeConnectionError as exc:
            raise self._connection_failed(exc) from exc
        return self._keys_from(response.status, response.data, started)


class AsyncTokenValidator(TokenValidatorCore):
    """Verifies JWTs signed by a Kinde domain's keys, from async code.

    The constructor and the behaviour are :class:`~kinde_sdk.auth.TokenValidator`'s,
    with ``await verify(token)``, ``await decode_webhook(body)`` and
    ``await refresh_keys()``. ``transport`` is an
    :class:`~kinde_sdk._async_transport.AsyncTransport`; without one the validator makes
    its own, closed by :meth:`aclose` (or ``async with``).

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
        transport: Optional[AsyncTransport] = None,
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
        from .._async_transport import AsyncTransport

        self._owns_transport = transport is None
        self._transport = transport if transport is not None else AsyncTransport()
        self._jwks = AsyncJWKSCache(
            self.jwks_url,
            algorithms=self.algorithms,
            transport=self._transport,
            clock=clock,
            ttl=self._jwks_ttl,
            cooldown=self._jwks_cooldown,
        )

    async def verify(self, token: TokenInput) -> Claims:
        """Verify ``token`` (signature, algorithm, ``iss``, ``aud``, ``exp``, ``nbf``) and
        return its claims: a new :class:`~kinde_sdk.auth.Claims` (a dict with typed
        properties) the caller may keep and change."""
        return await self._run(self._verify_flow(token))

    async def decode_webhook(
        self, body: Union[str, bytes], *, tolerance: Optional[float] = None
    ) -> dict[str, Any]:
        """Verify a Kinde webhook request body (a JWT) and return the event it carries:
        :meth:`TokenValidator.decode_webhook <kinde_sdk.auth.TokenValidator.decode_webhook>`
        from async code (the same checks, InvalidWebhookError included)."""
        return await self._run(self._webhook_flow(body, tolerance))

    async def refresh_keys(self) -> None:
        """Fetch the JWKS now (e.g. at startup, to fail fast); honours the cooldown."""
        await self._jwks.refresh()

    async def get_jwks(self) -> JsonWebKeySet:
        """The key set this validator verifies with: the cached one, fetched first when
        there is none yet or it is past its TTL (a failed refresh keeps serving the
        cached keys). Raises JWKSFetchError when no keys can be had at all."""
        if not self._jwks.is_fresh():
            try:
                await self._jwks.refresh()
            except JWKSFetchError:
                if self._jwks.keys is None:
                    raise
        return self._key_set(self._jwks.keys)

    async def aclose(self) -> None:
        """Close the transport the validator made for itself (not one it was given)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, flow: VerifyFlow[_T]) -> _T:
        try:
            request = next(flow)
            while True:
                try:
                    key = await self._jwks.get_key(*request)
                except Exception as exc:
                    request = flow.throw(exc)
                else:
                    request = flow.send(key)
        except StopIteration as done:
            return cast(_T, done.value)
