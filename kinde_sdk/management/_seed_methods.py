"""The Kinde SDK README's convenience methods, mapped onto the real Management API.

Each returns a generated typed model (which also reads like a dict, as the README
expects). Where the README's call and the API differ, the mapping is documented on the
method: creation methods return the created resource (not the response envelope), roles
and flags fill fields the API requires on update, and flags are addressed by key.

The logic lives in :mod:`._seed_core` (no I/O); these methods only run it with the sync
client (``core.run(self, ...)``). The async twins (``AsyncSeedMethods`` in
``_async_apis.py``) are generated from this class by ``scripts/gen_async_apis.py``
(``make generate``), each ``core.run`` becoming ``await core.arun``: a method must keep
that shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _seed_core as core
from ._seed_core import DEFAULT_ALLOW_OVERRIDE_LEVEL as DEFAULT_ALLOW_OVERRIDE_LEVEL
from ._sub_apis import SubApis

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


class SeedMethods(SubApis):
    """Mixin for :class:`~kinde_sdk.management.ManagementClient`."""

    # -- users ---------------------------------------------------------------------------

    def get_users(self, page_size: Optional[int] = None, **filters: Any) -> UsersResponse:
        """One page of users. ``filters`` are get_users' query parameters
        (``next_token``, ``email``, ``expand``, ...)."""
        return core.run(self, core.one("users", "get_users", page_size=page_size, **filters))

    def get_user(self, user_id: str, **options: Any) -> User:
        return core.run(self, core.one("users", "get_user_data", id=user_id, **options))

    def create_user(
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
        return core.run(
            self,
            core.create_user(
                first_name, last_name, email, organization_code, provided_id, email_verified
            ),
        )

    def update_user(
        self,
        user_id: str,
        first_name: Optional[str] = None,
        last_name: Optional[str] = None,
        **fields: Any,
    ) -> UpdateUserResponse:
        """Update a user's names; ``fields`` are other UpdateUserRequest fields
        (``picture``, ``is_suspended``, ...)."""
        return core.run(self, core.update_user(user_id, first_name, last_name, fields))

    def delete_user(
        self, user_id: str, *, is_delete_profile: Optional[bool] = None
    ) -> SuccessResponse:
        return core.run(
            self,
            core.one("users", "delete_user", id=user_id, is_delete_profile=is_delete_profile),
        )

    # -- organizations -------------------------------------------------------------------

    def get_organizations(
        self, page_size: Optional[int] = None, **filters: Any
    ) -> GetOrganizationsResponse:
        return core.run(
            self,
            core.one("organizations", "get_organizations", page_size=page_size, **filters),
        )

    def get_organization(self, org_code: str, **options: Any) -> GetOrganizationResponse:
        return core.run(
            self, core.one("organizations", "get_organization", code=org_code, **options)
        )

    def create_organization(
        self, name: str, **fields: Any
    ) -> CreateOrganizationResponseOrganization:
        """Create an organization; the result's ``code`` is the new organization's code
        (the API's envelope also has a ``code``, its status, which is not returned)."""
        return core.run(self, core.create_organization(name, fields))

    def update_organization(
        self, org_code: str, name: Optional[str] = None, **fields: Any
    ) -> SuccessResponse:
        return core.run(self, core.update_organization(org_code, name, fields))

    def delete_organization(self, org_code: str) -> SuccessResponse:
        return core.run(self, core.one("organizations", "delete_organization", org_code=org_code))

    # -- roles ---------------------------------------------------------------------------

    def get_roles(self, page_size: Optional[int] = None, **filters: Any) -> GetRolesResponse:
        return core.run(self, core.one("roles", "get_roles", page_size=page_size, **filters))

    def get_role(self, role_id: str) -> GetRoleResponse:
        return core.run(self, core.one("roles", "get_role", role_id=role_id))

    def create_role(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        key: Optional[str] = None,
        **fields: Any,
    ) -> CreateRolesResponseRole:
        """Create a role; the result's ``id`` is the new role's id."""
        return core.run(self, core.create_role(name, description, key, fields))

    def update_role(
        self,
        role_id: str,
        name: Optional[str] = None,
        description: Optional[str] = None,
        key: Optional[str] = None,
        **fields: Any,
    ) -> SuccessResponse:
        """Update a role. The API requires both ``name`` and ``key``; a missing one is read
        from the role first (one extra request)."""
        return core.run(self, core.update_role(role_id, name, description, key, fields))

    def delete_role(self, role_id: str) -> SuccessResponse:
        return core.run(self, core.one("roles", "delete_role", role_id=role_id))

    # -- feature flags -------------------------------------------------------------------

    def get_feature_flags(self, page_size: Optional[int] = None) -> FeatureFlagList:
        """The environment's feature flags: a ``FeatureFlagList`` object whose
        ``feature_flags`` is the list of flags (key, id, type, value).

        The API has no list-all-flags operation other than the environment's, and that
        one is not paginated: ``page_size`` is accepted for compatibility and, when
        given, keeps only the first ``page_size`` flags.
        """
        return core.run(self, core.get_feature_flags(page_size))

    def create_feature_flag(
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
        return core.run(
            self,
            core.create_feature_flag(
                name, key, type, default_value, description, allow_override_level
            ),
        )

    def update_feature_flag(
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
        return core.run(
            self,
            core.update_feature_flag(
                feature_flag_id, name, description, type, default_value, allow_override_level
            ),
        )

    def delete_feature_flag(self, feature_flag_id: str) -> SuccessResponse:
        """Delete a flag by key (the README calls it ``feature_flag_id``)."""
        return core.run(
            self,
            core.one("feature_flags", "delete_feature_flag", feature_flag_key=feature_flag_id),
        )
