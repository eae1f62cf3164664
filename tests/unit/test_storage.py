"""Storage: memory, file and session backends, NamespacedStorage and StorageManager.

No network. The redis backend against a real server is in
tests/integration/test_storage_redis.py.
"""

from __future__ import annotations

import json
import logging
import math
import os
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from kinde_sdk.core.storage import (
    STORAGE_TYPES,
    FileStorage,
    MemoryStorage,
    NamespacedStorage,
    RedisStorage,
    SessionStorage,
    StorageBackend,
    StorageCorruptedError,
    StorageError,
    StorageManager,
    StorageSerializationError,
    create_storage,
)
from kinde_sdk.errors import KindeConfigurationError, KindeError

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-secret-token-9f8e7d6c"
TOKENS = {"access_token": CANARY, "refresh_token": CANARY + "-r", "expires_at": 1678901234}


@pytest.fixture(params=["memory", "file", "session"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    if request.param == "memory":
        return MemoryStorage()
    if request.param == "file":
        return FileStorage(tmp_path / "storage.json")
    return SessionStorage({"app_key": "app value"})


@pytest.fixture
def manager() -> Iterator[StorageManager]:
    """The shared manager, reset before and after so tests do not leak into each other."""
    sm = StorageManager()
    sm.reset()
    yield sm
    sm.reset()


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- backends: common behaviour -------------------------------------------------------


def test_backend_set_get_delete(backend: StorageBackend) -> None:
    assert backend.get("missing") is None
    backend.set("user_tokens", TOKENS)
    assert backend.get("user_tokens") == TOKENS
    backend.set("user_tokens", {"access_token": "new"})
    assert backend.get("user_tokens") == {"access_token": "new"}
    backend.delete("user_tokens")
    assert backend.get("user_tokens") is None
    backend.delete("user_tokens")  # deleting a missing key is fine


def test_backend_stores_all_json_types(backend: StorageBackend) -> None:
    values: dict[str, Any] = {
        "dict": {"nested": {"list": [1, 2.5, "x", None, True]}},
        "list": [1, 2],
        "str": "text",
        "int": 42,
        "float": 1.5,
        "bool": False,
        "unicode": "héllo ✓",
    }
    for key, value in values.items():
        backend.set(key, value)
    for key, value in values.items():
        assert backend.get(key) == value
    # JSON has no tuples: they come back as lists, the same from every backend.
    backend.set("tuple", (1, 2))
    assert backend.get("tuple") == [1, 2]


def test_backend_get_returns_a_copy(backend: StorageBackend) -> None:
    backend.set("k", {"a": [1]})
    got = backend.get("k")
    got["a"].append(2)
    got["b"] = 1
    assert backend.get("k") == {"a": [1]}


def test_backend_set_stores_a_copy(backend: StorageBackend) -> None:
    value = {"a": [1]}
    backend.set("k", value)
    value["a"].append(2)
    assert backend.get("k") == {"a": [1]}


def test_backend_keys_and_delete_prefix(backend: StorageBackend) -> None:
    for key in ("device:a:x", "device:a:y", "device:ab:x", "user:z", "global:g"):
        backend.set(key, 1)
    assert backend.keys("device:a:") == ["device:a:x", "device:a:y"]
    assert backend.delete_prefix("device:a:") == 2
    assert backend.keys() == ["device:ab:x", "global:g", "user:z"]
    assert backend.delete_prefix("nothing:") == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"token": CANARY, "when": {1, 2}},
        {"token": CANARY, "obj": object()},
        [CANARY, b"bytes"],
        {"token": CANARY, "n": math.nan},
        {"token": CANARY, "n": math.inf},
        {(1, 2): CANARY},
    ],
    ids=["set", "object", "bytes", "nan", "inf", "tuple-key"],
)
def test_backend_rejects_non_json_and_writes_nothing(backend: StorageBackend, bad: Any) -> None:
    backend.set("kept", {"old": 1})
    with pytest.raises(StorageSerializationError) as info:
        backend.set("new", bad)
    with pytest.raises(StorageSerializationError):
        backend.set("kept", bad)
    assert backend.get("new") is None
    assert backend.get("kept") == {"old": 1}
    assert backend.keys() == ["kept"]
    err = info.value
    assert isinstance(err, StorageError) and isinstance(err, KindeError)
    assert isinstance(err, TypeError)
    assert "'new'" in str(err)
    assert CANARY not in str(err) and CANARY not in repr(err)
    assert err.__cause__ is None and err.__context__ is None


