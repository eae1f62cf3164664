"""The one way a Management API response body becomes its typed result.

:func:`parse_response` takes the raw bytes, the status and the declared response type
(the generated method's ``_response_types_map``, or one type name such as
``"UsersResponse"``) and returns the typed result. Sync and async clients both call it,
so parsing, leniency and strictness live here once; only sending differs.

Fast path first: the generated model validates the bytes in one pass inside pydantic-core
(``model_validate_json``), strictly (unknown fields, wrong types, unknown enum values,
missing required fields all fail it). A body that matches the spec never runs anything
else. When the strict parse fails:

- ``strict=True`` raises :class:`~kinde_sdk.errors.ResponseValidationError` (the SDK's
  own tests against Prism use it, so that SDK bugs surface);
- otherwise the body is built leniently by :mod:`kinde_sdk._lenient`, which keeps every value and
  field the server sent and logs one warning per model and field.

Error statuses are not handled here: the client raises
:func:`~kinde_sdk.errors.api_error_from_response` for them before parsing.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Optional, Union

from pydantic import TypeAdapter, ValidationError

from .._lenient import (
    _is_kinde_model,
    _is_model,
    describe_errors,
    lenient_value,
    null_problems,
    summarize,
    warn_drift,
)
from ..errors import ResponseValidationError

__all__ = ["parse_response", "response_type_for"]

MODELS_MODULE = "kinde_sdk_generated.models"

ResponseTypes = Union[Mapping[str, Optional[str]], str, None]

_NATIVE: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "date": date,
    "datetime": datetime,
    "object": object,
    "decimal": float,
}


def response_type_for(status: int, response_types: ResponseTypes) -> Optional[str]:
    """The declared type for ``status``: exact status, then ``2XX``, then ``default``."""
    if response_types is None or isinstance(response_types, str):
        return response_types
    key = str(status)
    if key in response_types:
        return response_types[key]
    wildcard = f"{key[0]}XX"
    if wildcard in response_types:
        return response_types[wildcard]
    return response_types.get("default")


def parse_response(
    body: bytes,
    status: int,
    response_types: ResponseTypes,
    *,
    strict: bool = False,
    content_type: Optional[str] = None,
) -> Any:
    """The typed result of a successful (2xx) response.

    ``response_types`` is the generated ``_response_types_map`` or a type name; a
    response without a declared type (``None``) returns None.
    """
    response_type = response_type_for(status, response_types)
    if response_type is None:
        return None
    if response_type in ("bytearray", "bytes", "file"):
        return body
    target = _target(response_type)
    if response_type == "str" and content_type and content_type.startswith("text/"):
        return body.decode(_charset(content_type))
    if not body or (body[:1].isspace() and not body.strip()):
        return _drifted(
            response_type, status, strict, ["(body): empty"], None, "is empty, the spec says JSON"
        )
    try:
        result = target.validate_json(body)
    except ValidationError as exc:
        return _drifted(response_type, status, strict, describe_errors(exc), body, None)
    if strict:
        nulls = null_problems(result)
        if nulls:
            _drifted(response_type, status, strict, nulls, body, None)
    return result


def _drifted(
    response_type: str,
    status: int,
    strict: bool,
    problems: list[str],
    body: Optional[bytes],
    what: Optional[str],
) -> Any:
    if strict:
        raise ResponseValidationError(
            f"the {response_type} response (HTTP {status}) differs from the API spec: "
            f"{summarize(problems)}",
            status=status,
            response_type=response_type,
            problems=problems,
        )
    if body is None:
        warn_drift(response_type, "(body)", what or "differs from the spec")
        return None
    try:
        data = json.loads(body)
    except ValueError:
        warn_drift(response_type, "(body)", "is not JSON; returned as text")
        return body.decode("utf-8", "replace")
    return lenient_value(_annotation(response_type), data, response_type, "(body)")


class _Target:
    """How to validate one declared type from JSON bytes, strictly."""

    __slots__ = ("validate_json",)

    validate_json: Callable[[bytes], Any]

    def __init__(self, annotation: Any) -> None:
        if _is_kinde_model(annotation):
            self.validate_json = annotation.model_validate_json
        elif _is_model(annotation):
            # a oneOf/anyOf wrapper validates through its own from_json
            self.validate_json = _wrapper_from_json(annotation)
        else:
            self.validate_json = TypeAdapter(annotation).validate_json


def _wrapper_from_json(cls: Any) -> Any:
    def validate(body: bytes) -> Any:
        try:
            return cls.from_json(body.decode("utf-8"))
        except ValidationError:
            raise
        except (ValueError, TypeError) as exc:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [{"type": "value_error", "loc": (), "input": None, "ctx": {"error": exc}}],
            ) from None

    return validate


_targets: dict[str, _Target] = {}
_annotations: dict[str, Any] = {}
_lock = threading.Lock()


def _target(response_type: str) -> _Target:
    target = _targets.get(response_type)
    if target is None:
        with _lock:
            target = _targets.get(response_type)
            if target is None:
                target = _Target(_annotation(response_type))
                _targets[response_type] = target
    return target


def _annotation(type_name: str) -> Any:
    """``"List[User]"``, ``"Dict[str, Flag]"``, ``"UsersResponse"`` -> a real type."""
    found = _annotations.get(type_name)
    if found is not None:
        return found
    text = type_name.strip()
    annotation: Any
    if text.startswith("Optional[") and text.endswith("]"):
        annotation = Optional[_annotation(text[9:-1])]
    elif text.startswith("List[") and text.endswith("]"):
        annotation = list[_annotation(text[5:-1])]  # type: ignore[misc]
    elif text.startswith("Dict[") and text.endswith("]"):
        _, value = text[5:-1].split(",", 1)
        annotation = dict[str, _annotation(value)]  # type: ignore[misc]
    elif text in _NATIVE:
        annotation = _NATIVE[text]
    else:
        annotation = getattr(importlib.import_module(MODELS_MODULE), text)
    _annotations[type_name] = annotation
    return annotation


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return "utf-8"
