"""scripts/check_generated.py fails with one `error:` line, never a traceback, whatever
breaks: a committed spec that does not match the lock, a lock entry without its
settings, a generator that fails. (That the committed package matches is `make
check-generated`, run by CI.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests._spec_lock import lock_copy

ROOT = Path(__file__).resolve().parents[2]


def check(lock: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_generated.py"), "--lock", str(lock)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_a_spec_not_matching_the_lock(tmp_path: Path) -> None:
    lock = lock_copy(tmp_path, {"sha256": "0" * 64})
    line = one_error_line(check(lock))
    assert "kinde-management-api-spec.yaml has sha256 3557b4b8" in line
    assert f"{lock} says 0000" in line
    assert "make spec-update" in line


def test_a_missing_spec(tmp_path: Path) -> None:
    lock = lock_copy(tmp_path, {"file": "nowhere.yaml"})
    line = one_error_line(check(lock))
    assert "the management spec" in line
    assert "nowhere.yaml is missing" in line


def test_a_lock_entry_without_its_settings(tmp_path: Path) -> None:
    lock = lock_copy(tmp_path)
    data = json.loads(lock.read_text())
    del data["management"]["generator_config"]
    lock.write_text(json.dumps(data))
    assert "lacks generator_config" in one_error_line(check(lock))


def test_an_unreadable_lock(tmp_path: Path) -> None:
    lock = tmp_path / "spec.lock.json"
    lock.write_text("{not json")
    assert "cannot read the spec lock" in one_error_line(check(lock))


def test_a_failing_generator(tmp_path: Path) -> None:
    # The generator's jar comes with the `build` extra, installable on Python >= 3.10.
    pytest.importorskip("openapi_generator_cli")
    config = tmp_path / "broken-config.yaml"
    config.write_text("generatorName: no-such-generator\n")
    line = one_error_line(check(lock_copy(tmp_path, {"generator_config": str(config)})))
    assert "openapi-generator exited with" in line
    assert "openapi-generator.log" in line
