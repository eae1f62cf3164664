"""The Account API in the spec pipeline: its lock entry, its spec fix, and `make
spec-update` writing its own API diff report. No network; nothing in the repository is
written (reports go to tmp_path, --dry-run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import update_spec  # noqa: E402
from _build import get_spec, read_lock, sha256_of  # noqa: E402
from generate import patch_spec  # noqa: E402

ACCOUNT_SHA256 = "5a3a0c59f1b33db72d6fca63548b8ba1203c2fd6105f181d637c241268d650f5"


def test_the_lock_has_the_account_api_beside_the_management_api() -> None:
    specs = read_lock()
    assert set(specs) == {"management", "account"}
    account = specs["account"]
    assert account.url == "https://api-spec.kinde.com/kinde-frontend-api-spec.yaml"
    assert account.sha256 == ACCOUNT_SHA256
    assert sha256_of(account.verified_file().read_bytes()) == ACCOUNT_SHA256
    assert account.package == "kinde_sdk_account_generated"
    assert (ROOT / "kinde_sdk_account_generated" / "__init__.py").is_file()


def test_the_entitlement_path_gets_its_key(tmp_path: Path) -> None:
    account = get_spec("account")
    published = yaml.safe_load(account.verified_file().read_text(encoding="utf-8"))
    assert "/account_api/v1/entitlement" in published["paths"]  # the upstream bug
    fixed = yaml.safe_load(
        patch_spec(account.verified_file(), tmp_path / "fixed.yaml", spec=account).read_text()
    )
    assert "/account_api/v1/entitlement" not in fixed["paths"]
    operation = fixed["paths"]["/account_api/v1/entitlement/{key}"]["get"]
    assert operation["operationId"] == "GetEntitlement"
    assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == ["key"]
    assert len([op for path in fixed["paths"].values() for op in path if op != "servers"]) == 10


def test_spec_update_writes_an_api_diff_report_for_the_account_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = get_spec("account")
    text = account.verified_file().read_text(encoding="utf-8")
    new_op = (
        "  /account_api/v1/widgets:\n    get:\n      operationId: GetWidgets\n"
        "      responses:\n        '200':\n          description: ok\n"
        "  /account_api/v1/roles:\n"
    )
    changed = tmp_path / "new-account-spec.yaml"
    changed.write_text(text.replace("  /account_api/v1/roles:\n", new_op, 1), encoding="utf-8")
    reports = tmp_path / "reports"
    code = update_spec.main(
        ["--spec", "account", "--from", str(changed), "--dry-run", "--report-dir", str(reports)]
    )
    assert code == 10  # changed, not breaking
    diff = (reports / "account-api-diff.md").read_text(encoding="utf-8")
    assert diff.startswith("# Kinde Account API changes")
    assert "GetWidgets" in diff
    assert not (reports / "management-api-diff.md").exists()
    assert sha256_of(account.verified_file().read_bytes()) == ACCOUNT_SHA256  # untouched
