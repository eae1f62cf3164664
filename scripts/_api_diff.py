"""What changed between two versions of an OpenAPI 3 spec, and whether it breaks SDK users.

``diff_specs(old, new)`` is pure: two parsed specs in, a :class:`Report` out. It compares

- operations, by ``operationId`` (or ``METHOD path`` when one has none): added, removed,
  moved to another method/path, moved to another tag (that is, another ``ManagementClient``
  attribute), deprecated;
- each operation's parameters (path-level ones merged in, ``$ref``s resolved): added,
  removed, location, required and type changes;
- each operation's request body and 2xx responses: presence, required-ness, and the inline
  schemas field by field;
- every ``components/schemas`` model field by field (added, removed, type changed,
  required changed; nested inline objects, array items and maps included) and enum values.

A ``$ref`` is compared by name where it is used and its target once, under its own name,
so a change to a shared model is reported once rather than at every operation using it.

What breaks (``Change.breaking``): anything removed (operation, parameter, field, enum
value, model, success response), a type or parameter-location change, a parameter or
request body becoming required, a new required parameter or request body, a new required
field (or an existing one becoming required) in a model sent in requests, and an
operation moving to another tag. Additions, things becoming optional, deprecations, new
fields in responses and a new method/path under the same operationId (the SDK method keeps
its name and arguments) are not breaking. Descriptions, examples and ``nullable`` are not
compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
REQUEST = "request"
RESPONSE = "response"

# Report order: the kinds of change, most significant first.
KINDS = (
    "operation",
    "parameter",
    "request body",
    "response",
    "model",
    "field",
    "enum value",
)


@dataclass(frozen=True)
class Change:
    """One difference. ``subject`` and ``detail`` are Markdown (names in backticks)."""

    kind: str  # one of KINDS
    action: str  # "added", "removed", "changed" or "deprecated"
    subject: str
    detail: str = ""
    breaking: bool = False

    def line(self) -> str:
        text = f"{self.kind} {self.action}: {self.subject}"
        return f"{text} ({self.detail})" if self.detail else text

    def sort_key(self) -> tuple[int, str, str, str]:
        return (KINDS.index(self.kind), self.subject, self.action, self.detail)


@dataclass
class Report:
    """The differences between two specs, breaking ones flagged."""

    changes: list[Change] = field(default_factory=list)
    old_version: str = ""
    new_version: str = ""

    @property
    def breaking(self) -> list[Change]:
        return [c for c in self.changes if c.breaking]

    @property
    def non_breaking(self) -> list[Change]:
        return [c for c in self.changes if not c.breaking]

    @property
    def is_breaking(self) -> bool:
        return any(c.breaking for c in self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def find(self, kind: Optional[str] = None, action: Optional[str] = None) -> list[Change]:
        return [
            c
            for c in self.changes
            if (kind is None or c.kind == kind) and (action is None or c.action == action)
        ]

    def to_markdown(self, title: str = "Kinde Management API changes") -> str:
        lines = [f"# {title}", ""]
        if self.old_version or self.new_version:
            lines += [f"Spec version `{self.old_version}` -> `{self.new_version}`.", ""]
        if not self.changes:
            lines += ["No API-visible changes (operations, parameters, models, enums).", ""]
            return "\n".join(lines)
        verdict = "BREAKING" if self.is_breaking else "non-breaking"
        lines += [
            f"**{verdict}**: {len(self.breaking)} breaking, "
            f"{len(self.non_breaking)} non-breaking change(s).",
            "",
            "| kind | added | removed | changed | deprecated | breaking |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for kind in KINDS:
            of_kind = self.find(kind)
            if not of_kind:
                continue
            counts = [
                len([c for c in of_kind if c.action == a])
                for a in ("added", "removed", "changed", "deprecated")
            ]
            broken = len([c for c in of_kind if c.breaking])
            lines.append(f"| {kind} | " + " | ".join(map(str, [*counts, broken])) + " |")
        for heading, items in (
            ("Breaking changes", self.breaking),
            ("Non-breaking changes", self.non_breaking),
        ):
            if items:
                lines += ["", f"## {heading}", ""]
                lines += [f"- {c.line()}" for c in items]
        lines.append("")
        return "\n".join(lines)

    def changelog_draft(
        self,
        old_sha256: str = "",
        new_sha256: str = "",
        *,
        title: str = "Kinde Management API",
        package: str = "kinde_sdk_generated",
    ) -> str:
        """A Keep a Changelog fragment for the Unreleased section, to edit and paste."""
        sections: dict[str, list[str]] = {
            "Added": [],
            "Changed": [],
            "Deprecated": [],
            "Removed": [],
        }
        hashes = ""
        if old_sha256 and new_sha256:
            hashes = f" (sha256 `{old_sha256[:12]}` -> `{new_sha256[:12]}`)"
        sections["Changed"].append(
            f"{title} spec updated{hashes}; `{package.replace('.', '/')}/` regenerated."
        )
        for change in self.changes:
            text = change.line()
            if change.breaking:
                text = f"**Breaking:** {text}"
            if change.action == "deprecated":
                section = "Deprecated"
            elif change.action == "removed":
                section = "Removed"
            elif change.action == "added" and not change.breaking:
                section = "Added"
            else:
                section = "Changed"
            sections[section].append(text)
        out = ["## [Unreleased]", ""]
        for name, entries in sections.items():
            if entries:
                out += [f"### {name}", *(f"- {e}" for e in entries), ""]
        return "\n".join(out)


# -- helpers -------------------------------------------------------------------------------


def load_yaml(data: bytes | str) -> Any:
    """Parse YAML (or JSON) safely, with libyaml when present: the Kinde spec is large."""
    import yaml

    try:
        return yaml.load(data, Loader=yaml.CSafeLoader)
    except AttributeError:  # PyYAML without libyaml
        return yaml.safe_load(data)


def snake_case(name: str) -> str:
    """openapi-generator's ``underscore()``: ``getAPIScopes`` -> ``get_api_scopes``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name)
    return name.replace("-", "_").replace(" ", "_").replace(".", "_").lower()


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s until a node without one (a cycle or a dangling ref: {})."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            return {}
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            if not isinstance(node, dict):
                return {}
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
    return node


