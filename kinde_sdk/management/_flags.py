"""Feature-flag results in the shape the Kinde SDK README iterates.

The spec addresses flags by key and has no flag resource model: creating or updating a
flag answers only ``{"code", "message"}``, and the environment's flags come back as a
``{key: {type, value}}`` mapping. These models give callers one flag shape, with the key
also exposed as ``id`` because the README passes ``new_flag.get("id")`` back to
``delete_feature_flag``.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from kinde_sdk_generated._kinde_model import KindeModel

from ..errors import KindeConfigurationError

# The README's names for flag types, and the spec's.
FLAG_TYPES = {
    "boolean": "bool",
    "bool": "bool",
    "string": "str",
    "str": "str",
    "integer": "int",
    "int": "int",
}


def spec_flag_type(value: str) -> str:
    try:
        return FLAG_TYPES[value.lower()]
    except (KeyError, AttributeError):
        allowed = ", ".join(sorted(FLAG_TYPES))
        raise KindeConfigurationError(
            f"unknown feature flag type {value!r}; use one of {allowed}"
        ) from None


def flag_value_to_string(value: Any, flag_type: str) -> str:
    """The spec sends every default value as a string: ``False`` -> ``"false"``."""
    if flag_type == "bool":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower()
        raise KindeConfigurationError(f"a bool flag needs True or False, got {value!r}")
    if flag_type == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise KindeConfigurationError(f"an int flag needs an integer, got {value!r}")
        try:
            return str(int(value))
        except ValueError:
            raise KindeConfigurationError(f"an int flag needs an integer, got {value!r}") from None
    return str(value)


def flag_definition(
    *,
    key: str,
    name: str,
    description: Optional[str],
    type: str,
    default_value: Any,
    allow_override_level: Optional[str],
) -> dict[str, Any]:
    """A flag's fields as the API takes them (spec type names, string default value)."""
    flag_type = spec_flag_type(type)
    return {
        "key": key,
        "name": name,
        "description": description,
        "type": flag_type,
        "default_value": flag_value_to_string(default_value, flag_type),
        "allow_override_level": allow_override_level,
    }


class FeatureFlag(KindeModel):
    """A feature flag, addressed by ``key`` (also readable as ``id``)."""

    key: str
    id: str
    name: Optional[str] = None
    description: Optional[str] = None
    type: Optional[str] = None
    default_value: Optional[str] = None
    value: Any = None
    allow_override_level: Optional[str] = None
    code: Optional[str] = Field(default=None, description="Response code of the API call.")
    message: Optional[str] = Field(default=None, description="Response message of the API call.")

    @classmethod
    def from_definition(cls, definition: dict[str, Any], response: Any) -> FeatureFlag:
        """The flag just written with ``definition``, and the API's answer to it."""
        return cls(
            id=definition["key"],
            code=getattr(response, "code", None),
            message=getattr(response, "message", None),
            **definition,
        )


class FeatureFlagList(KindeModel):
    """The environment's flags as a list (the spec sends a key -> setting mapping)."""

    code: Optional[str] = None
    message: Optional[str] = None
    feature_flags: list[FeatureFlag] = Field(default_factory=list)
    next_token: Optional[str] = None
