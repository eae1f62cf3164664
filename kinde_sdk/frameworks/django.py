"""Django integration (+ Django REST Framework). Needs ``pip install "kinde-sdk[django]"``
(``[drf]`` for the REST framework classes).

Browser sessions::

    # myproject/kinde.py
    kinde_oauth = OAuth(framework="django")          # options in framework_options=

    # settings.py (read, never written)
    MIDDLEWARE = [..., "kinde_sdk.frameworks.django.KindeMiddleware"]
    KINDE_OAUTH = "myproject.kinde.kinde_oauth"       # where the middleware finds it
    KINDE_EXCLUDED_PATHS = ["/health", "/static/"]    # optional
    KINDE_PROTECTED_PATHS = ["/"]                     # optional: enforce sign-in there

    # urls.py
    from myproject.kinde import kinde_oauth
    urlpatterns = [*kinde_oauth.integration.urlpatterns, path("admin-area/", admin_view)]

    # views.py
    @require_auth(roles=["admin"])
    def admin_view(request): return JsonResponse(request.kinde_user)

Bearer-token APIs: :class:`BearerAuth` (``@bearer.require(permissions=[...])``) for
plain Django views, and :class:`KindeBearerAuthentication` +
:class:`KindePermission` for DRF. Both read ``KINDE_DOMAIN``/``KINDE_HOST`` and
``KINDE_AUDIENCE`` from Django settings or the environment unless given a validator.

The middleware is synchronous: Django runs it (and sync views) in a thread, and the
session binding is a contextvar, so concurrent requests never share a session.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, cast

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path as url_path
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from ..errors import KindeConfigurationError
from ._django_webhooks import kinde_webhook
from ._session import (
    AuthFailure,
    IntegrationSettings,
    Outcome,
    WebFlow,
    check_authorization,
    is_api_request,
    is_excluded,
    normalize_names,
    verify_bearer,
)

if TYPE_CHECKING:
    from ..auth.oauth import OAuth
    from ..auth.token_validator import TokenValidator

__all__ = [
    "BearerAuth",
    "KindeBearerAuthentication",
    "KindeDjango",
    "KindeMiddleware",
    "KindePermission",
    "KindeUser",
    "kinde_webhook",
    "login_required",
    "require_auth",
]

F = TypeVar("F", bound=Callable[..., Any])
_registered: Optional[KindeDjango] = None


def _setting(name: str, default: Any = None) -> Any:
    if not django_settings.configured:
        return default
    return getattr(django_settings, name, default)


def _headers(request: HttpRequest) -> dict[str, str]:
    return {k.lower(): str(v) for k, v in request.headers.items()}


def _response(outcome: Outcome) -> HttpResponse:
    if outcome.location is not None:
        redirect = HttpResponseRedirect(outcome.location)
        redirect.status_code = outcome.status  # 303 after a POST
        return redirect
    return HttpResponse(
        outcome.html or "", status=outcome.status, content_type="text/html; charset=utf-8"
    )


def _failure_response(failure: AuthFailure) -> HttpResponse:
    response = JsonResponse(failure.body(), status=failure.status)
    response["WWW-Authenticate"] = failure.www_authenticate
    return response


class KindeDjango:
    """Views (login, callback, logout, register, user) for a Django project, built by
    ``OAuth(framework="django", framework_options={...})``. ``urlpatterns`` holds them
    (paths from the options, without the leading ``/``: include them at the root).

    ``excluded_paths``/``protected_paths`` default to the settings
    ``KINDE_EXCLUDED_PATHS``/``KINDE_PROTECTED_PATHS``; the cookie key defaults to
    ``KINDE_SESSION_SECRET`` (env) or is derived from ``SECRET_KEY``, which is only read.
    """

    def __init__(self, oauth: OAuth, app: Any = None, **options: Any) -> None:
        global _registered
        if app is not None:
            raise KindeConfigurationError("framework='django' takes no app= (use settings)")
        for option, setting in (
            ("excluded_paths", "KINDE_EXCLUDED_PATHS"),
            ("protected_paths", "KINDE_PROTECTED_PATHS"),
        ):
            if option not in options and _setting(setting) is not None:
                options[option] = _setting(setting)
        settings = IntegrationSettings.build(
            options, app_secret=_setting("SECRET_KEY"), app_key_name="settings.SECRET_KEY"
        )
        settings.no_extra("django")
        self.oauth = oauth
        self.flow = WebFlow(oauth, settings)
        s = settings
        self.route_paths = frozenset(
            (s.login_path, s.callback_path, s.logout_path, s.register_path, s.user_path)
        )
        self.urlpatterns = [
            url_path(s.login_path.lstrip("/"), self.login_view, name="kinde_login"),
            url_path(s.register_path.lstrip("/"), self.register_view, name="kinde_register"),
            url_path(s.callback_path.lstrip("/"), self.callback_view, name="kinde_callback"),
            # Our own CSRF check (Origin/Sec-Fetch-Site or the form's token), so a project
            # with CsrfViewMiddleware does not refuse the logout POST.
            url_path(s.logout_path.lstrip("/"), csrf_exempt(self.logout_view), name="kinde_logout"),
            url_path(s.user_path.lstrip("/"), self.user_view, name="kinde_user"),
        ]
        _registered = self

    def refusal(self, request: HttpRequest, failure: AuthFailure) -> HttpResponse:
        api = is_api_request(_headers(request))
        if api:
            return _failure_response(failure)
        query = request.META.get("QUERY_STRING", "")
        return _response(self.flow.refusal(failure, api, request.path, query))

    def _session(self, request: HttpRequest) -> Any:
        session = getattr(request, "kinde_session", None)
        if session is None:
            raise ImproperlyConfigured(
                "kinde_sdk.frameworks.django.KindeMiddleware is not in MIDDLEWARE"
            )
        return session

    def login_view(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.dict()
        return HttpResponseRedirect(self.flow.login(self._session(request), query, register=False))

    def register_view(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.dict()
        return HttpResponseRedirect(self.flow.login(self._session(request), query, register=True))

    def callback_view(self, request: HttpRequest) -> HttpResponse:
        return _response(self.flow.callback(self._session(request), request.GET.dict()))

    def logout_view(self, request: HttpRequest) -> HttpResponse:
        form = request.POST.dict() if request.method == "POST" else {}
        try:
            host = request.get_host()
        except Exception:  # DisallowedHost: no Origin can match
            host = ""
        outcome = self.flow.logout_route(
            self._session(request), request.method or "GET", _headers(request), host, form
        )
        return _response(outcome)

    def user_view(self, request: HttpRequest) -> HttpResponse:
        self._session(request)
        info = self.flow.user()
        if info is None:
            return self.refusal(request, AuthFailure(401, None, "sign-in required"))
        return JsonResponse(info)


def _integration() -> KindeDjango:
    dotted = _setting("KINDE_OAUTH")
    if dotted:
        oauth = import_string(dotted)
        integ = getattr(oauth, "integration", None)
        if not isinstance(integ, KindeDjango):
            raise ImproperlyConfigured(f"{dotted} is not an OAuth(framework='django')")
        return integ
    if _registered is None:
        raise ImproperlyConfigured(
            "no OAuth(framework='django') found: set KINDE_OAUTH to its dotted path"
        )
    return _registered


class KindeMiddleware:
    """Binds each request to its browser session (``request.kinde_session``), enforces
    ``protected_paths`` minus ``excluded_paths``, and sets or deletes the cookie."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        integ = _integration()
        flow = integ.flow
        s = flow.settings
        session = flow.open(request.COOKIES.get(s.cookie_name))
        request.kinde_session = session
        request.kinde_integration = integ
        token = flow.bind(session)
        try:
            path = request.path
            response: Optional[HttpResponse] = None
            if (
                s.protected_paths
                and is_excluded(path, s.protected_paths)
                and not is_excluded(path, s.excluded_paths)
                and path not in integ.route_paths
            ):
                try:
                    flow.authorize()
                except AuthFailure as failure:
                    response = integ.refusal(request, failure)
            if response is None:
                response = self.get_response(request)
            flow.finish(session)
        finally:
            flow.release(token)
        # request.scheme honours SECURE_PROXY_SSL_HEADER (a trusted X-Forwarded-Proto).
        change = flow.cookie_change(session, request.scheme or "http", _headers(request))
        if change is not None:
            action, value, secure = change
            if action == "delete":
                response.delete_cookie(s.cookie_name, path="/", samesite="Lax")
                response.cookies[s.cookie_name]["httponly"] = True
                response.cookies[s.cookie_name]["secure"] = secure
            else:
                response.set_cookie(
                    s.cookie_name,
                    value,
                    max_age=s.cookie_max_age,
                    path="/",
                    secure=secure,
                    httponly=True,
                    samesite="Lax",
                )
        return response


