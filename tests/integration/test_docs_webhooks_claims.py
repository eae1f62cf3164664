"""The runnable examples of docs/webhooks.md and docs/claims.md, run as written: each
block between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` is a complete test file
(its first line names it), written to an empty directory and run by pytest in a
subprocess with the fixtures of the plugin that installing kinde-sdk registers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# marker -> (page, file name, how many tests pass, the framework it needs)
EXAMPLES = {
    "webhooks-example": ("webhooks.md", "test_webhooks.py", 2, "fastapi"),
    "claims-example": ("claims.md", "test_claims.py", 2, None),
}


def example(name: str) -> str:
    page, filename, _, _ = EXAMPLES[name]
    text = (DOCS / page).read_text(encoding="utf-8")
    marked = re.search(rf"<!-- {name}:start -->\n(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert marked is not None, f"{page} has no {name} block"
    blocks = _BLOCK.findall(marked.group(1))
    assert len(blocks) == 1
    code = str(blocks[0])
    assert code.startswith(f"# {filename}\n")
    return code


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_docs_example_passes(tmp_path: Path, name: str) -> None:
    _, filename, passed, framework = EXAMPLES[name]
    if framework is not None:
        pytest.importorskip(framework)
    (tmp_path / filename).write_text(example(name), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout, result.stdout
