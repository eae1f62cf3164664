"""Retry policy: pure decisions, no I/O, shared by the sync and async transports.

:class:`RetryPolicy` is public (``kinde_sdk.RetryPolicy``): how many retries, the backoff
base and cap, the statuses that are retried, and the total deadline of one call.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Literal, Optional

from .errors import KindeConfigurationError

# Statuses that say "try again later". A plain 500 is in the set too, as Stripe and
# OpenAI retry it: it is usually transient, and only idempotent requests are retried on
# a status, so repeating one cannot do anything twice.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 8.0
# A server asking for a longer wait than this gets an error instead of a hung caller.
DEFAULT_RETRY_AFTER_MAX = 60.0
DEFAULT_DEADLINE = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one call.

    * ``max_retries``: retries after the first attempt (0: never retry).
    * ``backoff_base``, ``backoff_max``: the wait before retry *n* (0-based) is uniform
      in ``[0, min(backoff_max, backoff_base * 2**n)]`` (exponential, full jitter).
    * ``retry_statuses``: the HTTP statuses that are retried, for idempotent methods
      only (GET, HEAD, OPTIONS, PUT, DELETE); a POST is retried only when it surely
      never reached the server (connection refused, connect timeout).
    * ``retry_after_max``: a ``Retry-After`` longer than this is not waited for; the
      response is returned (a 429 becomes :class:`~kinde_sdk.errors.RateLimitError`).
    * ``deadline``: seconds for the whole call, attempts, waits and reading the body
      together. It holds even against a server that trickles its answer.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_max: float = DEFAULT_BACKOFF_MAX
    retry_after_max: float = DEFAULT_RETRY_AFTER_MAX
    deadline: float = DEFAULT_DEADLINE
    retry_statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def __post_init__(self) -> None:
        # KindeConfigurationError (a ValueError): the public policy's bad input is typed,
        # a wrong type included (it would otherwise fail mid-request, untyped).
        if (
            isinstance(self.max_retries, bool)
            or not isinstance(self.max_retries, int)
            or self.max_retries < 0
        ):
            raise KindeConfigurationError("max_retries must be an integer >= 0")
        for name in ("backoff_base", "backoff_max", "retry_after_max", "deadline"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise KindeConfigurationError(f"{name} must be a number of seconds >= 0")
        if self.deadline == 0:
            raise KindeConfigurationError("deadline must be > 0")
        statuses: Iterable[int] = self.retry_statuses
        if (
            not isinstance(statuses, Iterable)
            or isinstance(statuses, (str, bytes))
            or not all(
                isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
            )
        ):
            raise KindeConfigurationError(
                "retry_statuses must be HTTP status codes (integers 100-599)"
            )
        # A list or set given by the caller becomes a frozenset: the policy stays hashable.
        object.__setattr__(self, "retry_statuses", frozenset(statuses))

    def backoff(self, retry_number: int, rand: Callable[[], float] = random.random) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**n)]."""
        # The exponent is bounded (as in failure_backoff): 2.0**1024 overflows.
        ceiling = min(self.backoff_max, self.backoff_base * (2.0 ** min(retry_number, 32)))
        return ceiling * rand()


def client_policy(retry: Optional[RetryPolicy], max_retries: int, deadline: float) -> RetryPolicy:
    """The policy of a client that takes ``retry=`` and the ``max_retries``/``deadline``
    shortcuts (ManagementClient, AsyncManagementClient): one or the other, not both."""
    if retry is None:
        return RetryPolicy(max_retries=max_retries, deadline=deadline)
    if max_retries != DEFAULT_MAX_RETRIES or deadline != DEFAULT_DEADLINE:
        raise KindeConfigurationError(
            "pass either retry=RetryPolicy(...) or max_retries/deadline, not both"
        )
    return retry


def failure_backoff(
    failures: int, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """How long to wait after ``failures`` consecutive failures of a shared fetch (a
    JWKS refetch, a session's token refresh) before the next attempt: exponential from
    ``base``, capped at ``cap``, with "equal jitter" (uniform in [d/2, d]), so that
    workers that failed together do not retry together, and never wait near zero."""
    if failures <= 0 or base <= 0:
        return 0.0
    ceiling = min(cap, base * (2.0 ** min(failures - 1, 32)))
    return ceiling * (0.5 + 0.5 * rand())


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


def status_is_retryable(
    method: str, status: int, statuses: frozenset[int] = RETRY_STATUSES
) -> bool:
    return status in statuses and method.upper() in IDEMPOTENT_METHODS


def error_is_retryable(method: str, *, sent: bool) -> bool:
    """A connection error is retryable when the request surely never reached the server
    (``sent`` false: refused, DNS, connect timeout) or when repeating it is harmless."""
    return not sent or method.upper() in IDEMPOTENT_METHODS


# What went wrong below HTTP, whatever the library: each transport maps its own
# exceptions to one of these, and the decisions and messages follow from it alone.
FailureKind = Literal[
    "connect",  # refused, DNS: the request never left
    "connect_timeout",  # no connection (or no pooled one) in time: never left either
    "read_timeout",
    "write_timeout",
    "broken",  # the connection broke mid-exchange
    "tls",  # certificate or handshake failure: retrying cannot help
    "other",  # anything else the HTTP library raises
]
_NOT_SENT: frozenset[FailureKind] = frozenset({"connect", "connect_timeout"})


def failure_is_retryable(method: str, kind: FailureKind) -> bool:
    """Whether a request that failed with ``kind`` may be tried again."""
    if kind == "tls":
        return False
    return error_is_retryable(method, sent=kind not in _NOT_SENT)


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


class RetryState:
    """The retry decisions of one logical request: the loop both transports run.

    A transport creates one per call, checks :meth:`remaining` before each attempt, and
    after each attempt asks :meth:`after_status` or :meth:`after_failure` for the wait
    before the next one (None: stop and return the response, or raise). Only sending
    and sleeping are left to the transport, so the sync and async loops cannot drift.
    """

    __slots__ = ("_clock", "_rand", "deadline", "method", "policy", "retries", "started")

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        *,
        clock: Callable[[], float],
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.method = method.upper()
        self._clock = clock
        self._rand = rand
        self.started = clock()
        self.deadline = self.started + policy.deadline
        self.retries = 0

    def remaining(self) -> float:
        """Seconds left before the deadline; <= 0 means no further attempt may start."""
        return self.deadline - self._clock()

    def elapsed(self) -> float:
        return self._clock() - self.started

    def after_status(self, status: int, headers: Mapping[str, str]) -> Optional[float]:
        """The wait before retrying a response with ``status``, or None to return it."""
        if not status_is_retryable(self.method, status, self.policy.retry_statuses):
            return None
        return self._next(parse_retry_after(headers))

    def after_failure(self, kind: FailureKind) -> Optional[float]:
        """The wait before retrying after a connection failure, or None to raise it."""
        if not failure_is_retryable(self.method, kind):
            return None
        return self._next(None)

    def _next(self, retry_after: Optional[float]) -> Optional[float]:
        delay = next_delay(
            self.policy,
            self.retries,
            retry_after=retry_after,
            remaining=self.remaining(),
            rand=self._rand,
        )
        if delay is not None:
            self.retries += 1
        return delay
