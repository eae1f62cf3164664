"""Every call ends by its total deadline, even against a server that trickles its
headers or body one byte every 0.25 s (issue 14, item 1): management, token, JWKS,
discovery, revocation and refresh requests, sync and async.

The trickling answers would take 500 s or more to arrive; the deadline is 1.5 s. The
tests assert a typed timeout error and an end "well before the unbounded time" (under
30 s), never a speed: a busy machine cannot make them flaky.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.auth import ClientCredentials, TokenValidator
from kinde_sdk.auth.async_oauth import AsyncOAuth
from kinde_sdk.auth.async_token_validator import AsyncTokenValidator
from kinde_sdk.auth.oauth import OAuth
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import JWKSFetchError, KindeTimeoutError, TokenError
from kinde_sdk.management import ManagementClient
from tests.servers.hostile import HostileServer, Route, anyio_backend_fixture, server_fixture  # noqa: F401 - fixtures

DEADLINE = 1.5
BOUND = 30.0  # far above the deadline, far below the 500 s a trickle would take
POLICY = RetryPolicy(max_retries=1, deadline=DEADLINE)
TRICKLES = ["trickle_headers", "trickle_body"]

pytestmark = pytest.mark.anyio


def token_body() -> bytes:
    return json.dumps({"access_token": "at", "expires_in": 3600, "token_type": "Bearer"}).encode()


def discovery(server: HostileServer) -> bytes:
    return json.dumps(
        {
            "issuer": server.url,
            "authorization_endpoint": server.url_for("/oauth2/auth"),
            "token_endpoint": server.url_for("/oauth2/token"),
            "jwks_uri": server.url_for("/.well-known/jwks.json"),
            "revocation_endpoint": server.url_for("/oauth2/revoke"),
            "end_session_endpoint": server.url_for("/logout"),
        }
    ).encode()


def timed(call: Callable[[], Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        call()
    return info.value, time.monotonic() - started


async def atimed(call: Callable[[], Any]) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        await call()
    return info.value, time.monotonic() - started


def caused_by(error: BaseException, cls: type[BaseException]) -> bool:
    """Whether ``error`` or an exception in its ``__cause__`` chain is a ``cls``."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, cls):
            return True
        seen = seen.__cause__
    return False


def caused_by_timeout(error: BaseException) -> bool:
    return caused_by(error, KindeTimeoutError)


def a_token() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return jwt.encode(
        {"iss": "x", "sub": "kp_1", "iat": now, "exp": now + 60},
        key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )


def oauth_settings(server: HostileServer) -> dict[str, Any]:
    return {
        "client_id": "cid",
        "client_secret": "secret",
        "redirect_uri": "http://127.0.0.1/callback",
        "host": server.url,
        "storage": NamespacedStorage(MemoryStorage()),
    }


def store_session(client: Any, *, expired: bool) -> None:
    now = time.time()
    client._store.set(
        client._tokens_key,
        {
            "access_token": "at",
            "refresh_token": "rt",
            "expires_at": now - 10 if expired else now + 3600,
        },
    )


