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


@pytest.mark.parametrize("margin", [-5, float("nan"), float("inf"), True, "60"])
def test_management_client_refuses_an_unusable_token_refresh_margin(margin: Any) -> None:
    # Checked by the token cache itself: before, a negative margin served tokens past
    # their expiry and a NaN one made every call a token request.
    with pytest.raises(KindeConfigurationError, match="refresh_margin"):
        ManagementClient(
            "https://example.kinde.com", "client-id", "s3cret", token_refresh_margin=margin
        )


def test_client_credentials_refuses_an_unusable_refresh_margin() -> None:
    from kinde_sdk.auth import ClientCredentials

    with pytest.raises(KindeConfigurationError, match="refresh_margin"):
        ClientCredentials(
            "https://example.kinde.com", "client-id", "s3cret", refresh_margin=float("nan")
        )


@pytest.mark.parametrize("setting", ["lock_ttl", "lock_wait", "retry_interval"])
@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "5"])
def test_token_store_refuses_unusable_durations(tmp_path: Any, setting: str, value: Any) -> None:
    # A NaN or infinite lock_wait was accepted: a process waiting for another's token
    # then never gave up.
    from kinde_sdk.auth import FileTokenStore

    with pytest.raises(KindeConfigurationError, match=setting):
        FileTokenStore(tmp_path / "tokens", **{setting: value})


@pytest.mark.parametrize("value", [0, float("nan"), float("inf"), "1"])
def test_redis_token_store_refuses_an_unusable_socket_timeout(value: Any) -> None:
    # An infinite timeout was accepted: a dead Redis then blocked the caller for good.
    from kinde_sdk.auth import RedisTokenStore

    with pytest.raises(KindeConfigurationError, match="socket_timeout"):
        RedisTokenStore("redis://127.0.0.1:1/0", socket_timeout=value)
