"""The token fast path reads the cached token and its deadlines as one snapshot.

A refresh by another caller can land between the fast path's reads. Read as separate
attributes (token, then clock, then refresh point), the old, expired token would be
paired with the new token's refresh point and served. The interleaving is made
deterministic here: the provider's clock is the hook, and the refresh runs to its end
(in another thread, through the same token slot) inside the clock call that separates
the reads.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Callable, Optional

import pytest

from kinde_sdk._async_token_cache import AsyncClientCredentialsTokenProvider
from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._token_core import Issued, TokenSlot, fresh_token

LIFETIME = 100.0
MARGIN = 10.0


class HookClock:
    """A monotonic fake clock; ``arm(hook)`` runs ``hook()`` once, inside the next call
    from the thread that armed it, before the time is returned."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._hook: Optional[Callable[[], None]] = None
        self._thread: Optional[int] = None

    def arm(self, hook: Callable[[], None]) -> None:
        self._hook, self._thread = hook, threading.get_ident()

    def __call__(self) -> float:
        hook = self._hook
        if hook is not None and threading.get_ident() == self._thread:
            self._hook = None
            hook()
        return self.now


class Issuer:
    """Stands in for the token endpoint: tok-1, tok-2, ... each valid LIFETIME seconds."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self) -> tuple[str, float]:
        with self.lock:
            self.count += 1
            return f"tok-{self.count}", LIFETIME


def settings(clock: HookClock, client_id: str) -> dict[str, Any]:
    return {
        "token_url": "https://example.kinde.com/oauth2/token",
        "client_id": client_id,
        "client_secret": "s3cret",
        "audience": None,
        "transport": None,
        "refresh_margin": MARGIN,
        "clock": clock,
    }


class SyncProvider(ClientCredentialsTokenProvider):
    issuer: Issuer

    def _fetch(self) -> tuple[str, float]:
        return self.issuer()


class AsyncProvider(AsyncClientCredentialsTokenProvider):
    issuer: Issuer

    async def _fetch(self) -> tuple[str, float]:
        return self.issuer()


def refresh_elsewhere(provider: SyncProvider, seen: list[str]) -> Callable[[], None]:
    """Another caller, in another thread, refreshes the shared slot to its end."""

    def hook() -> None:
        thread = threading.Thread(target=lambda: seen.append(provider.token()))
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()

    return hook


@pytest.fixture
def client_id() -> str:
    return f"m2m-{uuid.uuid4().hex}"


def test_a_refresh_between_the_reads_never_serves_the_expired_token(client_id: str) -> None:
    clock, issuer = HookClock(), Issuer()
    provider = SyncProvider(**settings(clock, client_id))
    other = SyncProvider(**settings(clock, client_id))  # same credentials: same slot
    provider.issuer = other.issuer = issuer
    assert provider._slot is other._slot
    assert provider.token() == "tok-1"  # valid until 1100, refreshed from 1090

    clock.now = 1000.0 + LIFETIME + 50  # tok-1 has expired
    seen: list[str] = []
    clock.arm(refresh_elsewhere(other, seen))
    token = provider.token()

    assert seen == ["tok-2"]  # the other caller refreshed while this one looked
    assert token == "tok-2"  # was: "tok-1", expired, with tok-2's refresh point
    assert issuer.count == 2


def test_the_async_fast_path_reads_one_snapshot_too(client_id: str) -> None:
    clock, issuer = HookClock(), Issuer()
    provider = AsyncProvider(**settings(clock, client_id))
    other = SyncProvider(**settings(clock, client_id))
    provider.issuer = other.issuer = issuer

    async def scenario() -> tuple[str, str]:
        first = await provider.token()
        clock.now = 1000.0 + LIFETIME + 50
        seen: list[str] = []
        clock.arm(refresh_elsewhere(other, seen))
        second = await provider.token()
        assert seen == ["tok-2"]
        return first, second

    assert asyncio.run(scenario()) == ("tok-1", "tok-2")
    assert issuer.count == 2


def test_the_snapshot_is_replaced_whole_never_edited() -> None:
    slot = TokenSlot()
    old = Issued("tok-1", expires_at=1100.0, refresh_at=1090.0)
    slot.current = old
    with pytest.raises(AttributeError):
        old.refresh_at = 2000.0  # type: ignore[misc]
    clock = HookClock()
    clock.now = 1095.0  # refresh due: the fast path declines, the flow decides
    assert fresh_token(slot, clock) is None

    def swap() -> None:
        slot.current = Issued("tok-2", expires_at=1200.0, refresh_at=1190.0)

    clock.arm(swap)
    # The swap lands between the snapshot read and the deadline check: the old
    # snapshot's deadline decides, so the old token is not served past its own.
    assert fresh_token(slot, clock) is None
    assert fresh_token(slot, clock) == "tok-2"