def type_name(node: Any) -> str:
    """A schema's type as the SDK sees it: ``string(date-time)``, ``array[user]``, ..."""
    if not isinstance(node, dict):
        return "any"
    if "$ref" in node:
        return ref_name(str(node["$ref"]))
    for combinator in ("allOf", "oneOf", "anyOf"):
        if combinator in node:
            parts = ", ".join(type_name(p) for p in node[combinator] or [])
            return f"{combinator}[{parts}]"
    kind = node.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1
        kind = "|".join(str(k) for k in kind if k != "null")
    if kind == "array":
        return f"array[{type_name(node.get('items', {}))}]"
    extra = node.get("additionalProperties")
    if kind == "object" or "properties" in node or isinstance(extra, dict):
        if isinstance(extra, dict) and not node.get("properties"):
            return f"map[{type_name(extra)}]"
        return "object"
    if not kind:
        return "any"
    fmt = node.get("format")
    return f"{kind}({fmt})" if fmt else str(kind)


def _code(text: str) -> str:
    return f"`{text}`"


def _sdk_call(op: Operation) -> str:
    attribute = snake_case(op.tag) if op.tag else "?"
    return f"client.{attribute}.{snake_case(op.operation_id)}()"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: Any


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    tag: str
    deprecated: bool
    node: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{_code(self.operation_id)} ({self.method.upper()} {self.path})"


def operations(spec: dict[str, Any]) -> dict[str, Operation]:
    found: dict[str, Operation] = {}
    for path, item in (spec.get("paths") or {}).items():
        item = resolve(spec, item)
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_id = str(op.get("operationId") or f"{method.upper()} {path}")
            tags = op.get("tags") or [""]
            found[op_id] = Operation(
                operation_id=op_id,
                method=method,
                path=str(path),
                tag=str(tags[0]),
                deprecated=bool(op.get("deprecated", False)),
                node={**op, "x-path-parameters": item.get("parameters") or []},
            )
    return found


