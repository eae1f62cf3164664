"""Output formats for the ``kinde`` command: JSON lines, CSV and aligned tables.

Lists are written as they arrive: :meth:`ListWriter.page_done` is called each time a page
boundary is reached (just before the next page is fetched), writes what is pending and
flushes, so ``kinde users list | head`` shows the first page while later pages load. A
table needs column widths before its first row is printed: they are measured on the first
page, fitted to the terminal, and kept for the pages after it (longer cells are cut).

CSV is written for spreadsheets, which run a cell that starts with ``=``, ``+``, ``-``,
``@``, TAB or CR as a formula (CSV injection). Such a cell is neutralised the OWASP way:
prefixed with a single quote and enclosed in double quotes. Cells are quoted whenever
they hold a comma, a double quote, CR or LF (a bare CR, which Python's ``csv`` leaves
unquoted with a ``\n`` line ending, would split the row in most readers) or leading or
trailing spaces; quotes inside are doubled (RFC 4180). ``--raw`` writes the values
untouched (still correctly quoted).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TextIO

FORMATS = ("table", "json", "csv")
GAP = "  "
MIN_WIDTH = 6
ELLIPSIS = "…"


def to_record(obj: Any) -> dict[str, Any]:
    """A generated model (or a mapping) as a plain dict of its JSON fields."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, dict):
            return result
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        dumped = dump(by_alias=True, exclude_none=True)
        if isinstance(dumped, dict):
            return dumped
    raise TypeError(f"cannot show a {type(obj).__name__}")


def to_json(record: Mapping[str, Any]) -> str:
    return json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":"))


def cell(value: Any) -> str:
    """One value as table/CSV text: lists of scalars joined, structures as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        return ";".join(str(v) for v in value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    return str(value)


# OWASP "CSV Injection": the characters that make a spreadsheet read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NEEDS_QUOTES = (",", '"', "\r", "\n")


def csv_field(text: str, *, raw: bool = False) -> str:
    """One CSV field: neutralised (unless ``raw``) and quoted as needed."""
    neutralised = not raw and text.startswith(FORMULA_TRIGGERS)
    if neutralised:
        text = "'" + text
    if neutralised or any(c in text for c in _NEEDS_QUOTES) or text != text.strip(" "):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_row(cells: Sequence[str], *, raw: bool = False) -> str:
    return ",".join(csv_field(c, raw=raw) for c in cells) + "\n"


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())  # no newlines or tabs inside a table cell
    if len(text) <= width:
        return text.ljust(width)
    return text[: max(width - 1, 0)] + ELLIPSIS


def fit_widths(natural: Sequence[int], total: int) -> list[int]:
    """Shrink the widest columns until the row (with gaps) fits in ``total`` characters."""
    widths = list(natural)
    budget = total - len(GAP) * max(len(widths) - 1, 0)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_WIDTH:
            break
        widths[widest] -= 1
    return widths


def terminal_width() -> int:
    return shutil.get_terminal_size((100, 24)).columns


class ListWriter:
    """Writes the items of a list command in one format, page by page."""

    def __init__(self, out: TextIO, fmt: str, columns: Sequence[str], *, raw: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}")
        self.out = out
        self.fmt = fmt
        self.columns = list(columns)
        self.raw = raw
        self.count = 0
        self._pending: list[dict[str, Any]] = []
        self._widths: Optional[list[int]] = None
        self._csv_header_written = False

    def add(self, item: Any) -> None:
        record = to_record(item)
        self.count += 1
        if self.fmt == "json":
            self.out.write(to_json(record) + "\n")
        else:
            self._pending.append(record)

    def page_done(self) -> None:
        """Write the pending rows and flush: called at every page boundary."""
        if self.fmt == "csv":
            if not self._csv_header_written:
                self._csv_header_written = True
                self.out.write(csv_row(self.columns, raw=self.raw))
            for record in self._pending:
                self.out.write(csv_row([cell(record.get(c)) for c in self.columns], raw=self.raw))
        elif self.fmt == "table":
            if self._widths is None:
                natural = [
                    max([len(c), *(len(cell(r.get(c))) for r in self._pending)])
                    for c in self.columns
                ]
                self._widths = fit_widths(natural, terminal_width())
                self._line([c.upper() for c in self.columns])
            for record in self._pending:
                self._line([cell(record.get(c)) for c in self.columns])
        self._pending.clear()
        self.out.flush()

    def _line(self, cells: Sequence[str]) -> None:
        assert self._widths is not None
        text = GAP.join(_fit(c, w) for c, w in zip(cells, self._widths))
        self.out.write(text.rstrip() + "\n")

    def close(self) -> None:
        self.page_done()


def write_object(out: TextIO, fmt: str, obj: Any, *, raw: bool = False) -> None:
    """One resource (get/create/update/delete results) in the chosen format."""
    record = to_record(obj)
    if fmt == "json":
        out.write(to_json(record) + "\n")
    elif fmt == "csv":
        out.write(csv_row(list(record), raw=raw))
        out.write(csv_row([cell(v) for v in record.values()], raw=raw))
    else:
        if record:
            key_width = max(len(k) for k in record)
            value_width = max(terminal_width() - key_width - len(GAP), 20)
            for key, value in record.items():
                text = " ".join(cell(value).split())
                if len(text) > value_width:
                    text = text[: value_width - 1] + ELLIPSIS
                out.write(f"{key.ljust(key_width)}{GAP}{text}".rstrip() + "\n")
    out.flush()
