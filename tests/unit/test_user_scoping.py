"""``user:`` keys belong to the signed-in user (issue 12): scoped to the ``sub`` of the
session's ID token, shared by that user's devices, never read by another user."""

from __future__ import annotations

from typing import Any

from kinde_sdk.auth import OAuth
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage

TOKENS_KEY = "kinde_oauth_tokens:client-1"


def signed_in(sub: str) -> dict[str, Any]:
    return {"access_token": "at", "id_token_claims": {"sub": sub, "email": f"{sub}@x"}}


def test_two_users_never_read_each_others_user_keys() -> None:
    backend = MemoryStorage()
    oauth = OAuth(client_id="client-1", storage=NamespacedStorage(backend))
    ann_laptop = oauth.session_storage("ann-laptop")
    ann_phone = oauth.session_storage("ann-phone")
    bob = oauth.session_storage("bob-browser")
    anonymous = oauth.session_storage("nobody")
    ann_laptop.set(TOKENS_KEY, signed_in("kp_ann"))
    ann_phone.set(TOKENS_KEY, signed_in("kp_ann"))
    bob.set(TOKENS_KEY, signed_in("kp_bob"))

    ann_laptop.set("user:prefs", {"theme": "dark"})
    assert ann_phone.get("user:prefs") == {"theme": "dark"}  # the same user's device
    assert bob.get("user:prefs") is None  # was: bob read ann's key
    assert anonymous.get("user:prefs") is None
    bob.set("user:prefs", {"theme": "light"})
    anonymous.set("user:prefs", {"theme": "blue"})
    assert ann_laptop.get("user:prefs") == {"theme": "dark"}
    assert bob.get("user:prefs") == {"theme": "light"}
    assert anonymous.get("user:prefs") == {"theme": "blue"}  # kept with its device
    assert sorted(k for k in backend.keys("") if "prefs" in k) == [
        "device:nobody:user:prefs",
        "user:kp_ann:prefs",
        "user:kp_bob:prefs",
    ]
    # Logging out of one device keeps the user's data for the others.
    ann_laptop.clear_device_data()
    assert ann_phone.get("user:prefs") == {"theme": "dark"}


def test_subs_cannot_collide_through_the_separator() -> None:
    backend = MemoryStorage()
    oauth = OAuth(client_id="client-1", storage=NamespacedStorage(backend))
    one = oauth.session_storage("s1")
    two = oauth.session_storage("s2")
    one.set(TOKENS_KEY, signed_in("a:b"))
    two.set(TOKENS_KEY, signed_in("a"))
    one.set("user:c", 1)
    assert two.get("user:b:c") is None


def test_the_clients_own_storage_is_scoped_too() -> None:
    storage = NamespacedStorage(MemoryStorage())
    oauth = OAuth(client_id="client-1", storage=storage)
    storage.set("user:k", "before login")  # no user yet: with the device
    storage.set(TOKENS_KEY, signed_in("kp_cli"))
    assert oauth.get_user_info() is not None
    storage.set("user:k", "after login")
    assert storage.backend.get("user:kp_cli:k") == "after login"
    assert storage.get("user:k") == "after login"


def test_an_anonymous_user_key_does_not_become_the_users_at_login() -> None:
    """Login rotates the session id and moves its keys; a ``user:`` key written before
    sign-in stays a key of the (new) session, it does not overwrite the user's own."""
    backend = MemoryStorage()
    oauth = OAuth(client_id="client-1", storage=NamespacedStorage(backend))
    phone = oauth.session_storage("phone")
    phone.set(TOKENS_KEY, signed_in("kp_ann"))
    phone.set("user:prefs", "ann's own")
    browser = oauth.session_storage("before-login")
    browser.set("user:prefs", "anonymous")
    browser.set("kinde_oauth_pending:x", {"state": "s"})
    oauth.move_session("before-login", "after-login")
    after = oauth.session_storage("after-login")
    assert backend.get("device:after-login:user:prefs") == "anonymous"
    assert after.get("kinde_oauth_pending:x") == {"state": "s"}
    assert backend.keys("device:before-login:") == []
    after.set(TOKENS_KEY, signed_in("kp_ann"))
    assert after.get("user:prefs") == "ann's own"
