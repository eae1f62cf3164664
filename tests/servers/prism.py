"""Stoplight Prism serving a (fixed) Kinde API spec with request validation."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from ._process import NODE_BIN, ROOT, ServerProcess, free_port


def ensure_spec(name: str = "management") -> Path:
    """The committed spec ``name`` (a key of openapi/spec.lock.json) as the SDK is generated
    from it: hash-checked, spec-fixes applied. No network."""
    if str(ROOT / "scripts") not in sys.path:
        sys.path.insert(0, str(ROOT / "scripts"))
    from generate import patched_spec

    return patched_spec(name)


def start_prism(port: int | None = None, spec_name: str = "management") -> ServerProcess:
    prism = NODE_BIN / "prism"
    if not prism.exists():
        raise RuntimeError(f"{prism} is missing: run `make install` (npm ci in tools/)")
    port = port or free_port()
    # Prism reloads, refusing connections for a moment, whenever the file it serves
    # changes; every test session and the demo rewrite build/spec/. Each Prism serves a
    # private copy so nothing else can restart it mid-test.
    private = Path(tempfile.mkdtemp(prefix="kinde-prism-"))
    source = ensure_spec(spec_name)
    spec = private / source.name
    shutil.copyfile(source, spec)
    argv = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    server = ServerProcess(argv, port=port)
    server.cleanup_paths.append(private)
    return server.start(ready_timeout=90)
