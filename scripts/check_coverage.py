#!/usr/bin/env python3
"""Check that ManagementClient covers the spec and its conveniences call real operations.

1. Every operation of the spec is reachable from ``ManagementClient``: its first tag names
   a generated API class (tag ``Feature Flags`` -> ``api/feature_flags_api.py``), a
   ``ManagementClient`` attribute returns that class (read from
   ``kinde_sdk/management/_sub_apis.py``), and the class has the operationId in snake_case
   as a method.
2. Every generated method the handwritten management code calls (``self.users.get_users``
   in ``_seed_methods.py``, ``client.py``, ...; found by reading their AST, so the list
   cannot go stale) is an operation of the spec and exists in the generated package.
   Every public convenience of ``SeedMethods`` must reach the API through such a call (or
   through another convenience), so a refactor that hides its calls is noticed too.

Usage: ``check_coverage.py [--spec PATH] [--generated DIR]``; by default the committed
Management API spec (hash-checked) and ``kinde_sdk_generated/``. Exit 0 when covered, 1
with one line per problem (for example when a spec update removed an operation a
convenience uses).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _api_diff import load_yaml, operations, snake_case
from _build import GENERATED_PACKAGE, MANAGEMENT, ROOT, BuildError, locked_spec

MANAGEMENT_DIR = ROOT / "kinde_sdk" / "management"
SUB_APIS_FILE = MANAGEMENT_DIR / "_sub_apis.py"
SEED_METHODS_FILE = MANAGEMENT_DIR / "_seed_methods.py"
SEED_CLASS = "SeedMethods"
# Variants the generator emits beside each operation's method.
METHOD_SUFFIXES = ("_with_http_info", "_without_preload_content")


@dataclass(frozen=True)
class SubApi:
    """A ``ManagementClient`` attribute and the generated API class it returns."""

    attribute: str
    module: str
    class_name: str


@dataclass(frozen=True)
class ApiCall:
    """``self.<attribute>.<method>`` in handwritten management code."""

    source: str
    function: str
    line: int
    attribute: str
    method: str

    @property
    def label(self) -> str:
        return f"{self.source}:{self.line} {self.function}() uses {self.attribute}.{self.method}"


def sub_apis(source: Path = SUB_APIS_FILE) -> dict[str, SubApi]:
    """Each ``@property`` returning ``self._sub_api("module", "Class")``, by attribute."""
    found: dict[str, SubApi] = {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        if not any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            continue
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "_sub_api"
            ):
                continue
            names = [a.value for a in call.args if isinstance(a, ast.Constant)]
            if len(names) == 2 and all(isinstance(n, str) for n in names):
                found[node.name] = SubApi(node.name, str(names[0]), str(names[1]))
    return found


def client_attributes() -> set[str]:
    """The properties ``ManagementClient`` really has (guards against a broken mixin)."""
    from kinde_sdk.management import ManagementClient

    return {
        name
        for name, value in inspect.getmembers_static(ManagementClient)
        if isinstance(value, property)
    }


def generated_methods(generated: Path, api: SubApi) -> set[str] | None:
    """Public methods of the generated class, or None when its module or class is missing."""
    path = generated / "api" / f"{api.module}.py"
    if not path.is_file():
        return None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef) and node.name == api.class_name:
            return {
                item.name
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                and not item.name.startswith("_")
                and not item.name.endswith(METHOD_SUFFIXES)
            }
    return None


def _self_attribute(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.attr if node.value.id == "self" else None
    return None


def api_calls(directory: Path, attributes: set[str]) -> list[ApiCall]:
    """Every ``self.<sub-API attribute>.<method>`` in the modules of ``directory``."""
    calls: list[ApiCall] = []
    for path in sorted(directory.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Attribute) and _self_attribute(node.value) in attributes:
                    calls.append(
                        ApiCall(
                            source=path.relative_to(ROOT).as_posix()
                            if path.is_relative_to(ROOT)
                            else str(path),
                            function=func.name,
                            line=node.lineno,
                            attribute=str(_self_attribute(node.value)),
                            method=node.attr,
                        )
                    )
    # A nested function is walked twice (as itself and inside its parent): keep one.
    return sorted(set(calls), key=lambda c: (c.source, c.line, c.function))


def unreached_conveniences(source: Path, attributes: set[str]) -> list[str]:
    """Public ``SeedMethods`` methods with no visible route to a generated operation."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    seed = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == SEED_CLASS), None
    )
    if seed is None:
        return [f"{source.name} has no class {SEED_CLASS}"]
    methods = {
        n.name: n
        for n in seed.body
        if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
    }
    problems = []
    for name, func in methods.items():
        used = {_self_attribute(n) for n in ast.walk(func) if isinstance(n, ast.Attribute)}
        if not used & (attributes | (methods.keys() - {name})):
            problems.append(
                f"{SEED_CLASS}.{name}() calls no generated API method this check can see "
                f"(expected self.<api>.<method>(...) in {source.name})"
            )
    return problems


