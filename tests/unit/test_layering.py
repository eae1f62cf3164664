"""Data flows one way: the auth layer never imports the framework adapters above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import kinde_sdk
from kinde_sdk import _integrations
from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage
from kinde_sdk.errors import KindeConfigurationError
from kinde_sdk.frameworks import FRAMEWORKS, register_framework

PACKAGE = Path(kinde_sdk.__file__).parent


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module an ``import`` statement of ``path`` names, made absolute (also the
    ones inside functions: a lazy import is still an import)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_auth_does_not_import_frameworks_even_lazily() -> None:
    offenders = []
    for path in sorted((PACKAGE / "auth").rglob("*.py")):
        for module in _imported_modules(path, "kinde_sdk.auth"):
            if module == "kinde_sdk.frameworks" or module.startswith("kinde_sdk.frameworks."):
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_the_import_check_sees_a_lazy_relative_import(tmp_path: Path) -> None:
    sample = tmp_path / "oauth.py"
    sample.write_text("def f():\n    from ..frameworks import install\n")
    assert "kinde_sdk.frameworks.install" in _imported_modules(sample, "kinde_sdk.auth")


def test_installing_an_adapter_does_not_load_the_frameworks_package_first() -> None:
    code = (
        "import sys\n"
        "from kinde_sdk.auth.oauth import OAuth\n"
        "assert 'kinde_sdk.frameworks' not in sys.modules, 'imported by the auth layer'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_builtin_table_matches_the_frameworks_package() -> None:
    assert sorted(FRAMEWORKS) == ["django", "fastapi", "flask"]
    for name, entry in _integrations.BUILTIN_FRAMEWORKS.items():
        assert entry.module == f"kinde_sdk.frameworks.{FRAMEWORKS[name][0]}"


def test_a_registered_framework_is_installed_by_oauth() -> None:
    made: list[tuple[Any, Any, dict[str, Any]]] = []

    class Adapter:
        def __init__(self, oauth: Any, app: Any, **options: Any) -> None:
            made.append((oauth, app, options))

    register_framework("Custom-Test", Adapter)
    try:
        app = object()
        oauth = OAuth(
            client_id="id",
            redirect_uri="http://127.0.0.1/callback",
            host="http://127.0.0.1:9",
            storage=MemoryStorage(),
            framework="custom-test",
            app=app,
            framework_options={"flavour": "x"},
        )
        assert isinstance(oauth.integration, Adapter)
        assert made == [(oauth, app, {"flavour": "x"})]
    finally:
        _integrations._registry.pop("custom-test", None)


def test_an_unknown_framework_names_the_known_ones() -> None:
    with pytest.raises(KindeConfigurationError, match="django, fastapi, flask"):
        OAuth(
            client_id="id",
            redirect_uri="http://127.0.0.1/callback",
            host="http://127.0.0.1:9",
            framework="bottle",
            app=object(),
        )