def require_auth(
    *,
    roles: Union[str, Sequence[str], None] = None,
    permissions: Union[str, Sequence[str], None] = None,
) -> Callable[[F], F]:
    """View decorator: a signed-in user with every permission and one of the roles (when
    given); browsers without a session are redirected to login, API clients get 401, a
    missing permission or role is 403. The user is in ``request.kinde_user``."""
    role_names, perms = normalize_names(roles), normalize_names(permissions)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            integ = getattr(request, "kinde_integration", None)
            if not isinstance(integ, KindeDjango):
                raise ImproperlyConfigured(
                    "kinde_sdk.frameworks.django.KindeMiddleware is not in MIDDLEWARE"
                )
            try:
                integ.flow.authorize(permissions=perms, roles=role_names)
            except AuthFailure as failure:
                return integ.refusal(request, failure)
            request.kinde_user = integ.oauth.get_user_info()
            return view(request, *args, **kwargs)

        return cast(F, wrapper)

    return decorate


def login_required(view: F) -> F:
    """View decorator: a signed-in user (see :func:`require_auth`)."""
    return require_auth()(view)


# --- bearer tokens -------------------------------------------------------------------------


class BearerAuth:
    """Validates ``Authorization: Bearer <jwt>`` with a :class:`TokenValidator`
    (``validator=``, or ``domain=``/``audience=``; by default the settings or env
    ``KINDE_DOMAIN``/``KINDE_HOST`` and ``KINDE_AUDIENCE``). ``@bearer.require(...)``
    puts the claims in ``request.kinde_claims``."""

    def __init__(
        self,
        *,
        validator: Optional[TokenValidator] = None,
        domain: Optional[str] = None,
        audience: Union[str, Sequence[str], None] = None,
        **validator_options: Any,
    ) -> None:
        from ..auth.token_validator import TokenValidator

        if validator is None:
            domain = (
                domain
                or _setting("KINDE_DOMAIN")
                or _setting("KINDE_HOST")
                or os.environ.get("KINDE_DOMAIN")
                or os.environ.get("KINDE_HOST")
            )
            if not domain:
                raise KindeConfigurationError(
                    "BearerAuth needs validator= or domain= (or KINDE_DOMAIN)"
                )
            if audience is None:
                audience = _setting("KINDE_AUDIENCE") or os.environ.get("KINDE_AUDIENCE")
            validator = TokenValidator(domain, audience, **validator_options)
        self.validator = validator

    def claims(
        self,
        authorization: Optional[str],
        permissions: Sequence[str] = (),
        roles: Sequence[str] = (),
    ) -> dict[str, Any]:
        return verify_bearer(self.validator, authorization, permissions, roles)

    def require(
        self,
        *,
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> Callable[[F], F]:
        perms, role_names = normalize_names(permissions), normalize_names(roles)

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    claims = self.claims(request.headers.get("Authorization"), perms, role_names)
                except AuthFailure as failure:
                    return _failure_response(failure)
                request.kinde_claims = claims
                return view(request, *args, **kwargs)

            return cast(F, wrapper)

        return decorate


_default_bearer: Optional[BearerAuth] = None


def _bearer() -> BearerAuth:
    global _default_bearer
    if _default_bearer is None:
        _default_bearer = BearerAuth()
    return _default_bearer


class KindeUser:
    """``request.user`` for a verified bearer token (DRF): not a database user."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, claims: dict[str, Any]) -> None:
        self.claims = claims
        self.id = self.pk = self.username = claims.get("sub")

    def __str__(self) -> str:
        return str(self.username)


try:  # Django REST Framework is optional (extra "drf").
    from rest_framework import exceptions as drf_exceptions
    from rest_framework.authentication import BaseAuthentication
    from rest_framework.permissions import BasePermission
except ImportError:  # pragma: no cover - depends on the environment
    _HAS_DRF = False
    BaseAuthentication = object
    BasePermission = object
else:
    _HAS_DRF = True


def _need_drf() -> None:
    if not _HAS_DRF:
        raise KindeConfigurationError('the DRF classes need pip install "kinde-sdk[drf]"')


class KindeBearerAuthentication(BaseAuthentication):  # type: ignore[misc]
    """DRF authentication: ``Authorization: Bearer <jwt>`` verified by the default
    :class:`BearerAuth` (settings/env), or by ``bearer`` set on a subclass. No header
    means "not authenticated by this class"; a bad token is 401 with an RFC 6750
    ``WWW-Authenticate`` header. ``request.user`` is a :class:`KindeUser` and
    ``request.auth`` the claims."""

    bearer: Optional[BearerAuth] = None

    def authenticate(self, request: Any) -> Optional[tuple[KindeUser, dict[str, Any]]]:
        _need_drf()
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        bearer = self.bearer or _bearer()
        try:
            claims = bearer.claims(header)
        except AuthFailure as failure:
            request._request.kinde_challenge = failure.www_authenticate
            raise drf_exceptions.AuthenticationFailed(failure.body()) from None
        return KindeUser(claims), claims

    def authenticate_header(self, request: Any) -> str:
        return str(getattr(request._request, "kinde_challenge", 'Bearer realm="kinde"'))


class KindePermission(BasePermission):  # type: ignore[misc]
    """DRF permission: a Kinde bearer token carrying the view's ``kinde_permissions``
    (all) and ``kinde_roles`` (one of), or those of ``KindePermission.require(...)``.
    Missing ones are 403 with ``WWW-Authenticate: Bearer error="insufficient_scope"``."""

    permissions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @classmethod
    def require(
        cls,
        *,
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> type[KindePermission]:
        attrs = {"permissions": normalize_names(permissions), "roles": normalize_names(roles)}
        return type("KindePermissionRequired", (cls,), attrs)

    def has_permission(self, request: Any, view: Any) -> bool:
        _need_drf()
        claims = request.auth
        if not isinstance(claims, dict) or not isinstance(request.user, KindeUser):
            return False  # DRF answers 401 (NotAuthenticated) with our challenge
        perms = self.permissions or normalize_names(getattr(view, "kinde_permissions", None))
        roles = self.roles or normalize_names(getattr(view, "kinde_roles", None))
        try:
            check_authorization(claims, permissions=perms, roles=roles)
        except AuthFailure as failure:
            exc = drf_exceptions.PermissionDenied(failure.body())
            exc.auth_header = failure.www_authenticate
            raise exc from None
        return True
