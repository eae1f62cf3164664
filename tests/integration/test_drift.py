"""When the API changes before the SDK does: drifted bodies from a loopback Kinde.

A small loopback server answers the token endpoint and every ``/api/`` request with the
body the current case sets: the spec's example of a GET operation's response, drifted one
way. One operation per API is sampled (the GET whose example has the most to drift), and
for each kind of drift found in its example:

- ``unknown_field``: a field the spec does not have, at the top and nested;
- ``unknown_enum``: an enum value the spec does not list;
- ``number_for_string`` / ``string_for_number``: ``424242`` for a string, ``"7"`` for an
  integer;
- ``null``: null where the spec does not allow it;
- ``missing``: a field left out (the spec's response schemas require none, so this is not
  drift for strict mode either; it must read as None);
- ``nested``: an unknown field and a number for a string in the deepest object.

The lenient client (the default) must return the declared model with every value kept
(coerced where lossless) and one warning per model and field; the strict client
(``strict_responses=True``) must raise ``ResponseValidationError`` naming the place.
"""

from __future__ import annotations

import copy
import inspect
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from kinde_sdk._lenient import reset_drift_warnings
from kinde_sdk.errors import ResponseValidationError
from kinde_sdk.management import ManagementClient
from tests._loopback import LoopbackKinde
from tests._spec_examples import Operation, operations, resolve, sample
from tests.integration.test_all_operations import (
    EXAMPLES_THAT_BREAK_THE_SPEC,
    _arguments,
    _canonical,
    _find_method,
)

UNKNOWN = "kinde_field_from_the_future"
UNKNOWN_VALUE = {"since": "2027", "tags": ["a", 1, None]}
NEW_ENUM = "value_from_the_future"
Path = tuple[Any, ...]


# -- the loopback server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackKinde]:
    with LoopbackKinde() as srv:
        yield srv


def _serve(server: LoopbackKinde, body: Any) -> None:
    data = json.dumps(body).encode()
    server.answer = lambda method, path, query: data


def _client(server: LoopbackKinde, *, strict: bool) -> ManagementClient:
    return ManagementClient(
        server.url,
        "drift-strict" if strict else "drift",
        "s",
        max_retries=0,
        strict_responses=strict,
    )


@pytest.fixture(scope="module")
def lenient(server: LoopbackKinde) -> Iterator[ManagementClient]:
    with _client(server, strict=False) as client:
        yield client


@pytest.fixture(scope="module")
def strict(server: LoopbackKinde) -> Iterator[ManagementClient]:
    with _client(server, strict=True) as client:
        yield client


# -- where an example can drift -----------------------------------------------------------


def _merged(schema: Any) -> dict[str, Any]:
    schema = resolve(schema)
    if "allOf" not in schema:
        return schema  # type: ignore[no-any-return]
    merged: dict[str, Any] = {"properties": {}}
    for part in [*schema["allOf"], {k: v for k, v in schema.items() if k != "allOf"}]:
        part = _merged(part)
        merged["properties"].update(part.get("properties") or {})
        merged.update({k: v for k, v in part.items() if k != "properties"})
    return merged


@dataclass
class Spot:
    path: Path
    schema: dict[str, Any]
    value: Any


def _spots(schema: Any, value: Any, path: Path = ()) -> Iterator[Spot]:
    """Every place in ``value`` with the (merged) schema that describes it."""
    schema = _merged(schema)
    yield Spot(path, schema, value)
    if isinstance(value, dict) and schema.get("properties"):
        for key, item in value.items():
            sub = schema["properties"].get(key)
            if sub is not None:
                yield from _spots(sub, item, (*path, key))
    elif isinstance(value, list) and value and "items" in schema:
        yield from _spots(schema["items"], value[0], (*path, 0))


def _is_plain_string(spot: Spot) -> bool:
    s = spot.schema
    return (
        s.get("type") == "string"
        and "enum" not in s
        and s.get("format") not in ("date-time", "date")
        and isinstance(spot.value, str)
    )


