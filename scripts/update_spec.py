#!/usr/bin/env python3
"""Take new Kinde API specs: diff each against the committed one, regenerate, relock.

For each spec of openapi/spec.lock.json (or those named with --spec), the new spec comes
from, first match wins: --from PATH or URL (one spec only), the spec's environment
variable (KINDE_OPENAPI_SPEC for the Management API), else the lock's URL. When a fetch
fails the error is one line saying how to use a local copy instead.

When the new spec's sha256 equals the lock's, nothing is written. Otherwise:

1. the committed spec (openapi/, checked against the lock) is diffed against the new one
   (scripts/_api_diff.py);
2. the report goes to stdout and <report-dir>/<name>-api-diff.md, a Keep a Changelog draft
   to <report-dir>/<name>-changelog-draft.md; <report-dir>/api-diff.md holds the reports
   of every changed spec (the body of the spec-update pull request). report-dir defaults
   to build/spec-update/;
3. the package is regenerated from the new spec (as `make generate`) into --output,
   default the package's place in the repository;
4. the new spec replaces the committed file, and the lock is rewritten last, so a failed
   regeneration leaves both pointing at the old spec.

--dry-run writes nothing in the repository: no spec, no lock, and only into an --output
or --report-dir given explicitly. --lock points at another lock file (tests use a copy;
its paths are relative to its own directory).

Exit codes (the highest over the specs):
  0   every spec is unchanged (same sha256 as the lock)
  10  a spec changed, nothing breaking
  20  a spec changed with breaking changes (see the report's "Breaking changes")
  1   error (unreachable or unreadable spec, committed spec not matching the lock,
      regeneration failed, ...); the other specs are still updated
  2   bad command-line arguments (argparse)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _api_diff import Report, diff_specs, load_yaml
from _build import (
    BUILD_DIR,
    LOCK_FILE,
    BuildError,
    Spec,
    atomic_write,
    select_specs,
    sha256_of,
    write_lock_sha256,
)
from fetch_spec import read_source, resolve_source
from generate import generate_from

EXIT_UNCHANGED = 0
EXIT_ERROR = 1
EXIT_CHANGED = 10
EXIT_BREAKING = 20

REPORT_DIR = BUILD_DIR / "spec-update"
SUMMARY_NAME = "api-diff.md"


def report_name(spec: Spec) -> str:
    return f"{spec.name}-api-diff.md"


def changelog_name(spec: Spec) -> str:
    return f"{spec.name}-changelog-draft.md"


def parse_spec(data: bytes, origin: str) -> dict[str, Any]:
    import yaml

    try:
        spec = load_yaml(data)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BuildError(f"{origin} is not valid YAML/JSON: {first}") from exc
    if not isinstance(spec, dict) or "paths" not in spec:
        raise BuildError(f"{origin} is not an OpenAPI document (no `paths`)")
    return spec


@dataclass
class Outcome:
    spec: Spec
    code: int
    markdown: str = ""


def exit_code(report: Report) -> int:
    return EXIT_BREAKING if report.is_breaking else EXIT_CHANGED


def update_one(
    spec: Spec,
    source: str | None,
    *,
    lock_path: Path,
    output: Path | None,
    report_dir: Path | None,
    dry_run: bool,
) -> Outcome:
    origin = resolve_source(spec, source)
    new_data = read_source(origin, spec)
    new_sha = sha256_of(new_data)
    if new_sha == spec.sha256:
        print(f"{spec.name} spec unchanged: {origin} has the locked sha256 {new_sha}")
        return Outcome(spec, EXIT_UNCHANGED)

    old_data = spec.read_committed()
    report = diff_specs(
        parse_spec(old_data, f"the committed {spec.file.name}"), parse_spec(new_data, origin)
    )
    markdown = report.to_markdown(f"{spec.title} changes")
    changelog = report.changelog_draft(spec.sha256, new_sha, title=spec.title, package=spec.package)
    print(markdown)
    print(changelog)
    if report_dir is not None:
        atomic_write(report_dir / report_name(spec), markdown.encode("utf-8"))
        atomic_write(report_dir / changelog_name(spec), changelog.encode("utf-8"))
        print(f"wrote {report_dir / report_name(spec)} and {report_dir / changelog_name(spec)}")

    if output is None and not dry_run:
        output = spec.output
    if output is not None:
        with tempfile.TemporaryDirectory(prefix="kinde-spec-") as tmp:
            spec_file = Path(tmp) / spec.file.name
            spec_file.write_bytes(new_data)
            generate_from(spec_file, output, spec=spec)
        print(f"regenerated {output}")

    if not dry_run:
        atomic_write(spec.file, new_data)
        write_lock_sha256(spec.name, new_sha, lock_path)
        print(f"{spec.file} replaced; lock {lock_path} updated to sha256 {new_sha}")
    verdict = "BREAKING changes" if report.is_breaking else "no breaking changes"
    print(
        f"{spec.name} spec changed ({len(report.changes)} API change(s), {verdict})",
        file=sys.stderr,
    )
    return Outcome(spec, exit_code(report), markdown)


def update_spec(
    source: str | None = None,
    *,
    names: list[str] | None = None,
    lock_path: Path = LOCK_FILE,
    output: Path | None = None,
    report_dir: Path | None = None,
    dry_run: bool = False,
) -> int:
    """Run the update; returns the exit code (see the module docstring)."""
    specs = select_specs(names, lock_path)
    if (source or output) and len(specs) != 1:
        what = "--from (SPEC=path)" if source else "--output"
        raise BuildError(
            f"{what} is for one spec: name it with --spec (make spec-update SPEC_NAME=...); "
            f"the lock has {', '.join(s.name for s in specs)}"
        )
    if report_dir is None and not dry_run:
        report_dir = REPORT_DIR
    outcomes: list[Outcome] = []
    for spec in specs:
        try:
            outcomes.append(
                update_one(
                    spec,
                    source,
                    lock_path=lock_path,
                    output=output,
                    report_dir=report_dir,
                    dry_run=dry_run,
                )
            )
        except (BuildError, OSError) as exc:
            print(f"error: {spec.name}: {exc}", file=sys.stderr)
            outcomes.append(Outcome(spec, EXIT_ERROR))
    changed = [o for o in outcomes if o.markdown]
    if report_dir is not None and changed:
        summary = "\n".join(o.markdown for o in changed)
        atomic_write(report_dir / SUMMARY_NAME, summary.encode("utf-8"))
    if any(o.code == EXIT_ERROR for o in outcomes):
        return EXIT_ERROR
    return max(o.code for o in outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="exit codes: 0 unchanged, 10 changed (non-breaking), 20 breaking, 1 error",
    )
    parser.add_argument(
        "--spec", action="append", help="lock entry to update (repeatable; default: all)"
    )
    parser.add_argument("--from", dest="source", help="local path or URL of the new spec")
    parser.add_argument(
        "--lock", type=Path, default=LOCK_FILE, help="lock file (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="regenerate into this directory (default: the package's place in the repository)",
    )
    parser.add_argument(
        "--report-dir", type=Path, help="where the reports go (default: build/spec-update/)"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="report only: write nothing in the repo (only an explicit --output/--report-dir)",
    )
    args = parser.parse_args(argv)
    try:
        return update_spec(
            args.source,
            names=args.spec,
            lock_path=args.lock,
            output=args.output,
            report_dir=args.report_dir,
            dry_run=args.dry_run,
        )
    except (BuildError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
