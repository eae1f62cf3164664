"""The client-credentials token cache and ManagementClient's use of it, against a loopback
server playing both the token endpoint (``POST /oauth2/token``) and the API.

The token cache is process-global, so every test uses its own client id.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable, Optional

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._transport import Transport
from kinde_sdk.errors import (
    AuthenticationError,
    KindeConnectionError,
    KindeTimeoutError,
    PermissionDeniedError,
    TokenError,
)
from kinde_sdk.management import ManagementClient
from tests._http import USERS_PAGE


@pytest.fixture
def client_id() -> str:
    return f"m2m-{uuid.uuid4().hex}"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def transport(sleeps: list[float]) -> Iterator[Transport]:
    with Transport(timeout=5.0, retry=RetryPolicy(max_retries=2), sleep=sleeps.append) as t:
        yield t


class TokenEndpoint:
    """Issues ``tok-1``, ``tok-2``, ... and records every request's form."""

    def __init__(self, lifetime: Optional[float] = 3600) -> None:
        self.lifetime = lifetime
        self.forms: list[dict[str, str]] = []
        self.content_types: list[Optional[str]] = []
        self.gate: Optional[threading.Event] = None
        self.lock = threading.Lock()
        # Set to a (status, body) pair to fail instead of issuing a token.
        self.failure: Optional[tuple[int, bytes]] = None

    def __call__(self, request: Request) -> Response:
        if self.gate is not None:
            self.gate.wait(timeout=10.0)  # a bound, in case the test never releases it
        with self.lock:
            self.forms.append(request.form.to_dict())
            self.content_types.append(request.content_type)
            issued = len(self.forms)
        if self.failure is not None:
            status, body = self.failure
            return Response(body, status=status, content_type="application/json")
        payload: dict[str, Any] = {"access_token": f"tok-{issued}", "token_type": "bearer"}
        if self.lifetime is not None:
            payload["expires_in"] = self.lifetime
        return Response(json.dumps(payload), content_type="application/json")

    @property
    def count(self) -> int:
        return len(self.forms)


