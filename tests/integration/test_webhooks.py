"""Webhooks beyond verification: typed events and de-duplication by event id
(``kinde_sdk.webhooks``), fed by ``FakeKinde.make_webhook``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk.auth import TokenValidator
from kinde_sdk.core.storage import FileStorage, MemoryStorage, StorageBackend
from kinde_sdk.errors import InvalidSignatureError, InvalidWebhookError
from kinde_sdk.testing import FakeKinde
from kinde_sdk.webhooks import (
    EVENT_TYPES,
    DeliveryState,
    OrganizationCreatedEvent,
    RoleUpdatedEvent,
    UserAuthenticationFailedEvent,
    UserCreatedEvent,
    WebhookEvent,
    WebhookReceiver,
    parse_event,
)

USER = {
    "id": "kp_1",
    "email": "jane@example.com",
    "first_name": "Jane",
    "last_name": "Doe",
    "is_suspended": False,
    "organizations": [{"code": "org_1", "permissions": None, "roles": None}],
    "phone": None,
    "username": None,
}
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "user": {"user": USER},
    "organization": {"organization": {"code": "org_1", "name": "Acme", "handle": "acme"}},
    "role": {"role": {"id": "role_1", "key": "admin", "name": "Admin"}},
    "permission": {"permission": {"id": "perm_1", "key": "read:items", "name": "Read"}},
    "subscriber": {"subscriber": {"email": "sub@example.com"}},
    "access_request": {"access_request": {"id": "ar_1"}},
}


def data_for(event_type: str) -> dict[str, Any]:
    return SAMPLE_DATA[event_type.split(".")[0]]


@pytest.fixture
def receiver(kinde_validator: TokenValidator) -> WebhookReceiver:
    return WebhookReceiver(kinde_validator)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_documented_event_type_has_its_model(
    fake_kinde: FakeKinde, receiver: WebhookReceiver, event_type: str
) -> None:
    hook = fake_kinde.make_webhook(event_type, data_for(event_type))
    event = receiver.verify(hook.body)
    assert type(event) is EVENT_TYPES[event_type]
    assert event.type == event_type
    assert event.id == event.event_id == hook.event_id
    assert event.claims == hook.claims
    subject = event_type.split(".")[0]
    assert getattr(event, subject) is not None


def test_typed_fields(fake_kinde: FakeKinde, receiver: WebhookReceiver) -> None:
    event = receiver.verify(fake_kinde.make_webhook("user.created", {"user": USER}).body)
    assert isinstance(event, UserCreatedEvent)
    assert event.user.id == "kp_1" and event.user.email == "jane@example.com"
    assert event.user.organizations is not None
    assert event.user.organizations[0].code == "org_1"
    assert event.source == "admin" and event.timestamp is not None
    org = receiver.verify(
        fake_kinde.make_webhook("organization.created", SAMPLE_DATA["organization"]).body
    )
    assert isinstance(org, OrganizationCreatedEvent) and org.organization.handle == "acme"
    role = receiver.verify(fake_kinde.make_webhook("role.updated", SAMPLE_DATA["role"]).body)
    assert isinstance(role, RoleUpdatedEvent) and role.role.key == "admin"


def test_unknown_fields_are_kept(fake_kinde: FakeKinde, receiver: WebhookReceiver) -> None:
    data = {"user": {**USER, "new_field": 1}, "extra": True}
    event = receiver.verify(fake_kinde.make_webhook("user.updated", data).body)
    assert event.user.model_extra == {"new_field": 1}  # type: ignore[attr-defined]
    assert event.data["extra"] is True


def test_an_unknown_type_is_a_generic_event_not_an_error(
    fake_kinde: FakeKinde, receiver: WebhookReceiver
) -> None:
    event = receiver.verify(fake_kinde.make_webhook("user.teleported", {"where": "moon"}).body)
    assert type(event) is WebhookEvent
    assert event.type == "user.teleported" and event.data == {"where": "moon"}


def test_a_known_type_that_does_not_fit_its_model_is_delivered_generic(
    fake_kinde: FakeKinde, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="kinde_sdk"):
        event = receiver.verify(fake_kinde.make_webhook("user.created", {"user": "kp_1"}).body)
    assert type(event) is WebhookEvent and event.data == {"user": "kp_1"}
    assert "does not fit UserCreatedEvent" in caplog.text
    failed = receiver.verify(fake_kinde.make_webhook("user.authentication_failed", {}).body)
    assert isinstance(failed, UserAuthenticationFailedEvent) and failed.user is None


def test_parse_event_from_decoded_claims() -> None:
    event = parse_event({"event_id": "event_1", "type": "role.deleted", "data": None})
    assert type(event) is WebhookEvent and event.data == {}  # role missing: generic


def test_verification_errors_propagate(fake_kinde: FakeKinde, receiver: WebhookReceiver) -> None:
    with pytest.raises(InvalidSignatureError):
        receiver.verify(fake_kinde.make_webhook("user.created", {}, signed_by_other_key=True).body)
    with pytest.raises(InvalidWebhookError):
        receiver.verify(fake_kinde.make_webhook("user.created", {}, age=3600).body)
    with pytest.raises(InvalidWebhookError):
        receiver.verify(fake_kinde.issue_access_token())


# --- de-duplication ---------------------------------------------------------------------


def test_a_redelivered_event_is_handled_once(
    fake_kinde: FakeKinde, receiver: WebhookReceiver
) -> None:
    handled: list[str] = []
    first = fake_kinde.make_webhook("user.created", {"user": USER})
    again = fake_kinde.make_webhook("user.created", {"user": USER}, event_id=first.event_id)
    assert again.body != first.body  # re-signed, same event id
    result = receiver.process(first.body, lambda e: handled.append(e.id) or "done")
    assert result.status == 200 and result.result == "done"
    duplicate = receiver.process(again.body, lambda e: handled.append(e.id))
    assert duplicate.delivery.state is DeliveryState.DUPLICATE and duplicate.status == 200
    assert duplicate.result is None
    assert handled == [first.event_id]


def test_a_failed_handler_releases_the_event_for_the_retry(
    fake_kinde: FakeKinde, receiver: WebhookReceiver
) -> None:
    hook = fake_kinde.make_webhook("user.created", {"user": USER})

    def broken(event: WebhookEvent) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        receiver.process(hook.body, broken)
    handled: list[str] = []
    receiver.process(hook.body, lambda e: handled.append(e.id))
    assert handled == [hook.event_id]


def test_an_event_being_handled_is_in_progress_for_a_concurrent_delivery(
    fake_kinde: FakeKinde, receiver: WebhookReceiver
) -> None:
    hook = fake_kinde.make_webhook("user.created", {"user": USER})
    first = receiver.claim(hook.body)
    assert first.state is DeliveryState.NEW
    second = receiver.claim(hook.body)
    assert second.state is DeliveryState.IN_PROGRESS
    receiver.complete(first)
    assert receiver.claim(hook.body).state is DeliveryState.DUPLICATE


def test_concurrent_deliveries_run_the_handler_once(
    fake_kinde: FakeKinde, receiver: WebhookReceiver
) -> None:
    hook = fake_kinde.make_webhook("user.created", {"user": USER})
    handled: list[str] = []
    gate = threading.Barrier(8)

    def deliver() -> None:
        gate.wait(timeout=30)
        receiver.process(hook.body, lambda e: handled.append(e.id))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert handled == [hook.event_id]


def test_records_go_through_the_storage_backend_and_expire(fake_kinde: FakeKinde) -> None:
    now = [1_000.0]
    storage = MemoryStorage(clock=lambda: now[0])  # its expiry on the receiver's clock
    validator = TokenValidator(fake_kinde.domain)
    receiver = WebhookReceiver(validator, storage=storage, retention=600, clock=lambda: now[0])
    hook = fake_kinde.make_webhook("user.created", {"user": USER})
    receiver.process(hook.body, lambda e: None)
    assert storage.keys("kinde_webhook:") == [f"kinde_webhook:{hook.event_id}"]
    assert storage.get(f"kinde_webhook:{hook.event_id}")["state"] == "done"
    now[0] += 601  # past the retention: purged on the next delivery
    other = fake_kinde.make_webhook("user.updated", {"user": USER})
    receiver.process(other.body, lambda e: None)
    assert storage.keys("kinde_webhook:") == [f"kinde_webhook:{other.event_id}"]


def test_two_receivers_sharing_a_file_backend_handle_an_event_once(
    fake_kinde: FakeKinde, tmp_path: Path
) -> None:
    """Two workers (here two receivers) with the app's shared storage backend."""
    handled: list[str] = []
    workers = [
        WebhookReceiver(domain=fake_kinde.domain, storage=FileStorage(tmp_path / "store"))
        for _ in range(2)
    ]
    hook = fake_kinde.make_webhook("organization.created", SAMPLE_DATA["organization"])
    workers[0].process(hook.body, lambda e: handled.append("worker 0"))
    workers[1].process(hook.body, lambda e: handled.append("worker 1"))
    assert handled == ["worker 0"]


