"""Token stores shared by processes (issue 12, part 1), against a real redis-server and
real worker processes: one token request for a fleet, lock takeover after its owner is
killed, Redis going away mid-run, 401 eviction once, keys and encryption at rest.

In-process tests play "another process" by giving a provider its own token slot (the
process-wide registry swapped for an empty one); the cross-process tests run
``tests/integration/_token_worker.py`` as real subprocesses.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from kinde_sdk import _token_cache
from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._transport import Transport
from kinde_sdk.auth import ClientCredentials, FileTokenStore, RedisTokenStore, TokenStore
from kinde_sdk.errors import KindeConfigurationError, TokenError
from kinde_sdk.management import ManagementClient
from tests.integration.test_token_cache import TokenEndpoint, UsersEndpoint, origin, serve
from tests.servers.redis_server import RedisServer, RedisServerMissing, start_redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = start_redis()
    except RedisServerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def store(redis_server: RedisServer, raw: redis.Redis) -> Iterator[RedisTokenStore]:
    s = RedisTokenStore(redis_server.url)
    yield s
    s.close()


@pytest.fixture
def client_id() -> str:
    return f"m2m-{uuid.uuid4().hex}"


@pytest.fixture
def transport() -> Iterator[Transport]:
    with Transport(timeout=10.0) as t:
        yield t


@pytest.fixture
def new_process(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Make the next provider act as if it lived in another process: its own slot."""

    def fresh() -> None:
        monkeypatch.setattr(_token_cache, "_registry", weakref.WeakValueDictionary())

    return fresh


def provider(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    store: Optional[TokenStore],
    secret: str = "s3cret",
) -> ClientCredentialsTokenProvider:
    return ClientCredentialsTokenProvider(
        token_url=f"{origin(httpserver)}/oauth2/token",
        client_id=client_id,
        client_secret=secret,
        audience=None,
        transport=transport,
        token_store=store,
    )


# -- sharing, keys, encryption ----------------------------------------------------------


def test_a_second_process_uses_the_stored_token(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    store: RedisTokenStore,
    raw: redis.Redis,
    new_process: Callable[[], None],
) -> None:
    tokens, _ = serve(httpserver, TokenEndpoint(lifetime=3600))
    first = provider(httpserver, client_id, transport, store)
    assert first.token() == "tok-1"
    new_process()
    second = provider(httpserver, client_id, transport, store)
    assert second.token() == "tok-1"
    assert tokens.count == 1

    (key,) = raw.keys("kinde:m2m:*")
    # The key says nothing about the credentials; the value is sealed; TTL = lifetime.
    assert client_id.encode() not in key and b"s3cret" not in key
    value = raw.get(key)
    assert value is not None and value.startswith(b"k1")
    assert b"tok-1" not in value and b"s3cret" not in value
    assert 3500_000 < raw.pttl(key) <= 3600_000


def test_a_rotated_secret_gets_its_own_stored_token(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    store: RedisTokenStore,
    raw: redis.Redis,
    new_process: Callable[[], None],
) -> None:
    tokens, _ = serve(httpserver)
    assert provider(httpserver, client_id, transport, store, "secret-v1").token() == "tok-1"
    new_process()
    assert provider(httpserver, client_id, transport, store, "secret-v2").token() == "tok-2"
    assert [f["client_secret"] for f in tokens.forms] == ["secret-v1", "secret-v2"]
    assert len(raw.keys("kinde:m2m:*:token")) == 2


def test_unencrypted_records_and_fleet_keys(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    redis_server: RedisServer,
    raw: redis.Redis,
    new_process: Callable[[], None],
) -> None:
    tokens, _ = serve(httpserver)
    plain = RedisTokenStore(redis_server.url, encrypt=False)
    assert provider(httpserver, client_id, transport, plain).token() == "tok-1"
    (key,) = raw.keys("kinde:m2m:*:token")
    record = json.loads(raw.get(key)[2:])  # type: ignore[index]
    assert record["t"] == "tok-1"

    # A store with a fleet key names (and seals) records differently.
    new_process()
    keyed = RedisTokenStore(redis_server.url, secret_key="k" * 32)
    assert provider(httpserver, client_id, transport, keyed).token() == "tok-2"
    assert len(raw.keys("kinde:m2m:*:token")) == 2
    with pytest.raises(KindeConfigurationError):
        RedisTokenStore(redis_server.url, secret_key="short")
    assert "redis://" not in repr(keyed)
    assert tokens.count == 2


def test_management_client_and_client_credentials_accept_a_store(
    httpserver: HTTPServer,
    client_id: str,
    store: RedisTokenStore,
    new_process: Callable[[], None],
) -> None:
    tokens, _ = serve(httpserver)
    with ManagementClient(origin(httpserver), client_id, "s3cret", token_store=store) as client:
        client.users.get_users()
    new_process()
    credentials = ClientCredentials(
        token_url=f"{origin(httpserver)}/oauth2/token",
        client_id=client_id,
        client_secret="s3cret",
        audience=f"{origin(httpserver)}/api",
        token_store=store,
    )
    assert credentials.get_access_token() == "tok-1"
    assert tokens.count == 1
    with pytest.raises(KindeConfigurationError):
        ClientCredentials(
            token_url=f"{origin(httpserver)}/oauth2/token",
            client_id=client_id,
            client_secret="s3cret",
            token_store="redis://nope",  # type: ignore[arg-type]
        )