class UsersEndpoint:
    """``GET /api/v1/users``: records the Authorization header of every request."""

    def __init__(self, status_for: Callable[[str], int] = lambda auth: 200) -> None:
        self.status_for = status_for
        self.authorizations: list[str] = []

    def __call__(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        self.authorizations.append(auth)
        status = self.status_for(auth)
        if status == 200:
            return Response(json.dumps(USERS_PAGE), content_type="application/json")
        body = {"errors": [{"code": f"E{status}", "message": f"status {status}"}]}
        return Response(json.dumps(body), status=status, content_type="application/json")


def origin(httpserver: HTTPServer) -> str:
    return f"http://127.0.0.1:{httpserver.port}"


def serve(
    httpserver: HTTPServer,
    tokens: Optional[TokenEndpoint] = None,
    users: Optional[UsersEndpoint] = None,
) -> tuple[TokenEndpoint, UsersEndpoint]:
    tokens = tokens or TokenEndpoint()
    users = users or UsersEndpoint()
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(tokens)
    httpserver.expect_request("/api/v1/users", method="GET").respond_with_handler(users)
    return tokens, users


def provider_for(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    *,
    secret: str = "s3cret",
    clock: Callable[[], float] = time.monotonic,
    refresh_margin: float = 60.0,
) -> ClientCredentialsTokenProvider:
    return ClientCredentialsTokenProvider(
        token_url=f"{origin(httpserver)}/oauth2/token",
        client_id=client_id,
        client_secret=secret,
        audience=f"{origin(httpserver)}/api",
        transport=transport,
        refresh_margin=refresh_margin,
        clock=clock,
    )


def client_for(
    httpserver: HTTPServer, client_id: str, transport: Transport, secret: str = "s3cret"
) -> ManagementClient:
    return ManagementClient(origin(httpserver), client_id, secret, transport=transport)


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Bounded polling."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


# -- the token request ---------------------------------------------------------------------


def test_token_request_is_a_client_credentials_form(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    client = client_for(httpserver, client_id, transport, secret="s3cret")

    assert client.get_access_token() == "tok-1"

    assert tokens.forms == [
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": "s3cret",
            "audience": f"{origin(httpserver)}/api",
        }
    ]
    assert tokens.content_types == ["application/x-www-form-urlencoded"]


# -- single flight ---------------------------------------------------------------------------


def test_concurrent_cold_cache_makes_one_token_request(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    threads_count = 32
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()
    entered: set[int] = set()

    def clock() -> float:
        # token() reads the clock first thing: this tells the test who is inside.
        entered.add(threading.get_ident())
        return time.monotonic()

    provider = provider_for(httpserver, client_id, transport, clock=clock)
    barrier = threading.Barrier(threads_count)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10.0)
            results.append(provider.token())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    try:
        # Hold the token response until every thread is inside token() on a cold cache.
        wait_for(lambda: len(entered) == threads_count)
    finally:
        tokens.gate.set()
        for thread in threads:
            thread.join(timeout=10.0)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert results == ["tok-1"] * threads_count
    assert tokens.count == 1


# -- caching and its key -----------------------------------------------------------------


def test_token_is_reused_across_calls_and_clients(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, users = serve(httpserver)
    first = client_for(httpserver, client_id, transport)
    second = client_for(httpserver, client_id, transport)

    first.users.get_users()
    first.users.get_users()
    page = second.users.get_users()

    assert [u.email for u in page.users] == ["a@b.c"]
    assert tokens.count == 1
    assert users.authorizations == ["Bearer tok-1"] * 3
    assert second.get_access_token() == "tok-1"


def test_clients_with_their_own_transports_share_the_token(
    httpserver: HTTPServer, client_id: str
) -> None:
    tokens, users = serve(httpserver)

    with ManagementClient(origin(httpserver), client_id, "s3cret", max_retries=0) as one:
        one.users.get_users()
        with ManagementClient(origin(httpserver), client_id, "s3cret", max_retries=0) as two:
            two.users.get_users()

    assert tokens.count == 1
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-1"]


def test_rotated_secret_fetches_its_own_token(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, users = serve(httpserver)
    old = client_for(httpserver, client_id, transport, secret="secret-v1")
    old.users.get_users()

    rotated = client_for(httpserver, client_id, transport, secret="secret-v2")
    rotated.users.get_users()

    assert tokens.count == 2
    assert [form["client_secret"] for form in tokens.forms] == ["secret-v1", "secret-v2"]
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-2"]
    # Each client keeps the token its own credentials fetched.
    old.users.get_users()
    rotated.users.get_users()
    assert users.authorizations[2:] == ["Bearer tok-1", "Bearer tok-2"]
    assert tokens.count == 2


def test_other_client_id_or_audience_is_a_separate_cache_entry(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    base = origin(httpserver)

    a = ManagementClient(base, client_id, "s3cret", transport=transport)
    b = ManagementClient(base, f"{client_id}-b", "s3cret", transport=transport)
    c = ManagementClient(base, client_id, "s3cret", audience="https://x/api", transport=transport)

    assert [a.get_access_token(), b.get_access_token(), c.get_access_token()] == [
        "tok-1",
        "tok-2",
        "tok-3",
    ]
    assert [f["client_id"] for f in tokens.forms] == [client_id, f"{client_id}-b", client_id]
    assert tokens.forms[2]["audience"] == "https://x/api"


# -- expiry and refresh -------------------------------------------------------------------


def test_refresh_happens_margin_seconds_before_expiry(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint(lifetime=3600))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=60)
    start = clock.now

    assert provider.token() == "tok-1"
    clock.now = start + 3539.9
    assert provider.token() == "tok-1"
    assert tokens.count == 1

    clock.now = start + 3540.0  # 60 s before expiry
    assert provider.token() == "tok-2"
    assert tokens.count == 2
    clock.now = start + 3600.0
    assert provider.token() == "tok-2"
    assert tokens.count == 2


def test_refresh_margin_is_at_most_half_the_lifetime(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    serve(httpserver, TokenEndpoint(lifetime=60))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=300)
    start = clock.now

    assert provider.token() == "tok-1"
    clock.now = start + 29.0
    assert provider.token() == "tok-1"
    clock.now = start + 30.0
    assert provider.token() == "tok-2"


def test_missing_expires_in_gets_a_short_fallback_lifetime(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    serve(httpserver, TokenEndpoint(lifetime=None))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=60)
    start = clock.now

    assert provider.token() == "tok-1"
    clock.now = start + 239.0
    assert provider.token() == "tok-1"
    clock.now = start + 240.0  # fallback 300 s minus the 60 s margin
    assert provider.token() == "tok-2"


def test_failed_early_refresh_keeps_the_valid_token_until_expiry(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint(lifetime=3600))
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock, refresh_margin=60)
    start = clock.now
    assert provider.token() == "tok-1"

    tokens.failure = (503, b'{"error": "temporarily_unavailable"}')
    clock.now = start + 3550.0
    assert provider.token() == "tok-1"
    assert tokens.count == 2  # it did try

    clock.now = start + 3600.0  # expired: nothing left to fall back on
    with pytest.raises(TokenError) as info:
        provider.token()
    assert info.value.error == "temporarily_unavailable"

    # Failures back off: nothing is sent before the (jittered, at most 2 s) delay.
    tokens.failure = None
    clock.now += 0.1
    with pytest.raises(TokenError, match="not retried"):
        provider.token()
    assert tokens.count == 3
    clock.now += 2.0
    assert provider.token() == "tok-4"


def test_invalidate_drops_only_the_rejected_token(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    provider = provider_for(httpserver, client_id, transport)
    assert provider.token() == "tok-1"

    provider.invalidate("some-older-token")
    assert provider.token() == "tok-1"
    assert tokens.count == 1

    provider.invalidate("tok-1")
    assert provider.token() == "tok-2"
    # A second report about the same old token (another request that failed with it)
    # does not throw away the new one.
    provider.invalidate("tok-1")
    assert provider.token() == "tok-2"
    assert tokens.count == 2


# -- 401 from the API ----------------------------------------------------------------------


def test_401_gets_one_fresh_token_and_one_replay(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    users = UsersEndpoint(lambda auth: 401 if auth == "Bearer tok-1" else 200)
    tokens, _ = serve(httpserver, users=users)
    client = client_for(httpserver, client_id, transport)

    page = client.users.get_users()

    assert [u.id for u in page.users] == ["kp_1"]
    assert tokens.count == 2
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-2"]
    # The fresh token is cached for the next call.
    client.users.get_users()
    assert tokens.count == 2
    assert users.authorizations[2:] == ["Bearer tok-2"]


def test_a_second_401_raises_without_looping(
    httpserver: HTTPServer, client_id: str, transport: Transport, sleeps: list[float]
) -> None:
    users = UsersEndpoint(lambda auth: 401)
    tokens, _ = serve(httpserver, users=users)
    client = client_for(httpserver, client_id, transport)

    with pytest.raises(AuthenticationError) as info:
        client.users.get_users()

    assert info.value.status == 401
    assert info.value.code == "E401"
    assert tokens.count == 2
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-2"]
    assert sleeps == []


def test_403_is_not_replayed(httpserver: HTTPServer, client_id: str, transport: Transport) -> None:
    users = UsersEndpoint(lambda auth: 403)
    tokens, _ = serve(httpserver, users=users)
    client = client_for(httpserver, client_id, transport)

    with pytest.raises(PermissionDeniedError) as info:
        client.users.get_users()

    assert info.value.code == "E403"
    assert tokens.count == 1
    assert len(users.authorizations) == 1


# -- token endpoint failures ---------------------------------------------------------------


def test_invalid_client_raises_token_error_with_oauth_fields(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, users = serve(httpserver)
    tokens.failure = (
        401,
        b'{"error": "invalid_client", "error_description": "Client authentication failed"}',
    )
    client = client_for(httpserver, client_id, transport)

    with pytest.raises(TokenError) as info:
        client.users.get_users()

    assert info.value.error == "invalid_client"
    assert info.value.error_description == "Client authentication failed"
    assert info.value.status == 401
    assert "invalid_client" in str(info.value)
    assert users.authorizations == []  # no API call without a token


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b'{"message": "internal"}'),
        (500, b"<html>Internal Server Error</html>"),
        (503, b""),
        (200, b"<html>not a token</html>"),
        (200, b'["not", "an", "object"]'),
        (200, b'{"token_type": "bearer", "expires_in": 3600}'),
        (200, b'{"access_token": "", "expires_in": 3600}'),
        (200, b'{"access_token": "t", "expires_in": 0}'),
    ],
)
def test_token_endpoint_failures_raise_token_error(
    httpserver: HTTPServer, client_id: str, transport: Transport, status: int, body: bytes
) -> None:
    tokens, _ = serve(httpserver)
    tokens.failure = (status, body)
    provider = provider_for(httpserver, client_id, transport)

    with pytest.raises(TokenError) as info:
        provider.token()

    assert info.value.status == status
    assert info.value.error is None
    assert tokens.count == 1  # the token POST is not retried on a status


def test_a_failure_is_kept_only_for_its_backoff(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    tokens, _ = serve(httpserver)
    tokens.failure = (500, b"")
    clock = FakeClock()
    provider = provider_for(httpserver, client_id, transport, clock=clock)
    with pytest.raises(TokenError):
        provider.token()
    tokens.failure = None

    # Within the backoff (at most 1 s after one failure) the error is repeated, not sent.
    with pytest.raises(TokenError) as info:
        provider.token()
    assert info.value.status == 500
    assert tokens.count == 1

    clock.now += 1.0
    assert provider.token() == "tok-2"


@pytest.fixture
def refused_origin() -> Iterator[str]:
    """A 127.0.0.1 origin whose port is bound but never listens: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def test_unreachable_token_endpoint_raises_token_error(
    refused_origin: str, client_id: str, transport: Transport, sleeps: list[float]
) -> None:
    client = ManagementClient(refused_origin, client_id, "s3cret", transport=transport)

    with pytest.raises(TokenError) as info:
        client.users.get_users()

    assert isinstance(info.value.__cause__, KindeConnectionError)
    assert "could not be reached" in str(info.value)
    assert info.value.status is None
    # Refused connections are retried even for the token POST: 3 attempts, 2 waits.
    assert len(sleeps) == 2


def test_token_endpoint_timeout_raises_token_error(httpserver: HTTPServer, client_id: str) -> None:
    tokens, _ = serve(httpserver)
    tokens.gate = threading.Event()
    sleeps: list[float] = []
    try:
        with Transport(timeout=0.5, retry=RetryPolicy(max_retries=2), sleep=sleeps.append) as t:
            provider = provider_for(httpserver, client_id, t)
            with pytest.raises(TokenError) as info:
                provider.token()
    finally:
        tokens.gate.set()

    assert isinstance(info.value.__cause__, KindeTimeoutError)
    assert sleeps == []  # the POST reached the server: not repeated
    # Let the released request finish here, not during the next test.
    wait_for(lambda: len(httpserver.log) == 1)


# -- the M2M token is the only credential sent ---------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"_headers": {"Authorization": "Bearer user-token"}},
        {"_headers": {"authorization": "Bearer user-token"}},
        {
            "_request_auth": {
                "in": "header",
                "type": "bearer",
                "key": "Authorization",
                "value": "Bearer user-token",
            }
        },
    ],
)
def test_caller_authorization_header_never_replaces_the_m2m_token(
    httpserver: HTTPServer, client_id: str, transport: Transport, kwargs: dict[str, Any]
) -> None:
    seen: list[dict[str, str]] = []

    def users(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response(json.dumps(USERS_PAGE), content_type="application/json")

    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(TokenEndpoint())
    httpserver.expect_request("/api/v1/users").respond_with_handler(users)
    client = client_for(httpserver, client_id, transport)

    client.users.get_users(**kwargs)

    (headers,) = seen
    auth = [v for k, v in headers.items() if k.lower() == "authorization"]
    assert auth == ["Bearer tok-1"]
    assert not any("user-token" in value for value in headers.values())


def test_other_caller_headers_are_sent(
    httpserver: HTTPServer, client_id: str, transport: Transport
) -> None:
    seen: list[Optional[str]] = []

    def users(request: Request) -> Response:
        seen.append(request.headers.get("X-Trace"))
        return Response(json.dumps(USERS_PAGE), content_type="application/json")

    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(TokenEndpoint())
    httpserver.expect_request("/api/v1/users").respond_with_handler(users)
    client = client_for(httpserver, client_id, transport)

    client.users.get_users(_headers={"X-Trace": "abc"})

    assert seen == ["abc"]
