"""Token stores: where client-credentials tokens are kept, and who may share them.

- :class:`MemoryTokenStore` (the default): tokens live in the process; every process
  fetches its own.
- :class:`RedisTokenStore`: processes on any number of hosts share one token per set of
  credentials; a Redis lock (``SET NX PX``, released only by its owner, expiring on its
  own when the owner dies) lets one of them fetch it while the others wait, bounded.
- :class:`FileTokenStore`: processes of one host share tokens through a directory; a
  lock file with the same TTL and owner rules as Redis's, which also frees at once when
  its owner's process dies (an ``flock`` the kernel releases).

**Keys.** A stored token is found under a name derived from the credentials, never from
the secret alone and never containing it: ``HMAC(k, "name")`` where ``k`` is
PBKDF2-HMAC-SHA256 of the client secret, salted with the token URL, client id and
audience. Every process holding the same credentials computes the same name with no
extra configuration, a rotated secret gets a new name (and so its own token), and
someone who can read the store cannot learn the secret from it nor cheaply test guesses
of it. With ``secret_key=`` (a random value the fleet shares, e.g. from its secret
manager) ``k`` is an HMAC under that key instead, so even a weak client secret cannot be
guessed from the store.

**At rest.** Records are encrypted with AES-256-GCM under ``HMAC(k, "encrypt")`` by
default (``encrypt=False`` stores them as JSON), bound to their name: whoever reads the
store without the credentials sees neither the token nor the secret. Entries expire
with the token (Redis key TTL; expired files are removed when read).

**Faults.** A store call that fails or times out makes the process fetch its own token
and log a warning; the store is then skipped for ``retry_interval`` seconds. A store
never makes a token request fail.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Optional, Union

from ._config import check_seconds
from ._token_core import Shared
from .errors import KindeConfigurationError, TokenError

__all__ = ["FileTokenStore", "MemoryTokenStore", "RedisTokenStore", "TokenStore"]

logger = logging.getLogger("kinde_sdk")

PBKDF2_ITERATIONS = 100_000
DEFAULT_LOCK_TTL = 15.0  # longest a token request may hold the fleet's lock
DEFAULT_LOCK_WAIT = 20.0  # longest a process waits for another's token before fetching
DEFAULT_RETRY_INTERVAL = 10.0  # a failed store is skipped this long
DEFAULT_REDIS_TIMEOUT = 1.0
DEFAULT_REDIS_PREFIX = "kinde:m2m:"
_STALE_TMP_AGE = 60.0  # seconds: no write of a few hundred bytes takes this long

_ENCRYPTED = b"k1"
_PLAIN = b"p1"


class TokenStore:
    """Base of the token stores. A store is shared by every client given it.

    ``shared`` is False for :class:`MemoryTokenStore` (nothing leaves the process).
    Shared stores implement ``get``, ``get_many``, ``set`` (with a TTL in seconds),
    ``acquire``/``release`` (the lock) and ``delete_if`` (compare-and-delete) on bytes.
    """

    shared = True

    def __init__(
        self,
        *,
        secret_key: Union[str, bytes, None] = None,
        encrypt: bool = True,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        for name, value in (
            ("lock_ttl", lock_ttl),
            ("lock_wait", lock_wait),
            ("retry_interval", retry_interval),
        ):
            check_seconds(value, f"token store {name}")
        if secret_key is not None and not isinstance(secret_key, (str, bytes)):
            raise KindeConfigurationError("token store secret_key must be str or bytes")
        if isinstance(secret_key, str):
            secret_key = secret_key.encode()
        if secret_key is not None and len(secret_key) < 16:
            raise KindeConfigurationError("token store secret_key must be at least 16 bytes")
        self._secret_key = secret_key
        self.encrypt = bool(encrypt)
        self.lock_ttl = float(lock_ttl)
        self.lock_wait = float(lock_wait)
        self.retry_interval = float(retry_interval)
        self._down_until = 0.0
        self._down_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(encrypt={self.encrypt!r})"

    # -- the circuit: a failed store is skipped for a while ---------------------------

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def mark_down(self, reason: str) -> None:
        now = time.monotonic()
        with self._down_lock:
            first = now >= self._down_until
            self._down_until = now + self.retry_interval
        if first:
            logger.warning(
                "token store %r failed (%s); fetching tokens per process for %.0fs",
                self,
                reason,
                self.retry_interval,
            )

    # -- the operations (bytes in, bytes out) ------------------------------------------

    def get(self, name: str) -> Optional[bytes]:
        raise NotImplementedError

    def get_many(self, *names: str) -> list[Optional[bytes]]:
        return [self.get(name) for name in names]

    def set(self, name: str, value: bytes, ttl: float) -> None:
        raise NotImplementedError

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        """Take the lock ``name`` for ``owner``; False when someone holds it (the same
        owner included). A lock is free again ``ttl`` seconds after it was taken,
        whatever its owner is doing (hung, cancelled, gone): a later acquire takes it
        over. Redis: ``SET name owner NX PX ttl``."""
        raise NotImplementedError

    def release(self, name: str, owner: str) -> None:
        """Free the lock ``name`` if ``owner`` still holds it; a lock taken over by
        another owner after its TTL is left alone (compare-and-delete)."""
        raise NotImplementedError

    def delete_if(self, name: str, expected: bytes) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections or file handles the store holds."""