def test_dedupe_can_be_turned_off(fake_kinde: FakeKinde, kinde_validator: TokenValidator) -> None:
    receiver = WebhookReceiver(kinde_validator, dedupe=False)
    hook = fake_kinde.make_webhook("user.created", {"user": USER})
    handled: list[str] = []
    receiver.process(hook.body, lambda e: handled.append(e.id))
    receiver.process(hook.body, lambda e: handled.append(e.id))
    assert len(handled) == 2


def test_the_async_validator_applies_the_same_webhook_checks(fake_kinde: FakeKinde) -> None:
    import anyio

    from kinde_sdk.auth import AsyncTokenValidator

    async def main() -> None:
        async with AsyncTokenValidator(fake_kinde.domain) as validator:
            hook = fake_kinde.make_webhook("user.created", {"user": USER})
            assert (await validator.decode_webhook(hook.body))["event_id"] == hook.event_id
            with pytest.raises(InvalidWebhookError, match="access or ID token"):
                await validator.decode_webhook(fake_kinde.issue_access_token())
            old = fake_kinde.make_webhook("user.created", {"user": USER}, age=3600).body
            with pytest.raises(InvalidWebhookError, match="tolerance"):
                await validator.decode_webhook(old)
            assert await validator.decode_webhook(old, tolerance=7200)

    anyio.run(main)


