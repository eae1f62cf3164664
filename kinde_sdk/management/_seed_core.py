"""The logic of the Kinde SDK README's convenience methods, once, for both clients.

Each convenience is a generator that builds requests and interprets results but does no
I/O: it yields a :class:`Call` (which operation of which API, with which arguments) and
is sent back the operation's result. :class:`~kinde_sdk.management.ManagementClient`
drives the generators by calling the operation (:func:`run`),
:class:`~kinde_sdk.management.AsyncManagementClient` by awaiting it (:func:`arun`), so
the mapping from the README's calls to the API (envelopes unwrapped, flags by key,
required fields read back) exists once, like httpx's ``Auth.auth_flow``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, TypeVar, Union, overload

if TYPE_CHECKING:
    from ._flags import FeatureFlag, FeatureFlagList

T = TypeVar("T")

# The spec requires allow_override_level when replacing a flag and offers no way to read
# it back; "env" is the narrowest level, so an update never widens who can override.
DEFAULT_ALLOW_OVERRIDE_LEVEL = "env"


class Call(NamedTuple):
    """One operation to run: ``client.<api>.<method>(**kwargs)``. (A tuple: one is made
    per convenience call, and a tuple is the cheapest immutable record to make.)"""

    api: str
    method: str
    kwargs: dict[str, Any]


Flow = Generator[Call, Any, T]


@overload
def run(client: Any, flow: Call) -> Any: ...
@overload
def run(client: Any, flow: Flow[T]) -> T: ...
def run(client: Any, flow: Union[Flow[T], Call]) -> Any:
    """Drive ``flow`` with the sync client's operations."""
    if isinstance(flow, Call):  # one(): a single operation, no generator to drive
        return _operation(client, flow)(**flow.kwargs)
    try:
        call = next(flow)
        while True:
            call = flow.send(_operation(client, call)(**call.kwargs))
    except StopIteration as done:
        return done.value


@overload
async def arun(client: Any, flow: Call) -> Any: ...
@overload
async def arun(client: Any, flow: Flow[T]) -> T: ...
async def arun(client: Any, flow: Union[Flow[T], Call]) -> Any:
    """Drive ``flow`` with the async client's operations."""
    if isinstance(flow, Call):
        return await _operation(client, flow)(**flow.kwargs)
    try:
        call = next(flow)
        while True:
            call = flow.send(await _operation(client, call)(**call.kwargs))
    except StopIteration as done:
        return done.value


def _operation(client: Any, call: Call) -> Callable[..., Any]:
    return getattr(getattr(client, call.api), call.method)  # type: ignore[no-any-return]


def one(api: str, method: str, **kwargs: Any) -> Call:
    """A convenience that is exactly one operation: the Call itself (run and arun make
    it without driving a generator, the most common convenience at its least cost)."""
    return Call(api, method, kwargs)


# -- users -------------------------------------------------------------------------------


def create_user(
    first_name: Optional[str],
    last_name: Optional[str],
    email: Optional[str],
    organization_code: Optional[str],
    provided_id: Optional[str],
    email_verified: Optional[bool],
) -> Flow[Any]:
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
    return (yield Call("users", "create_user", {"create_user_request": request}))


def update_user(
    user_id: str, first_name: Optional[str], last_name: Optional[str], fields: dict[str, Any]
) -> Flow[Any]:
    from kinde_sdk_generated.models.update_user_request import UpdateUserRequest

    request = UpdateUserRequest(given_name=first_name, family_name=last_name, **fields)
    return (yield Call("users", "update_user", {"id": user_id, "update_user_request": request}))


# -- organizations -----------------------------------------------------------------------


def create_organization(name: str, fields: dict[str, Any]) -> Flow[Any]:
    from kinde_sdk_generated.models.create_organization_request import (
        CreateOrganizationRequest,
    )

    request = CreateOrganizationRequest(name=name, **fields)
    response = yield Call(
        "organizations", "create_organization", {"create_organization_request": request}
    )
    return created(response, "organization")


