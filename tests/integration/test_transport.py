"""The sync transport against a real loopback HTTP server.

Every transport here records its waits instead of sleeping (``sleep=sleeps.append``), so
retries cost no time and the number of attempts can be read off the recorded waits.
Nothing asserts on wall-clock durations; read timeouts use handlers that block until the
test releases them (with a bound), so they cannot answer in time whatever the load.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    REQUEST_ID_HEADER,
    USER_AGENT,
    Transport,
    make_timeout,
    url_for_log,
)
from kinde_sdk._version import __version__
from kinde_sdk.errors import (
    KindeAPIError,
    KindeConnectionError,
    KindeTimeoutError,
    RateLimitError,
    ServerError,
)
from kinde_sdk.management import ManagementClient
from tests._http import USERS_PAGE


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def transport(sleeps: list[float]) -> Iterator[Transport]:
    with Transport(timeout=5.0, retry=RetryPolicy(max_retries=2), sleep=sleeps.append) as t:
        yield t


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 URL that refuses connections: the port is bound but never listens,
    so nothing else can take it during the test."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set to let blocking handlers answer; always set at teardown."""
    event = threading.Event()
    yield event
    event.set()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Bounded polling."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def blocking_handler(release: threading.Event) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        release.wait(timeout=10.0)  # a bound, in case the client never gives up
        return Response("late", status=200)

    return handler


def origin(httpserver: HTTPServer) -> str:
    return f"http://127.0.0.1:{httpserver.port}"


def serve_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "tok", "expires_in": 3600, "token_type": "bearer"}
    )


def api_requests(httpserver: HTTPServer) -> list[Request]:
    return [req for req, _ in httpserver.log if req.path.startswith("/api/")]


def management_client(httpserver: HTTPServer, transport: Transport) -> ManagementClient:
    return ManagementClient(
        origin(httpserver), f"transport-{uuid.uuid4().hex}", "secret", transport=transport
    )


# -- retries on statuses -------------------------------------------------------------------


def test_429_with_retry_after_waits_as_told_then_succeeds(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3"}
    )
    httpserver.expect_request("/r").respond_with_data("ok")

    response = transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 200
    assert response.data == b"ok"
    assert sleeps == [3.0]
    assert len(httpserver.log) == 2


def test_503_then_success_backs_off_with_jitter(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request("/r").respond_with_data("busy", status=503)
    httpserver.expect_request("/r").respond_with_data("ok")
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=8.0)
    draws = iter([1.0, 0.5])

    with Transport(retry=policy, sleep=sleeps.append, rand=lambda: next(draws)) as transport:
        response = transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 200
    # Full jitter: ceiling 0.5 then 1.0, scaled by the injected draws.
    assert sleeps == [0.5, 0.5]
    assert len(httpserver.log) == 3


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_every_retry_status_is_retried_for_idempotent_methods(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float], method: str, status: int
) -> None:
    httpserver.expect_oneshot_request("/r", method=method).respond_with_data("", status=status)
    httpserver.expect_request("/r", method=method).respond_with_data("ok")

    response = transport.request(method, httpserver.url_for("/r"), body=b"{}")

    assert response.status == 200
    assert len(sleeps) == 1
    assert len(httpserver.log) == 2


def test_exhaustion_returns_the_last_response(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    for n in (1, 2, 3):
        httpserver.expect_ordered_request("/r").respond_with_data(f"attempt {n}", status=503)

    response = transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 503
    assert response.data == b"attempt 3"
    assert len(sleeps) == 2  # max_retries=2: three attempts, two waits
    assert len(httpserver.log) == 3


def test_retry_after_beyond_the_cap_is_not_waited_for(
    httpserver: HTTPServer, sleeps: list[float]
) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=429, headers={"Retry-After": "61"})

    with Transport(retry=RetryPolicy(retry_after_max=60.0), sleep=sleeps.append) as transport:
        response = transport.request("GET", httpserver.url_for("/r"))

    assert response.status == 429
    assert response.retry_after == 61.0
    assert sleeps == []
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 409, 501])
def test_other_statuses_are_returned_at_once(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float], status: int
) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=status)

    response = transport.request("GET", httpserver.url_for("/r"))

    assert response.status == status
    assert sleeps == []
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_requests_are_not_retried_on_status(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float], method: str, status: int
) -> None:
    httpserver.expect_request("/r", method=method).respond_with_data(
        "", status=status, headers={"Retry-After": "1"}
    )

    response = transport.request(method, httpserver.url_for("/r"), body=b"{}")

    assert response.status == status
    assert sleeps == []
    assert len(httpserver.log) == 1


