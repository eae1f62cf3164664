"""FastAPI (Starlette) integration. Needs ``pip install "kinde-sdk[fastapi]"``.

Browser sessions::

    app = FastAPI()
    kinde_oauth = OAuth(framework="fastapi", app=app)   # routes + session middleware

    @app.get("/")
    async def home():
        if kinde_oauth.is_authenticated():
            return {"hello": kinde_oauth.get_user_info()["email"]}

    @app.get("/profile")
    async def profile(user: dict = Depends(require_user)): ...

    @app.get("/admin")
    async def admin(user: dict = Depends(RequireAuth(roles=["admin"]))): ...

The Account API as the current request's user, awaited (never blocking the loop)::

    @app.get("/billing")
    async def billing(account: AsyncAccountClient = Depends(get_account_client)):
        entitlements = await account.get_entitlements()

Bearer-token APIs (no session, no OAuth client needed)::

    bearer = BearerAuth(domain="https://acme.kinde.com", audience="https://api.acme.com")

    @app.get("/api/items")
    async def items(claims: dict = Depends(bearer.require(permissions=["read:items"]))): ...

The session middleware is pure ASGI: it binds the request's browser session with a
contextvar for the whole request (endpoints, dependencies and the threadpool that runs
sync code all see it) and adds the ``Set-Cookie`` header to the response. Blocking work
of the OAuth client (token endpoint, storage) runs in Starlette's threadpool; bearer
tokens are verified with :class:`~kinde_sdk.auth.AsyncTokenValidator`, so neither
blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import KindeConfigurationError
from ._fastapi_webhooks import kinde_webhook
from ._session import (
    AuthFailure,
    IntegrationSettings,
    Outcome,
    RequestSession,
    WebFlow,
    invalid_token,
    is_api_request,
    is_excluded,
    normalize_names,
    parse_bearer,
)
from .fastapi_management import KindeLifespan, get_kinde_client, get_management_client

if TYPE_CHECKING:
    from ..account.async_client import AsyncAccountClient
    from ..auth.async_token_validator import AsyncTokenValidator
    from ..auth.oauth import OAuth
    from ..auth.token_validator import TokenValidator

__all__ = [
    "BearerAuth",
    "BearerAuthMiddleware",
    "KindeFastAPI",
    "KindeLifespan",
    "RequireAuth",
    "get_account_client",
    "get_current_user",
    "get_kinde_client",
    "get_management_client",
    "kinde_webhook",
    "require_user",
]

_current: contextvars.ContextVar[Optional[tuple[KindeFastAPI, RequestSession]]] = (
    contextvars.ContextVar("kinde_fastapi_request", default=None)
)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _cookie(headers: dict[str, str], name: str) -> Optional[str]:
    """One cookie's value, parsed by hand: ``SimpleCookie`` gives up on the whole
    header when another cookie of the app is not RFC-clean."""
    for part in headers.get("cookie", "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value.strip().strip('"')
    return None


_MAX_FORM = 8192


async def _small_body(request: Request) -> bytes:
    """At most ``_MAX_FORM`` bytes of the body (a logout form is tiny; a huge body is
    not read into memory): a longer body gives b"" (no token)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return b""
    return body


def _form(body: bytes) -> dict[str, str]:
    """An urlencoded form body (at most ``_MAX_FORM`` bytes: :func:`_small_body`),
    parsed without python-multipart (not a dependency)."""
    fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items() if v}


def _response(outcome: Outcome) -> Response:
    if outcome.location is not None:
        return RedirectResponse(outcome.location, status_code=outcome.status)
    return HTMLResponse(outcome.html or "", status_code=outcome.status)