def parameters(spec: dict[str, Any], op: Operation) -> dict[str, Parameter]:
    """The operation's parameters by name (``name (in)`` where two share a name)."""
    merged: dict[tuple[str, str], Parameter] = {}
    for raw in [*op.node["x-path-parameters"], *(op.node.get("parameters") or [])]:
        prm = resolve(spec, raw)
        if not isinstance(prm, dict) or "name" not in prm:
            continue
        location = str(prm.get("in", ""))
        merged[(str(prm["name"]), location)] = Parameter(
            name=str(prm["name"]),
            location=location,
            required=bool(prm.get("required", False)),
            schema=prm.get("schema", {}),
        )
    names = [name for name, _ in merged]
    return {
        (name if names.count(name) == 1 else f"{name} ({location})"): prm
        for (name, location), prm in merged.items()
    }


def _json_schema(spec: dict[str, Any], holder: Any) -> Any:
    """The schema of a request body or response: its JSON content, else its first one."""
    holder = resolve(spec, holder)
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict) or not content:
        return None
    for media, body in content.items():
        if "json" in media and isinstance(body, dict):
            return body.get("schema")
    first = next(iter(content.values()))
    return first.get("schema") if isinstance(first, dict) else None


def _success_responses(op: Operation) -> dict[str, Any]:
    responses = op.node.get("responses") or {}
    return {str(code): resp for code, resp in responses.items() if str(code).startswith("2")}


# -- where each model is used ----------------------------------------------------------------


def _refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref_name(ref)
        for value in node.values():
            yield from _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs_in(value)


def model_usage(spec: dict[str, Any]) -> dict[str, set[str]]:
    """For each component schema reachable from an operation: request and/or response."""
    schemas = (spec.get("components") or {}).get("schemas") or {}
    usage: dict[str, set[str]] = {}

    def mark(roots: Iterable[Any], context: str) -> None:
        todo = [name for root in roots for name in _refs_in(resolve_deep(spec, root))]
        while todo:
            name = todo.pop()
            if context in usage.setdefault(name, set()):
                continue
            usage[name].add(context)
            todo.extend(_refs_in(schemas.get(name, {})))

    for op in operations(spec).values():
        params = [p.schema for p in parameters(spec, op).values()]
        mark([*params, op.node.get("requestBody")], REQUEST)
        mark(list((op.node.get("responses") or {}).values()), RESPONSE)
    return usage


def resolve_deep(spec: dict[str, Any], node: Any) -> Any:
    """Resolve refs to non-schema components (responses, request bodies) at the top."""
    if isinstance(node, dict) and "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/components/schemas/"):
            return resolve(spec, node)
    return node


# -- schema comparison -----------------------------------------------------------------------


