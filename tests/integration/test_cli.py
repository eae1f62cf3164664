"""The ``kinde`` command, run as a subprocess against Prism and the loopback token server.

Every run goes through :func:`run_cli`, which also checks that the client secret never
appears on stdout or stderr, whatever the command and however it ends.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.servers.front import FrontServer

pytestmark = pytest.mark.prism


TIMEOUT = 120
USERS_HEADER = ["id", "email", "first_name", "last_name", "provided_id", "is_suspended"]


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("KINDE_")}


def run_cli(
    *args: str,
    domain: Optional[str],
    client_id: str,
    secret: str,
    cwd: Optional[Path] = None,
    env_extra: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    env = _base_env()
    if domain is not None:
        env["KINDE_DOMAIN"] = domain
    env["KINDE_MANAGEMENT_CLIENT_ID"] = client_id
    env["KINDE_MANAGEMENT_CLIENT_SECRET"] = secret
    env.update(env_extra or {})
    result = subprocess.run(
        [sys.executable, "-m", "kinde_sdk.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert secret not in result.stdout, "the client secret leaked to stdout"
    assert secret not in result.stderr, "the client secret leaked to stderr"
    return result


def kinde(front: FrontServer, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run_cli(
        *args,
        domain=front.url,
        client_id=front.state.client_id,
        secret=front.state.client_secret,
        **kwargs,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stderr)
    return result.stdout


def json_lines(text: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(r, dict) for r in records)
    return records


# -- listing and output formats --------------------------------------------------------


def test_users_list_json_lines(kinde_domain: FrontServer) -> None:
    users = json_lines(ok(kinde(kinde_domain, "users", "list")))  # not a tty: JSON lines
    assert users and all("id" in u and "email" in u for u in users)
    assert json_lines(ok(kinde(kinde_domain, "users", "list", "-o", "json"))) == users
    limited = json_lines(ok(kinde(kinde_domain, "users", "list", "--limit", "1")))
    assert limited == users[:1]


def test_users_list_csv(kinde_domain: FrontServer) -> None:
    out = ok(kinde(kinde_domain, "-o", "csv", "users", "list", "--page-size", "5"))
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == USERS_HEADER
    assert len(rows) > 1 and all(len(r) == len(USERS_HEADER) for r in rows)
    custom = ok(kinde(kinde_domain, "users", "list", "-o", "csv", "--columns", "id,email"))
    assert custom.splitlines()[0] == "id,email"


def test_users_list_table_is_aligned(kinde_domain: FrontServer) -> None:
    users = json_lines(ok(kinde(kinde_domain, "users", "list")))
    out = ok(kinde(kinde_domain, "users", "list", "--output", "table"))
    lines = out.splitlines()
    assert lines[0].split() == [c.upper() for c in USERS_HEADER]
    assert len(lines) == len(users) + 1
    # Every column starts at the same offset on every line.
    email_at = lines[0].index("EMAIL")
    for line, user in zip(lines[1:], users):
        assert line[email_at:].startswith(user["email"])


def test_other_lists(kinde_domain: FrontServer) -> None:
    orgs = json_lines(ok(kinde(kinde_domain, "orgs", "list")))
    assert orgs and all(o["code"].startswith("org_") for o in orgs)
    roles = json_lines(ok(kinde(kinde_domain, "roles", "list", "-o", "json")))
    assert roles and all("key" in r for r in roles)
    permissions = json_lines(ok(kinde(kinde_domain, "permissions", "list")))
    assert permissions and all("key" in p for p in permissions)
    flags = ok(kinde(kinde_domain, "flags", "list", "-o", "csv"))
    assert flags.splitlines()[0] == "key,type,value" and len(flags.splitlines()) > 1


# -- single resources ------------------------------------------------------------------


def test_users_get_create_update_delete(kinde_domain: FrontServer) -> None:
    user = json_lines(ok(kinde(kinde_domain, "users", "get", "kp_1")))
    assert len(user) == 1 and "id" in user[0]

    created = json_lines(
        ok(
            kinde(
                kinde_domain,
                "users",
                "create",
                "--email",
                "new@example.com",
                "--first-name",
                "New",
                "--last-name",
                "User",
            )
        )
    )
    assert created[0]["id"]

    updated = ok(kinde(kinde_domain, "users", "update", "kp_1", "--first-name", "Re", "--suspend"))
    assert json_lines(updated)
    deleted = json_lines(ok(kinde(kinde_domain, "users", "delete", "kp_1")))
    assert "code" in deleted[0]

    table = ok(kinde(kinde_domain, "users", "get", "kp_1", "-o", "table"))
    assert table.splitlines()[0].split()[0] == "id"


def test_orgs_roles_permissions_flags(kinde_domain: FrontServer) -> None:
    org = json_lines(ok(kinde(kinde_domain, "orgs", "get", "org_1")))[0]
    assert org["code"].startswith("org_")
    new_org = json_lines(ok(kinde(kinde_domain, "orgs", "create", "--name", "Acme")))[0]
    assert new_org["code"].startswith("org_")
    ok(kinde(kinde_domain, "orgs", "update", "org_1", "--name", "Renamed"))
    ok(kinde(kinde_domain, "orgs", "delete", "org_1"))

    assert "id" in json_lines(ok(kinde(kinde_domain, "roles", "get", "role_1")))[0]
    role = ok(kinde(kinde_domain, "roles", "create", "--name", "Admin", "--key", "admin"))
    assert json_lines(role)[0]["id"]
    ok(kinde(kinde_domain, "roles", "update", "role_1", "--name", "Super", "--key", "super"))
    ok(kinde(kinde_domain, "roles", "delete", "role_1"))

    ok(kinde(kinde_domain, "permissions", "create", "--name", "Read", "--key", "read"))
    ok(kinde(kinde_domain, "permissions", "update", "perm_1", "--name", "Read all"))
    ok(kinde(kinde_domain, "permissions", "delete", "perm_1"))

    flag = json_lines(
        ok(
            kinde(
                kinde_domain,
                "flags",
                "create",
                "--key",
                "dark_mode",
                "--name",
                "Dark mode",
                "--type",
                "boolean",
                "--default-value",
                "false",
            )
        )
    )[0]
    assert (flag["key"], flag["type"], flag["default_value"]) == ("dark_mode", "bool", "false")
    updated = ok(
        kinde(
            kinde_domain,
            "flags",
            "update",
            "dark_mode",
            "--name",
            "Dark",
            "--description",
            "Dark theme",
            "--type",
            "bool",
            "--default-value",
            "true",
        )
    )
    assert json_lines(updated)[0]["default_value"] == "true"
    ok(kinde(kinde_domain, "flags", "delete", "dark_mode"))


def test_token_prints_only_a_token(kinde_domain: FrontServer) -> None:
    result = kinde(kinde_domain, "token")
    out = ok(result)
    assert out.endswith("\n") and len(out.splitlines()) == 1
    token = out.strip()
    assert token in kinde_domain.state.tokens
    assert result.stderr == ""


# -- errors and exit codes -------------------------------------------------------------


def test_api_error_exits_1_with_status_and_request_id(kinde_domain: FrontServer) -> None:
    # Prism answers with the spec's example error for the status the Prefer header names.
    result = kinde(kinde_domain, "users", "list", "--header", "Prefer: code=400")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "status 400" in result.stderr
    assert "request id " in result.stderr and "request id unknown" not in result.stderr

    result = kinde(kinde_domain, "--header", "Prefer: code=403", "users", "get", "kp_1")
    assert result.returncode == 1 and "status 403" in result.stderr


def test_bad_credentials_exit_1_and_never_show_a_secret(kinde_domain: FrontServer) -> None:
    wrong = "wrong-secret-value-0123"
    result = kinde(kinde_domain, "token", "--client-secret", wrong)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "invalid_client" in result.stderr
    assert wrong not in result.stderr
    # The same wrong secret from the environment.
    result = run_cli(
        "users", "list", domain=kinde_domain.url, client_id="other-client", secret=wrong
    )
    assert result.returncode == 1 and wrong not in result.stderr


def test_usage_errors_exit_2(kinde_domain: FrontServer) -> None:
    assert kinde(kinde_domain, "users", "frobnicate").returncode == 2
    assert kinde(kinde_domain, "users", "get").returncode == 2  # missing id
    assert kinde(kinde_domain, "users", "list", "-o", "xml").returncode == 2
    assert kinde(kinde_domain).returncode == 2
    result = kinde(kinde_domain, "users", "list", "--header", "no colon")
    assert result.returncode == 2 and "NAME:VALUE" in result.stderr
    result = kinde(kinde_domain, "users", "update", "kp_1")
    assert result.returncode == 2 and "nothing to change" in result.stderr


def test_missing_configuration_exits_2(kinde_domain: FrontServer) -> None:
    result = run_cli(
        "users",
        "list",
        domain=None,
        client_id=kinde_domain.state.client_id,
        secret=kinde_domain.state.client_secret,
    )
    assert result.returncode == 2
    assert "KINDE_DOMAIN" in result.stderr and "--domain" in result.stderr
    assert result.stdout == ""
    # Flags stand in for the environment.
    assert (
        run_cli(
            "token",
            "--domain",
            kinde_domain.url,
            domain=None,
            client_id=kinde_domain.state.client_id,
            secret=kinde_domain.state.client_secret,
        ).returncode
        == 0
    )


# -- bulk import -----------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _results(path: Path) -> list[dict[str, Any]]:
    """The results file's records; a line cut short by a killed run is left out."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            assert line.startswith('{"line": 2'), line  # only the seeded fragment
    return records


def _created(path: Path) -> dict[str, int]:
    """How many ``created`` records each email has."""
    counts: dict[str, int] = {}
    for record in _results(path):
        if record["status"] == "created":
            counts[record["email"]] = counts.get(record["email"], 0) + 1
    return counts


GOOD_CSV = (
    "email,first_name,last_name,organization_code,provided_id\n"
    "ann@example.com,Ann,One,,ext-1\n"
    "bob@example.com,Bob,Two,org_1,\n"
    "cat@example.com,Cat,Three,,\n"
    "dan@example.com,Dan,Four,,\n"
)
EMAILS = ["ann@example.com", "bob@example.com", "cat@example.com", "dan@example.com"]


def test_import_dry_run_reports_every_bad_row_and_sends_nothing(
    kinde_domain: FrontServer, tmp_path: Path
) -> None:
    bad_csv = _write(
        tmp_path / "users.csv",
        "email,first_name,nickname\n"
        "ok@example.com,Ok,x\n"
        "not-an-email,Bad,x\n"
        ",Missing,x\n"
        "ok@example.com,Again,x\n",
    )
    bad_jsonl = _write(
        tmp_path / "users.jsonl",
        '{"email": "fine@example.com"}\n'
        "{not json\n"
        '{"email": "x@example.com", "age": 3}\n'
        "\n"
        '{"first_name": "No email"}\n'
        '{"email": "broken@"}\n',
    )
    state = kinde_domain.state
    before = (state.api_requests, state.token_requests)

    result = kinde(kinde_domain, "users", "import", str(bad_csv), "--dry-run")
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    for number, reason in [
        (1, "unknown column 'nickname'"),
        (3, "bad email"),
        (4, "missing email"),
        (5, "duplicate email"),
    ]:
        assert any(line.startswith(f"{bad_csv}:{number}: {reason}") for line in lines), lines
    assert not any(f"{bad_csv}:2:" in line for line in lines)

    result = kinde(kinde_domain, "users", "import", str(bad_jsonl), "--dry-run")
    assert result.returncode == 2
    for number, reason in [
        (2, "bad JSON"),
        (3, "unknown key(s) 'age'"),
        (5, "missing email"),
        (6, "bad email"),
    ]:
        assert f"{bad_jsonl}:{number}: {reason}" in result.stderr, result.stderr
    assert f"{bad_jsonl}:1:" not in result.stderr

    # Without --dry-run, a file with bad rows is refused as a whole.
    assert kinde(kinde_domain, "users", "import", str(bad_csv)).returncode == 2

    good = _write(tmp_path / "good.csv", GOOD_CSV)
    result = kinde(kinde_domain, "users", "import", str(good), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "4 to create" in result.stderr
    assert (state.api_requests, state.token_requests) == before
    assert not list(tmp_path.glob("*.results.jsonl"))


def test_import_creates_each_row_once_and_a_rerun_creates_nothing(
    kinde_domain: FrontServer, tmp_path: Path
) -> None:
    source = _write(tmp_path / "users.csv", GOOD_CSV)
    results = tmp_path / "users.csv.results.jsonl"
    state = kinde_domain.state

    before = state.api_requests
    result = kinde(kinde_domain, "users", "import", str(source), "--concurrency", "2")
    assert result.returncode == 0, result.stderr
    assert state.api_requests - before == len(EMAILS)
    assert _created(results) == dict.fromkeys(EMAILS, 1)
    assert {r["line"] for r in _results(results)} == {2, 3, 4, 5}
    assert "4 created" in result.stderr
    assert "progress:" in result.stderr  # stderr is not a terminal: plain lines

    before = state.api_requests
    result = kinde(kinde_domain, "users", "import", str(source))
    assert result.returncode == 0, result.stderr
    assert state.api_requests == before
    assert _created(results) == dict.fromkeys(EMAILS, 1)
    assert "0 created, 4 skipped" in result.stderr


def test_interrupted_import_only_creates_the_rest(
    kinde_domain: FrontServer, tmp_path: Path
) -> None:
    source = _write(
        tmp_path / "users.jsonl",
        "".join(json.dumps({"email": e, "first_name": e[:3]}) + "\n" for e in EMAILS),
    )
    results = tmp_path / "progress.jsonl"
    # A run that was killed after two rows, the last line cut short mid-write.
    results.write_text(
        json.dumps({"line": 1, "email": EMAILS[0], "status": "started"})
        + "\n"
        + json.dumps({"line": 1, "email": EMAILS[0], "status": "created", "id": "kp_a"})
        + "\n"
        + json.dumps({"line": 3, "email": EMAILS[2], "status": "created", "id": "kp_c"})
        + '\n{"line": 2, "email": "bo'
    )
    state = kinde_domain.state
    before = state.api_requests
    result = kinde(kinde_domain, "users", "import", str(source), "--results", str(results))
    assert result.returncode == 0, result.stderr
    assert state.api_requests - before == 2
    assert _created(results) == dict.fromkeys(EMAILS, 1)
    new = [r for r in _results(results)[3:] if r["status"] == "created"]
    assert sorted(r["email"] for r in new) == [EMAILS[1], EMAILS[3]]


# -- against a scripted server: streaming and rate limits ------------------------------


def _token_endpoint(server: HTTPServer) -> None:
    server.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "scripted-token", "expires_in": 3600, "token_type": "bearer"}
    )


