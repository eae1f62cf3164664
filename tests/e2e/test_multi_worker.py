"""Sessions across workers (issue 12 part 2): two real uvicorn processes running
examples/fastapi_app.py on two ports, sharing one redis-server through
``KINDE_REDIS_URL``; chromium alternates between them. A login started on one worker
completes on the other, is valid on both, and a logout on one ends it on both.

Cookies belong to a host, not a port, so the browser sends the same session cookie to
both workers, as it would to the workers behind one load balancer.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_browser_login import TIMEOUT_MS, browser, sign_in_on_provider  # noqa: F401
from tests.servers._process import ServerProcess, free_port
from tests.servers.oidc_provider import OIDCProvider, start_oidc_provider
from tests.servers.redis_server import RedisServerMissing, start_redis


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[list[str], OIDCProvider]]:
    ports = [free_port(), free_port()]
    origins = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        redis_server = start_redis()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    provider = start_oidc_provider(
        extra_redirect_uris=[f"{o}/callback" for o in origins],
        extra_logout_redirect_uris=[f"{o}/" for o in origins],
    )
    env = {
        "KINDE_DOMAIN": provider.url,
        "KINDE_CLIENT_ID": provider.client_id,
        "KINDE_CLIENT_SECRET": provider.client_secret,
        # Every worker sends the provider back to worker 2: a login started on worker
        # 1 completes on worker 2 (its pending login is in redis).
        "KINDE_REDIRECT_URI": f"{origins[1]}/callback",
        "KINDE_LOGOUT_REDIRECT_URI": f"{origins[0]}/",
        "KINDE_AUDIENCE": provider.api_audience,
        "KINDE_SESSION_SECRET": secrets.token_urlsafe(32),
        "KINDE_REDIS_URL": redis_server.url,
    }
    servers = []
    try:
        for port in ports:
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                "examples",
                "--factory",
                "fastapi_app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            servers.append(ServerProcess(argv, port=port, env=env).start(ready_timeout=60))
        yield origins, provider
    finally:
        for server in servers:
            server.stop()
        provider.stop()
        redis_server.stop()


def whoami(page: Any, origin: str) -> Any:
    response = page.request.get(
        origin + "/user", headers={"Accept": "application/json"}, max_redirects=0
    )
    return json.loads(response.text()).get("email") if response.status == 200 else None


def test_sessions_are_shared_by_workers(
    browser: Any,  # noqa: F811
    workers: tuple[list[str], OIDCProvider],
) -> None:
    (one, two), provider = workers
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(one + "/")
        page.click("#login")  # on worker 1
        page.wait_for_url(lambda url: url.startswith(provider.url))
        sign_in_on_provider(page, provider, two, "alice")  # back on worker 2
        page.wait_for_url(f"{two}/protected")
        assert page.text_content("#who") == "alice@example.test"
        for _ in range(3):  # alternating: the same session on both
            assert whoami(page, one) == "alice@example.test"
            assert whoami(page, two) == "alice@example.test"

        page.goto(two + "/")
        page.click("#logout")  # logout on worker 2 (a same-origin POST)
        page.wait_for_url(lambda url: not url.startswith(two), timeout=TIMEOUT_MS)
        assert whoami(page, one) is None  # ended on every worker
        assert whoami(page, two) is None
    finally:
        context.close()
