"""Storage errors, all under :class:`kinde_sdk.errors.StorageError`.

They live next to the backends rather than in ``kinde_sdk.errors`` because only code that
touches storage needs to tell them apart; catching ``StorageError`` catches all of them.
Messages name keys and locations, never stored values: the values are tokens.
"""

from __future__ import annotations

from ...errors import StorageError

__all__ = ["StorageCorruptedError", "StorageError", "StorageSerializationError"]


class StorageSerializationError(StorageError, TypeError):
    """A value given to ``set`` is not JSON-serialisable; nothing was stored.

    Every backend stores JSON so that data means the same thing in memory, in a file and
    in redis; rejecting a bad value up front keeps a half-written state impossible.
    It is also a ``TypeError``, which is what ``json.dumps`` raises for the same mistake.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"value for storage key {key!r} is not JSON-serialisable: {reason}")
        self.key = key


class StorageCorruptedError(StorageError):
    """Stored data exists but is not valid JSON (or not the expected shape).

    Raised on read *and* on write: a backend never overwrites data it could not parse,
    so that a damaged file can still be inspected or repaired by hand.
    ``location`` is the file path or key that holds the bad data.
    """

    def __init__(self, location: str, detail: str) -> None:
        super().__init__(
            f"storage data at {location} is corrupt ({detail}); it was left untouched, "
            "repair or remove it"
        )
        self.location = location
