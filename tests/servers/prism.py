"""Stoplight Prism serving the (fixed) Kinde Management API spec with request validation."""

from __future__ import annotations

import sys
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
    spec = ensure_spec()
    argv = [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)]
    return ServerProcess(argv, port=port).start(ready_timeout=90)
