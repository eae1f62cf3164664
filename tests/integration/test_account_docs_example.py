"""The Account API docs page's plan-gating example, run as written: the block between
``<!-- account-example:start -->`` and ``:end`` in docs/account-api.md is a complete test
file of an application (a FastAPI app gating a route on live entitlements, and its tests
against FakeKinde through the pytest plugin), run by pytest in a subprocess in an empty
directory. The page's other blocks are fragments that need a real Kinde domain."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "account-api.md"
_MARKED = re.compile(r"<!-- account-example:start -->\n```python\n(.*?)```\n<!-- account", re.S)


def test_the_plan_gating_example_passes(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    found = _MARKED.findall(PAGE.read_text(encoding="utf-8"))
    assert len(found) == 1, "one marked example on the page"
    example = str(found[0])
    assert example.startswith("# test_plan_gating.py\n")
    (tmp_path / "test_plan_gating.py").write_text(example, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout, result.stdout
