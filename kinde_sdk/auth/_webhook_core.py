"""What makes a signed JWT a Kinde webhook event, and a fresh one (pure; no I/O).

A webhook body is a JWT signed with the same keys as the domain's access and ID tokens,
so the signature alone cannot tell them apart: a user's own access token, or a webhook
captured years ago, verifies just as well. After the signature, a webhook must:

* carry the claims of a Kinde event: ``type`` and ``event_id``, non-empty strings;
* not carry the claims that only OAuth/OIDC tokens carry (``azp``, ``scp``, ``gty``,
  ``nonce``, ``at_hash``, ``auth_time``), so an access or ID token posted to the webhook
  endpoint is refused even if someone managed to add a ``type`` claim to it;
* have been issued within ``tolerance`` seconds (default 5 minutes): its ``iat``, or,
  when Kinde's payload has no ``iat``, its ISO 8601 ``timestamp`` (the time of sending,
  which Kinde documents in every event). A time further than ``leeway`` in the future is
  refused too. With neither, the age is unknown and the webhook is refused.

A replay inside the tolerance passes these checks: reject it by its ``event_id``
(:class:`kinde_sdk.webhooks.WebhookReceiver` does, through a storage backend).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timezone
from typing import Any, Optional

from .._config import check_seconds
from ..errors import InvalidWebhookError

__all__ = [
    "DEFAULT_WEBHOOK_TOLERANCE",
    "TOKEN_ONLY_CLAIMS",
    "check_tolerance",
    "check_webhook_claims",
    "webhook_issued_at",
]

DEFAULT_WEBHOOK_TOLERANCE = 300.0
TOKEN_ONLY_CLAIMS = ("azp", "scp", "gty", "nonce", "at_hash", "auth_time")
_MAX_EVENT_FIELD = 512


def check_tolerance(value: float) -> float:
    return check_seconds(value, "webhook_tolerance")


def webhook_issued_at(claims: Mapping[str, Any]) -> Optional[float]:
    """``iat``, else the event's ``timestamp`` as Unix time; None when it has neither.
    A present but malformed value is an InvalidWebhookError, not "absent"."""
    iat = claims.get("iat")
    if iat is not None:
        if isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat):
            raise InvalidWebhookError("the webhook's 'iat' claim is not a finite number")
        return float(iat)
    stamp = claims.get("timestamp")
    if stamp is None:
        return None
    if not isinstance(stamp, str) or len(stamp) > 64:
        raise InvalidWebhookError("the webhook's 'timestamp' is not an ISO 8601 string")
    # Imported here: only webhooks without iat need it, and verifying tokens should not
    # pay for loading dateutil's parser.
    from dateutil.parser import isoparse

    try:
        moment = isoparse(stamp)
    except (ValueError, OverflowError):
        raise InvalidWebhookError("the webhook's 'timestamp' is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _event_field(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_EVENT_FIELD:
        raise InvalidWebhookError(
            f"the body is not a Kinde webhook event: no {name!r} claim (a non-empty string)"
        )
    return value


def check_webhook_claims(
    claims: Mapping[str, Any], *, now: float, tolerance: float, leeway: float
) -> None:
    """Raise InvalidWebhookError unless ``claims`` (already signature-checked) are a
    fresh Kinde webhook event (see the module docstring)."""
    token_claims = [name for name in TOKEN_ONLY_CLAIMS if name in claims]
    if token_claims:
        raise InvalidWebhookError(
            "the body is an access or ID token, not a webhook event (it has "
            f"{', '.join(map(repr, token_claims))})"
        )
    _event_field(claims, "type")
    _event_field(claims, "event_id")
    issued = webhook_issued_at(claims)
    if issued is None:
        raise InvalidWebhookError(
            "the webhook has neither 'iat' nor 'timestamp': its age cannot be checked"
        )
    age = now - issued
    if age > tolerance:
        raise InvalidWebhookError(
            f"the webhook was issued {age:.0f}s ago, more than the tolerance of "
            f"{tolerance:g}s (a replay, or a delivery that waited too long)"
        )
    if -age > leeway:
        raise InvalidWebhookError(
            f"the webhook is issued {-age:.0f}s in the future (leeway {leeway:g}s)"
        )
