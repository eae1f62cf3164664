"""RedisStorage against a real redis-server started on 127.0.0.1 for this module.

A missing redis-server binary fails these tests (it does not skip them): CI installs it
with ``apt-get install redis-server``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from kinde_sdk.core.storage import (
    NamespacedStorage,
    RedisStorage,
    StorageCorruptedError,
    StorageError,
    StorageManager,
    StorageSerializationError,
    create_storage,
)
from tests.servers._process import free_port
from tests.servers.redis_server import RedisServer, RedisServerMissing, start_redis

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {"access_token": "at", "refresh_token": "rt", "expires_at": 1678901234}


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
    """A plain client on the test database, emptied before each test."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def url(redis_server: RedisServer, raw: redis.Redis) -> str:
    return redis_server.url


@pytest.fixture
def make_storage(url: str) -> Iterator[type[RedisStorage]]:
    created: list[RedisStorage] = []

    class Tracked(RedisStorage):
        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("url", url)
            super().__init__(**kwargs)  # type: ignore[arg-type]
            created.append(self)

    yield Tracked
    for storage in created:
        storage.close()


def test_set_get_delete(make_storage: type[RedisStorage], raw: redis.Redis) -> None:
    storage = make_storage()
    assert storage.get("user_tokens") is None
    storage.set("user_tokens", TOKENS)
    assert storage.get("user_tokens") == TOKENS
    # Stored as JSON text under the default prefix, without expiry.
    assert raw.get("kinde:user_tokens") == b'{"access_token":"at","refresh_token":"rt",' + (
        b'"expires_at":1678901234}'
    )
    assert raw.ttl("kinde:user_tokens") == -1
    storage.set("user_tokens", [1, (2, 3)])
    assert storage.get("user_tokens") == [1, [2, 3]]
    storage.delete("user_tokens")
    assert storage.get("user_tokens") is None
    assert raw.exists("kinde:user_tokens") == 0
    storage.delete("user_tokens")


def test_host_port_options(redis_server: RedisServer, raw: redis.Redis) -> None:
    storage = RedisStorage(host="127.0.0.1", port=redis_server.port, db=1, prefix="hp:")
    try:
        storage.set("k", {"v": 1})
        assert storage.get("k") == {"v": 1}
        assert raw.get("hp:k") is None  # it went to db 1
        db1 = redis.Redis(host="127.0.0.1", port=redis_server.port, db=1)
        assert db1.get("hp:k") == b'{"v":1}'
        db1.flushdb()
        db1.close()
    finally:
        storage.close()


def test_ttl_is_set_on_every_write(make_storage: type[RedisStorage], raw: redis.Redis) -> None:
    storage = make_storage(ttl=600)
    storage.set("k", 1)
    assert 0 < raw.ttl("kinde:k") <= 600
    raw.persist("kinde:k")
    storage.set("k", 2)
    assert 0 < raw.ttl("kinde:k") <= 600


def test_non_json_value_stores_nothing(make_storage: type[RedisStorage], raw: redis.Redis) -> None:
    storage = make_storage()
    storage.set("k", "old")
    with pytest.raises(StorageSerializationError):
        storage.set("k", {"bad": {1, 2}})
    with pytest.raises(StorageSerializationError):
        storage.set("new", object())
    assert storage.get("k") == "old"
    assert raw.keys("*") == [b"kinde:k"]  # KEYS is fine in a test, never in the backend


def test_prefix_isolation(make_storage: type[RedisStorage], raw: redis.Redis) -> None:
    one = make_storage(prefix="app1:")
    two = make_storage(prefix="app2:")
    one.set("user_tokens", {"app": 1})
    two.set("user_tokens", {"app": 2})
    one.set("device:d:x", 1)
    assert one.get("user_tokens") == {"app": 1}
    assert two.get("user_tokens") == {"app": 2}
    assert one.keys() == ["device:d:x", "user_tokens"]
    assert two.keys() == ["user_tokens"]

    assert one.delete_prefix("") == 2
    assert one.keys() == []
    assert two.get("user_tokens") == {"app": 2}
    assert raw.exists("app2:user_tokens") == 1


def test_glob_characters_in_prefixes_match_literally(
    make_storage: type[RedisStorage], raw: redis.Redis
) -> None:
    star = make_storage(prefix="a*:")
    plain = make_storage(prefix="ab:")
    brackets = make_storage(prefix="x[y]\\?:")
    for s in (star, plain, brackets):
        s.set("k", 1)
    raw.set("a:k", b"1")  # a foreign key that "a*:" unescaped would also match

    assert star.keys() == ["k"]
    assert star.delete_prefix("") == 1
    assert brackets.delete_prefix("k") == 1
    assert plain.get("k") == 1
    assert sorted(raw.scan_iter()) == [b"a:k", b"ab:k"]


def test_delete_prefix_scans_in_batches(make_storage: type[RedisStorage], raw: redis.Redis) -> None:
    storage = make_storage()
    with raw.pipeline(transaction=False) as pipe:
        for i in range(1234):
            pipe.set(f"kinde:device:big:{i}", b"1")
        pipe.set("kinde:device:other:0", b"1")
        pipe.execute()
    assert storage.delete_prefix("device:big:") == 1234
    assert storage.keys() == ["device:other:0"]


