"""A response never raises because its body differs from the spec.

Every JSON response example of the spec (what Prism serves), mutated at random places
with a fixed seed: values swapped for other JSON types, unknown fields added, objects and
lists replaced, nulls. The lenient parse must return the declared model every time, and
keep every unknown field; the strict parse must raise ResponseValidationError or succeed,
never anything else.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
from typing import Any

import pytest

from kinde_sdk._lenient import reset_drift_warnings
from kinde_sdk.errors import ResponseValidationError
from kinde_sdk.management._responses import parse_response
from tests.unit.test_generated_parsing import RESPONSES, _declared_model

SEED = 9
MUTATIONS_PER_BODY = 6
ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    3.5,
    True,
    "",
    "x",
    "2024-11-18T13:32:03+11",
    [],
    {},
    [1, "a"],
    {"k": [None]},
]


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, (*path, i))
    return found


def _objects(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(value, dict) else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _objects(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _objects(item, (*path, i))
    return found


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def mutate(
    body: dict[str, Any], rng: random.Random
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """``body`` with one random change per round, and where unknown fields were added."""
    body = copy.deepcopy(body)
    added: list[tuple[Any, ...]] = []
    for n in range(MUTATIONS_PER_BODY):
        if rng.random() < 0.35:
            where = rng.choice(_objects(body))
            key = f"kinde_unknown_{n}"
            _at(body, where)[key] = copy.deepcopy(rng.choice(ODD_VALUES))
            added.append((*where, key))
            continue
        places = [p for p in _places(body) if not any(p[: len(a)] == a for a in added)]
        if not places:
            continue
        where = rng.choice(places)
        _at(body, where[:-1])[where[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
        # A place replaced above an added field takes that field with it.
        added = [a for a in added if a[: len(where)] != where]
    return body, added


@pytest.mark.parametrize(("op", "body"), RESPONSES, ids=[op.operation_id for op, _ in RESPONSES])
def test_a_drifted_response_never_raises(op: Any, body: Any) -> None:
    if not isinstance(body, dict):
        pytest.skip("not an object")
    declared = _declared_model(op)
    rng = random.Random(f"{SEED}-{op.operation_id}")
    reset_drift_warnings()
    for _ in range(8):
        drifted, added = mutate(body, rng)
        raw = json.dumps(drifted).encode()
        result = parse_response(raw, 200, declared.__name__)
        assert isinstance(result, declared)
        back = result.to_dict()
        json.dumps(back, default=str)  # to_dict stays JSON-able
        for path in added:
            # An unknown field is kept, readable by its JSON name where it was sent
            # (when every object on its way is still an object).
            try:
                holder = _at(result, path[:-1])
            except (KeyError, IndexError, TypeError):
                continue
            if hasattr(holder, "__getitem__") and not isinstance(holder, (list, str)):
                kept = holder[path[-1]]
                # Under a map of models (feature flags by key) the entry is a model.
                kept = kept.to_dict() if hasattr(kept, "to_dict") else kept
                assert kept == _at(drifted, path)
        with contextlib.suppress(ResponseValidationError):
            parse_response(raw, 200, declared.__name__, strict=True)
