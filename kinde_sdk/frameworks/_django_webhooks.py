"""``kinde_webhook`` for Django (re-exported by :mod:`kinde_sdk.frameworks.django`)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, cast

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .._config import from_env
from ..webhooks import WebhookReceiver
from ._webhooks import DEFAULT_MAX_BODY, Answer, build_receiver, read_body, run_sync

__all__ = ["kinde_webhook"]


def _json(answer: Answer) -> HttpResponse:
    return JsonResponse(answer.body, status=answer.status)


def _default_domain() -> Optional[str]:
    for name in ("KINDE_DOMAIN", "KINDE_HOST"):
        value = getattr(django_settings, name, None) if django_settings.configured else None
        if value:
            return str(value)
    return from_env(None, "KINDE_HOST", "KINDE_DOMAIN")


def kinde_webhook(
    receiver: Optional[WebhookReceiver] = None,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    **receiver_options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., HttpResponse]]:
    """Turn ``view(request, event)`` into a Django view for Kinde webhooks::

        @kinde_webhook()                       # KINDE_DOMAIN from settings or env
        def kinde_events(request, event):
            if isinstance(event, UserCreatedEvent): ...

        urlpatterns = [path("webhooks/kinde", kinde_events)]

    POST only (405 otherwise), exempt from CSRF (Kinde cannot send a CSRF token; the
    signature is the proof). The view reads the raw body, verifies and de-duplicates it
    (:class:`~kinde_sdk.webhooks.WebhookReceiver`: pass one, or its keywords) and calls
    the view once per event. A view may return a response; if it returns None, Kinde
    gets 200. The answers are listed in :mod:`kinde_sdk.frameworks._webhooks`.
    """
    hooks = build_receiver(receiver, receiver_options, _default_domain)

    def decorate(view: Callable[..., Any]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            body = read_body(request.read, request.META.get("CONTENT_LENGTH"), max_body)
            outcome = run_sync(hooks, body, lambda event: view(request, event, *args, **kwargs))
            return _json(outcome) if isinstance(outcome, Answer) else cast(HttpResponse, outcome)

        exempt = cast(Callable[..., HttpResponse], csrf_exempt(endpoint))
        exempt.kinde_receiver = hooks  # type: ignore[attr-defined]
        return exempt

    return decorate
