"""Device namespacing over one backend: the seed's key layout, as an explicit object.

``NamespacedStorage`` is what an OAuth client holds. Two clients built with two
instances never see each other's state, which the process-wide ``StorageManager`` alone
could not offer. The key layout is the seed's:

* ``user:...`` keys belong to the signed-in user: ``user:k`` is stored as
  ``user:<sub>:k``, where ``sub`` is the subject of the session's ID token (the OAuth
  client tells this object how to find it, see ``user_resolver``). So they are shared
  by that user's devices and never read by another user. Without a signed-in user they
  stay with the device (``device:<id>:user:k``): with no user known, sharing them
  would share them with every user of the store. ``NamespacedStorage(..., user_id=)``
  fixes the user for code that knows it without an OAuth session. Every OAuth client
  using a storage (or the process-wide ``StorageManager``) is a *user source* of it,
  each reading its own session: the user is the one its signed-in clients agree on; if
  two clients have different users signed in on the same device, nobody's is assumed
  and the key stays with the device;
* ``global:...`` keys are stored as given, shared by every device and every user on
  the same backend;
* every other key ``k`` is stored as ``device:<device id>:k``, so the same user logged in
  on two devices (two browsers, two CLI installs) never overwrites the other's tokens,
  and ``clear_device_data()`` removes exactly this device's keys.

The device id is random (``secrets``) unless given. Pass a fixed one to find a device's
data again after a restart with a persistent backend (file or redis).
"""

from __future__ import annotations

import secrets
import threading
import weakref
from typing import Any, Callable, Optional
from urllib.parse import quote

from ...errors import KindeConfigurationError
from ._backend import StorageBackend, check_key

__all__ = [
    "DEVICE_PREFIX",
    "GLOBAL_PREFIX",
    "SHARED_PREFIXES",
    "USER_PREFIX",
    "NamespacedStorage",
    "new_device_id",
]

DEVICE_PREFIX = "device:"
USER_PREFIX = "user:"
GLOBAL_PREFIX = "global:"
SHARED_PREFIXES = (USER_PREFIX, GLOBAL_PREFIX)


def new_device_id() -> str:
    """128 random bits, hex: unguessable, and safe in file, redis and session keys."""
    return secrets.token_hex(16)


def _check_device_id(device_id: object) -> str:
    if not isinstance(device_id, str):
        raise KindeConfigurationError(f"device_id must be a str, not {type(device_id).__name__}")
    if not device_id or not device_id.strip():
        raise KindeConfigurationError("device_id must not be empty")
    if ":" in device_id:
        # "a" and "a:b" would otherwise share the prefix "device:a:", and clearing
        # device "a" would delete device "a:b"'s tokens.
        raise KindeConfigurationError("device_id must not contain ':'")
    return device_id


# A user source: given the storage doing a lookup, the sub signed in there (or None).
UserSource = Callable[["NamespacedStorage"], Optional[str]]


