"""Typed Kinde webhook events: one model per documented event type.

Every event is a :class:`WebhookEvent` with the envelope Kinde sends (``id`` from
``event_id``, ``type``, ``source``, ``timestamp``, ``event_timestamp``, ``data``) and
the verified ``claims`` as they were signed. The models of the documented types add the
object the event is about, lifted out of ``data``: ``event.user`` for ``user.*``,
``event.organization`` for ``organization.*``, ``event.role``, ``event.permission``,
``event.subscriber``, ``event.access_request``.

Reading is liberal (the live API runs ahead of any documentation): every field is
optional but the event's own object, unknown fields are kept (``model_extra``), and an
event whose type is unknown, or whose ``data`` does not fit its model, is delivered as a
plain :class:`WebhookEvent` rather than refused: it was signed by Kinde, after all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from ..errors import InvalidWebhookError

__all__ = [
    "EVENT_TYPES",
    "AccessRequestCreatedEvent",
    "OrganizationCreatedEvent",
    "OrganizationDeletedEvent",
    "OrganizationUpdatedEvent",
    "PermissionCreatedEvent",
    "PermissionDeletedEvent",
    "PermissionUpdatedEvent",
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
    "WebhookRole",
    "WebhookSubscriber",
    "WebhookUser",
    "WebhookUserOrganization",
    "parse_event",
]

logger = logging.getLogger("kinde_sdk")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class WebhookUserOrganization(_Lenient):
    code: Optional[str] = None
    permissions: Optional[list[Any]] = None
    roles: Optional[list[Any]] = None


class WebhookUser(_Lenient):
    id: Optional[str] = None
    email: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    username: Optional[str] = None
    phone: Optional[str] = None
    is_suspended: Optional[bool] = None
    is_password_reset_requested: Optional[bool] = None
    organizations: Optional[list[WebhookUserOrganization]] = None


class WebhookOrganization(_Lenient):
    code: Optional[str] = None
    name: Optional[str] = None
    handle: Optional[str] = None
    external_id: Optional[str] = None


class WebhookRole(_Lenient):
    id: Optional[str] = None
    key: Optional[str] = None
    name: Optional[str] = None
    description: Optional[str] = None


class WebhookPermission(_Lenient):
    id: Optional[str] = None
    key: Optional[str] = None
    name: Optional[str] = None
    description: Optional[str] = None


class WebhookSubscriber(_Lenient):
    id: Optional[str] = None
    email: Optional[str] = None
    first_name: Optional[str] = None
    last_name: Optional[str] = None


class WebhookEvent(_Lenient):
    """A verified Kinde webhook event. ``id`` is Kinde's ``event_id``: the key to
    de-duplicate redeliveries by (and to fetch the event with
    ``GET /api/v1/events/{event_id}``)."""

    id: str = Field(alias="event_id")
    type: str
    source: Optional[str] = None
    timestamp: Optional[datetime] = None
    event_timestamp: Optional[datetime] = None
    data: dict[str, Any] = Field(default_factory=dict)
    claims: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)
    """Every verified claim of the webhook JWT, as signed."""

    # The key of ``data`` that holds this event's object, lifted to a field of that name.
    _subject: ClassVar[Optional[str]] = None

    @property
    def event_id(self) -> str:
        return self.id

    @field_validator("source", mode="before")
    @classmethod
    def _text_or_none(cls, value: Any) -> Any:
        # A signed event is delivered even when a side field has an odd type; the value
        # as sent stays in ``claims``.
        return value if isinstance(value, str) else None

    @field_validator("data", mode="before")
    @classmethod
    def _object_or_empty(cls, value: Any) -> Any:
        return value if isinstance(value, Mapping) else {}

    @field_validator("timestamp", "event_timestamp", mode="wrap")
    @classmethod
    def _time_or_none(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            return None  # an unreadable time is no reason to drop a signed event

    @field_validator("data", mode="before")
    @classmethod
    def _data_object(cls, value: Any) -> Any:
        return value if isinstance(value, Mapping) else {}

    @model_validator(mode="before")
    @classmethod
    def _lift_subject(cls, values: Any) -> Any:
        if cls._subject is None or not isinstance(values, Mapping):
            return values
        data = values.get("data")
        if isinstance(data, Mapping) and cls._subject in data and cls._subject not in values:
            return {**values, cls._subject: data[cls._subject]}
        return values


class _UserEvent(WebhookEvent):
    _subject = "user"
    user: WebhookUser


class UserCreatedEvent(_UserEvent):
    """``user.created`` (not sent for users created by an import)."""


class UserUpdatedEvent(_UserEvent):
    """``user.updated``."""


class UserDeletedEvent(_UserEvent):
    """``user.deleted``."""


class UserAuthenticatedEvent(_UserEvent):
    """``user.authenticated``: a sign-in succeeded."""


class UserAuthenticationFailedEvent(WebhookEvent):
    """``user.authentication_failed``: the user may be unknown, so ``user`` may be None."""

    _subject = "user"
    user: Optional[WebhookUser] = None


class _OrganizationEvent(WebhookEvent):
    _subject = "organization"
    organization: WebhookOrganization


class OrganizationCreatedEvent(_OrganizationEvent):
    """``organization.created``."""


class OrganizationUpdatedEvent(_OrganizationEvent):
    """``organization.updated``."""


class OrganizationDeletedEvent(_OrganizationEvent):
    """``organization.deleted``."""


class _RoleEvent(WebhookEvent):
    _subject = "role"
    role: WebhookRole


class RoleCreatedEvent(_RoleEvent):
    """``role.created``."""


class RoleUpdatedEvent(_RoleEvent):
    """``role.updated``."""


class RoleDeletedEvent(_RoleEvent):
    """``role.deleted``."""


class _PermissionEvent(WebhookEvent):
    _subject = "permission"
    permission: WebhookPermission


class PermissionCreatedEvent(_PermissionEvent):
    """``permission.created``."""


class PermissionUpdatedEvent(_PermissionEvent):
    """``permission.updated``."""


class PermissionDeletedEvent(_PermissionEvent):
    """``permission.deleted``."""


class SubscriberCreatedEvent(WebhookEvent):
    """``subscriber.created``: someone subscribed (e.g. to a mailing list)."""

    _subject = "subscriber"
    subscriber: WebhookSubscriber


class AccessRequestCreatedEvent(WebhookEvent):
    """``access_request.created``; the request's shape is kept as sent."""

    _subject = "access_request"
    access_request: Optional[dict[str, Any]] = None


