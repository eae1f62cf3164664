"""The framework-free parts of the integrations (kinde_sdk/frameworks/_session.py) and
OAuth's per-session binding: no network, no framework."""

from __future__ import annotations

import contextvars
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import pytest

from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import KindeConfigurationError, TokenExpiredError
from kinde_sdk.frameworks._session import (
    AuthFailure,
    IntegrationSettings,
    RequestSession,
    check_authorization,
    invalid_token,
    is_api_request,
    is_excluded,
    parse_bearer,
    resolve_secret,
    safe_redirect,
)

SECRET = "unit-test-session-secret-0123456789"


def settings(**options: object) -> IntegrationSettings:
    return IntegrationSettings.build({"session_secret": SECRET, **options})


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/protected?x=1#top", "/protected?x=1#top"),
        ("//evil.com", None),
        ("///evil.com", None),
        ("https://evil.com", None),
        ("http:/evil.com", None),
        ("/\\evil.com", None),
        ("\\\\evil.com", None),
        ("/ok\r\nSet-Cookie: x=y", None),
        ("/tab\there", None),
        ("javascript:alert(1)", None),
        ("evil.com", None),
        ("", None),
        (None, None),
        ("https://app.example.com/after", "https://app.example.com/after"),
    ],
)
def test_safe_redirect(target: Optional[str], expected: Optional[str]) -> None:
    assert safe_redirect(target, ["https://app.example.com/after"]) == expected


def test_cookie_signing() -> None:
    s = settings()
    session_id = RequestSession(None).session_id
    value = s.sign(session_id)
    assert s.unsign(value) == session_id
    assert len(value) < 100
    assert s.unsign(value[:-1] + ("A" if value[-1] != "A" else "B")) is None
    assert s.unsign("short." + value.split(".")[1]) is None
    assert s.unsign(None) is None and s.unsign("") is None and s.unsign("x" * 500) is None
    other = IntegrationSettings.build({"session_secret": SECRET + "-other"})
    assert other.unsign(value) is None


def test_cookie_header_and_secure() -> None:
    s = settings(cookie_max_age=3600)
    # Issue 14 item 9: from configuration, the request's scheme (as the framework sees
    # it behind a trusted proxy) and the redirect URI's scheme; never from the Host.
    assert s.secure_for("http", "http://127.0.0.1:8000/callback") is False
    assert s.secure_for("http", None) is False
    assert s.secure_for("http", "https://app.example.com/callback") is True
    assert s.secure_for("HTTP", "HTTPS://app.example.com/callback") is True
    assert s.secure_for("https", "http://127.0.0.1:8000/callback") is True
    assert settings(cookie_secure=True).secure_for("http", None) is True
    header = s.cookie_header("v", secure=True)
    assert header == "kinde_session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=3600; Secure"
    assert "Max-Age=0" in s.cookie_header("", secure=False, delete=True)
    assert settings(cookie_secure=False).secure_for("https", "x.example") is False


def test_request_session_cookie_actions() -> None:
    class Binding:
        written = False

    fresh = RequestSession(None)
    fresh.binding = Binding()
    assert fresh.cookie_action() is None  # nothing stored: no cookie
    fresh.binding.written = True
    assert fresh.cookie_action() == "set"
    known = RequestSession("a" * 43)
    known.binding = Binding()
    assert known.cookie_action() is None
    old = known.session_id
    assert known.rotate() != old and known.cookie_action() == "set"
    known.end()
    assert known.cookie_action() == "delete"


def test_excluded_paths() -> None:
    excluded = ["/health", "/static/", "/docs"]
    assert is_excluded("/health", excluded)
    assert is_excluded("/health/live", excluded)
    assert not is_excluded("/healthz", excluded)
    assert is_excluded("/static/app.js", excluded) and is_excluded("/static", excluded)
    assert not is_excluded("/staticfiles", excluded)
    assert is_excluded("/docs", excluded) and not is_excluded("/", excluded)


def test_api_request_detection() -> None:
    assert is_api_request({"accept": "application/json"})
    assert not is_api_request({"accept": "text/html,application/json;q=0.9"})
    assert is_api_request({"x-requested-with": "XMLHttpRequest"})
    assert is_api_request({"authorization": "Bearer x"})
    assert not is_api_request({})


def test_bearer_parsing_and_challenges() -> None:
    assert parse_bearer("Bearer abc.def.ghi") == "abc.def.ghi"
    assert parse_bearer("bearer  abc") == "abc"
    with pytest.raises(AuthFailure) as missing:
        parse_bearer(None)
    assert missing.value.www_authenticate == 'Bearer realm="kinde"'
    for bad in ("Basic abc", "Bearer", "Bearer a b"):
        with pytest.raises(AuthFailure) as info:
            parse_bearer(bad)
        assert 'error="invalid_request"' in info.value.www_authenticate
    failure = invalid_token(TokenExpiredError('token "expired"\r\nX: y'))
    assert failure.status == 401
    assert failure.www_authenticate.count('"') == 6  # quotes and CR/LF stripped
    assert "\n" not in failure.www_authenticate
    with pytest.raises(ValueError):
        invalid_token(ValueError("a bug is not a 401"))


