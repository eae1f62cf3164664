"""Fixtures shared by the whole suite: local servers, started by the tests themselves."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from kinde_sdk.management import ManagementClient
from tests.servers._process import ServerProcess
from tests.servers.front import FrontServer
from tests.servers.oidc_provider import OIDCProvider, start_oidc_provider
from tests.servers.prism import start_prism


@pytest.fixture(scope="session")
def prism() -> Iterator[ServerProcess]:
    """Prism serving the Management API spec (with openapi/spec-fixes.toml applied)."""
    server = start_prism()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kinde_front(prism: ServerProcess) -> Iterator[FrontServer]:
    """One loopback origin that issues M2M tokens and forwards /api/ to Prism."""
    front = FrontServer(
        upstream=prism.url,
        client_id="test-m2m-client",
        client_secret=secrets.token_urlsafe(16),
    )
    front.start()
    yield front
    front.stop()


@pytest.fixture
def kinde_domain(kinde_front: FrontServer, prism: ServerProcess) -> Iterator[FrontServer]:
    """The front, checked after each test: a request that broke the spec fails the test
    with Prism's reason (Prism itself answers such requests with the spec's 400 example)."""
    before = len(kinde_front.state.violations)
    log_mark = len(prism.logs)
    yield kinde_front
    new = kinde_front.state.violations[before:]
    if new:
        recent = [line for line in list(prism.logs)[log_mark:] if "VALIDATOR" in line]
        pytest.fail(
            "requests broke the Management API spec:\n  "
            + "\n  ".join(new)
            + "\nPrism's log:\n  "
            + "\n  ".join(recent[-20:])
        )


@pytest.fixture
def management(kinde_domain: FrontServer) -> Iterator[ManagementClient]:
    """A client for Prism that raises on any response differing from the spec
    (``strict_responses``), so that an SDK bug cannot hide behind the lenient parser."""
    client = ManagementClient(
        kinde_domain.url,
        kinde_domain.state.client_id,
        kinde_domain.state.client_secret,
        max_retries=0,
        strict_responses=True,
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    """node-oidc-provider with Kinde-style routes and claims (tests/servers/oidc_provider.mjs)."""
    provider = start_oidc_provider()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver on 127.0.0.1: its default, "localhost", may resolve to ::1."""
    return ("127.0.0.1", 0)