EVENT_TYPES: dict[str, type[WebhookEvent]] = {
    "user.created": UserCreatedEvent,
    "user.updated": UserUpdatedEvent,
    "user.deleted": UserDeletedEvent,
    "user.authenticated": UserAuthenticatedEvent,
    "user.authentication_failed": UserAuthenticationFailedEvent,
    "organization.created": OrganizationCreatedEvent,
    "organization.updated": OrganizationUpdatedEvent,
    "organization.deleted": OrganizationDeletedEvent,
    "role.created": RoleCreatedEvent,
    "role.updated": RoleUpdatedEvent,
    "role.deleted": RoleDeletedEvent,
    "permission.created": PermissionCreatedEvent,
    "permission.updated": PermissionUpdatedEvent,
    "permission.deleted": PermissionDeletedEvent,
    "subscriber.created": SubscriberCreatedEvent,
    "access_request.created": AccessRequestCreatedEvent,
}
"""The event types Kinde documents, and their models."""


def parse_event(claims: Mapping[str, Any]) -> WebhookEvent:
    """The typed event for verified webhook claims (from ``decode_webhook``): the model
    of its type, or a plain :class:`WebhookEvent` for an unknown type or a payload its
    model does not fit. The claims must hold ``event_id`` and ``type`` (which
    ``decode_webhook`` guarantees); otherwise pydantic's ValidationError."""
    raw = dict(claims)
    model = EVENT_TYPES.get(str(raw.get("type")), WebhookEvent)
    fields = {**raw, "claims": raw}
    if model is not WebhookEvent:
        try:
            return model.model_validate(fields)
        except ValidationError as exc:
            logger.warning(
                "webhook event %s of type %s does not fit %s (%d error(s)); delivered as a "
                "plain WebhookEvent",
                raw.get("event_id"),
                raw.get("type"),
                model.__name__,
                exc.error_count(),
            )
    try:
        return WebhookEvent.model_validate(fields)
    except ValidationError:
        # Only ``event_id``/``type`` of the wrong type get here: a client error (400), never
        # a 500 that Kinde would redeliver for ever.
        raise InvalidWebhookError("the webhook's event_id and type must be strings") from None
