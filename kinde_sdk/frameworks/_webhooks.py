"""What the webhook helpers of every framework share (framework-free).

A helper (``kinde_webhook`` in :mod:`.fastapi`, :mod:`.flask` and :mod:`.django`) reads
the raw request body, runs :class:`~kinde_sdk.webhooks.WebhookReceiver` (verify, type,
de-duplicate), calls the view with the typed event when it is new, and answers Kinde:

====================================================  ======
a new event, handled (the view returned no response)  200 ``{"status": "ok"}``
an event already handled (a redelivery)               200 ``{"status": "duplicate"}``
an event being handled by another request now          409 ``{"status": "in_progress"}``
not a valid, fresh Kinde webhook                       400 ``{"error": "invalid_webhook"}``
a body over ``max_body`` bytes                         413
signing keys or the de-duplication store unavailable   503
the view raised                                        the framework's 500 (the event id
                                                       is released: Kinde's retry runs it)
====================================================  ======

A non-2xx answer makes Kinde deliver the event again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..core.storage import StorageError
from ..errors import InvalidTokenError, JWKSFetchError, KindeConfigurationError
from ..webhooks import Delivery, DeliveryState, WebhookEvent, WebhookReceiver

__all__ = [
    "DEFAULT_MAX_BODY",
    "Answer",
    "answer_for_delivery",
    "answer_for_error",
    "build_receiver",
]

logger = logging.getLogger("kinde_sdk")

# A Kinde webhook is a JWT of a few kilobytes; nothing legitimate comes near this.
DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


OK = Answer(200, {"status": "ok"})
TOO_LARGE = Answer(413, {"error": "payload_too_large"})


def build_receiver(
    receiver: Optional[WebhookReceiver],
    options: dict[str, Any],
    default_domain: Callable[[], Optional[str]],
) -> WebhookReceiver:
    """The receiver given, else one built from ``options`` (WebhookReceiver's keywords),
    with the domain from the framework's settings or the environment."""
    if receiver is not None:
        if options:
            raise KindeConfigurationError(
                "kinde_webhook takes a receiver or WebhookReceiver options, not both"
            )
        if not isinstance(receiver, WebhookReceiver):
            raise KindeConfigurationError("kinde_webhook's receiver must be a WebhookReceiver")
        return receiver
    if options.get("validator") is None and options.get("domain") is None:
        domain = default_domain()
        if not domain:
            raise KindeConfigurationError(
                "kinde_webhook needs the Kinde domain: pass domain=... (or validator= or "
                "receiver=), or set KINDE_DOMAIN"
            )
        options = {**options, "domain": domain}
    return WebhookReceiver(**options)


def answer_for_delivery(delivery: Delivery) -> Optional[Answer]:
    """The answer for a delivery that must not reach the view; None for a new one."""
    if delivery.state is DeliveryState.DUPLICATE:
        return Answer(200, {"status": "duplicate", "event_id": delivery.event.id})
    if delivery.state is DeliveryState.IN_PROGRESS:
        return Answer(409, {"status": "in_progress", "event_id": delivery.event.id})
    return None


def answer_for_error(exc: Exception) -> Optional[Answer]:
    """The answer for an error of the receiver; None for one that is not its to answer."""
    if isinstance(exc, InvalidTokenError):
        logger.warning("refused a webhook: %s", exc)
        return Answer(400, {"error": "invalid_webhook", "error_description": str(exc)})
    if isinstance(exc, JWKSFetchError):
        logger.error("cannot verify webhooks, no signing keys: %s", exc)
        return Answer(503, {"error": "temporarily_unavailable"})
    if isinstance(exc, StorageError):
        logger.error("cannot de-duplicate webhooks, storage failed: %s", exc)
        return Answer(503, {"error": "temporarily_unavailable"})
    return None


def read_body(read: Callable[[int], bytes], declared_length: Any, max_body: int) -> Optional[bytes]:
    """The raw body, read with a limit; None when it is over ``max_body`` (declared or
    actual)."""
    declared = str(declared_length) if declared_length is not None else ""
    # isascii: "\xb2" (a latin-1 header byte) is a digit to isdigit() but not to int().
    if declared.isascii() and declared.isdigit() and int(declared) > max_body:
        return None
    body = read(max_body + 1)
    return None if len(body) > max_body else body


def claim(hooks: WebhookReceiver, body: bytes) -> Union[Answer, Delivery]:
    """Verify and reserve: the new delivery to hand to the view, or the answer to give
    instead (a duplicate, in progress, invalid, or the keys or storage unavailable)."""
    try:
        delivery = hooks.claim(body)
    except Exception as exc:
        answer = answer_for_error(exc)
        if answer is None:
            raise
        return answer
    return answer_for_delivery(delivery) or delivery


def run_sync(
    hooks: WebhookReceiver, body: Optional[bytes], view: Callable[[WebhookEvent], Any]
) -> Union[Answer, Any]:
    """The whole exchange for a synchronous view (:meth:`WebhookReceiver.process`): an
    Answer to turn into the framework's response, or what the view returned (when it
    returned something)."""
    if body is None:
        return TOO_LARGE
    try:
        processed = hooks.process(body, view)
    except Exception as exc:
        answer = answer_for_error(exc)
        if answer is None:
            raise
        return answer
    early = answer_for_delivery(processed.delivery)
    if early is not None:
        return early
    return OK if processed.result is None else processed.result
