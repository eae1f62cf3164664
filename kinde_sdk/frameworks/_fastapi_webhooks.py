"""``kinde_webhook`` for FastAPI (re-exported by :mod:`kinde_sdk.frameworks.fastapi`)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any, Callable, Optional, Union

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from .._config import from_env
from ..webhooks import WebhookEvent, WebhookReceiver
from ._webhooks import (
    DEFAULT_MAX_BODY,
    OK,
    TOO_LARGE,
    Answer,
    build_receiver,
    claim,
)

__all__ = ["kinde_webhook"]

Handler = Callable[[Any], Union[Any, Awaitable[Any]]]


def _json(answer: Answer) -> Response:
    return JSONResponse(answer.body, status_code=answer.status)


def kinde_webhook(
    receiver: Optional[WebhookReceiver] = None,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    **receiver_options: Any,
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Turn ``handler(event)`` (sync or async) into a FastAPI endpoint for Kinde
    webhooks::

        @app.post("/webhooks/kinde")
        @kinde_webhook(domain="https://acme.kinde.com", storage=redis_backend)
        async def on_kinde_event(event: WebhookEvent) -> None:
            if isinstance(event, UserCreatedEvent): ...

    The endpoint reads the raw body, verifies and de-duplicates it
    (:class:`~kinde_sdk.webhooks.WebhookReceiver`: pass one, or its keywords; the domain
    defaults to ``KINDE_HOST``/``KINDE_DOMAIN``) and calls the handler once per event.
    A handler may return a Response; otherwise Kinde gets 200. The answers are listed in
    :mod:`kinde_sdk.frameworks._webhooks`. Blocking work (the JWKS fetch, the storage,
    a sync handler) runs in the threadpool.
    """
    hooks = build_receiver(
        receiver, receiver_options, lambda: from_env(None, "KINDE_HOST", "KINDE_DOMAIN")
    )

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        is_async = inspect.iscoroutinefunction(handler)

        async def endpoint(request: Request) -> Response:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return _json(TOO_LARGE)
            delivery = await run_in_threadpool(claim, hooks, bytes(body))
            if isinstance(delivery, Answer):
                return _json(delivery)
            event: WebhookEvent = delivery.event
            try:
                if is_async:
                    result = await handler(event)
                else:
                    result = await run_in_threadpool(handler, event)
            except BaseException:
                await run_in_threadpool(hooks.release, delivery)
                raise
            await run_in_threadpool(hooks.complete, delivery)
            return result if isinstance(result, Response) else _json(OK)

        # Not functools.wraps: FastAPI would read the handler's signature through
        # __wrapped__ and look for an `event` parameter in the request.
        endpoint.__name__ = getattr(handler, "__name__", "kinde_webhook")
        endpoint.__qualname__ = getattr(handler, "__qualname__", endpoint.__name__)
        endpoint.__doc__ = handler.__doc__
        endpoint.kinde_receiver = hooks  # type: ignore[attr-defined]
        return endpoint

    return decorate
