"""Receive Kinde webhooks: verify, type, and hand each event to the handler once.

:class:`WebhookReceiver` is what the framework helpers (FastAPI, Flask, Django) run for
every request; it is usable on its own from any other server. For one request body:

1. :meth:`~WebhookReceiver.verify`: ``TokenValidator.decode_webhook`` (signature, event
   claims, freshness, not a user's token) and :func:`parse_event` (the typed event);
2. :meth:`~WebhookReceiver.claim`: reserve the event id in the storage backend. An id
   already handled is a *duplicate* (answer 200, do nothing); an id being handled right
   now by another request is *in progress* (answer 409, so Kinde retries later rather
   than forgetting the event if that other attempt fails);
3. the handler runs; then :meth:`~WebhookReceiver.complete` marks the id handled, or, if
   the handler raised, :meth:`~WebhookReceiver.release` frees it so that Kinde's next
   attempt is handled.

:meth:`~WebhookReceiver.process` does the three steps for a synchronous handler.

De-duplication records live in a :class:`~kinde_sdk.core.storage.StorageBackend`
(memory by default: per process; give the app's file or redis backend to share them
between workers) under ``kinde_webhook:<event id>``, for ``retention`` seconds (default
72 hours, longer than Kinde's redelivery attempts), and are purged when expired.
Within one process the reservation is atomic; across processes it is a read then a
write, so two workers receiving the very same event in the same millisecond could both
run the handler; Kinde's redeliveries are minutes apart, and a backend with an atomic
add could close that window.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Callable, Generic, Optional, TypeVar, Union

from .._config import check_seconds, normalize_domain
from ..core.storage import StorageBackend, StorageConfig, create_storage
from ..errors import KindeConfigurationError
from ._events import WebhookEvent, parse_event

if TYPE_CHECKING:  # PyJWT and cryptography load with the validator, when one is built
    from ..auth.token_validator import TokenValidator

__all__ = ["Delivery", "DeliveryState", "Processed", "WebhookReceiver"]

DEFAULT_RETENTION = 72 * 3600.0
DEFAULT_PROCESSING_TIMEOUT = 120.0
KEY_PREFIX = "kinde_webhook:"
_PURGE_EVERY = 60.0
_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")

_T = TypeVar("_T")


class DeliveryState(str, Enum):
    NEW = "new"
    """First time this event id is seen: handle it."""
    DUPLICATE = "duplicate"
    """Already handled: answer 200 and do nothing."""
    IN_PROGRESS = "in_progress"
    """Being handled by another request right now: answer 409 so Kinde retries."""


@dataclass(frozen=True)
class Delivery:
    """One received webhook: its typed ``event`` and what to do with it (``state``)."""

    event: WebhookEvent
    state: DeliveryState
    key: Optional[str] = None

    @property
    def duplicate(self) -> bool:
        return self.state is not DeliveryState.NEW


@dataclass(frozen=True)
class Processed(Generic[_T]):
    """What :meth:`WebhookReceiver.process` did: the delivery, and the handler's result
    (None when it did not run)."""

    delivery: Delivery
    result: Optional[_T] = None

    @property
    def status(self) -> int:
        """The HTTP status to answer Kinde with: 200 (handled, or a duplicate) or 409
        (in progress elsewhere: retry later)."""
        return 409 if self.delivery.state is DeliveryState.IN_PROGRESS else 200


class WebhookReceiver:
    """Verifies Kinde webhook bodies and hands out each event once.

    ``validator``: a :class:`~kinde_sdk.auth.TokenValidator` of the Kinde domain, or
    ``domain=`` to build one (``tolerance``, seconds, is then its
    ``webhook_tolerance``: how old a webhook may be; default 300). ``storage``: where the
    handled event ids are kept (a StorageBackend or a storage config such as
    ``{"type": "redis", "options": {...}}``; default: memory, this process only).
    ``dedupe=False`` hands every valid delivery to the handler.
    """

    def __init__(
        self,
        validator: Optional[TokenValidator] = None,
        *,
        domain: Optional[str] = None,
        tolerance: Optional[float] = None,
        storage: StorageConfig = None,
        dedupe: bool = True,
        retention: float = DEFAULT_RETENTION,
        processing_timeout: float = DEFAULT_PROCESSING_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (validator is None) == (domain is None):
            raise KindeConfigurationError(
                "WebhookReceiver needs exactly one of validator= or domain="
            )
        if validator is None:
            from ..auth.token_validator import TokenValidator

            assert domain is not None
            options: dict[str, Any] = {"clock": clock}
            if tolerance is not None:
                options["webhook_tolerance"] = tolerance
            validator = TokenValidator(normalize_domain(domain), **options)
        elif tolerance is not None:
            raise KindeConfigurationError(
                "tolerance= goes with domain=; a validator has its own webhook_tolerance"
            )
        if not callable(getattr(validator, "decode_webhook", None)):
            raise KindeConfigurationError("validator must be a TokenValidator")
        self.validator: TokenValidator = validator
        self.dedupe = bool(dedupe)
        self.retention = check_seconds(retention, "retention")
        self.processing_timeout = check_seconds(processing_timeout, "processing_timeout")
        self._storage: StorageBackend = create_storage(storage)
        self._clock = clock
        self._lock = threading.Lock()
        # Backends with expiry (memory, file, redis) drop the records by themselves; the
        # sweep (a keys() walk and a get per record, under the lock) is only for those
        # without, where set_expiring is plain set.
        self._sweep = type(self._storage).set_expiring is StorageBackend.set_expiring
        self._next_purge = 0.0

    def __repr__(self) -> str:
        return f"WebhookReceiver(validator={self.validator!r}, dedupe={self.dedupe})"

    @property
    def storage(self) -> StorageBackend:
        return self._storage

    # --- the steps -------------------------------------------------------------------

    def verify(self, body: Union[str, bytes]) -> WebhookEvent:
        """The typed event of a webhook body; InvalidTokenError (InvalidWebhookError
        and the others) when it is not a valid, fresh Kinde webhook. No de-duplication."""
        return parse_event(self.validator.decode_webhook(body))

    def claim(self, body: Union[str, bytes]) -> Delivery:
        """Verify ``body`` and reserve its event id (see the module docstring). A NEW
        delivery must be followed by :meth:`complete` or :meth:`release`."""
        event = self.verify(body)
        if not self.dedupe:
            return Delivery(event, DeliveryState.NEW)
        key = KEY_PREFIX + self._id_key(event.id)
        now = self._clock()
        with self._lock:
            self._purge(now)
            record = self._storage.get(key)
            state = self._state(record, now)
            if state is not DeliveryState.NEW:
                return Delivery(event, state, key)
            # Expiring records: backends with expiry drop them by themselves; _purge
            # remains for those without.
            self._storage.set_expiring(
                key,
                {"state": "processing", "at": now, "until": now + self.retention},
                self.retention,
            )
        return Delivery(event, DeliveryState.NEW, key)

    def complete(self, delivery: Delivery) -> None:
        """Record that the delivery's event was handled: later deliveries are duplicates."""
        if delivery.key is None or delivery.state is not DeliveryState.NEW:
            return
        now = self._clock()
        with self._lock:
            self._storage.set_expiring(
                delivery.key,
                {"state": "done", "at": now, "until": now + self.retention},
                self.retention,
            )

    def release(self, delivery: Delivery) -> None:
        """The handler failed: forget the reservation so that a redelivery is handled."""
        if delivery.key is None or delivery.state is not DeliveryState.NEW:
            return
        with self._lock:
            self._storage.delete(delivery.key)

    def process(
        self, body: Union[str, bytes], handler: Callable[[WebhookEvent], _T]
    ) -> Processed[_T]:
        """Verify, de-duplicate and run ``handler(event)`` once per event id. A handler
        that raises releases the event id (Kinde's retry is handled) and the exception
        propagates."""
        delivery = self.claim(body)
        if delivery.duplicate:
            return Processed(delivery)
        try:
            result = handler(delivery.event)
        except BaseException:
            self.release(delivery)
            raise
        self.complete(delivery)
        return Processed(delivery, result)

    def forget(self, event_id: str) -> None:
        """Drop the record of ``event_id`` (to handle it again, say in a test)."""
        with self._lock:
            self._storage.delete(KEY_PREFIX + self._id_key(event_id))

    # --- internals ----------------------------------------------------------------------

    @staticmethod
    def _id_key(event_id: str) -> str:
        # Event ids are Kinde's (``event_...``); anything else is hashed so a key is
        # always short and safe for every backend.
        if _SAFE_ID.match(event_id):
            return event_id
        return "sha256-" + hashlib.sha256(event_id.encode("utf-8")).hexdigest()

    def _state(self, record: Any, now: float) -> DeliveryState:
        if not isinstance(record, dict):
            return DeliveryState.NEW
        until, at = record.get("until"), record.get("at")
        if not isinstance(until, (int, float)) or until <= now:
            return DeliveryState.NEW  # expired
        if record.get("state") == "done":
            return DeliveryState.DUPLICATE
        if isinstance(at, (int, float)) and now - at < self.processing_timeout:
            return DeliveryState.IN_PROGRESS
        return DeliveryState.NEW  # a reservation whose holder died: take it over

    def _purge(self, now: float) -> None:
        """Delete expired records, at most once a minute (called under the lock)."""
        if not self._sweep or now < self._next_purge:
            return
        self._next_purge = now + _PURGE_EVERY
        for key in self._storage.keys(KEY_PREFIX):
            record = self._storage.get(key)
            until = record.get("until") if isinstance(record, dict) else None
            if not isinstance(until, (int, float)) or until <= now:
                self._storage.delete(key)
