"""AsyncManagementClient: the async twin of :class:`~kinde_sdk.management.ManagementClient`.

Same constructor, settings, environment variables and errors; every operation is
``await client.<api>.<operation>(...)``. Requests are built and responses parsed by the
generated code exactly as for the sync client (see ``_async_api.py``); they travel
through :class:`~kinde_sdk._async_transport.AsyncTransport` (asyncio's own sockets,
no extra dependency), so nothing blocks the event loop.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Mapping
from typing import Any, Callable, Optional

from .._async_token_cache import AsyncClientCredentialsTokenProvider
from .._async_transport import AsyncTransport
from .._retry import DEFAULT_DEADLINE, DEFAULT_MAX_RETRIES, RetryPolicy, client_policy
from .._token_cache import DEFAULT_REFRESH_MARGIN
from .._token_store import TokenStore
from .._transport import Response, TimeoutArg
from ._api_client import OutgoingRequest, raise_for_status
from ._async_api import AsyncApi, PreparingApiClient
from ._async_apis import AsyncPagedIterators, AsyncSeedMethods
from ._settings import ManagementSettings
from .pagination import apaginate


class AsyncManagementClient(AsyncSeedMethods, AsyncPagedIterators):
    """An async client for the Kinde Management API.

    Every generated API is an attribute (``client.users``, ``client.organizations``, ...)
    whose operations are awaitable: ``await client.users.get_users(page_size=10)``; the
    Kinde SDK README's conveniences are awaitable methods of the client
    (``await client.get_users(page_size=10)``, ``await client.create_user(...)``, ...);
    every cursor-paged list has an async iterator (``async for user in
    client.iter_users()``).
    Settings not passed fall back to the same environment variables as
    :class:`~kinde_sdk.management.ManagementClient`.

    Use it as ``async with AsyncManagementClient(...) as client:`` or call ``await
    client.aclose()`` when done. Each event loop that uses a client gets its own
    connections; one client per application is the usual shape.
    """

    def __init__(
        self,
        domain: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        *,
        audience: Optional[str] = None,
        timeout: TimeoutArg = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float = DEFAULT_DEADLINE,
        retry: Optional[RetryPolicy] = None,
        token_refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        default_headers: Optional[Mapping[str, str]] = None,
        transport: Optional[AsyncTransport] = None,
        strict_responses: bool = False,
        token_store: Optional[TokenStore] = None,
    ) -> None:
        settings = ManagementSettings.resolve(domain, client_id, client_secret, audience)
        self.origin = settings.origin
        self.client_id = settings.client_id
        self.audience = settings.audience
        # As ManagementClient: False keeps a response that differs from the spec as
        # sent (one warning per model and field); True raises ResponseValidationError.
        self.strict_responses = strict_responses
        self._owns_transport = transport is None
        self._transport = transport or AsyncTransport(
            timeout=timeout,
            retry=client_policy(retry, max_retries, deadline),
            headers=default_headers,
        )
        # The same token cache as ManagementClient: clients with the same credentials
        # share one token, sync or async, on any event loop.
        self._tokens = AsyncClientCredentialsTokenProvider(
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            audience=self.audience,
            transport=self._transport,
            refresh_margin=token_refresh_margin,
            token_store=token_store,
        )
        self._preparer: Optional[PreparingApiClient] = None
        self._apis: dict[str, AsyncApi] = {}

    def __repr__(self) -> str:
        return f"AsyncManagementClient(domain={self.origin!r}, client_id={self.client_id!r})"

    async def aclose(self) -> None:
        """Release pooled connections (only those of a transport this client created)."""
        if self._owns_transport:
            await self._transport.aclose()

    async def __aenter__(self) -> AsyncManagementClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get_access_token(self) -> str:
        """The current M2M access token (cached; fetched or refreshed when needed)."""
        return await self._tokens.token()

    def _sub_api(self, module: str, class_name: str) -> AsyncApi:
        # No lock needed: an event loop runs this without switching tasks.
        api = self._apis.get(module)
        if api is None:
            if self._preparer is None:
                self._preparer = PreparingApiClient(
                    self.origin, strict_responses=self.strict_responses
                )
            cls = getattr(importlib.import_module(f"kinde_sdk_generated.api.{module}"), class_name)
            api = AsyncApi(cls(self._preparer), self._preparer, self._send)
            self._apis[module] = api
        return api

    # -- lazy pagination -----------------------------------------------------------------
    # One typed async iterator per cursor-paged list (iter_users, iter_roles, ...) comes
    # from AsyncPagedIterators, derived from the sync client's generated ones.

    def _kinde_paginate(
        self,
        list_method: Callable[..., Any],
        items_field: str,
        params: dict[str, Any],
        max_pages: Optional[int],
    ) -> AsyncIterator[Any]:
        sent = {name: value for name, value in params.items() if value is not None}
        return apaginate(list_method, items_field, max_pages=max_pages, **sent)

    def paginate(
        self,
        list_method: Callable[..., Awaitable[Any]],
        items_field: str,
        *,
        page_size: Optional[int] = None,
        **params: Any,
    ) -> AsyncIterator[Any]:
        """Lazily iterate any list operation, e.g. ``async for p in
        client.paginate(client.permissions.get_permissions, "permissions")``."""
        return apaginate(list_method, items_field, page_size=page_size, **params)

    async def _send(self, request: OutgoingRequest) -> Response:
        """One API request with the M2M token; as the sync client: one fresh token and
        one replay on a 401, error statuses raised as :mod:`kinde_sdk.errors` types."""

        async def send(token: str) -> Response:
            return await self._transport.request(
                request.method, request.url, **request.send_kwargs(token)
            )

        response = await self._tokens.send_with_token(send)
        raise_for_status(request, response)
        return response


__all__ = ["AsyncManagementClient"]