class _Differ:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        usage_old, usage_new = model_usage(old), model_usage(new)
        self.usage = {
            name: usage_old.get(name, set()) | usage_new.get(name, set())
            for name in {*usage_old, *usage_new}
        }

    def add(self, kind: str, action: str, subject: str, detail: str, breaking: bool) -> None:
        self.changes.append(Change(kind, action, subject, detail, breaking))

    def schema(self, old: Any, new: Any, owner: str, path: str, contexts: frozenset[str]) -> None:
        """Compare two schema nodes; ``owner`` (Markdown) and ``path`` name where they are."""
        where = _where(owner, path)
        old_type, new_type = type_name(old), type_name(new)
        if old_type != new_type:
            self.add(
                "field" if path else "model",
                "changed",
                where,
                f"type `{old_type}` -> `{new_type}`",
                True,
            )
            return
        if not isinstance(old, dict) or not isinstance(new, dict) or "$ref" in old:
            return  # a $ref is compared once, under the referenced model's own name
        self.enum(old.get("enum"), new.get("enum"), where)
        for combinator in ("allOf", "oneOf", "anyOf"):
            for i, (o, n) in enumerate(zip(old.get(combinator) or [], new.get(combinator) or [])):
                self.schema(o, n, owner, _join(path, f"{combinator}[{i}]"), contexts)
        if "items" in old or "items" in new:
            self.schema(old.get("items", {}), new.get("items", {}), owner, path + "[]", contexts)
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.schema(old_extra, new_extra, owner, path + "{}", contexts)
        self.properties(old, new, owner, path, contexts)

    def properties(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        owner: str,
        path: str,
        contexts: frozenset[str],
    ) -> None:
        old_props = old.get("properties") or {}
        new_props = new.get("properties") or {}
        old_required = set(old.get("required") or [])
        new_required = set(new.get("required") or [])
        in_requests = REQUEST in contexts
        for name in sorted(old_props.keys() - new_props.keys()):
            self.add(
                "field",
                "removed",
                _where(owner, _join(path, name)),
                f"was `{type_name(old_props[name])}`",
                True,
            )
        for name in sorted(new_props.keys() - old_props.keys()):
            required = name in new_required
            detail = f"`{type_name(new_props[name])}`" + (", required" if required else "")
            self.add(
                "field",
                "added",
                _where(owner, _join(path, name)),
                detail,
                required and in_requests,
            )
        for name in sorted(old_props.keys() & new_props.keys()):
            sub = _join(path, name)
            was, now = name in old_required, name in new_required
            if was != now:
                self.add(
                    "field",
                    "changed",
                    _where(owner, sub),
                    "now required" if now else "now optional",
                    now and in_requests,
                )
            self.schema(old_props[name], new_props[name], owner, sub, contexts)

    def enum(self, old: Any, new: Any, where: str) -> None:
        if not isinstance(old, list) or not isinstance(new, list):
            if isinstance(old, list) != isinstance(new, list):
                detail = "now an enum" if isinstance(new, list) else "no longer an enum"
                self.add("enum value", "changed", where, detail, isinstance(new, list))
            return
        for value in [v for v in old if v not in new]:
            self.add("enum value", "removed", where, f"`{value}`", True)
        for value in [v for v in new if v not in old]:
            self.add("enum value", "added", where, f"`{value}`", False)

    # -- operations ------------------------------------------------------------------------

    def operations(self) -> None:
        old_ops, new_ops = operations(self.old), operations(self.new)
        for op_id in sorted(old_ops.keys() - new_ops.keys()):
            op = old_ops[op_id]
            self.add("operation", "removed", op.label, f"was `{_sdk_call(op)}`", True)
        for op_id in sorted(new_ops.keys() - old_ops.keys()):
            op = new_ops[op_id]
            self.add("operation", "added", op.label, f"`{_sdk_call(op)}`", False)
        for op_id in sorted(old_ops.keys() & new_ops.keys()):
            self.operation(old_ops[op_id], new_ops[op_id])

    def operation(self, old: Operation, new: Operation) -> None:
        label = new.label
        if (old.method, old.path) != (new.method, new.path):
            self.add("operation", "changed", label, f"was {old.method.upper()} {old.path}", False)
        if old.tag != new.tag:
            self.add(
                "operation",
                "changed",
                label,
                f"moved from `{_sdk_call(old)}` to `{_sdk_call(new)}`",
                True,
            )
        if new.deprecated and not old.deprecated:
            self.add("operation", "deprecated", label, "", False)
        self.parameters(old, new)
        self.request_body(old, new)
        self.responses(old, new)

    def parameters(self, old: Operation, new: Operation) -> None:
        old_params, new_params = parameters(self.old, old), parameters(self.new, new)
        op_id = new.operation_id
        for name in sorted(old_params.keys() - new_params.keys()):
            prm = old_params[name]
            self.add(
                "parameter",
                "removed",
                f"{_code(op_id)} {prm.location} parameter {_code(prm.name)}",
                "",
                True,
            )
        for name in sorted(new_params.keys() - old_params.keys()):
            prm = new_params[name]
            required = ", required" if prm.required else ""
            self.add(
                "parameter",
                "added",
                f"{_code(op_id)} {prm.location} parameter {_code(prm.name)}",
                f"`{type_name(prm.schema)}`{required}",
                prm.required,
            )
        for name in sorted(old_params.keys() & new_params.keys()):
            was, now = old_params[name], new_params[name]
            subject = f"{_code(op_id)} {now.location} parameter {_code(now.name)}"
            if was.location != now.location:
                self.add(
                    "parameter",
                    "changed",
                    subject,
                    f"moved from {was.location} to {now.location}",
                    True,
                )
            if was.required != now.required:
                self.add(
                    "parameter",
                    "changed",
                    subject,
                    "now required" if now.required else "now optional",
                    now.required,
                )
            old_type, new_type = type_name(was.schema), type_name(now.schema)
            if old_type != new_type:
                self.add(
                    "parameter", "changed", subject, f"type `{old_type}` -> `{new_type}`", True
                )
            else:
                self.schema(was.schema, now.schema, subject, "", frozenset({REQUEST}))

    def request_body(self, old: Operation, new: Operation) -> None:
        op_id = new.operation_id
        old_body = resolve(self.old, old.node.get("requestBody"))
        new_body = resolve(self.new, new.node.get("requestBody"))
        subject = f"{_code(op_id)} request body"
        if not old_body and not new_body:
            return
        if not new_body:
            self.add("request body", "removed", subject, "", True)
            return
        required = bool(new_body.get("required", False))
        if not old_body:
            self.add("request body", "added", subject, "required" if required else "", required)
            return
        if bool(old_body.get("required", False)) != required:
            self.add(
                "request body",
                "changed",
                subject,
                "now required" if required else "now optional",
                required,
            )
        self.schema(
            _json_schema(self.old, old_body) or {},
            _json_schema(self.new, new_body) or {},
            subject,
            "",
            frozenset({REQUEST}),
        )

    def responses(self, old: Operation, new: Operation) -> None:
        op_id = new.operation_id
        old_resp, new_resp = _success_responses(old), _success_responses(new)
        for code in sorted(old_resp.keys() - new_resp.keys()):
            self.add("response", "removed", f"{_code(op_id)} {code} response", "", True)
        for code in sorted(new_resp.keys() - old_resp.keys()):
            detail = f"`{type_name(_json_schema(self.new, new_resp[code]) or {})}`"
            self.add("response", "added", f"{_code(op_id)} {code} response", detail, False)
        for code in sorted(old_resp.keys() & new_resp.keys()):
            self.schema(
                _json_schema(self.old, old_resp[code]) or {},
                _json_schema(self.new, new_resp[code]) or {},
                f"{_code(op_id)} {code} response",
                "",
                frozenset({RESPONSE}),
            )

    # -- models ----------------------------------------------------------------------------

    def models(self) -> None:
        old_models = (self.old.get("components") or {}).get("schemas") or {}
        new_models = (self.new.get("components") or {}).get("schemas") or {}
        for name in sorted(old_models.keys() - new_models.keys()):
            self.add("model", "removed", _code(name), "", True)
        for name in sorted(new_models.keys() - old_models.keys()):
            self.add("model", "added", _code(name), "", False)
        for name in sorted(old_models.keys() & new_models.keys()):
            # A model no operation uses is judged as if sent in requests: the stricter rule.
            contexts = frozenset(self.usage.get(name) or {REQUEST, RESPONSE})
            self.schema(old_models[name], new_models[name], _code(name), "", contexts)


def _where(owner: str, path: str) -> str:
    return f"{owner} field {_code(path)}" if path else owner


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def diff_specs(old: dict[str, Any], new: dict[str, Any]) -> Report:
    """The API-visible differences from ``old`` to ``new`` (parsed OpenAPI 3 documents)."""
    differ = _Differ(old, new)
    differ.operations()
    differ.models()
    unique = sorted(set(differ.changes), key=Change.sort_key)
    return Report(
        changes=unique,
        old_version=str((old.get("info") or {}).get("version", "")),
        new_version=str((new.get("info") or {}).get("version", "")),
    )
