"""The Kinde SDK README's convenience methods, mapped onto the real Management API.

Each returns a generated typed model (which also reads like a dict, as the README
expects). Where the README's call and the API differ, the mapping is documented on the
method: creation methods return the created resource (not the response envelope), roles
and flags fill fields the API requires on update, and flags are addressed by key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, cast

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

# The spec requires allow_override_level when replacing a flag and offers no way to read
# it back; "env" is the narrowest level, so an update never widens who can override.
DEFAULT_ALLOW_OVERRIDE_LEVEL = "env"


class SeedMethods(SubApis):
    """Mixin for :class:`~kinde_sdk.management.ManagementClient`."""

    # -- users ---------------------------------------------------------------------------

    def get_users(self, page_size: Optional[int] = None, **filters: Any) -> UsersResponse:
        """One page of users. ``filters`` are get_users' query parameters
        (``next_token``, ``email``, ``expand``, ...)."""
        return self.users.get_users(page_size=page_size, **filters)

    def get_user(self, user_id: str, **options: Any) -> User:
        return self.users.get_user_data(id=user_id, **options)

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
        from kinde_sdk_generated.models.create_user_request import CreateUserRequest

        identities = None
        if email:
            identity: dict[str, Any] = {"type": "email", "details": {"email": email}}
            if email_verified is not None:
                identity["is_verified"] = email_verified
            identities = [identity]
        request = CreateUserRequest.from_dict(
            {
                "profile": {"given_name": first_name, "family_name": last_name},
                "organization_code": organization_code,
                "provided_id": provided_id,
                "identities": identities,
            }
        )
        return self.users.create_user(create_user_request=request)

    def update_user(
        self,
        user_id: str,
        first_name: Optional[str] = None,
        last_name: Optional[str] = None,
        **fields: Any,
    ) -> UpdateUserResponse:
        """Update a user's names; ``fields`` are other UpdateUserRequest fields
        (``picture``, ``is_suspended``, ...)."""
        from kinde_sdk_generated.models.update_user_request import UpdateUserRequest

        request = UpdateUserRequest(given_name=first_name, family_name=last_name, **fields)
        return self.users.update_user(id=user_id, update_user_request=request)

    def delete_user(
        self, user_id: str, *, is_delete_profile: Optional[bool] = None
    ) -> SuccessResponse:
        return self.users.delete_user(id=user_id, is_delete_profile=is_delete_profile)

    # -- organizations -------------------------------------------------------------------

    def get_organizations(
        self, page_size: Optional[int] = None, **filters: Any
    ) -> GetOrganizationsResponse:
        return self.organizations.get_organizations(page_size=page_size, **filters)

    def get_organization(self, org_code: str, **options: Any) -> GetOrganizationResponse:
        return self.organizations.get_organization(code=org_code, **options)

    def create_organization(
        self, name: str, **fields: Any
    ) -> CreateOrganizationResponseOrganization:
        """Create an organization; the result's ``code`` is the new organization's code
        (the API's envelope also has a ``code``, its status, which is not returned)."""
        from kinde_sdk_generated.models.create_organization_request import (
            CreateOrganizationRequest,
        )

        request = CreateOrganizationRequest(name=name, **fields)
        response = self.organizations.create_organization(create_organization_request=request)
        return cast("CreateOrganizationResponseOrganization", _created(response, "organization"))

    def update_organization(
        self, org_code: str, name: Optional[str] = None, **fields: Any
    ) -> SuccessResponse:
        from kinde_sdk_generated.models.update_organization_request import (
            UpdateOrganizationRequest,
        )

        request = UpdateOrganizationRequest(name=name, **fields)
        return self.organizations.update_organization(
            org_code=org_code, update_organization_request=request
        )

    def delete_organization(self, org_code: str) -> SuccessResponse:
        return self.organizations.delete_organization(org_code=org_code)

    # -- roles ---------------------------------------------------------------------------

    def get_roles(self, page_size: Optional[int] = None, **filters: Any) -> GetRolesResponse:
        return self.roles.get_roles(page_size=page_size, **filters)

    def get_role(self, role_id: str) -> GetRoleResponse:
        return self.roles.get_role(role_id=role_id)

    def create_role(
        self,
        name: Optional[str] = None,
        description: Optional[str] = None,
        key: Optional[str] = None,
        **fields: Any,
    ) -> CreateRolesResponseRole:
        """Create a role; the result's ``id`` is the new role's id."""
        from kinde_sdk_generated.models.create_role_request import CreateRoleRequest

        request = CreateRoleRequest(name=name, description=description, key=key, **fields)
        response = self.roles.create_role(create_role_request=request)
        return cast("CreateRolesResponseRole", _created(response, "role"))

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
        from kinde_sdk_generated.models.update_roles_request import UpdateRolesRequest

        if name is None or key is None:
            current = self.get_role(role_id).role
            name = name if name is not None else getattr(current, "name", None)
            key = key if key is not None else getattr(current, "key", None)
        if name is None or key is None:
            from ..errors import KindeConfigurationError

            raise KindeConfigurationError(f"role {role_id!r} has no name or key to keep: pass both")
        request = UpdateRolesRequest(name=name, description=description, key=key, **fields)
        return self.roles.update_roles(role_id=role_id, update_roles_request=request)

    def delete_role(self, role_id: str) -> SuccessResponse:
        return self.roles.delete_role(role_id=role_id)

    # -- feature flags -------------------------------------------------------------------

    def get_feature_flags(self, page_size: Optional[int] = None) -> FeatureFlagList:
        """The environment's feature flags: a ``FeatureFlagList`` object whose
        ``feature_flags`` is the list of flags (key, id, type, value).

        The API has no list-all-flags operation other than the environment's, and that
        one is not paginated: ``page_size`` is accepted for compatibility and, when
        given, keeps only the first ``page_size`` flags.
        """
        from ._flags import FeatureFlag, FeatureFlagList

        response = self.environments.get_environement_feature_flags()
        flags = [
            FeatureFlag(
                key=key,
                id=key,
                type=getattr(setting, "type", None),
                value=getattr(setting, "value", None),
            )
            for key, setting in sorted((response.feature_flags or {}).items())
        ]
        if page_size is not None:
            flags = flags[: max(page_size, 0)]
        return FeatureFlagList(
            code=response.code,
            message=response.message,
            feature_flags=flags,
            next_token=response.next_token,
        )

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
        from kinde_sdk_generated.models.create_feature_flag_request import (
            CreateFeatureFlagRequest,
        )

        from ._flags import FeatureFlag, flag_definition

        definition = flag_definition(
            key=key,
            name=name,
            description=description,
            type=type,
            default_value=default_value,
            allow_override_level=allow_override_level,
        )
        request = CreateFeatureFlagRequest(**definition)
        response = self.feature_flags.create_feature_flag(create_feature_flag_request=request)
        return FeatureFlag.from_definition(definition, response)

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
        from ._flags import FeatureFlag, flag_definition

        if type is None or default_value is None:
            current = next(
                (f for f in self.get_feature_flags().feature_flags if f.key == feature_flag_id),
                None,
            )
            if current is None:
                from ..errors import KindeConfigurationError

                raise KindeConfigurationError(
                    f"feature flag {feature_flag_id!r} is not in this environment: pass type= "
                    "and default_value= to update it"
                )
            type = type or current.type or "str"
            default_value = default_value if default_value is not None else current.value
        definition = flag_definition(
            key=feature_flag_id,
            name=name,
            description=description,
            type=type,
            default_value=default_value,
            allow_override_level=allow_override_level or DEFAULT_ALLOW_OVERRIDE_LEVEL,
        )
        fields = {k: v for k, v in definition.items() if k != "key"}
        response = self.feature_flags.update_feature_flag(
            feature_flag_key=feature_flag_id, **fields
        )
        return FeatureFlag.from_definition(definition, response)

    def delete_feature_flag(self, feature_flag_id: str) -> SuccessResponse:
        """Delete a flag by key (the README calls it ``feature_flag_id``)."""
        return self.feature_flags.delete_feature_flag(feature_flag_key=feature_flag_id)


def _created(response: Any, field: str) -> Any:
    """The created resource inside a create response's envelope."""
    resource = getattr(response, field, None)
    if resource is None:
        from ..errors import KindeAPIError

        raise KindeAPIError(
            200,
            getattr(response, "code", None),
            f"the create response has no {field!r}",
            body=response.to_dict() if hasattr(response, "to_dict") else None,
        )
    return resource
