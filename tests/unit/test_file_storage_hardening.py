"""File storage after a crash and against a hostile file (issue 14, item 11): temporary
files left by a writer killed mid-write are removed on open; a deeply nested file is a
StorageCorruptedError, not a RecursionError."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from kinde_sdk.core.storage import FileStorage
from kinde_sdk.core.storage._errors import StorageCorruptedError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="kill -9 and flock are POSIX")

# A writer that stops for good right after it wrote its temporary file, before the
# rename: the moment a kill -9 leaves an orphan holding tokens.
WRITER = textwrap.dedent(
    """
    import os, sys, time
    from kinde_sdk.core.storage import FileStorage

    def stuck(src, dst):
        print("written", flush=True)
        time.sleep(3600)

    os.replace = stuck
    FileStorage(sys.argv[1]).set("refresh_token", "rt-secret-" + "x" * 100)
    """
)


def tmp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_writer_killed_mid_write_leaves_no_token_file_after_the_next_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "storage.json"
    FileStorage(path).set("kept", 1)
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "written"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    # Each writer's own open removed the orphan of the one killed before it; the last
    # one's orphan (holding a token) is still there.
    orphans = tmp_files(tmp_path)
    assert len(orphans) == 1
    assert "rt-secret" in (tmp_path / orphans[0]).read_text()

    storage = FileStorage(path)

    assert tmp_files(tmp_path) == []
    assert storage.get("kept") == 1  # the real file is untouched


def test_only_our_own_temporary_files_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    ours = tmp_path / ".storage.json.0123456789abcdef.tmp"
    others = [
        tmp_path / ".storage.json.notours.tmp",
        tmp_path / ".other.json.0123456789abcdef.tmp",
        tmp_path / "storage.json.0123456789abcdef.tmp",
        tmp_path / ".storage.json.0123456789ABCDEF.tmp",
    ]
    for file in [ours, *others]:
        file.write_text("x")

    FileStorage(path)

    assert not ours.exists()
    assert all(file.exists() for file in others)


def test_cleanup_skips_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    import fcntl

    path = tmp_path / "storage.json"
    busy = tmp_path / ".storage.json.0123456789abcdef.tmp"
    busy.write_text("a write in progress")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(3600)\n",
            str(tmp_path / "storage.json.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        # FileStorage() must not wait for the writer (it holds the lock for an hour):
        # a generous hang guard, not a speed check, then its file is left alone.
        opener = threading.Thread(target=FileStorage, args=(path,), daemon=True)
        opener.start()
        opener.join(120)
        assert not opener.is_alive(), "FileStorage() waited for another process's lock"
        assert busy.exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert fcntl  # the test is POSIX-only
    FileStorage(path)
    assert not busy.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"k": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"k": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
    ],
)
def test_a_deeply_nested_file_is_corrupted_not_a_recursion_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "storage.json"
    path.write_bytes(content)
    storage = FileStorage(path)
    with pytest.raises(StorageCorruptedError, match="nested too deeply"):
        storage.get("k")
    with pytest.raises(StorageCorruptedError):
        storage.set("k", 1)  # never overwritten
    assert path.read_bytes() == content
    assert os.stat(path).st_size == len(content)
