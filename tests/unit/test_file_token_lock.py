"""The FileTokenStore lock keeps the TokenStore lock contract, as Redis's SET NX PX does:
free again after its TTL whoever still holds it, released only by its owner, and a lock
acquired for an async caller that gave up is released, not held forever.

No network: the file store is a directory; the token request is never reached.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from kinde_sdk._async_token_cache import AsyncClientCredentialsTokenProvider
from kinde_sdk.auth import FileTokenStore

FLEET_KEY = "a fleet key of at least sixteen bytes"


class WallClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


def provider_on(store: FileTokenStore, transport: Any = None) -> Any:
    """An async M2M provider of its own credentials on ``store`` (``transport`` None:
    the token request is never reached)."""
    return AsyncClientCredentialsTokenProvider(
        token_url="https://example.kinde.com/oauth2/token",
        client_id=f"m2m-{uuid.uuid4().hex}",
        client_secret="s3cret",
        audience=None,
        transport=transport,
        token_store=store,
    )


needs_fork = pytest.mark.skipif(
    not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork"
)


@pytest.fixture
def store(tmp_path: Path, clock: WallClock) -> FileTokenStore:
    s = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    s._wall_clock = clock
    return s


def test_a_lock_older_than_its_ttl_is_taken_over(store: FileTokenStore, clock: WallClock) -> None:
    assert store.acquire("n:lock", "hung-owner", 5.0)  # its owner hangs: never releases
    assert not store.acquire("n:lock", "b", 5.0)
    clock.now += 4.9
    assert not store.acquire("n:lock", "b", 5.0)
    clock.now += 0.1
    assert store.acquire("n:lock", "b", 5.0)  # was: held for as long as the process lived
    assert not store.acquire("n:lock", "c", 5.0)  # b holds it now, for its own TTL


def test_a_late_release_by_the_old_owner_leaves_the_new_owners_lock(
    store: FileTokenStore, clock: WallClock
) -> None:
    assert store.acquire("n:lock", "a", 5.0)
    clock.now += 6.0
    assert store.acquire("n:lock", "b", 5.0)
    store.release("n:lock", "a")  # a wakes up, finishes, releases: not its lock any more
    assert not store.acquire("n:lock", "c", 5.0)
    store.release("n:lock", "b")
    assert store.acquire("n:lock", "c", 5.0)


def test_the_same_owner_cannot_take_its_held_lock_twice(store: FileTokenStore) -> None:
    assert store.acquire("n:lock", "a", 5.0)
    assert not store.acquire("n:lock", "a", 5.0)  # as SET NX answers


def test_another_store_on_the_directory_honours_the_lock_and_its_ttl(
    tmp_path: Path, store: FileTokenStore, clock: WallClock
) -> None:
    other = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    other._wall_clock = clock
    assert store.acquire("n:lock", "a", 5.0)
    assert not other.acquire("n:lock", "b", 5.0)
    clock.now += 5.0
    assert other.acquire("n:lock", "b", 5.0)
    assert not store.acquire("n:lock", "c", 5.0)


def test_a_closed_owner_frees_its_lock_at_once(
    tmp_path: Path, store: FileTokenStore, clock: WallClock
) -> None:
    """A store whose owner process died (closed here: the kernel drops its flock the
    same way) does not make the others wait for the TTL."""
    gone = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    gone._wall_clock = clock
    assert gone.acquire("n:lock", "dead", 60.0)
    assert not store.acquire("n:lock", "b", 5.0)
    gone.close()
    assert store.acquire("n:lock", "b", 5.0)
    assert len(list((tmp_path / "tokens").glob("*.alive"))) == 1  # b's own
    store.release("n:lock", "b")
    assert list((tmp_path / "tokens").glob("n:lock*")) == []  # nothing left behind


class SlowAcquireStore(FileTokenStore):
    """Its acquire blocks in the worker thread until the test lets it go."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, secret_key=FLEET_KEY)
        self.entered = threading.Event()
        self.proceed = threading.Event()
        self.released = threading.Event()
        self.lock_name = ""

    def acquire(self, name: str, owner: str, ttl: float) -> bool:
        self.lock_name = name
        self.entered.set()
        assert self.proceed.wait(timeout=30)
        return super().acquire(name, owner, ttl)

    def release(self, name: str, owner: str) -> None:
        super().release(name, owner)
        self.released.set()


def test_an_acquire_that_completes_after_its_caller_gave_up_is_released(
    tmp_path: Path,
) -> None:
    store = SlowAcquireStore(tmp_path / "tokens")
    provider: Any = provider_on(store)

    async def give_up() -> None:
        task = asyncio.ensure_future(provider.token())
        entered = await asyncio.get_running_loop().run_in_executor(None, store.entered.wait, 30)
        assert entered  # the acquire runs in a worker thread, blocked
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        store.proceed.set()  # now the abandoned acquire completes, in its worker thread

    asyncio.run(give_up())
    assert store.released.wait(timeout=30)  # was: nobody ever released it
    assert FileTokenStore.acquire(store, store.lock_name, "next-caller", 5.0)


