#!/usr/bin/env python3
"""Fail when the committed kinde_sdk_generated/ differs from a fresh regeneration.

Regenerates into a temporary directory and prints a readable summary: files added,
removed and changed, with the first lines of each change.
"""

from __future__ import annotations

import difflib
import filecmp
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _build import GENERATED_PACKAGE, ROOT, BuildError
from generate import generate

MAX_DIFF_LINES = 12


def tree(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def compare(committed: Path, fresh: Path) -> list[str]:
    have, want = tree(committed), tree(fresh)
    report = [f"  only in the commit (stale, would be deleted): {p}" for p in sorted(have - want)]
    report += [f"  missing from the commit (would be added): {p}" for p in sorted(want - have)]
    for rel in sorted(have & want):
        if filecmp.cmp(committed / rel, fresh / rel, shallow=False):
            continue
        old = (committed / rel).read_text(encoding="utf-8").splitlines()
        new = (fresh / rel).read_text(encoding="utf-8").splitlines()
        diff = list(
            difflib.unified_diff(
                old, new, f"committed/{rel}", f"regenerated/{rel}", n=1, lineterm=""
            )
        )
        report.append(f"  changed: {rel}")
        report += [f"      {line}" for line in diff[:MAX_DIFF_LINES]]
        if len(diff) > MAX_DIFF_LINES:
            report.append(f"      ... {len(diff) - MAX_DIFF_LINES} more diff lines")
    return report


def main() -> int:
    committed = ROOT / GENERATED_PACKAGE
    with tempfile.TemporaryDirectory(prefix="kinde-check-") as tmp:
        fresh = Path(tmp) / GENERATED_PACKAGE
        try:
            generate(fresh)
        except BuildError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        report = compare(committed, fresh)
    if report:
        print(
            f"{GENERATED_PACKAGE}/ differs from what the spec, generator-config.yaml "
            "and the templates produce:"
        )
        print("\n".join(report))
        print("Never edit generated code by hand: change the inputs, then run `make generate`.")
        return 1
    print(f"{GENERATED_PACKAGE}/ matches a fresh regeneration")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
