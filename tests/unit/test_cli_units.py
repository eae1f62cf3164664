"""The ``kinde`` command's pure parts: import parsing, results file, progress, output."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest

from kinde_sdk.cli import _output, main
from kinde_sdk.cli._commands import UsageError, parse_headers
from kinde_sdk.cli._import import (
    Progress,
    ResultsBusyError,
    ResultsFile,
    Row,
    RowError,
    input_format,
    load_results,
    parse,
)


def _parse(tmp_path: Path, name: str, text: str) -> list[Row | RowError]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return list(parse(path, input_format(path, None)))


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    items = _parse(
        tmp_path,
        "u.csv",
        "\ufeffEmail , First_Name\n"  # a BOM and loose header spelling, as spreadsheets write
        'a@example.com,"two\nlines"\n'
        "\n"
        "bad,x\n"
        " B@Example.com ,\n",
    )
    assert items == [
        Row(line=2, email="a@example.com", first_name="two\nlines"),
        RowError(5, "bad email 'bad'"),
        Row(line=6, email="B@Example.com"),
    ]


def test_csv_duplicate_emails_ignore_case(tmp_path: Path) -> None:
    items = _parse(tmp_path, "u.csv", "email\na@example.com\nA@EXAMPLE.com\n")
    assert items[1] == RowError(3, "duplicate email 'A@EXAMPLE.com' (line 2)")


def test_csv_without_email_column(tmp_path: Path) -> None:
    assert _parse(tmp_path, "u.csv", "first_name\nAnn\n") == [RowError(1, "no 'email' column")]


def test_jsonl_errors(tmp_path: Path) -> None:
    items = _parse(
        tmp_path,
        "u.jsonl",
        '{"email": "a@example.com", "provided_id": null}\nnope\n"a string"\n{"email": 7}\n',
    )
    assert items[0] == Row(line=1, email="a@example.com")
    assert [(e.line, e.message.split(":")[0]) for e in items[1:] if isinstance(e, RowError)] == [
        (2, "bad JSON"),
        (3, "expected a JSON object"),
        (4, "'email' must be a string"),
    ]


def test_input_format() -> None:
    assert input_format(Path("x.CSV"), None) == "csv"
    assert input_format(Path("x.ndjson"), None) == "jsonl"
    assert input_format(Path("x.txt"), "csv") == "csv"
    with pytest.raises(ValueError, match="cannot tell"):
        input_format(Path("x.txt"), None)


def test_results_file_appends_whole_lines_after_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"email": "a@example.com", "status": "created", "id": "kp_a"}\n{"ema')
    results = ResultsFile(path)

    def write(n: int) -> None:
        for i in range(100):
            results.write({"line": i, "email": f"u{n}-{i}@example.com", "status": "created"})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.close()
    lines = path.read_text().splitlines()
    assert lines[1] == '{"ema'
    assert len([json.loads(line) for line in lines[2:]]) == 600
    assert len(load_results(path)) == 601


def test_one_import_per_results_file(tmp_path: Path) -> None:
    first = ResultsFile(tmp_path / "r.jsonl")
    try:
        with pytest.raises(ResultsBusyError, match="in use"):
            ResultsFile(tmp_path / "r.jsonl")
    finally:
        first.close()
    ResultsFile(tmp_path / "r.jsonl").close()


def test_load_results_keeps_created(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    records = [
        {"email": "A@example.com", "status": "started"},
        {"email": "a@example.com", "status": "created", "id": "kp_a"},
        {"email": "a@example.com", "status": "failed"},
        {"email": "b@example.com", "status": "started"},
        ["not", "a", "record"],
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    state = load_results(path)
    assert state["a@example.com"]["id"] == "kp_a"
    assert state["b@example.com"]["status"] == "started"
    assert load_results(tmp_path / "missing.jsonl") == {}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal() -> None:
    stream = _Tty()
    progress = Progress(2, stream)
    progress.add("created")
    progress.add("failed")
    progress.finish()
    text = stream.getvalue()
    assert text.startswith("\r[") and text.endswith("\n")
    assert "2/2 rows: 1 created, 0 skipped, 1 failed" in text


def test_progress_lines_elsewhere() -> None:
    stream = io.StringIO()
    progress = Progress(20, stream)
    for _ in range(20):
        progress.add("skipped")
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and all(line.startswith("progress: ") for line in lines)
    assert "\r" not in stream.getvalue()


def test_table_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_output, "terminal_width", lambda: 40)
    out = io.StringIO()
    writer = _output.ListWriter(out, "table", ["id", "description"])
    writer.add({"id": "r1", "description": "x" * 100})
    writer.page_done()
    writer.add({"id": "r2", "description": "short", "extra": 1})
    writer.close()
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["ID", "DESCRIPTION"]
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].endswith(_output.ELLIPSIS)
    assert lines[2].split() == ["r2", "short"]


def test_csv_header_once_across_pages() -> None:
    out = io.StringIO()
    writer = _output.ListWriter(out, "csv", ["id", "tags"])
    writer.add({"id": "a", "tags": ["x", "y"]})
    writer.page_done()
    writer.add({"id": "b", "tags": None})
    writer.close()
    assert out.getvalue() == "id,tags\na,x;y\nb,\n"


def test_parse_headers() -> None:
    assert parse_headers(["Prefer: code=400", "X-A:b"]) == {"Prefer": "code=400", "X-A": "b"}
    for bad in ["nocolon", ": v", "Authorization: Bearer x"]:
        with pytest.raises(UsageError):
            parse_headers([bad])


def test_missing_configuration_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KINDE_DOMAIN", "KINDE_HOST"):
        monkeypatch.delenv(name, raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert main(["token"], stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert "missing setting 'domain'" in err.getvalue()
