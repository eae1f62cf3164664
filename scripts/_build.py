"""Shared pieces of the build step: where things live, the spec lock, text edits.

The specs the SDK is generated from are committed under ``openapi/``, and
``openapi/spec.lock.json`` maps each spec's name to everything the pipeline needs::

    {
      "management": {
        "title": "Kinde Management API",       # names it in reports and changelog drafts
        "url": "https://...yaml",              # where `make spec-update` fetches it
        "sha256": "...",                       # the hash of the committed file
        "file": "kinde-management-api-spec.yaml",  # the committed copy
        "package": "kinde_sdk_generated",      # the package generated from it
        "generator_config": "../generator-config.yaml",
        "spec_fixes": "spec-fixes.toml",
        "template_edits": "template-edits.toml",
        "templates": "templates",
        "env": "KINDE_OPENAPI_SPEC"            # optional: a local source for spec-update
      }
    }

Paths are relative to the lock's directory (``openapi/``), so a copy of the lock with its
files elsewhere works the same. Adding a spec is adding an entry and its files. The build
reads the committed file and checks it against the lock: it never touches the network;
only `make spec-update` fetches.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIR = ROOT / "openapi"
LOCK_FILE = OPENAPI_DIR / "spec.lock.json"
BUILD_DIR = ROOT / "build"
# The spec the handwritten management code, the Prism fixtures and the coverage check use.
MANAGEMENT = "management"
# Kept for callers that only know the one (management) generated package.
GENERATED_PACKAGE = "kinde_sdk_generated"

REQUIRED_KEYS = (
    "url",
    "sha256",
    "file",
    "package",
    "generator_config",
    "spec_fixes",
    "template_edits",
    "templates",
)


class BuildError(Exception):
    """A build step failed for a reason the user can act on."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Spec:
    """One entry of the lock, its paths resolved against the lock's directory."""

    name: str
    title: str
    url: str
    sha256: str
    file: Path
    package: str
    generator_config: Path
    spec_fixes: Path
    template_edits: Path
    templates: Path
    env: str

    @property
    def output(self) -> Path:
        """Where the generated package lives in the repository."""
        return ROOT.joinpath(*self.package.split("."))

    @property
    def patched_path(self) -> Path:
        """Where the spec with its fixes applied is written for Prism and the demo."""
        return BUILD_DIR / "spec" / f"{self.file.stem}.patched{self.file.suffix}"

    def read_committed(self) -> bytes:
        """The committed spec's bytes, refused unless they have the locked hash."""
        try:
            data = self.file.read_bytes()
        except OSError as exc:
            raise BuildError(
                f"the {self.name} spec {self.file} is missing ({exc.strerror}); it is committed "
                "with the repository: restore it with `git checkout -- openapi/`"
            ) from exc
        digest = sha256_of(data)
        if digest != self.sha256:
            raise BuildError(
                f"{self.file} has sha256 {digest}, openapi/spec.lock.json says {self.sha256} "
                f"for {self.name!r}: restore it (`git checkout -- openapi/`) or take a new spec "
                "with `make spec-update`"
            )
        return data

    def verified_file(self) -> Path:
        """The committed spec's path, after checking it against the lock."""
        self.read_committed()
        return self.file


def _spec_from_entry(name: str, entry: Any, base: Path, lock_path: Path) -> Spec:
    if not isinstance(entry, dict):
        raise BuildError(f"{lock_path}: entry {name!r} is not an object")
    missing = [k for k in REQUIRED_KEYS if not isinstance(entry.get(k), str) or not entry[k]]
    if missing:
        raise BuildError(f"{lock_path}: entry {name!r} lacks {', '.join(missing)}")
    return Spec(
        name=name,
        title=str(entry.get("title") or f"Kinde {name} API"),
        url=entry["url"],
        sha256=entry["sha256"],
        file=base / entry["file"],
        package=entry["package"],
        generator_config=base / entry["generator_config"],
        spec_fixes=base / entry["spec_fixes"],
        template_edits=base / entry["template_edits"],
        templates=base / entry["templates"],
        env=str(entry.get("env") or f"KINDE_{name.upper()}_OPENAPI_SPEC"),
    )


def read_lock_data(path: Path = LOCK_FILE) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read the spec lock {path}: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise BuildError(f"the spec lock {path} maps no spec names")
    return data


def read_lock(path: Path = LOCK_FILE) -> dict[str, Spec]:
    """Every spec of the lock, by name, in the lock's order."""
    data = read_lock_data(path)
    return {name: _spec_from_entry(name, entry, path.parent, path) for name, entry in data.items()}


def get_spec(name: str = MANAGEMENT, lock_path: Path = LOCK_FILE) -> Spec:
    specs = read_lock(lock_path)
    if name not in specs:
        raise BuildError(f"no spec {name!r} in {lock_path} (it has: {', '.join(specs)})")
    return specs[name]


def select_specs(names: list[str] | None, lock_path: Path = LOCK_FILE) -> list[Spec]:
    """The named specs (all of the lock's when ``names`` is empty), unknown names refused."""
    specs = read_lock(lock_path)
    if not names:
        return list(specs.values())
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise BuildError(
            f"no spec {', '.join(map(repr, unknown))} in {lock_path} (it has: {', '.join(specs)})"
        )
    return [specs[n] for n in dict.fromkeys(names)]


def locked_spec(name: str = MANAGEMENT) -> Path:
    """The committed spec ``name``, hash-checked against the lock."""
    return get_spec(name).verified_file()


def write_lock_sha256(name: str, sha256: str, path: Path = LOCK_FILE) -> None:
    """Point one entry at a new hash, keeping every other key of the lock as it is."""
    data = read_lock_data(path)
    data[name]["sha256"] = sha256
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BuildError(f"cannot read the edit file {path}: {exc}") from exc
    return [
        TextEdit(target=e["target"], find=e["find"], replace=e["replace"], why=e["why"])
        for e in data.get("edit", [])
    ]