# -- 401: evicted for everyone, once ---------------------------------------------------------


def test_a_401_evicts_the_shared_token_once(
    httpserver: HTTPServer,
    client_id: str,
    store: RedisTokenStore,
    new_process: Callable[[], None],
) -> None:
    users = UsersEndpoint(lambda auth: 401 if auth == "Bearer tok-1" else 200)
    tokens, _ = serve(httpserver, users=users)
    a = ManagementClient(origin(httpserver), client_id, "s3cret", token_store=store)
    a.get_access_token()
    new_process()
    b = ManagementClient(origin(httpserver), client_id, "s3cret", token_store=store)
    assert b.get_access_token() == "tok-1"  # from the store

    a.users.get_users()  # 401 with tok-1: evicted from the store, tok-2 fetched and stored
    b.users.get_users()  # 401 with tok-1 too: tok-2 is not evicted; b takes it from the store

    assert tokens.count == 2
    assert users.authorizations == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-1", "Bearer tok-2"]
    a.close()
    b.close()


# -- the lock -------------------------------------------------------------------------------


def test_a_stale_lock_is_taken_over_after_it_expires(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    redis_server: RedisServer,
    raw: redis.Redis,
) -> None:
    tokens, _ = serve(httpserver)
    store = RedisTokenStore(redis_server.url, lock_ttl=1.0)
    p = provider(httpserver, client_id, transport, store)
    lock_key = "kinde:m2m:" + p._flow.shared.lock_name  # type: ignore[union-attr]
    raw.set(lock_key, "a-dead-owner", px=1000)

    assert p.token() == "tok-1"
    assert tokens.count == 1
    assert raw.get(lock_key) is None  # released by its new owner


def test_a_lock_is_released_only_by_its_owner(store: RedisTokenStore, raw: redis.Redis) -> None:
    assert store.acquire("x:lock", "owner-a", 10.0)
    assert 5_000 < raw.pttl("kinde:m2m:x:lock") <= 10_000  # it expires on its own
    assert not store.acquire("x:lock", "owner-b", 10.0)
    store.release("x:lock", "owner-b")
    assert raw.get("kinde:m2m:x:lock") == b"owner-a"
    store.release("x:lock", "owner-a")
    assert raw.get("kinde:m2m:x:lock") is None


# -- the store failing -------------------------------------------------------------------------


def test_redis_going_away_mid_run_degrades_to_per_process_tokens(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens, _ = serve(httpserver)
    server = start_redis()
    try:
        store = RedisTokenStore(server.url, socket_timeout=0.5)
        p = provider(httpserver, client_id, transport, store)
        assert p.token() == "tok-1"
    finally:
        server.stop()  # Redis goes away

    with caplog.at_level(logging.WARNING, logger="kinde_sdk"):
        p.invalidate("tok-1")  # needs the store: fails quietly
        assert p.token() == "tok-2"  # fetched by this process
        for _ in range(50):
            assert p.token() == "tok-2"
    assert tokens.count == 2
    warnings = [r for r in caplog.records if "token store" in r.getMessage()]
    assert len(warnings) == 1  # once, not per call
    assert "s3cret" not in caplog.text


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    listener.close()


def test_a_black_hole_store_costs_one_bounded_wait(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    black_hole: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens, _ = serve(httpserver)
    store = RedisTokenStore(black_hole, socket_timeout=0.3)
    p = provider(httpserver, client_id, transport, store)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="kinde_sdk"):
        assert p.token() == "tok-1"
    # One 0.3 s socket timeout (redis-py's own retries are off), generous slack.
    assert time.monotonic() - started < 10.0
    assert tokens.count == 1
    assert any("token store" in r.getMessage() for r in caplog.records)


# -- real processes ---------------------------------------------------------------------------


class Workers:
    """Worker subprocesses released together by one line on their stdin."""

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.integration._token_worker", json.dumps(c)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
                env=env,
            )
            for c in configs
        ]
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", line + (proc.stderr.read() if proc.stderr else "")

    def go(self, proc: Optional[subprocess.Popen[str]] = None) -> None:
        for p in [proc] if proc else self.procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()

    def result(self, proc: subprocess.Popen[str], timeout: float = 90.0) -> dict[str, Any]:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err
        return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


