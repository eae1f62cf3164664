"""Framework integrations: thin adapters over :class:`~kinde_sdk.auth.OAuth` and
:class:`~kinde_sdk.auth.TokenValidator` for FastAPI, Flask and Django (+ DRF).

``OAuth(framework="fastapi", app=app)`` (or ``"flask"``, ``"django"``) calls
:func:`install` (from :mod:`kinde_sdk._integrations`, a name-to-module table that the
auth layer reads without importing this package), which imports exactly the adapter
named, never one guessed from what is installed. Another adapter can be added with
:func:`register_framework`. Each adapter lives in its own module, imported only then or
by the user, and needs its extra: ``pip install "kinde-sdk[fastapi]"`` / ``[flask]`` / ``[django]``.

What the adapters share (cookie signing, safe redirects, path matching, bearer-token
checks, error pages) is framework-free and lives in :mod:`._session`.
"""

from __future__ import annotations

from .._integrations import BUILTIN_FRAMEWORKS, install, register_framework

__all__ = ["FRAMEWORKS", "install", "register_framework"]

# (module, class, extra) per built-in adapter; the table itself lives below the auth
# layer (kinde_sdk._integrations) so that OAuth can find an adapter without importing
# this package.
FRAMEWORKS = {
    name: (entry.module.rsplit(".", 1)[1], entry.attribute, entry.extra)
    for name, entry in BUILTIN_FRAMEWORKS.items()
}
