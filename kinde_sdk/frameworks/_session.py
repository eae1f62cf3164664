"""What the framework adapters share, without any framework: settings, the signed
session cookie, per-request session state, safe redirects, excluded paths, the
"browser or API?" decision, bearer-token checks and the error page.

Session design (also in the README):

* Each browser session has an id from ``secrets.token_urlsafe(32)`` (256 bits). The
  cookie carries only ``<id>.<HMAC-SHA256 signature>``: about 90 bytes, whatever the
  size of the tokens, and never the client secret or a token.
* Tokens stay server-side in the OAuth client's storage backend (memory, file or
  redis), namespaced by the session id (``NamespacedStorage(backend, device_id=id)``).
* The cookie is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``; ``Secure`` comes from
  ``cookie_secure``, else from the request's scheme as the framework sees it (behind a
  proxy it trusts) or the redirect URI's scheme, never from the Host header.
* Sessions end after ``session_idle_timeout`` without a request and ``session_max_age``
  after sign-in (:class:`WebFlow`); pending logins expire with ``pending_ttl`` and at
  most ``max_pending_logins`` are kept per browser session (two tabs never collide).
* Logout is a POST checked against CSRF (``Sec-Fetch-Site``/``Origin`` or the token of
  the confirmation page); a cross-site GET only gets the confirmation page.
* Anything a client sends (cookie, Authorization header) ends as "no session" or a
  401, never a 500; header values we emit are ASCII.
* A cookie is only sent once the session holds something (a pending login), the id is
  replaced at login (no session fixation) and the session's data is deleted at logout.
* The signing key is ``session_secret=``, else env ``KINDE_SESSION_SECRET``, else one
  derived (read-only, HMAC with a fixed label) from the host app's own ``SECRET_KEY``
  (Flask, Django). Nothing in the host app's configuration is ever written.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import html
import logging
import math
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from .._config import from_env
from ..errors import (
    InvalidTokenError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    TokenError,
)

if TYPE_CHECKING:
    from ..auth.oauth import OAuth
    from ..auth.token_validator import TokenValidator

logger = logging.getLogger("kinde_sdk")

__all__ = [
    "AuthFailure",
    "IntegrationSettings",
    "RequestSession",
    "check_authorization",
    "error_page",
    "is_api_request",
    "is_excluded",
    "parse_bearer",
    "resolve_secret",
    "safe_redirect",
]

DEFAULT_COOKIE_NAME = "kinde_session"
_SIGN_LABEL = b"kinde-sdk session cookie v1|"
_DERIVE_LABEL = b"kinde-sdk session cookie key, derived from the app's SECRET_KEY"
_SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MIN_SECRET_LENGTH = 16
#: A browser session ends after this long without a request (framework_options
#: ``session_idle_timeout``; None: never) ...
DEFAULT_IDLE_TIMEOUT = 24 * 3600.0
#: ... and this long after sign-in whatever the activity (``session_max_age``).
DEFAULT_MAX_AGE = 7 * 24 * 3600.0
#: Pending logins kept per browser session (tabs that started a login); the oldest go.
DEFAULT_MAX_PENDING_LOGINS = 10
#: The session record: when the session began and was last seen, pending logins.
SESSION_META_KEY = "kinde_session"


GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def resolve_secret(
    explicit: Optional[str], app_secret: Any = None, app_key_name: Optional[str] = None
) -> bytes:
    """The cookie signing key: explicit, else ``KINDE_SESSION_SECRET``, else derived from
    the host app's ``SECRET_KEY`` (read, never written; ``app_key_name`` names it in
    messages, None for a framework that has none). Clear error if none."""
    secret = explicit if explicit is not None else from_env(None, "KINDE_SESSION_SECRET")
    if secret:
        if len(secret) < MIN_SECRET_LENGTH:
            where = "session_secret" if explicit is not None else "KINDE_SESSION_SECRET"
            raise KindeConfigurationError(
                f"{where} is {len(secret)} characters; the session secret must be at least "
                f"{MIN_SECRET_LENGTH}. Generate one with: {GENERATE_SECRET}"
            )
        return secret.encode("utf-8")
    if isinstance(app_secret, bytes):
        app_secret = app_secret.decode("utf-8", "replace")
    if isinstance(app_secret, str) and len(app_secret) >= MIN_SECRET_LENGTH:
        return hmac.new(app_secret.encode("utf-8"), _DERIVE_LABEL, hashlib.sha256).digest()
    if app_key_name is None:
        raise KindeConfigurationError(
            "the kinde session cookie needs a signing key and none is set: set "
            f"KINDE_SESSION_SECRET (at least {MIN_SECRET_LENGTH} characters) or pass "
            "framework_options={'session_secret': ...}. Generate one with: "
            f"{GENERATE_SECRET}"
        )
    if isinstance(app_secret, str) and app_secret:
        raise KindeConfigurationError(
            f"{app_key_name} is {len(app_secret)} characters, too short to derive the "
            f"kinde session cookie's signing key from: it must be at least "
            f"{MIN_SECRET_LENGTH}. Use a longer one, or set "
            "KINDE_SESSION_SECRET (or framework_options={'session_secret': ...}). Generate "
            f"one with: {GENERATE_SECRET}"
        )
    raise KindeConfigurationError(
        f"the kinde session cookie needs a signing key and none is set: set {app_key_name}, "
        "or KINDE_SESSION_SECRET (or pass "
        f"framework_options={{'session_secret': ...}}), at least {MIN_SECRET_LENGTH} "
        f"characters. Generate one with: {GENERATE_SECRET}"
    )


def _seconds_or_none(value: Any, name: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e10:
        raise KindeConfigurationError(f"{name} must be a number of seconds > 0, or None")
    return float(value)


def _check_path(value: str, name: str) -> str:
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        raise KindeConfigurationError(f"{name} must be a path starting with a single '/'")
    return value


@dataclass
class IntegrationSettings:
    """Options shared by every adapter (``framework_options=`` of OAuth)."""

    # repr=False: the key forges session cookies, it must never reach a log or a traceback.
    secret: bytes = field(repr=False)
    login_path: str = "/login"
    callback_path: str = "/callback"
    logout_path: str = "/logout"
    register_path: str = "/register"
    user_path: str = "/user"
    post_login_redirect: str = "/"
    post_logout_redirect: str = "/"
    allowed_redirects: tuple[str, ...] = ()
    cookie_name: str = DEFAULT_COOKIE_NAME
    cookie_secure: Optional[bool] = None
    cookie_max_age: Optional[int] = None
    excluded_paths: tuple[str, ...] = ()
    protected_paths: tuple[str, ...] = ()
    session_idle_timeout: Optional[float] = DEFAULT_IDLE_TIMEOUT
    session_max_age: Optional[float] = DEFAULT_MAX_AGE
    max_pending_logins: int = DEFAULT_MAX_PENDING_LOGINS
    trust_forwarded_proto: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        options: Mapping[str, Any],
        app_secret: Any = None,
        app_key_name: Optional[str] = None,
    ) -> IntegrationSettings:
        opts = dict(options)
        secret = resolve_secret(opts.pop("session_secret", None), app_secret, app_key_name)
        settings = cls(secret=secret)
        for name in (
            "login_path",
            "callback_path",
            "logout_path",
            "register_path",
            "user_path",
        ):
            if name in opts:
                setattr(settings, name, _check_path(opts.pop(name), name))
        for name in ("post_login_redirect", "post_logout_redirect"):
            if name in opts:
                setattr(settings, name, str(opts.pop(name)))
        for name in ("allowed_redirects", "excluded_paths", "protected_paths"):
            if name in opts:
                value = opts.pop(name)
                if isinstance(value, str):
                    raise KindeConfigurationError(f"{name} must be a list of strings")
                setattr(settings, name, tuple(str(v) for v in value))
        if "cookie_name" in opts:
            name = str(opts.pop("cookie_name"))
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                raise KindeConfigurationError("cookie_name may use letters, digits, _ . -")
            settings.cookie_name = name
        if "cookie_secure" in opts:
            secure = opts.pop("cookie_secure")
            if secure is not None and not isinstance(secure, bool):
                raise KindeConfigurationError("cookie_secure must be True, False or None")
            settings.cookie_secure = secure
        if "cookie_max_age" in opts:
            age = opts.pop("cookie_max_age")
            settings.cookie_max_age = None if age is None else int(age)
        for name in ("session_idle_timeout", "session_max_age"):
            if name in opts:
                setattr(settings, name, _seconds_or_none(opts.pop(name), name))
        if "max_pending_logins" in opts:
            count = opts.pop("max_pending_logins")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise KindeConfigurationError("max_pending_logins must be a whole number >= 1")
            settings.max_pending_logins = count
        if "trust_forwarded_proto" in opts:
            trust = opts.pop("trust_forwarded_proto")
            if not isinstance(trust, bool):
                raise KindeConfigurationError("trust_forwarded_proto must be True or False")
            settings.trust_forwarded_proto = trust
        settings.extra = opts
        for target in (settings.post_login_redirect, settings.post_logout_redirect):
            if safe_redirect(target, settings.allowed_redirects) is None:
                raise KindeConfigurationError(
                    "post_login_redirect / post_logout_redirect must be a same-origin path "
                    "or one of allowed_redirects"
                )
        return settings

    def no_extra(self, framework: str) -> None:
        if self.extra:
            raise KindeConfigurationError(
                f"unknown framework option(s) for {framework}: {', '.join(sorted(self.extra))}"
            )

    # --- cookie ----------------------------------------------------------------------

    def sign(self, session_id: str) -> str:
        mac = hmac.new(self.secret, _SIGN_LABEL + session_id.encode("ascii"), hashlib.sha256)
        sig = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
        return f"{session_id}.{sig}"

    def unsign(self, value: Optional[str]) -> Optional[str]:
        """The session id in a cookie value, or None when absent, malformed or forged."""
        # Anything a browser (or an attacker) sends must end here as "no session", never
        # as an exception: compare_digest raises TypeError on non-ASCII str, so compare
        # bytes, and only after checking the value is plain ASCII.
        if not isinstance(value, str) or not value or len(value) > 200 or not value.isascii():
            return None
        session_id, _, _sig = value.partition(".")
        if not _SESSION_ID_RE.match(session_id):
            return None
        expected = self.sign(session_id).encode("ascii")
        if not hmac.compare_digest(expected, value.encode("ascii")):
            return None
        return session_id

    def secure_for(self, scheme: str, redirect_uri: Optional[str] = None) -> bool:
        """``Secure`` from configuration (``cookie_secure``), else when the app is
        reached over https: the request's scheme (as the framework sees it, behind a
        proxy it trusts) or the redirect URI's. Never from the Host header: nginx
        proxies with ``Host: 127.0.0.1:8000`` over http by default."""
        if self.cookie_secure is not None:
            return bool(self.cookie_secure)
        if scheme.lower() == "https":
            return True
        return bool(redirect_uri) and urlsplit(str(redirect_uri)).scheme.lower() == "https"

    def cookie_header(self, value: str, *, secure: bool, delete: bool = False) -> str:
        """A complete ``Set-Cookie`` header value."""
        parts = [f"{self.cookie_name}={'' if delete else value}", "Path=/", "HttpOnly"]
        parts.append("SameSite=Lax")
        if delete:
            parts.append("Max-Age=0")
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
        elif self.cookie_max_age is not None:
            parts.append(f"Max-Age={self.cookie_max_age}")
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def login_redirect_for(self, path: str, query: str = "") -> str:
        """Where an unauthenticated browser goes: the login route, back here after."""
        target = path + (f"?{query}" if query else "")
        if safe_redirect(target, ()) is None:
            return self.login_path
        return f"{self.login_path}?{urlencode({'next': target})}"


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


class RequestSession:
    """The session of one request: its id, whether the browser has it already, and
    what the response must do to the cookie (set a new id, or delete it)."""

    def __init__(self, session_id: Optional[str], meta: Optional[dict[str, Any]] = None) -> None:
        self.from_cookie = session_id is not None
        self.session_id = session_id or new_session_id()
        self.rotated = False
        self.ended = False
        # The browser sent a validly signed cookie of a session that has ended (idle,
        # too old, or gone from storage): the cookie is deleted unless replaced.
        self.stale_cookie = False
        self.signed_in = False  # a login completed in this request
        self.meta: Optional[dict[str, Any]] = meta  # the session record, as read
        # The pending logins' index, when this request changed it (else None).
        self.pending: Optional[list[list[Any]]] = None
        self.binding: Any = None  # the OAuth SessionBinding of this request

    def rotate(self) -> str:
        """Replace the id (after login); returns the new one."""
        self.session_id = new_session_id()
        self.rotated = True
        return self.session_id

    def end(self) -> None:
        self.ended = True

    def cookie_action(self) -> Optional[str]:
        """``"set"``, ``"delete"`` or None."""
        if self.ended:
            return "delete" if self.from_cookie or self.stale_cookie else None
        written = bool(getattr(self.binding, "written", False))
        if self.rotated or (not self.from_cookie and written):
            return "set"
        return "delete" if self.stale_cookie else None


# --- redirects, paths, request kind ------------------------------------------------------


def safe_redirect(target: Optional[str], allowed: Iterable[str]) -> Optional[str]:
    """``target`` if it is a same-origin path (``/x``, not ``//x`` or ``/\\x``) or exactly
    one of ``allowed``; else None."""
    if not target or not isinstance(target, str):
        return None
    if target in tuple(allowed):
        return target
    if any(ord(c) < 0x20 or c == "\x7f" for c in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    # The target goes into a Location header: percent-encode anything not ASCII.
    return "".join(c if c.isascii() else quote(c, safe="") for c in target)


def is_excluded(path: str, excluded: Sequence[str]) -> bool:
    """Exact match, or prefix match for entries ending with ``/`` (``/static/``); an
    entry ``/health`` also covers ``/health/...``."""
    for entry in excluded:
        if entry.endswith("/"):
            if path.startswith(entry) or path == entry.rstrip("/"):
                return True
        elif path == entry or path.startswith(entry + "/"):
            return True
    return False


def is_api_request(headers: Mapping[str, str]) -> bool:
    """API clients get 401/403; browsers get redirected to the login page.
    ``headers`` must have lower-case names."""
    if headers.get("authorization"):
        return True
    if headers.get("x-requested-with", "").lower() == "xmlhttprequest":
        return True
    accept = headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


# --- bearer tokens and authorization ------------------------------------------------------


class AuthFailure(Exception):
    """A refused request: ``status`` 401 or 403 with the RFC 6750 challenge."""

    def __init__(self, status: int, error: Optional[str], description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    @property
    def www_authenticate(self) -> str:
        if self.error is None:  # no credentials at all: no error code (RFC 6750 3.1)
            return 'Bearer realm="kinde"'
        return (
            f'Bearer realm="kinde", error="{header_safe(self.error)}", '
            f'error_description="{header_safe(self.description)}"'
        )

    def body(self) -> dict[str, Any]:
        return {"error": self.error or "unauthorized", "error_description": self.description}


def header_safe(text: str, limit: int = 200) -> str:
    """``text`` made fit for a quoted HTTP header parameter: printable ASCII only (no
    quote, backslash or control character), at most ``limit`` characters. Error texts
    can quote a token's header (a ``kid`` of "\u263a"); a header value that is not
    latin-1 makes uvicorn answer 500 and werkzeug drop the connection."""
    ascii_text = text.encode("ascii", "backslashreplace").decode("ascii")
    return _HEADER_UNSAFE.sub("", ascii_text.replace("\\", "/"))[:limit]


_HEADER_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')
# RFC 6750's b64token: anything else is refused before the validator sees it, so
# arbitrary header bytes (non-ASCII, controls) never reach a decoder.
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
MAX_BEARER_LENGTH = 16_384


def parse_bearer(authorization: Optional[str]) -> str:
    """The token of an ``Authorization: Bearer`` header; AuthFailure otherwise."""
    if not authorization:
        raise AuthFailure(401, None, "a bearer token is required")
    if not isinstance(authorization, str):
        raise AuthFailure(401, "invalid_request", "the Authorization header is not a bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthFailure(401, "invalid_request", "the Authorization header is not a bearer token")
    if len(token) > MAX_BEARER_LENGTH or not _B64TOKEN.match(token):
        raise AuthFailure(401, "invalid_token", "the bearer token is malformed")
    return token


def invalid_token(exc: Exception) -> AuthFailure:
    """The AuthFailure for a verification error; other exceptions are re-raised."""
    if isinstance(exc, InvalidTokenError):
        return AuthFailure(401, "invalid_token", str(exc) or "the token is not valid")
    if isinstance(exc, KindeError):  # JWKS unavailable: not the client's fault
        return AuthFailure(503, "temporarily_unavailable", "token keys are unavailable")
    raise exc


def verify_bearer(
    validator: TokenValidator,
    authorization: Optional[str],
    permissions: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> dict[str, Any]:
    """The verified claims of a request's bearer token, for the sync frameworks; raises
    AuthFailure (401 bad token, 403 missing permission or role, 503 keys unavailable)."""
    token = parse_bearer(authorization)
    try:
        claims = validator.verify(token)
    except Exception as exc:
        raise invalid_token(exc) from None
    check_authorization(claims, permissions=permissions, roles=roles)
    return claims


def _granted_permissions(claims: Mapping[str, Any]) -> set[str]:
    perms = claims.get("permissions")
    if isinstance(perms, str):
        return set(perms.split())
    if isinstance(perms, list):
        return {p for p in perms if isinstance(p, str)}
    return set()


def _role_keys(claims: Mapping[str, Any]) -> set[str]:
    roles = claims.get("roles")
    keys: set[str] = set()
    if isinstance(roles, list):
        for role in roles:
            if isinstance(role, str):
                keys.add(role)
            elif isinstance(role, dict) and isinstance(role.get("key"), str):
                keys.add(role["key"])
    return keys


def check_authorization(
    claims: Mapping[str, Any],
    *,
    permissions: Sequence[str] = (),
    roles: Sequence[str] = (),
) -> None:
    """Every permission in ``permissions`` and at least one of ``roles`` (when given);
    AuthFailure(403, insufficient_scope) otherwise."""
    missing = [p for p in permissions if p not in _granted_permissions(claims)]
    if missing:
        raise AuthFailure(403, "insufficient_scope", f"missing permission: {', '.join(missing)}")
    if roles and not set(roles) & _role_keys(claims):
        raise AuthFailure(
            403, "insufficient_scope", f"requires one of the roles: {', '.join(roles)}"
        )


def normalize_names(value: Union[str, Sequence[str], None]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


# --- error page -----------------------------------------------------------------------------


def callback_error(exc: BaseException) -> tuple[int, str]:
    """Status and user-facing text for a failed callback (no stack trace, no secrets)."""
    if isinstance(exc, KindeConnectionError):
        return 502, "The sign-in service could not be reached. Please try again."
    if isinstance(exc, TokenError):
        if exc.error == "access_denied":
            return 400, "Sign-in was cancelled or access was denied."
        if exc.error == "invalid_state":
            return 400, (
                "This sign-in link is invalid or has expired (unknown state). "
                "Please start the sign-in again."
            )
        detail = f" ({exc.error})" if exc.error else ""
        return 400, f"Sign-in failed: the identity provider returned an error{detail}."
    if isinstance(exc, InvalidTokenError):
        return 400, "Sign-in failed: the identity provider's tokens could not be verified."
    if isinstance(exc, KindeError):
        return 400, "Sign-in failed."
    return 500, "Sign-in failed because of an internal error."


def error_page(status: int, message: str, login_path: str = "/login") -> str:
    """A minimal HTML page: the message escaped, a link to sign in again."""
    title = "Access denied" if status == 403 else "Sign-in error"
    msg = html.escape(message)
    link = html.escape(login_path, quote=True)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p id='kinde-error'>{msg}</p>"
        f"<p><a href='{link}'>Sign in again</a></p></body></html>"
    )


def logout_page(action: str, token: str) -> str:
    """The confirmation page of a ``GET /logout`` that did not come from this site."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Sign out</title></head>"
        "<body><h1>Sign out?</h1>"
        f"<form method='post' action='{html.escape(action, quote=True)}'>"
        f"<input type='hidden' name='{LOGOUT_TOKEN_FIELD}' value='{html.escape(token)}'>"
        "<button type='submit' id='kinde-logout-confirm'>Sign out</button></form>"
        "</body></html>"
    )