def test_check_authorization() -> None:
    claims = {"permissions": ["read:a", "write:a"], "roles": [{"key": "admin"}]}
    check_authorization(claims, permissions=["read:a"], roles=["admin", "owner"])
    with pytest.raises(AuthFailure) as perm:
        check_authorization(claims, permissions=["delete:a"])
    assert perm.value.status == 403 and perm.value.error == "insufficient_scope"
    with pytest.raises(AuthFailure):
        check_authorization(claims, roles=["owner"])
    with pytest.raises(AuthFailure):
        check_authorization({}, permissions=["read:a"])


def test_secret_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINDE_SESSION_SECRET", raising=False)
    assert resolve_secret(SECRET) == SECRET.encode()
    with pytest.raises(KindeConfigurationError, match="at least 16"):
        resolve_secret("short")
    derived = resolve_secret(None, "host-app-secret-key-123456")
    assert derived != b"host-app-secret-key-123456" and len(derived) == 32
    with pytest.raises(KindeConfigurationError, match="signing key"):
        resolve_secret(None, None)
    monkeypatch.setenv("KINDE_SESSION_SECRET", SECRET + "-env")
    assert resolve_secret(None, "host-app-secret-key-123456") == (SECRET + "-env").encode()


def test_settings_validation() -> None:
    with pytest.raises(KindeConfigurationError):
        settings(login_path="login")
    with pytest.raises(KindeConfigurationError):
        settings(login_path="//evil")
    with pytest.raises(KindeConfigurationError):
        settings(post_logout_redirect="https://evil.com/")
    ok = settings(
        post_logout_redirect="https://app.example.com/bye",
        allowed_redirects=["https://app.example.com/bye"],
    )
    assert ok.post_logout_redirect == "https://app.example.com/bye"
    with pytest.raises(KindeConfigurationError):
        settings(excluded_paths="/health")
    with pytest.raises(KindeConfigurationError):
        settings(cookie_name="bad name;")
    assert settings().login_redirect_for("/a", "b=1") == "/login?next=%2Fa%3Fb%3D1"


def oauth() -> OAuth:
    return OAuth(client_id="cid", storage=NamespacedStorage(MemoryStorage()))


def test_bind_session_isolates_threads_and_contexts() -> None:
    client = oauth()
    key = "kinde_oauth_tokens:cid"
    barrier = threading.Barrier(20)

    def work(i: int) -> tuple[int, object]:
        with client.bind_session(f"session-{i % 2}") as binding:
            binding.set(f"probe-{i}", i)
            barrier.wait()
            current = client.current_session()
            assert current is binding
            return i, binding.get(f"probe-{i}")

    with ThreadPoolExecutor(20) as pool:
        assert all(i == v for i, v in pool.map(work, range(20)))
    assert client.current_session() is None

    with client.bind_session("one") as one:
        one.set(key, {"access_token": "a", "id_token_claims": {"sub": "one"}})
        assert client.is_authenticated()
        ctx = contextvars.copy_context()
    assert ctx.run(lambda: client.get_user_info()["sub"]) == "one"  # type: ignore[index]
    with client.bind_session("two"):
        assert not client.is_authenticated()
    assert not client.is_authenticated()  # the default storage is a different session

    client.move_session("one", "three")
    with client.bind_session("one"):
        assert not client.is_authenticated()
    with client.bind_session("three"):
        info = client.get_user_info()
        assert info is not None and info["sub"] == "one"  # the tokens moved
    client.clear_session("three")
    with client.bind_session("three"):
        assert not client.is_authenticated()


def test_framework_named_is_the_one_imported() -> None:
    code = (
        "import sys\n"
        "from flask import Flask\n"
        "from kinde_sdk.auth import OAuth\n"
        "app = Flask('x')\n"
        "o = OAuth(client_id='c', framework='flask', app=app,"
        " framework_options={'session_secret': 's' * 32})\n"
        "assert type(o.integration).__name__ == 'KindeFlask'\n"
        "assert 'fastapi' not in sys.modules and 'django' not in sys.modules, sorted(sys.modules)\n"
        "assert 'kinde_sdk.frameworks.fastapi' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(KindeConfigurationError, match="unknown framework"):
        OAuth(client_id="c", framework="tornado")
    with pytest.raises(KindeConfigurationError, match="need framework"):
        OAuth(client_id="c", app=object())
