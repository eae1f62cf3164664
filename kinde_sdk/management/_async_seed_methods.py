"""The Kinde SDK README's convenience methods, awaitable: the async twins of
:mod:`._seed_methods`, with the same signatures, results and documentation.

The logic lives in :mod:`._seed_core` (no I/O); these methods only await it with the
async client's operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _seed_core as core
from ._async_apis import AsyncSubApis

if TYPE_CHECKING:
    from kinde_sdk_generated.models.create_organization_response_organization import (
        CreateOrganizationResponseOrganization,
    )
    from kinde_sdk_generated.models.create_roles_response_role import CreateRolesResponseRole
    from kinde_sdk_generated.models.create_user_response import CreateUserResponse
    from kinde_sdk_generated.models.get_organization_response import GetOrganizationResponse
    from kinde_sdk_generated.models.get_organizations_response import GetOrganizationsResponse
    from kinde_sdk_generated.models.get_role_response import GetRoleResponse
    from kinde_sdk_generated.models.get_roles_response import GetRolesResponse
    from kinde_sdk_generated.models.success_response import SuccessResponse
    from kinde_sdk_generated.models.update_user_response import UpdateUserResponse
    from kinde_sdk_generated.models.user import User
    from kinde_sdk_generated.models.users_response import UsersResponse

    from ._flags import FeatureFlag, FeatureFlagList


class AsyncSeedMethods(AsyncSubApis):
    """Mixin for :class:`~kinde_sdk.management.AsyncManagementClient`."""

    # -- users ---------------------------------------------------------------------------

    async def get_users(self, page_size: Optional[int] = None, **filters: Any) -> UsersResponse:
        """One page of users. ``filters`` are get_users' query parameters
        (``next_token``, ``email``, ``expand``, ...)."""
        return await core.arun(self, core.one("users", "get_users", page_size=page_size, **filters))

    async def get_user(self, user_id: str, **options: Any) -> User:
        return await core.arun(self, core.one("users", "get_user_data", id=user_id, **options))

    async def create_user(
        self,
        first_name: Optional[str] = None,
        last_name: Optional[str] = None,
        email: Optional[str] = None,
        *,
        organization_code: Optional[str] = None,
        provided_id: Optional[str] = None,
        email_verified: Optional[bool] = None,
    ) -> CreateUserResponse:
        """Create a user; the result's ``id`` is the new user's id."""
        return await core.arun(
            self,
            core.create_user(
                first_name, last_name, email, organization_code, provided_id, email_verified
            ),
        )

    async def update_user(
        self,
        user_id: str,
        first_name: Optional[str] = None,
        last_name: Optional[str] = None,
        **fields: Any,
    ) -> UpdateUserResponse:
        """Update a user's names; ``fields`` are other UpdateUserRequest fields
        (``picture``, ``is_suspended``, ...)."""
        return await core.arun(self, core.update_user(user_id, first_name, last_name, fields))

    async def delete_user(
        self, user_id: str, *, is_delete_profile: Optional[bool] = None
    ) -> SuccessResponse:
        return await core.arun(
            self,
            core.one("users", "delete_user", id=user_id, is_delete_profile=is_delete_profile),
        )

    # -- organizations -------------------------------------------------------------------

    async def get_organizations(
        self, page_size: Optional[int] = None, **filters: Any
    ) -> GetOrganizationsResponse:
        return await core.arun(
            self,
            core.one("organizations", "get_organizations", page_size=page_size, **filters),
        )

    async def get_organization(self, org_code: str, **options: Any) -> GetOrganizationResponse:
        return await core.arun(
            self, core.one("organizations", "get_organization", code=org_code, **options)
        )

    async def create_organization(
        self, name: str, **fields: Any
    ) -> CreateOrganizationResponseOrganization:
        """Create an organization; the result's ``code`` is the new organization's code
        (the API's envelope also has a ``code``, its status, which is not returned)."""
        return await core.arun(self, core.create_organization(name, fields))

    async def update_organization(
        self, org_code: str, name: Optional[str] = None, **fields: Any
    ) -> SuccessResponse:
        return await core.arun(self, core.update_organization(org_code, name, fields))

    async def delete_organization(self, org_code: str) -> SuccessResponse:
        return await core.arun(
            self, core.one("organizations", "delete_organization", org_code=org_code)
        )

    # -- roles ---------------------------------------------------------------------------

    async def get_roles(self, page_size: Optional[int] = None, **filters: Any) -> GetRolesResponse:
        return await core.arun(self, core.one("roles", "get_roles", page_size=page_size, **filters))

    async def get_role(self, role_id: str) -> GetRoleResponse:
        return await core.arun(self, core.one("roles", "get_role", role_id=role_id))

    async def create_role(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        key: Optional[str] = None,
        **fields: Any,
    ) -> CreateRolesResponseRole:
        """Create a role; the result's ``id`` is the new role's id."""
        return await core.arun(self, core.create_role(name, description, key, fields))

    async def update_role(
        self,
        role_id: str,
        name: Optional[str] = None,
        description: Optional[str] = None,
        key: Optional[str] = None,
        **fields: Any,
    ) -> SuccessResponse:
        """Update a role. The API requires both ``name`` and ``key``; a missing one is read
        from the role first (one extra request)."""
        return await core.arun(self, core.update_role(role_id, name, description, key, fields))

    async def delete_role(self, role_id: str) -> SuccessResponse:
        return await core.arun(self, core.one("roles", "delete_role", role_id=role_id))

    # -- feature flags -------------------------------------------------------------------

    async def get_feature_flags(self, page_size: Optional[int] = None) -> FeatureFlagList:
        """The environment's feature flags, as a list of flags (key, type, value).

        The API has no list-all-flags operation other than the environment's, and that
        one is not paginated: ``page_size`` is accepted for compatibility and, when
        given, keeps only the first ``page_size`` flags.
        """
        return await core.arun(self, core.get_feature_flags(page_size))

    async def create_feature_flag(
        self,
        name: str,
        key: str,
        type: str,
        default_value: Any,
        description: Optional[str] = None,
        allow_override_level: Optional[str] = None,
    ) -> FeatureFlag:
        """Create a flag. ``type`` takes the README's ``boolean``/``string``/``integer``
        or the API's ``bool``/``str``/``int``; ``default_value`` is sent as the API's
        string form (``False`` -> ``"false"``). The result's ``id`` is the flag's key."""
        return await core.arun(
            self,
            core.create_feature_flag(
                name, key, type, default_value, description, allow_override_level
            ),
        )

    async def update_feature_flag(
        self,
        feature_flag_id: str,
        name: str,
        description: str,
        type: Optional[str] = None,
        default_value: Any = None,
        allow_override_level: Optional[str] = None,
    ) -> FeatureFlag:
        """Replace a flag's definition (``feature_flag_id`` is its key).

        The API replaces the whole flag and requires every field. A missing ``type`` or
        ``default_value`` is read from the environment's current setting of the flag; a
        missing ``allow_override_level`` becomes ``"env"``.
        """
        return await core.arun(
            self,
            core.update_feature_flag(
                feature_flag_id, name, description, type, default_value, allow_override_level
            ),
        )

    async def delete_feature_flag(self, feature_flag_id: str) -> SuccessResponse:
        """Delete a flag by key (the README calls it ``feature_flag_id``)."""
        return await core.arun(
            self,
            core.one("feature_flags", "delete_feature_flag", feature_flag_key=feature_flag_id),
        )
