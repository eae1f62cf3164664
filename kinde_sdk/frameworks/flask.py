"""Flask integration. Needs ``pip install "kinde-sdk[flask]"``.

Browser sessions::

    app = Flask(__name__)
    kinde_oauth = OAuth(framework="flask", app=app)   # routes + per-request session

    @app.route("/")
    def home():
        if kinde_oauth.is_authenticated():
            return f"Welcome, {kinde_oauth.get_user_info()['email']}!"
        return "Please log in"

    @app.route("/admin")
    @require_auth(roles=["admin"])
    def admin(): ...

Bearer-token APIs::

    bearer = BearerAuth(domain="https://acme.kinde.com", audience="https://api.acme.com")

    @app.route("/api/items")
    @bearer.require(permissions=["read:items"])
    def items():
        return {"sub": g.kinde_claims["sub"]}

The session is bound in ``before_request`` and released in ``teardown_request`` (a
contextvar, so each request thread sees only its own session); the cookie is set in
``after_request``. Flask's own ``session`` and ``SECRET_KEY`` are not touched: the
cookie key is ``session_secret``, ``KINDE_SESSION_SECRET`` or derived from
``SECRET_KEY`` without changing it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union, cast

from flask import Flask, current_app, g, jsonify, make_response, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..errors import KindeConfigurationError
from ._flask_webhooks import kinde_webhook
from ._session import (
    AuthFailure,
    IntegrationSettings,
    Outcome,
    RequestSession,
    WebFlow,
    is_api_request,
    is_excluded,
    normalize_names,
    verify_bearer,
)

if TYPE_CHECKING:
    from ..auth.oauth import OAuth
    from ..auth.token_validator import TokenValidator

__all__ = ["BearerAuth", "KindeFlask", "kinde_webhook", "login_required", "require_auth"]

F = TypeVar("F", bound=Callable[..., Any])
_EXTENSION = "kinde_sdk"


def _lower_headers() -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _response(outcome: Outcome) -> Response:
    if outcome.location is not None:
        return redirect(outcome.location, code=outcome.status)
    response = make_response(outcome.html or "", outcome.status)
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def _failure_response(failure: AuthFailure) -> Response:
    response = jsonify(failure.body())
    response.status_code = failure.status
    response.headers["WWW-Authenticate"] = failure.www_authenticate
    return response


class KindeFlask:
    """Routes (login, callback, logout, register, user) and per-request sessions on a
    Flask app; built by ``OAuth(framework="flask", app=app, framework_options={...})``.
    Options as for FastAPI (see :class:`~kinde_sdk.frameworks._session.IntegrationSettings`)."""

    def __init__(self, oauth: OAuth, app: Any, **options: Any) -> None:
        if not isinstance(app, Flask):
            raise KindeConfigurationError("framework='flask' needs app=Flask(...)")
        settings = IntegrationSettings.build(
            options, app_secret=app.config.get("SECRET_KEY"), app_key_name="Flask's SECRET_KEY"
        )
        settings.no_extra("flask")
        self.oauth = oauth
        self.flow = WebFlow(oauth, settings)
        s = settings
        self.route_paths = frozenset(
            (s.login_path, s.callback_path, s.logout_path, s.register_path, s.user_path)
        )
        app.extensions[_EXTENSION] = self
        app.before_request(self._before)
        app.after_request(self._after)
        app.teardown_request(self._teardown)
        for name, path, view in (
            ("login", s.login_path, self._login),
            ("register", s.register_path, self._register),
            ("callback", s.callback_path, self._callback),
            ("user", s.user_path, self._user),
        ):
            app.add_url_rule(path, endpoint=f"kinde_{name}", view_func=view, methods=["GET"])
        app.add_url_rule(
            s.logout_path, endpoint="kinde_logout", view_func=self._logout, methods=["GET", "POST"]
        )

    # --- per request ----------------------------------------------------------------

    def _before(self) -> Optional[ResponseReturnValue]:
        flow = self.flow
        session = flow.open(request.cookies.get(flow.settings.cookie_name))
        g.kinde_session = session
        g.kinde_session_token = flow.bind(session)
        s = flow.settings
        path = request.path
        if (
            s.protected_paths
            and is_excluded(path, s.protected_paths)
            and not is_excluded(path, s.excluded_paths)
            and path not in self.route_paths
        ):
            try:
                flow.authorize()
            except AuthFailure as failure:
                return self.refusal(failure)
        return None

    def _after(self, response: Response) -> Response:
        session: Optional[RequestSession] = g.get("kinde_session")
        if session is not None:
            self.flow.finish(session)
            # request.scheme honours werkzeug's ProxyFix (X-Forwarded-Proto) when the
            # app trusts its proxy that way.
            header = self.flow.set_cookie_header(session, request.scheme, _lower_headers())
            if header is not None:
                response.headers.add("Set-Cookie", header)
        return response

    def _teardown(self, exc: Optional[BaseException]) -> None:
        token = g.pop("kinde_session_token", None)
        if token is not None:
            self.flow.release(token)

    def refusal(self, failure: AuthFailure) -> Response:
        api = is_api_request(_lower_headers())
        if api:
            return _failure_response(failure)
        query = request.query_string.decode("latin-1")
        return _response(self.flow.refusal(failure, api, request.path, query))

    # --- routes -----------------------------------------------------------------------

    def _login(self) -> Response:
        return redirect(self.flow.login(g.kinde_session, request.args, register=False))

    def _register(self) -> Response:
        return redirect(self.flow.login(g.kinde_session, request.args, register=True))

    def _callback(self) -> Response:
        return _response(self.flow.callback(g.kinde_session, request.args))

    def _logout(self) -> Response:
        form = request.form.to_dict() if request.method == "POST" else {}
        outcome = self.flow.logout_route(
            g.kinde_session, request.method, _lower_headers(), request.host, form
        )
        return _response(outcome)

    def _user(self) -> Response:
        info = self.flow.user()
        if info is None:
            return self.refusal(AuthFailure(401, None, "sign-in required"))
        return jsonify(info)


def _integration() -> KindeFlask:
    integ = current_app.extensions.get(_EXTENSION)
    if not isinstance(integ, KindeFlask):
        raise KindeConfigurationError(
            "login_required/require_auth need OAuth(framework='flask', app=app) on this app"
        )
    return integ


def require_auth(
    *,
    roles: Union[str, Sequence[str], None] = None,
    permissions: Union[str, Sequence[str], None] = None,
) -> Callable[[F], F]:
    """View decorator: a signed-in user with every permission and one of the roles (when
    given). Browsers without a session go to the login route, API clients get 401;
    a missing permission or role is 403. The user is in ``g.kinde_user``."""
    role_names, perms = normalize_names(roles), normalize_names(permissions)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            integ = _integration()
            try:
                integ.flow.authorize(permissions=perms, roles=role_names)
            except AuthFailure as failure:
                return integ.refusal(failure)
            g.kinde_user = integ.oauth.get_user_info()
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def login_required(view: F) -> F:
    """View decorator: a signed-in user (see :func:`require_auth`)."""
    return require_auth()(view)


class BearerAuth:
    """Validates ``Authorization: Bearer <jwt>`` with a :class:`TokenValidator` (give
    ``validator=``, or ``domain=``/``audience=`` and TokenValidator keywords). Use
    ``@bearer.require(permissions=[...], roles=[...])`` on views, or
    ``bearer.init_app(app, excluded_paths=[...])`` to protect every other path. The
    verified claims are in ``g.kinde_claims``; refusals are 401/403 JSON with an
    RFC 6750 ``WWW-Authenticate`` header."""

    def __init__(
        self,
        *,
        validator: Optional[TokenValidator] = None,
        domain: Optional[str] = None,
        audience: Union[str, Sequence[str], None] = None,
        **validator_options: Any,
    ) -> None:
        from ..auth.token_validator import TokenValidator

        if (validator is None) == (domain is None):
            raise KindeConfigurationError("BearerAuth needs exactly one of validator= or domain=")
        if validator is None:
            assert domain is not None
            validator = TokenValidator(domain, audience, **validator_options)
        self.validator = validator

    def claims(
        self,
        authorization: Optional[str],
        permissions: Sequence[str] = (),
        roles: Sequence[str] = (),
    ) -> dict[str, Any]:
        return verify_bearer(self.validator, authorization, permissions, roles)

    def _check(self, permissions: Sequence[str], roles: Sequence[str]) -> Optional[Response]:
        try:
            g.kinde_claims = self.claims(request.headers.get("Authorization"), permissions, roles)
        except AuthFailure as failure:
            return _failure_response(failure)
        return None

    def require(
        self,
        *,
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> Callable[[F], F]:
        perms, role_names = normalize_names(permissions), normalize_names(roles)

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                refused = self._check(perms, role_names)
                if refused is not None:
                    return refused
                return view(*args, **kwargs)

            return cast(F, wrapper)

        return decorate

    def __call__(self, view: F) -> F:
        """``@bearer``: a valid token, no authorization requirements."""
        return self.require()(view)

    def init_app(
        self,
        app: Flask,
        *,
        excluded_paths: Sequence[str] = (),
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> None:
        """Require a valid bearer token on every path but ``excluded_paths``."""
        excluded = tuple(excluded_paths)
        perms, role_names = normalize_names(permissions), normalize_names(roles)

        def before() -> Optional[Response]:
            if is_excluded(request.path, excluded):
                return None
            return self._check(perms, role_names)

        app.before_request(before)