def test_list_output_streams_page_by_page(httpserver_ipv4: HTTPServer) -> None:
    server = httpserver_ipv4
    _token_endpoint(server)
    first_page_read = threading.Event()
    waited_ok: list[bool] = []

    def users(request: Request) -> Response:
        token = request.args.get("next_token")
        body: dict[str, Any]
        if token is None:
            body = {"users": [{"id": "kp_1", "email": "a@example.com"}], "next_token": "t2"}
        else:
            # The second page is served only once the first one has reached the reader.
            waited_ok.append(first_page_read.wait(TIMEOUT / 2))
            body = {"users": [{"id": "kp_2", "email": "b@example.com"}]}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/api/v1/users", method="GET").respond_with_handler(users)
    env = {
        **_base_env(),
        "KINDE_DOMAIN": server.url_for("/").rstrip("/"),
        "KINDE_CLIENT_ID": "stream-client",
        "KINDE_CLIENT_SECRET": "stream-secret",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "kinde_sdk.cli", "users", "list", "-o", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert json.loads(first)["id"] == "kp_1"
        first_page_read.set()
        rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        first_page_read.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert [json.loads(line)["id"] for line in rest.splitlines()] == ["kp_2"]
    assert waited_ok == [True]


def test_import_backs_off_on_429_and_creates_each_row_once(
    httpserver_ipv4: HTTPServer, tmp_path: Path
) -> None:
    server = httpserver_ipv4
    _token_endpoint(server)
    lock = threading.Lock()
    attempts: dict[str, int] = {}
    created: dict[str, int] = {}

    def create_user(request: Request) -> Response:
        email = request.get_json()["identities"][0]["details"]["email"]
        with lock:
            attempts[email] = attempts.get(email, 0) + 1
            first = attempts[email] == 1
            if not first:
                created[email] = created.get(email, 0) + 1
        if first:
            error = {"errors": [{"code": "TOO_MANY_REQUESTS", "message": "slow down"}]}
            return Response(
                json.dumps(error),
                status=429,
                headers={"Retry-After": "0"},
                content_type="application/json",
            )
        body = {"id": f"kp_{email.split('@')[0]}", "created": True}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/api/v1/user", method="POST").respond_with_handler(create_user)
    source = _write(tmp_path / "users.csv", GOOD_CSV)
    secret = "scripted-secret-4242"
    result = run_cli(
        "users",
        "import",
        str(source),
        "--concurrency",
        "3",
        domain=server.url_for("/").rstrip("/"),
        client_id="import-429-client",
        secret=secret,
    )
    assert result.returncode == 0, result.stderr
    assert created == dict.fromkeys(EMAILS, 1)
    assert attempts == dict.fromkeys(EMAILS, 2)
    results = tmp_path / "users.csv.results.jsonl"
    assert _created(results) == dict.fromkeys(EMAILS, 1)
    ids = {r["email"]: r["id"] for r in _results(results) if r["status"] == "created"}
    assert ids["ann@example.com"] == "kp_ann"


def test_import_checks_rows_left_in_flight_before_creating_them(
    httpserver_ipv4: HTTPServer, tmp_path: Path
) -> None:
    """A row whose last record is ``started`` may have been created by the killed run:
    it is looked up by email, and created only when Kinde does not have it."""
    server = httpserver_ipv4
    _token_endpoint(server)
    posted: list[str] = []

    def users(request: Request) -> Response:
        email = request.args.get("email")
        found = [{"id": "kp_existing", "email": email}] if email == EMAILS[0] else []
        return Response(json.dumps({"users": found}), content_type="application/json")

    def create_user(request: Request) -> Response:
        posted.append(request.get_json()["identities"][0]["details"]["email"])
        body = {"id": "kp_new", "created": True}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/api/v1/users", method="GET").respond_with_handler(users)
    server.expect_request("/api/v1/user", method="POST").respond_with_handler(create_user)
    source = _write(tmp_path / "users.csv", "email\n" + "\n".join(EMAILS[:2]) + "\n")
    results = tmp_path / "users.csv.results.jsonl"
    results.write_text(
        "".join(
            json.dumps({"line": n, "email": e, "status": "started"}) + "\n"
            for n, e in [(2, EMAILS[0]), (3, EMAILS[1])]
        )
    )
    result = run_cli(
        "users",
        "import",
        str(source),
        domain=server.url_for("/").rstrip("/"),
        client_id="import-inflight-client",
        secret="scripted-secret-4343",
    )
    assert result.returncode == 0, result.stderr
    assert posted == [EMAILS[1]]
    ids = {r["email"]: r["id"] for r in _results(results) if r["status"] == "created"}
    assert ids == {EMAILS[0]: "kp_existing", EMAILS[1]: "kp_new"}
