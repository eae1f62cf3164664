"""Stoplight Prism serving a (fixed) Kinde API spec with request validation: the
Management API by default, or any spec file given (the Account API: ensure_account_spec)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

from ._process import NODE_BIN, ROOT, ServerProcess, free_port


def ensure_spec() -> Path:
    """The spec as the SDK is generated from it: hash-checked, spec-fixes applied."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from fetch_spec import fetch_spec
    from generate import patch_spec

    return patch_spec(fetch_spec())


ACCOUNT_SPEC = ROOT.parent / "shared" / "openapi" / "kinde-account-api-spec.yaml"


def ensure_account_spec() -> Path:
    """The Account API spec with openapi/account-spec-fixes.toml applied."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from _build import BUILD_DIR, atomic_write, load_edits

    text = ACCOUNT_SPEC.read_text(encoding="utf-8")
    for edit in load_edits(ROOT / "openapi" / "account-spec-fixes.toml"):
        text = edit.apply(text)
    dest = BUILD_DIR / "spec" / "kinde-account-api-spec.patched.yaml"
    atomic_write(dest, text.encode("utf-8"))
    return dest


def start_prism(port: Optional[int] = None, spec: Optional[Path] = None) -> ServerProcess:
    """Prism mocking ``spec`` (default: the Management API spec) on a free port."""
    prism = NODE_BIN / "prism"
    if not prism.exists():
        raise RuntimeError(f"{prism} is missing: run `make install` (npm ci in tools/)")
    port = port or free_port()
    source = spec if spec is not None else ensure_spec()
    # Prism reloads, refusing connections for a moment, whenever the file it serves
    # changes; every test session and the demo rewrite build/spec/. Each Prism serves a
    # private copy so nothing else can restart it mid-test.
    private = Path(tempfile.mkdtemp(prefix="kinde-prism-"))
    served = private / source.name
    shutil.copyfile(source, served)
    argv = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(served)]
    server = ServerProcess(argv, port=port)
    server.cleanup_paths.append(private)
    return server.start(ready_timeout=90)
