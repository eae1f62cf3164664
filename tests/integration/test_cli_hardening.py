"""Issue 14 items 12-15: the ``kinde`` command under hostile input and concurrent runs."""

from __future__ import annotations

import argparse
import csv
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk.cli import _import, _output, main
from kinde_sdk.cli._commands import Context

EMAILS = [f"user{n}@example.com" for n in range(12)]
HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTAB-led",
    "\rCR-led",
    "two\rrows",
    'quote"inside',
    "plain",
]


@pytest.fixture
def kinde_env(httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    server = httpserver_ipv4
    server.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "scripted-token", "expires_in": 3600, "token_type": "bearer"}
    )
    monkeypatch.setenv("KINDE_DOMAIN", server.url_for("/").rstrip("/"))
    monkeypatch.setenv("KINDE_CLIENT_ID", "cli-hardening-client")
    monkeypatch.setenv("KINDE_CLIENT_SECRET", "cli-hardening-secret-1234")
    for name in ("KINDE_HOST", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return server


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


# -- 12: the lock comes before the results file is read ------------------------------------


def test_an_import_that_ends_while_a_second_validates_is_not_repeated(
    kinde_env: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: dict[str, int] = {}
    lock = threading.Lock()

    def create_user(request: Request) -> Response:
        email = request.get_json()["identities"][0]["details"]["email"]
        with lock:
            created[email] = created.get(email, 0) + 1
        body = {"id": "kp_" + email.split("@")[0], "created": True}
        return Response(json.dumps(body), content_type="application/json")

    kinde_env.expect_request("/api/v1/user", method="POST").respond_with_handler(create_user)
    source = tmp_path / "users.csv"
    source.write_text("email\n" + "\n".join(EMAILS) + "\n")

    # The second run's validation pass is where the first run completes: exactly the
    # window in which the old code had already read the (still empty) results file.
    real_parse = _import.parse
    first_run: list[int] = []
    started = threading.Event()

    def parse(path: Path, fmt: str) -> Iterator[Any]:
        if not started.is_set():
            started.set()
            first_run.append(run("users", "import", str(source), "--concurrency", "4")[0])
        yield from real_parse(path, fmt)

    monkeypatch.setattr(_import, "parse", parse)
    status, _, err = run("users", "import", str(source))
    assert first_run == [0]
    assert status == 0, err
    assert created == dict.fromkeys(EMAILS, 1)  # nobody created twice
    assert f"0 created, {len(EMAILS)} skipped" in err


def test_a_second_import_while_the_first_holds_the_lock_is_refused(
    kinde_env: HTTPServer, tmp_path: Path
) -> None:
    source = tmp_path / "users.csv"
    source.write_text("email\n" + EMAILS[0] + "\n")
    holder = _import.ResultsFile(tmp_path / "users.csv.results.jsonl")
    try:
        status, _, err = run("users", "import", str(source))
    finally:
        holder.close()
    assert status == 2 and "in use by another import" in err


# -- 13: CSV formula injection ---------------------------------------------------------------


def serve_users(server: HTTPServer, values: list[str]) -> None:
    users = [
        {"id": f"kp_{n}", "email": f"u{n}@example.com", "first_name": value}
        for n, value in enumerate(values)
    ]
    server.expect_request("/api/v1/users", method="GET").respond_with_json({"users": users})


def test_users_list_csv_neutralises_formulas_and_quotes_correctly(kinde_env: HTTPServer) -> None:
    serve_users(kinde_env, HOSTILE)
    status, out, err = run("users", "list", "-o", "csv", "--columns", "id,first_name")
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 1 + len(HOSTILE)  # the bare CR did not split a row
    cells = [row[1] for row in rows[1:]]
    for original, written in zip(HOSTILE, cells):
        if original[0] in "=+-@\t\r":
            assert written == "'" + original  # OWASP: a leading quote, inside quotes
        else:
            assert written == original
    lines = out.split("\n")
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in lines[1]
    assert lines[-1] == ""  # every row ends with a newline, nothing after the last


def test_raw_keeps_values_untouched_but_still_quoted(kinde_env: HTTPServer) -> None:
    serve_users(kinde_env, HOSTILE)
    status, out, err = run("users", "list", "-o", "csv", "--raw", "--columns", "first_name")
    assert status == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert [row[0] for row in rows[1:]] == HOSTILE


def test_csv_field_rules() -> None:
    assert _output.csv_field("plain") == "plain"
    assert _output.csv_field("=1+1") == '"\'=1+1"'
    assert _output.csv_field("=1+1", raw=True) == "=1+1"
    assert _output.csv_field("a\rb", raw=True) == '"a\rb"'
    assert _output.csv_field("a,b") == '"a,b"'
    assert _output.csv_field(" padded ") == '" padded "'
    assert _output.csv_row(["@x", "y"]) == '"\'@x",y\n'


def test_write_object_csv_is_neutralised_too() -> None:
    out = io.StringIO()
    _output.write_object(out, "csv", {"name": "=cmd", "note": "ok"})
    assert out.getvalue() == 'name,note\n"\'=cmd",ok\n'


# -- 14: a 100k-deep JSON row ----------------------------------------------------------------


def test_a_deeply_nested_jsonl_row_is_a_per_line_error(tmp_path: Path) -> None:
    source = tmp_path / "users.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    source.write_text(
        json.dumps({"email": "ok@example.com"}) + "\n" + deep + "\n" + '{"email": "x"}\n'
    )
    status, _, err = run("users", "import", str(source), "--dry-run")
    assert status == 2
    assert f"{source}:2: bad JSON: nested too deeply" in err
    assert f"{source}:3: bad email 'x'" in err
    assert "Traceback" not in err


def test_a_deeply_nested_results_line_is_skipped(tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    results.write_text(
        "[" * 100_000 + "]" * 100_000 + "\n" + json.dumps({"email": "a@b.co", "status": "created"})
    )
    assert _import.load_results(results) == {"a@b.co": {"email": "a@b.co", "status": "created"}}


# -- 15: the context's repr --------------------------------------------------------------------


def test_context_repr_hides_the_client_secret() -> None:
    args = argparse.Namespace(client_secret="cli-secret-value-9876", client_id="c", output="json")
    text = repr(Context(args=args, out=io.StringIO(), err=io.StringIO()))
    assert "cli-secret-value-9876" not in text
    assert "'client_secret': '[redacted]'" in text and "'client_id': 'c'" in text
    assert "cli-secret-value-9876" not in str(
        Context(args=args, out=io.StringIO(), err=io.StringIO())
    )


def test_context_repr_hides_header_values() -> None:
    args = argparse.Namespace(header=["X-Gateway-Key: gw-secret-4321"], client_id="c")
    text = repr(Context(args=args, out=io.StringIO(), err=io.StringIO()))
    assert "gw-secret-4321" not in text
    assert "'X-Gateway-Key:[redacted]'" in text
