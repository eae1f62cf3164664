#!/usr/bin/env python3
"""Take a new Kinde Management API spec: diff it against the locked one, regenerate, relock.

Source, first match wins (as scripts/fetch_spec.py): --from PATH, $KINDE_OPENAPI_SPEC, the
shared offline copy, else the lock's URL. When its sha256 equals the lock's, nothing is
written. Otherwise:

1. the old spec (the one the lock points to: --old, else build/spec/ or the shared copy,
   whichever has the locked hash) is diffed against the new one (scripts/_api_diff.py);
2. the report goes to stdout and <report-dir>/api-diff.md, a Keep a Changelog draft to
   <report-dir>/changelog-draft.md (report-dir defaults to build/);
3. the package is regenerated from the new spec (as `make generate`) into --output,
   default kinde_sdk_generated/; the old spec is kept as build/spec/*.previous.yaml;
4. the lock is rewritten last, so a failed regeneration leaves it pointing at the old spec.

--dry-run writes nothing in the repository: no lock, no build/, and only into an --output
or --report-dir given explicitly. --lock points at another lock file (tests use a copy).

Exit codes:
  0   the spec is unchanged (same sha256 as the lock)
  10  the spec changed, nothing breaking
  20  the spec changed with breaking changes (see the report's "Breaking changes")
  1   error (unreadable spec, no copy of the old spec, regeneration failed, ...)
  2   bad command-line arguments (argparse)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _api_diff import Report, diff_specs, load_yaml
from _build import (
    BUILD_DIR,
    GENERATED_PACKAGE,
    LOCK_FILE,
    PATCHED_SPEC_PATH,
    ROOT,
    SHARED_SPEC,
    SPEC_PATH,
    BuildError,
    atomic_write,
    sha256_of,
)
from fetch_spec import read_source, resolve_source
from generate import generate_from, patch_spec

EXIT_UNCHANGED = 0
EXIT_ERROR = 1
EXIT_CHANGED = 10
EXIT_BREAKING = 20

REPORT_NAME = "api-diff.md"
CHANGELOG_NAME = "changelog-draft.md"
PREVIOUS_SPEC_NAME = SPEC_PATH.stem + ".previous.yaml"


def parse_spec(data: bytes, origin: str) -> dict[str, Any]:
    import yaml

    try:
        spec = load_yaml(data)
    except yaml.YAMLError as exc:
        raise BuildError(f"{origin} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(spec, dict) or "paths" not in spec:
        raise BuildError(f"{origin} is not an OpenAPI document (no `paths`)")
    return spec


def read_lock_file(path: Path) -> dict[str, str]:
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the lock {path}: {exc}") from exc
    if not isinstance(lock, dict) or not isinstance(lock.get("sha256"), str):
        raise BuildError(f"the lock {path} has no sha256")
    return {str(k): str(v) for k, v in lock.items()}


def find_old_spec(
    locked_sha256: str, explicit: Path | None, spec_dir: Path = SPEC_PATH.parent
) -> bytes:
    """The bytes of the spec the lock points to, from the first copy with that hash."""
    candidates = (
        [explicit]
        if explicit
        else [spec_dir / SPEC_PATH.name, spec_dir / PREVIOUS_SPEC_NAME, SHARED_SPEC]
    )
    for path in candidates:
        if path.is_file():
            data = path.read_bytes()
            if sha256_of(data) == locked_sha256:
                return data
            if explicit:
                raise BuildError(
                    f"--old {path} has sha256 {sha256_of(data)}, the lock says {locked_sha256}"
                )
    tried = ", ".join(str(p) for p in candidates)
    raise BuildError(
        f"no copy of the locked spec (sha256 {locked_sha256}) to diff against (tried {tried}); "
        "pass --old PATH with the spec the lock points to"
    )


def exit_code(report: Report) -> int:
    return EXIT_BREAKING if report.is_breaking else EXIT_CHANGED


def update_spec(
    source: str | None = None,
    *,
    lock_path: Path = LOCK_FILE,
    old_spec: Path | None = None,
    output: Path | None = None,
    report_dir: Path | None = None,
    dry_run: bool = False,
    spec_dir: Path = SPEC_PATH.parent,
) -> int:
    """Run the update; returns the exit code (see the module docstring).

    ``spec_dir`` (build/spec/) holds the current spec and, after an update, the previous
    one; it is read to find the old spec and written only when not ``dry_run``.
    """
    origin = resolve_source(source)
    new_data = read_source(origin)
    new_sha = sha256_of(new_data)
    lock = read_lock_file(lock_path)
    if new_sha == lock["sha256"]:
        print(f"spec unchanged: {origin} has the locked sha256 {new_sha}")
        return EXIT_UNCHANGED

    old_data = find_old_spec(lock["sha256"], old_spec, spec_dir)
    report = diff_specs(parse_spec(old_data, "the locked spec"), parse_spec(new_data, origin))
    markdown = report.to_markdown()
    changelog = report.changelog_draft(lock["sha256"], new_sha)
    print(markdown)
    print(changelog)

    if report_dir is None and not dry_run:
        report_dir = BUILD_DIR
    if report_dir is not None:
        atomic_write(report_dir / REPORT_NAME, markdown.encode("utf-8"))
        atomic_write(report_dir / CHANGELOG_NAME, changelog.encode("utf-8"))
        print(f"wrote {report_dir / REPORT_NAME} and {report_dir / CHANGELOG_NAME}")

    if output is None and not dry_run:
        output = ROOT / GENERATED_PACKAGE
    if output is not None:
        with tempfile.TemporaryDirectory(prefix="kinde-spec-") as tmp:
            spec_file = Path(tmp) / SPEC_PATH.name
            spec_file.write_bytes(new_data)
            generate_from(spec_file, output)
        print(f"regenerated {output}")

    if not dry_run:
        # Keep the old spec for the next diff, then make the new one the current copy.
        atomic_write(spec_dir / PREVIOUS_SPEC_NAME, old_data)
        atomic_write(spec_dir / SPEC_PATH.name, new_data)
        patch_spec(spec_dir / SPEC_PATH.name, spec_dir / PATCHED_SPEC_PATH.name)
        lock["sha256"] = new_sha
        atomic_write(lock_path, (json.dumps(lock, indent=2) + "\n").encode())
        print(f"lock {lock_path} updated to sha256 {new_sha}")
    verdict = "BREAKING changes" if report.is_breaking else "no breaking changes"
    print(f"spec changed ({len(report.changes)} API change(s), {verdict})", file=sys.stderr)
    return exit_code(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="exit codes: 0 unchanged, 10 changed (non-breaking), 20 breaking, 1 error",
    )
    parser.add_argument("--from", dest="source", help="local path or URL of the new spec")
    parser.add_argument(
        "--old", type=Path, help="the spec the lock points to (default: found by its hash)"
    )
    parser.add_argument(
        "--lock", type=Path, default=LOCK_FILE, help="lock file (default: %(default)s)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"regenerate into this directory (default: {GENERATED_PACKAGE}/)",
    )
    parser.add_argument(
        "--report-dir", type=Path, help="where api-diff.md and changelog-draft.md go (build/)"
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
            lock_path=args.lock,
            old_spec=args.old,
            output=args.output,
            report_dir=args.report_dir,
            dry_run=args.dry_run,
        )
    except (BuildError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
