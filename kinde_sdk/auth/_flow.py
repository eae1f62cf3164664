"""The sans-I/O core of the OAuth 2.0 authorization-code flow (PKCE, state, nonce).

Nothing here does I/O or reads a clock of its own: callers pass the time in, send the
requests this module describes and hand back what came back. The sync shell
(:mod:`kinde_sdk.auth.oauth`) and the async shell (:mod:`kinde_sdk.auth.async_oauth`)
share all of it, with :mod:`kinde_sdk.auth._oauth_core`.

Pending logins: every call to ``login()``/``register()``/``create_org()`` is one
*attempt* with its own ``state``, ``nonce`` and PKCE ``code_verifier``, stored under its
own key (``pending_key(state)``), so two tabs logging in at once never overwrite each
other. A record is used at most once (the shell deletes it before the code exchange) and
expires ``pending_ttl`` seconds after creation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import urlencode, urlsplit

from ..errors import InvalidTokenError, KindeConfigurationError, TokenError

__all__ = [
    "DEFAULT_PENDING_TTL",
    "DEFAULT_SCOPES",
    "PENDING_PREFIX",
    "AuthorizationRequest",
    "PendingLogin",
    "StateError",
    "TokenSet",
    "authorization_code_form",
    "build_authorization_url",
    "check_nonce",
    "code_challenge_s256",
    "end_session_url",
    "new_code_verifier",
    "new_nonce",
    "new_state",
    "normalize_scopes",
    "parse_token_response",
    "pending_key",
    "refresh_token_form",
    "revocation_form",
    "start_login",
]

DEFAULT_SCOPES = ("openid", "profile", "email", "offline_access")
DEFAULT_PENDING_TTL = 600.0
PENDING_PREFIX = "kinde_oauth_pending:"

# Parameters the flow itself owns; an option may not override them.
_RESERVED = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)


class StateError(TokenError):
    """The ``state`` of a redirect is missing, unknown, already used or expired (a
    forged, replayed or stale callback). Never retry it: start a new login."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_code_verifier() -> str:
    """A PKCE code verifier: 64 random bytes, base64url (86 characters, RFC 7636 4.1)."""
    return _b64url(secrets.token_bytes(64))


def code_challenge_s256(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))`` (RFC 7636 4.2)."""
    if not 43 <= len(verifier) <= 128:
        raise ValueError("a PKCE code verifier must be 43 to 128 characters")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def pending_key(state: str) -> str:
    """The storage key of the pending login that issued ``state``."""
    return PENDING_PREFIX + hashlib.sha256(state.encode("utf-8")).hexdigest()


def normalize_scopes(scopes: Union[str, Sequence[str], None]) -> tuple[str, ...]:
    """A list or a space-separated string; None means the defaults. Order kept, no
    duplicates."""
    if scopes is None:
        return DEFAULT_SCOPES
    items = scopes.split() if isinstance(scopes, str) else [str(s).strip() for s in scopes]
    result: list[str] = []
    for item in items:
        if not item or any(c.isspace() for c in item):
            raise KindeConfigurationError("scopes must be non-empty words without spaces")
        if item not in result:
            result.append(item)
    if not result:
        raise KindeConfigurationError("scopes must not be empty")
    return tuple(result)


@dataclass(frozen=True)
class PendingLogin:
    """One login attempt, stored until its redirect comes back."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    created_at: float

    def __repr__(self) -> str:
        # The verifier and nonce are secrets of the attempt: never shown.
        return f"PendingLogin(redirect_uri={self.redirect_uri!r}, created_at={self.created_at!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "created_at": self.created_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> PendingLogin:
        if not isinstance(data, Mapping):
            raise StateError("the stored login attempt is corrupt; start a new login")
        try:
            record = cls(
                state=str(data["state"]),
                nonce=str(data["nonce"]),
                code_verifier=str(data["code_verifier"]),
                redirect_uri=str(data["redirect_uri"]),
                created_at=float(data["created_at"]),
            )
        except (KeyError, TypeError, ValueError):
            raise StateError("the stored login attempt is corrupt; start a new login") from None
        return record

    def check(self, state: str, now: float, ttl: float) -> None:
        """Raise StateError unless this record belongs to ``state`` and is fresh."""
        if not hmac.compare_digest(self.state.encode(), state.encode()):
            raise StateError("state does not match the login attempt")
        age = now - self.created_at
        if not math.isfinite(age) or age > ttl:
            raise StateError("the login attempt expired; start a new login")


@dataclass(frozen=True)
class AuthorizationRequest:
    """What ``start_login`` produced: the URL to send the user to and the record to keep."""

    url: str
    pending: PendingLogin

    def __repr__(self) -> str:
        return f"AuthorizationRequest(pending={self.pending!r})"


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def build_authorization_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    nonce: str,
    code_challenge: str,
    options: Optional[Mapping[str, Any]] = None,
) -> str:
    """The authorization URL: the flow's own parameters, then Kinde's (``org_code``,
    ``prompt``, ``audience``...) and any extra options. Options that are None are left
    out; booleans become ``true``/``false``; lists are space-joined. ``scope`` may be
    overridden by an option; the PKCE, state, nonce, client and redirect parameters may
    not."""
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    for name, value in (options or {}).items():
        if name in _RESERVED:
            raise KindeConfigurationError(f"the authorization parameter {name!r} is set by the SDK")
        if value is None:
            continue
        if name == "scope":
            value = " ".join(normalize_scopes(value))
        params[name] = _param_value(value)
    separator = "&" if urlsplit(authorization_endpoint).query else "?"
    return authorization_endpoint + separator + urlencode(params)


