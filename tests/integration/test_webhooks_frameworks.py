"""The webhook helpers of FastAPI, Flask and Django: a signed event from the test kit
(``FakeKinde.make_webhook``) posted to each example app's ``/webhooks/kinde`` route (the
Django one through the test URLconf, with the same helper)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

pytest.importorskip("django")
pytest.importorskip("fastapi")
pytest.importorskip("flask")

from tests.integration._frameworks import configure_django

configure_django()

from django.http import HttpRequest  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.urls import clear_url_caches, path  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from kinde_sdk.auth import OAuth  # noqa: E402
from kinde_sdk.core.storage import MemoryStorage  # noqa: E402
from kinde_sdk.frameworks.django import kinde_webhook as django_webhook  # noqa: E402
from kinde_sdk.testing import FakeKinde  # noqa: E402
from kinde_sdk.webhooks import UserCreatedEvent, WebhookEvent  # noqa: E402
from tests.integration._django_urls import urlpatterns  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SESSION_SECRET = "webhook-test-session-secret-0123456789"
USER = {"id": "kp_7", "email": "new@example.com", "first_name": "New"}
Post = Callable[[str, dict[str, str]], tuple[int, dict[str, Any]]]


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example_env(fake_kinde: FakeKinde, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "KINDE_DOMAIN": fake_kinde.domain,
        "KINDE_CLIENT_ID": fake_kinde.client_id,
        "KINDE_CLIENT_SECRET": fake_kinde.client_secret,
        "KINDE_REDIRECT_URI": "http://testserver/callback",
        "KINDE_LOGOUT_REDIRECT_URI": "http://testserver/",
        "KINDE_AUDIENCE": fake_kinde.audience,
        "KINDE_SESSION_SECRET": SESSION_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KINDE_HOST", raising=False)


def check_the_contract(fake: FakeKinde, post: Post, received: Callable[[], list[Any]]) -> None:
    """What every framework's helper answers (see kinde_sdk.frameworks._webhooks)."""
    hook = fake.make_webhook("user.created", {"user": USER})
    status, body = post(hook.body, hook.headers)
    assert (status, body) == (200, {"status": "ok"})
    [event] = received()
    assert isinstance(event, UserCreatedEvent)
    assert event.id == hook.event_id and event.user.email == "new@example.com"

    # Kinde redelivers (re-signed, same event id): answered 200, not handled again.
    again = fake.make_webhook("user.created", {"user": USER}, event_id=hook.event_id)
    assert post(again.body, again.headers) == (
        200,
        {"status": "duplicate", "event_id": hook.event_id},
    )
    assert len(received()) == 1

    # An unknown type is still delivered, as a generic event.
    other = fake.make_webhook("user.moved_house", {"to": "Wellington"})
    assert post(other.body, other.headers)[0] == 200
    assert type(received()[-1]) is WebhookEvent

    refused = [
        fake.make_webhook("user.created", {"user": USER}, signed_by_other_key=True).body,
        fake.make_webhook("user.created", {"user": USER}, age=3600).body,  # a replay
        fake.issue_access_token(),  # a user's own token is no webhook
        "not a jwt",
    ]
    for bad in refused:
        status, body = post(bad, {"Content-Type": "application/jwt"})
        assert status == 400 and body["error"] == "invalid_webhook", bad
    assert len(received()) == 2

    status, _ = post("x" * (1024 * 1024 + 1), {"Content-Type": "application/jwt"})
    assert status == 413


def test_fastapi_example_app(fake_kinde: FakeKinde, example_env: None) -> None:
    app = load_example("fastapi_app").create_app()
    with TestClient(app) as client:

        def post(body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
            response = client.post("/webhooks/kinde", content=body, headers=headers)
            return response.status_code, response.json()

        check_the_contract(fake_kinde, post, lambda: app.state.webhook_events)
    assert list(app.state.directory.items()) == [("kp_7", "new@example.com")]


def test_flask_example_app(fake_kinde: FakeKinde, example_env: None) -> None:
    app = load_example("flask_app").create_app()
    client = app.test_client()

    def post(body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = client.post("/webhooks/kinde", data=body, headers=headers)
        return response.status_code, response.get_json()

    check_the_contract(fake_kinde, post, lambda: app.extensions["webhook_events"])
    assert app.extensions["directory"] == {"kp_7": "new@example.com"}
    assert client.get("/webhooks/kinde").status_code == 405


@pytest.fixture
def django_events(fake_kinde: FakeKinde, example_env: None) -> Iterator[list[WebhookEvent]]:
    # The middleware needs the app's OAuth(framework="django").
    OAuth(framework="django", storage=MemoryStorage())
    received: list[WebhookEvent] = []

    @django_webhook()  # the domain from the environment, as in the example project
    def kinde_events(request: HttpRequest, event: WebhookEvent) -> None:
        received.append(event)

    urlpatterns[:] = [path("webhooks/kinde", kinde_events)]
    clear_url_caches()
    yield received
    urlpatterns.clear()
    clear_url_caches()


def test_django_helper(fake_kinde: FakeKinde, django_events: list[WebhookEvent]) -> None:
    # enforce_csrf_checks: Kinde sends no CSRF token; the helper is exempt.
    client = DjangoClient(enforce_csrf_checks=True)

    def post(body: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        response = client.post(
            "/webhooks/kinde", data=body, content_type=headers.get("Content-Type", "")
        )
        return response.status_code, response.json()

    check_the_contract(fake_kinde, post, lambda: django_events)
    assert client.get("/webhooks/kinde").status_code == 405


def test_django_example_view_is_the_helper() -> None:
    source = (EXAMPLES / "django_app" / "kinde_example" / "views.py").read_text()
    assert "@kinde_webhook()" in source
    urls = (EXAMPLES / "django_app" / "kinde_example" / "urls.py").read_text()
    assert 'path("webhooks/kinde", views.kinde_events)' in urls


def test_a_failing_handler_gets_a_500_and_the_retry_is_handled(
    fake_kinde: FakeKinde, example_env: None
) -> None:
    from fastapi import FastAPI

    from kinde_sdk.frameworks.fastapi import kinde_webhook

    app = FastAPI()
    calls: list[str] = []

    @app.post("/hook")
    @kinde_webhook()
    def hook(event: WebhookEvent) -> None:  # a sync handler runs in the threadpool
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("database down")

    delivery = fake_kinde.make_webhook("user.created", {"user": USER})
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post("/hook", content=delivery.body, headers=delivery.headers)
        assert first.status_code == 500
        retry = client.post("/hook", content=delivery.body, headers=delivery.headers)
        assert retry.status_code == 200 and retry.json() == {"status": "ok"}
    assert calls == [delivery.event_id, delivery.event_id]


def test_django_hostile_content_length_is_not_a_500(
    fake_kinde: FakeKinde, django_events: list[WebhookEvent]
) -> None:
    """A Content-Length of latin-1 "superscript two" (which str.isdigit accepts and int
    refuses) reached int() and answered 500; the body is read with its limit instead."""
    client = DjangoClient(raise_request_exception=False)
    delivery = fake_kinde.make_webhook("user.created", {"user": USER})
    for length in ("\xb2", "\xb9\xb3", "-1", "x"):
        response = client.generic(
            "POST",
            "/webhooks/kinde",
            data=delivery.body,
            content_type="application/jwt",
            CONTENT_LENGTH=length,
        )
        assert response.status_code in (200, 400), (length, response.status_code)
