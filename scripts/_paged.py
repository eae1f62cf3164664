"""Write kinde_sdk_generated/_kinde_paged.py: one typed iterator per cursor-paged list.

Run by scripts/generate.py on the freshly generated package, so it is derived, never kept
by hand: an operation is cursor-paged when its generated method takes ``next_token`` and
its response model has a ``next_token`` field and exactly one list field (the items).
A new paged operation in the spec gets its iterator by regeneration; a paged-looking
operation whose response has no single list field stops the build with its name.

Reads the generated sources with ``ast`` (nothing is imported), so the output depends
only on them and is byte-identical from run to run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from _build import BuildError

STRICT = {
    "StrictStr": "str",
    "StrictInt": "int",
    "StrictBool": "bool",
    "StrictFloat": "float",
    "StrictBytes": "bytes",
    "str": "str",
    "int": "int",
    "bool": "bool",
    "float": "float",
    "datetime": "datetime",
    "date": "date",
}


@dataclass(frozen=True)
class Param:
    name: str
    hint: str
    required: bool


@dataclass(frozen=True)
class Paged:
    iterator: str  # iter_users
    module: str  # users_api
    api_class: str  # UsersApi
    method: str  # get_users
    response_model: str  # UsersResponse
    items_field: str  # users
    item_model: str  # UsersResponseUsersInner
    item_module: str  # users_response_users_inner
    params: tuple[Param, ...]


def _simple_hint(node: ast.expr) -> str:
    """A generated argument annotation as plain typing (Annotated and Strict* dropped)."""
    if isinstance(node, ast.Name):
        if node.id not in STRICT:
            raise BuildError(f"paged iterators: no plain type for argument type {node.id}")
        return STRICT[node.id]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        head = node.value.id
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head == "Annotated":
            return _simple_hint(args[0])
        if head == "Optional":
            return f"Optional[{_simple_hint(args[0])}]"
        if head == "List":
            return f"list[{_simple_hint(args[0])}]"
    raise BuildError(f"paged iterators: cannot read argument type {ast.unparse(node)}")


def _model_fields(models_dir: Path, model: str) -> tuple[str, dict[str, ast.expr]]:
    """(module name, field name -> annotation) of a generated model class."""
    for path in sorted(models_dir.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if f"\nclass {model}(" not in text:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.ClassDef) and node.name == model:
                fields = {
                    stmt.target.id: stmt.annotation
                    for stmt in node.body
                    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                }
                return path.stem, fields
    raise BuildError(f"paged iterators: no generated model {model}")


def _list_item(annotation: ast.expr) -> str | None:
    """``Optional[List[X]]`` -> ``X``; anything else -> None."""
    text = ast.unparse(annotation)
    found = re.fullmatch(r"(?:Optional\[)?List\[(\w+)\]\]?", text)
    return found.group(1) if found else None


def find_paged(package: Path) -> list[Paged]:
    found: list[Paged] = []
    for path in sorted((package / "api").glob("*_api.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                    continue
                if fn.name.endswith(("_with_http_info", "_without_preload_content")):
                    continue
                args = fn.args.args[1:]
                if "next_token" not in {a.arg for a in args} or fn.returns is None:
                    continue
                response = ast.unparse(fn.returns)
                item_module_fields = _model_fields(package / "models", response)[1]
                if "next_token" not in item_module_fields:
                    continue
                lists = {
                    name: item
                    for name, ann in item_module_fields.items()
                    if (item := _list_item(ann)) is not None
                }
                if len(lists) != 1:
                    raise BuildError(
                        f"paged iterators: {cls.name}.{fn.name} takes next_token but "
                        f"{response} has {len(lists)} list fields ({sorted(lists)}); "
                        "scripts/_paged.py cannot tell which holds the items"
                    )
                (items_field, item_model), *_ = lists.items()
                defaults = len(fn.args.defaults)
                params = tuple(
                    Param(a.arg, _simple_hint(a.annotation), i < len(args) - defaults)
                    for i, a in enumerate(args)
                    if a.annotation is not None
                    and not a.arg.startswith("_")
                    and a.arg != "next_token"
                )
                found.append(
                    Paged(
                        iterator="iter_" + fn.name.removeprefix("get_"),
                        module=path.stem,
                        api_class=cls.name,
                        method=fn.name,
                        response_model=response,
                        items_field=items_field,
                        item_model=item_model,
                        item_module=_model_fields(package / "models", item_model)[0],
                        params=params,
                    )
                )
    names = [p.iterator for p in found]
    if len(names) != len(set(names)):
        raise BuildError(f"paged iterators: two operations give the same iterator name {names}")
    return sorted(found, key=lambda p: p.iterator)


HEADER = '''# coding: utf-8
# Generated by scripts/_paged.py (run by `make generate`) from the generated API methods:
# one typed iterator per cursor-paged list. Do not edit by hand.

"""Typed iterators over every cursor-paged list operation (``next_token``).