def test_a_dead_owners_liveness_file_is_swept_a_live_ones_kept(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    live = FileTokenStore(directory, secret_key=FLEET_KEY)
    assert live.acquire("n:lock", "live-owner", 600.0)
    (held,) = directory.glob("*.alive")
    orphan = directory / "m:lock.0123456789abcdef0123456789abcdef.alive"
    orphan.write_bytes(b"")  # a dead owner's: nobody holds its flock
    for path in (held, orphan):
        os.utime(path, (1.0, 1.0))  # long ago
    FileTokenStore(directory, secret_key=FLEET_KEY)  # a process opening the directory
    assert list(directory.glob("*.alive")) == [held]
    live.release("n:lock", "live-owner")
    assert list(directory.glob("*.alive")) == []


def test_the_owner_taking_its_lock_again_while_its_release_ends_keeps_it_alive(
    tmp_path: Path, store: FileTokenStore, clock: WallClock
) -> None:
    """The same owner (one provider) releases in one thread and acquires again in
    another: an async leader cancelled during its release, or the release of an acquire
    its caller gave up, while the next leader of the same provider takes the lock. The
    new lock keeps its liveness flock, so another process does not take it over."""
    other = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    other._wall_clock = clock
    assert store.acquire("n:lock", "a", 60.0)
    drop = store._drop
    reacquired: list[bool] = []
    leaders: list[threading.Thread] = []

    def drop_after_a_reacquire(name: str, owner: str) -> None:
        store._drop = drop  # type: ignore[method-assign]
        # The owner's next leader, in another thread, while this release is not done.
        leader = threading.Thread(
            target=lambda: reacquired.append(store.acquire(name, owner, 60.0))
        )
        leaders.append(leader)
        leader.start()
        leader.join(timeout=1.0)  # it waits for this release to end (or took the lock)
        drop(name, owner)

    store._drop = drop_after_a_reacquire  # type: ignore[method-assign]
    store.release("n:lock", "a")
    leaders[0].join(timeout=30)
    assert reacquired == [True]
    assert not other.acquire("n:lock", "b", 60.0)  # was: a's new lock had no flock
    store.release("n:lock", "a")
    assert other.acquire("n:lock", "b", 60.0)


@needs_fork
def test_a_forked_worker_is_a_lock_owner_of_its_own(tmp_path: Path) -> None:
    """gunicorn --preload: the client (and its token provider) is made before the fork,
    so every worker inherits it. A worker is still an owner of its own: it takes over a
    lock another worker holds past its TTL (was: the same owner name, so its liveness
    flock clashed with the holder's and the store was declared failed), and the other
    worker's late release leaves its lock alone."""
    import time

    store = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY, lock_ttl=0.2)
    provider: Any = provider_on(store)
    shared = provider._flow.shared
    assert store.acquire(shared.lock_name, shared.owner, 0.2)  # this worker hangs with it
    time.sleep(0.3)  # past its TTL
    pid = os.fork()
    if pid == 0:  # another worker
        code = 2
        try:
            code = 0 if store.acquire(shared.lock_name, shared.owner, 60.0) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.release(shared.lock_name, shared.owner)  # the hung worker wakes up, releases
    other = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    holder = other._holder(shared.lock_name)
    assert holder is not None and holder[0] != shared.owner  # the other worker's, kept


def test_a_release_that_fails_still_drops_the_owners_flock(
    tmp_path: Path, store: FileTokenStore, clock: WallClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    other._wall_clock = clock
    assert store.acquire("n:lock", "a", 60.0)

    def unreadable(name: str) -> None:
        raise PermissionError("the owner record cannot be read")

    monkeypatch.setattr(store, "_holder", unreadable)
    with pytest.raises(PermissionError):  # the flow sees StoreUnavailable, and goes on
        store.release("n:lock", "a")
    assert store._held == {}  # was: its descriptor kept open (one more per failure)
    assert other.acquire("n:lock", "b", 60.0)  # a released owner is not alive


@needs_fork
def test_a_forked_child_does_not_free_or_keep_its_parents_lock(
    tmp_path: Path, store: FileTokenStore, clock: WallClock
) -> None:
    """A child forked while its parent holds a lock inherits the liveness descriptor.
    It is not the child's: closing the child's store (a worker shutting down) must not
    free the parent's live lock (was: it removed the parent's liveness file, so the lock
    was taken over at once), and the child does not keep the parent's flock alive."""
    other = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    other._wall_clock = clock
    assert store.acquire("n:lock", "parent", 60.0)
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = 0 if store._held == {} else 1
            store.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not other.acquire("n:lock", "b", 60.0)  # the parent still holds it
    store.release("n:lock", "parent")
    assert other.acquire("n:lock", "b", 60.0)


class BusyWorkersTransport:
    """A token endpoint that cannot be reached, asked while every worker thread of the
    loop's executor is busy (held until the test lets them go)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.asked = threading.Event()

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        from kinde_sdk.errors import KindeConnectionError

        # The loop's only worker: busy, so the next store calls wait in the queue.
        asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 30)
        self.asked.set()
        raise KindeConnectionError("unreachable")


def test_a_release_queued_behind_busy_workers_survives_its_callers_cancellation(
    tmp_path: Path,
) -> None:
    """A cancelled leader still releases the lock it holds, even when it is cancelled
    again while its release waits for a worker thread (anyio cancel scopes cancel every
    await; Starlette cancels a disconnected client's request so): was, the queued
    release was dropped and the lock held until its TTL, by a live process."""
    from concurrent.futures import ThreadPoolExecutor

    store = FileTokenStore(tmp_path / "tokens", secret_key=FLEET_KEY)
    transport = BusyWorkersTransport()
    provider: Any = provider_on(store, transport)
    shared = provider._flow.shared

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        task = asyncio.ensure_future(provider.token())
        while not transport.asked.is_set():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the leader now waits for a worker (its error record)
        for _ in range(3):  # cancelled, and cancelled again while it releases
            task.cancel()
            await asyncio.sleep(0.05)
        transport.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())  # waits for the executor's queued work at its end
    assert store._holder(shared.lock_name) is None  # released
    assert store._held == {}
