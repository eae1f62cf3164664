"""``KindeApiClient``, the entry point of the Kinde SDK README's Management API section.

A thin layer over :class:`kinde_sdk.management.ManagementClient`; new code can build a
``ManagementClient`` directly.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Optional, Union

from .enums import GrantType
from .errors import KindeConfigurationError
from .management import ManagementClient

if TYPE_CHECKING:
    from .auth.oauth import OAuth

__all__ = ["KindeApiClient"]


class KindeApiClient:
    """Holds the application's Kinde settings and hands out the management client."""

    def __init__(
        self,
        domain: Optional[str] = None,
        callback_url: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        grant_type: Union[GrantType, str] = GrantType.CLIENT_CREDENTIALS,
        **management_options: Any,
    ) -> None:
        self.callback_url = callback_url
        self.grant_type = GrantType(grant_type)
        self._domain = domain
        self._client_id = client_id
        self._client_secret = client_secret
        self._management_options = management_options
        self._management: Optional[ManagementClient] = None

    def __repr__(self) -> str:
        return f"KindeApiClient(domain={self._domain!r}, client_id={self._client_id!r})"

    def get_management(self) -> ManagementClient:
        """The Management API client for these credentials (created once, then reused)."""
        if self._management is None:
            if self.grant_type is not GrantType.CLIENT_CREDENTIALS:
                raise KindeConfigurationError(
                    "the Management API needs grant_type=GrantType.CLIENT_CREDENTIALS"
                )
            self._management = ManagementClient(
                self._domain, self._client_id, self._client_secret, **self._management_options
            )
        return self._management

    def fetch_openid_configuration(self, oauth: OAuth) -> dict[str, Any]:
        """The OpenID provider metadata of ``oauth``'s Kinde domain (authorization, token,
        revocation and end-session endpoints, JWKS URL, issuer): the very document
        ``oauth`` builds its URLs from, fetched once and cached by ``oauth``, so calling
        this costs no second request. Returns a copy the caller may change.

        An :class:`~kinde_sdk.auth.AsyncOAuth` has its own
        ``await oauth.get_openid_configuration()``.
        """
        getter = getattr(oauth, "get_openid_configuration", None)
        if getter is None:
            raise TypeError(
                f"fetch_openid_configuration needs an OAuth client, got {type(oauth).__name__}"
            )
        if inspect.iscoroutinefunction(getter):
            raise TypeError(
                "this is an AsyncOAuth: use `await oauth.get_openid_configuration()` instead"
            )
        configuration: dict[str, Any] = getter()
        return configuration