def test_clear_device_data(make_storage: type[RedisStorage]) -> None:
    # Two workers, each with its own connection pool, serving two devices of one user.
    laptop = NamespacedStorage(make_storage(), device_id="laptop", user_id="kp_ann")
    phone = NamespacedStorage(make_storage(), device_id="phone", user_id="kp_ann")
    for s in (laptop, phone):
        s.set("user_tokens", TOKENS)
        s.set("oauth_state", "s")
    laptop.set("user:shared_preferences", {"theme": "dark"})
    laptop.set("global:app_settings", {"version": "1.0.0"})

    laptop.clear_device_data()

    assert laptop.get("user_tokens") is None and laptop.get("oauth_state") is None
    assert phone.get("user_tokens") == TOKENS and phone.get("oauth_state") == "s"
    assert phone.get("user:shared_preferences") == {"theme": "dark"}
    assert phone.get("global:app_settings") == {"version": "1.0.0"}


def test_two_workers_see_each_others_writes(make_storage: type[RedisStorage]) -> None:
    worker_a = make_storage()
    worker_b = make_storage()
    assert worker_a.client is not worker_b.client
    worker_a.set("device:d:user_tokens", TOKENS)
    assert worker_b.get("device:d:user_tokens") == TOKENS
    worker_b.set("device:d:user_tokens", {"refreshed": True})
    assert worker_a.get("device:d:user_tokens") == {"refreshed": True}
    worker_a.delete_prefix("device:d:")
    assert worker_b.get("device:d:user_tokens") is None


WORKER = textwrap.dedent(
    """
    import sys
    from kinde_sdk.core.storage import StorageManager

    url = sys.argv[1]
    sm = StorageManager()
    sm.initialize({"type": "redis", "options": {"url": url}}, device_id="shared-device")
    assert sm.get("user_tokens") == {"from": "parent"}, sm.get("user_tokens")
    sm.set("user_tokens", {"from": "child"})
    sm.set("global:child_was_here", True)
    """
)


def test_worker_processes_share_state_through_the_manager(url: str) -> None:
    sm = StorageManager()
    sm.reset()
    try:
        sm.initialize({"type": "redis", "options": {"url": url}}, device_id="shared-device")
        sm.set("user_tokens", {"from": "parent"})
        subprocess.run([sys.executable, "-c", WORKER, url], cwd=ROOT, check=True, timeout=120)
        assert sm.get("user_tokens") == {"from": "child"}
        assert sm.get("global:child_was_here") is True
        sm.clear_device_data()
        assert sm.get("user_tokens") is None
        assert sm.get("global:child_was_here") is True
    finally:
        sm.storage.backend.close()
        sm.reset()


def test_create_storage_redis_config(url: str, raw: redis.Redis) -> None:
    storage = create_storage({"type": "redis", "options": {"url": url, "prefix": "cfg:"}})
    try:
        assert isinstance(storage, RedisStorage)
        storage.set("k", 1)
        assert raw.get("cfg:k") == b"1"
    finally:
        storage.close()


def test_existing_client_is_used_and_not_closed(raw: redis.Redis) -> None:
    storage = RedisStorage(client=raw, prefix="c:")
    storage.set("k", "v")
    storage.close()
    assert raw.get("c:k") == b'"v"'  # still usable: the caller owns the client


def test_value_that_is_not_json_is_reported(
    make_storage: type[RedisStorage], raw: redis.Redis
) -> None:
    raw.set("kinde:k", b"not json")
    with pytest.raises(StorageCorruptedError, match="kinde:k"):
        make_storage().get("k")


def test_unreachable_server_raises_storage_error() -> None:
    storage = RedisStorage(url=f"redis://127.0.0.1:{free_port()}/0", socket_timeout=5)
    try:
        with pytest.raises(StorageError, match="redis GET failed"):
            storage.get("k")
        with pytest.raises(StorageError, match="redis SET failed"):
            storage.set("k", 1)
    finally:
        storage.close()


def test_set_expiring_and_touch_use_key_ttls(
    make_storage: type[RedisStorage], raw: redis.Redis
) -> None:
    """Issue 12: redis sessions expire by key TTL, refreshed on use."""
    storage = make_storage(prefix="exp:")
    storage.set_expiring("pending", {"s": 1}, 30)
    assert 25_000 < raw.pttl("exp:pending") <= 30_000
    storage.touch("pending", 300)
    assert 295_000 < raw.pttl("exp:pending") <= 300_000
    storage.touch("missing", 300)
    assert raw.exists("exp:missing") == 0
    storage.set_expiring("short", 1, 0.2)
    deadline = time.monotonic() + 10
    while storage.get("short") is not None:
        assert time.monotonic() < deadline, "redis did not expire the key"
        time.sleep(0.05)
    storage.set("pending", 2)
    assert raw.pttl("exp:pending") == -1  # a plain set has no expiry