# --- sync -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_trickling_response_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/r"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        error, elapsed = timed(lambda: transport.request("GET", server.url_for("/r")))
    assert isinstance(error, KindeTimeoutError)
    assert "deadline" in str(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_management_call_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/oauth2/token"] = Route(body=token_body())
    server.routes["/api/v1/users"] = Route(mode)  # type: ignore[arg-type]
    with ManagementClient(
        server.url, "cid", "secret", timeout=1, deadline=DEADLINE, max_retries=1
    ) as client:
        error, elapsed = timed(lambda: client.users.get_users())
    assert isinstance(error, KindeTimeoutError)
    assert elapsed < BOUND
    assert server.count("/api/v1/users") >= 1


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_token_request_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/oauth2/token"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        client = ClientCredentials(
            server.url,
            "cid",
            "secret",
            token_url=server.url_for("/oauth2/token"),
            transport=transport,
        )
        error, elapsed = timed(client.get_access_token)
    assert isinstance(error, TokenError)
    assert caused_by_timeout(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_jwks_fetch_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/jwks.json"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        validator = TokenValidator(server.url, transport=transport)
        error, elapsed = timed(lambda: validator.verify(a_token()))
    assert isinstance(error, JWKSFetchError)
    assert caused_by_timeout(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
def test_discovery_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport)
        error, elapsed = timed(client.login)
    assert isinstance(error, KindeTimeoutError)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_refresh_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(body=discovery(server))
    server.routes["/oauth2/token"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport)
        store_session(client, expired=True)
        error, elapsed = timed(client.get_access_token)
    assert caused_by_timeout(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
def test_revocation_at_logout_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(body=discovery(server))
    server.routes["/oauth2/revoke"] = Route(mode)  # type: ignore[arg-type]
    with Transport(timeout=1, retry=POLICY) as transport:
        client = OAuth(**oauth_settings(server), transport=transport)
        store_session(client, expired=False)
        started = time.monotonic()
        url = client.logout()  # a failed revocation does not fail the logout
        elapsed = time.monotonic() - started
    assert url.startswith(server.url_for("/logout"))
    assert server.count("/oauth2/revoke") >= 1
    assert elapsed < BOUND
    assert client.get_tokens() is None


# --- async ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", TRICKLES)
async def test_async_a_trickling_response_ends_at_the_deadline(
    server: HostileServer, mode: str
) -> None:
    server.routes["/r"] = Route(mode)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=1, retry=POLICY) as transport:
        error, elapsed = await atimed(lambda: transport.request("GET", server.url_for("/r")))
    assert isinstance(error, KindeTimeoutError)
    assert "deadline" in str(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
async def test_async_a_jwks_fetch_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/jwks.json"] = Route(mode)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=1, retry=POLICY) as transport:
        validator = AsyncTokenValidator(server.url, transport=transport)
        error, elapsed = await atimed(lambda: validator.verify(a_token()))
    assert isinstance(error, JWKSFetchError)
    assert caused_by_timeout(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
async def test_async_discovery_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(mode)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=1, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport)
        error, elapsed = await atimed(client.login)
    assert isinstance(error, KindeTimeoutError)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
async def test_async_a_refresh_ends_at_the_deadline(server: HostileServer, mode: str) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(body=discovery(server))
    server.routes["/oauth2/token"] = Route(mode)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=1, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport)
        store_session(client, expired=True)
        error, elapsed = await atimed(client.get_access_token)
    assert caused_by_timeout(error)
    assert elapsed < BOUND


@pytest.mark.parametrize("mode", TRICKLES)
async def test_async_revocation_at_logout_ends_at_the_deadline(
    server: HostileServer, mode: str
) -> None:
    server.routes["/.well-known/openid-configuration"] = Route(body=discovery(server))
    server.routes["/oauth2/revoke"] = Route(mode)  # type: ignore[arg-type]
    async with AsyncTransport(timeout=1, retry=POLICY) as transport:
        client = AsyncOAuth(**oauth_settings(server), transport=transport)
        store_session(client, expired=False)
        started = time.monotonic()
        url = await client.logout()
        elapsed = time.monotonic() - started
    assert url.startswith(server.url_for("/logout"))
    assert server.count("/oauth2/revoke") >= 1
    assert elapsed < BOUND


def test_the_watchdog_does_not_touch_a_connection_after_its_call(server: HostileServer) -> None:
    # Deadlines of finished calls must not shut down pooled connections reused later.
    server.routes["/ok"] = Route(body=b'{"ok": true}')
    with Transport(timeout=1, retry=RetryPolicy(max_retries=0, deadline=0.3)) as transport:
        for _ in range(3):
            assert transport.request("GET", server.url_for("/ok")).json() == {"ok": True}
            time.sleep(0.4)  # past the finished call's deadline
        assert transport.request("GET", server.url_for("/ok")).status == 200


def test_a_shorter_deadline_is_kept_while_a_longer_one_is_in_flight(
    server: HostileServer,
) -> None:
    # The watchdog sleeps until the earliest deadline it knows; a call with an earlier
    # one, started meanwhile (from another thread), must wake it, not wait for the other.
    import threading

    server.routes["/hole"] = Route("black_hole")
    server.routes["/r"] = Route("trickle_body")
    slow_errors: list[BaseException] = []

    def slow_call() -> None:
        patient = RetryPolicy(max_retries=0, deadline=600)
        with Transport(timeout=600, retry=patient) as transport:
            try:
                transport.request("GET", server.url_for("/hole"))
            except Exception as exc:
                slow_errors.append(exc)

    slow = threading.Thread(target=slow_call, daemon=True)
    slow.start()
    for _ in range(200):  # until the slow call has reached the server
        if server.count("/hole"):
            break
        time.sleep(0.05)
    assert server.count("/hole") == 1
    with Transport(timeout=1, retry=POLICY) as transport:
        error, elapsed = timed(lambda: transport.request("GET", server.url_for("/r")))
    assert isinstance(error, KindeTimeoutError) and "deadline" in str(error)
    assert elapsed < BOUND
    assert slow.is_alive()  # the short call ended on its own deadline, not the other's
    server.stop()  # ends the slow call
    slow.join(timeout=BOUND)
    assert not slow.is_alive() and slow_errors


@pytest.mark.parametrize("mode", TRICKLES)
def test_a_trickling_tls_response_ends_at_the_deadline(tmp_path: Any, mode: str) -> None:
    # Kinde is HTTPS: the watchdog must interrupt a read inside TLS too.
    import urllib3

    from kinde_sdk import _deadline
    from tests.servers.hostile import self_signed_tls

    context, ca_file = self_signed_tls(str(tmp_path))
    with HostileServer(tls=context) as tls_server, Transport(timeout=1, retry=POLICY) as transport:
        tls_server.routes["/ok"] = Route(body=b'{"ok": 1}')
        tls_server.routes["/r"] = Route(mode)  # type: ignore[arg-type]
        # The transport trusts the system's CAs only; give its pool this test's CA.
        transport._pool = urllib3.PoolManager(retries=False, ca_certs=ca_file)
        transport._pool.pool_classes_by_scheme = _deadline.POOL_CLASSES_BY_SCHEME
        assert transport.request("GET", tls_server.url_for("/ok")).json() == {"ok": 1}
        error, elapsed = timed(lambda: transport.request("GET", tls_server.url_for("/r")))
    assert isinstance(error, KindeTimeoutError)
    assert "deadline" in str(error)
    assert elapsed < BOUND


def _child_request(url: str, queue: Any) -> None:
    with Transport(timeout=1, retry=POLICY) as transport:
        try:
            transport.request("GET", url)
        except KindeTimeoutError as exc:
            queue.put(type(exc).__name__)
        else:
            queue.put("no error")


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_the_deadline_holds_in_a_forked_worker(server: HostileServer) -> None:
    # gunicorn --preload forks workers from a parent that may have made requests already:
    # the child has no watchdog thread until it starts its own.
    import multiprocessing

    server.routes["/ok"] = Route(body=b"{}")
    server.routes["/r"] = Route("trickle_body")
    with Transport(timeout=1, retry=POLICY) as transport:
        transport.request("GET", server.url_for("/ok"))  # the parent's watchdog runs
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_request, args=(server.url_for("/r"), queue))
    child.start()
    try:
        assert queue.get(timeout=BOUND) == "KindeTimeoutError"
    finally:
        child.join(timeout=BOUND)
        if child.is_alive():
            child.kill()
