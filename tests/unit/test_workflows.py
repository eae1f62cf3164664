"""The GitHub workflows' rules, checked on their YAML (actionlint and zizmor lint them
too, in .ci/run): actions pinned by commit SHA, least-privilege permissions per job, no
pull_request_target, and the steps they run are make targets that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_the_three_workflows_exist() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "release.yml", "spec-update.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_actions_are_pinned_by_sha(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name} {name}: {step['uses']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_permissions_are_granted_per_job(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}, "no permissions at the workflow level"
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path.name} {name}"
        assert "write-all" not in str(job["permissions"])
    assert "pull_request_target" not in workflow["on"]


def test_only_the_publish_job_can_mint_an_oidc_token() -> None:
    jobs = {p.name: load(p)["jobs"] for p in WORKFLOWS}
    minting = [
        (workflow, name)
        for workflow, by_name in jobs.items()
        for name, job in by_name.items()
        if job["permissions"].get("id-token") == "write"
    ]
    assert minting == [("release.yml", "publish")]
    publish = jobs["release.yml"]["publish"]
    assert [s["uses"].split("@")[0] for s in publish["steps"]] == [
        "actions/download-artifact",
        "pypa/gh-action-pypi-publish",
    ], "the job holding the OIDC token runs no repository code"


def test_spec_update_never_pushes_to_main() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "spec-update.yml")
    update, pull_request = workflow["jobs"]["update"], workflow["jobs"]["pull-request"]
    assert update["permissions"] == {"contents": "read"}, "the build job cannot write"
    assert pull_request["env"]["BRANCH"] != "main"
    script = "\n".join(s.get("run", "") for s in pull_request["steps"])
    assert 'HEAD:refs/heads/$BRANCH"' in script
    assert "gh pr create" in script
    assert "--label breaking" in script


def test_the_make_targets_they_call_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        called = set(re.findall(r"\bmake ([a-z][\w-]*)", text))
        assert called <= targets, f"{path.name}: {called - targets}"


def test_the_test_matrix_follows_requires_python() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    floor = re.search(r'^requires-python = ">=3\.(\d+)"', pyproject, re.MULTILINE)
    assert floor
    matrix = load(ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["test"]["strategy"]
    versions = matrix["matrix"]["python"]
    assert versions[0] == f"3.{floor.group(1)}"
    minors = [int(v.split(".")[1]) for v in versions]
    assert minors == list(range(minors[0], minors[-1] + 1)), "no version skipped"


def test_ci_runs_every_make_target_ci_run_runs() -> None:
    """The README promises `make demo` on a fresh machine: the GitHub CI runs it, and
    every other target the local CI (.ci/run) runs."""
    script = (ROOT / ".ci" / "run").read_text("utf-8").splitlines()
    commands = "\n".join(line for line in script if not line.lstrip().startswith("#"))
    local = set(re.findall(r"\bmake ([a-z][\w-]*)", commands))
    ci = load(ROOT / ".github" / "workflows" / "ci.yml")
    steps = [s.get("run", "") for job in ci["jobs"].values() for s in job["steps"]]
    github = set(re.findall(r"\bmake ([a-z][\w-]*)", "\n".join(steps)))
    assert "demo" in local and local <= github, f"not run by ci.yml: {local - github}"


def test_the_pull_request_job_holds_only_the_permissions_its_steps_use() -> None:
    # push the branch, open/edit the PR and its label, start ci.yml: nothing on issues.
    job = load(ROOT / ".github" / "workflows" / "spec-update.yml")["jobs"]["pull-request"]
    assert job["permissions"] == {
        "contents": "write",
        "pull-requests": "write",
        "actions": "write",
    }
