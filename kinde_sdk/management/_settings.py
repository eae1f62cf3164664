"""The settings of a Management API client, sync or async: one place for both.

Explicit arguments first, environment variables as the fallback, loud errors for
anything missing (:class:`~kinde_sdk.errors.KindeConfigurationError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .._config import from_env, normalize_domain, require

DOMAIN_ENV = ("KINDE_DOMAIN", "KINDE_HOST")
CLIENT_ID_ENV = ("KINDE_MANAGEMENT_CLIENT_ID", "KINDE_CLIENT_ID")
CLIENT_SECRET_ENV = ("KINDE_MANAGEMENT_CLIENT_SECRET", "KINDE_CLIENT_SECRET")
AUDIENCE_ENV = ("KINDE_MANAGEMENT_AUDIENCE",)
TOKEN_PATH = "/oauth2/token"


@dataclass(frozen=True)
class ManagementSettings:
    origin: str
    client_id: str
    client_secret: str = field(repr=False)
    audience: str

    @property
    def token_url(self) -> str:
        return f"{self.origin}{TOKEN_PATH}"

    @classmethod
    def resolve(
        cls,
        domain: Optional[str],
        client_id: Optional[str],
        client_secret: Optional[str],
        audience: Optional[str],
    ) -> ManagementSettings:
        domain = require(from_env(domain, *DOMAIN_ENV), "domain", DOMAIN_ENV)
        client_id = require(from_env(client_id, *CLIENT_ID_ENV), "client_id", CLIENT_ID_ENV)
        client_secret = require(
            from_env(client_secret, *CLIENT_SECRET_ENV), "client_secret", CLIENT_SECRET_ENV
        )
        origin = normalize_domain(domain)
        return cls(
            origin=origin,
            client_id=client_id,
            client_secret=client_secret,
            audience=from_env(audience, *AUDIENCE_ENV) or f"{origin}/api",
        )