def check_coverage(
    spec: dict[str, Any],
    generated: Path = ROOT / GENERATED_PACKAGE,
    management: Path = MANAGEMENT_DIR,
    *,
    check_client: bool = True,
) -> list[str]:
    """Problems found (empty when the spec is covered), one readable line each."""
    apis = sub_apis(management / SUB_APIS_FILE.name)
    problems: list[str] = []
    if check_client:
        missing = sorted(apis.keys() - client_attributes())
        problems += [f"ManagementClient has no attribute {name!r}" for name in missing]
    by_module = {api.module: api for api in apis.values()}
    methods = {api.attribute: generated_methods(generated, api) for api in apis.values()}
    for api in apis.values():
        if methods[api.attribute] is None:
            problems.append(
                f"client.{api.attribute} returns {api.class_name} from "
                f"{GENERATED_PACKAGE}/api/{api.module}.py, which does not exist in {generated}"
            )

    # 1. every operation -> a ManagementClient attribute and method
    spec_methods: dict[tuple[str, str], str] = {}
    for op in operations(spec).values():
        if not op.tag:
            problems.append(f"operation {op.label}: has no tag, so no generated API class")
            continue
        module = f"{snake_case(op.tag)}_api"
        method = snake_case(op.operation_id)
        owner = by_module.get(module)
        if owner is None:
            problems.append(
                f"operation {op.label}: tag {op.tag!r} (generated module {module}.py) has no "
                f"ManagementClient attribute in {SUB_APIS_FILE.name}"
            )
            continue
        spec_methods[(owner.attribute, method)] = op.operation_id
        have = methods[owner.attribute]
        if have is not None and method not in have:
            problems.append(
                f"operation {op.label}: {owner.class_name} has no method {method} "
                f"(client.{owner.attribute}.{method}); regenerate {GENERATED_PACKAGE}/"
            )

    # 2. every handwritten call -> an operation of the spec that was generated
    calls = api_calls(management, set(apis))
    if not calls:
        problems.append(f"found no self.<api>.<method> calls in {management}")
    for call in calls:
        if (call.attribute, call.method) not in spec_methods:
            problems.append(
                f"{call.label}, but no operation of the spec maps to it "
                "(removed or renamed by a spec update?)"
            )
        have = methods.get(call.attribute)
        if have is not None and call.method not in have:
            problems.append(
                f"{call.label}, which {apis[call.attribute].class_name} in {generated} lacks"
            )
    problems += unreached_conveniences(management / SEED_METHODS_FILE.name, set(apis))
    return problems


def load_spec(path: Path) -> dict[str, Any]:
    data = load_yaml(path.read_bytes())
    if not isinstance(data, dict):
        raise BuildError(f"{path} is not an OpenAPI document")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, help="spec file (default: the locked spec)")
    parser.add_argument(
        "--generated",
        type=Path,
        default=ROOT / GENERATED_PACKAGE,
        help=f"generated package directory (default: {GENERATED_PACKAGE}/)",
    )
    args = parser.parse_args(argv)
    try:
        if args.spec is None:
            args.spec = locked_spec(MANAGEMENT)
        spec = load_spec(args.spec)
        problems = check_coverage(spec, args.generated)
    except (BuildError, OSError, SyntaxError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if problems:
        print(f"ManagementClient does not cover {args.spec} ({len(problems)} problem(s)):")
        print("\n".join(f"  - {p}" for p in problems))
        return 1
    count = len(operations(spec))
    print(
        f"coverage ok: {count} operations reachable from ManagementClient; every generated "
        "method the handwritten management code calls is an operation of the spec"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
