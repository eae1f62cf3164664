"""The "Testing your app" docs page, run as written: the code blocks are read from
docs/testing.md, so the documentation cannot drift from what works.

Each block between ``<!-- testing-example[-NAME]:start -->`` and the matching ``:end``
marker is a complete test file (its first line, ``# test_....py``, names it): it is
written to an empty directory and run by pytest in a subprocess, as in an application's
project (no conftest; the fixtures come from the plugin that installing kinde-sdk
registers). The page's other Python blocks run as scripts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
_MARKED = re.compile(
    r"<!-- (testing-example(?:-[a-z]+)?):start -->\n(.*?)<!-- \1:end -->\n", re.DOTALL
)
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# marker name -> (file name, how many tests pass, the framework it needs)
EXAMPLES = {
    "testing-example": ("test_api_auth.py", 7, None),
    "testing-example-fastapi": ("test_fastapi_app.py", 4, "fastapi"),
    "testing-example-flask": ("test_flask_app.py", 5, "flask"),
}


def _section() -> str:
    return PAGE.read_text(encoding="utf-8")


def _examples() -> dict[str, str]:
    found: dict[str, str] = {}
    for name, marked in _MARKED.findall(_section()):
        blocks = _BLOCK.findall(marked)
        assert len(blocks) == 1, f"one python block between the page's {name} markers"
        found[name] = str(blocks[0])
    return found


def _other_blocks() -> list[str]:
    rest = _MARKED.sub("", _section())
    return [str(block) for block in _BLOCK.findall(rest)]


def test_the_page_has_its_examples() -> None:
    assert sorted(_examples()) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_page_example_test_file_passes(tmp_path: Path, name: str) -> None:
    filename, passed, framework = EXAMPLES[name]
    if framework is not None:
        pytest.importorskip(framework)  # its extra; part of the dev extra
    example = _examples()[name]
    assert example.startswith(f"# {filename}\n")
    (tmp_path / filename).write_text(example, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout, result.stdout


def test_the_page_has_its_other_blocks() -> None:
    assert len(_other_blocks()) == 2


@pytest.mark.parametrize("index", [0, 1])
def test_the_other_page_blocks_run(index: int) -> None:
    code = _other_blocks()[index]
    exec(compile(code, f"docs/testing.md (block {index + 2})", "exec"), {})