def _pick(spots: list[Spot], kind: str) -> Optional[Spot]:
    fields = [s for s in spots if s.path and isinstance(s.path[-1], str)]
    objects = [s for s in spots if isinstance(s.value, dict) and s.schema.get("properties")]
    found: list[Spot]
    if kind == "unknown_field":
        found = objects[:1]
    elif kind == "unknown_enum":
        found = [s for s in fields if "enum" in s.schema and isinstance(s.value, str)]
    elif kind == "number_for_string":
        found = [s for s in fields if _is_plain_string(s)]
    elif kind == "string_for_number":
        found = [
            s
            for s in fields
            if s.schema.get("type") == "integer" and type(s.value) is int and s.value >= 0
        ]
    elif kind == "null":
        found = [s for s in fields if s.value is not None and not s.schema.get("nullable")]
    elif kind == "missing":
        found = [s for s in fields if s.value is not None]
    elif kind == "nested":
        found = sorted(
            (
                s
                for s in objects
                if len(s.path) >= 2 and any(_is_plain_string(c) for c in _children(s, spots))
            ),
            key=lambda s: -len(s.path),
        )
    else:
        raise AssertionError(kind)
    return found[0] if found else None


def _children(parent: Spot, spots: list[Spot]) -> list[Spot]:
    n = len(parent.path)
    return [s for s in spots if len(s.path) == n + 1 and s.path[:n] == parent.path]


