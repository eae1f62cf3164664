#!/usr/bin/env python3
"""Fetch a Kinde API spec from upstream (the one place the build pipeline uses the network).

The build itself never fetches: it reads the committed specs under openapi/ and checks
them against openapi/spec.lock.json. Fetching is for `make spec-update`, which takes the
new spec from, first match wins: --from PATH or URL, the spec's environment variable
(KINDE_OPENAPI_SPEC for the Management API), else the lock's URL.

As a command: fetch one spec and say whether it differs from the locked one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _build import MANAGEMENT, BuildError, Spec, atomic_write, get_spec, locked_spec, sha256_of


def resolve_source(spec: Spec, explicit: str | None = None) -> str:
    if explicit:
        return explicit
    return os.environ.get(spec.env) or spec.url


def offline_hint(spec: Spec) -> str:
    name = "" if spec.name == MANAGEMENT else f" SPEC_NAME={spec.name}"
    command = f"make spec-update SPEC=path/to/spec.yaml{name}"
    return f"to use a local copy, run `{command}` or export {spec.env}=path"


def read_source(source: str, spec: Spec | None = None) -> bytes:
    """The bytes at ``source`` (a URL or a local path); any failure is one BuildError line."""
    if source.startswith(("https://", "http://")):
        import urllib3

        hint = f"; {offline_hint(spec)}" if spec else ""
        try:
            response = urllib3.request(
                "GET",
                source,
                timeout=urllib3.Timeout(connect=10, read=60),
                retries=urllib3.Retry(total=2, backoff_factor=0.5, raise_on_status=False),
            )
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise BuildError(f"cannot fetch {source} ({type(reason).__name__}){hint}") from exc
        if response.status != 200:
            raise BuildError(f"fetching {source} answered HTTP {response.status}{hint}")
        return response.data
    path = Path(source)
    try:
        return path.read_bytes()
    except OSError as exc:
        if not path.exists():
            raise BuildError(f"spec file {source} does not exist") from exc
        raise BuildError(f"cannot read the spec file {source}: {exc.strerror}") from exc


def fetch_spec(name: str = MANAGEMENT) -> Path:
    """The committed spec ``name``, hash-checked (no fetch: kept for existing callers)."""
    return locked_spec(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=MANAGEMENT, help="lock entry (default: %(default)s)")
    parser.add_argument("--from", dest="source", help="local path or URL of the spec")
    parser.add_argument("-o", "--output", type=Path, help="write the fetched spec here")
    args = parser.parse_args(argv)
    try:
        spec = get_spec(args.spec)
        origin = resolve_source(spec, args.source)
        data = read_source(origin, spec)
        if args.output:
            atomic_write(args.output, data)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    digest = sha256_of(data)
    same = "the locked spec" if digest == spec.sha256 else "NEW (the lock has another hash)"
    print(f"{spec.name}: {origin} has sha256 {digest}: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
