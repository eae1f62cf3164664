"""scripts/update_spec.py end to end, on modified copies of the real spec.

Every run points at a copy of the lock and writes its reports and any regenerated package
under tmp_path; an autouse fixture proves the repository's lock, build/ copies of the spec
and kinde_sdk_generated/ are untouched. The package is regenerated once (one test).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import update_spec  # noqa: E402
from _build import (  # noqa: E402
    BUILD_DIR,
    GENERATED_PACKAGE,
    LOCK_FILE,
    PATCHED_SPEC_PATH,
    SPEC_PATH,
    sha256_of,
)
from check_coverage import check_coverage  # noqa: E402
from fetch_spec import fetch_spec  # noqa: E402

# libyaml when present: the spec is large (~0.8 s to parse in pure Python).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Spec = dict[str, Any]


@pytest.fixture(scope="module")
def spec_path() -> Path:
    """The locked spec (hash-checked) in build/spec/, where update_spec looks for it."""
    return fetch_spec()


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
        SPEC_PATH,
        PATCHED_SPEC_PATH,
        SPEC_PATH.with_name(update_spec.PREVIOUS_SPEC_NAME),
        BUILD_DIR / update_spec.REPORT_NAME,
        BUILD_DIR / update_spec.CHANGELOG_NAME,
        generated / "api" / "users_api.py",
    ]

    def snapshot() -> dict[Path, Any]:
        state: dict[Path, Any] = {p: p.read_bytes() if p.exists() else None for p in watched}
        state[generated] = sorted(p.name for p in (generated / "api").glob("*.py"))
        return state

    before = snapshot()
    yield
    assert snapshot() == before, "update_spec wrote into the repository"


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    copy_ = tmp_path / "spec.lock.json"
    copy_.write_bytes(LOCK_FILE.read_bytes())
    return copy_


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
    reports = tmp_path / "reports"
    argv = ["--dry-run", "--from", str(new), "--lock", str(lock), "--report-dir", str(reports)]
    assert update_spec.main(argv) == code
    out = capsys.readouterr().out
    assert f"- {line}" in out
    markdown = (reports / "api-diff.md").read_text(encoding="utf-8")
    assert f"- {line}" in markdown
    assert ("## Breaking changes" in markdown) == (code == 20)
    draft = (reports / "changelog-draft.md").read_text(encoding="utf-8")
    assert draft.startswith("## [Unreleased]")
    assert sha256_of(new.read_bytes())[:12] in draft
    assert lock.read_bytes() == locked, "a dry run rewrote the lock"
    assert not [x for x in out.splitlines() if x.startswith("regenerated ")]


def test_unchanged_spec_exits_0_and_writes_nothing(
    spec_path: Path, lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = lock.read_bytes()
    # Not a dry run: an unchanged spec writes nothing even when it may.
    argv = ["--from", str(spec_path), "--lock", str(lock)]
    argv += ["--report-dir", str(tmp_path / "reports"), "--output", str(tmp_path / "gen")]
    assert update_spec.main(argv) == 0
    assert "spec unchanged" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.lock.json"]
    assert lock.read_bytes() == locked


def test_a_reformatted_spec_is_new_but_changes_no_api(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    lock: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = write_spec(lambda spec: None)  # same content, other bytes (re-serialized)
    assert update_spec.main(["--dry-run", "--from", str(new), "--lock", str(lock)]) == 10
    assert "No API-visible changes" in capsys.readouterr().out


def test_an_added_operation_is_regenerated_and_relocked(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    spec_path: Path,
    lock: Path,
    tmp_path: Path,
) -> None:
    """The one regeneration of the suite: a real (not dry) run, every path in tmp_path."""
    new = write_spec(add_widgets)
    url = json.loads(lock.read_text())["url"]
    output = tmp_path / GENERATED_PACKAGE
    code = update_spec.update_spec(
        str(new),
        lock_path=lock,
        old_spec=spec_path,
        output=output,
        report_dir=tmp_path / "reports",
        spec_dir=tmp_path / "spec",
    )
    assert code == 10
    assert json.loads(lock.read_text()) == {"url": url, "sha256": sha256_of(new.read_bytes())}
    spec_dir = tmp_path / "spec"
    assert (spec_dir / SPEC_PATH.name).read_bytes() == new.read_bytes()
    assert (spec_dir / update_spec.PREVIOUS_SPEC_NAME).read_bytes() == spec_path.read_bytes()
    assert (spec_dir / PATCHED_SPEC_PATH.name).is_file()
    assert "getWidgets" in (tmp_path / "reports" / "api-diff.md").read_text()
    assert "### Added" in (tmp_path / "reports" / "changelog-draft.md").read_text()

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

    # Running again with the same spec: the lock now matches, nothing to do.
    again = ["--from", str(new), "--lock", str(lock), "--output", str(tmp_path / "x")]
    assert update_spec.main(again) == 0
    assert not (tmp_path / "x").exists()


def test_the_command_line_exit_code(
    write_spec: Callable[[Callable[[Spec], object]], Path], lock: Path, tmp_path: Path
) -> None:
    new = write_spec(remove_next_token)
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "update_spec.py"),
            "--dry-run",
            *("--from", str(new), "--lock", str(lock)),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 20, proc.stderr
    assert "## Breaking changes" in proc.stdout
    assert "BREAKING changes" in proc.stderr


def test_a_missing_spec_is_an_error(
    lock: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.yaml"
    assert update_spec.main(["--dry-run", "--from", str(missing), "--lock", str(lock)]) == 1
    assert f"error: spec file {missing} does not exist" in capsys.readouterr().err


def test_no_copy_of_the_locked_spec_is_an_error(
    write_spec: Callable[[Callable[[Spec], object]], Path],
    lock: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = write_spec(add_status)
    lock.write_text(json.dumps({"url": "https://example.invalid/spec.yaml", "sha256": "0" * 64}))
    argv = ["--dry-run", "--from", str(new), "--lock", str(lock), "--old", str(new)]
    assert update_spec.main(argv) == 1
    err = capsys.readouterr().err
    assert f"--old {new} has sha256" in err
    assert "the lock says 000000" in err
    assert update_spec.main(argv[:-2]) == 1
    assert "no copy of the locked spec" in capsys.readouterr().err
