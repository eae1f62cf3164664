"""Test your Kinde-protected application without Kinde.

:class:`FakeKinde` is an in-process fake Kinde domain (OpenID discovery, JWKS, token
endpoint) that mints tokens with Kinde's claim shapes, including deliberately bad ones.
:func:`login_test_client` logs a web framework's test client (FastAPI, Flask, Django)
in as a test user through the app's real login and callback routes.
Installing ``kinde-sdk`` also registers a pytest plugin
(:mod:`kinde_sdk.testing.pytest_plugin`) with the fixtures ``fake_kinde``,
``kinde_token``, ``kinde_validator`` and ``kinde_login``; disable it with
``pytest -p no:kinde_sdk``.

Nothing here is imported by ``import kinde_sdk``; it needs the ``cryptography`` package
(installed with ``PyJWT[crypto]``, a dependency of the SDK).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

if TYPE_CHECKING:
    from ._claims import feature_flag_claims, role_claims
    from ._fake import (
        DEFAULT_AUDIENCE,
        DEFAULT_CLIENT_ID,
        DEFAULT_SCOPES,
        DEFAULT_SUB,
        WRONG_AUDIENCE,
        FakeKinde,
        FakeWebhook,
    )
    from ._login import KindeLoginError, login_test_client

# Imported on first use, so that pytest loading the plugin (a submodule) at start-up
# does not import PyJWT and cryptography for test suites that never use the kit.
_LAZY = {
    "DEFAULT_AUDIENCE": "_fake",
    "DEFAULT_CLIENT_ID": "_fake",
    "DEFAULT_SCOPES": "_fake",
    "DEFAULT_SUB": "_fake",
    "WRONG_AUDIENCE": "_fake",
    "FakeKinde": "_fake",
    "FakeWebhook": "_fake",
    "KindeLoginError": "_login",
    "feature_flag_claims": "_claims",
    "login_test_client": "_login",
    "role_claims": "_claims",
}

__all__ = [
    "DEFAULT_AUDIENCE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_SCOPES",
    "DEFAULT_SUB",
    "WRONG_AUDIENCE",
    "FakeKinde",
    "FakeWebhook",
    "KindeLoginError",
    "feature_flag_claims",
    "login_test_client",
    "role_claims",
]


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)
