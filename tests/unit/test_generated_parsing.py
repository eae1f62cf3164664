"""How the generated client turns a JSON response into a model.

Model responses are built with ``model_validate_json`` straight from the response text
(a template edit, openapi/template-edits.toml; ``json_model`` in the generated
``_kinde_model.py`` decides) instead of ``json.loads`` + ``from_dict``. These tests pin
what that must keep: Kinde's ``+11`` offsets parse, every response model of the spec comes
out the same as through ``from_dict``, and models whose ``from_dict`` does more than
validate keep it.
"""

from __future__ import annotations

import importlib
import inspect
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Dict, List, Literal, Optional

import pytest
from pydantic import BaseModel, Field, ValidationError

import kinde_sdk_generated.models as models
from kinde_sdk_generated._kinde_model import KindeModel, json_model
from kinde_sdk_generated.api_client import ApiClient
from kinde_sdk_generated.configuration import Configuration
from kinde_sdk_generated.models.users_response import UsersResponse
from tests._spec_examples import Operation, operations, resolve, sample

JSON = "application/json; charset=utf-8"


@pytest.fixture(scope="module")
def client() -> ApiClient:
    return ApiClient(Configuration(host="https://example.kinde.com"))


def users_page(last_signed_in: str) -> str:
    return json.dumps(
        {
            "code": "OK",
            "users": [
                {
                    "id": "kp_1",
                    "email": "ada@example.com",
                    "identities": [{"type": "email", "identity": "ada@example.com"}],
                    "last_organization_sign_ins": [
                        {"org_code": "org_1", "last_signed_in": last_signed_in}
                    ],
                }
            ],
        }
    )


def test_model_responses_take_the_one_pass_path() -> None:
    assert json_model("UsersResponse", models) is UsersResponse
    assert json_model("List[UsersResponse]", models) is None
    assert json_model("object", models) is None
    assert json_model("str", models) is None
    assert json_model("NoSuchModel", models) is None


@pytest.mark.parametrize(
    "text",
    ["2024-11-18T13:32:03+11", "2024-11-18T13:32:03+11:00", "2024-11-18T13:32:03.000+1100"],
)
def test_offsets_without_minutes_still_parse(client: ApiClient, text: str) -> None:
    page = client.deserialize(users_page(text), "UsersResponse", JSON)
    assert isinstance(page, UsersResponse)
    assert page.users is not None
    sign_in = page.users[0].last_organization_sign_ins
    assert sign_in is not None
    expected = datetime(2024, 11, 18, 13, 32, 3, tzinfo=timezone(timedelta(hours=11)))
    assert sign_in[0].last_signed_in == expected


def test_a_date_time_that_is_not_one_is_still_refused(client: ApiClient) -> None:
    with pytest.raises(ValidationError):
        client.deserialize(users_page("yesterday"), "UsersResponse", JSON)


def test_a_body_that_is_not_json_raises_value_error(client: ApiClient) -> None:
    with pytest.raises(ValueError):
        client.deserialize("{not json", "UsersResponse", JSON)


def test_fields_the_server_left_out_stay_unset(client: ApiClient) -> None:
    """to_dict() gives back what the server sent: an omitted nullable field (identities'
    connection_id) is not written back as null."""
    page = client.deserialize(users_page("2024-11-18T13:32:03Z"), "UsersResponse", JSON)
    assert page.model_fields_set == {"code", "users"}
    user = page.to_dict()["users"][0]
    assert user["identities"] == [{"type": "email", "identity": "ada@example.com"}]
    assert "users" in page and "next_token" not in page  # the README's mapping idioms
    assert page["users"][0].get("email") == "ada@example.com"


@pytest.mark.parametrize(
    "name",
    [
        # oneOf wrappers: their from_dict picks the branch
        "CreateConnectionRequestOptions",
        # an explicit null becomes the field's default in from_dict
        "CreateOrganizationInviteRequest",
        "ReplaceMFARequest",
        # nests a oneOf wrapper
        "CreateConnectionRequest",
    ],
)
def test_models_whose_from_dict_does_more_keep_it(name: str) -> None:
    assert json_model(name, models) is None