def test_management_client_raises_server_error_after_retries(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/api/v1/users").respond_with_json(
        {"errors": [{"code": "SERVICE_UNAVAILABLE", "message": "Try later"}]},
        status=503,
        headers={"X-Request-Id": "srv-503"},
    )
    client = management_client(httpserver, transport)

    with pytest.raises(ServerError) as info:
        client.users.get_users()

    assert info.value.status == 503
    assert info.value.code == "SERVICE_UNAVAILABLE"
    assert info.value.message == "Try later"
    assert info.value.request_id == "srv-503"
    assert len(sleeps) == 2
    assert len(api_requests(httpserver)) == 3


def test_management_client_raises_rate_limit_error_after_retries(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/api/v1/users").respond_with_json(
        {"errors": [{"code": "TOO_MANY_REQUESTS", "message": "Slow down"}]},
        status=429,
        headers={"Retry-After": "2"},
    )
    client = management_client(httpserver, transport)

    with pytest.raises(RateLimitError) as info:
        client.users.get_users()

    assert info.value.retry_after == 2.0
    assert info.value.code == "TOO_MANY_REQUESTS"
    assert sleeps == [2.0, 2.0]
    assert len(api_requests(httpserver)) == 3


def test_management_client_rate_limit_beyond_the_cap_fails_fast(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/api/v1/users").respond_with_data(
        "", status=429, headers={"Retry-After": "3600"}
    )
    client = management_client(httpserver, transport)

    with pytest.raises(RateLimitError) as info:
        client.users.get_users()

    assert info.value.retry_after == 3600.0
    assert sleeps == []
    assert len(api_requests(httpserver)) == 1


def test_management_client_returns_the_page_after_a_retry(
    httpserver: HTTPServer, transport: Transport, sleeps: list[float]
) -> None:
    serve_token(httpserver)
    httpserver.expect_oneshot_request("/api/v1/users").respond_with_data("", status=502)
    httpserver.expect_request("/api/v1/users").respond_with_json(USERS_PAGE)
    client = management_client(httpserver, transport)

    page = client.users.get_users()

    assert [u.id for u in page.users] == ["kp_1"]
    assert len(sleeps) == 1


def test_management_client_never_leaks_generated_exceptions(
    httpserver: HTTPServer, transport: Transport
) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/api/v1/users").respond_with_data(
        "", status=302, headers={"Location": "https://elsewhere.example/"}
    )
    client = management_client(httpserver, transport)

    with pytest.raises(KindeAPIError):
        client.users.get_users()


# -- connection errors ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_connection_refused_is_retried_for_any_method(
    refused_url: str, sleeps: list[float], method: str
) -> None:
    transport = Transport(retry=RetryPolicy(max_retries=3), sleep=sleeps.append)
    with transport, pytest.raises(KindeConnectionError) as info:
        transport.request(method, f"{refused_url}/oauth2/token", body=b"x=1")

    # Refused means never sent, so even POST is safe to repeat: 4 attempts, 3 waits.
    assert len(sleeps) == 3
    assert not isinstance(info.value, KindeTimeoutError)
    assert info.value.url == f"{refused_url}/oauth2/token"
    assert "cannot connect" in str(info.value)


def test_connection_refused_without_retries(refused_url: str, sleeps: list[float]) -> None:
    transport = Transport(retry=RetryPolicy(max_retries=0), sleep=sleeps.append)
    with transport, pytest.raises(KindeConnectionError):
        transport.request("GET", refused_url)

    assert sleeps == []


def test_read_timeout_raises_timeout_error(
    httpserver: HTTPServer, release: threading.Event, sleeps: list[float]
) -> None:
    httpserver.expect_request("/slow").respond_with_handler(blocking_handler(release))

    t = Transport(timeout=0.5, retry=RetryPolicy(max_retries=0), sleep=sleeps.append)
    with t, pytest.raises(KindeTimeoutError) as info:
        t.request("GET", httpserver.url_for("/slow"))

    assert "timed out reading the response" in str(info.value)
    assert info.value.url == httpserver.url_for("/slow")
    release.set()
    wait_for(lambda: len(httpserver.log) == 1)


def test_read_timeout_on_post_is_not_retried(
    httpserver: HTTPServer, release: threading.Event, sleeps: list[float]
) -> None:
    httpserver.expect_request("/slow", method="POST").respond_with_handler(
        blocking_handler(release)
    )

    t = Transport(timeout=0.5, retry=RetryPolicy(max_retries=3), sleep=sleeps.append)
    with t, pytest.raises(KindeTimeoutError):
        t.request("POST", httpserver.url_for("/slow"), body=b"{}")

    # The request reached the server, so repeating a POST could apply it twice.
    assert sleeps == []
    release.set()
    wait_for(lambda: len(httpserver.log) == 1)


