"""RedisStorage calls are bounded (issue 14, item 3): against a black hole (a server
that accepts connections and never answers) one call costs one ``socket_timeout``, not
redis-py's default of retries on new connections (15 s at ``socket_timeout=1``); a
broken connection is retried ``retries`` times. Counts, not speeds, are asserted."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import redis

from kinde_sdk.core.storage import (
    RedisStorage,
    StorageCorruptedError,
    StorageError,
    create_storage,
)
from kinde_sdk.errors import KindeConfigurationError
from tests.integration.test_storage_redis import raw, redis_server  # noqa: F401 (fixtures)


class Listener:
    """Accepts connections and counts them; ``black_hole``: keeps them open and silent,
    else closes each at once (a connection reset for the client)."""

    def __init__(self, *, black_hole: bool) -> None:
        self.black_hole = black_hole
        self.accepted = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.black_hole:
                self._open.append(conn)
            else:
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                conn.close()

    def close(self) -> None:
        self._sock.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[Listener]:
    listener = Listener(black_hole=True)
    yield listener
    listener.close()


@pytest.fixture
def resetter() -> Iterator[Listener]:
    listener = Listener(black_hole=False)
    yield listener
    listener.close()


OPERATIONS: dict[str, Callable[[RedisStorage], Any]] = {
    "get": lambda s: s.get("k"),
    "set": lambda s: s.set("k", {"v": 1}),
    "delete": lambda s: s.delete("k"),
    "keys": lambda s: s.keys("p"),
    "delete_prefix": lambda s: s.delete_prefix("p"),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_black_hole_costs_one_timeout_per_call(black_hole: Listener, operation: str) -> None:
    storage = RedisStorage(host="127.0.0.1", port=black_hole.port, socket_timeout=1)
    with pytest.raises(StorageError, match="Timeout"):
        OPERATIONS[operation](storage)
    storage.close()
    # One connection, one timeout: redis-py's default policy opened 11 connections (and
    # waited for each) for one get() here. Counted, not timed.
    assert black_hole.accepted == 1


def test_the_configured_retries_apply_to_broken_connections(resetter: Listener) -> None:
    for retries, attempts in ((0, 1), (1, 2), (3, 4)):
        before = resetter.accepted
        storage = RedisStorage(
            url=f"redis://127.0.0.1:{resetter.port}/0", socket_timeout=5, retries=retries
        )
        with pytest.raises(StorageError):
            storage.get("k")
        storage.close()
        assert resetter.accepted - before == attempts


def test_a_dropped_pooled_connection_is_retried_once(
    redis_server: Any,  # noqa: F811
    raw: redis.Redis,  # noqa: F811
) -> None:
    storage = RedisStorage(url=redis_server.url)
    try:
        storage.set("k", 1)
        # The server drops every client connection (a restart, an idle timeout).
        raw.client_kill_filter(_type="normal", skipme=True)
        assert storage.get("k") == 1  # one retry on a fresh connection
    finally:
        storage.close()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_retries_must_be_a_whole_number(bad: object) -> None:
    with pytest.raises(KindeConfigurationError, match="retries"):
        RedisStorage(url="redis://127.0.0.1:1/0", retries=bad)  # type: ignore[arg-type]


def test_retries_is_a_config_option() -> None:
    storage = create_storage(
        {"type": "redis", "options": {"url": "redis://127.0.0.1:1/0", "retries": 0}}
    )
    assert isinstance(storage, RedisStorage)
    assert storage.client.get_connection_kwargs()["retry"]._retries == 0


def test_a_deeply_nested_value_is_corrupted_not_a_recursion_error(
    redis_server: Any,  # noqa: F811
    raw: redis.Redis,  # noqa: F811
) -> None:
    raw.set("kinde:k", b"[" * 100_000 + b"]" * 100_000)
    storage = RedisStorage(url=redis_server.url)
    try:
        with pytest.raises(StorageCorruptedError, match="kinde:k"):
            storage.get("k")
    finally:
        storage.close()
