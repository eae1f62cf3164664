#!/usr/bin/env python3
"""Build the sdist and the wheel, check them, and prove the wheel works when installed.

1. ``python -m build``: the sdist, then the wheel built FROM the sdist (so a broken
   sdist fails here);
2. ``twine check`` (metadata PyPI accepts) and ``check-wheel-contents``;
3. the wheel holds the two packages with their ``py.typed`` and no tests;
4. the wheel is installed into a fresh venv (no editable install, no repository on
   ``sys.path``), which imports the three entry points (``ManagementClient``,
   ``OAuth``, ``TokenValidator``), runs the ``kinde`` command and loads the pytest plugin.

Usage: ``check_dist.py [--outdir dist]``. Exit 0 when all hold, 1 with one ``error:``
line naming the step that failed (its output above it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The handwritten SDK and the two generated clients it wraps (one per committed spec).
PACKAGES = ("kinde_sdk", "kinde_sdk_generated", "kinde_sdk_account_generated")

IMPORT_CHECK = """
import importlib.metadata as md, sys
from kinde_sdk.management import ManagementClient
from kinde_sdk.auth import OAuth
from kinde_sdk import TokenValidator
import kinde_sdk, kinde_sdk_generated, kinde_sdk_account_generated
from kinde_sdk import AccountClient
assert "site-packages" in kinde_sdk.__file__, kinde_sdk.__file__
eps = md.entry_points()
(plugin,) = [e for e in eps.select(group="pytest11") if e.name == "kinde_sdk"]
plugin.load()
(script,) = [e for e in eps.select(group="console_scripts") if e.name == "kinde"]
assert callable(script.load())
print("imported", ManagementClient.__name__, OAuth.__name__, TokenValidator.__name__,
      "from", kinde_sdk.__file__)
"""


class DistError(Exception):
    pass


def run(step: str, *cmd: str | Path, cwd: Path = ROOT) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise DistError(f"{step} failed (exit {proc.returncode})")
    return proc.stdout


def check_wheel_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    if tops != set(PACKAGES):
        raise DistError(f"the wheel's top-level entries are {sorted(tops)}")
    for typed in (f"{package}/py.typed" for package in PACKAGES):
        if typed not in names:
            raise DistError(f"the wheel lacks {typed}")
    tests = [n for n in names if "/tests/" in f"/{n}" or Path(n).name.startswith("test_")]
    if tests:
        raise DistError(f"the wheel holds tests: {tests[:3]}")
    license_files = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    if not license_files:
        raise DistError("the wheel lacks its LICENSE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    outdir: Path = args.outdir.resolve()
    py = sys.executable
    try:
        shutil.rmtree(outdir, ignore_errors=True)
        run("python -m build", py, "-m", "build", "--outdir", outdir, ROOT)
        sdists = sorted(outdir.glob("*.tar.gz"))
        wheels = sorted(outdir.glob("*.whl"))
        if len(sdists) != 1 or len(wheels) != 1:
            raise DistError(f"expected one sdist and one wheel in {outdir}")
        print(f"built {sdists[0].name} and, from it, {wheels[0].name}")
        run("twine check", py, "-m", "twine", "check", "--strict", *sdists, *wheels)
        run("check-wheel-contents", py, "-m", "check_wheel_contents", *wheels)
        check_wheel_files(wheels[0])
        print("twine check, check-wheel-contents and the wheel's files: ok")
        with tempfile.TemporaryDirectory(prefix="kinde-dist-") as tmp:
            venv = Path(tmp) / "venv"
            run("venv", py, "-m", "venv", venv)
            vpy = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
            # pytest too: the plugin entry point imports it (users install it themselves).
            run("pip install of the wheel", vpy, "-m", "pip", "install", "-q", wheels[0], "pytest")
            # From an empty directory, so the repository's packages cannot be imported.
            out = run("importing the installed wheel", vpy, "-c", IMPORT_CHECK, cwd=Path(tmp))
            print(out.strip())
            kinde = venv / ("Scripts" if os.name == "nt" else "bin") / "kinde"
            run("kinde --help", kinde, "--help", cwd=Path(tmp))
        print("the installed wheel imports its entry points and runs `kinde --help`")
    except DistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
