"""ManagementClient: the typed Kinde Management API with cached M2M tokens."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

from kinde_sdk_generated._kinde_paged import PagedIterators

from .._retry import DEFAULT_DEADLINE, DEFAULT_MAX_RETRIES, RetryPolicy, client_policy
from .._token_cache import DEFAULT_REFRESH_MARGIN, ClientCredentialsTokenProvider
from .._token_store import TokenStore
from .._transport import TimeoutArg, Transport
from ._seed_methods import SeedMethods
from ._settings import AUDIENCE_ENV as AUDIENCE_ENV  # the names stay importable from here
from ._settings import CLIENT_ID_ENV as CLIENT_ID_ENV
from ._settings import CLIENT_SECRET_ENV as CLIENT_SECRET_ENV
from ._settings import DOMAIN_ENV as DOMAIN_ENV
from ._settings import TOKEN_PATH as TOKEN_PATH
from ._settings import ManagementSettings
from .pagination import paginate

if TYPE_CHECKING:
    from ._api_client import TransportApiClient


class ManagementClient(SeedMethods, PagedIterators):
    """A client for the Kinde Management API.

    Every generated API is an attribute (``client.users``, ``client.organizations``,
    ``client.roles``, ``client.feature_flags``, ...), imported on first use; the Kinde
    SDK README's convenience methods (``get_users``, ``create_user``, ...) sit on the
    client itself. Tokens come from ``{domain}/oauth2/token`` with the client-credentials
    grant, cached and shared by every client with the same credentials in the process.

    Settings not passed fall back to ``KINDE_DOMAIN``/``KINDE_HOST``,
    ``KINDE_MANAGEMENT_CLIENT_ID``/``KINDE_CLIENT_ID`` and
    ``KINDE_MANAGEMENT_CLIENT_SECRET``/``KINDE_CLIENT_SECRET``.

    Responses are read leniently: a body that differs from the API spec the SDK was
    built from (a new field, a new enum value, a number for a string ...) is kept as
    sent, with one warning per model and field. ``strict_responses=True`` raises
    :class:`~kinde_sdk.errors.ResponseValidationError` instead.

    ``token_store`` shares the tokens between processes too
    (:class:`~kinde_sdk.auth.RedisTokenStore`, :class:`~kinde_sdk.auth.FileTokenStore`):
    one token request for a whole fleet, see docs/many-processes.md.

    Retries: ``retry=RetryPolicy(...)`` sets every retry setting (backoff, retried
    statuses, deadline); ``max_retries`` and ``deadline`` are shortcuts for a default
    policy with those two changed, and cannot be combined with ``retry``.
    ``default_headers`` go with every request; an ``X-Request-Id`` among them is sent
    as is (see docs/security.md, "Retries, timeouts and request ids").
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
        transport: Optional[Transport] = None,
        strict_responses: bool = False,
        token_store: Optional[TokenStore] = None,
    ) -> None:
        settings = ManagementSettings.resolve(domain, client_id, client_secret, audience)
        self.origin = settings.origin
        self.client_id = settings.client_id
        self.audience = settings.audience
        # False: a response that differs from the spec is kept as sent (one warning per
        # model and field); True: it raises ResponseValidationError (for tests).
        self.strict_responses = strict_responses
        policy = client_policy(retry, max_retries, deadline)
        self._owns_transport = transport is None
        self._transport = transport or Transport(
            timeout=timeout, retry=policy, headers=default_headers
        )
        self._tokens = ClientCredentialsTokenProvider(
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            audience=self.audience,
            transport=self._transport,
            refresh_margin=token_refresh_margin,
            token_store=token_store,
        )
        self._lock = threading.Lock()
        self._api_client: Optional[TransportApiClient] = None
        self._apis: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ManagementClient(domain={self.origin!r}, client_id={self.client_id!r})"

    def close(self) -> None:
        """Release pooled connections (only those of a transport this client created)."""
        if self._owns_transport:
            self._transport.close()

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_access_token(self) -> str:
        """The current M2M access token (cached; fetched or refreshed when needed)."""
        return self._tokens.token()

    def _sub_api(self, module: str, class_name: str) -> Any:
        api = self._apis.get(module)
        if api is not None:
            return api
        with self._lock:
            api = self._apis.get(module)
            if api is None:
                if self._api_client is None:
                    from ._api_client import TransportApiClient

                    self._api_client = TransportApiClient(
                        origin=self.origin,
                        transport=self._transport,
                        tokens=self._tokens,
                        strict_responses=self.strict_responses,
                    )
                cls = getattr(
                    importlib.import_module(f"kinde_sdk_generated.api.{module}"), class_name
                )
                api = cls(self._api_client)
                self._apis[module] = api
        return api

    # -- lazy pagination -----------------------------------------------------------------
    # One typed iterator per cursor-paged list (iter_users, iter_roles, ...) comes from
    # PagedIterators, generated from the spec by `make generate` (scripts/_paged.py).

    def _kinde_paginate(
        self,
        list_method: Callable[..., Any],
        items_field: str,
        params: dict[str, Any],
        max_pages: Optional[int],
    ) -> Iterator[Any]:
        sent = {name: value for name, value in params.items() if value is not None}
        return paginate(list_method, items_field, max_pages=max_pages, **sent)

    def paginate(
        self, list_method: Any, items_field: str, *, page_size: Optional[int] = None, **params: Any
    ) -> Iterator[Any]:
        """Lazily iterate any list operation, e.g.
        ``client.paginate(client.permissions.get_permissions, "permissions")``."""
        return paginate(list_method, items_field, page_size=page_size, **params)
