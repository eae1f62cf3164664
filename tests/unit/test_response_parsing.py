"""parse_response: strict fast path, lenient fallback, strict mode, warnings (no network).

The loopback drift suite (tests/integration/test_drift.py) drives the same through the
client; these pin the rules on single bodies.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from pydantic import ValidationError

from kinde_sdk._lenient import lenient_model, reset_drift_warnings
from kinde_sdk.errors import ResponseValidationError
from kinde_sdk.management._responses import parse_response, response_type_for
from kinde_sdk_generated._kinde_model import KindeModel
from kinde_sdk_generated.models.get_application_response import GetApplicationResponse
from kinde_sdk_generated.models.users_response import UsersResponse

USERS = {"200": "UsersResponse", "400": "ErrorResponse"}


@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    reset_drift_warnings()


def body(data: Any) -> bytes:
    return json.dumps(data).encode()


def drift_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "kinde_sdk.management"]


def test_a_body_that_matches_the_spec_takes_the_strict_path() -> None:
    page = parse_response(body({"code": "OK", "users": [{"id": "kp_1"}]}), 200, USERS)
    assert isinstance(page, UsersResponse)
    assert page.__pydantic_extra__ is None  # built by pydantic, not by the fallback
    assert page.users is not None and page.users[0].id == "kp_1"


def test_the_declared_type_follows_the_status() -> None:
    assert response_type_for(200, USERS) == "UsersResponse"
    assert response_type_for(201, {"2XX": "A"}) == "A"
    assert response_type_for(204, {"200": "A", "default": "B"}) == "B"
    assert response_type_for(204, {"200": "A"}) is None
    assert parse_response(b"", 204, {"204": None}) is None


def test_unknown_fields_are_kept_as_attributes_items_and_in_to_dict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {
        "code": "OK",
        "new_top": [1, 2],
        "users": [{"id": "kp_1", "new_field": {"a": 1}}, {"id": "kp_2", "new_field": 7}],
    }
    page = parse_response(body(data), 200, USERS)
    assert isinstance(page, UsersResponse)
    assert page.new_top == [1, 2]  # type: ignore[attr-defined]
    assert page["new_top"] == [1, 2] and "new_top" in page
    assert page.users is not None
    assert page.users[0].new_field == {"a": 1}  # type: ignore[attr-defined]
    assert page.users[1]["new_field"] == 7
    assert page.to_dict() == data
    assert json.loads(page.to_json()) == data
    # One warning per model and field, never per item.
    messages = drift_warnings(caplog)
    assert len(messages) == 2
    assert any("UsersResponseUsersInner.new_field" in m for m in messages)
    assert any("UsersResponse.new_top" in m for m in messages)


def test_an_unknown_enum_value_is_kept() -> None:
    data = {"code": "OK", "application": {"id": "app_1", "type": "native"}}
    result = parse_response(body(data), 200, "GetApplicationResponse")
    assert isinstance(result, GetApplicationResponse)
    assert result.application is not None and result.application.type == "native"
    assert result.to_dict() == data


@pytest.mark.parametrize(
    ("sent", "read"),
    [("3", 3), ("03", "03"), ("three", "three"), (3.0, 3), (True, True)],
)
def test_a_string_for_an_integer_is_coerced_only_when_lossless(sent: Any, read: Any) -> None:
    data = {"users": [{"id": "kp_1", "total_sign_ins": sent}]}
    page = parse_response(body(data), 200, USERS)
    assert page.users[0].total_sign_ins == read
    assert type(page.users[0].total_sign_ins) is type(read)


def test_a_number_for_a_string_becomes_its_string(caplog: pytest.LogCaptureFixture) -> None:
    data = {"environment": {"code": "production", "hotjar_site_id": 404009}}
    env = parse_response(body(data), 200, "GetEnvironmentResponse")
    assert env.environment.hotjar_site_id == "404009"
    assert env.environment.code == "production"
    assert "GetEnvironmentResponseEnvironment.hotjar_site_id" in drift_warnings(caplog)[0]
    assert "404009" not in drift_warnings(caplog)[0]  # values never logged


def test_nested_drift_keeps_the_other_items_validated() -> None:
    data = {
        "users": [
            {
                "id": "kp_1",
                "last_organization_sign_ins": [{"last_signed_in": "2024-11-18T13:32:03+11"}],
            },
            {"id": "kp_2", "identities": [{"type": "email", "extra": True}], "billing": "gone"},
        ]
    }
    page = parse_response(body(data), 200, USERS)
    first, second = page.users
    assert first.__pydantic_extra__ is None  # validated strictly, date-time parsed
    assert first.last_organization_sign_ins[0].last_signed_in.utcoffset().total_seconds() == 39600
    assert second.identities[0].extra is True
    assert second.billing == "gone"  # not an object: kept as sent
    assert second.to_dict() == data["users"][1]


def test_nulls_are_read_as_none_and_reported_by_strict_mode() -> None:
    data = {"code": "OK", "users": [{"id": None, "total_sign_ins": None}]}
    page = parse_response(body(data), 200, USERS)
    assert page.users[0].id is None
    with pytest.raises(ResponseValidationError) as raised:
        parse_response(body(data), 200, USERS, strict=True)
    # total_sign_ins is nullable in the spec, id is not.
    assert raised.value.problems == ["users.0.id: null"]


class _Required(KindeModel):
    """The spec's response schemas declare no required fields today; a future one may."""

    id: str
    name: Optional[str] = None


