"""``kinde users import``: bulk user creation from CSV or JSON lines, safe to re-run.

The input is read twice: a validation pass (every bad row reported with its line number,
nothing sent when any row is bad) and an import pass that streams rows to a bounded
thread pool. Every outcome is appended to the results file as one JSON line (one
``os.write`` on an ``O_APPEND`` descriptor, so a line is never interleaved or half
buffered), keyed by email:

* ``started``: written before the create request is sent;
* ``created`` (with the user ``id``): the API created the user;
* ``failed``: the API refused the row (4xx), so nothing was created;
* ``unknown``: the request may or may not have taken effect (connection lost after
  sending, or a 5xx answer).

A re-run skips every email with a ``created`` record. An email whose last record is
``started`` or ``unknown`` (the previous run was killed mid-request) is first looked up
by email, and created only if Kinde does not have it: nothing is created twice and
nothing is lost. ``failed`` rows are tried again.

A 429 pauses every worker (the server's ``Retry-After``, else exponential backoff) and
the row is retried, at most ``max_retries`` times.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TextIO, Union

from ..errors import (
    AuthenticationError,
    KindeAPIError,
    KindeConnectionError,
    KindeError,
    PermissionDeniedError,
    RateLimitError,
    TokenError,
)
from ..management import ManagementClient

COLUMNS = ("email", "first_name", "last_name", "organization_code", "provided_id")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254
# The longest single wait a 429 may impose; a longer Retry-After is capped to this.
MAX_PAUSE = 60.0
BACKOFF_BASE = 0.5


@dataclass(frozen=True)
class Row:
    line: int
    email: str
    first_name: Optional[str] = None
    last_name: Optional[str] = None
    organization_code: Optional[str] = None
    provided_id: Optional[str] = None

    @property
    def key(self) -> str:
        return self.email.lower()


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


Parsed = Union[Row, RowError]


def input_format(path: Path, explicit: Optional[str]) -> str:
    if explicit:
        return explicit
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ValueError(f"cannot tell the format of {path.name}: name it .csv or .jsonl, or --format")


def _row(line: int, values: dict[str, Optional[str]]) -> Parsed:
    clean = {k: (v.strip() or None) if isinstance(v, str) else None for k, v in values.items()}
    email = clean.get("email")
    if not email:
        return RowError(line, "missing email")
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email):
        return RowError(line, f"bad email {email!r}")
    return Row(
        line=line,
        email=email,
        first_name=clean.get("first_name"),
        last_name=clean.get("last_name"),
        organization_code=clean.get("organization_code"),
        provided_id=clean.get("provided_id"),
    )


def _parse_csv(stream: TextIO) -> Iterator[Parsed]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        yield RowError(1, f"bad CSV: {exc}")
        return
    names = [h.strip().lower() for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    for name in unknown:
        yield RowError(1, f"unknown column {name!r} (expected {', '.join(COLUMNS)})")
    if "email" not in names:
        yield RowError(1, "no 'email' column")
        return
    end = reader.line_num
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(start, f"bad CSV: {exc}")
            return
        end = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(names):
            yield RowError(start, f"expected {len(names)} fields, got {len(values)}")
            continue
        yield _row(start, {n: v for n, v in zip(names, values) if n in COLUMNS})


def _parse_jsonl(stream: TextIO) -> Iterator[Parsed]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield RowError(number, f"bad JSON: {exc}")
            continue
        except RecursionError:
            # A row like [[[[...]]]] 100,000 deep: a bad row, not a traceback.
            yield RowError(number, "bad JSON: nested too deeply")
            continue
        if not isinstance(obj, dict):
            yield RowError(number, "expected a JSON object")
            continue
        unknown = sorted(k for k in obj if k not in COLUMNS)
        if unknown:
            yield RowError(number, f"unknown key(s) {', '.join(map(repr, unknown))}")
            continue
        wrong = sorted(k for k, v in obj.items() if v is not None and not isinstance(v, str))
        if wrong:
            yield RowError(number, f"{', '.join(map(repr, wrong))} must be a string")
            continue
        yield _row(number, obj)


def parse(path: Path, fmt: str) -> Iterator[Parsed]:
    """Every row of the file, or the reason it is bad, with its line number; a repeated
    email is bad (the email is the row's key)."""
    first_line: dict[str, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as stream:
        rows = _parse_csv(stream) if fmt == "csv" else _parse_jsonl(stream)
        for item in rows:
            if isinstance(item, Row):
                seen = first_line.setdefault(item.key, item.line)
                if seen != item.line:
                    yield RowError(item.line, f"duplicate email {item.email!r} (line {seen})")
                    continue
            yield item


# -- results file ----------------------------------------------------------------------


def load_results(path: Path) -> dict[str, dict[str, Any]]:
    """The latest record per email key; a ``created`` record is never superseded."""
    state: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return state
    with path.open(encoding="utf-8") as stream:
        for text in stream:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError):
                continue  # a line cut short by a crash, or not ours
            if not isinstance(record, dict) or not isinstance(record.get("email"), str):
                continue
            key = record["email"].lower()
            if state.get(key, {}).get("status") != "created":
                state[key] = record
    return state


class ResultsBusyError(Exception):
    """Another process is importing with the same results file."""


def _lock_exclusive(fd: int) -> None:
    """Two imports appending to one results file could both create a row: refuse the
    second (a non-blocking advisory lock, released when the file is closed)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


class ResultsFile:
    """Append-only JSON lines; each record is one write on an O_APPEND descriptor."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            _lock_exclusive(self._fd)
        except OSError:
            os.close(self._fd)
            raise ResultsBusyError(
                f"{path} is in use by another import of the same file; wait for it to end"
            ) from None
        # A previous run killed mid-line would glue its fragment to our first record.
        if os.fstat(self._fd).st_size:
            with path.open("rb") as stream:
                stream.seek(-1, os.SEEK_END)
                if stream.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, default=str, separators=(",", ":")) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def close(self) -> None:
        os.close(self._fd)