def test_backend_rejects_circular_value(backend: StorageBackend) -> None:
    value: dict[str, Any] = {"token": CANARY}
    value["self"] = value
    with pytest.raises(StorageSerializationError, match="circular"):
        backend.set("k", value)
    assert backend.get("k") is None


@pytest.mark.parametrize("key", [None, 1, b"k", ""])
def test_backend_rejects_bad_keys(backend: StorageBackend, key: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        backend.set(key, 1)


def test_memory_thread_safety() -> None:
    storage = MemoryStorage()
    run_threads(lambda t, i: storage.set(f"t{t}:k{i}", {"t": t, "i": i}), threads=16, per=200)
    assert len(storage.keys()) == 16 * 200
    assert storage.get("t7:k199") == {"t": 7, "i": 199}


def run_threads(work: Callable[[int, int], None], *, threads: int, per: int) -> None:
    """Run ``work(thread, i)`` in ``threads`` threads released together; re-raise errors."""
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def body(t: int) -> None:
        try:
            barrier.wait()
            for i in range(per):
                work(t, i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    assert not errors, errors


# -- file storage --------------------------------------------------------------------


def test_file_default_path_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    storage = FileStorage()
    assert storage.path == tmp_path / ".kinde" / "storage.json"
    storage.set("k", 1)
    assert storage.path.exists()
    assert file_mode(storage.path.parent) == 0o700
    assert create_storage({"type": "local_storage"}).get("k") == 1


def test_file_creates_missing_directories(tmp_path: Path) -> None:
    storage = FileStorage(str(tmp_path / "a" / "b" / "storage.json"))
    storage.set("k", 1)
    assert json.loads((tmp_path / "a" / "b" / "storage.json").read_text()) == {"k": 1}


def test_file_mode_is_0600_even_with_open_umask(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    old_umask = os.umask(0)
    try:
        FileStorage(path).set("k", TOKENS)
    finally:
        os.umask(old_umask)
    assert file_mode(path) == 0o600
    assert file_mode(path.with_name("storage.json.lock")) == 0o600


def test_file_mode_is_tightened_on_replace(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    path.write_text("{}")
    path.chmod(0o644)
    FileStorage(path).set("k", 1)
    assert file_mode(path) == 0o600


def test_file_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    first = FileStorage(path)
    first.set("user_tokens", TOKENS)
    first.set("other", [1, 2])
    first.delete("other")
    del first
    second = FileStorage(path)  # a new process would build exactly this
    assert second.get("user_tokens") == TOKENS
    assert second.keys() == ["user_tokens"]


def test_file_instances_see_each_others_writes(tmp_path: Path) -> None:
    a = FileStorage(tmp_path / "s.json")
    b = FileStorage(tmp_path / "s.json")
    a.set("x", 1)
    b.set("y", 2)
    assert a.get("y") == 2 and b.get("x") == 1


def test_file_write_is_atomic_when_replace_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "storage.json"
    storage = FileStorage(path)
    storage.set("k", {"old": True})
    before = path.read_bytes()

    def crash(src: Any, dst: Any) -> None:
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(StorageError, match="could not write storage file"):
        storage.set("k", {"new": CANARY})
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["storage.json", "storage.json.lock"]
    assert storage.get("k") == {"old": True}


def test_file_write_is_atomic_when_fsync_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "storage.json"
    storage = FileStorage(path)
    storage.set("k", 1)
    before = path.read_bytes()

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match="Input/output error"):
        storage.set("k", 2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "content",
    [b'{"k": "v"', b"not json at all", b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00junk", b""],
    ids=["truncated", "garbage", "list", "string", "binary", "empty"],
)
def test_file_corruption_is_detected_and_never_overwritten(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "storage.json"
    path.write_bytes(content)
    storage = FileStorage(path)

    with pytest.raises(StorageCorruptedError) as info:
        storage.get("k")
    assert str(path) in str(info.value)
    assert info.value.location == str(path)
    assert isinstance(info.value, StorageError)

    for action in (
        lambda: storage.set("k", {"token": CANARY}),
        lambda: storage.delete("k"),
        lambda: storage.delete_prefix(""),
        lambda: storage.keys(),
    ):
        with pytest.raises(StorageCorruptedError):
            action()
    assert path.read_bytes() == content
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_file_rejected_value_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    storage = FileStorage(path)
    with pytest.raises(StorageSerializationError):
        storage.set("k", {"when": {1, 2}})
    assert not path.exists()


def test_file_rejected_value_leaves_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    storage = FileStorage(path)
    storage.set("k", 1)
    before = path.read_bytes()
    with pytest.raises(StorageSerializationError):
        storage.set("k", object())
    assert path.read_bytes() == before


def test_file_thread_safety(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "storage.json")
    run_threads(lambda t, i: storage.set(f"t{t}:k{i}", [t, i]), threads=8, per=15)
    assert len(storage.keys()) == 8 * 15
    # Every instance (and thus every process) sees the same complete file.
    assert len(FileStorage(tmp_path / "storage.json").keys()) == 8 * 15


WORKER = textwrap.dedent(
    """
    import sys
    from kinde_sdk.core.storage import FileStorage

    path, worker, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    storage = FileStorage(path)
    for i in range(count):
        storage.set(f"w{worker}:k{i}", {"worker": worker, "i": i})
    """
)


def test_file_concurrent_processes_lose_no_writes(tmp_path: Path) -> None:
    """Several processes doing read-modify-write on one file: the flock serialises them."""
    path = tmp_path / "storage.json"
    workers, count = 4, 20
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(w), str(count)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    storage = FileStorage(path)
    assert len(storage.keys()) == workers * count
    assert storage.get("w3:k19") == {"worker": "3", "i": 19}


# -- session storage ------------------------------------------------------------------


def test_session_storage_uses_prefixed_keys_and_leaves_app_keys_alone() -> None:
    session: dict[str, Any] = {"app_key": "app value", "kinde_like": 1}
    storage = SessionStorage(session)
    storage.set("device:d:tokens", {"a": 1})
    assert session["kinde:device:d:tokens"] == {"a": 1}
    assert storage.keys() == ["device:d:tokens"]
    assert storage.delete_prefix("") == 1
    assert session == {"app_key": "app value", "kinde_like": 1}


def test_session_storage_with_getter_follows_the_current_session() -> None:
    current: dict[str, dict[str, Any]] = {"s": {}}
    storage = SessionStorage(session_getter=lambda: current["s"], prefix="k/")
    storage.set("x", 1)
    assert current["s"] == {"k/x": 1}
    current["s"] = {}
    assert storage.get("x") is None


def test_session_storage_needs_exactly_one_source() -> None:
    with pytest.raises(TypeError):
        SessionStorage()
    with pytest.raises(TypeError):
        SessionStorage({}, session_getter=dict)


def test_namespaced_storage_over_a_framework_session() -> None:
    session: dict[str, Any] = {}
    storage = NamespacedStorage(SessionStorage(session), device_id="browser1", user_id="kp_1")
    storage.set("user_tokens", {"a": 1})
    storage.set("user:prefs", {"theme": "dark"})
    assert set(session) == {"kinde:device:browser1:user_tokens", "kinde:user:kp_1:prefs"}
    storage.clear_device_data()
    assert set(session) == {"kinde:user:kp_1:prefs"}


# -- factory --------------------------------------------------------------------------


def test_create_storage_types(tmp_path: Path) -> None:
    assert isinstance(create_storage(None), MemoryStorage)
    assert isinstance(create_storage({"type": "memory"}), MemoryStorage)
    assert isinstance(create_storage({"type": "memory", "options": {}}), MemoryStorage)
    file_backend = create_storage(
        {"type": "local_storage", "options": {"path": str(tmp_path / "s.json")}}
    )
    assert isinstance(file_backend, FileStorage)
    assert file_backend.path == tmp_path / "s.json"
    ready = MemoryStorage()
    assert create_storage(ready) is ready
    assert STORAGE_TYPES == ("memory", "local_storage", "redis")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "sqlite"}, "allowed types: memory, local_storage, redis"),
        ({"type": None}, "allowed types: memory, local_storage, redis"),
        ({}, "allowed types"),
        ({"type": "memory", "options": {"size": 1}}, "unknown option"),
        ({"type": "local_storage", "options": {"file": "x"}}, "allowed: path"),
        ({"type": "local_storage", "options": {"path": 3}}, "path"),
        ({"type": "memory", "options": "x"}, "options must be a dict"),
        ({"type": "memory", "extra": 1}, "unknown storage config key"),
        ("memory", "must be a dict"),
        ({"type": "redis", "options": {"hots": "x"}}, "unknown option"),
        ({"type": "redis", "options": {"prefix": ""}}, "prefix"),
        ({"type": "redis", "options": {"ttl": 0}}, "ttl"),
        ({"type": "redis", "options": {"port": "6379"}}, "port"),
        ({"type": "redis", "options": {"url": "redis://x", "host": "y"}}, "either url"),
        ({"type": "redis", "options": {"url": "http://x"}}, "invalid redis storage url"),
    ],
)
def test_create_storage_rejects_bad_config(config: Any, message: str) -> None:
    with pytest.raises(KindeConfigurationError, match=message):
        create_storage(config)


def test_redis_url_password_never_in_errors_or_repr() -> None:
    with pytest.raises(KindeConfigurationError) as info:
        RedisStorage(url=f"http://user:{CANARY}@example.com:6379/0")
    assert CANARY not in str(info.value)
    storage = RedisStorage(url=f"redis://user:{CANARY}@127.0.0.1:1/0")
    assert CANARY not in repr(storage)
    storage.close()


def test_redis_extra_missing_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # makes `import redis` fail
    with pytest.raises(KindeConfigurationError, match=r"kinde-sdk\[redis\]"):
        create_storage({"type": "redis"})


def test_storage_package_imports_without_redis() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import kinde_sdk.core.storage as s\n"
        "s.StorageManager().set('k', 1); assert s.StorageManager().get('k') == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# -- NamespacedStorage ------------------------------------------------------------------


def test_device_namespacing_layout() -> None:
    backend = MemoryStorage()
    storage = NamespacedStorage(backend, device_id="dev1", user_id="kp_ann")
    storage.set("user_tokens", TOKENS)
    storage.set("user:shared_preferences", {"theme": "dark"})
    storage.set("global:app_settings", {"version": "1.0.0"})
    assert backend.keys() == [
        "device:dev1:user_tokens",
        "global:app_settings",
        "user:kp_ann:shared_preferences",
    ]
    assert storage.get("user_tokens") == TOKENS


def test_shared_prefixes_are_seen_by_every_device() -> None:
    backend = MemoryStorage()
    laptop = NamespacedStorage(backend, device_id="laptop", user_id="kp_ann")
    phone = NamespacedStorage(backend, device_id="phone", user_id="kp_ann")
    laptop.set("user_tokens", {"who": "laptop"})
    phone.set("user_tokens", {"who": "phone"})
    laptop.set("user:shared_preferences", {"theme": "dark"})
    phone.set("global:app_settings", {"version": "1.0.0"})

    assert laptop.get("user_tokens") == {"who": "laptop"}
    assert phone.get("user_tokens") == {"who": "phone"}
    assert phone.get("user:shared_preferences") == {"theme": "dark"}
    assert laptop.get("global:app_settings") == {"version": "1.0.0"}


def test_clear_device_data_clears_only_this_device() -> None:
    backend = MemoryStorage()
    a = NamespacedStorage(backend, device_id="a", user_id="kp_a")
    ab = NamespacedStorage(backend, device_id="ab")  # "a" is a prefix of "ab"
    for s in (a, ab):
        s.set("user_tokens", TOKENS)
        s.set("oauth_state", "xyz")
    a.set("user:prefs", 1)
    a.set("global:settings", 2)

    a.clear_device_data()

    assert a.get("user_tokens") is None and a.get("oauth_state") is None
    assert ab.get("user_tokens") == TOKENS and ab.get("oauth_state") == "xyz"
    assert a.get("user:prefs") == 1 and ab.get("global:settings") == 2


def test_device_ids_are_random_and_distinct() -> None:
    ids = {NamespacedStorage(MemoryStorage()).get_device_id() for _ in range(50)}
    assert len(ids) == 50
    for device_id in ids:
        assert len(device_id) == 32 and int(device_id, 16) >= 0


@pytest.mark.parametrize("device_id", ["", "  ", "a:b", 5])
def test_bad_device_ids_are_rejected(device_id: Any) -> None:
    with pytest.raises(KindeConfigurationError, match="device_id"):
        NamespacedStorage(MemoryStorage(), device_id=device_id)


def test_two_clients_have_isolated_storage() -> None:
    """What two OAuth instances in one process get: no shared state at all."""
    one = NamespacedStorage(MemoryStorage(), device_id="same")
    two = NamespacedStorage(MemoryStorage(), device_id="same")
    one.set("user_tokens", {"client": 1})
    one.set("global:x", 1)
    assert two.get("user_tokens") is None and two.get("global:x") is None


def test_namespaced_storage_needs_a_backend() -> None:
    with pytest.raises(KindeConfigurationError):
        NamespacedStorage({})  # type: ignore[arg-type]


# -- StorageManager (the seed API) ----------------------------------------------------


def test_manager_is_one_shared_instance(manager: StorageManager) -> None:
    assert StorageManager() is manager is StorageManager()
    manager.initialize({"type": "memory"}, device_id="shared")
    assert StorageManager().get_device_id() == "shared"


def test_manager_seed_basic_usage(manager: StorageManager) -> None:
    manager.initialize({"type": "memory"})
    storage_manager = StorageManager()
    storage_manager.set("user_tokens", TOKENS)
    tokens = storage_manager.get("user_tokens")
    assert tokens and tokens.get("access_token") == CANARY
    storage_manager.delete("user_tokens")
    assert storage_manager.get("user_tokens") is None


def test_manager_safe_access_pattern(manager: StorageManager) -> None:
    storage_manager = StorageManager()
    assert storage_manager._initialized is False
    if not storage_manager._initialized:
        storage_manager.initialize()
    assert storage_manager._initialized is True
    assert storage_manager.get("some_key") is None
    assert isinstance(storage_manager.storage.backend, MemoryStorage)


def test_manager_used_before_initialize_uses_memory(manager: StorageManager) -> None:
    assert manager._initialized is False
    manager.set("k", 1)
    assert manager._initialized is True
    assert isinstance(manager.storage.backend, MemoryStorage)
    assert manager.get("k") == 1


def test_manager_explicit_device_id_and_prefixes(manager: StorageManager) -> None:
    backend = MemoryStorage()
    manager.initialize(config=backend, device_id="custom-device-identifier")
    assert manager.get_device_id() == "custom-device-identifier"
    manager.set("some_key", {"some": "value"})
    manager.set("user:shared_preferences", {"theme": "dark"})
    manager.set("global:app_settings", {"version": "1.0.0"})
    # No user is signed in: a user: key stays with the device (issue 12: never shared
    # with every user of the store).
    assert backend.keys() == [
        "device:custom-device-identifier:some_key",
        "device:custom-device-identifier:user:shared_preferences",
        "global:app_settings",
    ]
    assert manager.get("user:shared_preferences") == {"theme": "dark"}
    manager.clear_device_data()
    assert backend.keys() == ["global:app_settings"]


def test_manager_clear_device_data_keeps_other_devices(manager: StorageManager) -> None:
    backend = MemoryStorage()
    other = NamespacedStorage(backend, device_id="other")
    other.set("user_tokens", {"other": True})
    manager.initialize(backend)
    manager.set("user_tokens", {"mine": True})
    manager.clear_device_data()
    assert manager.get("user_tokens") is None
    assert other.get("user_tokens") == {"other": True}


def test_manager_random_device_id_kept_on_reinitialize(manager: StorageManager) -> None:
    manager.initialize()
    first = manager.get_device_id()
    assert len(first) == 32
    manager.initialize({"type": "memory"})
    assert manager.get_device_id() == first
    manager.initialize({"type": "memory"}, device_id="explicit")
    assert manager.get_device_id() == "explicit"
    manager.reset()
    manager.initialize()
    assert manager.get_device_id() not in (first, "explicit")


def test_manager_bad_config_leaves_state_unchanged(manager: StorageManager) -> None:
    manager.initialize({"type": "memory"}, device_id="d")
    manager.set("k", 1)
    with pytest.raises(KindeConfigurationError, match="allowed types"):
        manager.initialize({"type": "nope"})
    assert manager.get("k") == 1 and manager.get_device_id() == "d"


def test_manager_local_storage_restart(manager: StorageManager, tmp_path: Path) -> None:
    config = {"type": "local_storage", "options": {"path": str(tmp_path / "s.json")}}
    manager.initialize(config, device_id="cli")
    manager.set("user_tokens", TOKENS)
    manager.reset()  # a restarted process
    manager.initialize(config, device_id="cli")
    assert manager.get("user_tokens") == TOKENS
    stored = json.loads((tmp_path / "s.json").read_text())
    assert stored == {"device:cli:user_tokens": TOKENS}


def test_manager_thread_safety(manager: StorageManager) -> None:
    manager.initialize(device_id="threads")
    run_threads(lambda t, i: StorageManager().set(f"t{t}:{i}", i), threads=16, per=100)
    assert len(manager.storage.backend.keys("device:threads:")) == 16 * 100
    assert StorageManager().get("t15:99") == 99


def test_manager_lazy_initialization_is_thread_safe(manager: StorageManager) -> None:
    seen: list[str] = []
    run_threads(lambda t, i: seen.append(StorageManager().get_device_id()), threads=16, per=1)
    assert len(set(seen)) == 1


# -- secrets stay out of logs and reprs -------------------------------------------------


def test_no_values_in_logs_or_reprs(
    tmp_path: Path, manager: StorageManager, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    backends: list[StorageBackend] = [
        MemoryStorage(),
        FileStorage(tmp_path / "s.json"),
        SessionStorage({}),
    ]
    manager.initialize(backends[1], device_id="d")
    manager.set("user_tokens", TOKENS)
    manager.get("user_tokens")
    texts = [repr(manager), repr(manager.storage)]
    for b in backends:
        storage = NamespacedStorage(b)
        storage.set("user_tokens", TOKENS)
        storage.get("user_tokens")
        with pytest.raises(StorageSerializationError) as info:
            storage.set("user_tokens", {"token": CANARY, "bad": {1}})
        texts += [repr(b), repr(storage), str(info.value), repr(info.value)]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert CANARY not in text


# -- SessionStorage never keeps tokens in a cookie session (issue 14, "also decide") ----


def test_session_storage_refuses_tokens_in_flasks_cookie_session() -> None:
    from flask import Flask
    from flask.sessions import SecureCookieSession

    from kinde_sdk.errors import StorageError

    cookie_session = SecureCookieSession()
    storage = NamespacedStorage(SessionStorage(cookie_session), device_id="b1")
    refresh = "rt-" + "x" * 40
    with pytest.raises(StorageError, match="client-side") as caught:
        storage.set("kinde_oauth_tokens:client", {"access_token": "at", "refresh_token": refresh})
    assert refresh not in str(caught.value)
    with pytest.raises(StorageError):
        storage.set("anything", {"refresh_token": refresh})
    assert dict(cookie_session) == {}  # nothing half-written
    storage.set("kinde_oauth_pending:x", {"state": "s"})  # not a token: stored
    storage.set("prefs", {"access_token": None})
    assert storage.get("kinde_oauth_pending:x") == {"state": "s"}

    # Through a real Flask request: the signed cookie never carries a token.
    app = Flask(__name__)
    app.secret_key = "k" * 32

    @app.route("/store")
    def store() -> str:
        from flask import session

        backend = SessionStorage(session_getter=lambda: session)
        try:
            backend.set("kinde_oauth_tokens:c", {"refresh_token": refresh})
        except StorageError:
            return "refused"
        return "stored"

    with app.test_client() as client:
        assert client.get("/store").text == "refused"

    # A server-side session (the caller says so) or a plain dict: stored.
    server_side = SessionStorage(cookie_session, client_side=False)
    server_side.set("kinde_oauth_tokens:c", {"refresh_token": refresh})
    plain = SessionStorage({})
    plain.set("kinde_oauth_tokens:c", {"refresh_token": refresh})
    with pytest.raises(StorageError):
        SessionStorage({}, client_side=True).set("t", {"id_token": "x.y.z"})


def test_session_storage_recognises_djangos_signed_cookie_sessions() -> None:
    from kinde_sdk.core.storage.session import is_client_side

    pytest.importorskip("django")
    from tests.integration._frameworks import configure_django

    configure_django()
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    assert is_client_side(SessionStore())
    assert not is_client_side({})
