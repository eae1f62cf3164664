"""The README's four quickstarts, run as written but for their placeholders: the domain
and credentials are swapped for local servers' (Prism behind the test front for the
Management API, FakeKinde for logging in and verifying tokens), so the first code a user
reads cannot rot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk.testing import FakeKinde, login_test_client
from tests.servers.front import FrontServer

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def quickstart(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    section = text[start : text.index("\n## ", start + 1)]
    (block,) = _BLOCK.findall(section)
    return str(block)


def run(code: str, replacements: dict[str, str], **names: Any) -> dict[str, Any]:
    for placeholder, value in replacements.items():
        assert placeholder in code, f"the quickstart no longer has {placeholder}"
        code = code.replace(placeholder, value)
    namespace: dict[str, Any] = {"__name__": "quickstart", **names}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_call_the_management_api(
    kinde_domain: FrontServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = quickstart("Call the Management API")
    assert len(code.splitlines()) <= 20
    state = kinde_domain.state
    namespace = run(
        code,
        {
            '"acme.kinde.com"': repr(kinde_domain.url),
            'client_id="..."': f"client_id={state.client_id!r}",
            'client_secret="..."': f"client_secret={state.client_secret!r}",
        },
    )
    namespace["client"].close()
    # Prism serves the spec's examples: every user printed as "<id> <email>".
    printed = capsys.readouterr().out.splitlines()
    assert printed, "iter_users printed the users Prism served"
    assert all(len(line.split()) == 2 for line in printed)


def test_async(kinde_domain: FrontServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = quickstart("Async")
    assert len(code.splitlines()) <= 20
    state = kinde_domain.state
    run(
        code,
        {
            '"acme.kinde.com"': repr(kinde_domain.url),
            'client_id="..."': f"client_id={state.client_id!r}",
            'client_secret="..."': f"client_secret={state.client_secret!r}",
        },
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed, "iter_users printed the users Prism served"
    assert all(len(line.split()) == 2 for line in printed)


def test_log_users_in() -> None:
    code = quickstart("Log users in")
    with FakeKinde() as kinde:
        namespace = run(
            code,
            {
                'domain="acme.kinde.com"': f"domain={kinde.domain!r}",
                'client_id="..."': f"client_id={kinde.client_id!r}",
                'client_secret="..."': f"client_secret={kinde.client_secret!r}",
                '"https://app.example/callback"': '"http://localhost/callback"',
                'app.config["SECRET_KEY"] = "..."': 'app.config["SECRET_KEY"] = "k" * 32',
            },
        )
        client = namespace["app"].test_client()
        assert client.get("/").status_code == 302  # to /login
        login_test_client(client, kinde, email="ann@example.com")
        assert client.get("/").get_data(as_text=True) == "Welcome, ann@example.com!"


def test_verify_tokens() -> None:
    code = quickstart("Verify tokens")
    with FakeKinde() as kinde:
        namespace = run(
            code,
            {
                '"acme.kinde.com"': repr(kinde.domain),
                '"https://api.acme.example"': repr(kinde.audience),
            },
            request_body=kinde.issue_webhook("user.created", {"user": {"id": "kp_ann"}}),
        )
        can_read_reports = namespace["can_read_reports"]
        reader = kinde.issue_access_token("kp_ann", permissions=["read:reports"])
        other = kinde.issue_access_token("kp_bob", permissions=["read:invoices"])
        expired = kinde.issue_access_token("kp_ann", permissions=["read:reports"], expired=True)
        assert can_read_reports(f"Bearer {reader}")
        assert not can_read_reports(f"Bearer {other}")
        assert not can_read_reports(f"Bearer {expired}")
        assert not can_read_reports(reader)
        assert namespace["event"]["type"] == "user.created"
