"""ManagementClient: the typed Kinde Management API with cached M2M tokens."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

from .._config import from_env, normalize_domain, require
from .._retry import DEFAULT_DEADLINE, DEFAULT_MAX_RETRIES, RetryPolicy, client_policy
from .._token_cache import DEFAULT_REFRESH_MARGIN, ClientCredentialsTokenProvider
from .._transport import TimeoutArg, Transport
from ._seed_methods import SeedMethods
from .pagination import paginate

if TYPE_CHECKING:
    from ._api_client import TransportApiClient

DOMAIN_ENV = ("KINDE_DOMAIN", "KINDE_HOST")
CLIENT_ID_ENV = ("KINDE_MANAGEMENT_CLIENT_ID", "KINDE_CLIENT_ID")
CLIENT_SECRET_ENV = ("KINDE_MANAGEMENT_CLIENT_SECRET", "KINDE_CLIENT_SECRET")
AUDIENCE_ENV = ("KINDE_MANAGEMENT_AUDIENCE",)
TOKEN_PATH = "/oauth2/token"


class ManagementClient(SeedMethods):
    """A client for the Kinde Management API.

    Every generated API is an attribute (``client.users``, ``client.organizations``,
    ``client.roles``, ``client.feature_flags``, ...), imported on first use; the Kinde
    SDK README's convenience methods (``get_users``, ``create_user``, ...) sit on the
    client itself. Tokens come from ``{domain}/oauth2/token`` with the client-credentials
    grant, cached and shared by every client with the same credentials in the process.

    Settings not passed fall back to ``KINDE_DOMAIN``/``KINDE_HOST``,
    ``KINDE_MANAGEMENT_CLIENT_ID``/``KINDE_CLIENT_ID`` and
    ``KINDE_MANAGEMENT_CLIENT_SECRET``/``KINDE_CLIENT_SECRET``.

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
    ) -> None:
        domain = require(from_env(domain, *DOMAIN_ENV), "domain", DOMAIN_ENV)
        client_id = require(from_env(client_id, *CLIENT_ID_ENV), "client_id", CLIENT_ID_ENV)
        client_secret = require(
            from_env(client_secret, *CLIENT_SECRET_ENV), "client_secret", CLIENT_SECRET_ENV
        )
        self.origin = normalize_domain(domain)
        self.client_id = client_id
        self.audience = from_env(audience, *AUDIENCE_ENV) or f"{self.origin}/api"
        policy = client_policy(retry, max_retries, deadline)
        self._owns_transport = transport is None
        self._transport = transport or Transport(
            timeout=timeout, retry=policy, headers=default_headers
        )
        self._tokens = ClientCredentialsTokenProvider(
            token_url=f"{self.origin}{TOKEN_PATH}",
            client_id=client_id,
            client_secret=client_secret,
            audience=self.audience,
            transport=self._transport,
            refresh_margin=token_refresh_margin,
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
                        origin=self.origin, transport=self._transport, tokens=self._tokens
                    )
                cls = getattr(
                    importlib.import_module(f"kinde_sdk_generated.api.{module}"), class_name
                )
                api = cls(self._api_client)
                self._apis[module] = api
        return api

    # -- lazy pagination -----------------------------------------------------------------

    def iter_users(self, page_size: Optional[int] = None, **filters: Any) -> Iterator[Any]:
        """Every user, following ``next_token``; pages are fetched as they are consumed."""
        return paginate(self.users.get_users, "users", page_size=page_size, **filters)

    def iter_organizations(self, page_size: Optional[int] = None, **filters: Any) -> Iterator[Any]:
        return paginate(
            self.organizations.get_organizations, "organizations", page_size=page_size, **filters
        )

    def iter_roles(self, page_size: Optional[int] = None, **filters: Any) -> Iterator[Any]:
        return paginate(self.roles.get_roles, "roles", page_size=page_size, **filters)

    def paginate(
        self, list_method: Any, items_field: str, *, page_size: Optional[int] = None, **params: Any
    ) -> Iterator[Any]:
        """Lazily iterate any list operation, e.g.
        ``client.paginate(client.permissions.get_permissions, "permissions")``."""
        return paginate(list_method, items_field, page_size=page_size, **params)
