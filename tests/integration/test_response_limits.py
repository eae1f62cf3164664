"""Response bodies are capped per kind of endpoint, while reading (issue 14, item 4):
a 200 MB JWKS is refused after about 1 MB, without buffering the rest."""

from __future__ import annotations

import gzip
import time
import tracemalloc

import pytest

from kinde_sdk import ResponseLimits, ResponseTooLargeError
from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.auth import TokenValidator
from kinde_sdk.auth.async_token_validator import AsyncTokenValidator
from kinde_sdk.errors import JWKSFetchError, KindeConnectionError
from tests.integration.test_deadlines import a_token, caused_by
from tests.servers.hostile import HostileServer, Route, anyio_backend_fixture, server_fixture  # noqa: F401 - fixtures

pytestmark = pytest.mark.anyio

HUGE = 200 * 1024 * 1024
MIB = 1024 * 1024
POLICY = RetryPolicy(max_retries=0, deadline=60)


def test_default_limits_are_generous_and_per_kind() -> None:
    limits = ResponseLimits()
    assert limits.limit("jwks") == limits.limit("discovery") == limits.limit("token") == MIB
    assert limits.limit("management") == 64 * MIB
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            ResponseLimits(jwks=bad)  # type: ignore[arg-type]


def test_too_large_is_a_connection_error_with_the_limit() -> None:
    error = ResponseTooLargeError("x", url="http://h/p", limit=5)
    assert isinstance(error, KindeConnectionError)
    assert error.limit == 5


@pytest.mark.parametrize("mode", ["huge", "huge_chunked"])
def test_a_huge_jwks_is_refused_while_reading(server: HostileServer, mode: str) -> None:
    server.routes["/j"] = Route(mode, size=HUGE)  # type: ignore[arg-type]
    with Transport(timeout=10, retry=POLICY) as transport:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                transport.request("GET", server.url_for("/j"), kind="jwks")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert info.value.limit == MIB
    assert "cap" in str(info.value)
    assert peak < 20 * MIB  # not the 200 MB the server offered


def test_the_validator_reports_a_huge_jwks_as_a_fetch_error(server: HostileServer) -> None:
    server.routes["/.well-known/jwks.json"] = Route("huge_chunked", size=HUGE)
    with Transport(timeout=10, retry=POLICY) as transport:
        validator = TokenValidator(server.url, transport=transport)
        with pytest.raises(JWKSFetchError) as info:
            validator.verify(a_token())
    assert caused_by(info.value, ResponseTooLargeError)


def test_a_body_at_the_limit_passes_and_one_byte_more_fails(server: HostileServer) -> None:
    server.routes["/exact"] = Route(body=b"x" * 1000)
    server.routes["/over"] = Route(body=b"x" * 1001)
    limits = ResponseLimits(management=1000)
    with Transport(timeout=10, retry=POLICY, limits=limits) as transport:
        assert transport.request("GET", server.url_for("/exact")).data == b"x" * 1000
        with pytest.raises(ResponseTooLargeError):
            transport.request("GET", server.url_for("/over"))
        # The refused response's connection was closed, not reused half-read.
        assert transport.request("GET", server.url_for("/exact")).status == 200


def test_the_cap_counts_the_decoded_bytes_of_a_compressed_body(server: HostileServer) -> None:
    # 2 KB of gzip that inflate to 1 MB: the cap applies to what the caller gets.
    packed = gzip.compress(b"x" * MIB)
    assert len(packed) < 5000
    server.routes["/gz"] = Route(body=packed, headers={"Content-Encoding": "gzip"})
    with Transport(timeout=10, retry=POLICY, limits=ResponseLimits(management=MIB)) as ok:
        assert ok.request("GET", server.url_for("/gz")).data == b"x" * MIB
    small = ResponseLimits(management=MIB - 1)
    with (
        Transport(timeout=10, retry=POLICY, limits=small) as t,
        pytest.raises(ResponseTooLargeError),
    ):
        t.request("GET", server.url_for("/gz"))


def test_the_cap_is_not_retried(server: HostileServer) -> None:
    server.routes["/j"] = Route("huge_chunked", size=4 * MIB)
    retrying = RetryPolicy(max_retries=3, deadline=60)
    with Transport(timeout=10, retry=retrying) as transport, pytest.raises(ResponseTooLargeError):
        transport.request("GET", server.url_for("/j"), kind="token")
    time.sleep(0.1)
    assert server.count("/j") == 1


@pytest.mark.parametrize("mode", ["huge", "huge_chunked"])
async def test_async_a_huge_jwks_is_refused_while_reading(server: HostileServer, mode: str) -> None:
    server.routes["/j"] = Route(mode, size=HUGE)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=10, retry=POLICY) as transport:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                await transport.request("GET", server.url_for("/j"), kind="jwks")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert info.value.limit == MIB
    assert peak < 20 * MIB


async def test_async_the_validator_reports_a_huge_jwks_as_a_fetch_error(
    server: HostileServer,
) -> None:
    server.routes["/.well-known/jwks.json"] = Route("huge", size=HUGE)
    async with AsyncTransport(timeout=10, retry=POLICY) as transport:
        validator = AsyncTokenValidator(server.url, transport=transport)
        with pytest.raises(JWKSFetchError) as info:
            await validator.verify(a_token())
    assert caused_by(info.value, ResponseTooLargeError)


async def test_async_a_body_at_the_limit_passes(server: HostileServer) -> None:
    server.routes["/exact"] = Route(body=b"x" * 1000)
    server.routes["/over"] = Route(body=b"x" * 1001)
    limits = ResponseLimits(management=1000)
    async with AsyncTransport(timeout=10, retry=POLICY, limits=limits) as transport:
        response = await transport.request("GET", server.url_for("/exact"))
        assert response.data == b"x" * 1000
        assert response.raw.data == b"x" * 1000  # the read urllib3 copy, as from sync
        with pytest.raises(ResponseTooLargeError):
            await transport.request("GET", server.url_for("/over"))


@pytest.mark.parametrize("body", [b"", b'{"a": 1}'])
def test_the_raw_response_reads_like_a_preloaded_urllib3_one(
    server: HostileServer, body: bytes
) -> None:
    # The generated client reads .data, .status, .reason and .headers of Response.raw.
    server.routes["/r"] = Route(body=body)
    with Transport(timeout=10, retry=POLICY) as transport:
        response = transport.request("GET", server.url_for("/r"))
    assert response.data == body
    assert response.raw.data == body
    assert response.raw.status == 200
    assert response.raw.headers["Content-Type"] == "application/json"
