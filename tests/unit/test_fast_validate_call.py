"""fast_validate_call (openapi/templates/kinde_model.mustache): generated API methods skip
pydantic for plain keyword arguments and validate everything else exactly as before."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Optional

import pytest
from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError

from kinde_sdk_generated._kinde_model import fast_validate_call
from kinde_sdk_generated.models.update_user_request import UpdateUserRequest


class Api:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    @fast_validate_call
    def list_things(
        self,
        page_size: Annotated[Optional[StrictInt], Field(description="n")] = None,
        name: Annotated[Optional[StrictStr], Field(description="n")] = None,
        flag: Annotated[Optional[StrictBool], Field(description="n")] = None,
        since: Annotated[Optional[datetime], Field(description="n")] = None,
        body: Optional[UpdateUserRequest] = None,
        code: Annotated[StrictStr, Field(max_length=3)] = "abc",
        _host_index: Annotated[StrictInt, Field(ge=0, le=0)] = 0,
    ) -> str:
        self.seen.append(
            {"page_size": page_size, "name": name, "since": since, "code": code, "body": body}
        )
        return "ok"


@pytest.fixture
def api() -> Api:
    return Api()


def test_plain_keyword_arguments_pass_unchanged(api: Api) -> None:
    when = datetime(2024, 1, 1, tzinfo=timezone.utc)
    body = UpdateUserRequest(given_name="Ada")
    assert api.list_things(page_size=5, name="x", flag=True, since=when, body=body) == "ok"
    seen = api.seen[-1]
    assert seen["page_size"] == 5 and seen["since"] is when and seen["body"] is body


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_size": "5"},  # strict int
        {"page_size": True},  # a bool is not an int here
        {"name": 5},
        {"flag": "yes"},
        {"body": {"given_name": "Ada", "unknown": 1}},  # a dict with an unknown field
        {"code": "abcd"},  # a constraint
        {"_host_index": 1},
    ],
)
def test_everything_else_goes_through_pydantic(api: Api, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        api.list_things(**kwargs)
    assert api.seen == []


def test_conversions_pydantic_makes_still_happen(api: Api) -> None:
    api.list_things(since="2024-01-01T00:00:00Z", code="ab")  # type: ignore[arg-type]
    assert api.seen[-1]["since"] == datetime(2024, 1, 1, tzinfo=timezone.utc)
    api.list_things(body={"given_name": "Ada"})  # type: ignore[arg-type]
    assert isinstance(api.seen[-1]["body"], UpdateUserRequest)


def test_positional_arguments_are_validated(api: Api) -> None:
    with pytest.raises(ValidationError):
        api.list_things("5")  # type: ignore[arg-type]
    assert api.list_things(5) == "ok"


def test_an_unknown_keyword_is_a_type_error_naming_the_accepted_ones(api: Api) -> None:
    with pytest.raises(TypeError, match=r"'pagesize'.*accepted: page_size, name, flag"):
        api.list_things(pagesize=5)  # type: ignore[call-arg]
    assert api.seen == []