class MemoryTokenStore(TokenStore):
    """Tokens stay in the process (the default): nothing is shared between processes."""

    shared = False

    def __init__(self) -> None:
        super().__init__()

    def __repr__(self) -> str:
        return "MemoryTokenStore()"


# -- names and records ---------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _derive(
    secret_key: Optional[bytes], token_url: str, client_id: str, audience: str, client_secret: str
) -> tuple[str, bytes]:
    """(store name, encryption key) of one set of credentials; cached because PBKDF2 is
    deliberately slow."""
    ident = "\x00".join(("kinde-sdk token store v1", token_url, client_id, audience)).encode()
    if secret_key is not None:
        base = hmac.new(secret_key, ident + b"\x00" + client_secret.encode(), "sha256").digest()
    else:
        base = hashlib.pbkdf2_hmac("sha256", client_secret.encode(), ident, PBKDF2_ITERATIONS)
    name = hmac.new(base, b"name", "sha256").hexdigest()[:40]
    return name, hmac.new(base, b"encrypt", "sha256").digest()


class RecordCodec:
    """Token and failure records of one name: JSON, AES-GCM encrypted unless disabled."""

    def __init__(self, name: str, key: bytes, encrypt: bool) -> None:
        self._aad = name.encode()
        self._encrypt = encrypt
        self._aead: Any = None
        if encrypt:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return f"RecordCodec(encrypt={self._encrypt!r})"

    def _seal(self, record: dict[str, Any]) -> bytes:
        data = json.dumps(record, separators=(",", ":")).encode()
        if self._aead is None:
            return _PLAIN + data
        nonce = secrets.token_bytes(12)
        sealed: bytes = self._aead.encrypt(nonce, data, self._aad)
        return _ENCRYPTED + nonce + sealed

    def _open(self, raw: bytes) -> Optional[dict[str, Any]]:
        try:
            if raw.startswith(_ENCRYPTED) and self._aead is not None:
                data = self._aead.decrypt(raw[2:14], raw[14:], self._aad)
            elif raw.startswith(_PLAIN) and self._aead is None:
                data = raw[2:]
            else:
                return None  # written with the other encryption setting: not ours to read
            record = json.loads(data)
        except Exception:
            logger.debug("ignored an unreadable token store record")
            return None
        return record if isinstance(record, dict) else None

    def encode_token(self, token: str, expires_at: float, lifetime: float) -> bytes:
        return self._seal({"t": token, "e": expires_at, "l": lifetime})

    def decode_token(self, raw: bytes) -> Optional[tuple[str, float, float]]:
        record = self._open(raw)
        if record is None:
            return None
        token, expires_at, lifetime = record.get("t"), record.get("e"), record.get("l")
        if (
            not isinstance(token, str)
            or not isinstance(expires_at, (int, float))
            or not isinstance(lifetime, (int, float))
            or lifetime <= 0
        ):
            return None
        return token, float(expires_at), float(lifetime)

    def encode_error(self, error: TokenError) -> bytes:
        return self._seal(
            {
                "m": error.args[0] if error.args else "token request failed",
                "err": error.error,
                "desc": error.error_description,
                "s": error.status,
            }
        )

    def decode_error(self, raw: bytes) -> Optional[TokenError]:
        record = self._open(raw)
        if record is None:
            return None

        def text(value: Any) -> Optional[str]:
            return value if isinstance(value, str) else None

        status = record.get("s")
        return TokenError(
            f"{text(record.get('m')) or 'token request failed'} (in another process)",
            error=text(record.get("err")),
            error_description=text(record.get("desc")),
            status=status if isinstance(status, int) else None,
        )


