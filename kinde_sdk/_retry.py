"""Retry policy: pure decisions, no I/O, shared by the sync and async transports."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional

# Statuses that say "try again later" without the request having had an effect.
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 8.0
# A server asking for a longer wait than this gets an error instead of a hung caller.
DEFAULT_RETRY_AFTER_MAX = 60.0
DEFAULT_DEADLINE = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``max_retries`` counts retries after the first attempt. ``deadline`` bounds the whole
    call, attempts and waits together: no retry starts if its wait would cross it.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_max: float = DEFAULT_BACKOFF_MAX
    retry_after_max: float = DEFAULT_RETRY_AFTER_MAX
    deadline: float = DEFAULT_DEADLINE

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.deadline <= 0:
            raise ValueError("deadline must be > 0")

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**n)]."""
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**retry_number))
        return ceiling * rand()


def parse_retry_after(
    headers: Mapping[str, str], now: Optional[datetime] = None
) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    # HTTP-date form is rare; email.utils costs ~10 ms to import, so only then.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def status_is_retryable(method: str, status: int) -> bool:
    return status in RETRY_STATUSES and method.upper() in IDEMPOTENT_METHODS


def error_is_retryable(method: str, *, sent: bool) -> bool:
    """A connection error is retryable when the request surely never reached the server
    (``sent`` false: refused, DNS, connect timeout) or when repeating it is harmless."""
    return not sent or method.upper() in IDEMPOTENT_METHODS


def next_delay(
    policy: RetryPolicy,
    retry_number: int,
    *,
    retry_after: Optional[float],
    remaining: float,
    rand: Callable[[], float] = random.random,
) -> Optional[float]:
    """The wait before retry number ``retry_number`` (0-based), or None to give up.

    Gives up when retries are exhausted, when the server asks for a wait beyond
    ``retry_after_max``, or when the wait would cross the deadline.
    """
    if retry_number >= policy.max_retries:
        return None
    if retry_after is not None:
        if retry_after > policy.retry_after_max:
            return None
        delay = retry_after
    else:
        delay = policy.backoff(retry_number, rand)
    if delay >= remaining:
        return None
    return delay
