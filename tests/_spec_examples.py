"""The Management API spec as test data: its operations, and spec-valid example values.

``operations()`` lists every operation of the spec the SDK is generated from (with
openapi/spec-fixes.toml applied), and ``sample()`` builds a value that satisfies a schema:
``$ref`` resolved, ``allOf`` merged, the first branch of ``oneOf``/``anyOf``, ``example``
values where the spec has them, else the first ``enum`` value, else a value of the right
type, format (uuid, email, date-time, date, uri, binary) and length.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

# Plausible Kinde identifiers for path and query parameters without an example: any
# string is valid for the spec, but these read like the real thing in failure messages.
PLAUSIBLE = {
    "api_id": "7ccd126599aa422a771abcb341596881",
    "app_id": "3b0b5c6c8fcc464fab397f4969b5f482",
    "application_id": "3b0b5c6c8fcc464fab397f4969b5f482",
    "category_id": "prop_cat_0192b7e8b4f8ca08110d2b22059662a8",
    "code": "org_1ccfb819462",
    "connection_id": "conn_0192c16abb53b44277e597d31877ba5b",
    "customer_id": "customer_0195ac80a14c2ca2cec97d026d864de0",
    "description": "A feature flag for the new dashboard.",
    "directory_id": "directory_0192b1941f125645fa15bf28a662a0b3",
    "email": "jane.doe@example.com",
    "event_id": "event_0192b7e8b4f8ca08110d2b22059662a8",
    "factor_id": "mfa_0193278a00ac29b3f6d4e4d462d55c47",
    "feature_flag_key": "new_dashboard",
    "first_name": "Jane",
    "id": "kp_c3143a4b50ad43c88e541d9077681782",
    "identity_id": "identity_019617f0cd72460a42192cf37b41084f",
    "invite_code": "inv_abc123def456",
    "key_code_ref": "google_calendar",
    "key_id": "api_key_0195ac80a14e8d71f42b98e75d3c61ad",
    "last_name": "Doe",
    "name": "New dashboard",
    "org_code": "org_1ccfb819462",
    "organization_code": "org_1ccfb819462",
    "permission_id": "perm_0192b7e8b4f8ca08110d2b22059662a8",
    "property_id": "prop_0192b7e8b4f8ca08110d2b22059662a8",
    "property_key": "kp_some_key",
    "role_id": "role_0192b7e8b4f8ca08110d2b22059662a8",
    "scope_id": "api_scope_019391daf58d87d8a7213419c016ac95",
    "session_id": "session_0192b7e8b4f8ca08110d2b22059662a8",
    "subscriber_id": "sub_0192b7e8b4f8ca08110d2b22059662a8",
    "urls": "https://app.example.com/callback",
    "user_id": "kp_c3143a4b50ad43c88e541d9077681782",
    "value": "true",
    "variable_id": "env_var_0192b1941f125645fa15bf28a662a0b3",
    "webhook_id": "webhook_0192b7e8b4f8ca08110d2b22059662a8",
}

# The smallest valid PNG (1x1, transparent), for the logo uploads.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    from tests.servers.prism import ensure_spec

    with ensure_spec().open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def resolve(node: Any, spec: Optional[dict[str, Any]] = None) -> Any:
    """Follow local ``$ref``s until a node without one."""
    spec = spec if spec is not None else load_spec()
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def snake_case(name: str) -> str:
    """openapi-generator's ``underscore()``: ``getAPIScopes`` -> ``get_api_scopes``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").replace(" ", "_").replace(".", "_").lower()


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    example: Any = None

    @property
    def python_name(self) -> str:
        return snake_case(self.name)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    tag: str
    parameters: tuple[Parameter, ...]
    request_body: Optional[dict[str, Any]] = field(default=None, compare=False)
    responses: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def module(self) -> str:
        """The generated API module (``kinde_sdk_generated.api.<module>``)."""
        return self.tag.lower().replace(" ", "_") + "_api"

    @property
    def client_attribute(self) -> str:
        """The ``ManagementClient`` attribute of the operation's API class."""
        return self.module.removesuffix("_api")

    @property
    def method_name(self) -> str:
        return snake_case(self.operation_id)

    @property
    def body_content_type(self) -> Optional[str]:
        if not self.request_body:
            return None
        return next(iter(self.request_body.get("content") or {}), None)

    @property
    def body_schema(self) -> Optional[dict[str, Any]]:
        content_type = self.body_content_type
        if content_type is None:
            return None
        assert self.request_body is not None
        return resolve(self.request_body["content"][content_type].get("schema") or {})

    @property
    def success_response(self) -> tuple[str, dict[str, Any]]:
        """The first 2xx response: the one Prism serves."""
        code = min(c for c in self.responses if str(c).startswith("2"))
        return str(code), resolve(self.responses[code])

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method.upper()} {self.path})"


def _parameter(raw: Any) -> Parameter:
    param = resolve(raw)
    return Parameter(
        name=param["name"],
        location=param["in"],
        required=bool(param.get("required", False)),
        schema=resolve(param.get("schema") or {}),
        example=param.get("example"),
    )


