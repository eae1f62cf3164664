"""Canary test: the client secret, and the access tokens it buys, never show up in reprs,
error messages or log records, through a full token + API cycle including failures.

The loopback server sees the canary (the test checks it really was sent); nothing the
SDK hands back to the caller or to logging may contain it.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Callable, Optional

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._transport import Transport
from kinde_sdk.errors import (
    AuthenticationError,
    KindeConnectionError,
    KindeError,
    ServerError,
    TokenError,
)
from kinde_sdk.management import ManagementClient
from tests._http import USERS_PAGE

CANARY_SECRET = "canary-SECRET-93f1"
CANARY_TOKEN = "canary-ACCESS-TOKEN-5e2a"


@pytest.fixture
def refused_origin() -> Iterator[str]:
    """A 127.0.0.1 origin whose port is bound but never listens: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="kinde_sdk")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    return caplog


class KindeStandIn:
    """Token endpoint + users API whose behaviour each test step switches."""

    def __init__(self) -> None:
        self.token_mode = "ok"  # ok | invalid_client | error_500 | hang
        self.api_mode = "ok"  # ok | reject_first | error_500
        self.hang = threading.Event()
        self.secrets_seen: list[str] = []
        self.issued: list[str] = []
        self.rejected: set[str] = set()

    def token(self, request: Request) -> Response:
        self.secrets_seen.append(request.form.get("client_secret", ""))
        if self.token_mode == "invalid_client":
            body = {"error": "invalid_client", "error_description": "Client authentication failed"}
            return Response(json.dumps(body), status=401, content_type="application/json")
        if self.token_mode == "error_500":
            return Response("<html>oops</html>", status=500, content_type="text/html")
        if self.token_mode == "hang":
            self.hang.wait(timeout=10.0)
        value = f"{CANARY_TOKEN}-{len(self.issued) + 1}"
        self.issued.append(value)
        body = {"access_token": value, "expires_in": 3600, "token_type": "bearer"}
        return Response(json.dumps(body), content_type="application/json")

    def users(self, request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.api_mode == "reject_first" and not self.rejected:
            self.rejected.add(token)
        if token in self.rejected:
            body = {"errors": [{"code": "TOKEN_INVALID", "message": "Invalid token"}]}
            return Response(json.dumps(body), status=401, content_type="application/json")
        if self.api_mode == "error_500":
            body = {"errors": [{"code": "INTERNAL", "message": "Something broke"}]}
            return Response(json.dumps(body), status=500, content_type="application/json")
        return Response(json.dumps(USERS_PAGE), content_type="application/json")


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Bounded polling."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def assert_clean(text: str, *, what: str) -> None:
    assert CANARY_SECRET not in text, f"client secret leaked in {what}: {text!r}"
    assert CANARY_TOKEN not in text, f"access token leaked in {what}: {text!r}"


def assert_error_clean(error: BaseException) -> None:
    assert_clean(str(error), what=f"str({type(error).__name__})")
    assert_clean(repr(error), what=f"repr({type(error).__name__})")
    assert_clean(repr(error.args), what=f"{type(error).__name__}.args")
    # The whole chain (__cause__/__context__), as a traceback would print it.
    assert_clean("".join(traceback.format_exception(error)), what="traceback")


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert_clean(record.getMessage(), what=f"log record from {record.name}")
        assert_clean(repr(record.args), what=f"log args from {record.name}")
        if record.exc_info:
            formatted = "".join(traceback.format_exception(*record.exc_info))
            assert_clean(formatted, what=f"logged exception from {record.name}")
    assert_clean(caplog.text, what="formatted log output")


def test_reprs_hold_no_secret(httpserver: HTTPServer) -> None:
    client_id = f"redaction-{uuid.uuid4().hex}"
    transport = Transport(headers={"X-Tenant": "acme"})
    client = ManagementClient(
        f"http://127.0.0.1:{httpserver.port}", client_id, CANARY_SECRET, transport=transport
    )
    provider = ClientCredentialsTokenProvider(
        token_url=f"http://127.0.0.1:{httpserver.port}/oauth2/token",
        client_id=client_id,
        client_secret=CANARY_SECRET,
        audience=None,
        transport=transport,
    )

    for obj in (client, provider, transport, client.users.api_client):
        assert_clean(repr(obj), what=f"repr({type(obj).__name__})")
        assert_clean(str(obj), what=f"str({type(obj).__name__})")
    assert client_id in repr(client)  # the repr does say which client it is
    assert client_id in repr(provider)


def test_full_cycle_leaks_nothing(
    httpserver: HTTPServer,
    refused_origin: str,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    kinde = KindeStandIn()
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(kinde.token)
    httpserver.expect_request("/api/v1/users").respond_with_handler(kinde.users)
    origin = f"http://127.0.0.1:{httpserver.port}"
    sleeps: list[float] = []
    transport = Transport(timeout=10.0, retry=RetryPolicy(max_retries=1), sleep=sleeps.append)
    # Only for the step whose token endpoint never answers in time.
    impatient = Transport(timeout=0.5, retry=RetryPolicy(max_retries=1), sleep=sleeps.append)
    errors: list[KindeError] = []

    def client(at: str = origin, via: Optional[Transport] = None) -> ManagementClient:
        name = f"redaction-{uuid.uuid4().hex}"
        return ManagementClient(at, name, CANARY_SECRET, transport=via or transport)

    def expect_error(cls: type[KindeError], mc: ManagementClient) -> None:
        with pytest.raises(cls) as info:
            mc.users.get_users()
        errors.append(info.value)

    # 1. token + API call, then a 401 that costs a fresh token and a replay.
    kinde.api_mode = "reject_first"
    ok = client()
    assert [u.id for u in ok.users.get_users().users] == ["kp_1"]
    assert len(kinde.issued) == 2

    # 2. the replay is rejected too.
    kinde.rejected.add(kinde.issued[-1])
    kinde.rejected.add(f"{CANARY_TOKEN}-3")
    expect_error(AuthenticationError, ok)
    kinde.rejected.clear()
    kinde.api_mode = "error_500"

    # 3. the API fails.
    expect_error(ServerError, ok)

    # 4. the token endpoint refuses the credentials, or fails.
    kinde.token_mode = "invalid_client"
    expect_error(TokenError, client())
    kinde.token_mode = "error_500"
    expect_error(TokenError, client())

    # 5. the token endpoint times out.
    kinde.token_mode = "hang"
    try:
        expect_error(TokenError, client(via=impatient))
    finally:
        kinde.hang.set()
    # Six token requests in all (one fresh token per first 401): let the released one
    # finish here, not during the next test.
    wait_for(lambda: sum(r.path == "/oauth2/token" for r, _ in httpserver.log) == 6)

    # 6. the token endpoint cannot be reached at all.
    expect_error(TokenError, client(at=refused_origin))
    with pytest.raises(KindeConnectionError) as info:
        transport.request("POST", f"{refused_origin}/oauth2/token", fields=[("x", CANARY_SECRET)])
    errors.append(info.value)
    transport.close()
    impatient.close()

    # The canary was really in play: the server got it, and the cycle was logged.
    assert CANARY_SECRET in kinde.secrets_seen
    assert any(r.name == "kinde_sdk" for r in debug_logs.records)
    assert any(r.name.startswith("urllib3") for r in debug_logs.records)
    assert len(errors) == 7
    assert {type(e.__cause__) for e in errors if isinstance(e, TokenError)} >= {
        type(None),
        KindeConnectionError,
    }

    for error in errors:
        assert_error_clean(error)
    assert_logs_clean(debug_logs)


def test_env_secret_leaks_nothing(
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    """The same holds when the secret comes from the environment."""
    kinde = KindeStandIn()
    kinde.token_mode = "invalid_client"
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(kinde.token)
    monkeypatch.setenv("KINDE_DOMAIN", f"http://127.0.0.1:{httpserver.port}")
    monkeypatch.setenv("KINDE_MANAGEMENT_CLIENT_ID", f"redaction-{uuid.uuid4().hex}")
    monkeypatch.setenv("KINDE_MANAGEMENT_CLIENT_SECRET", CANARY_SECRET)

    with ManagementClient(max_retries=0) as client:
        assert_clean(repr(client), what="repr(ManagementClient)")
        with pytest.raises(TokenError) as info:
            client.get_access_token()

    assert kinde.secrets_seen == [CANARY_SECRET]
    assert_error_clean(info.value)
    assert_logs_clean(debug_logs)
