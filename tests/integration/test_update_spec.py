"""scripts/update_spec.py end to end, on modified copies of the real spec.

Every run points at a copy of the lock in tmp_path (its committed spec copied beside it,
the other inputs shared with the repository) and writes its reports and any regenerated
package under tmp_path; an autouse fixture proves the repository's lock, committed spec,
reports and kinde_sdk_generated/ are untouched. The package is regenerated once (one
test). Nothing here uses the network: upstream is a local HTTP server or a closed port.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from pytest_httpserver import HTTPServer

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import update_spec  # noqa: E402
from _build import (  # noqa: E402
    GENERATED_PACKAGE,
    LOCK_FILE,
    get_spec,
    locked_spec,
    sha256_of,
)
from check_coverage import check_coverage  # noqa: E402

# libyaml when present: the spec is large (~0.8 s to parse in pure Python).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Spec = dict[str, Any]


@pytest.fixture(scope="module")
def spec_path() -> Path:
    """The committed Management API spec, hash-checked against the lock."""
    return locked_spec()


@pytest.fixture(scope="module")
def real_spec(spec_path: Path) -> Spec:
    with spec_path.open(encoding="utf-8") as fh:
        spec: Spec = yaml.load(fh, Loader=LOADER)
    return spec


@pytest.fixture(autouse=True)
def repo_untouched(spec_path: Path) -> Iterator[None]:
    generated = ROOT / GENERATED_PACKAGE
    watched = [
        LOCK_FILE,
        spec_path,
        update_spec.REPORT_DIR / update_spec.SUMMARY_NAME,
        update_spec.REPORT_DIR / "management-api-diff.md",
        generated / "api" / "users_api.py",
    ]

    def snapshot() -> dict[Path, Any]:
        state: dict[Path, Any] = {p: p.read_bytes() if p.exists() else None for p in watched}
        state[generated] = sorted(p.name for p in (generated / "api").glob("*.py"))
        return state

    before = snapshot()
    yield
    assert snapshot() == before, "update_spec wrote into the repository"


def lock_copy(directory: Path, spec_path: Path, **entries: dict[str, str]) -> Path:
    """A copy of the lock in ``directory``, its spec copied beside it and its other inputs
    (fixes, templates, generator config) pointing at the repository's. ``entries`` are
    more lock entries, each the management one with these keys changed."""
    directory.mkdir(parents=True, exist_ok=True)
    management = json.loads(LOCK_FILE.read_text())["management"]
    for key in ("generator_config", "spec_fixes", "template_edits", "templates"):
        management[key] = str((LOCK_FILE.parent / management[key]).resolve())
    (directory / management["file"]).write_bytes(spec_path.read_bytes())
    lock = {"management": management}
    for name, changes in entries.items():
        lock[name] = {**management, **changes}
    path = directory / "spec.lock.json"
    path.write_text(json.dumps(lock, indent=2) + "\n")
    return path


@pytest.fixture
def lock(tmp_path: Path, spec_path: Path) -> Path:
    return lock_copy(tmp_path / "openapi", spec_path)


@pytest.fixture
def write_spec(tmp_path: Path, real_spec: Spec) -> Callable[[Callable[[Spec], object]], Path]:
    """A modified copy of the real spec, written to tmp_path."""

    def write(modify: Callable[[Spec], object]) -> Path:
        spec = copy.deepcopy(real_spec)
        modify(spec)
        path = tmp_path / "new-spec.yaml"
        path.write_text(yaml.dump(spec, Dumper=DUMPER, sort_keys=False), encoding="utf-8")
        return path

    return write


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "update_spec.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=600,
    )


def add_widgets(spec: Spec) -> None:
    spec["paths"]["/api/v1/widgets"] = {
        "get": {
            "operationId": "getWidgets",
            "tags": ["Users"],
            "summary": "List widgets",
            "responses": {
                "200": {
                    "description": "Widgets.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/success_response"}
                        }
                    },
                }
            },
        }
    }


def remove_next_token(spec: Spec) -> None:
    del spec["components"]["schemas"]["users_response"]["properties"]["next_token"]


def retype_sign_ins(spec: Spec) -> None:
    spec["components"]["schemas"]["user"]["properties"]["total_sign_ins"]["type"] = "string"


def add_status(spec: Spec) -> None:
    spec["components"]["schemas"]["directory"]["properties"]["status"]["enum"].append("Archived")


def remove_theme(spec: Spec) -> None:
    properties = spec["components"]["schemas"]["get_organization_response"]["properties"]
    properties["theme_code"]["enum"].remove("dark")


def require_tenant(spec: Spec) -> None:
    spec["paths"]["/api/v1/users"]["get"]["parameters"].append(
        {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
    )


CASES = [
    (remove_next_token, 20, "field removed: `users_response` field `next_token`"),
    (retype_sign_ins, 20, "field changed: `user` field `total_sign_ins` (type `integer` ->"),
    (add_status, 10, "enum value added: `directory` field `status` (`Archived`)"),
    (remove_theme, 20, "enum value removed: `get_organization_response` field `theme_code`"),
    (require_tenant, 20, "parameter added: `getUsers` query parameter `tenant` (`string`, re"),
    (add_widgets, 10, "operation added: `getWidgets` (GET /api/v1/widgets)"),
]


@pytest.mark.parametrize(("modify", "code", "line"), CASES, ids=[c[0].__name__ for c in CASES])
def test_dry_run_reports_and_exits_by_severity(
    modify: Callable[[Spec], object],
    code: int,
    line: str,
    write_spec: Callable[[Callable[[Spec], object]], Path],
    lock: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = write_spec(modify)
    locked = lock.read_bytes()
    committed = (lock.parent / "kinde-management-api-spec.yaml").read_bytes()
    reports = tmp_path / "reports"
    argv = ["--dry-run", "--from", str(new), "--lock", str(lock), "--report-dir", str(reports)]
    assert update_spec.main(argv) == code
    out = capsys.readouterr().out
    assert f"- {line}" in out
    markdown = (reports / "management-api-diff.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Kinde Management API changes")
    assert f"- {line}" in markdown
    assert ("## Breaking changes" in markdown) == (code == 20)
    assert (reports / "api-diff.md").read_text(encoding="utf-8") == markdown
    draft = (reports / "management-changelog-draft.md").read_text(encoding="utf-8")
    assert draft.startswith("## [Unreleased]")
    assert sha256_of(new.read_bytes())[:12] in draft
    assert "Kinde Management API spec updated" in draft
    assert lock.read_bytes() == locked, "a dry run rewrote the lock"
    assert (lock.parent / "kinde-management-api-spec.yaml").read_bytes() == committed
    assert not [x for x in out.splitlines() if x.startswith("regenerated ")]


def test_unchanged_spec_exits_0_and_writes_nothing(
    spec_path: Path, lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = lock.read_bytes()
    # Not a dry run: an unchanged spec writes nothing even when it may.
    argv = ["--from", str(spec_path), "--lock", str(lock)]
    argv += ["--report-dir", str(tmp_path / "reports"), "--output", str(tmp_path / "gen")]
    assert update_spec.main(argv) == 0
    assert "management spec unchanged" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openapi"]
    assert lock.read_bytes() == locked


def test_a_reformatted_spec_is_new_but_changes_no_api(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    lock: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = write_spec(lambda spec: None)  # same content, other bytes (re-serialized)
    assert update_spec.main(["--dry-run", "--from", str(new), "--lock", str(lock)]) == 10
    assert "No API-visible changes" in capsys.readouterr().out


def test_an_added_operation_is_regenerated_committed_and_relocked(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    spec_path: Path,
    lock: Path,
    tmp_path: Path,
    httpserver: HTTPServer,
) -> None:
    """The one regeneration of the suite: a real (not dry) run, every path in tmp_path,
    the new spec fetched from the lock's URL (a local server standing in for Kinde's)."""
    new = write_spec(add_widgets)
    httpserver.expect_request("/kinde-management-api-spec.yaml").respond_with_data(
        new.read_bytes(), content_type="application/yaml"
    )
    url = httpserver.url_for("/kinde-management-api-spec.yaml")
    data = json.loads(lock.read_text())
    data["management"]["url"] = url
    lock.write_text(json.dumps(data, indent=2) + "\n")
    before = json.loads(lock.read_text())
    output = tmp_path / GENERATED_PACKAGE
    env = {k: v for k, v in os.environ.items() if k != "KINDE_OPENAPI_SPEC"}
    proc = run_script(
        "--lock",
        str(lock),
        "--output",
        str(output),
        "--report-dir",
        str(tmp_path / "reports"),
        env=env,
    )
    assert proc.returncode == 10, proc.stderr
    after = json.loads(lock.read_text())
    # Only the hash changed in the lock; the new spec is the committed file now.
    assert after == {"management": {**before["management"], "sha256": sha256_of(new.read_bytes())}}
    assert (lock.parent / "kinde-management-api-spec.yaml").read_bytes() == new.read_bytes()
    assert "getWidgets" in (tmp_path / "reports" / "management-api-diff.md").read_text()
    assert "### Added" in (tmp_path / "reports" / "management-changelog-draft.md").read_text()

    assert "def get_widgets(" in (output / "api" / "users_api.py").read_text()
    assert (output / "py.typed").is_file()
    assert not list(tmp_path.glob(f".{GENERATED_PACKAGE}.*")), "staging dirs left behind"
    new_spec = yaml.load(new.read_text(), Loader=LOADER)
    # The regenerated package covers the new spec; the committed one does not.
    assert check_coverage(new_spec, output) == []
    problems = check_coverage(new_spec)
    assert len(problems) == 1
    assert "`getWidgets`" in problems[0]
    assert "UsersApi has no method get_widgets" in problems[0]

    # Running again: the lock now matches what upstream serves, nothing to do.
    again = run_script("--lock", str(lock), "--output", str(tmp_path / "x"), env=env)
    assert again.returncode == 0, again.stderr
    assert "management spec unchanged" in again.stdout
    assert not (tmp_path / "x").exists()


def test_the_command_line_exit_code(
    write_spec: Callable[[Callable[[Spec], object]], Path], lock: Path, tmp_path: Path
) -> None:
    new = write_spec(remove_next_token)
    proc = run_script("--dry-run", "--from", str(new), "--lock", str(lock))
    assert proc.returncode == 20, proc.stderr
    assert "## Breaking changes" in proc.stdout
    assert "BREAKING changes" in proc.stderr


def test_unreachable_upstream_is_one_line_naming_the_offline_ways(
    lock: Path, tmp_path: Path
) -> None:
    """Offline, `make spec-update` says how to use a local copy; no traceback."""
    data = json.loads(lock.read_text())
    data["management"]["url"] = f"http://127.0.0.1:{closed_port()}/kinde-management-api-spec.yaml"
    lock.write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if k != "KINDE_OPENAPI_SPEC"}
    proc = run_script("--lock", str(lock), "--report-dir", str(tmp_path / "r"), env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: management: cannot fetch http://127.0.0.1:")
    assert "make spec-update SPEC=path/to/spec.yaml" in lines[0]
    assert "export KINDE_OPENAPI_SPEC=path" in lines[0]
    assert not (tmp_path / "r").exists()


def test_the_environment_variable_is_a_local_source(
    write_spec: Callable[[Callable[[Spec], object]], Path], lock: Path
) -> None:
    new = write_spec(add_status)
    data = json.loads(lock.read_text())
    data["management"]["url"] = f"http://127.0.0.1:{closed_port()}/never-fetched.yaml"
    lock.write_text(json.dumps(data))
    proc = run_script(
        "--dry-run", "--lock", str(lock), env={**os.environ, "KINDE_OPENAPI_SPEC": str(new)}
    )
    assert proc.returncode == 10, proc.stderr
    assert "enum value added: `directory` field `status` (`Archived`)" in proc.stdout


def test_a_missing_spec_is_an_error(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert update_spec.main(["--dry-run", "--from", str(missing), "--lock", str(lock)]) == 1
    assert f"error: management: spec file {missing} does not exist" in capsys.readouterr().err


def test_a_committed_spec_not_matching_the_lock_is_an_error(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    lock: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = write_spec(add_status)
    (lock.parent / "kinde-management-api-spec.yaml").write_bytes(b"openapi: 3.0.0\n")
    argv = ["--dry-run", "--from", str(new), "--lock", str(lock)]
    assert update_spec.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: management: ")
    assert "kinde-management-api-spec.yaml has sha256" in err
    assert "git checkout -- openapi/" in err


def test_every_spec_of_the_lock_is_updated_and_reported(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    spec_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second API is one more lock entry: it gets its own source, report and exit code."""
    lock = lock_copy(
        tmp_path / "openapi",
        spec_path,
        second={"title": "Second API", "package": "second_generated", "env": "SECOND_SPEC"},
    )
    new = write_spec(remove_next_token)
    reports = tmp_path / "reports"
    # --from names one file: with two specs it needs --spec.
    argv = ["--dry-run", "--from", str(new), "--lock", str(lock), "--report-dir", str(reports)]
    assert update_spec.main(argv) == 1
    assert "is for one spec: name it with --spec" in capsys.readouterr().err
    assert update_spec.main([*argv, "--spec", "second"]) == 20
    assert not (reports / "management-api-diff.md").exists()
    assert (reports / "second-api-diff.md").read_text().startswith("# Second API changes")
    draft = (reports / "second-changelog-draft.md").read_text()
    assert "Second API spec updated" in draft
    assert "`second_generated/` regenerated" in draft

    # Without --from each spec takes its own source; the exit code is the worst one.
    monkeypatch.setenv("SECOND_SPEC", str(new))
    monkeypatch.setenv("KINDE_OPENAPI_SPEC", str(spec_path))
    code = update_spec.main(["--dry-run", "--lock", str(lock), "--report-dir", str(reports)])
    assert code == 20
    out = capsys.readouterr().out
    assert "management spec unchanged" in out
    assert (reports / "api-diff.md").read_text().startswith("# Second API changes")


def test_a_lock_entry_without_its_settings_is_an_error(
    lock: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(lock.read_text())
    del data["management"]["package"], data["management"]["spec_fixes"]
    lock.write_text(json.dumps(data))
    assert update_spec.main(["--dry-run", "--lock", str(lock)]) == 1
    err = capsys.readouterr().err
    assert "entry 'management' lacks package, spec_fixes" in err
    assert get_spec().package == GENERATED_PACKAGE
