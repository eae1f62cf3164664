"""FastAPI: the shared AsyncManagementClient of KindeLifespan, and the seed's get_kinde_client.

Real app, real lifespan (Starlette's TestClient runs startup and shutdown on its own event
loop), and the Management API served by Prism behind the loopback token front.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("fastapi")

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient

from kinde_sdk.errors import KindeConfigurationError
from kinde_sdk.frameworks.fastapi import (
    KindeLifespan,
    get_kinde_client,
    get_management_client,
)
from kinde_sdk.kinde_api_client import KindeApiClient
from kinde_sdk.management import AsyncManagementClient, ManagementClient
from tests.servers.front import FrontServer

pytestmark = pytest.mark.prism


def _settings(front: FrontServer) -> dict[str, Any]:
    return {
        "domain": front.url,
        "client_id": front.state.client_id,
        "client_secret": front.state.client_secret,
        "max_retries": 0,
    }


def test_one_client_per_app_from_startup_to_shutdown(kinde_domain: FrontServer) -> None:
    seen: list[AsyncManagementClient] = []
    app = FastAPI(lifespan=KindeLifespan(**_settings(kinde_domain)))

    @app.get("/users")
    async def users(
        management: AsyncManagementClient = Depends(get_management_client),
    ) -> dict[str, Any]:
        seen.append(management)
        page = await management.users.get_users(page_size=10)
        return {"count": len(page.users or [])}

    with TestClient(app) as client:
        first = client.get("/users")
        second = client.get("/users")
        assert first.status_code == second.status_code == 200
        assert first.json()["count"] >= 1
        assert seen[0] is seen[1]  # shared, not one per request
        assert not seen[0]._transport._closed
    assert seen[0]._transport._closed  # closed at shutdown


def test_the_apps_own_lifespan_runs_inside_and_sees_the_client(
    kinde_domain: FrontServer,
) -> None:
    events: list[str] = []

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def own(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        management = app.state.kinde_management
        events.append(f"start {type(management).__name__}")
        yield {"greeting": "hello"}
        events.append("stop")

    app = FastAPI(lifespan=KindeLifespan(lifespan=own, **_settings(kinde_domain)))

    @app.get("/")
    async def home(request: Any = None) -> dict[str, str]:
        return {"ok": "yes"}

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
    assert events == ["start AsyncManagementClient", "stop"]


def test_missing_settings_fail_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KINDE_DOMAIN", "KINDE_HOST", "KINDE_MANAGEMENT_CLIENT_ID", "KINDE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    app = FastAPI(lifespan=KindeLifespan())
    with pytest.raises(KindeConfigurationError, match="domain"), TestClient(app):
        pass


def test_without_the_lifespan_the_dependency_says_what_to_do() -> None:
    app = FastAPI()

    @app.get("/users")
    async def users(management: Any = Depends(get_management_client)) -> None:
        raise AssertionError("not reached")

    with TestClient(app) as client, pytest.raises(KindeConfigurationError, match="KindeLifespan"):
        client.get("/users")


def test_the_seed_protected_route_as_written(
    kinde_domain: FrontServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Kinde SDK README's FastAPI snippet, verbatim, with get_kinde_client imported
    from the integration: the route gets the app's KindeApiClient."""
    monkeypatch.setenv("KINDE_DOMAIN", kinde_domain.url)
    monkeypatch.setenv("KINDE_CLIENT_ID", kinde_domain.state.client_id)
    monkeypatch.setenv("KINDE_CLIENT_SECRET", kinde_domain.state.client_secret)
    app = FastAPI()
    router = APIRouter()
    handed: list[Any] = []

    # --- the README, as written ---
    from fastapi import Depends

    from kinde_sdk.kinde_api_client import KindeApiClient

    @router.get("/protected")
    async def protected_route(kinde_client: KindeApiClient = Depends(get_kinde_client)):  # type: ignore[no-untyped-def]
        handed.append(kinde_client)
        return {"message": "This is a protected route"}

    # --- end ---

    app.include_router(router)
    with TestClient(app) as client:
        assert client.get("/protected").json() == {"message": "This is a protected route"}
        assert client.get("/protected").status_code == 200
    assert isinstance(handed[0], KindeApiClient)
    assert handed[0] is handed[1]
    management = handed[0].get_management()
    assert isinstance(management, ManagementClient)
    assert management.get_users(page_size=1).users is not None
    management.close()


def test_with_the_lifespan_get_kinde_client_is_the_one_from_startup(
    kinde_domain: FrontServer,
) -> None:
    handed: list[KindeApiClient] = []
    app = FastAPI(lifespan=KindeLifespan(**_settings(kinde_domain)))

    @app.get("/protected")
    async def protected_route(
        kinde_client: KindeApiClient = Depends(get_kinde_client),
    ) -> dict[str, str]:
        handed.append(kinde_client)
        return {"message": "This is a protected route"}

    with TestClient(app) as client:
        assert client.get("/protected").status_code == 200
        assert handed[0] is app.state.kinde_client
        management = handed[0].get_management()
        assert management.get_users(page_size=1).users is not None
    assert management._transport._closed.is_set()  # closed at shutdown