def test_read_timeout_on_get_is_retried(
    httpserver: HTTPServer, release: threading.Event, sleeps: list[float]
) -> None:
    httpserver.expect_request("/slow").respond_with_handler(blocking_handler(release))

    t = Transport(timeout=0.5, retry=RetryPolicy(max_retries=1), sleep=sleeps.append)
    with t, pytest.raises(KindeTimeoutError):
        t.request("GET", httpserver.url_for("/slow"))

    assert len(sleeps) == 1
    release.set()
    # Both attempts reach the (single-threaded) server once it is released.
    wait_for(lambda: len(httpserver.log) == 2)


def test_the_deadline_bounds_each_attempt(
    httpserver: HTTPServer, release: threading.Event, sleeps: list[float]
) -> None:
    httpserver.expect_request("/slow").respond_with_handler(blocking_handler(release))
    # A 30 s read timeout, but a 0.5 s total deadline: the handler only answers after 10 s,
    # so getting KindeTimeoutError (not a 200) shows the deadline cut the attempt short.
    policy = RetryPolicy(max_retries=5, deadline=0.5)

    # rand=1.0: after a 0.5 s attempt no backoff fits, so there is exactly one attempt.
    t = Transport(timeout=30.0, retry=policy, sleep=sleeps.append, rand=lambda: 1.0)
    with t, pytest.raises(KindeTimeoutError):
        t.request("GET", httpserver.url_for("/slow"))

    assert sleeps == []
    release.set()
    wait_for(lambda: len(httpserver.log) == 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_no_retry_wait_crosses_the_deadline(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=503)
    clock = FakeClock()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    policy = RetryPolicy(max_retries=10, backoff_base=1.0, backoff_max=100.0, deadline=5.0)
    with Transport(retry=policy, sleep=sleep, clock=clock, rand=lambda: 1.0) as transport:
        response = transport.request("GET", httpserver.url_for("/r"))

    # Waits 1 + 2 fit in 5 s; the next (4) would end at 7 s, so the call gives up.
    assert response.status == 503
    assert sleeps == [1.0, 2.0]
    assert len(httpserver.log) == 3


def test_overshooting_the_deadline_raises_timeout_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/r").respond_with_data("", status=503)
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        clock.now += seconds + 10.0  # e.g. the process was suspended while waiting

    policy = RetryPolicy(max_retries=3, deadline=5.0)
    transport = Transport(retry=policy, sleep=sleep, clock=clock, rand=lambda: 1.0)
    with transport, pytest.raises(KindeTimeoutError, match="total deadline of 5s"):
        transport.request("GET", httpserver.url_for("/r"))

    assert len(httpserver.log) == 1


def test_closed_transport_refuses_requests(httpserver: HTTPServer) -> None:
    transport = Transport()
    transport.close()

    with pytest.raises(KindeConnectionError, match="closed"):
        transport.request("GET", httpserver.url_for("/r"))

    assert httpserver.log == []


# -- headers ---------------------------------------------------------------------------------


def test_request_id_is_sent_and_kept_across_retries(
    httpserver: HTTPServer, transport: Transport
) -> None:
    httpserver.expect_oneshot_request("/r").respond_with_data("", status=503)
    httpserver.expect_oneshot_request("/r").respond_with_data("", status=429)
    httpserver.expect_request("/r").respond_with_data("ok")

    response = transport.request("GET", httpserver.url_for("/r"))

    sent = [req.headers.get(REQUEST_ID_HEADER) for req, _ in httpserver.log]
    assert len(sent) == 3
    assert sent[0] is not None
    assert re.fullmatch(r"[0-9a-f]{32}", sent[0])
    assert sent == [sent[0]] * 3
    # Without an id of the server's own, the response carries the one sent.
    assert response.request_id == sent[0]


def test_each_call_gets_its_own_request_id(httpserver: HTTPServer, transport: Transport) -> None:
    httpserver.expect_request("/r").respond_with_data("ok")

    first = transport.request("GET", httpserver.url_for("/r"))
    second = transport.request("GET", httpserver.url_for("/r"))

    assert first.request_id != second.request_id
    sent = [req.headers[REQUEST_ID_HEADER] for req, _ in httpserver.log]
    assert sent == [first.request_id, second.request_id]


def test_explicit_request_id_and_the_servers_own(
    httpserver: HTTPServer, transport: Transport
) -> None:
    httpserver.expect_request("/r").respond_with_data("ok", headers={"X-Request-Id": "srv-42"})

    response = transport.request("GET", httpserver.url_for("/r"), request_id="mine-1")

    assert httpserver.log[0][0].headers[REQUEST_ID_HEADER] == "mine-1"
    assert response.request_id == "srv-42"


def test_user_agent_and_default_headers(httpserver: HTTPServer, sleeps: list[float]) -> None:
    httpserver.expect_request("/r").respond_with_data("ok")

    with Transport(headers={"X-Tenant": "acme"}, sleep=sleeps.append) as transport:
        transport.request("GET", httpserver.url_for("/r"))
        transport.request("GET", httpserver.url_for("/r"), headers={"X-Tenant": "other"})

    first, second = (req for req, _ in httpserver.log)
    assert first.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"kinde-sdk-python/{__version__} python/")
    assert first.headers["X-Tenant"] == "acme"
    assert second.headers["X-Tenant"] == "other"


