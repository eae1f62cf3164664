"""``KindeApiClient`` names of the Kinde README: ``fetch_openid_configuration(oauth)``."""

from __future__ import annotations

import asyncio

import pytest

from kinde_sdk.auth import AsyncOAuth, OAuth
from kinde_sdk.core.storage import MemoryStorage
from kinde_sdk.enums import GrantType
from kinde_sdk.kinde_api_client import KindeApiClient
from kinde_sdk.testing import FakeKinde


def test_fetch_openid_configuration_is_the_cached_document_oauth_uses(
    fake_kinde: FakeKinde,
) -> None:
    oauth = OAuth(
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        redirect_uri="http://127.0.0.1:8000/callback",
        host=fake_kinde.domain,
        storage=MemoryStorage(),
    )
    api_client = KindeApiClient(
        domain=fake_kinde.domain,
        callback_url="http://127.0.0.1:8000/callback",
        client_id=fake_kinde.client_id,
        client_secret=fake_kinde.client_secret,
        grant_type=GrantType.CLIENT_CREDENTIALS,
    )
    before = fake_kinde.discovery_requests
    config = api_client.fetch_openid_configuration(oauth)
    assert config == fake_kinde.openid_configuration()
    config["token_endpoint"] = "changed by the caller"
    again = api_client.fetch_openid_configuration(oauth)
    assert again["token_endpoint"] == fake_kinde.token_endpoint  # a copy was handed out
    assert oauth.login().startswith(config["authorization_endpoint"])
    assert fake_kinde.discovery_requests == before + 1  # fetched once, shared with OAuth


def test_fetch_openid_configuration_refuses_what_is_not_a_sync_oauth(
    fake_kinde: FakeKinde,
) -> None:
    api_client = KindeApiClient(domain=fake_kinde.domain, client_id="id", client_secret="s")
    with pytest.raises(TypeError, match="needs an OAuth client"):
        api_client.fetch_openid_configuration(object())  # type: ignore[arg-type]

    async def with_async_oauth() -> None:
        async with AsyncOAuth(
            client_id="id",
            redirect_uri="http://127.0.0.1/callback",
            host=fake_kinde.domain,
            storage=MemoryStorage(),
        ) as oauth:
            with pytest.raises(TypeError, match=r"await oauth\.get_openid_configuration"):
                api_client.fetch_openid_configuration(oauth)  # type: ignore[arg-type]

    asyncio.run(with_async_oauth())
