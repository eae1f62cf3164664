# flake8: noqa

__all__ = [
    "APIKeysApi",
    "APIsApi",
    "ApplicationsApi",
    "BillingAgreementsApi",
    "BillingEntitlementsApi",
    "BillingMeterUsageApi",
    "BusinessApi",
    "CallbacksApi",
    "ConnectedAppsApi",
    "ConnectionsApi",
    "DirectoriesApi",
    "EnvironmentVariablesApi",
    "EnvironmentsApi",
    "FeatureFlagsApi",
    "IdentitiesApi",
    "IndustriesApi",
    "MFAApi",
    "OrganizationsApi",
    "PermissionsApi",
    "PropertiesApi",
    "PropertyCategoriesApi",
    "RolesApi",
    "SearchApi",
    "SubscribersApi",
    "TimezonesApi",
    "UsersApi",
    "WebhooksApi",
]

import typing as _typing

if _typing.TYPE_CHECKING:
    # import apis into api package
    from kinde_sdk_generated.api.api_keys_api import APIKeysApi
    from kinde_sdk_generated.api.apis_api import APIsApi
    from kinde_sdk_generated.api.applications_api import ApplicationsApi
    from kinde_sdk_generated.api.billing_agreements_api import BillingAgreementsApi
    from kinde_sdk_generated.api.billing_entitlements_api import BillingEntitlementsApi
    from kinde_sdk_generated.api.billing_meter_usage_api import BillingMeterUsageApi
    from kinde_sdk_generated.api.business_api import BusinessApi
    from kinde_sdk_generated.api.callbacks_api import CallbacksApi
    from kinde_sdk_generated.api.connected_apps_api import ConnectedAppsApi
    from kinde_sdk_generated.api.connections_api import ConnectionsApi
    from kinde_sdk_generated.api.directories_api import DirectoriesApi
    from kinde_sdk_generated.api.environment_variables_api import EnvironmentVariablesApi
    from kinde_sdk_generated.api.environments_api import EnvironmentsApi
    from kinde_sdk_generated.api.feature_flags_api import FeatureFlagsApi
    from kinde_sdk_generated.api.identities_api import IdentitiesApi
    from kinde_sdk_generated.api.industries_api import IndustriesApi
    from kinde_sdk_generated.api.mfa_api import MFAApi
    from kinde_sdk_generated.api.organizations_api import OrganizationsApi
    from kinde_sdk_generated.api.permissions_api import PermissionsApi
    from kinde_sdk_generated.api.properties_api import PropertiesApi
    from kinde_sdk_generated.api.property_categories_api import PropertyCategoriesApi
    from kinde_sdk_generated.api.roles_api import RolesApi
    from kinde_sdk_generated.api.search_api import SearchApi
    from kinde_sdk_generated.api.subscribers_api import SubscribersApi
    from kinde_sdk_generated.api.timezones_api import TimezonesApi
    from kinde_sdk_generated.api.users_api import UsersApi
    from kinde_sdk_generated.api.webhooks_api import WebhooksApi
    
else:
    from importlib import import_module

    _exports = {
        "APIKeysApi": ".api_keys_api",
        "APIsApi": ".apis_api",
        "ApplicationsApi": ".applications_api",
        "BillingAgreementsApi": ".billing_agreements_api",
        "BillingEntitlementsApi": ".billing_entitlements_api",
        "BillingMeterUsageApi": ".billing_meter_usage_api",
        "BusinessApi": ".business_api",
        "CallbacksApi": ".callbacks_api",
        "ConnectedAppsApi": ".connected_apps_api",
        "ConnectionsApi": ".connections_api",
        "DirectoriesApi": ".directories_api",
        "EnvironmentVariablesApi": ".environment_variables_api",
        "EnvironmentsApi": ".environments_api",
        "FeatureFlagsApi": ".feature_flags_api",
        "IdentitiesApi": ".identities_api",
        "IndustriesApi": ".industries_api",
        "MFAApi": ".mfa_api",
        "OrganizationsApi": ".organizations_api",
        "PermissionsApi": ".permissions_api",
        "PropertiesApi": ".properties_api",
        "PropertyCategoriesApi": ".property_categories_api",
        "RolesApi": ".roles_api",
        "SearchApi": ".search_api",
        "SubscribersApi": ".subscribers_api",
        "TimezonesApi": ".timezones_api",
        "UsersApi": ".users_api",
        "WebhooksApi": ".webhooks_api",
    }

    def __getattr__(name: str) -> object:
        if (module_name := _exports.get(name)) is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module_name, __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(globals().keys() | _exports.keys())
