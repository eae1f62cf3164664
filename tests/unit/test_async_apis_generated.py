"""The async API types are written from the generated API classes, never kept by hand."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_async_types_match_the_generated_api_classes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        gen = importlib.import_module("gen_async_apis")
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    committed = (ROOT / "kinde_sdk/management/_async_apis.py").read_text(encoding="utf-8")
    assert committed == gen.render(), "stale: run `make generate`"


def test_every_generated_operation_has_an_async_twin() -> None:
    from kinde_sdk.management import _async_apis

    count = 0
    for module, class_name in _async_apis.API_CLASSES:
        cls = getattr(importlib.import_module(f"kinde_sdk_generated.api.{module}"), class_name)
        protocol = getattr(_async_apis, f"Async{class_name}")
        operations = [
            name
            for name, fn in vars(cls).items()
            if callable(fn)
            and not name.startswith("_")
            and not name.endswith(("_with_http_info", "_without_preload_content"))
        ]
        for name in operations:
            assert inspect.iscoroutinefunction(getattr(protocol, name)), f"{class_name}.{name}"
            assert inspect.iscoroutinefunction(getattr(protocol, f"{name}_with_http_info"))
        count += len(operations)
    assert count >= 183
