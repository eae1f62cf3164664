"""Build a generated model from a JSON value that differs from the spec, losing nothing.

Only reached when the strict parse of a response failed (see
``kinde_sdk/management/_responses.py``; the Account API's checks use it too), so none
of this runs for a body that matches the spec. The walk follows the model's declared
fields and, at each level, first asks pydantic to validate the value strictly; only what
fails is handled here:

- a field the spec does not know is kept in the model's ``__pydantic_extra__`` (readable
  as an attribute, as ``obj["field"]`` and in ``to_dict()``);
- a scalar of the wrong type is coerced when that loses nothing (``"3"`` for an integer,
  ``404009`` for a string), else kept as sent; so is an enum value the spec does not list;
- a null or a missing "required" field reads as None;
- a nested object, list or map is walked the same way, item by item, so one drifted item
  does not cost the others their validation.

Each difference is logged once per model and field (``kinde_sdk.management`` logger, at
WARNING), never per item, and never with the value, which may be a secret.
"""

from __future__ import annotations

import logging
import re
import threading
import typing
from datetime import date, datetime
from typing import Any, Optional, Union

from pydantic import BaseModel, ValidationError

logger = logging.getLogger("kinde_sdk.management")

_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def warn_drift(owner: str, field: str, what: str) -> None:
    """Log ``what`` once for this model and field, for the life of the process."""
    key = (owner, field)
    if key in _warned:
        return
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(
        "Kinde API response differs from this kinde-sdk's API spec: %s.%s %s. The value was "
        "kept; further differences in this field are not logged.",
        owner,
        field,
        what,
    )


def reset_drift_warnings() -> None:
    """Forget which differences were logged (for tests)."""
    with _warned_lock:
        _warned.clear()


def lenient_value(annotation: Any, value: Any, owner: str, field: str) -> Any:
    """``value`` as ``annotation`` where it fits, else as sent (coerced if lossless)."""
    core, _ = _strip(annotation)
    if value is None:
        return None
    origin = typing.get_origin(core)
    if origin is list:
        (item_type,) = typing.get_args(core) or (Any,)
        if not isinstance(value, list):
            warn_drift(owner, field, f"is {_kind(value)}, the spec says a list")
            return value
        return [_item(item_type, v, owner, field) for v in value]
    if origin is dict:
        args = typing.get_args(core)
        item_type = args[1] if len(args) == 2 else Any
        if not isinstance(value, dict):
            warn_drift(owner, field, f"is {_kind(value)}, the spec says an object")
            return value
        return {k: _item(item_type, v, owner, field) for k, v in value.items()}
    if origin is Union:
        # Several non-null choices: the first model that accepts the value strictly, else
        # the first model built leniently from an object, else the value as sent.
        choices = [a for a in typing.get_args(core) if a is not type(None)]
        for choice in choices:
            if _is_model(choice) and isinstance(value, dict):
                try:
                    return choice.model_validate(value)
                except ValidationError:
                    continue
        for choice in choices:
            if _is_model(choice) and isinstance(value, dict):
                return lenient_value(choice, value, owner, field)
        return value
    if _is_model(core):
        if not isinstance(value, dict):
            warn_drift(owner, field, f"is {_kind(value)}, the spec says an object")
            return value
        if _is_kinde_model(core):
            return lenient_model(core, value)
        try:  # a oneOf/anyOf wrapper: its own from_dict, else as sent
            return core.from_dict(value)
        except (ValidationError, ValueError, TypeError, AttributeError):
            warn_drift(owner, field, "matches none of the spec's choices")
            return value
    return value


def _item(item_type: Any, value: Any, owner: str, field: str) -> Any:
    """One item of a list or map: strictly validated when it fits, else lenient."""
    core, _ = _strip(item_type)
    if _is_kinde_model(core) and isinstance(value, dict):
        try:
            return core.model_validate(value)
        except ValidationError:
            return lenient_model(core, value)
    coerced = _coerce(core, value)
    if coerced is not _KEEP:
        if coerced is not value:
            warn_drift(owner, field, f"has an item of {_kind(value)}, coerced losslessly")
        return coerced
    if _accepts(core, value):
        return value
    if typing.get_origin(core) in (list, dict, Union) or _is_model(core):
        return lenient_value(core, value, owner, field)
    warn_drift(owner, field, f"has an item of {_kind(value)} the spec does not allow")
    return value


