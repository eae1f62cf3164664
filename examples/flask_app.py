"""A Flask app signed in with Kinde: login/logout routes, a protected page, an admin
page (role + permission), a bearer-token API and a webhook endpoint (POST
/webhooks/kinde: verified, typed, each event handled once).

Configured from the environment: KINDE_DOMAIN (or KINDE_HOST), KINDE_CLIENT_ID,
KINDE_CLIENT_SECRET, KINDE_REDIRECT_URI (http://127.0.0.1:5000/callback),
KINDE_LOGOUT_REDIRECT_URI (http://127.0.0.1:5000/), KINDE_AUDIENCE (your API, for the
bearer endpoint), and KINDE_SESSION_SECRET or FLASK_SECRET_KEY (the app's own
SECRET_KEY, which the integration only reads).

    pip install "kinde-sdk[flask]"
    python examples/flask_app.py            # http://127.0.0.1:5000 (HOST, PORT)
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g
from markupsafe import escape

from kinde_sdk.auth import OAuth
from kinde_sdk.frameworks.flask import BearerAuth, kinde_webhook, login_required, require_auth
from kinde_sdk.webhooks import UserCreatedEvent, UserDeletedEvent, WebhookEvent


def create_app() -> Flask:
    app = Flask(__name__)
    if os.environ.get("FLASK_SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["FLASK_SECRET_KEY"]
    kinde_oauth = OAuth(framework="flask", app=app)
    domain = os.environ.get("KINDE_HOST") or os.environ["KINDE_DOMAIN"]
    bearer = BearerAuth(domain=domain, audience=os.environ.get("KINDE_AUDIENCE"))

    @app.route("/")
    def home() -> str:
        if kinde_oauth.is_authenticated():
            user = kinde_oauth.get_user_info() or {}
            return (
                f"<h1>Welcome, <span id='email'>{escape(user.get('email') or '')}</span></h1>"
                "<p><a id='protected' href='/protected'>Protected page</a> | "
                "<a id='user' href='/user'>/user</a> | "
                "<form method='post' action='/logout' style='display:inline'>"
                "<button id='logout' type='submit'>Log out</button></form></p>"
            )
        return (
            "<h1>Please log in</h1><p><a id='login' href='/login?next=/protected'>Log in</a> | "
            "<a id='register' href='/register'>Sign up</a></p>"
        )

    @app.route("/protected")
    @login_required
    def protected() -> str:
        return f"<h1>Protected</h1><p id='who'>{escape(g.kinde_user.get('email') or '')}</p>"

    @app.route("/admin")
    @require_auth(roles=["admin"], permissions=["read:users"])
    def admin() -> Any:
        return {"admin": g.kinde_user["email"], "organization": kinde_oauth.get_organization()}

    @app.route("/api/me")
    @bearer
    def api_me() -> Any:
        claims = g.kinde_claims
        return {"sub": claims.get("sub"), "permissions": claims.get("permissions", [])}

    # Kinde's webhooks: the signature, freshness and event type are checked, and a
    # redelivered event is handled once. A real app would sync its own user table here.
    directory: dict[str, Any] = {}
    webhook_events: list[WebhookEvent] = []
    app.extensions["directory"] = directory
    app.extensions["webhook_events"] = webhook_events

    @app.post("/webhooks/kinde")
    @kinde_webhook(domain=domain)
    def kinde_events(event: WebhookEvent) -> None:
        webhook_events.append(event)
        if isinstance(event, UserCreatedEvent):
            directory[event.user.id or ""] = event.user.email
        elif isinstance(event, UserDeletedEvent):
            directory.pop(event.user.id or "", None)

    @app.route("/health")
    def health() -> Any:
        return {"status": "ok"}

    return app


if __name__ == "__main__":
    create_app().run(
        host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000"))
    )
