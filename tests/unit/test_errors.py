"""The exception tree and the parsing of Kinde's error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kinde_sdk.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    KindeAPIError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    KindeTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenError,
    api_error_from_response,
)


def kinde_body(code: str, message: str, *more: tuple[str, str]) -> bytes:
    entries = [{"code": code, "message": message}]
    entries += [{"code": c, "message": m} for c, m in more]
    return json.dumps({"errors": entries}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (422, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (402, KindeAPIError),
        (405, KindeAPIError),
        (410, KindeAPIError),
        (418, KindeAPIError),
    ],
)
def test_class_per_status(status: int, cls: type[KindeAPIError]) -> None:
    error = api_error_from_response(status, kinde_body("SOME_CODE", "Some message"), {})

    assert type(error) is cls
    assert isinstance(error, KindeAPIError)
    assert isinstance(error, KindeError)
    assert error.status == status
    assert error.code == "SOME_CODE"
    assert error.message == "Some message"


def test_attributes_from_a_kinde_error_body() -> None:
    raw = kinde_body(
        "USER_NOT_FOUND",
        "No user with this id",
        ("INVALID_ID", "The id is malformed"),
    )

    error = api_error_from_response(
        404,
        raw,
        {"Content-Type": "application/json"},
        request_id="req-123",
        method="GET",
        url="https://acme.kinde.com/api/v1/user",
    )

    assert isinstance(error, NotFoundError)
    assert error.code == "USER_NOT_FOUND"
    assert error.message == "No user with this id"
    assert error.request_id == "req-123"
    assert error.body == json.loads(raw)
    assert error.errors == [
        {"code": "USER_NOT_FOUND", "message": "No user with this id"},
        {"code": "INVALID_ID", "message": "The id is malformed"},
    ]
    assert error.method == "GET"
    assert error.url == "https://acme.kinde.com/api/v1/user"
    assert str(error) == (
        "GET https://acme.kinde.com/api/v1/user: HTTP 404 USER_NOT_FOUND: "
        "No user with this id (request id req-123)"
    )
    assert repr(error) == (
        "NotFoundError(status=404, code='USER_NOT_FOUND', "
        "message='No user with this id', request_id='req-123')"
    )


def test_message_without_method_or_request_id() -> None:
    error = api_error_from_response(409, kinde_body("ALREADY_EXISTS", "Taken"), {})

    assert str(error) == "HTTP 409 ALREADY_EXISTS: Taken"
    assert error.request_id is None


def test_rate_limit_error_carries_retry_after() -> None:
    error = api_error_from_response(
        429, kinde_body("TOO_MANY_REQUESTS", "Slow down"), {"Retry-After": "12"}, retry_after=12.0
    )

    assert isinstance(error, RateLimitError)
    assert error.retry_after == 12.0
    assert error.code == "TOO_MANY_REQUESTS"


def test_rate_limit_error_without_a_hint() -> None:
    error = api_error_from_response(429, b"", {})

    assert isinstance(error, RateLimitError)
    assert error.retry_after is None


def test_retry_after_is_only_on_rate_limit_errors() -> None:
    error = api_error_from_response(503, b"", {}, retry_after=5.0)

    assert isinstance(error, ServerError)
    assert not hasattr(error, "retry_after")


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        (b"upstream connect error", "upstream connect error"),
        (b"\xff\xfe not utf-8", "\ufffd\ufffd not utf-8"),
        (b"{truncated", "{truncated"),
    ],
)
def test_non_json_bodies(raw: bytes, body: str) -> None:
    error = api_error_from_response(502, raw, {"Content-Type": "text/html"}, request_id="r-1")

    assert isinstance(error, ServerError)
    assert error.body == body
    assert error.code is None
    assert error.message is None
    assert error.errors == []
    assert str(error) == "HTTP 502 (request id r-1)"


def test_empty_body() -> None:
    error = api_error_from_response(500, b"", {})

    assert isinstance(error, ServerError)
    assert error.body is None
    assert error.code is None
    assert str(error) == "HTTP 500"


@pytest.mark.parametrize(
    ("payload", "code", "message"),
    [
        # A single error object instead of a list.
        ({"errors": {"code": "ONE", "message": "single"}}, "ONE", "single"),
        # Top-level code/message, as some endpoints send.
        ({"code": "ROUTE_NOT_FOUND", "message": "Not here"}, "ROUTE_NOT_FOUND", "Not here"),
        # OAuth's error fields.
        ({"error": "invalid_token", "error_description": "expired"}, "invalid_token", "expired"),
        # Entries that are not objects are skipped.
        ({"errors": ["oops", {"code": "REAL", "message": "m"}]}, "REAL", "m"),
        # Non-string values are stringified.
        ({"errors": [{"code": 1234, "message": 5}]}, "1234", "5"),
        # Entries without the fields.
        ({"errors": [{"detail": "x"}]}, None, None),
        ({"errors": []}, None, None),
        ({"errors": "flat string"}, None, None),
        ({"unrelated": True}, None, None),
    ],
)
def test_body_shapes(payload: dict[str, Any], code: str | None, message: str | None) -> None:
    error = api_error_from_response(400, json.dumps(payload).encode(), {})

    assert isinstance(error, BadRequestError)
    assert error.code == code
    assert error.message == message
    assert error.body == payload


@pytest.mark.parametrize("payload", [[1, 2], "text", 42, None])
def test_json_that_is_not_an_object(payload: Any) -> None:
    error = api_error_from_response(400, json.dumps(payload).encode(), {})

    assert error.body == payload
    assert error.code is None
    assert error.errors == []


def test_api_errors_can_be_caught_by_family() -> None:
    error = api_error_from_response(403, kinde_body("FORBIDDEN", "No scope"), {})

    with pytest.raises(KindeAPIError) as info:
        raise error
    assert info.value is error


def test_exception_tree() -> None:
    assert issubclass(KindeConfigurationError, KindeError)
    assert issubclass(KindeConfigurationError, ValueError)
    assert issubclass(KindeTimeoutError, KindeConnectionError)
    assert issubclass(KindeConnectionError, KindeError)
    assert issubclass(TokenError, KindeError)
    assert not issubclass(TokenError, KindeAPIError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        RateLimitError,
        ServerError,
    ):
        assert issubclass(cls, KindeAPIError)


def test_connection_error_carries_the_url() -> None:
    error = KindeTimeoutError(
        "GET https://acme.kinde.com/x timed out", url="https://acme.kinde.com/x"
    )

    assert error.url == "https://acme.kinde.com/x"
    assert str(error) == "GET https://acme.kinde.com/x timed out"


def test_token_error_fields_and_message() -> None:
    error = TokenError(
        "the token endpoint refused the request",
        error="invalid_client",
        error_description="Client authentication failed",
        status=401,
    )

    assert error.error == "invalid_client"
    assert error.error_description == "Client authentication failed"
    assert error.status == 401
    assert str(error) == (
        "the token endpoint refused the request error=invalid_client "
        "error_description=Client authentication failed status=401"
    )


def test_token_error_without_oauth_fields() -> None:
    error = TokenError("the token endpoint failed", status=500)

    assert error.error is None
    assert error.error_description is None
    assert str(error) == "the token endpoint failed status=500"
    assert str(TokenError("plain")) == "plain"
