"""A request id the caller sets is kept, not overwritten (issue 15): from the transport's
default headers, a call's own headers or ``request_id=``; the same id on every retry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kinde_sdk import RetryPolicy
from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._transport import Transport, request_headers
from kinde_sdk.errors import KindeConfigurationError, ServerError
from kinde_sdk.management import ManagementClient
from tests.integration.test_deadlines import token_body
from tests.servers.hostile import HostileServer, Route, anyio_backend_fixture  # noqa: F401 - fixture

pytestmark = pytest.mark.anyio


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as s:
        s.routes["/r"] = Route(body=b"{}")
        yield s


def sent_ids(server: HostileServer) -> list[str]:
    return [h.get("x-request-id", "") for h in server.request_headers]


def test_request_headers_keeps_the_callers_id_and_sends_one() -> None:
    headers, rid = request_headers({"x-request-id": "default"}, {"X-REQUEST-ID": "call"}, None)
    assert rid == "call"
    assert [k for k in headers if k.lower() == "x-request-id"] == ["X-Request-Id"]
    assert headers["X-Request-Id"] == "call"
    assert request_headers({"X-Request-Id": "default"}, None, None)[1] == "default"
    assert request_headers({"X-Request-Id": "default"}, {"X-Request-Id": "c"}, "arg")[1] == "arg"
    generated = request_headers({}, None, None)[1]
    assert len(generated) == 32


def test_a_default_header_id_is_sent_on_every_call(server: HostileServer) -> None:
    with Transport(headers={"X-Request-Id": "corr-1"}) as transport:
        response = transport.request("GET", server.url_for("/r"))
        transport.request("GET", server.url_for("/r"))
    assert sent_ids(server) == ["corr-1", "corr-1"]
    assert response.request_id == "corr-1"


def test_a_per_call_id_wins_and_is_kept_across_retries(server: HostileServer) -> None:
    server.routes["/flaky"] = Route(status=500, body=b"{}")
    policy = RetryPolicy(max_retries=2, backoff_base=0.01, deadline=30)
    with Transport(headers={"X-Request-Id": "default"}, retry=policy) as transport:
        response = transport.request(
            "GET", server.url_for("/flaky"), headers={"x-request-id": "call-7"}
        )
    assert response.status == 500  # a plain 500 was retried, then returned
    assert sent_ids(server) == ["call-7"] * 3


async def test_async_the_callers_id_is_kept(server: HostileServer) -> None:
    async with AsyncTransport(headers={"X-Request-Id": "corr-a"}) as transport:
        await transport.request("GET", server.url_for("/r"))
        await transport.request("GET", server.url_for("/r"), headers={"X-Request-Id": "c2"})
    assert sent_ids(server) == ["corr-a", "c2"]


def test_management_client_default_headers_and_per_call_headers(server: HostileServer) -> None:
    server.routes["/oauth2/token"] = Route(body=token_body())
    server.routes["/api/v1/users"] = Route(body=b'{"code": "OK", "users": []}')
    with ManagementClient(
        server.url, "cid", "secret", default_headers={"X-Request-Id": "app-1"}
    ) as client:
        client.users.get_users()
        client.users.get_users(_headers={"X-Request-Id": "call-2"})
    api_ids = [
        h.get("x-request-id")
        for (method, path), h in zip(server.requests, server.request_headers)
        if path == "/api/v1/users"
    ]
    assert api_ids == ["app-1", "call-2"]


def test_management_client_takes_a_retry_policy(server: HostileServer) -> None:
    server.routes["/oauth2/token"] = Route(body=token_body())
    server.routes["/api/v1/users"] = Route(status=500, body=b"{}")
    policy = RetryPolicy(max_retries=1, backoff_base=0.01, retry_statuses={500})
    with ManagementClient(server.url, "cid", "secret", retry=policy) as client:
        assert client._transport.retry is policy
        with pytest.raises(ServerError):
            client.users.get_users()
    assert server.count("/api/v1/users") == 2  # one retry on the plain 500
    with pytest.raises(KindeConfigurationError):
        ManagementClient(server.url, "cid", "secret", retry=policy, max_retries=5)


async def test_async_management_client_takes_a_retry_policy(server: HostileServer) -> None:
    from kinde_sdk.management import AsyncManagementClient

    server.routes["/oauth2/token"] = Route(body=token_body())
    server.routes["/api/v1/users"] = Route(status=500, body=b"{}")
    policy = RetryPolicy(max_retries=1, backoff_base=0.01, retry_statuses={500})
    async with AsyncManagementClient(server.url, "cid", "secret", retry=policy) as client:
        assert client._transport.retry is policy
        with pytest.raises(ServerError):
            await client.users.get_users()
    assert server.count("/api/v1/users") == 2
    with pytest.raises(KindeConfigurationError):
        AsyncManagementClient(server.url, "cid", "secret", retry=policy, deadline=5)
