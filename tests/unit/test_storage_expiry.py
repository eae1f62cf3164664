"""Expiry and bounds of the storage backends (issue 12 part 2, issue 14 item 10), with a
fake clock: memory (LRU bound + TTL) and file (expired entries purged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinde_sdk.core.storage import FileStorage, MemoryStorage, create_storage
from kinde_sdk.core.storage.local_storage import EXPIRY_KEY
from kinde_sdk.errors import KindeConfigurationError


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_memory_ttl_expires_and_touch_extends() -> None:
    clock = Clock()
    store = MemoryStorage(clock=clock)
    store.set_expiring("a", {"v": 1}, 10)
    store.set("forever", 1)
    clock.now += 9
    assert store.get("a") == {"v": 1}
    store.touch("a", 10)
    clock.now += 9
    assert store.get("a") == {"v": 1}  # touched: 10 s from the touch
    clock.now += 2
    assert store.get("a") is None
    assert store.keys() == ["forever"]
    store.set_expiring("b", 2, 1)
    clock.now += 5
    assert store.purge_expired() == 1
    assert len(store) == 1
    store.set("b", 3)  # a plain set has no expiry any more
    clock.now += 10_000
    assert store.get("b") == 3


def test_memory_bound_evicts_least_recently_used() -> None:
    store = MemoryStorage(max_entries=3)
    for key in ("a", "b", "c"):
        store.set(key, key)
    assert store.get("a") == "a"  # a is now the most recently used
    store.set("d", "d")
    assert store.keys() == ["a", "c", "d"]  # b, the least recently used, went


def test_memory_ten_thousand_abandoned_sessions_stay_within_the_bound() -> None:
    """The measure of issue 12: 10,000 abandoned sessions in memory storage stay within
    the configured bound, and the sessions in use survive."""
    clock = Clock()
    store = MemoryStorage(max_entries=2_000, clock=clock)
    store.set("device:live:kinde_oauth_tokens:c", {"t": 1})
    for i in range(10_000):
        store.set_expiring(f"device:abandoned{i}:kinde_oauth_pending:x", {"i": i}, 600)
        store.set_expiring(f"device:abandoned{i}:kinde_fw_next:x", "/", 600)
        if i % 100 == 0:
            store.get("device:live:kinde_oauth_tokens:c")  # the live session is in use
        assert len(store._data) <= 2_000
    assert len(store) <= 2_000
    assert store.get("device:live:kinde_oauth_tokens:c") == {"t": 1}
    clock.now += 601
    assert len(store) == 1  # every abandoned pending login has expired


def test_memory_options() -> None:
    assert create_storage({"type": "memory", "options": {"max_entries": 5}}).max_entries == 5  # type: ignore[attr-defined]
    assert MemoryStorage().max_entries == 100_000
    assert MemoryStorage(max_entries=None).max_entries is None
    for bad in (0, -1, True, 1.5, "10"):
        with pytest.raises(KindeConfigurationError):
            MemoryStorage(max_entries=bad)  # type: ignore[arg-type]
    for bad_ttl in (0, -1, float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            MemoryStorage().set_expiring("k", 1, bad_ttl)  # type: ignore[arg-type]


def test_file_expired_entries_are_purged(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "s.json"
    store = FileStorage(path, clock=clock)
    other_process = FileStorage(path, clock=clock)
    store.set("keep", 1)
    for i in range(50):
        store.set_expiring(f"pending{i}", {"i": i}, 600)
    assert other_process.get("pending3") == {"i": 3}
    assert len(other_process.keys()) == 51
    clock.now += 300
    store.touch("pending0", 600)
    clock.now += 301
    assert store.keys() == ["keep", "pending0"]  # expired ones are invisible at once
    store.set("x", 2)  # and gone from the file at the next write
    raw = json.loads(path.read_text())
    assert sorted(k for k in raw if k != EXPIRY_KEY) == ["keep", "pending0", "x"]
    clock.now += 601
    assert store.purge_expired() == 1
    raw = json.loads(path.read_text())
    assert sorted(raw) == ["keep", "x"]  # no expiry entry left when nothing expires
    with pytest.raises(ValueError):
        store.set(EXPIRY_KEY, 1)


def test_file_stays_small_under_abandoned_logins(tmp_path: Path) -> None:
    """Issue 14 item 10: 1,500 abandoned pending logins used to stay in the file for good
    (every login rewrote all of them). Expired ones are purged at the next write."""
    clock = Clock()
    store = FileStorage(tmp_path / "s.json", clock=clock)
    for i in range(120):
        store.set_expiring(f"device:s{i}:kinde_oauth_pending:x", {"next": "/" + "x" * 1000}, 600)
        clock.now += 20  # one login every 20 s: at most 30 are alive at a time
    assert len(store.keys()) <= 31
    assert (tmp_path / "s.json").stat().st_size < 31 * 1200