# --- the flow behind the routes, shared by the adapters -------------------------------------

_LOGOUT_LABEL = b"kinde-sdk logout form v1|"
#: The form field of the logout confirmation page's CSRF token.
LOGOUT_TOKEN_FIELD = "kinde_logout_token"

_NEXT_PREFIX = "kinde_fw_next:"
_LOGIN_PASSTHROUGH = ("org_code", "login_hint", "lang", "connection_id", "invitation_code")


@dataclass
class Outcome:
    """What a route answers: a redirect (``location``) or a page (``status``, ``html``)."""

    status: int
    location: Optional[str] = None
    html: Optional[str] = None


class WebFlow:
    """The routes' logic over an OAuth client, with the session bound by the adapter.

    Session lifetimes (issue 12): every browser session has a record
    (:data:`SESSION_META_KEY`, ``{"created", "seen", "auth", "pending"}``) in the OAuth
    client's storage. A request whose session is older than ``session_max_age`` or was
    last seen more than ``session_idle_timeout`` ago finds no session (and its data is
    removed), whatever the backend. Keys are also written with a TTL, refreshed on use
    (at most once every :meth:`touch_interval`), so the backends drop abandoned sessions
    by themselves: memory and file purge them, redis expires them.
    """

    def __init__(self, oauth: OAuth, settings: IntegrationSettings) -> None:
        self.oauth = oauth
        self.settings = settings
        oauth.session_ttl_for = self.ttl_for

    # --- lifetimes --------------------------------------------------------------------

    def _now(self) -> float:
        return float(self.oauth._clock())

    @property
    def pending_ttl(self) -> Optional[float]:
        ttl = float(self.oauth.pending_ttl)
        return ttl if ttl > 0 else None

    @property
    def touch_interval(self) -> float:
        """How stale ``seen`` may get before a request writes it again: a tenth of the
        idle timeout, at most a minute (the idle timeout holds to within this)."""
        idle = self.settings.session_idle_timeout
        return 60.0 if idle is None else min(60.0, idle / 10)

    def ttl_for(self, key: str) -> Optional[float]:
        """The storage lifetime of a session key: pending logins live ``pending_ttl``,
        everything else of the session its idle timeout (or max age)."""
        from ..auth._flow import PENDING_PREFIX

        if key.startswith((PENDING_PREFIX, _NEXT_PREFIX)):
            return self.pending_ttl or self._session_ttl()
        return self._session_ttl()

    def _session_ttl(self, created: Optional[float] = None) -> Optional[float]:
        s = self.settings
        ttl = s.session_idle_timeout or s.session_max_age
        if created is not None and s.session_max_age is not None:
            left = created + s.session_max_age - self._now()
            ttl = left if ttl is None else min(ttl, left)
        return None if ttl is None else max(ttl, 1.0)

    def _ended(self, meta: Any) -> bool:
        if not isinstance(meta, dict):
            return True
        created, seen = meta.get("created"), meta.get("seen")
        if not isinstance(created, (int, float)) or not isinstance(seen, (int, float)):
            return True
        if not (math.isfinite(created) and math.isfinite(seen)):
            return True
        now = self._now()
        s = self.settings
        if s.session_max_age is not None and now - float(created) >= s.session_max_age:
            return True
        return s.session_idle_timeout is not None and now - float(seen) >= s.session_idle_timeout

    # --- session binding -----------------------------------------------------------------

    def open(self, cookie_value: Optional[str]) -> RequestSession:
        """The request's session: the cookie's, if its signature holds and the session
        is alive; else a new one (not stored until something is written). Does storage
        I/O: async adapters call it in a thread."""
        session_id = self.settings.unsign(cookie_value)
        if session_id is None:
            return RequestSession(None)
        binding = self.oauth.session_storage(session_id)
        meta = binding.get(SESSION_META_KEY)
        if self._ended(meta):
            if meta is not None:  # ended by time: remove what is left of it now
                self.oauth.clear_session(session_id)
            session = RequestSession(None)
            session.stale_cookie = True
            return session
        return RequestSession(session_id, meta)

    def bind(self, session: RequestSession) -> contextvars.Token[Any]:
        session.binding, token = self.oauth.enter_session(session.session_id)
        return token

    def release(self, token: contextvars.Token[Any]) -> None:
        self.oauth.exit_session(token)

    def finish_needed(self, session: RequestSession) -> bool:
        """Whether :meth:`finish` has anything to write (no I/O: async adapters skip the
        thread hop for the many requests that change nothing)."""
        if session.ended:
            return False
        if session.rotated or session.pending is not None:
            return True
        if session.meta is None:
            return bool(getattr(session.binding, "written", False))
        seen = session.meta.get("seen")
        return not isinstance(seen, (int, float)) or self._now() - seen >= self.touch_interval

    def finish(self, session: RequestSession) -> None:
        """After the route: write or refresh the session record (and the TTL of the
        tokens). Does storage I/O: async adapters call it in a thread."""
        if not self.finish_needed(session):
            return
        written = bool(getattr(session.binding, "written", False))
        meta = session.meta
        now = self._now()
        if session.rotated or (meta is None and written):
            old = meta or {}
            meta = {
                "created": now,
                "seen": now,
                "auth": session.signed_in or bool(old.get("auth")),
                "pending": old.get("pending") or [],
            }
        elif meta is None:
            return  # a visitor without a session: nothing is stored for nothing
        elif session.pending is None and now - float(meta["seen"]) < self.touch_interval:
            return
        else:
            meta = {**meta, "seen": now}
        if session.pending is not None:
            meta["pending"] = session.pending
        meta["pending"] = self._live_pending(meta.get("pending"))
        binding = self.oauth.session_storage(session.session_id)
        if meta["auth"]:
            ttl = self._session_ttl(float(meta["created"]))
        else:  # only pending logins: the session lives as long as they do
            ttl = self.pending_ttl or self._session_ttl(float(meta["created"]))
        if ttl is None:
            binding.set(SESSION_META_KEY, meta)
            return
        binding.set_expiring(SESSION_META_KEY, meta, ttl)
        if meta["auth"]:
            binding.touch(self.oauth._tokens_key, ttl)

    def _live_pending(self, pending: Any) -> list[list[Any]]:
        ttl = self.pending_ttl
        now = self._now()
        items = [p for p in (pending or []) if isinstance(p, list) and len(p) == 2]
        return [p for p in items if ttl is None or now - float(p[1]) < ttl]

    def _remember_pending(self, session: RequestSession, state: str) -> None:
        """Keep the index of this browser's pending logins; past the bound the oldest
        one goes (with its ``next`` target)."""
        from ..auth._flow import pending_key

        if session.pending is not None:
            pending = session.pending
        else:
            pending = self._live_pending((session.meta or {}).get("pending"))
        pending.append([pending_key(state), self._now()])
        while len(pending) > self.settings.max_pending_logins:
            key, _ = pending.pop(0)
            session.binding.delete(key)
            session.binding.delete(_NEXT_PREFIX + key)
        session.pending = pending

    def _forget_pending(self, session: RequestSession, state: Optional[str]) -> None:
        from ..auth._flow import pending_key

        if not state or session.meta is None:
            return
        used = pending_key(state)
        session.pending = [p for p in session.meta.get("pending") or [] if p and p[0] != used]

    def secure(self, scheme: str, headers: Mapping[str, str]) -> bool:
        """Whether the cookie gets ``Secure`` (see :meth:`IntegrationSettings.secure_for`)."""
        if self.settings.trust_forwarded_proto:
            forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if forwarded in ("http", "https"):
                scheme = forwarded
        return self.settings.secure_for(scheme, self.oauth._redirect_uri)

    def cookie_change(
        self, session: RequestSession, scheme: str, headers: Mapping[str, str]
    ) -> Optional[tuple[str, str, bool]]:
        """``(action, value, secure)`` for frameworks with their own cookie API."""
        action = session.cookie_action()
        if action is None:
            return None
        value = self.settings.sign(session.session_id) if action == "set" else ""
        return action, value, self.secure(scheme, headers)

    def set_cookie_header(
        self, session: RequestSession, scheme: str, headers: Mapping[str, str]
    ) -> Optional[str]:
        change = self.cookie_change(session, scheme, headers)
        if change is None:
            return None
        action, value, secure = change
        return self.settings.cookie_header(value, secure=secure, delete=action == "delete")

    # routes (called with the session bound)
    def login(self, session: RequestSession, query: Mapping[str, str], *, register: bool) -> str:
        target = safe_redirect(query.get("next"), self.settings.allowed_redirects)
        options = {k: query[k] for k in _LOGIN_PASSTHROUGH if query.get(k)}
        url = self.oauth.register(**options) if register else self.oauth.login(**options)
        state = parse_qs(urlsplit(url).query).get("state", [""])[0]
        if state:
            from ..auth._flow import pending_key

            if target:
                session.binding.set(_NEXT_PREFIX + pending_key(state), target)
            self._remember_pending(session, state)
        return url

    def callback(self, session: RequestSession, query: Mapping[str, str]) -> Outcome:
        state = query.get("state")
        try:
            self.oauth.handle_redirect(
                query.get("code"),
                state,
                error=query.get("error"),
                error_description=query.get("error_description"),
                iss=query.get("iss"),
            )
        except Exception as exc:
            status, message = callback_error(exc)
            if status >= 500 and not isinstance(exc, KindeError):
                logger.exception("kinde callback failed")
            else:
                logger.info("kinde callback refused: %s", type(exc).__name__)
            return Outcome(status, html=error_page(status, message, self.settings.login_path))
        target = None
        if state:
            from ..auth._flow import pending_key

            key = _NEXT_PREFIX + pending_key(state)
            target = session.binding.get(key)
            session.binding.delete(key)
            self._forget_pending(session, state)
        target = safe_redirect(target, self.settings.allowed_redirects)
        old = session.session_id
        # A new id against session fixation; the other tabs' pending logins move along.
        self.oauth.move_session(old, session.rotate())
        session.signed_in = True
        return Outcome(302, location=target or self.settings.post_login_redirect)

    def logout(self, session: RequestSession) -> str:
        url = self.settings.post_logout_redirect
        if session.from_cookie and self.oauth.is_authenticated():
            try:
                url = self.oauth.logout()
            except KindeError as exc:  # provider down: the local session still ends
                logger.warning("kinde logout: %s", type(exc).__name__)
        if session.from_cookie:
            self.oauth.clear_session(session.session_id)
        session.end()
        return url

    # --- logout: POST, protected against CSRF ---------------------------------------------

    def logout_token(self, session: RequestSession) -> str:
        """The CSRF token of the logout form: bound to the session id, so another site
        can neither read nor forge it."""
        mac = hmac.new(
            self.settings.secret, _LOGOUT_LABEL + session.session_id.encode("ascii"), "sha256"
        )
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def same_origin(self, headers: Mapping[str, str], host: str) -> bool:
        """Did the browser say the request comes from this site? ``Sec-Fetch-Site``
        when sent (every current browser), else ``Origin`` against the Host or the
        redirect URI's origin. ``headers`` have lower-case names."""
        site = headers.get("sec-fetch-site")
        if site:
            return site.strip().lower() == "same-origin"
        origin = headers.get("origin", "").strip()
        if not origin or origin == "null":
            return False
        try:
            netloc = urlsplit(origin).netloc.lower()
        except ValueError:  # "http://[" and friends: not our origin, not a 500
            return False
        redirect = self.oauth._redirect_uri
        allowed = {host.strip().lower()}
        if redirect:
            allowed.add(urlsplit(redirect).netloc.lower())
        return bool(netloc) and netloc in allowed

    def logout_route(
        self,
        session: RequestSession,
        method: str,
        headers: Mapping[str, str],
        host: str,
        form: Mapping[str, str],
    ) -> Outcome:
        """``POST`` from this site (or with the form's token) signs out; a ``GET``
        signs out only when the browser says it came from this site (a link on the
        app's own pages), else it answers a confirmation page whose button POSTs.
        A link on another site can no longer sign a user out (SameSite=Lax cookies
        travel with cross-site top-level GETs)."""
        if not session.from_cookie:  # nothing to end
            return Outcome(303, location=self.settings.post_logout_redirect)
        if method.upper() == "POST":
            token = form.get(LOGOUT_TOKEN_FIELD, "")
            token_ok = (
                isinstance(token, str)
                and token.isascii()
                and hmac.compare_digest(token.encode("ascii"), self.logout_token(session).encode())
            )
            if not (token_ok or self.same_origin(headers, host)):
                message = "Sign-out refused: the request did not come from this site."
                return Outcome(403, html=error_page(403, message, self.settings.login_path))
            return Outcome(303, location=self.logout(session))
        if headers.get("sec-fetch-site", "").strip().lower() == "same-origin":
            return Outcome(302, location=self.logout(session))
        return Outcome(200, html=logout_page(self.settings.logout_path, self.logout_token(session)))

    def user(self) -> Optional[dict[str, Any]]:
        if not self.oauth.is_authenticated():
            return None
        return self.oauth.get_user_info()

    def authorize(
        self, *, permissions: Sequence[str] = (), roles: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The signed-in user's access-token claims, checked; AuthFailure(401) when no
        one is signed in, AuthFailure(403) when a permission or role is missing."""
        if not self.oauth.is_authenticated():
            raise AuthFailure(401, None, "sign-in required")
        try:
            claims = self.oauth._claims("access_token")
        except TokenError:  # refresh refused: the session has ended
            raise AuthFailure(401, None, "sign-in required") from None
        if not self.oauth.is_authenticated():
            raise AuthFailure(401, None, "sign-in required")
        check_authorization(claims, permissions=permissions, roles=roles)
        return claims

    def refusal(self, failure: AuthFailure, api: bool, path: str, query: str) -> Outcome:
        """Browser: 401 becomes a redirect to login; 403 a page. API: the status."""
        if not api and failure.status == 401:
            return Outcome(302, location=self.settings.login_redirect_for(path, query))
        return Outcome(
            failure.status,
            html=error_page(failure.status, failure.description, self.settings.login_path),
        )