def update_organization(org_code: str, name: Optional[str], fields: dict[str, Any]) -> Flow[Any]:
    from kinde_sdk_generated.models.update_organization_request import (
        UpdateOrganizationRequest,
    )

    request = UpdateOrganizationRequest(name=name, **fields)
    return (
        yield Call(
            "organizations",
            "update_organization",
            {"org_code": org_code, "update_organization_request": request},
        )
    )


# -- roles -------------------------------------------------------------------------------


def create_role(
    name: Optional[str], description: Optional[str], key: Optional[str], fields: dict[str, Any]
) -> Flow[Any]:
    from kinde_sdk_generated.models.create_role_request import CreateRoleRequest

    request = CreateRoleRequest(name=name, description=description, key=key, **fields)
    response = yield Call("roles", "create_role", {"create_role_request": request})
    return created(response, "role")


def update_role(
    role_id: str,
    name: Optional[str],
    description: Optional[str],
    key: Optional[str],
    fields: dict[str, Any],
) -> Flow[Any]:
    """The API requires both ``name`` and ``key``; a missing one is read from the role
    first (one extra request)."""
    from kinde_sdk_generated.models.update_roles_request import UpdateRolesRequest

    if name is None or key is None:
        # A drifted answer is kept as sent (possibly None or a plain dict): read it softly.
        current = _read((yield Call("roles", "get_role", {"role_id": role_id})), "role")
        name = name if name is not None else _read(current, "name")
        key = key if key is not None else _read(current, "key")
    if name is None or key is None:
        from ..errors import KindeConfigurationError

        raise KindeConfigurationError(f"role {role_id!r} has no name or key to keep: pass both")
    request = UpdateRolesRequest(name=name, description=description, key=key, **fields)
    return (
        yield Call("roles", "update_roles", {"role_id": role_id, "update_roles_request": request})
    )


# -- feature flags -----------------------------------------------------------------------


def get_feature_flags(page_size: Optional[int]) -> Flow[FeatureFlagList]:
    """The environment's flags as a list; ``page_size`` keeps the first ones (the API's
    only list-all-flags operation is the environment's, and it is not paginated)."""
    from ._flags import FeatureFlag, FeatureFlagList

    response = yield Call("environments", "get_environement_feature_flags", {})
    settings = _read(response, "feature_flags")
    flags = [
        FeatureFlag(
            key=key,
            id=key,
            type=_read(setting, "type"),
            value=_read(setting, "value"),
        )
        for key, setting in sorted(settings.items() if isinstance(settings, dict) else ())
    ]
    if page_size is not None:
        flags = flags[: max(page_size, 0)]
    return FeatureFlagList(
        code=_read(response, "code"),
        message=_read(response, "message"),
        feature_flags=flags,
        next_token=_read(response, "next_token"),
    )


def _read(value: Any, name: str) -> Any:
    """``value.name`` of a typed model, or ``value[name]`` of a body the lenient parser
    kept as a plain dict; None when neither has it."""
    if isinstance(value, dict):
        return value.get(name)
    return getattr(value, name, None)


def create_feature_flag(
    name: str,
    key: str,
    type: str,
    default_value: Any,
    description: Optional[str],
    allow_override_level: Optional[str],
) -> Flow[FeatureFlag]:
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
    response = yield Call(
        "feature_flags", "create_feature_flag", {"create_feature_flag_request": request}
    )
    return FeatureFlag.from_definition(definition, response)


def update_feature_flag(
    feature_flag_id: str,
    name: str,
    description: str,
    type: Optional[str],
    default_value: Any,
    allow_override_level: Optional[str],
) -> Flow[FeatureFlag]:
    """Replace a flag's definition. A missing ``type`` or ``default_value`` is read from
    the environment's current setting of the flag; a missing ``allow_override_level``
    becomes ``"env"``."""
    from ._flags import FeatureFlag, flag_definition

    if type is None or default_value is None:
        flags = yield from get_feature_flags(None)
        current = next((f for f in flags.feature_flags if f.key == feature_flag_id), None)
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
    response = yield Call(
        "feature_flags", "update_feature_flag", {"feature_flag_key": feature_flag_id, **fields}
    )
    return FeatureFlag.from_definition(definition, response)


def created(response: Any, field: str) -> Any:
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
