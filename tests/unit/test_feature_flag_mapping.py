"""The README's feature-flag arguments, translated to what the spec accepts."""

from __future__ import annotations

import pytest

from kinde_sdk.errors import KindeConfigurationError
from kinde_sdk.management._flags import (
    FeatureFlag,
    flag_definition,
    flag_value_to_string,
    spec_flag_type,
)


@pytest.mark.parametrize(
    ("readme", "spec"),
    [("boolean", "bool"), ("bool", "bool"), ("String", "str"), ("integer", "int"), ("int", "int")],
)
def test_type_names(readme: str, spec: str) -> None:
    assert spec_flag_type(readme) == spec


@pytest.mark.parametrize(
    ("value", "flag_type", "wire"),
    [
        (False, "bool", "false"),
        (True, "bool", "true"),
        ("TRUE", "bool", "true"),
        (5, "int", "5"),
        ("42", "int", "42"),
        ("dark", "str", "dark"),
    ],
)
def test_default_values_are_sent_as_strings(value: object, flag_type: str, wire: str) -> None:
    assert flag_value_to_string(value, flag_type) == wire


@pytest.mark.parametrize(
    ("value", "flag_type"),
    [("yes", "bool"), (1, "bool"), (True, "int"), (1.5, "int"), ("five", "int")],
)
def test_values_of_the_wrong_type_are_refused(value: object, flag_type: str) -> None:
    with pytest.raises(KindeConfigurationError):
        flag_value_to_string(value, flag_type)


def test_unknown_type_is_a_configuration_error() -> None:
    with pytest.raises(KindeConfigurationError, match="unknown feature flag type 'float'"):
        spec_flag_type("float")


def test_definition_and_result_expose_the_key_as_id() -> None:
    definition = flag_definition(
        key="dark_mode",
        name="Dark mode",
        description=None,
        type="boolean",
        default_value=False,
        allow_override_level=None,
    )
    assert definition["type"] == "bool" and definition["default_value"] == "false"
    flag = FeatureFlag.from_definition(definition, None)
    assert flag.get("id") == flag["key"] == "dark_mode"
    assert "code" not in flag  # no response, no status code
