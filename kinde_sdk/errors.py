"""The one exception tree of the SDK.

Every error the SDK raises derives from :class:`KindeError`. Messages never contain
secrets: no client secret, token, code verifier or request body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InvalidAlgorithmError",
    "InvalidAudienceError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "InvalidTokenError",
    "InvalidWebhookError",
    "JWKSFetchError",
    "KindeAPIError",
    "KindeConfigurationError",
    "KindeConnectionError",
    "KindeError",
    "KindeTimeoutError",
    "MalformedTokenError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ServerError",
    "StorageError",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "UnknownKeyError",
    "api_error_from_response",
]


class KindeError(Exception):
    """Base class of every error raised by kinde_sdk."""


class KindeConfigurationError(KindeError, ValueError):
    """A setting is missing or invalid (raised at construction, never mid-request)."""


class KindeConnectionError(KindeError):
    """The server could not be reached, or the connection broke, after any retries."""

    def __init__(self, message: str, *, url: Optional[str] = None) -> None:
        super().__init__(message)
        self.url = url


class KindeTimeoutError(KindeConnectionError):
    """A connect or read timeout, or the total deadline, was exceeded."""


class ResponseTooLargeError(KindeConnectionError):
    """A response body was larger than the cap for its kind of endpoint (see
    :class:`kinde_sdk.ResponseLimits`). The body was not read past the cap.

    ``limit`` is the cap in bytes. A connection error, as the response cannot be used:
    the JWKS cache, discovery and token requests treat it as they treat an unreachable
    server."""

    def __init__(self, message: str, *, url: Optional[str] = None, limit: int = 0) -> None:
        super().__init__(message, url=url)
        self.limit = limit


class StorageError(KindeError):
    """A storage backend failed: unreadable or corrupt data, I/O or server errors, or a
    value that cannot be stored. Messages name the key or location, never the value."""


class TokenError(KindeError):
    """An OAuth token endpoint refused or failed to issue a token.

    ``error`` and ``error_description`` are the OAuth 2.0 error fields when the endpoint
    sent them (RFC 6749 section 5.2), ``status`` the HTTP status when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        error: Optional[str] = None,
        error_description: Optional[str] = None,
        status: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.error_description = error_description
        self.status = status

    def __str__(self) -> str:
        parts = [self.args[0] if self.args else "token request failed"]
        if self.error:
            parts.append(f"error={self.error}")
        if self.error_description:
            parts.append(f"error_description={self.error_description}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return " ".join(parts)


class KindeAPIError(KindeError):
    """The Management API answered with an error status.

    ``code`` and ``message`` come from Kinde's error body
    (``{"errors": [{"code": ..., "message": ...}]}``) when it has one; ``errors`` holds
    every entry. ``body`` is the raw response body, ``request_id`` the id to quote to
    Kinde support.
    """

    status: int

    def __init__(
        self,
        status: int,
        code: Optional[str] = None,
        message: Optional[str] = None,
        request_id: Optional[str] = None,
        body: Any = None,
        *,
        errors: Optional[list[dict[str, Any]]] = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.body = body
        self.errors = errors or []
        self.method = method
        self.url = url
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"HTTP {self.status}"
        if self.method and self.url:
            text = f"{self.method} {self.url}: {text}"
        if self.code:
            text += f" {self.code}"
        if self.message:
            text += f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(KindeAPIError):
    """400 or 422: the request was malformed or failed validation."""


class AuthenticationError(KindeAPIError):
    """401: the access token was missing, invalid or expired."""


class PermissionDeniedError(KindeAPIError):
    """403: the token lacks a scope or permission for this operation."""


class NotFoundError(KindeAPIError):
    """404: the resource does not exist."""


class ConflictError(KindeAPIError):
    """409: the resource already exists or is in a conflicting state."""


class RateLimitError(KindeAPIError):
    """429: throttled. ``retry_after`` is the server's hint in seconds, if it gave one."""

    def __init__(self, *args: Any, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class ServerError(KindeAPIError):
    """5xx: Kinde failed to handle the request."""


class ResponseValidationError(KindeError):
    """A successful response's body differs from the API spec the SDK was built from,
    and the client was made with ``strict_responses=True``.

    Without strict mode the SDK keeps such a body as sent instead (and logs one warning
    per model and field). ``problems`` lists where and how the body differs (for example
    ``users.0.total_sign_ins: int_type``); values are never included, since a response
    may carry secrets such as an application's client secret.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        response_type: Optional[str] = None,
        problems: Optional[list[str]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.response_type = response_type
        self.problems = problems or []


_BY_STATUS: dict[int, type[KindeAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def _parse_error_body(raw: bytes) -> tuple[Any, list[dict[str, Any]]]:
    """Return (body, error entries). Kinde's shape is ``{"errors": [{code, message}]}``;
    some endpoints send a single ``{"code", "message"}`` or OAuth's ``error`` fields."""
    if not raw:
        return None, []
    try:
        body: Any = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace"), []
    if not isinstance(body, dict):
        return body, []
    entries = body.get("errors")
    if isinstance(entries, list):
        return body, [e for e in entries if isinstance(e, dict)]
    if isinstance(entries, dict):
        return body, [entries]
    if "code" in body or "message" in body:
        return body, [body]
    if "error" in body:
        return body, [{"code": body.get("error"), "message": body.get("error_description")}]
    return body, []


def api_error_from_response(
    status: int,
    raw_body: bytes,
    headers: Mapping[str, str],
    *,
    request_id: Optional[str] = None,
    method: Optional[str] = None,
    url: Optional[str] = None,
    retry_after: Optional[float] = None,
) -> KindeAPIError:
    """Build the typed error for an HTTP error response."""
    body, entries = _parse_error_body(raw_body)
    first = entries[0] if entries else {}
    code = first.get("code")
    message = first.get("message")
    kwargs: dict[str, Any] = {
        "errors": entries,
        "method": method,
        "url": url,
    }
    args = (
        status,
        str(code) if code is not None else None,
        str(message) if message is not None else None,
        request_id,
        body,
    )
    if status == 429:
        return RateLimitError(*args, retry_after=retry_after, **kwargs)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else KindeAPIError
    return cls(*args, **kwargs)


# --- Token verification -------------------------------------------------------------
# A token that fails verification is the caller's problem (answer 401); keys that cannot
# be fetched are the server's (answer 503). So JWKSFetchError is not an InvalidTokenError.


class InvalidTokenError(KindeError):
    """A JWT failed verification. Subclasses say why; messages never contain the token."""


class MalformedTokenError(InvalidTokenError):
    """The token is not a well-formed JWS/JWT (segments, base64url, JSON, claim types)."""


class InvalidAlgorithmError(InvalidTokenError):
    """The token's ``alg`` is not allowed (``none``, any ``HS*``, or not configured),
    or does not match the algorithm of the key its ``kid`` names."""


class InvalidSignatureError(InvalidTokenError):
    """The signature does not match the token under the key its ``kid`` names."""


class UnknownKeyError(InvalidTokenError):
    """No key in the JWKS can verify the token: its ``kid`` is not there even after the
    allowed refetch, or it has no ``kid`` and more than one key could apply."""


class InvalidIssuerError(InvalidTokenError):
    """The ``iss`` claim is missing or is not the expected issuer."""


class InvalidAudienceError(InvalidTokenError):
    """An audience is configured and the ``aud`` claim is missing or does not contain it."""


class TokenExpiredError(InvalidTokenError):
    """The ``exp`` claim is in the past (beyond the allowed leeway)."""


class TokenNotYetValidError(InvalidTokenError):
    """The ``nbf`` claim is in the future (beyond the allowed leeway)."""


class InvalidWebhookError(InvalidTokenError):
    """A webhook body is signed by the domain's keys but is not a fresh Kinde webhook
    event: no event ``type`` or ``event_id``, issued outside the freshness tolerance, or
    an access or ID token posted as a webhook."""


class JWKSFetchError(KindeError):
    """The JSON Web Key Set could not be fetched or parsed, and no cached keys can stand in.

    ``url`` is the JWKS URL (no query string), ``status`` the HTTP status when the server
    answered.
    """

    def __init__(
        self, message: str, *, url: Optional[str] = None, status: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
