"""``user:`` keys with two OAuth clients in one process: each client scopes them by its
own session, whichever was created first (the process-wide StorageManager was bound to
the first client's session, so a second client's user was never seen)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage, StorageManager
from tests.unit import test_storage


def signed_in(sub: str) -> dict[str, Any]:
    return {"access_token": "at", "id_token_claims": {"sub": sub, "email": f"{sub}@x"}}


def tokens_key(client_id: str) -> str:
    return f"kinde_oauth_tokens:{client_id}"


# The shared manager, reset before and after each test.
manager = test_storage.manager


def user_keys(backend: Any) -> list[str]:
    return sorted(k for k in backend.keys("") if "prefs" in k)


def test_the_second_client_on_the_process_wide_manager_scopes_by_its_own_session(
    manager: StorageManager,
) -> None:
    first = OAuth(client_id="app-1")  # noqa: F841 - alive, as in an app with two clients
    second = OAuth(client_id="app-2")
    # Bob signs in to the second app; nobody to the first.
    manager.set(tokens_key("app-2"), signed_in("kp_bob"))
    assert second.get_user_info() is not None

    manager.set("user:prefs", {"theme": "dark"})  # the seed README's call, as written
    assert user_keys(manager.storage.backend) == ["user:kp_bob:prefs"]  # was: the device's
    assert manager.get("user:prefs") == {"theme": "dark"}


def test_the_first_client_still_scopes_by_its_session(manager: StorageManager) -> None:
    first = OAuth(client_id="app-1")
    second = OAuth(client_id="app-2")  # noqa: F841 - alive, as in an app with two clients
    manager.set(tokens_key("app-1"), signed_in("kp_ann"))
    assert first.get_user_info() is not None
    manager.set("user:prefs", 1)
    assert user_keys(manager.storage.backend) == ["user:kp_ann:prefs"]


def test_two_different_users_on_one_device_share_nothing(manager: StorageManager) -> None:
    a, b = OAuth(client_id="app-1"), OAuth(client_id="app-2")
    manager.set(tokens_key("app-1"), signed_in("kp_ann"))
    manager.set(tokens_key("app-2"), signed_in("kp_bob"))
    assert a.get_user_info() and b.get_user_info()
    # Whose? Neither is assumed: the key stays with the device, never another user's.
    manager.set("user:prefs", 1)
    device = manager.get_device_id()
    assert user_keys(manager.storage.backend) == [f"device:{device}:user:prefs"]
    # The same user signed in to both apps: theirs.
    manager.set(tokens_key("app-2"), signed_in("kp_ann"))
    manager.set("user:prefs", 2)
    assert manager.storage.backend.get("user:kp_ann:prefs") == 2


def test_an_explicit_storage_shared_by_two_clients(manager: StorageManager) -> None:
    storage = NamespacedStorage(MemoryStorage())
    clients = [OAuth(client_id=f"app-{n}", storage=storage) for n in (1, 2)]
    storage.set(tokens_key("app-2"), signed_in("kp_bob"))
    assert clients[1].get_user_info() is not None
    storage.set("user:prefs", 1)
    assert user_keys(storage.backend) == ["user:kp_bob:prefs"]


def test_a_reinitialized_manager_keeps_every_clients_scoping(manager: StorageManager) -> None:
    first = OAuth(client_id="app-1")  # noqa: F841 - alive, as in an app with two clients
    second = OAuth(client_id="app-2")
    manager.initialize({"type": "memory"})  # the README's manual initialize, later on
    manager.set(tokens_key("app-2"), signed_in("kp_bob"))
    assert second.get_user_info() is not None
    manager.set("user:prefs", 1)
    assert user_keys(manager.storage.backend) == ["user:kp_bob:prefs"]  # was: the device's


def test_each_clients_browser_sessions_are_its_own(manager: StorageManager) -> None:
    backend = MemoryStorage()
    a = OAuth(client_id="app-1", storage=NamespacedStorage(backend))
    b = OAuth(client_id="app-2", storage=NamespacedStorage(backend))
    on_a, on_b = a.session_storage("s-a"), b.session_storage("s-b")
    on_a.set(tokens_key("app-1"), signed_in("kp_ann"))
    on_b.set(tokens_key("app-2"), signed_in("kp_bob"))
    on_a.set("user:prefs", "ann")
    on_b.set("user:prefs", "bob")
    assert user_keys(backend) == ["user:kp_ann:prefs", "user:kp_bob:prefs"]


def test_a_client_that_is_gone_no_longer_answers_nor_stays_alive(
    manager: StorageManager,
) -> None:
    # Clients of other tests in this process may still be registered: count from here.
    gc.collect()
    before = len(manager._user_sources)
    client = OAuth(client_id="app-1")
    gone = weakref.ref(client)
    assert len(manager._user_sources) == before + 1
    manager.set(tokens_key("app-1"), signed_in("kp_ann"))
    del client
    gc.collect()
    assert gone() is None  # held weakly: not kept alive by the manager
    assert len(manager._user_sources) == before
    manager.set("user:prefs", 1)
    device = manager.get_device_id()
    assert user_keys(manager.storage.backend) == [f"device:{device}:user:prefs"]


def test_user_id_still_fixes_the_user(manager: StorageManager) -> None:
    storage = NamespacedStorage(MemoryStorage(), user_id="kp_cli")
    client = OAuth(client_id="app-1", storage=storage)
    storage.set(tokens_key("app-1"), signed_in("kp_other"))
    assert client.get_user_info() is not None
    storage.set("user:prefs", 1)
    assert user_keys(storage.backend) == ["user:kp_cli:prefs"]
