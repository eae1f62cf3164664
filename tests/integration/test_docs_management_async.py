"""docs/management-async.md, run as written against Prism.

The complete example (between the ``async-management-example`` markers) is the README's
complete management example with ``await``: it runs as a script, in a subprocess, with
the settings in the environment. The FastAPI example runs in a real app.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.servers.front import FrontServer

pytestmark = pytest.mark.prism

PAGE = Path(__file__).resolve().parents[2] / "docs" / "management-async.md"


def _block(marker: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- {marker}:start -->\n```python\n(.*?)```\n<!-- {marker}:end -->", text, re.S
    )
    assert found, f"no {marker} block in {PAGE.name}"
    return found.group(1)


def _env(front: FrontServer) -> dict[str, str]:
    return {
        "KINDE_DOMAIN": front.url,
        "KINDE_MANAGEMENT_CLIENT_ID": front.state.client_id,
        "KINDE_MANAGEMENT_CLIENT_SECRET": front.state.client_secret,
    }


def test_the_complete_example_runs_as_written(kinde_domain: FrontServer, tmp_path: Path) -> None:
    script = tmp_path / "async_management_example.py"
    script.write_text(_block("async-management-example"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        env={**os.environ, **_env(kinde_domain)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Error" not in out, out
    for expected in (
        "Total users: 1",
        "User ID: ",
        "User updated: ",
        "Organization Code: org_",
        "Organization updated: ",
        "Role ID: ",
        "Total feature flags: ",
        "Flag ID: test_flag",
        "Feature flag deleted:",
        "Role deleted:",
        "Organization deleted:",
        "User deleted:",
    ):
        assert expected in out, out


def test_the_fastapi_example_runs_as_written(
    kinde_domain: FrontServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    text = PAGE.read_text(encoding="utf-8")
    section = text[text.index("## FastAPI") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    for name, value in _env(kinde_domain).items():
        monkeypatch.setenv(name, value)
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), f"{PAGE.name}:FastAPI", "exec"), namespace)
    with TestClient(namespace["app"]) as client:
        response = client.get("/users")
    assert response.status_code == 200
    emails = response.json()
    assert emails and all(isinstance(email, str) for email in emails)  # Prism: "string"
