"""The README's "Testing your app" section, run as written: the code blocks are read
from README.md, so the documentation cannot drift from what works.

The block between ``<!-- testing-example:start -->`` and ``<!-- testing-example:end -->``
is a complete test file: it is written to an empty directory and run by pytest in a
subprocess, as in an application's project (no conftest; the fixtures come from the
plugin that installing kinde-sdk registers). The section's other Python blocks run as
scripts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- testing-example:start -->"
END = "<!-- testing-example:end -->"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Testing your app\n")
    return text[start : text.index("\n## ", start + 1)]


def _example() -> str:
    section = _section()
    marked = section[section.index(START) + len(START) : section.index(END)]
    blocks = _BLOCK.findall(marked)
    assert len(blocks) == 1, "one python block between the README's testing-example markers"
    return str(blocks[0])


def _other_blocks() -> list[str]:
    section = _section()
    rest = section[: section.index(START)] + section[section.index(END) :]
    return [str(block) for block in _BLOCK.findall(rest)]


def test_the_readme_example_test_file_passes(tmp_path: Path) -> None:
    example = _example()
    assert example.startswith("# test_api_auth.py\n")
    (tmp_path / "test_api_auth.py").write_text(example, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout, result.stdout


def test_the_readme_has_its_other_blocks() -> None:
    assert len(_other_blocks()) == 2


@pytest.mark.parametrize("index", [0, 1])
def test_the_other_readme_blocks_run(index: int) -> None:
    code = _other_blocks()[index]
    exec(compile(code, f"README.md (Testing your app, block {index + 2})", "exec"), {})