class _Plain(KindeModel):
    name: Optional[str] = None
    kind: Optional[Literal["a", "b"]] = None


class _NestsPlain(KindeModel):
    items: Optional[List[_Plain]] = None
    by_key: Optional[Dict[str, _Plain]] = None


class _Extra(KindeModel):
    additional_properties: Dict[str, Any] = Field(default_factory=dict)


class _Foreign(BaseModel):  # not a KindeModel: e.g. a oneOf wrapper
    value: Optional[int] = None


class _NestsForeign(KindeModel):
    foreign: Optional[List[_Foreign]] = None


class _NestsExtra(KindeModel):
    extra: Optional[_Extra] = None


class _Defaulted(KindeModel):
    flag: Optional[bool] = False


SYNTHETIC = SimpleNamespace(
    **{
        cls.__name__: cls
        for cls in (_Plain, _NestsPlain, _Extra, _Foreign, _NestsForeign, _NestsExtra, _Defaulted)
    }
)


@pytest.mark.parametrize(
    ("name", "direct"),
    [
        ("_Plain", True),
        ("_NestsPlain", True),
        ("_Extra", False),
        ("_Foreign", False),
        ("_NestsForeign", False),
        ("_NestsExtra", False),
        ("_Defaulted", False),
    ],
)
def test_the_one_pass_guard(name: str, direct: bool) -> None:
    assert (json_model(name, SYNTHETIC) is not None) is direct


def _declared_model(op: Operation) -> type[BaseModel]:
    module = importlib.import_module(f"kinde_sdk_generated.api.{op.module}")
    for _, cls in inspect.getmembers(module, inspect.isclass):
        method = getattr(cls, op.method_name, None)
        if method is not None and cls.__module__ == module.__name__:
            declared = inspect.signature(method).return_annotation
            assert inspect.isclass(declared) and issubclass(declared, BaseModel), op
            return declared
    raise AssertionError(f"{op}: no generated method {op.method_name}")


def _json_responses() -> list[tuple[Operation, Any]]:
    found = []
    for op in operations():
        _code, response = op.success_response
        content = (response.get("content") or {}).get("application/json")
        if content is None:
            continue
        body = content.get("example")
        if body is None:
            body = sample(resolve(content.get("schema") or {}))
        found.append((op, body))
    return found


RESPONSES = _json_responses()

# The spec's example for getEnvironment sends hotjar_site_id, a string, as a number.
EXAMPLES_THAT_BREAK_THE_SPEC = {"getEnvironment"}


def test_every_json_response_is_covered() -> None:
    assert len(RESPONSES) > 150


@pytest.mark.parametrize(("op", "body"), RESPONSES, ids=[op.operation_id for op, _ in RESPONSES])
def test_one_pass_parsing_builds_what_from_dict_builds(
    client: ApiClient, op: Operation, body: Any
) -> None:
    declared = _declared_model(op)
    assert json_model(declared.__name__, models) is declared, f"{op}: takes the slow path"
    text = json.dumps(body)
    if op.operation_id in EXAMPLES_THAT_BREAK_THE_SPEC:
        # Both refuse it; the SDK's lenient parser reads it (tests/integration/test_drift.py).
        with pytest.raises(ValidationError):
            client.deserialize(text, declared.__name__, JSON)
        return
    fast = client.deserialize(text, declared.__name__, JSON)
    slow = declared.from_dict(json.loads(text))  # type: ignore[attr-defined]
    assert type(fast) is declared
    assert fast.model_dump() == slow.model_dump()


def test_method_arguments_are_still_validated(client: ApiClient) -> None:
    """API methods build their argument validators on first call (defer_build), and
    still validate every call."""
    from kinde_sdk_generated.api.users_api import UsersApi

    api = UsersApi(client)
    with pytest.raises(ValidationError, match="page_size"):
        api.get_users(page_size="10")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="page_size"):
        api.get_users(page_size="ten")  # type: ignore[arg-type]