def test_token_requests_carry_the_sdk_user_agent(
    httpserver: HTTPServer, transport: Transport
) -> None:
    serve_token(httpserver)
    client = management_client(httpserver, transport)

    client.get_access_token()

    (token_request, _) = httpserver.log[0]
    assert token_request.headers["User-Agent"] == USER_AGENT


def test_api_calls_carry_the_sdk_user_agent(httpserver: HTTPServer, transport: Transport) -> None:
    serve_token(httpserver)
    httpserver.expect_request("/api/v1/users").respond_with_json(USERS_PAGE)
    client = management_client(httpserver, transport)

    client.users.get_users()

    (api_request,) = api_requests(httpserver)
    assert api_request.headers["User-Agent"] == USER_AGENT


def test_json_body_is_sent_as_given(httpserver: HTTPServer, transport: Transport) -> None:
    seen: list[bytes] = []

    def handler(request: Request) -> Response:
        seen.append(request.get_data())
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/r", method="POST").respond_with_handler(handler)
    payload = json.dumps({"email": "a@b.c"}).encode()

    response = transport.request(
        "POST", httpserver.url_for("/r"), body=payload, headers={"Content-Type": "application/json"}
    )

    assert seen == [payload]
    assert response.json() == {}


# -- pure helpers ----------------------------------------------------------------------------


def test_make_timeout() -> None:
    assert make_timeout(None) == (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    assert make_timeout(3) == (3.0, 3.0)
    assert make_timeout((1.0, 20.0)) == (1.0, 20.0)


@pytest.mark.parametrize("timeout", [0, -1.0, (0.0, 5.0), (5.0, 0.0)])
def test_timeouts_must_be_positive(timeout: float | tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        make_timeout(timeout)
    with pytest.raises(ValueError, match="positive"):
        Transport(timeout=timeout)


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://acme.kinde.com/api/v1/users?email=a@b.c", "https://acme.kinde.com/api/v1/users"),
        ("https://user:pw@acme.kinde.com/oauth2/token", "https://acme.kinde.com/oauth2/token"),
        ("http://127.0.0.1:8080/x#frag", "http://127.0.0.1:8080/x"),
        ("http://[::1]:8080/x?q=1", "http://[::1]:8080/x"),
        ("https://[2001:db8::1]/api", "https://[2001:db8::1]/api"),
    ],
)
def test_url_for_log_drops_credentials_and_query(url: str, safe: str) -> None:
    assert url_for_log(url) == safe


def test_a_response_is_read_only_and_its_repr_shows_no_headers_or_body(
    httpserver: HTTPServer, transport: Transport
) -> None:
    httpserver.expect_request("/r").respond_with_data(
        "secret-body", headers={"Set-Cookie": "s=secret-cookie"}
    )
    response = transport.request("GET", httpserver.url_for("/r"))
    with pytest.raises(AttributeError):
        response.status = 500
    assert "secret" not in repr(response)
    assert repr(response) == f"Response(status=200, request_id={response.request_id!r})"
    # The generated request id is a version 4 UUID, as uuid.uuid4().hex gives.
    assert uuid.UUID(hex=response.request_id).version == 4
    assert response.raw is response.raw  # the read copy is made once
    assert response.raw.data == b"secret-body"


def test_the_request_target_is_what_urllib3_would_send() -> None:
    from urllib3.util import parse_url

    from kinde_sdk._transport import split_url

    for url in (
        "http://127.0.0.1:5000/api/v1/users?page_size=20&next_token=a%2Bb",
        "https://Tenant.kinde.com/oauth2/token",
        "http://[::1]:8080/api/v1/users/kp_1",
    ):
        parts = parse_url(url)
        assert split_url(url) == (parts.scheme, parts.host, parts.port, parts.request_uri)
    # urllib3 parses these itself: credentials, a fragment, no path, and a "/" only in
    # a query or fragment right after the host (it was sent as the path).
    for url in (
        "http://u:p@h/x",
        "http://h/x#f",
        "http://h",
        "h/x",
        "http://h?a=/x",
        "http://h#/x",
    ):
        assert split_url(url) is None