@pytest.mark.parametrize("name", ["retention", "processing_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf")])
def test_receiver_durations_must_be_finite_and_positive(
    kinde_validator: TokenValidator, name: str, value: float
) -> None:
    from kinde_sdk.errors import KindeConfigurationError

    with pytest.raises(KindeConfigurationError, match=f"{name} must be a finite number"):
        WebhookReceiver(kinde_validator, **{name: value})


class _CountingMemory(MemoryStorage):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.walks = 0

    def keys(self, prefix: str = "") -> list[str]:
        self.walks += 1
        return super().keys(prefix)


class _NoExpiry(_CountingMemory):
    """A backend without expiry: set_expiring is StorageBackend's plain set."""

    set_expiring = StorageBackend.set_expiring


@pytest.mark.parametrize(("backend_class", "walks"), [(_CountingMemory, 0), (_NoExpiry, 2)])
def test_the_sweep_runs_only_for_a_backend_without_expiry(
    fake_kinde: FakeKinde, backend_class: type[_CountingMemory], walks: int
) -> None:
    """A backend with expiry drops records itself: no keys() walk plus a get per record
    every minute (a redis SCAN and N GETs under the receiver's lock). One without
    expiry is still swept."""
    now = [1_000.0]
    backend = backend_class()
    validator = TokenValidator(fake_kinde.domain)
    receiver = WebhookReceiver(validator, storage=backend, retention=600, clock=lambda: now[0])
    first = fake_kinde.make_webhook("user.created", {"user": USER})
    receiver.process(first.body, lambda e: None)
    now[0] += 601
    second = fake_kinde.make_webhook("user.updated", {"user": USER})
    receiver.process(second.body, lambda e: None)
    assert backend.walks == walks
    if walks:  # swept: the expired record is gone from the backend itself
        assert backend.keys("kinde_webhook:") == [f"kinde_webhook:{second.event_id}"]
