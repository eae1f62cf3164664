"""Lazy iteration over the Management API's ``next_token`` pagination, sync and async.

:class:`PageCursor` holds the whole walk (which arguments the next page needs, when to
stop) without I/O; :func:`paginate` calls the list operation and :func:`apaginate`
awaits it, so both iterate alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any, Callable, Optional


class PageCursor:
    """The state of one walk over a cursor-paged list.

    Stops at the last page (no ``next_token``, or an empty page), after ``max_pages``
    pages, or if the server repeats a token it already sent, which would otherwise loop
    forever.
    """

    def __init__(
        self,
        items_field: str,
        params: dict[str, Any],
        *,
        page_size: Optional[int] = None,
        max_pages: Optional[int] = None,
    ) -> None:
        self.items_field = items_field
        self.params = dict(params)
        if page_size is not None:
            self.params["page_size"] = page_size
        self.max_pages = max_pages
        self.pages = 0
        self._token: Optional[str] = None
        self._seen: set[str] = set()
        self._done = False

    def next_request(self) -> Optional[dict[str, Any]]:
        """The list operation's arguments for the next page, or None when done."""
        if self._done or (self.max_pages is not None and self.pages >= self.max_pages):
            return None
        if self._token:
            return {**self.params, "next_token": self._token}
        return dict(self.params)

    def page(self, response: Any) -> list[Any]:
        """The items of the page just fetched; remembers where the next one starts."""
        self.pages += 1
        items = list(getattr(response, self.items_field, None) or [])
        token = getattr(response, "next_token", None)
        if not token or not items or token in self._seen:
            self._done = True
        else:
            self._seen.add(token)
            self._token = token
        return items


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
    cursor = PageCursor(items_field, params, page_size=page_size, max_pages=max_pages)
    while (kwargs := cursor.next_request()) is not None:
        yield from cursor.page(list_method(**kwargs))


async def apaginate(
    list_method: Callable[..., Awaitable[Any]],
    items_field: str,
    *,
    page_size: Optional[int] = None,
    max_pages: Optional[int] = None,
    **params: Any,
) -> AsyncIterator[Any]:
    """:func:`paginate` for an async list operation (``async for``)."""
    cursor = PageCursor(items_field, params, page_size=page_size, max_pages=max_pages)
    while (kwargs := cursor.next_request()) is not None:
        for item in cursor.page(await list_method(**kwargs)):
            yield item
