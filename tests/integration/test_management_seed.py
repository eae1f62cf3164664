"""The Kinde SDK README's management calls, against Prism serving the real spec.

Every request here is validated by Prism against the spec (the `kinde_domain` fixture
fails a test whose request broke it); results must be the generated typed models and
answer the README's dict idioms.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinde_sdk.enums import GrantType
from kinde_sdk.errors import BadRequestError, PermissionDeniedError, RateLimitError
from kinde_sdk.kinde_api_client import KindeApiClient
from kinde_sdk.management import ManagementClient
from kinde_sdk.management._flags import FeatureFlag, FeatureFlagList
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

ROOT = Path(__file__).resolve().parents[2]


def test_users(management: ManagementClient) -> None:
    users = management.get_users(page_size=10)
    assert isinstance(users, UsersResponse)
    assert "users" in users
    assert users["users"] and users["users"][0].get("email") == users.users[0].email
    assert users.get("no_such_field", "fallback") == "fallback"

    assert isinstance(management.get_user(user_id="kp_1"), User)

    created = management.create_user(first_name="Test", last_name="User", email="t@example.com")
    assert isinstance(created, CreateUserResponse)
    assert created.get("id") == created.id and created.id

    updated = management.update_user("kp_1", first_name="Updated", last_name="User")
    assert isinstance(updated, UpdateUserResponse)
    assert isinstance(management.delete_user("kp_1"), SuccessResponse)


def test_organizations(management: ManagementClient) -> None:
    orgs = management.get_organizations(page_size=10)
    assert isinstance(orgs, GetOrganizationsResponse)
    assert "organizations" in orgs
    first = orgs["organizations"][0]
    assert first.get("code") == first.code

    assert isinstance(management.get_organization(org_code="org_1"), GetOrganizationResponse)

    new_org = management.create_organization(name="Test Organization")
    # The organization's code, not the response envelope's status code ("OK").
    assert isinstance(new_org, CreateOrganizationResponseOrganization)
    assert new_org.get("code", "").startswith("org_")

    assert isinstance(management.update_organization("org_1", name="Renamed"), SuccessResponse)
    assert isinstance(management.delete_organization("org_1"), SuccessResponse)


def test_roles(management: ManagementClient) -> None:
    roles = management.get_roles(page_size=10)
    assert isinstance(roles, GetRolesResponse)
    assert "roles" in roles
    assert isinstance(management.get_role(role_id="role_1"), GetRoleResponse)

    new_role = management.create_role(name="Admin", description="Administrator", key="admin")
    assert isinstance(new_role, CreateRolesResponseRole)
    assert new_role.get("id") == new_role.id and new_role.id

    # The API requires name and key on update; the README passes no key: it is read first.
    updated = management.update_role(role_id="role_1", name="Super Admin", description="Super")
    assert isinstance(updated, SuccessResponse)
    assert isinstance(management.delete_role("role_1"), SuccessResponse)


def test_feature_flags(management: ManagementClient) -> None:
    flags = management.get_feature_flags(page_size=10)
    assert isinstance(flags, FeatureFlagList)
    assert "feature_flags" in flags
    assert isinstance(flags["feature_flags"], list) and flags["feature_flags"]
    for flag in flags["feature_flags"]:
        assert flag.get("key") and flag.get("id") == flag.get("key")

    assert len(management.get_feature_flags(page_size=1).feature_flags) == 1

    new_flag = management.create_feature_flag(
        name="Dark Mode",
        key="dark_mode",
        description="Enable dark mode theme",
        type="boolean",
        default_value=False,
    )
    assert isinstance(new_flag, FeatureFlag)
    assert new_flag.get("id") == "dark_mode"
    assert (new_flag.type, new_flag.default_value) == ("bool", "false")

    updated = management.update_feature_flag(
        feature_flag_id=new_flag.get("id"),
        name="Dark Theme",
        description="Enable dark theme for the application",
        type="boolean",
        default_value=True,
    )
    assert (updated.id, updated.default_value, updated.allow_override_level) == (
        "dark_mode",
        "true",
        "env",
    )
    assert isinstance(management.delete_feature_flag(new_flag.get("id")), SuccessResponse)


def test_kinde_api_client_seed_entry_point(kinde_domain) -> None:  # type: ignore[no-untyped-def]
    client = KindeApiClient(
        domain=kinde_domain.url,
        callback_url="https://app.example/callback",
        client_id=kinde_domain.state.client_id,
        client_secret=kinde_domain.state.client_secret,
        grant_type=GrantType.CLIENT_CREDENTIALS,
    )
    management = client.get_management()
    assert management is client.get_management()
    assert "users" in management.get_users(page_size=10)


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (403, PermissionDeniedError), (429, RateLimitError)],
)
def test_spec_error_responses_become_typed_errors(
    management: ManagementClient, status: int, error: type[Exception]
) -> None:
    # Prism answers with the spec's own example for the status asked for.
    with pytest.raises(error) as info:
        management.users.get_users(_headers={"Prefer": f"code={status}"})
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.request_id  # type: ignore[attr-defined]


def test_a_request_that_breaks_the_spec_is_refused(kinde_front, management) -> None:  # type: ignore[no-untyped-def]
    from kinde_sdk_generated.models.create_organization_request import (
        CreateOrganizationRequest,
    )

    before = len(kinde_front.state.violations)
    bad = CreateOrganizationRequest.model_construct(name=None)
    with pytest.raises(BadRequestError):
        management.organizations.create_organization(create_organization_request=bad)
    assert "name" in kinde_front.state.violations[before]
    del kinde_front.state.violations[before:]  # expected here; keep the fixture's check for others


def test_seed_complete_example_runs_unmodified(kinde_domain) -> None:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "KINDE_DOMAIN": kinde_domain.url,
        "KINDE_MANAGEMENT_CLIENT_ID": kinde_domain.state.client_id,
        "KINDE_MANAGEMENT_CLIENT_SECRET": kinde_domain.state.client_secret,
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "management_example.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Error" not in out, out
    for expected in (
        "Total users: 1",
        "User ID: ",
        "Organization Code: org_",
        "Role ID: ",
        "Flag ID: test_flag",
        "Feature flag deleted:",
        "User deleted:",
    ):
        assert expected in out, out
