"""Shared pieces of the build step: where things live, the spec lock, text edits.

The build step never touches the network unless asked to: the spec comes from a local
file when one is available, and every input is pinned (spec hash, generator version).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIR = ROOT / "openapi"
LOCK_FILE = OPENAPI_DIR / "spec.lock.json"
BUILD_DIR = ROOT / "build"
SPEC_PATH = BUILD_DIR / "spec" / "kinde-management-api-spec.yaml"
PATCHED_SPEC_PATH = BUILD_DIR / "spec" / "kinde-management-api-spec.patched.yaml"
SHARED_SPEC = ROOT.parent / "shared" / "openapi" / "kinde-management-api-spec.yaml"
GENERATED_PACKAGE = "kinde_sdk_generated"


class BuildError(Exception):
    """A build step failed for a reason the user can act on."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_lock() -> dict[str, str]:
    return json.loads(LOCK_FILE.read_text(encoding="utf-8"))


def write_lock(lock: dict[str, str]) -> None:
    atomic_write(LOCK_FILE, (json.dumps(lock, indent=2) + "\n").encode())


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class TextEdit:
    """Replace one exact snippet of a file, which must occur exactly once.

    Exact snippets (rather than regexes or line numbers) make an edit fail loudly
    the moment its target changes upstream, instead of silently applying elsewhere.
    """

    target: str
    find: str
    replace: str
    why: str

    def apply(self, text: str) -> str:
        count = text.count(self.find)
        if count != 1:
            raise BuildError(
                f"edit for {self.target} ({self.why.strip().splitlines()[0]}) expected its "
                f"snippet exactly once, found it {count} times; update the edit file"
            )
        return text.replace(self.find, self.replace)


def load_edits(path: Path) -> list[TextEdit]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        TextEdit(target=e["target"], find=e["find"], replace=e["replace"], why=e["why"])
        for e in data.get("edit", [])
    ]