def test_a_missing_required_field_reads_as_none(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValidationError):
        _Required.model_validate({"name": "x"})
    obj = lenient_model(_Required, {"name": "x"})
    assert isinstance(obj, _Required)
    assert obj.id is None and obj.name == "x"  # type: ignore[comparison-overlap]
    assert "_Required.id is missing" in drift_warnings(caplog)[0]


@pytest.mark.parametrize(
    "data",
    [
        {"users": [{"id": "kp_1", "new_field": 1}]},
        {"users": [{"id": "kp_1", "total_sign_ins": "3"}]},
        {"users": [{"id": 12}]},
        {"users": [{"id": None}]},
        {"users": "nope"},
        {"users": [{"identities": [{"type": 1}]}]},
    ],
)
def test_strict_mode_raises_a_typed_error_without_values(data: Any) -> None:
    parse_response(body(data), 200, USERS)  # lenient: no error
    with pytest.raises(ResponseValidationError) as raised:
        parse_response(body(data), 200, USERS, strict=True)
    error = raised.value
    assert error.status == 200 and error.response_type == "UsersResponse"
    assert error.problems
    assert "kp_1" not in str(error) and "nope" not in str(error)


def test_an_application_secret_never_reaches_the_log_or_the_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {"application": {"client_secret": 12345678987654321, "type": "native"}}
    parse_response(body(data), 200, "GetApplicationResponse")
    with pytest.raises(ResponseValidationError) as raised:
        parse_response(body(data), 200, "GetApplicationResponse", strict=True)
    assert "12345678987654321" not in str(raised.value) + repr(raised.value.problems)
    assert all("12345678987654321" not in m for m in drift_warnings(caplog))


def test_an_empty_or_non_json_body() -> None:
    assert parse_response(b"", 200, USERS) is None
    assert parse_response(b"<html>", 200, USERS) == "<html>"
    for raw in (b"", b"<html>"):
        with pytest.raises(ResponseValidationError):
            parse_response(raw, 200, USERS, strict=True)


def test_request_models_stay_strict() -> None:
    from kinde_sdk_generated.models.update_user_request import UpdateUserRequest

    with pytest.raises(TypeError, match="'surname'; accepted: family_name, given_name"):
        UpdateUserRequest(given_name="Ada", surname="Lovelace")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="extra"):
        UpdateUserRequest.model_validate({"given_name": "Ada", "surname": "Lovelace"})
    with pytest.raises(ValidationError):
        UpdateUserRequest(given_name=3)  # type: ignore[arg-type]


def test_assigning_to_a_lenient_model_keeps_its_unknown_fields() -> None:
    page = parse_response(body({"code": "OK", "new_top": 1}), 200, USERS)
    page.code = "CHANGED"
    assert page.new_top == 1  # type: ignore[attr-defined]
    assert page.to_dict() == {"code": "CHANGED", "new_top": 1}
    with pytest.raises(ValidationError):
        page.code = 5  # type: ignore[assignment]