def check_token_store(store: Any) -> Optional[TokenStore]:
    """``store`` if it is a token store (or None); else a clear configuration error (a
    Redis URL or a redis client passed as is would otherwise fail later, untyped)."""
    if store is not None and not isinstance(store, TokenStore):
        raise KindeConfigurationError(
            "token_store must be a kinde_sdk.auth token store (MemoryTokenStore, "
            "RedisTokenStore, FileTokenStore)"
        )
    return store


def shared_for(
    store: Optional[TokenStore],
    token_url: str,
    client_id: str,
    audience: Optional[str],
    client_secret: str,
) -> Optional[Shared]:
    """The flow's view of ``store`` for one set of credentials (None: in-process only)."""
    store = check_token_store(store)
    if store is None or not store.shared:
        return None
    name, key = _derive(store._secret_key, token_url, client_id, audience or "", client_secret)
    return Shared(
        store=store,
        token_name=f"{name}:token",
        lock_name=f"{name}:lock",
        error_name=f"{name}:error",
        codec=RecordCodec(name, key, store.encrypt),
        lock_ttl=store.lock_ttl,
        lock_wait=store.lock_wait,
        owner_tag=secrets.token_hex(8),
    )


# -- Redis ----------------------------------------------------------------------------------

# Delete the key only if it still holds the expected value: releases a lock only for its
# owner, and evicts a rejected token only if nobody has replaced it yet.
_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenStore(TokenStore):
    """Tokens shared through Redis (``pip install "kinde-sdk[redis]"``).

    Connect with ``url`` (``redis://``, ``rediss://``, ``unix://``) or hand over a
    redis-py ``client``. Every call is bounded by ``socket_timeout`` seconds (connect
    and read) and never retried by redis-py: a failed call is one warning and a token
    fetched by this process, not a longer wait.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        *,
        client: Any = None,
        prefix: str = DEFAULT_REDIS_PREFIX,
        socket_timeout: float = DEFAULT_REDIS_TIMEOUT,
        secret_key: Union[str, bytes, None] = None,
        encrypt: bool = True,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        super().__init__(
            secret_key=secret_key,
            encrypt=encrypt,
            lock_ttl=lock_ttl,
            lock_wait=lock_wait,
            retry_interval=retry_interval,
        )
        if not isinstance(prefix, str) or not prefix:
            raise KindeConfigurationError("redis token store prefix must be a non-empty string")
        if (url is None) == (client is None):
            raise KindeConfigurationError("RedisTokenStore takes either url or client")
        check_seconds(socket_timeout, "token store socket_timeout")
        self._prefix = prefix
        self._owns_client = client is None
        if client is None:
            try:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry
            except ImportError:
                raise KindeConfigurationError(
                    "RedisTokenStore needs the 'redis' package: pip install 'kinde-sdk[redis]'"
                ) from None
            assert url is not None
            try:
                client = redis.Redis.from_url(
                    url,
                    socket_timeout=float(socket_timeout),
                    socket_connect_timeout=float(socket_timeout),
                    # Explicit: no retries inside redis-py, so one call costs at most
                    # one socket_timeout; this store's fallback is the retry.
                    retry=Retry(NoBackoff(), 0),
                    retry_on_timeout=False,
                )
            except ValueError:
                # Not redis-py's text: a URL can hold a password.
                raise KindeConfigurationError("invalid redis token store url") from None
        else:
            kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
            if isinstance(kwargs, dict) and kwargs.get("decode_responses"):
                # Records are bytes (sealed); a decoding client would fail on every read.
                raise KindeConfigurationError(
                    "RedisTokenStore needs a redis client without decode_responses=True"
                )
        self._client = client
        self._compare_and_delete = client.register_script(_COMPARE_AND_DELETE)

    def __repr__(self) -> str:
        # No URL: it can carry a password.
        return f"RedisTokenStore(prefix={self._prefix!r}, encrypt={self.encrypt!r})"

    @property
    def client(self) -> Any:
        return self._client

    def get(self, name: str) -> Optional[bytes]:
        value = self._client.get(self._prefix + name)
        return None if value is None else bytes(value)

    def get_many(self, *names: str) -> list[Optional[bytes]]:
        values = self._client.mget([self._prefix + name for name in names])
        return [None if v is None else bytes(v) for v in values]

    def set(self, name: str, value: bytes, ttl: float) -> None:
        self._client.set(self._prefix + name, value, px=max(1, int(ttl * 1000)))

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        return bool(
            self._client.set(self._prefix + name, owner, nx=True, px=max(1, int(ttl * 1000)))
        )

    def release(self, name: str, owner: str) -> None:
        self._compare_and_delete(keys=[self._prefix + name], args=[owner])

    def delete_if(self, name: str, expected: bytes) -> bool:
        return bool(self._compare_and_delete(keys=[self._prefix + name], args=[expected]))

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


# -- a directory on one host -----------------------------------------------------------------


class FileTokenStore(TokenStore):
    """Tokens shared by the processes of one host through ``directory`` (POSIX).

    Files are written atomically (temporary file, then rename) with mode 0600 in a
    directory created with mode 0700.

    The lock keeps the contract of :meth:`TokenStore.acquire`, as Redis's ``SET NX PX``
    does: a record (``<name>.owner``: owner and expiry) written under a short directory
    mutex, released only by its owner, and free again once ``ttl`` has passed, whoever
    still holds it (a hung request, an acquire that finished in a worker thread after its
    caller gave up). On top of that an owner that dies frees it at once: while it holds
    the lock, the owner keeps an ``flock`` on a file of its own (``<name>.<owner
    tag>.alive``), which the kernel releases when the process exits, however it exits; a
    lock whose owner's flock is free is taken over before its TTL.
    """

    def __init__(
        self,
        directory: Union[str, os.PathLike[str]],
        *,
        secret_key: Union[str, bytes, None] = None,
        encrypt: bool = True,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        lock_wait: float = DEFAULT_LOCK_WAIT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        super().__init__(
            secret_key=secret_key,
            encrypt=encrypt,
            lock_ttl=lock_ttl,
            lock_wait=lock_wait,
            retry_interval=retry_interval,
        )
        try:
            import fcntl  # noqa: F401
        except ImportError:
            raise KindeConfigurationError("FileTokenStore needs a POSIX system (fcntl)") from None
        self._dir = Path(directory)
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Expiry times of records and locks: the host's wall clock, which every process
        # of the host shares (an attribute so that tests can move it).
        self._wall_clock = time.time
        self._remove_stale_temporary_files()
        # The liveness flocks this store's owners hold: (lock name, owner) -> fd.
        self._held: dict[tuple[str, str], int] = {}
        self._held_lock = threading.Lock()
        _file_stores.add(self)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self._dir)!r}, encrypt={self.encrypt!r})"

    def _remove_stale_temporary_files(self) -> None:
        """A process killed mid-write leaves its temporary file: removed here once it is
        old enough not to be another process's write in progress. So is the liveness
        file of a lock owner that died and whose lock nobody took over since."""
        cutoff = time.time() - _STALE_TMP_AGE
        for tmp in self._dir.glob("*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
        alive = list(self._dir.glob("*.alive"))
        if not alive:
            return
        with self._mutex():  # no owner takes a liveness flock meanwhile
            for path in alive:
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime < cutoff and not self._held_by_someone(path):
                        path.unlink()

    def _path(self, name: str, suffix: str) -> Path:
        return self._dir / f"{name}{suffix}"

    def _mutex(self) -> Any:
        """A short exclusive lock for read-compare-write sequences on the directory."""
        import fcntl

        @contextlib.contextmanager
        def held() -> Any:
            fd = os.open(self._dir / ".mutex", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

        return held()

    def _write(self, path: Path, data: str) -> None:
        """Write ``path`` atomically (a temporary file renamed over it), mode 0600. Call
        with the directory mutex held."""
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(data)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _read(self, name: str, *, purge: bool = True) -> Optional[bytes]:
        path = self._path(name, ".json")
        try:
            record = json.loads(path.read_bytes())
            expires_at = float(record["x"])
            value = base64.b64decode(record["v"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            return None
        if self._wall_clock() >= expires_at:
            if not purge:
                return None
            # Expired: purged, so a token never outlives its lifetime on disk.
            with self._mutex():
                try:
                    if float(json.loads(path.read_bytes())["x"]) <= self._wall_clock():
                        path.unlink()
                except (OSError, ValueError, KeyError, TypeError):
                    pass
            return None
        return value

    def get(self, name: str) -> Optional[bytes]:
        return self._read(name)

    def set(self, name: str, value: bytes, ttl: float) -> None:
        data = json.dumps({"x": self._wall_clock() + ttl, "v": base64.b64encode(value).decode()})
        with self._mutex():
            self._write(self._path(name, ".json"), data)

    # -- the lock ------------------------------------------------------------------------

    def _alive_path(self, name: str, owner: str) -> Path:
        # A digest: an owner is any string, a file name is not.
        tag = hashlib.sha256(owner.encode()).hexdigest()[:32]
        return self._path(name, f".{tag}.alive")

    def _holder(self, name: str) -> Optional[tuple[str, float]]:
        """(owner, expiry) of the lock ``name``, or None when nobody holds it. Written
        atomically, so a record that cannot be read is not a lock."""
        try:
            record = json.loads(self._path(name, ".owner").read_bytes())
            return str(record["o"]), float(record["x"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _owner_alive(self, name: str, owner: str) -> bool:
        """Whether ``owner`` still holds its liveness flock (its process is alive and it
        has not released)."""
        return self._held_by_someone(self._alive_path(name, owner))

    @staticmethod
    def _held_by_someone(path: Path) -> bool:
        """Whether an ``flock`` is held on ``path``. Unsure (an I/O error) counts as
        held: for a lock, its TTL still ends it."""
        import fcntl

        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # BlockingIOError: held
        finally:
            os.close(fd)  # also releases the flock just taken, if it was
        return False

    def _hold(self, name: str, owner: str) -> None:
        """Take ``owner``'s liveness flock (kept until release, close or exit)."""
        import fcntl

        with self._held_lock:
            if (name, owner) in self._held:
                return
            fd = os.open(self._alive_path(name, owner), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BaseException:
                os.close(fd)
                raise
            self._held[(name, owner)] = fd

    def _drop(self, name: str, owner: str) -> None:
        with self._held_lock:
            fd = self._held.pop((name, owner), None)
        if fd is not None:
            try:
                with contextlib.suppress(FileNotFoundError):
                    self._alive_path(name, owner).unlink()
            finally:
                os.close(fd)  # closing releases the flock

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        with self._mutex():
            holder = self._holder(name)
            if holder is not None:
                held_by, expires_at = holder
                if self._wall_clock() < expires_at and self._owner_alive(name, held_by):
                    return False
            self._hold(name, owner)
            try:
                record = {"o": owner, "x": self._wall_clock() + ttl}
                self._write(self._path(name, ".owner"), json.dumps(record))
            except BaseException:
                self._drop(name, owner)
                raise
            if holder is not None and holder[0] != owner:
                # Taken over: a dead owner's liveness file goes (a live one, past its
                # TTL, removes its own when it releases).
                with contextlib.suppress(OSError):
                    if not self._owner_alive(name, holder[0]):
                        self._alive_path(name, holder[0]).unlink()
        return True

    def release(self, name: str, owner: str) -> None:
        # The flock goes under the mutex too: the same owner may acquire again in
        # another thread (its next leader) meanwhile, and must not find its record gone
        # but its old flock still held, nor write a new record the old flock's drop
        # then leaves without one.
        # Dropped whatever fails: a release that raises must not keep the flock (and its
        # descriptor) open; the record, if left, expires, and its owner is not alive.
        try:
            with self._mutex():
                try:
                    holder = self._holder(name)
                    if holder is not None and holder[0] == owner:
                        with contextlib.suppress(FileNotFoundError):
                            self._path(name, ".owner").unlink()
                finally:
                    self._drop(name, owner)
        finally:
            self._drop(name, owner)  # the mutex itself failed (a no-op otherwise)

    def delete_if(self, name: str, expected: bytes) -> bool:
        with self._mutex():
            if self._read(name, purge=False) != expected:
                return False
            try:
                self._path(name, ".json").unlink()
            except FileNotFoundError:
                return False
            return True

    def close(self) -> None:
        """Drop this store's liveness flocks: its locks are free for others at once."""
        with self._held_lock:
            held = list(self._held)
        for name, owner in held:
            self._drop(name, owner)

    def _forget_inherited_flocks(self) -> None:
        """In a forked child: the liveness descriptors it inherited are its parent's
        owners' (the child's owners have another pid). Closed without a word, so the
        child neither keeps the parent's flock alive nor, on close, removes the
        parent's liveness file (which would free the parent's live lock)."""
        inherited, self._held = list(self._held.values()), {}
        self._held_lock = threading.Lock()
        for fd in inherited:
            with contextlib.suppress(OSError):
                os.close(fd)  # the parent's descriptor still holds the flock


_file_stores: weakref.WeakSet[FileTokenStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_file_stores):
        store._forget_inherited_flocks()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
