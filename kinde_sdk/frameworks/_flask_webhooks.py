"""``kinde_webhook`` for Flask (re-exported by :mod:`kinde_sdk.frameworks.flask`)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from flask import Response, jsonify, request

from .._config import from_env
from ..webhooks import WebhookReceiver
from ._webhooks import DEFAULT_MAX_BODY, Answer, build_receiver, read_body, run_sync

__all__ = ["kinde_webhook"]


def _json(answer: Answer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    return response


def kinde_webhook(
    receiver: Optional[WebhookReceiver] = None,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    **receiver_options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Turn ``view(event)`` into a Flask view for Kinde webhooks::

        @app.post("/webhooks/kinde")
        @kinde_webhook(domain="https://acme.kinde.com")
        def on_kinde_event(event):
            if isinstance(event, UserCreatedEvent): ...

    The view reads the raw body, verifies and de-duplicates it
    (:class:`~kinde_sdk.webhooks.WebhookReceiver`: pass one, or its keywords; the domain
    defaults to ``KINDE_HOST``/``KINDE_DOMAIN``) and calls ``view(event, **url_values)``
    once per event. A view may return a response; if it returns None, Kinde gets 200.
    The answers are listed in :mod:`kinde_sdk.frameworks._webhooks`.
    """
    hooks = build_receiver(
        receiver, receiver_options, lambda: from_env(None, "KINDE_HOST", "KINDE_DOMAIN")
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def endpoint(**url_values: Any) -> Any:
            body = read_body(request.stream.read, request.content_length, max_body)
            outcome = run_sync(hooks, body, lambda event: view(event, **url_values))
            return _json(outcome) if isinstance(outcome, Answer) else outcome

        endpoint.kinde_receiver = hooks  # type: ignore[attr-defined]
        return endpoint

    return decorate