def _set(data: Any, path: Path, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _example(op: Operation) -> tuple[dict[str, Any], Any]:
    _code, response = op.success_response
    content = (response.get("content") or {}).get("application/json") or {}
    schema = content.get("schema") or {}
    body = content.get("example")
    if body is None:
        body = sample(resolve(schema))
    body = copy.deepcopy(body)
    known = EXAMPLES_THAT_BREAK_THE_SPEC.get(op.operation_id)
    if known is not None:  # start each case from a body that matches the spec
        _set(body, known[0], known[1])
    return schema, body


KINDS = [
    "unknown_field",
    "unknown_enum",
    "number_for_string",
    "string_for_number",
    "null",
    "missing",
    "nested",
]


def _sample_operations() -> list[Operation]:
    """Per API, the GET with a JSON body whose example has the most places to drift."""
    best: dict[str, tuple[int, Operation]] = {}
    for op in operations():
        if op.method != "get":
            continue
        schema, body = _example(op)
        if not isinstance(body, dict):
            continue
        spots = list(_spots(schema, body))
        score = sum(_pick(spots, kind) is not None for kind in KINDS) * 1000 + len(spots)
        if op.tag not in best or score > best[op.tag][0]:
            best[op.tag] = (score, op)
    return [op for _, op in sorted(best.values(), key=lambda e: e[1].operation_id)]


SAMPLED = _sample_operations()


@dataclass
class Drift:
    body: Any  # what the server sends
    expected: Any  # what to_dict() of the lenient result must give back
    checks: list[tuple[Path, Any]]  # values read back through attributes / obj[...]
    strict_raises: bool
    where: str  # a fragment of the strict error's problem


def _delete(data: Any, path: Path) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


def _dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _drift(op: Operation, kind: str) -> Optional[Drift]:
    schema, body = _example(op)
    spots = list(_spots(schema, body))
    spot = _pick(spots, kind)
    if spot is None:
        return None
    sent, expected = copy.deepcopy(body), copy.deepcopy(body)
    path = spot.path
    if kind == "unknown_field":
        _set(sent, (*path, UNKNOWN), UNKNOWN_VALUE)
        _set(expected, (*path, UNKNOWN), UNKNOWN_VALUE)
        return Drift(sent, expected, [((*path, UNKNOWN), UNKNOWN_VALUE)], True, UNKNOWN)
    if kind == "unknown_enum":
        _set(sent, path, NEW_ENUM)
        _set(expected, path, NEW_ENUM)
        return Drift(sent, expected, [(path, NEW_ENUM)], True, _dotted(path))
    if kind == "number_for_string":
        _set(sent, path, 424242)
        _set(expected, path, "424242")
        return Drift(sent, expected, [(path, "424242")], True, _dotted(path))
    if kind == "string_for_number":
        _set(sent, path, str(spot.value))
        return Drift(sent, expected, [(path, spot.value)], True, _dotted(path))
    if kind == "null":
        _set(sent, path, None)
        _delete(expected, path)  # a null the model accepts is not written back
        return Drift(sent, expected, [(path, None)], True, f"{_dotted(path)}: null")
    if kind == "missing":
        _delete(sent, path)
        _delete(expected, path)
        return Drift(sent, expected, [(path, None)], False, "")
    if kind == "nested":
        text = next(c for c in _children(spot, spots) if _is_plain_string(c))
        _set(sent, (*path, UNKNOWN), UNKNOWN_VALUE)
        _set(expected, (*path, UNKNOWN), UNKNOWN_VALUE)
        _set(sent, text.path, 424242)
        _set(expected, text.path, "424242")
        checks = [((*path, UNKNOWN), UNKNOWN_VALUE), (text.path, "424242")]
        return Drift(sent, expected, checks, True, _dotted(text.path))
    raise AssertionError(kind)


CASES = [
    (op, kind, drift) for op in SAMPLED for kind in KINDS if (drift := _drift(op, kind)) is not None
]


def test_the_sample_spans_the_apis_and_every_kind_of_drift() -> None:
    assert len(SAMPLED) >= 15, [op.operation_id for op in SAMPLED]
    for kind in KINDS:
        covering = [op.operation_id for op, k, _ in CASES if k == kind]
        assert len(covering) >= 3, (kind, covering)


def _read(result: Any, path: Path) -> Any:
    value = result
    for part in path:
        value = value[part]
    return value


def _attribute(result: Any, path: Path) -> Any:
    """The same value through attributes (python names of the JSON fields)."""
    value = result
    for part in path:
        if isinstance(part, int):
            value = value[part]
        else:
            fields = type(value).model_fields
            name = next((n for n, f in fields.items() if (f.alias or n) == part), part)
            value = getattr(value, name)
    return value


@pytest.mark.parametrize(
    ("op", "kind", "drift"),
    CASES,
    ids=[f"{op.operation_id}-{kind}" for op, kind, _ in CASES],
)
def test_drift(
    op: Operation,
    kind: str,
    drift: Drift,
    server: LoopbackKinde,
    lenient: ManagementClient,
    strict: ManagementClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _serve(server, drift.body)
    reset_drift_warnings()
    method = _find_method(lenient, op)
    declared = inspect.signature(method).return_annotation
    kwargs = _arguments(op, inspect.signature(method))

    with caplog.at_level(logging.WARNING, logger="kinde_sdk.management"):
        result = method(**kwargs)
        again = method(**kwargs)

    assert isinstance(result, declared)
    for path, value in drift.checks:
        assert _read(result, path) == value, (path, _read(result, path))
        assert _attribute(result, path) == value
        assert type(_read(result, path)) is type(value)
    assert _canonical(json.loads(result.to_json())) == _canonical(drift.expected)
    assert again.to_dict() == result.to_dict()
    warnings = [r.getMessage() for r in caplog.records if r.name == "kinde_sdk.management"]
    if drift.strict_raises and kind != "null":
        # One warning per model and field: two calls, one warning each place drifted.
        assert 1 <= len(warnings) <= len(drift.checks), warnings
    else:
        assert warnings == [] or kind == "null"
    assert len(warnings) == len(set(warnings))

    strict_method = _find_method(strict, op)
    if drift.strict_raises:
        with pytest.raises(ResponseValidationError) as raised:
            strict_method(**kwargs)
        problems = raised.value.problems
        assert any(drift.where in p for p in problems), problems
        assert raised.value.status == 200
    else:
        assert isinstance(strict_method(**kwargs), declared)


def test_one_warning_per_model_and_field_across_many_items(
    server: LoopbackKinde, lenient: ManagementClient, caplog: pytest.LogCaptureFixture
) -> None:
    users = [
        {"id": f"kp_{i}", "total_sign_ins": str(i), UNKNOWN: i, "email": f"u{i}@example.com"}
        for i in range(200)
    ]
    _serve(server, {"code": "OK", "users": users})
    reset_drift_warnings()
    with caplog.at_level(logging.WARNING, logger="kinde_sdk.management"):
        for _ in range(3):
            page = lenient.get_users()
    assert page.users is not None and len(page.users) == 200
    assert [u.total_sign_ins for u in page.users] == list(range(200))
    assert [u[UNKNOWN] for u in page.users] == list(range(200))
    warnings = [r.getMessage() for r in caplog.records if r.name == "kinde_sdk.management"]
    assert len(warnings) == 2, warnings
    assert all(re.search(r"UsersResponseUsersInner\.", w) for w in warnings)
