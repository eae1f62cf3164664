"""The public surface: exported names, one typed attribute per generated API, lazy imports."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import kinde_sdk
import kinde_sdk_generated.api as generated_api
from kinde_sdk.management import ManagementClient
from kinde_sdk.management._sub_apis import SubApis


def test_every_exported_name_resolves() -> None:
    for name in kinde_sdk.__all__:
        assert getattr(kinde_sdk, name) is not None, name
    assert sorted(kinde_sdk.__all__) == kinde_sdk.__all__


def test_every_generated_api_class_has_a_client_attribute() -> None:
    modules = [
        m.name for m in pkgutil.iter_modules(generated_api.__path__) if m.name.endswith("_api")
    ]
    assert len(modules) >= 27
    client = ManagementClient("https://acme.kinde.com", "id", "secret")
    for module in modules:
        attribute = module[: -len("_api")]
        assert isinstance(inspect.getattr_static(SubApis, attribute), property), attribute
        classes = [
            obj
            for obj in vars(importlib.import_module(f"kinde_sdk_generated.api.{module}")).values()
            if inspect.isclass(obj) and obj.__module__.endswith(module)
        ]
        api = getattr(client, attribute)
        assert type(api) in classes
        assert getattr(client, attribute) is api  # created once


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_importing_the_client_imports_no_generated_api_or_model() -> None:
    loaded = _modules_after("from kinde_sdk.management import ManagementClient")
    heavy = {
        m
        for m in loaded
        if m.startswith(("kinde_sdk_generated.api.", "kinde_sdk_generated.models."))
    }
    assert heavy == set()


def test_using_one_sub_api_imports_only_that_api_module() -> None:
    loaded = _modules_after(
        "from kinde_sdk.management import ManagementClient\n"
        "ManagementClient('https://acme.kinde.com', 'id', 'secret').users"
    )
    apis = {m for m in loaded if m.startswith("kinde_sdk_generated.api.") and m.endswith("_api")}
    assert apis == {"kinde_sdk_generated.api.users_api"}


def test_import_kinde_sdk_is_lazy() -> None:
    loaded = _modules_after("import kinde_sdk")
    assert "kinde_sdk.management" not in loaded
    assert "pydantic" not in loaded


def test_every_auth_export_resolves() -> None:
    import kinde_sdk.auth as auth

    for name in auth.__all__:
        assert getattr(auth, name) is not None, name
    assert sorted(auth.__all__) == auth.__all__
    assert {"AsyncClientCredentials", "RedisTokenStore", "FileTokenStore"} <= set(auth.__all__)


def test_every_name_of_the_subpackages_resolves() -> None:
    import kinde_sdk.auth
    import kinde_sdk.frameworks
    import kinde_sdk.testing
    import kinde_sdk.webhooks

    for module in (kinde_sdk.auth, kinde_sdk.webhooks, kinde_sdk.testing, kinde_sdk.frameworks):
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    assert {"Claims", "JsonWebKeySet", "Role"} <= set(kinde_sdk.auth.__all__)
    assert {"WebhookReceiver", "WebhookEvent", "UserCreatedEvent"} <= set(
        kinde_sdk.webhooks.__all__
    )
    assert "FakeWebhook" in kinde_sdk.testing.__all__


def test_every_generated_api_class_has_an_async_client_attribute() -> None:
    from kinde_sdk.management import AsyncManagementClient
    from kinde_sdk.management._async_apis import API_CLASSES, AsyncSubApis

    modules = {
        m.name for m in pkgutil.iter_modules(generated_api.__path__) if m.name.endswith("_api")
    }
    assert {module for module, _ in API_CLASSES} == modules
    client = AsyncManagementClient("https://acme.kinde.com", "id", "secret")
    for module, class_name in API_CLASSES:
        attribute = module[: -len("_api")]
        assert isinstance(inspect.getattr_static(AsyncSubApis, attribute), property), attribute
        api = getattr(client, attribute)
        assert repr(api) == f"Async{class_name}()"
        assert getattr(client, attribute) is api  # created once


def test_importing_the_async_client_imports_no_generated_api_or_httpx() -> None:
    loaded = _modules_after("from kinde_sdk.management import AsyncManagementClient")
    heavy = {
        m
        for m in loaded
        if m.startswith(("kinde_sdk_generated.api.", "kinde_sdk_generated.models.", "httpx"))
    }
    assert heavy == set()


def test_the_account_package_exports_resolve_lazily() -> None:
    import kinde_sdk.account as account

    for name in account.__all__:
        assert getattr(account, name) is not None, name
    assert sorted(account.__all__) == account.__all__
    assert kinde_sdk.AccountClient is account.AccountClient
    loaded = _modules_after("from kinde_sdk.account import AccountClient")
    # The client needs neither httpx nor the generated package until it is used so.
    assert not {m for m in loaded if m.startswith("kinde_sdk_account_generated")}
    assert "httpx" not in loaded


def test_retry_and_response_limit_names_are_public() -> None:
    from kinde_sdk import management
    from kinde_sdk._retry import RetryPolicy
    from kinde_sdk._transport import ResponseLimits
    from kinde_sdk.errors import ResponseTooLargeError

    for name in ("RetryPolicy", "ResponseLimits", "ResponseTooLargeError"):
        assert name in kinde_sdk.__all__
    assert kinde_sdk.RetryPolicy is RetryPolicy
    assert kinde_sdk.ResponseLimits is ResponseLimits
    assert kinde_sdk.ResponseTooLargeError is ResponseTooLargeError
    assert "RetryPolicy" in management.__all__
    assert management.RetryPolicy is RetryPolicy
    assert "ResponseTooLargeError" in kinde_sdk.errors.__all__
