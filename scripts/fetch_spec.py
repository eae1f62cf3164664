#!/usr/bin/env python3
"""Fetch the Kinde Management API spec and check it against openapi/spec.lock.json.

Source, first match wins: --from PATH, $KINDE_OPENAPI_SPEC, the shared offline copy
(../shared/openapi/kinde-management-api-spec.yaml) when it exists, else the lock's URL.
A hash mismatch is refused unless --update, which rewrites the lock.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _build import (
    SHARED_SPEC,
    SPEC_PATH,
    BuildError,
    atomic_write,
    read_lock,
    sha256_of,
    write_lock,
)


def resolve_source(explicit: str | None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("KINDE_OPENAPI_SPEC")
    if env:
        return env
    if SHARED_SPEC.exists():
        return str(SHARED_SPEC)
    return read_lock()["url"]


def read_source(source: str) -> bytes:
    if source.startswith(("https://", "http://")):
        import urllib3

        response = urllib3.request("GET", source, timeout=urllib3.Timeout(connect=10, read=60))
        if response.status != 200:
            raise BuildError(f"fetching {source} answered HTTP {response.status}")
        return response.data
    path = Path(source)
    if not path.is_file():
        raise BuildError(f"spec file {source} does not exist")
    return path.read_bytes()


def fetch_spec(source: str | None = None, *, update: bool = False, dest: Path = SPEC_PATH) -> Path:
    """Write the verified spec to ``dest`` and return it."""
    origin = resolve_source(source)
    data = read_source(origin)
    digest = sha256_of(data)
    lock = read_lock()
    if digest != lock["sha256"]:
        if not update:
            raise BuildError(
                f"spec from {origin} has sha256 {digest}, the lock says {lock['sha256']}; "
                "run with --update (make spec-update) to accept the new spec"
            )
        lock["sha256"] = digest
        write_lock(lock)
        print(f"lock updated to sha256 {digest}", file=sys.stderr)
    atomic_write(dest, data)
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="local path or URL of the spec")
    parser.add_argument(
        "--update", action="store_true", help="accept a new hash and rewrite the lock"
    )
    args = parser.parse_args(argv)
    try:
        path = fetch_spec(args.source, update=args.update)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
