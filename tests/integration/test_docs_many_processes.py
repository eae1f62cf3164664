"""docs/many-processes.md's example, run as written in two processes against a loopback
Kinde stand-in and a real redis-server: the two processes make one token request."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.integration.test_token_cache import origin, serve
from tests.servers.redis_server import RedisServer, RedisServerMissing, start_redis

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "many-processes.md"
_EXAMPLE = re.compile(
    r"<!-- many-processes-example:start -->\n```python\n(.*?)```\n"
    r"<!-- many-processes-example:end -->",
    re.DOTALL,
)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = start_redis()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


def test_the_example_shares_one_token_between_two_processes(
    httpserver: HTTPServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    (example,) = _EXAMPLE.findall(PAGE.read_text(encoding="utf-8"))
    script = tmp_path / "example.py"
    script.write_text(example + "\nprint(len(users.users))\n")
    tokens, users = serve(httpserver)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_server.url,
        "KINDE_DOMAIN": origin(httpserver),
        "KINDE_MANAGEMENT_CLIENT_ID": f"m2m-{uuid.uuid4().hex}",
        "KINDE_MANAGEMENT_CLIENT_SECRET": "docs-secret",
    }
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "1"  # the stand-in's page holds one user

    assert tokens.count == 1
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-1"]