class UserSources:
    """The user sources of a storage: the OAuth clients using it, each answering from
    its own session. A client's bound method is held weakly, so a client that is gone
    (a test's, an app's that was replaced) stops answering and is not kept alive.
    Shared by the StorageManager with each storage it creates, so a re-``initialize``
    keeps every client's scoping."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: list[Callable[[], Optional[UserSource]]] = []

    def __len__(self) -> int:
        return len(self._live())

    def add(self, source: UserSource) -> None:
        ref: Callable[[], Optional[UserSource]]
        if hasattr(source, "__self__") and hasattr(source, "__func__"):
            ref = weakref.WeakMethod(source)
        else:
            ref = lambda: source  # noqa: E731 - a plain function is held as given
        with self._lock:
            self._sources = [r for r in self._sources if r() is not None]
            self._sources.append(ref)

    def _live(self) -> list[UserSource]:
        with self._lock:
            refs = list(self._sources)
        return [source for source in (r() for r in refs) if source is not None]

    def resolve(self, store: NamespacedStorage) -> Optional[str]:
        """The sub the signed-in sources agree on; None for none, or for a conflict."""
        subs = {sub for sub in (source(store) for source in self._live()) if sub}
        return subs.pop() if len(subs) == 1 else None


class NamespacedStorage:
    """The seed's storage API (get/set/delete, device id, clear_device_data) over one
    backend, without any process-wide state."""

    def __init__(
        self,
        backend: StorageBackend,
        *,
        device_id: Optional[str] = None,
        user_id: Optional[str] = None,
    ) -> None:
        if not isinstance(backend, StorageBackend):
            raise KindeConfigurationError(
                f"backend must be a StorageBackend, not {type(backend).__name__}"
            )
        self._backend = backend
        self._device_id = new_device_id() if device_id is None else _check_device_id(device_id)
        #: Returns the signed-in user's ``sub`` (or None), before any user source: fixed
        #: by ``user_id=`` for code that knows its user, or set by the OAuth client on a
        #: browser session's storage (which belongs to that client alone).
        self.user_resolver: Optional[Callable[[], Optional[str]]] = None
        self._user_sources = UserSources()
        if user_id is not None:
            if not isinstance(user_id, str) or not user_id:
                raise KindeConfigurationError("user_id must be a non-empty str")
            self.user_resolver = lambda: user_id

    @property
    def backend(self) -> StorageBackend:
        return self._backend

    def __repr__(self) -> str:
        # The device id scopes tokens much like a session id does: not shown.
        return f"NamespacedStorage(backend={self._backend!r})"

    def get_device_id(self) -> str:
        return self._device_id

    def add_user_source(self, source: UserSource) -> None:
        """Let ``source(storage)`` (an OAuth client's session reader) say who is signed
        in; see the module docstring for how several sources agree."""
        self._user_sources.add(source)

    def _user(self) -> Optional[str]:
        if self.user_resolver is not None:
            return self.user_resolver()
        return self._user_sources.resolve(self)

    def _device_prefix(self) -> str:
        return f"{DEVICE_PREFIX}{self._device_id}:"

    def storage_key(self, key: str) -> str:
        """The backend key that ``key`` is stored under."""
        check_key(key)
        if key.startswith(GLOBAL_PREFIX):
            return key
        if key.startswith(USER_PREFIX):
            user = self._user()
            if user:
                # Escaped so that sub "a:b" + key "c" and sub "a" + key "b:c" differ.
                scoped = quote(user, safe="")
                return f"{USER_PREFIX}{scoped}:{key[len(USER_PREFIX) :]}"
        return self._device_prefix() + key

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or ``None``."""
        return self._backend.get(self.storage_key(key))

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable ``value``; anything else raises
        StorageSerializationError and stores nothing."""
        self._backend.set(self.storage_key(key), value)

    def set_expiring(self, key: str, value: Any, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (see :meth:`StorageBackend.set_expiring`)."""
        self._backend.set_expiring(self.storage_key(key), value, ttl)

    def touch(self, key: str, ttl: float) -> None:
        """Give an existing key ``ttl`` more seconds (idle timeouts)."""
        self._backend.touch(self.storage_key(key), ttl)

    def delete(self, key: str) -> None:
        self._backend.delete(self.storage_key(key))

    def device_key(self, key: str) -> str:
        """The backend key of ``key`` in this device's namespace, whatever its prefix."""
        check_key(key)
        return self._device_prefix() + key

    def device_keys(self) -> list[str]:
        """This device's keys, without the device prefix (``user:``/``global:`` keys are
        not the device's)."""
        prefix = self._device_prefix()
        return [k[len(prefix) :] for k in self._backend.keys(prefix)]

    def clear_device_data(self) -> None:
        """Remove every key of this device (logout); ``user:``/``global:`` keys stay."""
        self._backend.delete_prefix(self._device_prefix())