def start_login(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    now: float,
    options: Optional[Mapping[str, Any]] = None,
) -> AuthorizationRequest:
    """A new attempt: fresh state, nonce and PKCE verifier, and its authorization URL."""
    pending = PendingLogin(
        state=new_state(),
        nonce=new_nonce(),
        code_verifier=new_code_verifier(),
        redirect_uri=redirect_uri,
        created_at=now,
    )
    url = build_authorization_url(
        authorization_endpoint,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=code_challenge_s256(pending.code_verifier),
        options=options,
    )
    return AuthorizationRequest(url=url, pending=pending)


def authorization_code_form(
    *, code: str, pending: PendingLogin, client_id: str, client_secret: Optional[str]
) -> list[tuple[str, str]]:
    """The token request body (client_secret_post) for the code of ``pending``."""
    return [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", pending.redirect_uri),
        ("code_verifier", pending.code_verifier),
        ("client_id", client_id),
        *([("client_secret", client_secret)] if client_secret else []),
    ]


def refresh_token_form(
    *, refresh_token: str, client_id: str, client_secret: Optional[str]
) -> list[tuple[str, str]]:
    return [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
        *([("client_secret", client_secret)] if client_secret else []),
    ]


def revocation_form(
    *, token: str, token_type_hint: str, client_id: str, client_secret: Optional[str]
) -> list[tuple[str, str]]:
    return [
        ("token", token),
        ("token_type_hint", token_type_hint),
        ("client_id", client_id),
        *([("client_secret", client_secret)] if client_secret else []),
    ]


@dataclass(frozen=True)
class TokenSet:
    """A successful token response. ``expires_at`` is Unix time (None: not said)."""

    access_token: str
    token_type: str
    expires_at: Optional[float]
    refresh_token: Optional[str] = None
    id_token: Optional[str] = None
    scope: Optional[str] = None

    def __repr__(self) -> str:
        return (
            f"TokenSet(token_type={self.token_type!r}, expires_at={self.expires_at!r}, "
            f"has_refresh_token={self.refresh_token is not None}, "
            f"has_id_token={self.id_token is not None}, scope={self.scope!r})"
        )


def _short(text: Any, limit: int = 300) -> Optional[str]:
    if not isinstance(text, str):
        return None
    return text if len(text) <= limit else text[:limit] + "..."


def parse_token_response(status: int, body: bytes, *, now: float) -> TokenSet:
    """Turn a token endpoint response into a TokenSet, or raise TokenError carrying the
    OAuth ``error``/``error_description`` and the status. Messages never contain the
    response body beyond those two fields (a body could carry tokens)."""
    try:
        data: Any = json.loads(body) if body else None
    except ValueError:
        data = None
    if status != 200:
        if isinstance(data, Mapping) and isinstance(data.get("error"), str):
            raise TokenError(
                "the token endpoint refused the request",
                error=data["error"],
                error_description=_short(data.get("error_description")),
                status=status,
            )
        raise TokenError("the token endpoint answered with an error status", status=status)
    if not isinstance(data, Mapping):
        raise TokenError("the token endpoint answered with a body that is not JSON", status=status)
    access_token = data.get("access_token")
    token_type = data.get("token_type")
    if not isinstance(access_token, str) or not access_token:
        raise TokenError("the token response has no access_token", status=status)
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError("the token response's token_type is not Bearer", status=status)
    expires_in = data.get("expires_in")
    expires_at: Optional[float] = None
    if expires_in is not None:
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float, str)):
            raise TokenError("the token response's expires_in is not a number", status=status)
        try:
            seconds = float(expires_in)
        except ValueError:
            raise TokenError(
                "the token response's expires_in is not a number", status=status
            ) from None
        if not math.isfinite(seconds) or seconds < 0:
            raise TokenError("the token response's expires_in is invalid", status=status)
        expires_at = now + seconds
    optional: dict[str, Optional[str]] = {}
    for name in ("refresh_token", "id_token", "scope"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise TokenError(f"the token response's {name} is not a string", status=status)
        optional[name] = value or None
    return TokenSet(
        access_token=access_token,
        token_type=token_type,
        expires_at=expires_at,
        refresh_token=optional["refresh_token"],
        id_token=optional["id_token"],
        scope=optional["scope"],
    )


def check_nonce(claims: Mapping[str, Any], expected: str) -> None:
    """The ID token's ``nonce`` must be the attempt's (replay protection)."""
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        nonce.encode("utf-8"), expected.encode("utf-8")
    ):
        raise InvalidTokenError("the ID token's nonce does not match the login attempt")


def end_session_url(
    end_session_endpoint: str,
    *,
    client_id: str,
    post_logout_redirect_uri: Optional[str],
    id_token_hint: Optional[str],
) -> str:
    """RP-initiated logout URL. ``redirect`` is Kinde's name for the return URL,
    ``post_logout_redirect_uri`` the OpenID one; both are sent."""
    params: dict[str, str] = {"client_id": client_id}
    if id_token_hint:
        params["id_token_hint"] = id_token_hint
    if post_logout_redirect_uri:
        params["post_logout_redirect_uri"] = post_logout_redirect_uri
        params["redirect"] = post_logout_redirect_uri
    separator = "&" if urlsplit(end_session_endpoint).query else "?"
    return end_session_endpoint + separator + urlencode(params)