class _SessionMiddleware:
    """Pure ASGI: bind the browser session per request; enforce ``protected_paths``."""

    def __init__(self, app: ASGIApp, integration: KindeFastAPI) -> None:
        self.app = app
        self.integration = integration

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        integ = self.integration
        flow = integ.flow
        headers = _headers(scope)
        # Reading the session record is storage I/O (redis, file): not on the loop.
        cookie = _cookie(headers, flow.settings.cookie_name)
        session = await run_in_threadpool(flow.open, cookie) if cookie else flow.open(None)
        token = flow.bind(session)
        current = _current.set((integ, session))
        # The scheme as uvicorn/Starlette see it: with --proxy-headers (or Starlette's
        # ProxyHeadersMiddleware) from a trusted proxy's X-Forwarded-Proto.
        scheme = str(scope.get("scheme", "http"))

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                if flow.finish_needed(session):
                    await run_in_threadpool(flow.finish, session)
                header = flow.set_cookie_header(session, scheme, headers)
                if header is not None:
                    MutableHeaders(scope=message).append("set-cookie", header)
            await send(message)

        try:
            path = str(scope.get("path", "/"))
            settings = flow.settings
            if (
                settings.protected_paths
                and is_excluded(path, settings.protected_paths)
                and not is_excluded(path, settings.excluded_paths)
                and path not in integ.route_paths
            ):
                try:
                    await run_in_threadpool(flow.authorize)
                except AuthFailure as failure:
                    query = scope.get("query_string", b"").decode("latin-1")
                    response = integ.refusal_response(failure, is_api_request(headers), path, query)
                    await response(scope, receive, send_with_cookie)
                    return
            await self.app(scope, receive, send_with_cookie)
        finally:
            _current.reset(current)
            flow.release(token)


class KindeFastAPI:
    """Routes (login, callback, logout, register, user) and the session middleware on
    ``app``; built by ``OAuth(framework="fastapi", app=app, framework_options={...})``.

    Options: ``session_secret`` (else env ``KINDE_SESSION_SECRET``), the ``*_path``
    settings, ``post_login_redirect``, ``post_logout_redirect``, ``allowed_redirects``,
    ``cookie_name``, ``cookie_secure``, ``cookie_max_age``, ``protected_paths`` and
    ``excluded_paths`` (see :class:`~kinde_sdk.frameworks._session.IntegrationSettings`).
    """

    def __init__(self, oauth: OAuth, app: Any, **options: Any) -> None:
        if not isinstance(app, FastAPI):
            raise KindeConfigurationError("framework='fastapi' needs app=FastAPI()")
        settings = IntegrationSettings.build(options)
        settings.no_extra("fastapi")
        self.oauth = oauth
        self.flow = WebFlow(oauth, settings)
        self.route_paths = frozenset(
            (
                settings.login_path,
                settings.callback_path,
                settings.logout_path,
                settings.register_path,
                settings.user_path,
            )
        )
        app.include_router(self._router())
        app.add_middleware(_SessionMiddleware, integration=self)
        self._accounts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncAccountClient] = (
            weakref.WeakKeyDictionary()
        )

    def account_client(self) -> AsyncAccountClient:
        """The Account API client of this app for the running event loop (its locks
        are asyncio objects, which belong to one loop). It asks the OAuth client for the
        token of the session bound to the current request, so it always acts as that
        request's user."""
        loop = asyncio.get_running_loop()
        client = self._accounts.get(loop)
        if client is None:
            from ..account.async_client import AsyncAccountClient

            client = self._accounts[loop] = AsyncAccountClient(oauth=self.oauth)
        return client

    async def aclose(self) -> None:
        """Close the Account API client of the running loop (e.g. in the app's lifespan)."""
        found = self._accounts.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.aclose()

    def refusal_response(self, failure: AuthFailure, api: bool, path: str, query: str) -> Response:
        if api:
            return JSONResponse(
                failure.body(),
                status_code=failure.status,
                headers={"WWW-Authenticate": failure.www_authenticate},
            )
        return _response(self.flow.refusal(failure, api, path, query))

    def _router(self) -> APIRouter:
        router = APIRouter()
        s = self.flow.settings
        flow = self.flow

        async def login(request: Request) -> Response:
            session = _session()
            url = await run_in_threadpool(
                flow.login, session, dict(request.query_params), register=False
            )
            return RedirectResponse(url, status_code=302)

        async def register(request: Request) -> Response:
            session = _session()
            url = await run_in_threadpool(
                flow.login, session, dict(request.query_params), register=True
            )
            return RedirectResponse(url, status_code=302)

        async def callback(request: Request) -> Response:
            session = _session()
            outcome = await run_in_threadpool(flow.callback, session, dict(request.query_params))
            return _response(outcome)

        async def logout(request: Request) -> Response:
            form: dict[str, str] = {}
            if request.method == "POST":
                form = _form(await _small_body(request))
            outcome = await run_in_threadpool(
                flow.logout_route,
                _session(),
                request.method,
                {k.lower(): v for k, v in request.headers.items()},
                request.headers.get("host", ""),
                form,
            )
            return _response(outcome)

        async def user(request: Request) -> Response:
            info = await run_in_threadpool(flow.user)
            if info is None:
                api = is_api_request({k.lower(): v for k, v in request.headers.items()})
                return self.refusal_response(
                    AuthFailure(401, None, "sign-in required"),
                    api,
                    request.url.path,
                    request.url.query,
                )
            return JSONResponse(info)

        for path, endpoint in (
            (s.login_path, login),
            (s.register_path, register),
            (s.callback_path, callback),
            (s.user_path, user),
        ):
            router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
        router.add_api_route(
            s.logout_path, logout, methods=["GET", "POST"], include_in_schema=False
        )
        return router