@functools.lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    """Every operation of the spec, in spec order."""
    found = []
    for path, item in load_spec()["paths"].items():
        shared = [_parameter(p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            own = [_parameter(p) for p in op.get("parameters", [])]
            # Operation-level parameters override path-level ones with the same name and place.
            keys = {(p.name, p.location) for p in own}
            params = [p for p in shared if (p.name, p.location) not in keys] + own
            found.append(
                Operation(
                    operation_id=op["operationId"],
                    method=method,
                    path=path,
                    tag=(op.get("tags") or ["default"])[0],
                    parameters=tuple(params),
                    request_body=resolve(op["requestBody"]) if "requestBody" in op else None,
                    responses=op.get("responses", {}),
                )
            )
    return tuple(found)


def parameter_value(param: Parameter) -> Any:
    """A spec-valid value for a path or query parameter."""
    if param.example is not None:
        return copy.deepcopy(param.example)
    schema = param.schema
    if "example" in schema or "enum" in schema or schema.get("format"):
        return sample(schema)
    if schema.get("type", "string") == "string" and param.name in PLAUSIBLE:
        return _fit_string(PLAUSIBLE[param.name], schema)
    return sample(schema, name=param.name)


def sample(schema: Any, *, name: str = "", depth: int = 0) -> Any:
    """A value valid for ``schema`` (a request value: read-only properties left out)."""
    schema = resolve(schema)
    if depth > 12:
        raise ValueError("schema nests too deeply (a cycle?)")
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(part, name=name, depth=depth + 1)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        if rest.get("properties"):
            merged.update(sample(rest, name=name, depth=depth + 1))
        return merged
    if "anyOf" in schema:
        return sample(schema["anyOf"][0], name=name, depth=depth + 1)
    if "oneOf" in schema:
        return _sample_one_of(schema["oneOf"], name, depth)
    if "enum" in schema:
        return copy.deepcopy(next(v for v in schema["enum"] if v is not None))
    if "default" in schema and schema["default"] is not None:
        return copy.deepcopy(schema["default"])
    kind = schema.get("type")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        return _sample_object(schema, depth)
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [sample(schema.get("items") or {}, name=name, depth=depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(_number(schema, 1))
    if kind == "number":
        return float(_number(schema, 1.5))
    if kind == "boolean":
        return True
    return _sample_string(schema, name)


class AmbiguousOneOf(ValueError):
    """Every candidate value matches more than one branch of a ``oneOf``: none is valid."""


def _sample_one_of(branches: list[Any], name: str, depth: int) -> Any:
    """A value of the first ``oneOf`` branch that no other branch accepts too."""
    for index, branch in enumerate(branches):
        value = sample(branch, name=name, depth=depth + 1)
        others = [b for i, b in enumerate(branches) if i != index]
        if not any(conforms(value, other) for other in others):
            return value
    raise AmbiguousOneOf(f"no value for {name or 'a value'} matches exactly one oneOf branch")


def _sample_object(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    required = set(schema.get("required") or ())
    for prop, sub in (schema.get("properties") or {}).items():
        sub = resolve(sub)
        if sub.get("readOnly"):
            continue
        try:
            result[prop] = sample(sub, name=prop, depth=depth + 1)
        except AmbiguousOneOf:
            # An optional property no value can satisfy is left out (see ambiguous_one_ofs).
            if prop in required:
                raise
    extra = schema.get("additionalProperties")
    if not result and isinstance(extra, dict):
        result["key"] = sample(extra, name="key", depth=depth + 1)
    return result


def _number(schema: dict[str, Any], fallback: float) -> float:
    value = fallback
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return value


FORMAT_SAMPLES = {
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "email": "jane.doe@example.com",
    "date-time": "2024-11-18T13:32:03+11:00",
    "date": "2024-11-18",
    "uri": "https://app.example.com/callback",
    "url": "https://app.example.com/callback",
    "hostname": "app.example.com",
    "ipv4": "192.0.2.1",
}


def _sample_string(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format")
    if fmt in FORMAT_SAMPLES:
        text = FORMAT_SAMPLES[fmt]
    elif name in PLAUSIBLE:
        text = PLAUSIBLE[name]
    else:
        text = f"{name or 'value'}_example"
    return _fit_string(text, schema)


def _fit_string(text: str, schema: dict[str, Any]) -> str:
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(text) < low:
        text += "x" * (low - len(text))
    if high is not None:
        text = text[: int(high)]
    return text


JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def conforms(value: Any, schema: Any) -> bool:
    """Whether ``value`` satisfies ``schema``, for the keywords this spec uses."""
    schema = resolve(schema)
    if value is None:
        return bool(schema.get("nullable"))
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "allOf" in schema and not all(conforms(value, s) for s in schema["allOf"]):
        return False
    if "anyOf" in schema and not any(conforms(value, s) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(conforms(value, s) for s in schema["oneOf"]) != 1:
        return False
    kind = schema.get("type")
    if kind is not None:
        if isinstance(value, bool) and kind not in ("boolean",):
            return False
        if not isinstance(value, JSON_TYPES[kind]):
            return False
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        if any(key not in value for key in schema.get("required") or ()):
            return False
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                if not conforms(item, props[key]):
                    return False
            elif extra is False or (isinstance(extra, dict) and not conforms(item, extra)):
                return False
    if isinstance(value, list) and "items" in schema:
        return all(conforms(item, schema["items"]) for item in value)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return False
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return False
    return True


def ambiguous_one_ofs(schema: Any, path: str = "") -> list[str]:
    """Where in ``schema`` a ``oneOf`` has no value matching exactly one branch."""
    schema = resolve(schema)
    found = []
    if "oneOf" in schema:
        try:
            _sample_one_of(schema["oneOf"], path, 0)
        except AmbiguousOneOf:
            found.append(path or "(root)")
    for prop, sub in (schema.get("properties") or {}).items():
        found += ambiguous_one_ofs(sub, f"{path}.{prop}" if path else prop)
    if "items" in schema:
        found += ambiguous_one_ofs(schema["items"], f"{path}[]")
    return found
