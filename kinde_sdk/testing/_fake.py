"""``FakeKinde``: an in-process stand-in for a Kinde domain, for testing applications.

It serves, on ``http://127.0.0.1:<free port>`` (plain http is accepted by the SDK for
loopback hosts only), what the SDK and your app fetch from Kinde:

* ``/.well-known/openid-configuration``: OpenID discovery, with Kinde's endpoint paths;
* ``/.well-known/jwks.json``: the public keys (requests are counted: ``jwks_requests``);
* ``/oauth2/token``: ``client_credentials`` (M2M tokens, so ``ManagementClient`` can fetch
  its token here), ``authorization_code`` (with PKCE) and ``refresh_token``;
* ``/oauth2/auth``: an authorization endpoint that signs the configured test user in at
  once (no login page) and redirects back with a code;
* ``/oauth2/revoke`` and ``/logout``;
* the Account API (``/account_api/v1/...``, ``/oauth2/v2/user_profile``,
  ``/oauth2/introspect``), answered from the claims of the caller's token and the
  entitlements, plans and properties given when it was minted (see
  :mod:`kinde_sdk.testing._account`).

Tokens are minted directly by :meth:`FakeKinde.issue_access_token`,
:meth:`~FakeKinde.issue_id_token`, :meth:`~FakeKinde.issue_m2m_token` and
:meth:`~FakeKinde.issue_webhook`, with Kinde's claim shapes, and flags for deliberately
bad tokens (expired, wrong audience, signed by another key, not yet valid).

The server is a stdlib ``ThreadingHTTPServer`` in a daemon thread; no network beyond
loopback, no external process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Callable, Optional, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt

from . import _account
from ._account import (
    AccountData,
    EntitlementSpec,
    PlanSpec,
    entitlement_records,
    plan_records,
    property_records,
)
from ._claims import RoleSpec, feature_flag_claims, role_claims
from ._keys import SigningKey, new_signing_key, shared_key

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SCOPES",
    "DEFAULT_SUB",
    "WRONG_AUDIENCE",
    "FakeKinde",
    "FakeWebhook",
]

DEFAULT_CLIENT_ID = "kinde-test-client"
DEFAULT_AUDIENCE = "https://api.example.test"
WRONG_AUDIENCE = "https://wrong-audience.example.test"
DEFAULT_SUB = "kp_test"
DEFAULT_SCOPES = ("openid", "profile", "email", "offline")
# How far in the past/future the deliberately bad tokens are: far beyond any leeway.
BAD_TIME_OFFSET = 3600

AUTHORIZATION_PATH = "/oauth2/auth"
TOKEN_PATH = "/oauth2/token"
REVOCATION_PATH = "/oauth2/revoke"
END_SESSION_PATH = "/logout"
USERINFO_PATH = "/oauth2/v2/user_profile"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
_CODE_TTL = 600.0


@dataclass(frozen=True)
class FakeWebhook:
    """A webhook delivery made by :meth:`FakeKinde.make_webhook`."""

    body: str
    """The request body: the signed JWT."""
    event_id: str
    headers: dict[str, str]
    """The request headers Kinde sends (``Content-Type: application/jwt``, ``webhook-id``)."""
    claims: dict[str, Any]
    """The event as signed (for assertions)."""

    def __str__(self) -> str:
        return self.body


@dataclass(frozen=True)
class _Grant:
    """What an authorization code (or refresh token) stands for."""

    client_id: str
    redirect_uri: str
    code_challenge: Optional[str]
    nonce: Optional[str]
    scopes: tuple[str, ...]
    audience: Optional[str]
    user: Mapping[str, Any]
    issued_at: float


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


_USER_FIELDS = frozenset(
    {
        "sub",
        "email",
        "given_name",
        "family_name",
        "picture",
        "org_codes",
        "permissions",
        "roles",
        "org_code",
        "feature_flags",
        "access_claims",
        "id_claims",
        "entitlements",
        "plans",
        "properties",
    }
)


def _check_user(user: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(user) - _USER_FIELDS
    if unknown:
        raise TypeError(f"unknown test-user field(s) {sorted(unknown)}; use {sorted(_USER_FIELDS)}")
    return dict(user)


class FakeKinde:
    """An in-process fake Kinde domain: OpenID discovery, JWKS, token endpoint, and a
    token factory with Kinde's claim shapes. Use it as a context manager, or call
    :meth:`start` and :meth:`stop`::

        with FakeKinde() as kinde:
            validator = TokenValidator(kinde.domain, audience=kinde.audience)
            claims = validator.verify(kinde.issue_access_token(permissions=["read:users"]))

    ``client_id``/``client_secret`` are the one application registered with the fake
    (the ID-token audience, and the credentials its token endpoint accepts);
    ``audience`` is the default audience of access tokens (your API's audience).
    ``clock`` (Unix time) dates the tokens; the server keeps running on real time.
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: Optional[str] = None,
        audience: str = DEFAULT_AUDIENCE,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.audience = audience
        self._host = host
        self._port = port
        self._clock = clock
        self._lock = threading.Lock()
        self._key: SigningKey = shared_key("current")
        self._retired: list[SigningKey] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._codes: dict[str, _Grant] = {}
        self._refresh_tokens: dict[str, _Grant] = {}
        self._counts: dict[str, int] = {}
        # The Account API's view of each minted access token (by jti), revoked access
        # tokens (jti), and each user's profile (by sub) from their last ID token.
        self._account_data: dict[str, AccountData] = {}
        self._revoked: set[str] = set()
        self._profiles: dict[str, dict[str, Any]] = {}
        self.login_user: dict[str, Any] = {}
        """The user that ``GET /oauth2/auth`` signs in (the fields of :meth:`authorize`)."""

    def __repr__(self) -> str:
        where = self._origin() if self._server is not None else "not started"
        return f"FakeKinde({where}, client_id={self.client_id!r})"

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeKinde:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread. Returns self."""
        if self._server is not None:
            return self
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="FakeKinde", kwargs={"poll_interval": 0.05}
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (tokens already minted stay valid for
        validators that cached the keys)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeKinde:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------

    def _origin(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("FakeKinde is not started: use `with FakeKinde() as kinde:`")
        host, port = server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The origin, ``http://127.0.0.1:<port>``."""
        return self._origin()

    @property
    def domain(self) -> str:
        """What to pass as ``domain=``/``host=`` to the SDK (the same as :attr:`url`)."""
        return self._origin()

    @property
    def issuer(self) -> str:
        """The ``iss`` of every token (the origin, as for a Kinde domain)."""
        return self._origin()

    @property
    def jwks_url(self) -> str:
        return self._origin() + JWKS_PATH

    @property
    def token_endpoint(self) -> str:
        return self._origin() + TOKEN_PATH

    @property
    def authorization_endpoint(self) -> str:
        return self._origin() + AUTHORIZATION_PATH

    def openid_configuration(self) -> dict[str, Any]:
        """The discovery document served at ``/.well-known/openid-configuration``."""
        origin = self._origin()
        return {
            "issuer": origin,
            "authorization_endpoint": origin + AUTHORIZATION_PATH,
            "token_endpoint": origin + TOKEN_PATH,
            "userinfo_endpoint": origin + USERINFO_PATH,
            "jwks_uri": origin + JWKS_PATH,
            "end_session_endpoint": origin + END_SESSION_PATH,
            "revocation_endpoint": origin + REVOCATION_PATH,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": list(DEFAULT_SCOPES),
            "claims_supported": [
                "sub",
                "email",
                "email_verified",
                "given_name",
                "family_name",
                "name",
                "picture",
                "org_codes",
            ],
        }

    # --- keys ------------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The ``kid`` of the key that signs new tokens."""
        return self._key.kid

    def jwks(self) -> dict[str, Any]:
        """The JWKS served: the current key, then the retired ones still published."""
        with self._lock:
            keys = [self._key, *self._retired]
        return {"keys": [dict(key.public_jwk) for key in keys]}

    def rotate_key(self, *, keep_old: bool = True) -> str:
        """Sign new tokens with a freshly generated key and return its ``kid``.

        With ``keep_old`` the previous key stays in the JWKS (as during a real rotation,
        so tokens it signed still verify); without it, it is dropped at once.
        """
        key = new_signing_key()
        with self._lock:
            old = self._key
            self._key = key
            self._retired = [old, *self._retired] if keep_old else []
        return key.kid

    # --- counters --------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + 1

    def request_count(self, path: str) -> int:
        """How many requests were made to ``path`` (e.g. ``"/.well-known/jwks.json"``)."""
        with self._lock:
            return self._counts.get(path, 0)

    @property
    def jwks_requests(self) -> int:
        """How many times the JWKS was fetched (to assert a validator's caching)."""
        return self.request_count(JWKS_PATH)

    @property
    def discovery_requests(self) -> int:
        return self.request_count(DISCOVERY_PATH)

    @property
    def token_requests(self) -> int:
        return self.request_count(TOKEN_PATH)

    def reset(self) -> None:
        """Zero the request counters and forget issued codes and refresh tokens (keys,
        settings and :attr:`login_user` are kept)."""
        with self._lock:
            self._counts.clear()
            self._codes.clear()
            self._refresh_tokens.clear()
            self._account_data.clear()
            self._revoked.clear()
            self._profiles.clear()

    def _snapshot(self) -> tuple[SigningKey, list[SigningKey], dict[str, Any]]:
        """The state a test may change (keys, login user), for :meth:`_restore`."""
        with self._lock:
            return self._key, list(self._retired), dict(self.login_user)

    def _restore(self, state: tuple[SigningKey, list[SigningKey], dict[str, Any]]) -> None:
        with self._lock:
            self._key, self._retired, self.login_user = state[0], list(state[1]), dict(state[2])

    # --- minting ---------------------------------------------------------------------

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        signed_by_other_key: bool = False,
        headers: Optional[Mapping[str, Any]] = None,
    ) -> str:
        """Sign ``claims`` as they are (RS256, the current ``kid``). With
        ``signed_by_other_key`` the header names the current ``kid`` but the signature
        is made with a key the JWKS does not have (InvalidSignatureError)."""
        with self._lock:
            key = self._key
        signer = shared_key("other") if signed_by_other_key else key
        header = {"kid": key.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(dict(claims), signer.private_key, algorithm="RS256", headers=header)

    def _times(self, expires_in: float, *, expired: bool, not_yet_valid: bool) -> dict[str, int]:
        now = int(self._clock())
        if expired:
            exp = now - BAD_TIME_OFFSET
            return {"iat": exp - int(expires_in), "exp": exp}
        times = {"iat": now, "exp": now + int(expires_in)}
        if not_yet_valid:
            times["nbf"] = now + BAD_TIME_OFFSET
        return times

    def issue_access_token(
        self,
        sub: Optional[str] = DEFAULT_SUB,
        *,
        permissions: Iterable[str] = (),
        roles: Optional[Iterable[RoleSpec]] = None,
        org_code: Optional[str] = None,
        feature_flags: Optional[Mapping[str, Any]] = None,
        entitlements: Optional[EntitlementSpec] = None,
        plans: Optional[PlanSpec] = None,
        properties: Optional[Mapping[str, Any]] = None,
        audience: Union[str, Sequence[str], None] = None,
        expires_in: float = 3600,
        scopes: Optional[Iterable[str]] = None,
        extra_claims: Optional[Mapping[str, Any]] = None,
        expired: bool = False,
        wrong_audience: bool = False,
        signed_by_other_key: bool = False,
        not_yet_valid: bool = False,
    ) -> str:
        """A Kinde-shaped user access token (RS256 JWT).

        Claims: ``iss``, ``sub``, ``aud`` (a list: ``audience``, else :attr:`audience`),
        ``azp`` (the client id), ``iat``, ``exp``, ``jti``, ``scp`` (``scopes``, else
        openid profile email offline), ``permissions`` (list), ``roles`` (keys become
        ``{"id", "key", "name"}``), ``org_code`` and ``feature_flags`` (plain values
        become ``{"t": "b"|"i"|"s", "v": value}``) when given; ``extra_claims`` last,
        overriding any of them (a None value removes the claim).

        The Account API of the fake answers for this token from these claims, and
        from ``entitlements`` (feature key -> maximum, e.g. ``{"seats": 10,
        "reports": None}``, or a list of entitlement dicts), ``plans`` (plan keys) and
        ``properties`` (key -> str/bool/int), which Kinde keeps outside the token.

        Bad tokens: ``expired`` (``exp`` an hour ago), ``not_yet_valid`` (``nbf`` in an
        hour), ``wrong_audience`` (``aud`` is :data:`WRONG_AUDIENCE`),
        ``signed_by_other_key`` (a signature the JWKS cannot verify).
        """
        if isinstance(permissions, str):
            raise TypeError("permissions must be a list of permission keys, not a string")
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self._audience(audience, self.audience, wrong_audience),
            "azp": self.client_id,
            **self._times(expires_in, expired=expired, not_yet_valid=not_yet_valid),
            "jti": str(uuid.uuid4()),
            "scp": list(DEFAULT_SCOPES if scopes is None else scopes),
            "permissions": list(permissions),
        }
        if sub is None:
            del claims["sub"]
        if roles is not None:
            claims["roles"] = role_claims(roles)
        if org_code is not None:
            claims["org_code"] = org_code
        if feature_flags is not None:
            claims["feature_flags"] = feature_flag_claims(feature_flags)
        account = AccountData(
            entitlements=entitlement_records(entitlements),
            plans=plan_records(plans),
            properties=property_records(properties),
        )
        claims = _merge(claims, extra_claims)
        with self._lock:
            self._account_data[str(claims.get("jti"))] = account
        return self.sign(claims, signed_by_other_key=signed_by_other_key)

    def issue_id_token(
        self,
        sub: str = DEFAULT_SUB,
        *,
        email: Optional[str] = "test@example.com",
        given_name: Optional[str] = "Test",
        family_name: Optional[str] = "User",
        picture: Optional[str] = None,
        org_codes: Optional[Iterable[str]] = None,
        nonce: Optional[str] = None,
        audience: Union[str, Sequence[str], None] = None,
        expires_in: float = 3600,
        extra_claims: Optional[Mapping[str, Any]] = None,
        expired: bool = False,
        wrong_audience: bool = False,
        signed_by_other_key: bool = False,
        not_yet_valid: bool = False,
    ) -> str:
        """A Kinde-shaped ID token: audience ``[client_id]`` unless ``audience`` is given,
        profile claims (``email``, ``email_verified``, ``given_name``, ``family_name``,
        ``name``, ``picture``), ``org_codes`` and ``nonce`` when given. The bad-token
        flags work as for :meth:`issue_access_token`."""
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": self._audience(audience, self.client_id, wrong_audience),
            "azp": self.client_id,
            **self._times(expires_in, expired=expired, not_yet_valid=not_yet_valid),
            "auth_time": now,
            "jti": str(uuid.uuid4()),
        }
        if email is not None:
            claims["email"] = email
            claims["email_verified"] = True
        if given_name is not None:
            claims["given_name"] = given_name
        if family_name is not None:
            claims["family_name"] = family_name
        name = " ".join(part for part in (given_name, family_name) if part)
        if name:
            claims["name"] = name
        if picture is not None:
            claims["picture"] = picture
        if org_codes is not None:
            if isinstance(org_codes, str):
                raise TypeError("org_codes must be a list of organization codes")
            claims["org_codes"] = list(org_codes)
        if nonce is not None:
            claims["nonce"] = nonce
        profile_fields = ("email", "email_verified", "given_name", "family_name", "name", "picture")
        with self._lock:
            self._profiles[sub] = {k: claims[k] for k in profile_fields if k in claims}
        return self.sign(_merge(claims, extra_claims), signed_by_other_key=signed_by_other_key)

    def issue_m2m_token(
        self,
        client_id: Optional[str] = None,
        *,
        audience: Union[str, Sequence[str], None] = None,
        scopes: Iterable[str] = (),
        expires_in: float = 3600,
        extra_claims: Optional[Mapping[str, Any]] = None,
    ) -> str:
        """A machine-to-machine (client credentials) access token, as Kinde issues them:
        ``gty: ["client_credentials"]``, ``azp`` the client, ``aud`` by default
        ``{origin}/api`` (the Management API's audience), ``scp`` the scopes."""
        client = client_id or self.client_id
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"{client}@clients",
            "aud": self._audience(audience, self.url + "/api", False),
            "azp": client,
            "gty": ["client_credentials"],
            **self._times(expires_in, expired=False, not_yet_valid=False),
            "jti": str(uuid.uuid4()),
            "scp": list(scopes),
        }
        return self.sign(_merge(claims, extra_claims))

    def issue_webhook(
        self,
        event_type: str,
        data: Mapping[str, Any],
        *,
        signed_by_other_key: bool = False,
        extra_claims: Optional[Mapping[str, Any]] = None,
    ) -> str:
        """A webhook request body as Kinde sends it: a JWT whose claims are the event
        (``type``, ``data``, ``event_id``, ``source``, ``timestamp``), signed with the
        current key; verify it with ``TokenValidator.decode_webhook``."""
        claims = self._webhook_claims(event_type, data, extra_claims)
        return self.sign(claims, signed_by_other_key=signed_by_other_key)

    def _webhook_claims(
        self,
        event_type: str,
        data: Mapping[str, Any],
        extra_claims: Optional[Mapping[str, Any]],
        issued_at: Optional[float] = None,
    ) -> dict[str, Any]:
        when = self._clock() if issued_at is None else issued_at
        stamp = datetime.fromtimestamp(when, tz=timezone.utc).isoformat()
        claims: dict[str, Any] = {
            "type": event_type,
            "data": dict(data),
            "event_id": "event_" + uuid.uuid4().hex,
            "event_timestamp": stamp,
            "source": "admin",
            "timestamp": stamp,
            "iat": int(when),
        }
        return _merge(claims, extra_claims)

    def make_webhook(
        self,
        event_type: str,
        data: Optional[Mapping[str, Any]] = None,
        *,
        event_id: Optional[str] = None,
        age: float = 0.0,
        signed_by_other_key: bool = False,
        extra_claims: Optional[Mapping[str, Any]] = None,
    ) -> FakeWebhook:
        """A webhook delivery as Kinde POSTs it: ``body`` (the signed JWT of the event,
        as :meth:`issue_webhook` makes it), ``headers`` (``Content-Type:
        application/jwt`` and a ``webhook-id``) and the ``event_id``. Post it to your
        webhook route: ``client.post("/webhooks/kinde", content=hook.body,
        headers=hook.headers)``. ``event_id`` fixes the id (to test redeliveries);
        ``age`` back-dates the event by that many seconds (to test the tolerance)."""
        extra = dict(extra_claims or {})
        if event_id is not None:
            extra.setdefault("event_id", event_id)
        claims = self._webhook_claims(event_type, data or {}, extra, self._clock() - age)
        body = self.sign(claims, signed_by_other_key=signed_by_other_key)
        return FakeWebhook(
            body=body,
            event_id=str(claims.get("event_id")),
            headers={
                "Content-Type": "application/jwt",
                "webhook-id": "wh_msg_" + uuid.uuid4().hex,
            },
            claims=claims,
        )

    @staticmethod
    def _audience(
        audience: Union[str, Sequence[str], None], default: str, wrong: bool
    ) -> list[str]:
        if wrong:
            return [WRONG_AUDIENCE]
        if audience is None:
            return [default]
        return [audience] if isinstance(audience, str) else list(audience)

    # --- the login hook ------------------------------------------------------------------

    def authorize(self, authorization_url: str, **user: Any) -> str:
        """Sign a test user in, as the authorization endpoint would after a successful
        login, and return the URL Kinde would redirect the browser to:
        ``{redirect_uri}?code=...&state=...``.

        ``authorization_url`` is the URL your app redirected to (``OAuth.login()``, or
        the ``Location`` of your login route's response); its ``client_id``,
        ``redirect_uri``, ``state``, ``nonce``, PKCE challenge, scopes and ``audience``
        are honoured exactly as Kinde would. The user fields are those of
        :meth:`issue_access_token` and :meth:`issue_id_token`: ``sub``, ``email``,
        ``given_name``, ``family_name``, ``picture``, ``org_codes``, ``permissions``,
        ``roles``, ``org_code``, ``feature_flags``, plus ``access_claims``/``id_claims``
        (extra claims for either token) and ``entitlements``, ``plans``, ``properties``
        (what the fake's Account API answers for the user's tokens). Without fields,
        :attr:`login_user` is used.

        Opening the returned URL with your app's test client (or passing its ``code``
        and ``state`` to ``OAuth.handle_redirect``) completes a real login: the app
        exchanges the code at this fake's token endpoint and verifies the tokens.
        """
        parts = urlsplit(authorization_url)
        params = dict(parse_qsl(parts.query))
        try:
            return self._authorize(params, _check_user(user or self.login_user))
        except _OAuthError as exc:
            raise ValueError(f"FakeKinde cannot authorize: {exc.description}") from None

    def login(self, oauth: Any, **user: Any) -> Any:
        """Log ``oauth`` (a :class:`kinde_sdk.auth.OAuth` pointed at this fake) in as a
        test user through the real authorization-code flow: ``oauth.login()``,
        :meth:`authorize`, ``oauth.handle_redirect(...)``. Returns what
        ``handle_redirect`` returns (the user info)."""
        callback = self.authorize(oauth.login(), **user)
        query = dict(parse_qsl(urlsplit(callback).query))
        return oauth.handle_redirect(code=query.get("code"), state=query.get("state"))

    def _authorize(self, params: Mapping[str, str], user: Mapping[str, Any]) -> str:
        if params.get("response_type", "code") != "code":
            raise _OAuthError("unsupported_response_type", "only response_type=code")
        if params.get("client_id") != self.client_id:
            raise _OAuthError(
                "invalid_client",
                f"client_id {params.get('client_id')!r} is not {self.client_id!r}",
            )
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            raise _OAuthError("invalid_request", "the authorization request has no redirect_uri")
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method", "plain") != "S256":
            raise _OAuthError("invalid_request", "only the S256 PKCE method is supported")
        code = secrets.token_urlsafe(24)
        grant = _Grant(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            code_challenge=challenge,
            nonce=params.get("nonce"),
            scopes=tuple(params.get("scope", " ".join(DEFAULT_SCOPES)).split()),
            audience=params.get("audience"),
            user=dict(user),
            issued_at=self._clock(),
        )
        with self._lock:
            self._codes[code] = grant
        answer = {"code": code}
        if "state" in params:
            answer["state"] = params["state"]
        answer["iss"] = self.issuer
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return redirect_uri + separator + urlencode(answer)

    # --- the token endpoint ------------------------------------------------------------

    def _client_from(self, form: Mapping[str, str], authorization: Optional[str]) -> str:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise _OAuthError("invalid_client", "bad Basic credentials", 401) from None
            client_id, _, secret = decoded.partition(":")
        if client_id != self.client_id:
            raise _OAuthError("invalid_client", "unknown client", 401)
        if secret is not None and not hmac.compare_digest(secret, self.client_secret):
            raise _OAuthError("invalid_client", "wrong client secret", 401)
        return client_id

    def _token(self, form: Mapping[str, str], authorization: Optional[str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        client_id = self._client_from(form, authorization)
        if grant_type == "client_credentials":
            if "client_secret" not in form and not authorization:
                raise _OAuthError("invalid_client", "client_credentials needs the secret", 401)
            scopes = form.get("scope", "").split()
            audience = form.get("audience") or None
            token = self.issue_m2m_token(client_id, audience=audience, scopes=scopes)
            return {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": 3600,
                "scope": " ".join(scopes),
            }
        if grant_type == "authorization_code":
            with self._lock:
                grant = self._codes.pop(form.get("code", ""), None)
            if grant is None or self._clock() - grant.issued_at > _CODE_TTL:
                raise _OAuthError("invalid_grant", "unknown, used or expired code")
            if form.get("redirect_uri") != grant.redirect_uri:
                raise _OAuthError("invalid_grant", "redirect_uri does not match")
            if grant.code_challenge is not None:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
                if not hmac.compare_digest(computed, grant.code_challenge):
                    raise _OAuthError("invalid_grant", "PKCE verification failed")
            return self._user_tokens(grant, with_nonce=True)
        if grant_type == "refresh_token":
            with self._lock:
                grant = self._refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant is None:
                raise _OAuthError("invalid_grant", "unknown or revoked refresh token")
            return self._user_tokens(grant, with_nonce=False)
        raise _OAuthError("unsupported_grant_type", f"grant_type {grant_type!r}")

    def _user_tokens(self, grant: _Grant, *, with_nonce: bool) -> dict[str, Any]:
        user = grant.user
        sub = user.get("sub", DEFAULT_SUB)
        access = self.issue_access_token(
            sub,
            permissions=user.get("permissions", ()),
            roles=user.get("roles"),
            org_code=user.get("org_code"),
            feature_flags=user.get("feature_flags"),
            entitlements=user.get("entitlements"),
            plans=user.get("plans"),
            properties=user.get("properties"),
            audience=grant.audience,
            scopes=grant.scopes,
            extra_claims=user.get("access_claims"),
        )
        id_fields = {
            name: user[name]
            for name in ("email", "given_name", "family_name", "picture", "org_codes")
            if name in user
        }
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": " ".join(grant.scopes),
        }
        if "openid" in grant.scopes:
            answer["id_token"] = self.issue_id_token(
                sub,
                nonce=grant.nonce if with_nonce else None,
                extra_claims=user.get("id_claims"),
                **id_fields,
            )
        if "offline" in grant.scopes or "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh_tokens[refresh] = grant
            answer["refresh_token"] = refresh
        return answer

    def _revoke(self, form: Mapping[str, str]) -> None:
        token = form.get("token", "")
        jti = None
        if token.count(".") == 2:  # an access token (JWT): revoked by its jti
            try:
                jti = jwt.decode(token, options={"verify_signature": False}).get("jti")
            except jwt.InvalidTokenError:
                jti = None
        with self._lock:
            self._refresh_tokens.pop(token, None)
            if isinstance(jti, str):
                self._revoked.add(jti)

    def _account_answer(
        self, method: str, path: str, query: str, form: Mapping[str, str], authorization: Any
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            keys = [self._key, *self._retired]
            revoked = set(self._revoked)
            data = dict(self._account_data)
            profiles = dict(self._profiles)
        return _account.answer(
            method,
            path,
            query,
            form,
            authorization,
            keys=keys,
            revoked=revoked,
            data_for=data,
            profiles=profiles,
            origin=self._origin(),
            now=self._clock(),
        )


def _merge(claims: dict[str, Any], extra: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    for name, value in (extra or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _handler_for(fake: FakeKinde) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "FakeKinde/1"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: test output is not the place for an access log

        def _send(
            self, status: int, body: Any = None, headers: Optional[Mapping[str, str]] = None
        ) -> None:
            data = b"" if body is None else json.dumps(body).encode("utf-8")
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            return dict(parse_qsl(raw.decode("utf-8", "replace")))

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            fake._count(parts.path)
            if parts.path == DISCOVERY_PATH:
                self._send(200, fake.openid_configuration())
            elif parts.path == JWKS_PATH:
                self._send(200, fake.jwks())
            elif parts.path == AUTHORIZATION_PATH:
                try:
                    location = fake._authorize(dict(parse_qsl(parts.query)), fake.login_user)
                except _OAuthError as exc:
                    self._send(400, {"error": exc.error, "error_description": exc.description})
                else:
                    self._send(302, headers={"Location": location})
            elif parts.path.startswith(_account.ACCOUNT_PREFIX) or parts.path == USERINFO_PATH:
                status, body = fake._account_answer(
                    "GET", parts.path, parts.query, {}, self.headers.get("Authorization")
                )
                self._send(status, body)
            elif parts.path == END_SESSION_PATH:
                query = dict(parse_qsl(parts.query))
                target = query.get("redirect") or query.get("post_logout_redirect_uri")
                if target:
                    self._send(302, headers={"Location": target})
                else:
                    self._send(200, {"logged_out": True})
            else:
                self._send(404, {"error": "not_found"})

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            fake._count(parts.path)
            form = self._form()
            if parts.path == TOKEN_PATH:
                try:
                    answer = fake._token(form, self.headers.get("Authorization"))
                except _OAuthError as exc:
                    body = {"error": exc.error, "error_description": exc.description}
                    self._send(exc.status, body)
                else:
                    self._send(200, answer)
            elif parts.path == REVOCATION_PATH:
                fake._revoke(form)
                self._send(200)
            elif parts.path == _account.INTROSPECT_PATH:
                status, body = fake._account_answer(
                    "POST", parts.path, parts.query, form, self.headers.get("Authorization")
                )
                self._send(status, body)
            else:
                self._send(404, {"error": "not_found"})

    return Handler
