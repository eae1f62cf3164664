"""examples/login_flow.py (run by `make demo`) against the real OpenID provider."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.servers.oidc_provider import OIDCProvider, login_and_get_callback

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "login_flow.py"


def test_login_example(
    oidc_provider: OIDCProvider, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "KINDE_DOMAIN": oidc_provider.url,
        "KINDE_CLIENT_ID": oidc_provider.client_id,
        "KINDE_CLIENT_SECRET": oidc_provider.client_secret,
        "KINDE_REDIRECT_URI": oidc_provider.redirect_uri,
        "KINDE_LOGOUT_REDIRECT_URI": oidc_provider.logout_redirect_uri,
        "KINDE_AUDIENCE": oidc_provider.api_audience,
    }.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("login_flow", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    module.run(lambda url: login_and_get_callback(url, login="example-user"))

    out = capsys.readouterr().out
    assert "'id': 'example-user'" in out
    assert "is_authenticated: True" in out
    assert "flag is_dark_mode: True" in out
    assert out.rstrip().endswith("is_authenticated: False")
    assert oidc_provider.client_secret not in out
    assert "state=" not in out and "id_token_hint=" not in out
