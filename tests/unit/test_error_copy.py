"""A shared failure is re-raised as one object per caller (kinde_sdk._error_copy).

Discovery, OAuth refresh and client-credentials token single-flights share a failure
with every caller in its backoff window. One exception object raised in several threads
at once shares its ``__traceback__`` and ``__context__``: each caller must get its own
object, equal in type, message, fields and cause.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

import pytest

from kinde_sdk._error_copy import copy_error
from kinde_sdk.auth import OAuth
from kinde_sdk.auth._oauth_core import _Failure
from kinde_sdk.core.storage import MemoryStorage, NamespacedStorage
from kinde_sdk.errors import (
    InvalidSignatureError,
    JWKSFetchError,
    KindeAPIError,
    KindeConfigurationError,
    KindeConnectionError,
    KindeError,
    KindeTimeoutError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    StorageError,
    TokenError,
    api_error_from_response,
)


def _caused(error: KindeError) -> KindeError:
    cause = KindeConnectionError("connection refused", url="https://x.kinde.com/token")
    try:
        raise error from cause
    except KindeError as raised:
        return raised


ERRORS: list[Callable[[], KindeError]] = [
    lambda: TokenError("refused", error="invalid_client", error_description="bad", status=401),
    lambda: KindeConnectionError("unreachable", url="https://x.kinde.com"),
    lambda: KindeTimeoutError("too slow", url="https://x.kinde.com"),
    lambda: ResponseTooLargeError("big", url="https://x.kinde.com", limit=1024),
    lambda: JWKSFetchError("no keys", url="https://x.kinde.com/jwks", status=503),
    lambda: InvalidSignatureError("bad signature"),
    lambda: KindeConfigurationError("no domain"),
    lambda: StorageError("unreadable"),
    lambda: ResponseValidationError("drift", status=200, response_type="User", problems=["a"]),
    lambda: api_error_from_response(
        503,
        b'{"errors": [{"code": "DOWN", "message": "down"}]}',
        {},
        request_id="req-1",
        method="GET",
        url="https://x.kinde.com/api/v1/users",
    ),
    lambda: api_error_from_response(429, b"{}", {}, retry_after=7.0),
    lambda: KindeAPIError(418, "TEAPOT", "short and stout", None, {"k": [1]}),
]


def _fields(error: BaseException) -> dict[str, Any]:
    return dict(vars(error))


@pytest.mark.parametrize("make", ERRORS, ids=lambda make: type(make()).__name__)
def test_a_copy_is_a_new_object_with_the_same_type_message_fields_and_cause(
    make: Callable[[], KindeError],
) -> None:
    original = _caused(make())
    copy = copy_error(original)
    assert copy is not original
    assert type(copy) is type(original)
    assert copy.args == original.args
    assert str(copy) == str(original)
    assert repr(copy) == repr(original)
    assert _fields(copy) == _fields(original)
    assert copy.__cause__ is original.__cause__
    assert copy.__suppress_context__ is original.__suppress_context__
    assert copy.__traceback__ is None  # its own, from its own raise


def test_containers_are_not_shared_between_copies() -> None:
    original = api_error_from_response(400, b'{"errors": [{"code": "A", "message": "a"}]}', {})
    copy = copy_error(original)
    copy.errors.append({"code": "B"})
    copy.add_note("only mine")
    assert original.errors == [{"code": "A", "message": "a"}]
    assert not getattr(original, "__notes__", None)


def test_a_note_is_appended_to_the_message_only() -> None:
    original = TokenError("the token endpoint failed", status=503)
    copy = copy_error(original, "not retried for another 2.0s")
    assert str(copy) == "the token endpoint failed (not retried for another 2.0s) status=503"
    assert copy.status == 503
    limited = RateLimitError(429, retry_after=3.0)
    assert copy_error(limited, "note").retry_after == 3.0


def _raise_in_threads(reraise: Callable[[], Any], n: int = 2) -> list[BaseException]:
    """``reraise()`` in ``n`` threads released together; what each one caught."""
    barrier = threading.Barrier(n, timeout=30)
    caught: list[BaseException] = []
    lock = threading.Lock()

    def caller() -> None:
        barrier.wait()
        try:
            reraise()
        except BaseException as exc:  # what the caller sees, kept for the asserts
            with lock:
                caught.append(exc)
            # Each caller reads its traceback after the others raised.
            barrier.wait()

    threads = [threading.Thread(target=caller) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return caught


@pytest.mark.parametrize("make", ERRORS, ids=lambda make: type(make()).__name__)
def test_callers_in_a_backoff_window_each_get_their_own_error(
    make: Callable[[], KindeError],
) -> None:
    original = _caused(make())
    failure = _Failure(original, failures=1, retry_at=float("inf"))
    first, second = _raise_in_threads(failure.reraise)
    assert first is not second
    assert first is not original and second is not original
    for caught in (first, second):
        assert type(caught) is type(original)
        assert str(caught) == str(original)
        assert _fields(caught) == _fields(original)
        assert caught.__cause__ is original.__cause__
        # Its traceback is its own raise, in _Failure.reraise, and nothing else's.
        frames = traceback.extract_tb(caught.__traceback__)
        assert frames[-1].name == "reraise"
        assert caught.__traceback__ is not None
    assert first.__traceback__ is not second.__traceback__


def test_discovery_and_refresh_backoffs_hand_each_caller_its_own_error() -> None:
    oauth = OAuth(
        client_id="client-1",
        domain="https://example.kinde.com",
        storage=NamespacedStorage(MemoryStorage()),
    )
    down = _caused(KindeConnectionError("discovery failed", url="https://example.kinde.com"))
    oauth._discovery_done(down)
    first, second = _raise_in_threads(oauth._discovery_gate)
    assert first is not second and down not in (first, second)
    assert str(first) == str(second) == str(down)

    refused = _caused(TokenError("refresh failed", error="temporarily_unavailable", status=503))
    expired = {"access_token": "at", "refresh_token": "rt", "expires_at": 0}
    oauth._refresh_failed(expired, refused)
    first, second = _raise_in_threads(lambda: oauth._refresh_gate(expired))
    assert first is not second and refused not in (first, second)
    assert isinstance(first, TokenError) and isinstance(second, TokenError)
    assert (
        (first.error, first.status)
        == (second.error, second.status)
        == (
            "temporarily_unavailable",
            503,
        )
    )