def lenient_model(cls: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    """An instance of ``cls`` holding everything in ``data``."""
    validator = cls.__pydantic_validator__
    fields = cls.model_fields
    names = _field_names(cls)
    obj = cls.model_construct()
    owner = cls.__name__
    nullable: frozenset[str] = getattr(cls, "_kinde_nullable", frozenset())
    extras: dict[str, Any] = {}
    sent: set[str] = set()
    for key, raw in data.items():
        name = names.get(key)
        if name is None:
            extras[key] = raw
            warn_drift(owner, key, "is a field the spec does not have")
            continue
        sent.add(name)
        if raw is None and name not in nullable:
            warn_drift(owner, key, "is null, the spec does not allow null")
        try:
            validator.validate_assignment(obj, name, raw)
            continue
        except ValidationError as exc:
            problem = exc.errors(include_url=False, include_input=False)[0]["type"]
        obj.__dict__[name] = _lenient_field(obj, name, fields[name].annotation, raw, problem)
    for name, info in fields.items():
        if name not in sent and info.is_required():
            obj.__dict__[name] = None
            warn_drift(owner, info.alias or name, "is missing, the spec says it is required")
    object.__setattr__(obj, "__pydantic_fields_set__", sent)
    object.__setattr__(obj, "__pydantic_extra__", extras)
    return obj


def _lenient_field(obj: BaseModel, name: str, annotation: Any, raw: Any, problem: str) -> Any:
    owner = type(obj).__name__
    if raw is None:  # a null pydantic refused: the field is required (warned above)
        return None
    core, _ = _strip(annotation)
    if typing.get_origin(core) in (list, dict, Union) or _is_model(core):
        return lenient_value(core, raw, owner, name)
    coerced = _coerce(core, raw)
    if coerced is not _KEEP:
        try:
            type(obj).__pydantic_validator__.validate_assignment(obj, name, coerced)
        except ValidationError:
            pass
        else:
            warn_drift(owner, name, f"is {_kind(raw)}, the spec says {_type_name(core)} (coerced)")
            return obj.__dict__[name]
    if problem == "value_error":
        warn_drift(owner, name, "has a value the spec does not list")
    else:
        warn_drift(owner, name, f"is {_kind(raw)}, the spec says {_type_name(core)}")
    return raw


class _Keep:
    pass


_KEEP: Any = _Keep()


def _coerce(core: Any, value: Any) -> Any:
    """``value`` converted to the scalar type ``core`` when nothing is lost, else _KEEP."""
    if isinstance(value, bool) or value is None:
        return _KEEP
    if core is int:
        if isinstance(value, str) and _INTEGER.fullmatch(value) and str(int(value)) == value:
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif core is float:
        if isinstance(value, int):
            return float(value)
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            return float(value)
    elif core is str:
        if isinstance(value, (int, float)):
            return str(value)
    elif core is bool and value in ("true", "false"):
        return value == "true"
    return _KEEP


def _accepts(core: Any, value: Any) -> bool:
    if core is Any or core is object:
        return True
    if core is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if core is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if core in (str, bool):
        return type(value) is core
    if core in (datetime, date):
        return isinstance(value, (str, core))
    return isinstance(core, type) and isinstance(value, core)


def _strip(annotation: Any) -> tuple[Any, bool]:
    """(annotation without Annotated and Optional, whether None was allowed)."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin is Union:
            args = typing.get_args(annotation)
            rest = [a for a in args if a is not type(None)]
            nullable = nullable or len(rest) != len(args)
            if len(rest) == 1:
                annotation = rest[0]
                continue
            return Union[tuple(rest)], nullable
        return annotation, nullable


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_kinde_model(tp: Any) -> bool:
    # Generated models derive from kinde_sdk_generated._kinde_model.KindeModel; oneOf
    # wrappers derive from BaseModel directly and have no per-field JSON names.
    return _is_model(tp) and any(b.__name__ == "KindeModel" for b in tp.__mro__)


_names_cache: dict[type, dict[str, str]] = {}


def _field_names(cls: type[BaseModel]) -> dict[str, str]:
    """JSON name (alias, else the field name) -> field name."""
    names = _names_cache.get(cls)
    if names is None:
        names = {}
        for name, info in cls.model_fields.items():
            names[name] = name
            if info.alias:
                names[info.alias] = name
        _names_cache[cls] = names
    return names


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _type_name(core: Any) -> str:
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(
        core, getattr(core, "__name__", str(core))
    )


def describe_errors(exc: ValidationError, limit: Optional[int] = None) -> list[str]:
    """``loc: type`` for each problem pydantic found; never the input values."""
    out = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(part) for part in error.get("loc", ())) or "(body)"
        out.append(f"{loc}: {error['type']}")
        if limit is not None and len(out) >= limit:
            break
    return out


def summarize(problems: list[str], shown: int = 5) -> str:
    """The first ``shown`` problems for an error message (they never hold values)."""
    return "; ".join(problems[:shown]) + (" ..." if len(problems) > shown else "")


def null_problems(value: Any, loc: str = "") -> list[str]:
    """``loc: null`` for each explicit null in a strictly parsed result where the spec
    does not declare the field nullable (pydantic accepts them: every field the spec does
    not require is Optional). Only the strict mode pays for this walk."""
    found: list[str] = []
    if isinstance(value, BaseModel):
        nullable: frozenset[str] = getattr(type(value), "_kinde_nullable", frozenset())
        fields = type(value).model_fields
        for name in value.model_fields_set:
            item = getattr(value, name, None)
            info = fields.get(name)
            where = f"{loc}.{(info.alias if info else None) or name}".lstrip(".")
            if item is None:
                if name not in nullable:
                    found.append(f"{where}: null")
            else:
                found.extend(null_problems(item, where))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(null_problems(item, f"{loc}.{i}"))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(null_problems(item, f"{loc}.{key}"))
    return found
