"""A deadline that holds while a blocking socket call is in progress (sync transport).

urllib3's timeouts bound each ``recv``, not a whole response: a server that sends one
byte every 0.25 s never trips a 1 s read timeout and can keep a call alive for as long
as it likes, while reading the status line and headers as well as the body. So each
attempt of :class:`~kinde_sdk._transport.Transport` is *watched*: one daemon thread per
process wakes at the earliest deadline among the attempts in flight and shuts down the
socket of each overdue one. The blocked read then returns at once, and the transport,
seeing that the watch fired, raises the deadline error.

The watch finds its socket through the connection classes below: their ``request()``
attaches the connection to the watch of the calling thread, so the pool's own connection
handling (keep-alive, reuse, TLS) is untouched.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from typing import Any, Optional

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class Watch:
    """The deadline of one attempt. ``due`` is on ``time.monotonic()``'s scale."""

    __slots__ = ("_conn", "_done", "_lock", "due", "fired")

    def __init__(self, due: float) -> None:
        self.due = due
        self.fired = False
        self._done = False
        self._conn: Optional[HTTPConnection] = None
        self._lock = threading.Lock()

    def attach(self, conn: HTTPConnection) -> None:
        """Called by the connection that sends the attempt, in the calling thread."""
        with self._lock:
            if self._done:
                return
            self._conn = conn
            if self.fired:
                _shutdown(conn)

    def fire(self) -> None:
        # Under the lock: disarm() cannot return, and the connection cannot go back to
        # the pool for another request, while its socket is being shut down.
        with self._lock:
            if self._done:
                return
            self.fired = True
            if self._conn is not None:
                _shutdown(self._conn)

    def disarm(self) -> bool:
        """End the watch; True when the deadline fired first."""
        with self._lock:
            self._done = True
            self._conn = None
            return self.fired


def _shutdown(conn: HTTPConnection) -> None:
    sock: Any = conn.sock
    if sock is None:
        return
    # Already closed, or a socket-like object without shutdown: nothing to interrupt.
    with contextlib.suppress(OSError, AttributeError, ValueError):
        if isinstance(sock, socket.socket):
            # The plain socket's shutdown, also for an ssl.SSLSocket: its own shutdown
            # would drop the SSL object under the thread reading from it (a ValueError
            # there), while this makes that read end with an ordinary connection error.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:
            sock.shutdown(socket.SHUT_RDWR)


class _Reaper:
    """One daemon thread that fires overdue watches. Scans only the attempts in flight,
    and wakes only at the earliest deadline (or when an earlier one is added).

    Adding and removing a watch take no lock in the usual case (a set's add and discard
    are atomic): every attempt of every call comes through here, and with one deadline
    for all calls each new deadline is later than one the thread already wakes for. Only
    a deadline earlier than that (or a thread not running) takes the lock to wake it.
    Why no deadline is missed: the thread sets ``_next_due`` to +inf *before* it takes
    its snapshot of the watches, and a caller adds its watch *before* it reads
    ``_next_due``. So a caller either reads +inf or a value from after its watch was in
    the snapshot (and wakes the thread if its deadline is earlier), or reads an older
    value while its watch is certain to be in the next snapshot.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[Watch] = set()
        self._next_due = math.inf  # when the thread wakes next; +inf while it scans
        self._thread: Optional[threading.Thread] = None

    def add(self, watch: Watch) -> None:
        self._watches.add(watch)
        if watch.due < self._next_due:
            with self._cond:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="kinde-sdk-deadlines", daemon=True
                    )
                    self._thread.start()
                self._cond.notify()

    def remove(self, watch: Watch) -> None:
        self._watches.discard(watch)

    def _run(self) -> None:
        try:
            with self._cond:
                while True:
                    self._next_due = math.inf  # before the snapshot: see the class doc
                    now = time.monotonic()
                    next_due = math.inf
                    for watch in list(self._watches):
                        if watch.due <= now:
                            self._watches.discard(watch)
                            watch.fire()
                        elif watch.due < next_due:
                            next_due = watch.due
                    self._next_due = next_due
                    self._cond.wait(None if math.isinf(next_due) else next_due - now)
        finally:
            # Should the thread ever end, the next add must take the lock and restart it.
            self._next_due = math.inf


_reaper = _Reaper()
_current = threading.local()


def _reset_after_fork() -> None:
    # The child has no reaper thread and maybe a lock held by a thread that is gone.
    global _reaper, _current
    _reaper = _Reaper()
    _current = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def start(seconds: float) -> Watch:
    """Watch the attempt the calling thread is about to send: its socket is shut down
    ``seconds`` from now unless :func:`stop` comes first."""
    watch = Watch(time.monotonic() + max(0.0, seconds))
    _reaper.add(watch)
    _current.watch = watch
    return watch


def stop(watch: Watch) -> bool:
    """End the watch of the calling thread's attempt; True when its deadline fired."""
    _current.watch = None
    fired = watch.disarm()
    _reaper.remove(watch)
    return fired


def _attach(conn: HTTPConnection) -> None:
    watch: Optional[Watch] = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(conn)


class _Watched:
    """Attaches the connection to the calling thread's watch before it connects (the
    TLS handshake included) and before it sends a request."""

    def connect(self) -> None:
        _attach(self)  # type: ignore[arg-type]
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES_BY_SCHEME: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedHTTPConnectionPool,
    "https": WatchedHTTPSConnectionPool,
}
