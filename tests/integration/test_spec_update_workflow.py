"""The shell of .github/workflows/spec-update.yml, run for real: its `make spec-update`
step and its pull-request step, in throwaway git repositories, with `make` (the part
the other spec-update tests run for real), `gh` and `git push` replaced by stubs that
record what they were asked. Proves: the patch carries new files too; the pull request
is opened from its own branch (never main) with the API diff report as its body, and
labelled `breaking` exactly when make spec-update exits 20."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "spec-update.yml"
GIT = shutil.which("git")
pytestmark = pytest.mark.skipif(GIT is None, reason="needs git")

MAKE_STUB = """#!/bin/sh
# make spec-update, as far as the workflow can tell: a changed spec, a regenerated
# (new) module, the reports, and the exit code.
[ "$1" = spec-update ] || exit 0
echo v2 > openapi/spec.yaml
mkdir -p kinde_sdk_generated/api build/spec-update
echo "def get_widgets(): ..." > kinde_sdk_generated/api/widgets_api.py
printf '# Kinde Management API changes\\n\\n- operation added: getWidgets\\n' \\
  > build/spec-update/api-diff.md
exit "$STUB_STATUS"
"""
GH_STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$STUB_LOG/gh.log"
[ "$1 $2" = "pr view" ] && exit 1
exit 0
"""
GIT_STUB = """#!/bin/sh
if [ "$1" = push ]; then printf '%s\\n' "$*" >> "$STUB_LOG/push.log"; exit 0; fi
exec "$REAL_GIT" "$@"
"""


def script(step: str) -> str:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    for job in data["jobs"].values():
        for s in job["steps"]:
            if s.get("name") == step:
                return str(s["run"])
    raise AssertionError(f"no step {step!r}")


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def git(cwd: Path, *args: str) -> str:
    assert GIT
    return subprocess.run([GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def run_step(step: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub runs `run:` scripts as `bash --noprofile --norc -eo pipefail {0}`.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script(step)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    origin = tmp_path / "origin"
    (origin / "openapi").mkdir(parents=True)
    (origin / "openapi" / "spec.yaml").write_text("v1\n")
    (origin / ".gitignore").write_text("/build/\n")
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(origin, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    stubs, logs = tmp_path / "stubs", tmp_path / "logs"
    stubs.mkdir()
    logs.mkdir()
    executable(stubs / "make", MAKE_STUB)
    executable(stubs / "gh", GH_STUB)
    executable(stubs / "git", GIT_STUB)
    env = {
        **os.environ,
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "REAL_GIT": str(GIT),
        "STUB_LOG": str(logs),
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_REPOSITORY": "acme/kinde_sdk",
        "GITHUB_REF_NAME": "main",
        "GH_TOKEN": "ghs_not_a_real_token",
        "HOME": str(tmp_path),
    }
    return tmp_path, env


def update(
    tmp_path: Path, env: dict[str, str], status: int
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The update job: a checkout, then its `make spec-update` step (make exits ``status``)."""
    checkout = tmp_path / "update"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin"), str(checkout))
    return checkout, run_step("make spec-update", checkout, {**env, "STUB_STATUS": str(status)})


def update_then_open_pr(tmp_path: Path, env: dict[str, str], status: int) -> Path:
    checkout, done = update(tmp_path, env, status)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "github_output").read_text() == f"status={status}\n"
    # The artifact (build/spec-update/) goes to the pull-request job's runner.temp.
    reports = tmp_path / "runner-temp" / "spec-update"
    shutil.copytree(checkout / "build" / "spec-update", reports)

    pr = tmp_path / "pr"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin"), str(pr))
    pr_env = {**env, "BRANCH": "automation/spec-update", "STATUS": str(status)}
    pr_env["REPORTS"] = str(reports)
    done = run_step("push the branch and open or update the pull request", pr, pr_env)
    assert done.returncode == 0, done.stderr
    return pr


@pytest.mark.parametrize("status", [10, 20])
def test_a_changed_spec_becomes_a_pull_request(
    setup: tuple[Path, dict[str, str]], status: int
) -> None:
    tmp_path, env = setup
    pr = update_then_open_pr(tmp_path, env, status)
    logs = tmp_path / "logs"

    assert git(pr, "rev-parse", "--abbrev-ref", "HEAD").strip() == "automation/spec-update"
    assert (pr / "openapi" / "spec.yaml").read_text() == "v2\n"
    assert (pr / "kinde_sdk_generated" / "api" / "widgets_api.py").is_file(), "new file lost"
    assert git(pr, "status", "--porcelain") == ""
    message = git(pr, "log", "-1", "--format=%B")
    assert "operation added: getWidgets" in message

    (push,) = (logs / "push.log").read_text().splitlines()
    assert push.endswith(" HEAD:refs/heads/automation/spec-update")
    assert "refs/heads/main" not in push

    gh = (logs / "gh.log").read_text().splitlines()
    create = [c for c in gh if c.startswith("pr create")]
    assert len(create) == 1
    assert "--base main --head automation/spec-update" in create[0]
    assert f"--body-file {tmp_path}/runner-temp/spec-update/api-diff.md" in create[0]
    breaking = status == 20
    assert create[0].endswith("--label breaking") == breaking
    assert any(c.startswith("label create breaking") for c in gh) == breaking


def test_an_unchanged_spec_opens_nothing(setup: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = setup
    checkout, done = update(tmp_path, env, 0)
    assert done.returncode == 0
    assert "every spec unchanged" in done.stdout
    assert (tmp_path / "github_output").read_text() == "status=0\n"
    assert not (checkout / "build" / "spec-update" / "changes.patch").exists()
    data = yaml.safe_load(WORKFLOW.read_text())
    assert "'10'" in data["jobs"]["pull-request"]["if"]


def test_a_failed_update_fails_the_job(setup: tuple[Path, dict[str, str]]) -> None:
    tmp_path, env = setup
    _, done = update(tmp_path, env, 1)
    assert done.returncode == 1
    assert (tmp_path / "github_output").read_text() == "status=1\n"