def _session() -> RequestSession:
    current = _current.get()
    if current is None:
        raise KindeConfigurationError("no kinde session: the request did not pass the middleware")
    return current[1]


async def _authorize(
    request: Request, permissions: Sequence[str], roles: Sequence[str]
) -> dict[str, Any]:
    current = _current.get()
    if current is None:
        raise KindeConfigurationError(
            "require_user/RequireAuth need OAuth(framework='fastapi', app=app) on this app"
        )
    integ = current[0]
    try:
        await run_in_threadpool(integ.flow.authorize, permissions=permissions, roles=roles)
    except AuthFailure as failure:
        api = is_api_request({k.lower(): v for k, v in request.headers.items()})
        outcome = integ.flow.refusal(failure, api, request.url.path, request.url.query)
        headers = {"WWW-Authenticate": failure.www_authenticate}
        if outcome.location is not None:
            headers = {"Location": outcome.location}
        raise HTTPException(outcome.status, detail=failure.body(), headers=headers) from None
    info = await run_in_threadpool(integ.oauth.get_user_info)
    return dict(info or {})


async def require_user(request: Request) -> dict[str, Any]:
    """Dependency: the signed-in user (``get_user_info()``); a browser without a session
    is redirected to the login route, an API client gets 401."""
    return await _authorize(request, (), ())


get_current_user = require_user


async def get_account_client(request: Request) -> AsyncAccountClient:
    """Dependency: an :class:`~kinde_sdk.account.AsyncAccountClient` acting as the
    current request's user (``Depends(get_account_client)`` in ``async def`` routes).
    Like ``require_user`` it needs a signed-in user: a browser without a session is
    redirected to the login route, an API client gets 401."""
    if _current.get() is None:
        raise KindeConfigurationError(
            "get_account_client needs OAuth(framework='fastapi', app=app) on this app"
        )
    await _authorize(request, (), ())
    current = _current.get()
    assert current is not None
    return current[0].account_client()


class RequireAuth:
    """Dependency with authorization: ``Depends(RequireAuth(roles=[...],
    permissions=[...]))``. Every permission and one of the roles (when given) must be in
    the access token; otherwise 403. Returns the user like :func:`require_user`."""

    def __init__(
        self,
        *,
        roles: Union[str, Sequence[str], None] = None,
        permissions: Union[str, Sequence[str], None] = None,
    ) -> None:
        self.roles = normalize_names(roles)
        self.permissions = normalize_names(permissions)

    async def __call__(self, request: Request) -> dict[str, Any]:
        return await _authorize(request, self.permissions, self.roles)


# --- bearer-token APIs -------------------------------------------------------------------


Verifier = Union["AsyncTokenValidator", "TokenValidator"]


