"""Which web-framework adapter ``OAuth(framework=...)`` installs: a registry plus a table.

The auth layer sits below the framework adapters (they import ``OAuth``; ``OAuth``
never imports them, not even lazily), so it cannot name their classes. It asks this
module instead, which knows the built-in adapters only as data: a name, a module path
and a class name. The module is imported the first time its name is asked for.
A third-party adapter registers a factory with :func:`register_framework` (for instance
from its package's ``__init__``); a registered name wins over the table.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Callable, NamedTuple

from .errors import KindeConfigurationError

__all__ = ["BUILTIN_FRAMEWORKS", "AdapterFactory", "install", "register_framework"]

# ``factory(oauth, app, **options)`` returns the integration object (``oauth.integration``).
AdapterFactory = Callable[..., Any]


class BuiltinAdapter(NamedTuple):
    module: str
    attribute: str
    extra: str


BUILTIN_FRAMEWORKS: dict[str, BuiltinAdapter] = {
    "fastapi": BuiltinAdapter("kinde_sdk.frameworks.fastapi", "KindeFastAPI", "fastapi"),
    "flask": BuiltinAdapter("kinde_sdk.frameworks.flask", "KindeFlask", "flask"),
    "django": BuiltinAdapter("kinde_sdk.frameworks.django", "KindeDjango", "django"),
}

_registry: dict[str, AdapterFactory] = {}
_lock = threading.Lock()


def register_framework(name: str, factory: AdapterFactory) -> None:
    """Make ``OAuth(framework=name, app=..., framework_options=...)`` call
    ``factory(oauth, app, **framework_options)``. Names are case-insensitive."""
    if not isinstance(name, str) or not name.strip():
        raise KindeConfigurationError("a framework name must be a non-empty string")
    if not callable(factory):
        raise KindeConfigurationError("a framework factory must be callable")
    with _lock:
        _registry[name.strip().lower()] = factory


def known_frameworks() -> list[str]:
    with _lock:
        return sorted(set(BUILTIN_FRAMEWORKS) | set(_registry))


def _factory(framework: str) -> AdapterFactory:
    key = framework.lower() if isinstance(framework, str) else None
    with _lock:
        registered = _registry.get(key) if key is not None else None
    if registered is not None:
        return registered
    builtin = BUILTIN_FRAMEWORKS.get(key) if key is not None else None
    if builtin is None:
        raise KindeConfigurationError(
            f"unknown framework {framework!r}; expected one of {', '.join(known_frameworks())}"
        )
    try:
        module = importlib.import_module(builtin.module)
    except ImportError as exc:
        raise KindeConfigurationError(
            f'framework={framework!r} needs its extra: pip install "kinde-sdk[{builtin.extra}]" '
            f"({exc})"
        ) from None
    factory: AdapterFactory = getattr(module, builtin.attribute)
    return factory


def install(oauth: Any, framework: str, app: Any, options: dict[str, Any]) -> Any:
    """Build the integration named by ``framework`` for ``oauth`` (and ``app``)."""
    return _factory(framework)(oauth, app, **options)
