# flake8: noqa

__all__ = [
    "BillingApi",
    "FeatureFlagsApi",
    "OAuthApi",
    "PermissionsApi",
    "PropertiesApi",
    "RolesApi",
    "SelfServePortalApi",
]

import typing as _typing

if _typing.TYPE_CHECKING:
    # import apis into api package
    from kinde_sdk_account_generated.api.billing_api import BillingApi
    from kinde_sdk_account_generated.api.feature_flags_api import FeatureFlagsApi
    from kinde_sdk_account_generated.api.o_auth_api import OAuthApi
    from kinde_sdk_account_generated.api.permissions_api import PermissionsApi
    from kinde_sdk_account_generated.api.properties_api import PropertiesApi
    from kinde_sdk_account_generated.api.roles_api import RolesApi
    from kinde_sdk_account_generated.api.self_serve_portal_api import SelfServePortalApi
    
else:
    from importlib import import_module

    _exports = {
        "BillingApi": ".billing_api",
        "FeatureFlagsApi": ".feature_flags_api",
        "OAuthApi": ".o_auth_api",
        "PermissionsApi": ".permissions_api",
        "PropertiesApi": ".properties_api",
        "RolesApi": ".roles_api",
        "SelfServePortalApi": ".self_serve_portal_api",
    }

    def __getattr__(name: str) -> object:
        if (module_name := _exports.get(name)) is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module_name, __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(globals().keys() | _exports.keys())
