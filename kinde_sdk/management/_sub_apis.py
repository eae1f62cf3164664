"""One typed attribute per generated API class (``client.users``, ``client.roles``, ...).

Each property imports its API module on first use only (tens of milliseconds each), so
a client that only manages users never pays for the other 26.
``tests/unit/test_public_surface.py`` checks that every generated API class has its
attribute here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


class SubApis:
    """Mixin for :class:`~kinde_sdk.management.ManagementClient`."""

    def _sub_api(self, module: str, class_name: str) -> Any:
        raise NotImplementedError

    @property
    def api_keys(self) -> APIKeysApi:
        return self._sub_api("api_keys_api", "APIKeysApi")  # type: ignore[no-any-return]

    @property
    def apis(self) -> APIsApi:
        return self._sub_api("apis_api", "APIsApi")  # type: ignore[no-any-return]

    @property
    def applications(self) -> ApplicationsApi:
        return self._sub_api("applications_api", "ApplicationsApi")  # type: ignore[no-any-return]

    @property
    def billing_agreements(self) -> BillingAgreementsApi:
        return self._sub_api("billing_agreements_api", "BillingAgreementsApi")  # type: ignore[no-any-return]

    @property
    def billing_entitlements(self) -> BillingEntitlementsApi:
        return self._sub_api("billing_entitlements_api", "BillingEntitlementsApi")  # type: ignore[no-any-return]

    @property
    def billing_meter_usage(self) -> BillingMeterUsageApi:
        return self._sub_api("billing_meter_usage_api", "BillingMeterUsageApi")  # type: ignore[no-any-return]

    @property
    def business(self) -> BusinessApi:
        return self._sub_api("business_api", "BusinessApi")  # type: ignore[no-any-return]

    @property
    def callbacks(self) -> CallbacksApi:
        return self._sub_api("callbacks_api", "CallbacksApi")  # type: ignore[no-any-return]

    @property
    def connected_apps(self) -> ConnectedAppsApi:
        return self._sub_api("connected_apps_api", "ConnectedAppsApi")  # type: ignore[no-any-return]

    @property
    def connections(self) -> ConnectionsApi:
        return self._sub_api("connections_api", "ConnectionsApi")  # type: ignore[no-any-return]

    @property
    def directories(self) -> DirectoriesApi:
        return self._sub_api("directories_api", "DirectoriesApi")  # type: ignore[no-any-return]

    @property
    def environment_variables(self) -> EnvironmentVariablesApi:
        return self._sub_api("environment_variables_api", "EnvironmentVariablesApi")  # type: ignore[no-any-return]

    @property
    def environments(self) -> EnvironmentsApi:
        return self._sub_api("environments_api", "EnvironmentsApi")  # type: ignore[no-any-return]

    @property
    def feature_flags(self) -> FeatureFlagsApi:
        return self._sub_api("feature_flags_api", "FeatureFlagsApi")  # type: ignore[no-any-return]

    @property
    def identities(self) -> IdentitiesApi:
        return self._sub_api("identities_api", "IdentitiesApi")  # type: ignore[no-any-return]

    @property
    def industries(self) -> IndustriesApi:
        return self._sub_api("industries_api", "IndustriesApi")  # type: ignore[no-any-return]

    @property
    def mfa(self) -> MFAApi:
        return self._sub_api("mfa_api", "MFAApi")  # type: ignore[no-any-return]

    @property
    def organizations(self) -> OrganizationsApi:
        return self._sub_api("organizations_api", "OrganizationsApi")  # type: ignore[no-any-return]

    @property
    def permissions(self) -> PermissionsApi:
        return self._sub_api("permissions_api", "PermissionsApi")  # type: ignore[no-any-return]

    @property
    def properties(self) -> PropertiesApi:
        return self._sub_api("properties_api", "PropertiesApi")  # type: ignore[no-any-return]

    @property
    def property_categories(self) -> PropertyCategoriesApi:
        return self._sub_api("property_categories_api", "PropertyCategoriesApi")  # type: ignore[no-any-return]

    @property
    def roles(self) -> RolesApi:
        return self._sub_api("roles_api", "RolesApi")  # type: ignore[no-any-return]

    @property
    def search(self) -> SearchApi:
        return self._sub_api("search_api", "SearchApi")  # type: ignore[no-any-return]

    @property
    def subscribers(self) -> SubscribersApi:
        return self._sub_api("subscribers_api", "SubscribersApi")  # type: ignore[no-any-return]

    @property
    def timezones(self) -> TimezonesApi:
        return self._sub_api("timezones_api", "TimezonesApi")  # type: ignore[no-any-return]

    @property
    def users(self) -> UsersApi:
        return self._sub_api("users_api", "UsersApi")  # type: ignore[no-any-return]

    @property
    def webhooks(self) -> WebhooksApi:
        return self._sub_api("webhooks_api", "WebhooksApi")  # type: ignore[no-any-return]
