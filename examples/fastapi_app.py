"""A FastAPI app signed in with Kinde: login/logout routes, a protected page, an admin
page (role + permission), a bearer-token API and a webhook endpoint (POST
/webhooks/kinde: verified, typed, each event handled once).

Configured from the environment: KINDE_DOMAIN (or KINDE_HOST), KINDE_CLIENT_ID,
KINDE_CLIENT_SECRET, KINDE_REDIRECT_URI (http://127.0.0.1:8000/callback),
KINDE_LOGOUT_REDIRECT_URI (http://127.0.0.1:8000/), KINDE_AUDIENCE (your API, for the
bearer endpoint), KINDE_SESSION_SECRET (signs the session cookie; 16+ characters).
Several workers (uvicorn --workers 4, or processes on several hosts) share sessions
when KINDE_REDIS_URL (redis://host:6379/0) names the redis they all use.

    pip install "kinde-sdk[fastapi]" uvicorn
    python examples/fastapi_app.py          # http://127.0.0.1:8000 (HOST, PORT)
"""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from kinde_sdk.auth import OAuth
from kinde_sdk.frameworks.fastapi import BearerAuth, RequireAuth, kinde_webhook, require_user
from kinde_sdk.webhooks import UserCreatedEvent, UserDeletedEvent, WebhookEvent


def create_app() -> FastAPI:
    app = FastAPI(title="kinde_sdk FastAPI example")
    redis_url = os.environ.get("KINDE_REDIS_URL")
    kinde_oauth = OAuth(
        framework="fastapi",
        app=app,
        # Sessions in redis: a login on one worker is valid on all, logout ends it on all.
        storage_config={"type": "redis", "options": {"url": redis_url}} if redis_url else None,
    )
    domain = os.environ.get("KINDE_HOST") or os.environ["KINDE_DOMAIN"]
    bearer = BearerAuth(domain=domain, audience=os.environ.get("KINDE_AUDIENCE"))

    @app.get("/", response_class=HTMLResponse)
    async def home() -> str:
        if kinde_oauth.is_authenticated():
            user = kinde_oauth.get_user_info() or {}
            return (
                f"<h1>Welcome, <span id='email'>{html.escape(user.get('email') or '')}</span></h1>"
                "<p><a id='protected' href='/protected'>Protected page</a> | "
                "<a id='user' href='/user'>/user</a> | "
                "<form method='post' action='/logout' style='display:inline'>"
                "<button id='logout' type='submit'>Log out</button></form></p>"
            )
        return (
            "<h1>Please log in</h1><p><a id='login' href='/login?next=/protected'>Log in</a> | "
            "<a id='register' href='/register'>Sign up</a></p>"
        )

    @app.get("/protected", response_class=HTMLResponse)
    async def protected(user: dict[str, Any] = Depends(require_user)) -> str:
        return f"<h1>Protected</h1><p id='who'>{html.escape(user.get('email') or '')}</p>"

    @app.get("/admin")
    async def admin(
        user: dict[str, Any] = Depends(RequireAuth(roles=["admin"], permissions=["read:users"])),
    ) -> dict[str, Any]:
        return {"admin": user["email"], "organization": kinde_oauth.get_organization()}

    @app.get("/api/me")
    async def api_me(claims: dict[str, Any] = Depends(bearer)) -> dict[str, Any]:
        return {"sub": claims.get("sub"), "permissions": claims.get("permissions", [])}

    # Kinde's webhooks: the signature, freshness and event type are checked, and a
    # redelivered event is handled once. A real app would sync its own user table here.
    app.state.directory = {}
    app.state.webhook_events = []

    @app.post("/webhooks/kinde")
    @kinde_webhook(domain=domain)
    async def kinde_events(event: WebhookEvent) -> None:
        app.state.webhook_events.append(event)
        if isinstance(event, UserCreatedEvent):
            app.state.directory[event.user.id] = event.user.email
        elif isinstance(event, UserDeletedEvent):
            app.state.directory.pop(event.user.id, None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        create_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
    )
