"""Framework integrations: thin adapters over :class:`~kinde_sdk.auth.OAuth` and
:class:`~kinde_sdk.auth.TokenValidator` for FastAPI, Flask and Django (+ DRF).

``OAuth(framework="fastapi", app=app)`` (or ``"flask"``, ``"django"``) calls
:func:`install`, which imports exactly the adapter named, never one guessed from what
is installed. Each adapter lives in its own module, imported only here or by the user,
and needs its extra: ``pip install "kinde-sdk[fastapi]"`` / ``[flask]`` / ``[django]``.

What the adapters share (cookie signing, safe redirects, path matching, bearer-token
checks, error pages) is framework-free and lives in :mod:`._session`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import KindeConfigurationError

if TYPE_CHECKING:
    from ..auth.oauth import OAuth

__all__ = ["FRAMEWORKS", "install"]

FRAMEWORKS = {
    "fastapi": ("fastapi", "KindeFastAPI", "fastapi"),
    "flask": ("flask", "KindeFlask", "flask"),
    "django": ("django", "KindeDjango", "django"),
}


def install(oauth: OAuth, framework: str, app: Any, options: dict[str, Any]) -> Any:
    """Build the integration named by ``framework`` for ``oauth`` (and ``app``)."""
    if not isinstance(framework, str) or framework.lower() not in FRAMEWORKS:
        raise KindeConfigurationError(
            f"unknown framework {framework!r}; expected one of {', '.join(sorted(FRAMEWORKS))}"
        )
    module_name, class_name, extra = FRAMEWORKS[framework.lower()]
    try:
        module = importlib.import_module(f".{module_name}", __name__)
    except ImportError as exc:
        raise KindeConfigurationError(
            f'framework={framework!r} needs its extra: pip install "kinde-sdk[{extra}]" ({exc})'
        ) from None
    return getattr(module, class_name)(oauth, app, **options)