``PagedIterators`` is a mixin for ``kinde_sdk.management.ManagementClient``; each
``iter_*`` method yields the items of every page, fetching a page only when the previous
one is used up. ``PAGED_OPERATIONS`` describes the same operations as data, for other
clients (async) to build on.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterator, NamedTuple, Optional

if TYPE_CHECKING:
'''


def render(paged: list[Paged]) -> str:
    out = [HEADER]
    for p in sorted({(p.item_module, p.item_model) for p in paged}):
        out.append(f"    from kinde_sdk_generated.models.{p[0]} import {p[1]}\n")
    out.append("""

class PagedOperation(NamedTuple):
    iterator: str
    api_module: str
    api_class: str
    method: str
    items_field: str
    item_model: str


PAGED_OPERATIONS: tuple[PagedOperation, ...] = (
""")
    for p in paged:
        out.append(
            f"    PagedOperation({p.iterator!r}, {p.module!r}, {p.api_class!r}, {p.method!r}, "
            f"{p.items_field!r}, {p.item_model!r}),\n"
        )
    out.append(''')


class PagedIterators:
    """Mixin: one typed iterator per cursor-paged list operation."""

    def _sub_api(self, module: str, class_name: str) -> Any:
        raise NotImplementedError

    def _kinde_paginate(
        self,
        list_method: Callable[..., Any],
        items_field: str,
        params: dict[str, Any],
        max_pages: Optional[int],
    ) -> Iterator[Any]:
        raise NotImplementedError
''')
    for p in paged:
        required = [q for q in p.params if q.required]
        page_size = [q for q in p.params if q.name == "page_size"]
        rest = [q for q in p.params if not q.required and q.name != "page_size"]
        sig = ["self"]
        sig += [f"{q.name}: {q.hint}" for q in required]
        sig += [f"{q.name}: {q.hint} = None" for q in page_size]
        sig.append("*")
        sig += [f"{q.name}: {q.hint} = None" for q in rest]
        sig.append("max_pages: Optional[int] = None")
        args = ", ".join(f"{q.name!r}: {q.name}" for q in p.params)
        joined = ",\n        ".join(sig)
        out.append(f'''
    def {p.iterator}(
        {joined},
    ) -> Iterator[{p.item_model}]:
        """Every item of ``{p.api_class}.{p.method}`` (its ``{p.items_field}``), page by page
        following ``next_token``; a page is fetched only when the one before is used up.
        Arguments are those of ``{p.method}``; ``max_pages`` stops after that many pages."""
        api = self._sub_api({p.module!r}, {p.api_class!r})
        return self._kinde_paginate(
            api.{p.method}, {p.items_field!r}, {{{args}}}, max_pages
        )
''')
    return "".join(out)


def write_paged_module(package: Path) -> Path:
    target = package / "_kinde_paged.py"
    target.write_text(render(find_paged(package)), encoding="utf-8")
    return target
