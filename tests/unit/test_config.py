"""Domain normalisation and settings helpers."""

from __future__ import annotations

import re

import pytest

from kinde_sdk._config import from_env, is_loopback_host, normalize_domain, require
from kinde_sdk.errors import KindeConfigurationError, KindeError


@pytest.mark.parametrize(
    ("domain", "origin"),
    [
        ("acme.kinde.com", "https://acme.kinde.com"),
        ("  acme.kinde.com  ", "https://acme.kinde.com"),
        ("https://acme.kinde.com", "https://acme.kinde.com"),
        ("https://acme.kinde.com/", "https://acme.kinde.com"),
        ("HTTPS://Acme.Kinde.COM", "https://acme.kinde.com"),
        ("acme.kinde.com:8443", "https://acme.kinde.com:8443"),
        ("https://auth.example.org:443/", "https://auth.example.org:443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://[::1]:1", "http://[::1]:1"),
        ("http://localhost", "http://localhost"),
        ("http://LOCALHOST:3000", "http://localhost:3000"),
        ("http://app.localhost:5000", "http://app.localhost:5000"),
        ("https://[::1]", "https://[::1]"),
    ],
)
def test_normalize_domain(domain: str, origin: str) -> None:
    assert normalize_domain(domain) == origin


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("http://acme.kinde.com", "plain http"),
        ("http://10.0.0.5:8080", "plain http"),
        ("http://localhost.evil.example", "plain http"),
        ("http://127.0.0.1.nip.io", "plain http"),
        ("ftp://acme.kinde.com", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("https://acme.kinde.com/api", "without path"),
        ("acme.kinde.com/oauth2/token", "without path"),
        ("https://acme.kinde.com?x=1", "without path or query"),
        ("https://acme.kinde.com/#frag", "without path or query"),
        ("https://user:pass@acme.kinde.com", "credentials"),
        ("user@acme.kinde.com", "credentials"),
        ("https://acme.kinde.com:notaport", "not a valid URL"),
        ("https://[::1", "not a valid URL"),
        ("https://", "no host name"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_normalize_domain_refuses(domain: str, reason: str) -> None:
    with pytest.raises(KindeConfigurationError, match=re.escape(reason)) as info:
        normalize_domain(domain)

    assert isinstance(info.value, KindeError)
    # Still a ValueError, for callers that catch that.
    assert isinstance(info.value, ValueError)


def test_error_names_the_setting() -> None:
    with pytest.raises(KindeConfigurationError, match=r"^issuer_url is empty"):
        normalize_domain("", setting="issuer_url")
    with pytest.raises(KindeConfigurationError, match=re.escape("issuer_url 'http://example.com'")):
        normalize_domain("http://example.com", setting="issuer_url")


@pytest.mark.parametrize(
    "domain",
    [
        "https://user:canary-PW-77@acme.kinde.com",
        "https://user:canary-PW-77@acme.kinde.com:notaport",
        "https://user:canary-PW-77@/path",
        "https://user:canary-PW-77@[::1",
        "http://user:canary-PW-77@acme.kinde.com/path?q=1",
        "ftp://user:canary-PW-77@acme.kinde.com",
    ],
)
def test_credentials_in_the_domain_are_never_echoed(domain: str) -> None:
    with pytest.raises(KindeConfigurationError, match="credentials") as info:
        normalize_domain(domain)

    assert "canary-PW-77" not in str(info.value)
    assert "canary-PW-77" not in repr(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost", True),
        ("api.localhost", True),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("acme.kinde.com", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_from_env_prefers_the_explicit_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINDE_TEST_A", "from-env")

    assert from_env("explicit", "KINDE_TEST_A") == "explicit"
    # An explicit empty string is still explicit (require() then rejects it).
    assert from_env("", "KINDE_TEST_A") == ""


def test_from_env_falls_back_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINDE_TEST_A", raising=False)
    monkeypatch.setenv("KINDE_TEST_B", "")
    monkeypatch.setenv("KINDE_TEST_C", "third")

    assert from_env(None, "KINDE_TEST_A", "KINDE_TEST_B", "KINDE_TEST_C") == "third"
    monkeypatch.setenv("KINDE_TEST_A", "first")
    assert from_env(None, "KINDE_TEST_A", "KINDE_TEST_B", "KINDE_TEST_C") == "first"


def test_from_env_with_nothing_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINDE_TEST_A", raising=False)

    assert from_env(None, "KINDE_TEST_A") is None


@pytest.mark.parametrize("value", [None, "", "   "])
def test_require_fails_loudly_with_a_hint(value: str | None) -> None:
    with pytest.raises(KindeConfigurationError) as info:
        require(value, "client_id", ["KINDE_CLIENT_ID", "KINDE_MANAGEMENT_CLIENT_ID"])

    message = str(info.value)
    assert "client_id" in message
    assert "KINDE_CLIENT_ID or KINDE_MANAGEMENT_CLIENT_ID" in message


def test_require_returns_the_value() -> None:
    assert require("abc", "client_id", ["KINDE_CLIENT_ID"]) == "abc"
