"""One caller's own copy of a shared failure.

A failed single-flight (a client-credentials token request, discovery, an OAuth refresh)
hands its error to every caller that waited for it, and to every caller until its
backoff ends. Raising *one* exception object in several threads or tasks at once makes
them share it: each raise rewrites its ``__traceback__`` (and may chain it into another
caller's ``__context__``), so callers see each other's frames, or lose their own.
:func:`copy_error` gives each caller a fresh object instead: same type, same message and
fields, same cause.

The copy is built without calling the class's ``__init__`` (whose signature differs
across the exception tree: ``TokenError(message, *, error=...)``,
``KindeAPIError(status, code, ...)``, ``RateLimitError(..., retry_after=)``): it takes
the original's ``args`` and attributes as they are, which is what every
:class:`~kinde_sdk.errors.KindeError` stores its fields in.
"""

from __future__ import annotations

import copy
from typing import Optional, TypeVar

__all__ = ["copy_error"]

E = TypeVar("E", bound=BaseException)


def copy_error(error: E, note: Optional[str] = None) -> E:
    """A fresh exception equal to ``error``: its type, ``args``, attributes, ``__cause__``
    and ``__context__``, with no traceback. ``note`` is appended to the message, in
    parentheses (e.g. how long the failure is still served without a retry)."""
    cls = type(error)
    args = error.args
    if note and args and isinstance(args[0], str):
        args = (f"{args[0]} ({note})", *args[1:])
    fresh = cls.__new__(cls, *args)
    fresh.args = args
    # A shallow copy of the attributes, with containers copied too (``errors``, ``body``,
    # ``problems``, ``__notes__``): a caller that appends to its copy's list (add_note)
    # must not change the others'.
    fresh.__dict__.update(
        {
            name: copy.copy(value) if isinstance(value, (list, dict, set)) else value
            for name, value in vars(error).items()
        }
    )
    fresh.__cause__ = error.__cause__
    fresh.__context__ = error.__context__
    fresh.__suppress_context__ = error.__suppress_context__
    return fresh
