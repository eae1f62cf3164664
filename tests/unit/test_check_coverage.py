"""scripts/check_coverage.py: every operation reachable from ManagementClient, and every
generated method the handwritten management code calls is an operation of the spec."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from check_coverage import MANAGEMENT_DIR, api_calls, check_coverage, sub_apis  # noqa: E402

# libyaml when present: the spec is large (~0.8 s to parse in pure Python).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

Spec = dict[str, Any]


@pytest.fixture(scope="module")
def spec_path() -> Path:
    from _build import locked_spec

    return locked_spec()


@pytest.fixture(scope="module")
def real_spec(spec_path: Path) -> Spec:
    with spec_path.open(encoding="utf-8") as fh:
        spec: Spec = yaml.load(fh, Loader=LOADER)
    return spec


@pytest.fixture
def spec(real_spec: Spec) -> Spec:
    return copy.deepcopy(real_spec)


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "check_coverage.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def management_copy(tmp_path: Path, name: str, find: str, replace: str) -> Path:
    """kinde_sdk/management/ copied to tmp_path with one exact edit to one file."""
    copied = tmp_path / "management"
    shutil.copytree(MANAGEMENT_DIR, copied, ignore=shutil.ignore_patterns("__pycache__"))
    path = copied / name
    text = path.read_text(encoding="utf-8")
    assert text.count(find) == 1
    path.write_text(text.replace(find, replace), encoding="utf-8")
    return copied


def test_the_real_tree_is_covered() -> None:
    proc = run_script()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "coverage ok" in proc.stdout


def test_the_ast_sees_every_convenience_call() -> None:
    attributes = sub_apis()
    assert len(attributes) >= 27
    assert attributes["users"].class_name == "UsersApi"
    assert attributes["feature_flags"].module == "feature_flags_api"
    calls = {(c.function, c.attribute, c.method) for c in api_calls(MANAGEMENT_DIR, {*attributes})}
    assert {
        ("get_users", "users", "get_users"),
        ("get_user", "users", "get_user_data"),
        ("update_role", "roles", "update_roles"),
        ("get_feature_flags", "environments", "get_environement_feature_flags"),
        ("delete_feature_flag", "feature_flags", "delete_feature_flag"),
        ("iter_users", "users", "get_users"),  # client.py, passed to paginate()
    } <= calls


def test_removing_an_operation_a_convenience_uses_fails(spec: Spec, tmp_path: Path) -> None:
    operation = spec["paths"]["/api/v1/users"].pop("get")
    assert operation["operationId"] == "getUsers"
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.dump(spec, Dumper=DUMPER, sort_keys=False), encoding="utf-8")
    proc = run_script("--spec", str(path))
    assert proc.returncode == 1
    assert f"ManagementClient does not cover {path}" in proc.stdout
    assert (
        "kinde_sdk/management/_seed_methods.py:" in proc.stdout
        and " get_users() uses users.get_users, but no operation of the spec maps to it"
        in proc.stdout
    )
    assert " iter_users() uses users.get_users" in proc.stdout


def test_an_operation_missing_from_the_generated_code_fails(spec: Spec) -> None:
    spec["paths"]["/api/v1/widgets"] = {"get": {"operationId": "getWidgets", "tags": ["Users"]}}
    assert check_coverage(spec) == [
        "operation `getWidgets` (GET /api/v1/widgets): UsersApi has no method get_widgets "
        "(client.users.get_widgets); regenerate kinde_sdk_generated/"
    ]


def test_an_operation_under_a_tag_without_an_attribute_fails(spec: Spec) -> None:
    spec["paths"]["/api/v1/widgets"] = {"get": {"operationId": "getWidgets", "tags": ["Widgets"]}}
    problems = check_coverage(spec)
    assert len(problems) == 1
    assert "tag 'Widgets' (generated module widgets_api.py) has no ManagementClient" in problems[0]


def test_a_call_to_a_method_that_was_not_generated_fails(spec: Spec, tmp_path: Path) -> None:
    management = management_copy(
        tmp_path, "_seed_methods.py", "self.users.get_user_data(", "self.users.get_user_info("
    )
    problems = check_coverage(spec, management=management)
    assert len(problems) == 2
    assert all(" get_user() uses users.get_user_info" in p for p in problems)
    assert "no operation of the spec maps to it" in problems[0]
    assert problems[1].endswith("which UsersApi in " + str(ROOT / "kinde_sdk_generated") + " lacks")


def test_an_attribute_pointing_at_a_missing_module_fails(spec: Spec, tmp_path: Path) -> None:
    management = management_copy(
        tmp_path, "_sub_apis.py", '"webhooks_api", "WebhooksApi"', '"webhookz_api", "WebhooksApi"'
    )
    problems = check_coverage(spec, management=management)
    assert any(
        "client.webhooks returns WebhooksApi" in p and "does not exist" in p for p in problems
    )
    assert any("tag 'Webhooks' (generated module webhooks_api.py)" in p for p in problems)


def test_a_convenience_whose_calls_cannot_be_seen_fails(spec: Spec, tmp_path: Path) -> None:
    management = management_copy(
        tmp_path,
        "_seed_methods.py",
        "return self.users.get_users(page_size=page_size, **filters)",
        'return getattr(self, "users").get_users(page_size=page_size, **filters)',
    )
    assert check_coverage(spec, management=management) == [
        "SeedMethods.get_users() calls no generated API method this check can see "
        "(expected self.<api>.<method>(...) in _seed_methods.py)"
    ]
