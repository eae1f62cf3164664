"""File storage: one JSON object in a file, for ``{"type": "local_storage"}``.

The file holds tokens, so every choice here is about not losing or leaking them:

* **Atomic writes.** Each change writes the whole object to a temporary file in the same
  directory, fsyncs it and ``os.replace``-s it over the old one (then fsyncs the
  directory). A crash at any point leaves either the old file or the new one, never a
  truncated mix, and a failed write removes its temporary file.
* **Private.** The temporary file is created with ``os.open(..., 0o600)`` (and chmod-ed
  to 0600 against odd umasks), so the file that replaces the old one is 0600 too, even if
  the old one was more open. A missing parent directory is created 0700.
* **Concurrent writers.** A read-modify-write holds a thread lock (this process) and an
  exclusive ``flock`` on a sibling ``<file>.lock`` (other processes, e.g. several
  gunicorn workers). Readers need no lock: ``os.replace`` means they see a complete file.
  The lock file is never deleted, because deleting a lock file races with its users.
* **Expiry.** Entries written with :meth:`set_expiring` carry an expiry time (wall
  clock, so every process agrees) in a reserved entry of the same object
  (:data:`EXPIRY_KEY`); reads skip expired entries and every write purges them, so
  abandoned pending logins and sessions do not grow the file (and every write) forever.
* **Corruption is loud.** A file that is not a JSON object (or is nested too deeply to
  parse) raises :class:`StorageCorruptedError` naming the file, on read and on write
  alike: the next ``set`` must not "repair" it by overwriting whatever a person might
  still recover.
* **No orphans.** A process killed mid-write (``kill -9``) leaves its temporary file,
  which holds tokens. Opening the storage removes the temporary files of our own naming
  (``.<name>.<16 hex>.tmp`` next to the file), under the cross-process lock: every write
  holds that lock from creating its temporary file to renaming it, so any such file
  seen while holding the lock belongs to a writer that is gone. Tokens must not survive
  a logout in a forgotten file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Union

from ._backend import StorageBackend, check_key, check_ttl, decode_value, encode_value
from ._errors import StorageCorruptedError, StorageError

__all__ = ["DEFAULT_PATH", "EXPIRY_KEY", "FileStorage"]

#: The reserved entry holding ``{key: expiry (unix time)}``; not a key callers may use.
EXPIRY_KEY = "\u0000kinde-expires-at"

logger = logging.getLogger("kinde_sdk")

DEFAULT_PATH = Path("~") / ".kinde" / "storage.json"
_TMP_SUFFIX = re.compile(r"\.[0-9a-f]{16}\.tmp")
FILE_MODE = 0o600
DIR_MODE = 0o700

if sys.platform == "win32":  # pragma: no cover - exercised only on Windows
    import msvcrt

    def _lock_fd(fd: int) -> None:
        # LK_LOCK retries for about ten seconds, then raises OSError.
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)

    def _try_lock_fd(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock_fd(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _try_lock_fd(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock_fd(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileStorage(StorageBackend):
    """A JSON file on disk, safe across threads, processes and crashes.

    ``path`` defaults to ``~/.kinde/storage.json``. Every instance reads the file on each
    call, so instances in other processes (or after a restart) see each other's writes.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str], None] = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = Path(os.fspath(path) if path is not None else DEFAULT_PATH).expanduser()
        self._lock_path = self._path.with_name(self._path.name + ".lock")
        self._lock = threading.Lock()
        self._clock = clock
        self._remove_orphans()

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"FileStorage(path={str(self._path)!r})"

    # -- public API ------------------------------------------------------------------

    def get(self, key: str) -> Any:
        _check_file_key(key)
        with self._lock:
            data = self._read()
        # Values came out of json.loads just now, so the caller owns this copy.
        return self._live(data).get(key)

    def set(self, key: str, value: Any) -> None:
        self._put(key, value, None)

    def set_expiring(self, key: str, value: Any, ttl: float) -> None:
        self._put(key, value, check_ttl(ttl))

    def _put(self, key: str, value: Any, ttl: Union[float, None]) -> None:
        _check_file_key(key)
        # Validate (and normalise, e.g. tuples to lists) before the file is touched.
        stored = decode_value(encode_value(key, value))
        with self._exclusive():
            data = self._read()
            self._purge(data)
            data[key] = stored
            expiry = self._expiry(data)
            if ttl is None:
                expiry.pop(key, None)
            else:
                expiry[key] = self._clock() + ttl
            self._write(data)

    def touch(self, key: str, ttl: float) -> None:
        _check_file_key(key)
        seconds = check_ttl(ttl)
        with self._exclusive():
            data = self._read()
            self._purge(data)
            if key in data:
                self._expiry(data)[key] = self._clock() + seconds
                self._write(data)

    def purge_expired(self) -> int:
        with self._exclusive():
            data = self._read()
            removed = self._purge(data)
            if removed:
                self._write(data)
        return removed

    def delete(self, key: str) -> None:
        _check_file_key(key)
        with self._exclusive():
            data = self._read()
            removed = self._purge(data)
            if key in data:
                del data[key]
                self._expiry(data).pop(key, None)
                removed += 1
            if removed:
                self._write(data)

    def keys(self, prefix: str = "") -> list[str]:
        with self._lock:
            data = self._live(self._read())
        return sorted(k for k in data if k.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        with self._exclusive():
            data = self._read()
            purged = self._purge(data)
            doomed = [k for k in data if k.startswith(prefix) and k != EXPIRY_KEY]
            expiry = self._expiry(data)
            for k in doomed:
                del data[k]
                expiry.pop(k, None)
            if doomed or purged:
                self._write(data)
        return len(doomed)

    # -- expiry ----------------------------------------------------------------------

    @staticmethod
    def _expiry(data: dict[str, Any]) -> dict[str, Any]:
        expiry = data.get(EXPIRY_KEY)
        if not isinstance(expiry, dict):
            expiry = data[EXPIRY_KEY] = {}
        return expiry

    def _expired_keys(self, data: dict[str, Any]) -> list[str]:
        expiry = data.get(EXPIRY_KEY)
        if not isinstance(expiry, dict):
            return []
        now = self._clock()
        return [k for k, t in expiry.items() if not isinstance(t, (int, float)) or now >= t]

    def _live(self, data: dict[str, Any]) -> dict[str, Any]:
        """The entries that have not expired, without the reserved entry."""
        doomed = set(self._expired_keys(data))
        doomed.add(EXPIRY_KEY)
        return {k: v for k, v in data.items() if k not in doomed}

    def _purge(self, data: dict[str, Any]) -> int:
        """Remove expired entries from ``data`` (about to be written); how many."""
        doomed = self._expired_keys(data)
        expiry = data.get(EXPIRY_KEY)
        for k in doomed:
            data.pop(k, None)
            if isinstance(expiry, dict):
                expiry.pop(k, None)
        if isinstance(expiry, dict) and not expiry:
            del data[EXPIRY_KEY]
        return len(doomed)

    # -- internals -------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self, *, wait: bool = True) -> Iterator[bool]:
        """Hold the thread lock and the cross-process lock for a read-modify-write.
        With ``wait=False`` it does not wait for another process's lock and yields
        whether it got it."""
        with self._lock:
            self._ensure_dir()
            try:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            except OSError as exc:
                raise StorageError(
                    f"could not open storage lock file {self._lock_path}: {exc.strerror}"
                ) from exc
            try:
                if wait:
                    _lock_fd(fd)
                elif not _try_lock_fd(fd):
                    yield False
                    return
                try:
                    yield True
                finally:
                    _unlock_fd(fd)
            finally:
                os.close(fd)

    def _orphans(self) -> list[Path]:
        """Temporary files of this storage's own naming (see :meth:`_write`)."""
        head = f".{self._path.name}"
        try:
            names = os.listdir(self._path.parent)
        except OSError:
            return []  # no directory yet: nothing was ever written
        return [
            self._path.with_name(name)
            for name in names
            if name.startswith(head) and _TMP_SUFFIX.fullmatch(name, len(head))
        ]

    def _remove_orphans(self) -> None:
        """Delete temporary files left by writers killed mid-write. Best effort: a
        storage that cannot clean up still works, so failures are logged, not raised."""
        if not self._orphans():
            return  # the common case costs one listdir and takes no lock
        removed = 0
        try:
            # Without waiting: another process busy writing will leave a clean state,
            # and the next open cleans what is left; a constructor must not block.
            with self._exclusive(wait=False) as locked:
                if not locked:
                    return
                for orphan in self._orphans():
                    with contextlib.suppress(FileNotFoundError):
                        orphan.unlink()
                        removed += 1
        except (OSError, StorageError) as exc:
            logger.warning("could not remove stale temporary storage files: %s", exc)
            return
        if removed:
            logger.info(
                "removed %d stale temporary storage file(s) next to %s", removed, self._path
            )

    def _ensure_dir(self) -> None:
        try:
            self._path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"could not create storage directory {self._path.parent}: {exc.strerror}"
            ) from exc

    def _read(self) -> dict[str, Any]:
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StorageError(f"could not read storage file {self._path}: {exc.strerror}") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            # exc.msg/lineno/colno describe the position, not the content.
            detail = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            raise StorageCorruptedError(str(self._path), detail) from None
        except RecursionError:
            raise StorageCorruptedError(str(self._path), "JSON nested too deeply") from None
        except ValueError:  # e.g. not UTF-8
            raise StorageCorruptedError(str(self._path), "not UTF-8 JSON text") from None
        if not isinstance(data, dict):
            detail = f"expected a JSON object, found {type(data).__name__}"
            raise StorageCorruptedError(str(self._path), detail)
        return data

    def _write(self, data: dict[str, Any]) -> None:
        if not data.get(EXPIRY_KEY, True):
            data.pop(EXPIRY_KEY, None)
        payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
        tmp = self._path.with_name(f".{self._path.name}.{secrets.token_hex(8)}.tmp")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, FILE_MODE)
            try:
                with open(fd, "wb", closefd=True) as fh:
                    if hasattr(os, "fchmod"):
                        # The mode given to os.open is filtered by the umask; be exact.
                        os.fchmod(fh.fileno(), FILE_MODE)
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self._path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageError(
                f"could not write storage file {self._path}: {exc.strerror or exc}"
            ) from exc
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        """Make the rename itself durable (POSIX); best effort elsewhere."""
        if sys.platform == "win32":  # pragma: no cover
            return
        try:
            fd = os.open(self._path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def _check_file_key(key: object) -> str:
    check_key(key)
    if key == EXPIRY_KEY:
        raise ValueError("this storage key is reserved by the file backend")
    assert isinstance(key, str)
    return key