class SlowTokens(TokenEndpoint):
    """Answers after ``delay`` seconds, so that every process is waiting meanwhile."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def __call__(self, request: Request) -> Response:
        time.sleep(self.delay)
        return super().__call__(request)


def store_config(kind: str, redis_server: RedisServer, tmp_path: Path) -> dict[str, Any]:
    if kind == "redis":
        return {"store": "redis", "redis_url": redis_server.url}
    return {"store": "file", "directory": str(tmp_path / "tokens")}


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_processes_on_a_cold_cache_make_one_token_request(
    httpserver: HTTPServer,
    client_id: str,
    redis_server: RedisServer,
    raw: redis.Redis,
    tmp_path: Path,
    kind: str,
) -> None:
    tokens = SlowTokens(delay=1.0)
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(tokens)
    base = {
        "token_url": f"{origin(httpserver)}/oauth2/token",
        "client_id": client_id,
        "client_secret": "s3cret",
        "threads": 8,
        **store_config(kind, redis_server, tmp_path),
    }
    workers = Workers([base] * 4)
    try:
        workers.go()
        results = [workers.result(p) for p in workers.procs]
    finally:
        workers.kill()

    assert [r["errors"] for r in results] == [[]] * 4
    assert [t for r in results for t in r["tokens"]] == ["tok-1"] * 32
    assert tokens.count == 1


@pytest.mark.parametrize("kind", ["redis", "file"])
def test_a_killed_lock_owner_is_taken_over(
    httpserver: HTTPServer,
    client_id: str,
    redis_server: RedisServer,
    raw: redis.Redis,
    tmp_path: Path,
    kind: str,
) -> None:
    arrived = threading.Event()
    never = threading.Event()
    tokens = TokenEndpoint()

    def handler(request: Request) -> Response:
        if tokens.count == 0 and not arrived.is_set():
            arrived.set()
            never.wait(timeout=30.0)  # the first request (the doomed owner's) hangs
            return Response("gone", status=500)
        return tokens(request)

    httpserver.expect_request("/oauth2/token", method="POST").respond_with_handler(handler)
    base = {
        "token_url": f"{origin(httpserver)}/oauth2/token",
        "client_id": client_id,
        "client_secret": "s3cret",
        "lock_ttl": 2.0,
        "lock_wait": 60.0,
        **store_config(kind, redis_server, tmp_path),
    }
    workers = Workers([base, base])
    owner, successor = workers.procs
    try:
        workers.go(owner)
        assert arrived.wait(timeout=30.0)  # the owner holds the lock, its request hangs
        workers.go(successor)
        time.sleep(0.5)  # the successor finds the lock taken and waits
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(timeout=10)
        # The loopback server answers one request at a time: free it from the dead one.
        never.set()
        result = workers.result(successor)
    finally:
        never.set()
        workers.kill()

    assert result == {"tokens": ["tok-1"], "errors": []}
    assert tokens.count == 1  # the successor's request; the dead owner's never completed


# -- the async provider over a store; the file store on its own -------------------------------


def test_async_tasks_share_a_stored_token(
    httpserver: HTTPServer,
    client_id: str,
    store: RedisTokenStore,
    new_process: Callable[[], None],
) -> None:
    import asyncio

    from kinde_sdk.auth import AsyncClientCredentials

    tokens, _ = serve(httpserver)
    settings = {
        "token_url": f"{origin(httpserver)}/oauth2/token",
        "client_id": client_id,
        "client_secret": "s3cret",
        "token_store": store,
    }

    async def many() -> list[str]:
        async with AsyncClientCredentials(**settings) as credentials:  # type: ignore[arg-type]
            return list(await asyncio.gather(*(credentials.get_access_token() for _ in range(100))))

    assert asyncio.run(many()) == ["tok-1"] * 100
    new_process()
    assert asyncio.run(many()) == ["tok-1"] * 100  # "another process": from Redis
    assert tokens.count == 1


def test_file_store_files_are_private_and_expire(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    store = FileTokenStore(directory)
    assert directory.stat().st_mode & 0o777 == 0o700
    store.set("n:token", b"value", 60.0)
    (path,) = directory.glob("n:token*")
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.get("n:token") == b"value"
    assert not store.delete_if("n:token", b"other")
    assert store.delete_if("n:token", b"value")
    assert store.get("n:token") is None

    store.set("n:token", b"value", 0.05)
    time.sleep(0.1)
    assert store.get("n:token") is None
    assert not list(directory.glob("n:token*"))  # purged when found expired
    assert not list(directory.glob("*.tmp"))

    assert store.acquire("n:lock", "a", 5.0)
    assert not store.acquire("n:lock", "b", 5.0)
    store.release("n:lock", "a")
    assert store.acquire("n:lock", "b", 5.0)
    store.close()


def test_stored_failures_are_shared_across_processes(
    httpserver: HTTPServer,
    client_id: str,
    transport: Transport,
    store: RedisTokenStore,
    new_process: Callable[[], None],
) -> None:
    tokens, _ = serve(httpserver)
    tokens.failure = (500, b"")
    with pytest.raises(TokenError):
        provider(httpserver, client_id, transport, store).token()
    new_process()
    # Another process within the backoff gets the failure without asking again.
    with pytest.raises(TokenError, match="in another process") as info:
        provider(httpserver, client_id, transport, store).token()
    assert info.value.status == 500
    assert tokens.count == 1
