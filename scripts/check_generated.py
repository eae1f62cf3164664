#!/usr/bin/env python3
"""Fail when a committed generated package differs from a fresh regeneration.

For each spec of openapi/spec.lock.json (or those named with --spec), regenerates into a
temporary directory and prints a readable summary: files added, removed and changed, with
the first lines of each change. Any failure to regenerate is one `error:` line.
"""

from __future__ import annotations

import argparse
import difflib
import filecmp
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _build import ROOT, BuildError, Spec, select_specs
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


def check(spec: Spec) -> bool:
    """True when ``spec``'s committed package equals a fresh regeneration."""
    committed = spec.output
    name = committed.relative_to(ROOT).as_posix() if committed.is_relative_to(ROOT) else committed
    if not committed.is_dir():
        raise BuildError(f"{name}/ does not exist: run `make generate`")
    with tempfile.TemporaryDirectory(prefix="kinde-check-") as tmp:
        fresh = Path(tmp) / committed.name
        generate(spec, fresh)
        report = compare(committed, fresh)
    if report:
        print(
            f"{name}/ differs from what the {spec.name} spec, its generator config and the "
            "templates produce:"
        )
        print("\n".join(report))
        print("Never edit generated code by hand: change the inputs, then run `make generate`.")
        return False
    print(f"{name}/ matches a fresh regeneration from the {spec.name} spec")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", action="append", help="lock entry to check (default: all)")
    args = parser.parse_args(argv)
    try:
        results = [check(spec) for spec in select_specs(args.spec)]
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        # Whatever else fails (Java, the disk, a bug) is one line too, never a traceback.
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
