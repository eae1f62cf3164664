"""A copy of openapi/spec.lock.json for tests of the build scripts, so they never write
the repository's lock, spec or generated package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

LOCK_FILE = Path(__file__).resolve().parents[1] / "openapi" / "spec.lock.json"


def lock_copy(
    directory: Path, changes: Optional[dict[str, Any]] = None, **entries: dict[str, Any]
) -> Path:
    """The lock written to ``directory`` with the committed Management API spec copied
    beside it, its other inputs (generator config, fixes, templates) pointing at the
    repository's. ``changes`` edits the management entry; each of ``entries`` is another
    entry: the management one with those keys changed."""
    directory.mkdir(parents=True, exist_ok=True)
    management = json.loads(LOCK_FILE.read_text(encoding="utf-8"))["management"]
    for key in ("generator_config", "spec_fixes", "template_edits", "templates"):
        management[key] = str((LOCK_FILE.parent / management[key]).resolve())
    spec = LOCK_FILE.parent / management["file"]
    (directory / management["file"]).write_bytes(spec.read_bytes())
    management.update(changes or {})
    lock = {"management": management}
    for name, more in entries.items():
        lock[name] = {**management, **more}
    path = directory / "spec.lock.json"
    path.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    return path
