"""AccountClient and AsyncAccountClient against Prism serving the Account API spec (the
"account" entry of openapi/spec.lock.json, openapi/account-spec-fixes.toml applied) with
request validation on: every operation, sync and async, pagination across several pages,
typed errors (403, 429), and answers checked against the spec's models (strict_responses).

Prism validates each request; a request that breaks the spec fails the test with
Prism's reason. The proxy in front (tests/servers/account_front.py) records what was
sent and serves several pages of a list (Prism's own examples are one page).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from kinde_sdk._async_transport import AsyncTransport
from kinde_sdk._retry import RetryPolicy
from kinde_sdk._transport import Transport
from kinde_sdk.account import AccountClient, AsyncAccountClient
from kinde_sdk.account import _models as models
from kinde_sdk.errors import PermissionDeniedError, RateLimitError
from tests.servers._process import ServerProcess
from tests.servers.account_front import AccountFront
from tests.servers.prism import start_prism

pytestmark = pytest.mark.prism

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrcF8xIn0.c2lnbmF0dXJl"  # a dummy
CLIENT_ID = "3b0b5c6c8fcc464fab397f4969b5f482"
NO_RETRY = RetryPolicy(max_retries=0)


@pytest.fixture(scope="module")
def account_prism() -> Iterator[ServerProcess]:
    server = start_prism(spec_name="account")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def account_front(account_prism: ServerProcess) -> Iterator[AccountFront]:
    front = AccountFront(upstream=account_prism.url).start()
    yield front
    front.stop()


@pytest.fixture
def front(account_front: AccountFront, account_prism: ServerProcess) -> Iterator[AccountFront]:
    """The proxy, reset; after the test, any request Prism found invalid fails it."""
    account_front.state.reset()
    before = len(account_front.state.violations)
    yield account_front
    new = account_front.state.violations[before:]
    if new:
        pytest.fail("requests broke the Account API spec:\n  " + "\n  ".join(new))


@pytest.fixture
def client(front: AccountFront) -> Iterator[AccountClient]:
    transport = Transport(retry=NO_RETRY)
    yield AccountClient(
        TOKEN,
        domain=front.url,
        client_id=CLIENT_ID,
        transport=transport,
        strict_responses=True,
    )
    transport.close()


def async_client(front: AccountFront) -> AsyncAccountClient:
    return AsyncAccountClient(
        TOKEN,
        domain=front.url,
        client_id=CLIENT_ID,
        transport=AsyncTransport(retry=NO_RETRY),
        strict_responses=True,
    )


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def every_operation_async(front: AccountFront) -> dict[str, Any]:
    client = async_client(front)
    try:
        return {
            "entitlements": await client.get_entitlements(),
            "entitlement": await client.get_entitlement("seats"),
            "flags": await client.get_feature_flags(),
            "permissions": await client.get_permissions(),
            "roles": await client.get_roles(),
            "properties": await client.get_properties(),
            "portal": await client.get_portal_link(
                subnav="plan_selection", return_url="https://a.b/"
            ),
            "profile": await client.get_user_profile(),
            "introspect": await client.introspect(),
            "revoke": await client.revoke(),
        }
    finally:
        await client._transport.aclose()


def every_operation_sync(client: AccountClient) -> dict[str, Any]:
    return {
        "entitlements": client.get_entitlements(),
        "entitlement": client.get_entitlement("seats"),
        "flags": client.get_feature_flags(),
        "permissions": client.get_permissions(),
        "roles": client.get_roles(),
        "properties": client.get_properties(),
        "portal": client.get_portal_link(subnav="plan_selection", return_url="https://a.b/"),
        "profile": client.get_user_profile(),
        "introspect": client.introspect(),
        "revoke": client.revoke(),
    }


def check_every_operation(results: dict[str, Any], front: AccountFront) -> None:
    entitlements = results["entitlements"]
    assert isinstance(entitlements, models.Entitlements)
    assert entitlements.org_code == "org_0195ac80a14e"
    assert [p.key for p in entitlements.plans] == ["pro_plan"]
    assert entitlements.get("base_price") is not None
    assert entitlements.get("base_price").fixed_charge == 35  # type: ignore[union-attr]
    entitlement = results["entitlement"]
    assert isinstance(entitlement, models.Entitlement)
    assert entitlement.feature_key == "seats" and entitlement.entitlement_limit_max == 10
    flags = results["flags"]
    # Prism answers the oneOf `value` with its first alternative, a string.
    assert flags.get("new_feature_key").type == "boolean"
    assert flags.as_claim() == {
        "new_feature_key": {"t": "b", "v": flags.get("new_feature_key").value}
    }
    assert results["permissions"].keys == ["view_reports"]
    assert results["permissions"].org_code == "org_0195ac80a14e"
    assert results["roles"].keys == ["admin"]
    assert list(results["properties"].as_dict()) == ["company_name"]
    assert results["portal"].url.startswith("https://")
    assert results["profile"].email == "john.snow@example.com"
    assert results["profile"].email_verified is True
    assert results["introspect"].client_id == CLIENT_ID
    assert results["revoke"] is None
    sent = {(method, path): (query, form) for method, path, query, form in front.state.requests}
    assert ("GET", "/account_api/v1/entitlement/seats") in sent
    assert sent[("GET", "/account_api/v1/portal_link")][0] == {
        "subnav": "plan_selection",
        "return_url": "https://a.b/",
    }
    assert sent[("POST", "/oauth2/introspect")][1] == {"token": TOKEN}
    assert sent[("POST", "/oauth2/revoke")][1] == {
        "token": TOKEN,
        "client_id": CLIENT_ID,
        "token_type_hint": "access_token",
    }
    assert len(front.state.requests) == 10


def test_every_operation_sync(client: AccountClient, front: AccountFront) -> None:
    check_every_operation(every_operation_sync(client), front)


def test_every_operation_async(front: AccountFront) -> None:
    check_every_operation(run(every_operation_async(front)), front)


LIST_CALLS = {
    "/account_api/v1/entitlements": "get_entitlements",
    "/account_api/v1/feature_flags": "get_feature_flags",
    "/account_api/v1/permissions": "get_permissions",
    "/account_api/v1/properties": "get_properties",
    "/account_api/v1/roles": "get_roles",
}


@pytest.mark.parametrize("path", sorted(LIST_CALLS))
def test_every_list_follows_every_page(
    client: AccountClient, front: AccountFront, path: str
) -> None:
    front.state.items[path] = 23
    result = getattr(client, LIST_CALLS[path])(page_size=5)
    assert len(result) == 23
    assert len({item.id for item in result}) == 23
    pages = [(q, f) for m, p, q, f in front.state.requests if p == path]
    assert len(pages) == 5  # 5 + 5 + 5 + 5 + 3
    assert pages[0][0] == {"page_size": "5"}
    assert pages[1][0] == {"page_size": "5", "starting_after": f"{path.rsplit('/', 1)[-1]}_0004"}


def test_async_lists_follow_every_page(front: AccountFront) -> None:
    for path in LIST_CALLS:
        front.state.items[path] = 12

    async def main() -> dict[str, Any]:
        client = async_client(front)
        try:  # Kinde's default page size, 10: two pages each
            return {path: await getattr(client, name)() for path, name in LIST_CALLS.items()}
        finally:
            await client._transport.aclose()

    results = run(main())
    for path, result in results.items():
        assert len(result) == 12 and len({item.id for item in result}) == 12, path
    assert results["/account_api/v1/entitlements"].plans[0].key == "pro_plan"
    assert len(front.state.requests) == 2 * len(LIST_CALLS)


def test_403_is_a_permission_error_never_an_empty_result(
    client: AccountClient, front: AccountFront
) -> None:
    front.state.prefer_code = 403
    for call in (
        client.get_entitlements,
        client.get_feature_flags,
        client.get_permissions,
        client.get_roles,
        client.get_properties,
        client.get_user_profile,
        client.get_portal_link,
    ):
        with pytest.raises(PermissionDeniedError) as caught:
            call()
        assert caught.value.status == 403


def test_429_carries_retry_after(client: AccountClient, front: AccountFront) -> None:
    front.state.prefer_code = 429
    front.state.retry_after = "7"
    with pytest.raises(RateLimitError) as caught:
        client.get_entitlement("seats")
    assert caught.value.retry_after == 7.0


def test_async_errors_are_the_same(front: AccountFront) -> None:
    front.state.prefer_code = 429
    front.state.retry_after = "3"

    async def main() -> None:
        client = async_client(front)
        try:
            with pytest.raises(RateLimitError) as caught:
                await client.get_roles()
            assert caught.value.retry_after == 3.0
        finally:
            await client._transport.aclose()

    run(main())
