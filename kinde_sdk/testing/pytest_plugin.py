"""The ``kinde_sdk`` pytest plugin (registered through the ``pytest11`` entry point).

Fixtures:

``fake_kinde``
    A started :class:`~kinde_sdk.testing.FakeKinde`, one per test session; its request
    counters, codes and refresh tokens are reset before each test, and a key rotated by
    a test is rotated back afterwards.
``kinde_token``
    A factory: ``kinde_token(permissions=["read:users"], org_code="org_1")`` returns a
    signed access token (the arguments of ``FakeKinde.issue_access_token``, including
    ``entitlements``, ``plans`` and ``properties`` for the fake's Account API).
``kinde_validator``
    A :class:`~kinde_sdk.auth.TokenValidator` for the fake's domain and default audience,
    new for each test, with no JWKS refetch cooldown (so a rotated key is seen at once).
``kinde_login``
    ``kinde_login(client, sub="kp_ann", permissions=["read:reports"])`` logs a framework
    test client (FastAPI ``TestClient``, Flask ``app.test_client()``, Django
    ``Client``) in through the app's real ``/login`` and ``/callback`` routes against
    ``fake_kinde`` (:func:`~kinde_sdk.testing.login_test_client` bound to it) and
    returns the callback's response.

A fixture of the same name in your own ``conftest.py`` takes precedence. Disable the
plugin with ``pytest -p no:kinde_sdk``. This module imports nothing heavy at pytest
start-up: the fake and the validator are imported when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

import pytest

if TYPE_CHECKING:
    from kinde_sdk.auth.token_validator import TokenValidator

    from ._fake import FakeKinde

__all__ = [
    "KindeLogin",
    "KindeTokenFactory",
    "fake_kinde",
    "kinde_login",
    "kinde_token",
    "kinde_validator",
]


KindeTokenFactory = Callable[..., str]
"""The type of the ``kinde_token`` fixture (``FakeKinde.issue_access_token``)."""

KindeLogin = Callable[..., Any]
"""The type of the ``kinde_login`` fixture: ``(client, **user) -> response``."""


@pytest.fixture(scope="session")
def _kinde_fake_server() -> Iterator[FakeKinde]:
    from ._fake import FakeKinde

    with FakeKinde() as fake:
        yield fake


@pytest.fixture
def fake_kinde(_kinde_fake_server: FakeKinde) -> Iterator[FakeKinde]:
    """The session's fake Kinde domain, with fresh counters for this test."""
    fake = _kinde_fake_server
    fake.reset()
    state = fake._snapshot()
    yield fake
    fake._restore(state)


@pytest.fixture
def kinde_token(fake_kinde: FakeKinde) -> KindeTokenFactory:
    """``kinde_token(**claims) -> str``: an access token from ``fake_kinde``."""
    return fake_kinde.issue_access_token


@pytest.fixture
def kinde_validator(fake_kinde: FakeKinde) -> TokenValidator:
    """A TokenValidator trusting ``fake_kinde``, expecting its default audience."""
    from kinde_sdk.auth.token_validator import TokenValidator

    return TokenValidator(fake_kinde.domain, audience=fake_kinde.audience, jwks_cooldown=0)


@pytest.fixture
def kinde_login(fake_kinde: FakeKinde) -> KindeLogin:
    """``kinde_login(client, next=None, login_path="/login", **user)``: log a framework
    test client in as a test user through the app's routes, against ``fake_kinde``."""
    from ._login import login_test_client

    def login(client: Any, **options: Any) -> Any:
        return login_test_client(client, fake_kinde, **options)

    return login
