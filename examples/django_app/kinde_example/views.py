from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from rest_framework.response import Response
from rest_framework.views import APIView

from kinde_sdk.frameworks.django import BearerAuth, kinde_webhook, login_required, require_auth
from kinde_sdk.webhooks import UserCreatedEvent, UserDeletedEvent, WebhookEvent

from .kinde import kinde_oauth

bearer = BearerAuth()  # KINDE_DOMAIN / KINDE_AUDIENCE


def home(request: HttpRequest) -> HttpResponse:
    if kinde_oauth.is_authenticated():
        user = kinde_oauth.get_user_info() or {}
        return HttpResponse(
            f"<h1>Welcome, <span id='email'>{escape(user.get('email') or '')}</span></h1>"
            "<p><a id='protected' href='/protected'>Protected page</a> | "
            "<a id='user' href='/user'>/user</a> | "
            "<form method='post' action='/logout' style='display:inline'>"
            "<button id='logout' type='submit'>Log out</button></form></p>"
        )
    return HttpResponse(
        "<h1>Please log in</h1><a id='login' href='/login?next=/protected'>Log in</a>"
    )


@login_required
def protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"<h1>Protected</h1><p id='who'>{escape(request.kinde_user['email'])}</p>")


@require_auth(roles=["admin"], permissions=["read:users"])
def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"admin": request.kinde_user["email"]})


@bearer.require(permissions=["read:users"])
def api_me(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.kinde_claims["sub"]})


class Users(APIView):
    """DRF: a bearer token with the permission write:users and the role admin."""

    kinde_permissions = ("write:users",)
    kinde_roles = ("admin",)

    def get(self, request):
        return Response({"sub": request.user.id, "org": request.auth.get("org_code")})


# Kinde's webhooks: the signature, freshness and event type are checked, and a redelivered
# event is handled once. A real app would sync its own user table here.
DIRECTORY: dict[str, str] = {}
WEBHOOK_EVENTS: list[WebhookEvent] = []


@kinde_webhook()  # KINDE_DOMAIN from the settings or the environment
def kinde_events(request: HttpRequest, event: WebhookEvent) -> None:
    WEBHOOK_EVENTS.append(event)
    if isinstance(event, UserCreatedEvent):
        DIRECTORY[event.user.id or ""] = event.user.email or ""
    elif isinstance(event, UserDeletedEvent):
        DIRECTORY.pop(event.user.id or "", None)


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
