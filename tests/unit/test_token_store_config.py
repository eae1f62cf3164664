"""A token_store that is not a token store is a clear configuration error, on every
client that takes one (the check lives where the store is used: _token_store)."""

from __future__ import annotations

from typing import Any

import pytest

from kinde_sdk import ManagementClient
from kinde_sdk._token_cache import ClientCredentialsTokenProvider
from kinde_sdk._transport import Transport
from kinde_sdk.errors import KindeConfigurationError


@pytest.mark.parametrize("store", ["redis://localhost:6379/0", object()])
def test_management_client_refuses_a_token_store_that_is_not_one(store: Any) -> None:
    with pytest.raises(KindeConfigurationError, match="token_store must be"):
        ManagementClient("https://example.kinde.com", "client-id", "s3cret", token_store=store)


def test_token_provider_refuses_a_token_store_that_is_not_one() -> None:
    with pytest.raises(KindeConfigurationError, match="token_store must be"):
        ClientCredentialsTokenProvider(
            token_url="https://example.kinde.com/oauth2/token",
            client_id="client-id",
            client_secret="s3cret",
            audience=None,
            transport=Transport(),
            token_store="redis://localhost:6379/0",  # type: ignore[arg-type]
        )
