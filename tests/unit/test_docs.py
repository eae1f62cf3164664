"""The documentation: every Python block in README.md and docs/ is valid Python, every
page is in the site's navigation, and the README's links lead to files that exist.

The blocks meant to run are run by the tests of what they show (docs/testing.md by
tests/integration/test_readme_testing_example.py, the README's quickstarts by
tests/integration/test_readme_quickstarts.py); `make docs` builds the site with
--strict.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.rglob("*.md")])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_python_block_parses(page: Path) -> None:
    blocks = _BLOCK.findall(page.read_text(encoding="utf-8"))
    for index, block in enumerate(blocks):
        try:
            # Async examples await at top level, as in an async function's body.
            compile(
                block,
                f"{page.name} block {index + 1}",
                "exec",
                ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            )
        except SyntaxError as exc:
            pytest.fail(f"{page.relative_to(ROOT)} python block {index + 1}: {exc}")


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = set(_nav_pages(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages - nav == set(), "pages missing from mkdocs.yml nav"
    assert nav - pages == set(), "nav entries without a page"


def test_the_readme_links_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [t for t in _LINK.findall(text) if "://" not in t]
    assert targets, "the README links to the docs"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


def test_the_readme_is_short() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150


def test_the_readme_quickstarts_are_20_lines_at_most() -> None:
    blocks = _BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert [len(b.splitlines()) <= 20 for b in blocks] == [True, True, True, True]
