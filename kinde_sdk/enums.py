"""Enumerations from the Kinde SDK README."""

from __future__ import annotations

from enum import Enum

__all__ = ["GrantType"]


class GrantType(str, Enum):
    """OAuth 2.0 grant types."""

    CLIENT_CREDENTIALS = "client_credentials"
    AUTHORIZATION_CODE = "authorization_code"
    AUTHORIZATION_CODE_WITH_PKCE = "authorization_code_with_pkce"
    REFRESH_TOKEN = "refresh_token"