class BearerAuth:
    """Validates ``Authorization: Bearer <jwt>`` and returns the verified claims.

    Give ``validator=`` (an AsyncTokenValidator, or a TokenValidator, which then runs in
    the threadpool) or ``domain=``/``audience=`` (and any TokenValidator keyword), from
    which an AsyncTokenValidator is built per event loop. ``Depends(bearer)`` checks the
    token; ``Depends(bearer.require(permissions=[...], roles=[...]))`` also checks
    authorization (403 ``insufficient_scope``). Failures are HTTPException 401/403 with
    an RFC 6750 ``WWW-Authenticate`` header; claims also go to ``request.state.kinde_claims``.
    """

    def __init__(
        self,
        *,
        validator: Optional[Verifier] = None,
        domain: Optional[str] = None,
        audience: Union[str, Sequence[str], None] = None,
        **validator_options: Any,
    ) -> None:
        if (validator is None) == (domain is None):
            raise KindeConfigurationError("BearerAuth needs exactly one of validator= or domain=")
        self._validator = validator
        self._factory: Optional[Callable[[], AsyncTokenValidator]] = None
        if domain is not None:
            from ..auth.async_token_validator import AsyncTokenValidator

            def factory() -> AsyncTokenValidator:
                return AsyncTokenValidator(domain, audience, **validator_options)

            from ..auth.token_validator import TokenValidatorCore

            # Check the settings now, not at the first request (no transport is made).
            core_options = {k: v for k, v in validator_options.items() if k != "transport"}
            TokenValidatorCore(domain, audience, **core_options)
            self._factory = factory
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, AsyncTokenValidator
        ] = weakref.WeakKeyDictionary()

    async def aclose(self) -> None:
        """Close the validator this object built for the running event loop (call it at
        shutdown, e.g. in the app's lifespan). A validator you passed is yours to close."""
        found = self._per_loop.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.aclose()

    def _verify(self, token: str) -> Awaitable[dict[str, Any]]:
        validator = self._validator
        if validator is None:
            assert self._factory is not None
            loop = asyncio.get_running_loop()
            found = self._per_loop.get(loop)
            if found is None:
                found = self._per_loop[loop] = self._factory()
            return found.verify(token)
        from ..auth.token_validator import TokenValidator

        if isinstance(validator, TokenValidator):
            return run_in_threadpool(validator.verify, token)
        return validator.verify(token)

    async def claims(
        self,
        authorization: Optional[str],
        permissions: Sequence[str] = (),
        roles: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Verify and authorize; AuthFailure on refusal."""
        from ._session import check_authorization

        token = parse_bearer(authorization)
        try:
            claims = await self._verify(token)
        except Exception as exc:
            raise invalid_token(exc) from None
        check_authorization(claims, permissions=permissions, roles=roles)
        return claims

    async def _dependency(
        self, request: Request, permissions: Sequence[str], roles: Sequence[str]
    ) -> dict[str, Any]:
        try:
            claims = await self.claims(request.headers.get("authorization"), permissions, roles)
        except AuthFailure as failure:
            raise HTTPException(
                failure.status,
                detail=failure.body(),
                headers={"WWW-Authenticate": failure.www_authenticate},
            ) from None
        request.state.kinde_claims = claims
        return claims

    async def __call__(self, request: Request) -> dict[str, Any]:
        return await self._dependency(request, (), ())

    def require(
        self,
        *,
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> Callable[[Request], Awaitable[dict[str, Any]]]:
        perms, role_names = normalize_names(permissions), normalize_names(roles)

        async def dependency(request: Request) -> dict[str, Any]:
            return await self._dependency(request, perms, role_names)

        return dependency


class BearerAuthMiddleware:
    """Pure ASGI middleware: every HTTP request but ``excluded_paths`` needs a valid
    bearer token (and ``permissions``/``roles`` when given); the claims are put in
    ``request.state.kinde_claims``. ``app.add_middleware(BearerAuthMiddleware,
    bearer=BearerAuth(...), excluded_paths=["/health", "/docs", "/openapi.json"])``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        bearer: BearerAuth,
        excluded_paths: Sequence[str] = (),
        permissions: Union[str, Sequence[str], None] = None,
        roles: Union[str, Sequence[str], None] = None,
    ) -> None:
        self.app = app
        self.bearer = bearer
        self.excluded_paths = tuple(excluded_paths)
        self.permissions = normalize_names(permissions)
        self.roles = normalize_names(roles)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_excluded(str(scope.get("path")), self.excluded_paths):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        try:
            claims = await self.bearer.claims(
                headers.get("authorization"), self.permissions, self.roles
            )
        except AuthFailure as failure:
            response = JSONResponse(
                failure.body(),
                status_code=failure.status,
                headers={"WWW-Authenticate": failure.www_authenticate},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["kinde_claims"] = claims
        await self.app(scope, receive, send)
