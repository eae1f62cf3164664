"""Kinde webhooks: verified, typed, handled once.

* :class:`WebhookReceiver`: verify a webhook body (``TokenValidator.decode_webhook``),
  turn it into a typed event, and de-duplicate by event id through a storage backend;
* :class:`WebhookEvent` and one model per documented event type (:data:`EVENT_TYPES`);
  an unknown type arrives as a plain :class:`WebhookEvent`;
* the framework helpers build on the receiver: ``kinde_sdk.frameworks.fastapi.
  kinde_webhook``, ``kinde_sdk.frameworks.flask.kinde_webhook`` and
  ``kinde_sdk.frameworks.django.kinde_webhook``.

See docs/webhooks.md.
"""

from __future__ import annotations

from ._events import (
    EVENT_TYPES,
    AccessRequestCreatedEvent,
    OrganizationCreatedEvent,
    OrganizationDeletedEvent,
    OrganizationUpdatedEvent,
    PermissionCreatedEvent,
    PermissionDeletedEvent,
    PermissionUpdatedEvent,
    RoleCreatedEvent,
    RoleDeletedEvent,
    RoleUpdatedEvent,
    SubscriberCreatedEvent,
    UserAuthenticatedEvent,
    UserAuthenticationFailedEvent,
    UserCreatedEvent,
    UserDeletedEvent,
    UserUpdatedEvent,
    WebhookEvent,
    WebhookOrganization,
    WebhookPermission,
    WebhookRole,
    WebhookSubscriber,
    WebhookUser,
    WebhookUserOrganization,
    parse_event,
)
from ._receiver import Delivery, DeliveryState, Processed, WebhookReceiver

__all__ = [
    "EVENT_TYPES",
    "AccessRequestCreatedEvent",
    "Delivery",
    "DeliveryState",
    "OrganizationCreatedEvent",
    "OrganizationDeletedEvent",
    "OrganizationUpdatedEvent",
    "PermissionCreatedEvent",
    "PermissionDeletedEvent",
    "PermissionUpdatedEvent",
    "Processed",
    "RoleCreatedEvent",
    "RoleDeletedEvent",
    "RoleUpdatedEvent",
    "SubscriberCreatedEvent",
    "UserAuthenticatedEvent",
    "UserAuthenticationFailedEvent",
    "UserCreatedEvent",
    "UserDeletedEvent",
    "UserUpdatedEvent",
    "WebhookEvent",
    "WebhookOrganization",
    "WebhookPermission",
    "WebhookReceiver",
    "WebhookRole",
    "WebhookSubscriber",
    "WebhookUser",
    "WebhookUserOrganization",
    "parse_event",
]
