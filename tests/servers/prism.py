"""Stoplight Prism serving the (fixed) Kinde Management API spec with request validation."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ._process import NODE_BIN, ROOT, ServerProcess, free_port


def ensure_spec() -> Path:
    """The spec as the SDK is generated from it: hash-checked, spec-fixes applied."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from fetch_spec import fetch_spec
    from generate import patch_spec

    return patch_spec(fetch_spec())


def start_prism(port: int | None = None) -> ServerProcess:
    prism = NODE_BIN / "prism"
    if not prism.exists():
        raise RuntimeError(f"{prism} is missing: run `make install` (npm ci in tools/)")
    port = port or free_port()
    # Prism reloads, refusing connections for a moment, whenever the file it serves
    # changes; every test session and the demo rewrite build/spec/. Each Prism serves a
    # private copy so nothing else can restart it mid-test.
    private = Path(tempfile.mkdtemp(prefix="kinde-prism-"))
    spec = private / "kinde-management-api-spec.yaml"
    shutil.copyfile(ensure_spec(), spec)
    argv = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    server = ServerProcess(argv, port=port)
    server.cleanup_paths.append(private)
    return server.start(ready_timeout=90)