# -- progress --------------------------------------------------------------------------


class Progress:
    """A carriage-return bar on a terminal; otherwise a plain line every tenth."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self.created = self.skipped = self.failed = 0
        self._lock = threading.Lock()
        self._step = max(1, total // 10)
        self._last_draw = 0.0

    @property
    def done(self) -> int:
        return self.created + self.skipped + self.failed

    def add(self, outcome: str) -> None:
        with self._lock:
            if outcome == "created":
                self.created += 1
            elif outcome == "skipped":
                self.skipped += 1
            else:
                self.failed += 1
            self._show()

    def _text(self) -> str:
        return (
            f"{self.done}/{self.total} rows: {self.created} created, "
            f"{self.skipped} skipped, {self.failed} failed"
        )

    def _show(self) -> None:
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and self.done < self.total:
                return
            self._last_draw = now
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self._text()}")
            self.stream.flush()
        elif self.done % self._step == 0 or self.done == self.total:
            self.stream.write(f"progress: {self._text()}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()


# -- the import ------------------------------------------------------------------------


class _Pause:
    """A pause shared by every worker: a 429 seen by one holds back all of them."""

    def __init__(self, stop: threading.Event) -> None:
        self._lock = threading.Lock()
        self._until = 0.0
        self._stop = stop

    def extend(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                remaining = self._until - time.monotonic()
            if remaining <= 0:
                return
            self._stop.wait(remaining)


def _error_record(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, KindeAPIError):
        return {
            "status": exc.status,
            "code": exc.code,
            "message": exc.message,
            "request_id": exc.request_id,
        }
    return {"type": type(exc).__name__, "message": str(exc)}


@dataclass
class ImportOptions:
    concurrency: int = 4
    max_retries: int = 5


class Importer:
    def __init__(
        self,
        client: ManagementClient,
        results: ResultsFile,
        previous: dict[str, dict[str, Any]],
        progress: Progress,
        options: ImportOptions,
    ) -> None:
        self.client = client
        self.results = results
        self.previous = previous
        self.progress = progress
        self.options = options
        self.stop = threading.Event()
        self.fatal: Optional[BaseException] = None
        self._pause = _Pause(self.stop)

    def run(self, rows: Iterator[Row]) -> None:
        workers = max(1, self.options.concurrency)
        # At most two rows queued per worker: a million-row file is never all in memory.
        slots = threading.BoundedSemaphore(workers * 2)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kinde-import") as pool:
            try:
                for row in rows:
                    if self.stop.is_set():
                        break
                    slots.acquire()
                    future = pool.submit(self._one, row)
                    future.add_done_callback(lambda _f: slots.release())
                    future.add_done_callback(self._check)
            except BaseException:
                self.stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _check(self, future: Future[None]) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is not None:
            self.fatal = self.fatal or exc
            self.stop.set()

    def _one(self, row: Row) -> None:
        if self.stop.is_set():
            return
        base = {"line": row.line, "email": row.email}
        previous = self.previous.get(row.key, {})
        status = previous.get("status")
        if status == "created":
            self.progress.add("skipped")
            return
        if status in ("started", "unknown"):
            try:
                existing = self._find(row)
            except KindeError as exc:
                self._failed(base, exc, "unknown")
                return
            if existing is not None:
                self.results.write({**base, "status": "created", "id": existing, "found": True})
                self.progress.add("skipped")
                return
        self.results.write({**base, "status": "started"})
        retries = 0
        while True:
            self._pause.wait()
            if self.stop.is_set():
                return  # the "started" record makes the next run check this row
            try:
                created = self.client.create_user(
                    first_name=row.first_name,
                    last_name=row.last_name,
                    email=row.email,
                    organization_code=row.organization_code,
                    provided_id=row.provided_id,
                )
            except RateLimitError as exc:
                if retries >= self.options.max_retries:
                    self._failed(base, exc, "failed")
                    return
                wait = exc.retry_after
                if wait is None:
                    wait = BACKOFF_BASE * (2**retries) * (0.5 + random.random() / 2)  # noqa: S311
                self._pause.extend(min(wait, MAX_PAUSE))
                retries += 1
                continue
            except (AuthenticationError, PermissionDeniedError, TokenError) as exc:
                # Every other row would fail the same way: stop the import.
                self.fatal = exc
                self.stop.set()
                self._failed(base, exc, "failed")
                return
            except KindeAPIError as exc:
                self._failed(base, exc, "unknown" if exc.status >= 500 else "failed")
                return
            except KindeConnectionError as exc:
                self._failed(base, exc, "unknown")
                return
            except KindeError as exc:
                self._failed(base, exc, "failed")
                return
            except Exception as exc:
                # Say, an answer that does not parse: the user may well exist now.
                self._failed(base, exc, "unknown")
                return
            self.results.write({**base, "status": "created", "id": created.id})
            self.progress.add("created")
            return

    def _failed(self, base: dict[str, Any], exc: Exception, status: str) -> None:
        self.results.write({**base, "status": status, "error": _error_record(exc)})
        self.progress.add("failed")

    def _find(self, row: Row) -> Optional[str]:
        """The id of the user with this email, if Kinde has one (a previous run may have
        created it and died before recording it)."""
        response = self.client.users.get_users(email=row.email)
        for user in response.users or []:
            if (user.email or "").lower() == row.key and user.id:
                return str(user.id)
        return None


def summary(progress: Progress, results: Path) -> str:
    return (
        f"import: {progress.created} created, {progress.skipped} skipped (already done), "
        f"{progress.failed} failed; results in {results}"
    )


def report_errors(errors: list[RowError], source: Path, stream: TextIO = sys.stderr) -> None:
    for error in errors:
        stream.write(f"{source}:{error.line}: {error.message}\n")
    stream.flush()
