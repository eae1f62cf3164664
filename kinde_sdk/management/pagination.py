"""Lazy iteration over the Management API's ``next_token`` pagination."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, Optional


def paginate(
    list_method: Callable[..., Any],
    items_field: str,
    *,
    page_size: Optional[int] = None,
    max_pages: Optional[int] = None,
    **params: Any,
) -> Iterator[Any]:
    """Yield the items of every page, fetching each page only when it is reached.

    ``list_method`` is a generated list operation (``client.users.get_users``) and
    ``items_field`` the response field holding the page's items (``"users"``). Stops at
    the last page (no ``next_token``, or an empty page), after ``max_pages`` pages, or if
    the server repeats a token it already sent, which would otherwise loop forever.
    """
    seen: set[str] = set()
    token: Optional[str] = None
    pages = 0
    while max_pages is None or pages < max_pages:
        if page_size is not None:
            params["page_size"] = page_size
        response = list_method(next_token=token, **params) if token else list_method(**params)
        pages += 1
        items = getattr(response, items_field, None) or []
        yield from items
        token = getattr(response, "next_token", None)
        if not token or not items or token in seen:
            return
        seen.add(token)
