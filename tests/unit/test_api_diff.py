"""scripts/_api_diff.py: the API diff of two specs, on modified copies of the real spec."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from _api_diff import Change, Report, diff_specs  # noqa: E402

# libyaml when present: the spec is large (~0.8 s to parse in pure Python).
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SUCCESS = {"$ref": "#/components/schemas/success_response"}


@pytest.fixture(scope="module")
def real_spec() -> dict[str, Any]:
    from _build import locked_spec

    with locked_spec().open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.load(fh, Loader=LOADER)
    return spec


@pytest.fixture
def old(real_spec: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(real_spec)


@pytest.fixture
def new(real_spec: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(real_spec)


def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]  # type: ignore[no-any-return]


def get_users(spec: dict[str, Any]) -> dict[str, Any]:
    op = spec["paths"]["/api/v1/users"]["get"]
    assert op["operationId"] == "getUsers"
    return op  # type: ignore[no-any-return]


def create_user_body(spec: dict[str, Any]) -> dict[str, Any]:
    op = spec["paths"]["/api/v1/user"]["post"]
    assert op["operationId"] == "createUser"
    return op["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


def only(report: Report) -> Change:
    assert len(report.changes) == 1, report.to_markdown()
    return report.changes[0]


def test_the_same_spec_has_no_changes(old: dict[str, Any], new: dict[str, Any]) -> None:
    report = diff_specs(old, new)
    assert report.changes == []
    assert not report
    assert not report.is_breaking
    assert "No API-visible changes" in report.to_markdown()


def test_text_only_changes_are_not_api_changes(old: dict[str, Any], new: dict[str, Any]) -> None:
    get_users(new)["description"] = "Something else entirely."
    schemas(new)["user"]["properties"]["id"]["example"] = "kp_other"
    new["info"]["description"] = "A newer text."
    assert diff_specs(old, new).changes == []


def test_an_added_operation_is_not_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    new["paths"]["/api/v1/widgets"] = {
        "get": {
            "operationId": "getWidgets",
            "tags": ["Users"],
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": SUCCESS}}}
            },
        }
    }
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("operation", "added", False)
    assert "`getWidgets` (GET /api/v1/widgets)" in change.subject
    assert "client.users.get_widgets()" in change.detail


def test_a_removed_operation_is_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    del new["paths"]["/api/v1/users"]["get"]
    report = diff_specs(old, new)
    change = only(report)
    assert (change.kind, change.action, change.breaking) == ("operation", "removed", True)
    assert "`getUsers` (GET /api/v1/users)" in change.subject
    assert report.is_breaking
    assert "## Breaking changes" in report.to_markdown()


def test_a_removed_response_field_is_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    del schemas(new)["users_response"]["properties"]["next_token"]
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("field", "removed", True)
    assert change.subject == "`users_response` field `next_token`"


def test_a_changed_field_type_is_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["user"]["properties"]["total_sign_ins"]["type"] = "string"
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("field", "changed", True)
    assert change.subject == "`user` field `total_sign_ins`"
    assert change.detail == "type `integer` -> `string`"


def test_a_format_change_is_a_type_change(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["user"]["properties"]["created_on"]["format"] = "date-time"
    change = only(diff_specs(old, new))
    assert change.breaking
    assert change.detail == "type `string` -> `string(date-time)`"


def test_a_changed_ref_is_a_type_change(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["users_response"]["properties"]["users"]["items"] = {
        "$ref": "#/components/schemas/user"
    }
    change = only(diff_specs(old, new))
    assert change.subject == "`users_response` field `users`"
    assert (change.detail, change.breaking) == ("type `array[object]` -> `array[user]`", True)


def test_an_added_enum_value_is_not_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["directory"]["properties"]["status"]["enum"].append("Archived")
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("enum value", "added", False)
    assert change.subject == "`directory` field `status`"
    assert change.detail == "`Archived`"


def test_a_removed_enum_value_is_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["get_organization_response"]["properties"]["theme_code"]["enum"].remove("dark")
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("enum value", "removed", True)
    assert change.subject == "`get_organization_response` field `theme_code`"
    assert change.detail == "`dark`"


def test_enum_values_inside_maps_are_compared(old: dict[str, Any], new: dict[str, Any]) -> None:
    flags = schemas(new)["get_environment_feature_flags_response"]["properties"]["feature_flags"]
    flags["additionalProperties"]["properties"]["type"]["enum"].append("json")
    change = only(diff_specs(old, new))
    assert change.subject == "`get_environment_feature_flags_response` field `feature_flags{}.type`"
    assert not change.breaking


def test_a_new_required_query_parameter_is_breaking(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    get_users(new)["parameters"].append(
        {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
    )
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("parameter", "added", True)
    assert change.subject == "`getUsers` query parameter `tenant`"
    assert change.detail == "`string`, required"


def test_a_new_optional_query_parameter_is_not_breaking(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    get_users(new)["parameters"].append(
        {"name": "tenant", "in": "query", "schema": {"type": "string"}}
    )
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("parameter", "added", False)


def test_parameter_changes(old: dict[str, Any], new: dict[str, Any]) -> None:
    params = {p["name"]: p for p in get_users(new)["parameters"]}
    params["page_size"]["required"] = True
    params["user_id"]["in"] = "header"
    params["next_token"]["schema"] = {"type": "integer"}
    get_users(new)["parameters"].remove(params["email"])
    report = diff_specs(old, new)
    found = {(c.subject, c.action, c.detail, c.breaking) for c in report.changes}
    assert found == {
        ("`getUsers` query parameter `page_size`", "changed", "now required", True),
        ("`getUsers` header parameter `user_id`", "changed", "moved from query to header", True),
        ("`getUsers` query parameter `next_token`", "changed", "type `string` -> `integer`", True),
        ("`getUsers` query parameter `email`", "removed", "", True),
    }


def test_a_parameter_becoming_optional_is_not_breaking(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    for params in (get_users(old)["parameters"],):
        params.append({"name": "tenant", "in": "query", "required": True, "schema": {}})
    get_users(new)["parameters"].append({"name": "tenant", "in": "query", "schema": {}})
    change = only(diff_specs(old, new))
    assert (change.action, change.detail, change.breaking) == ("changed", "now optional", False)


def test_referenced_parameters_and_path_parameters_are_resolved(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    new["components"]["parameters"]["api_id"]["schema"] = {"type": "integer"}
    report = diff_specs(old, new)
    assert report.changes
    assert all(c.kind == "parameter" and "`api_id`" in c.subject for c in report.changes)
    assert all(c.detail == "type `string` -> `integer`" and c.breaking for c in report.changes)


def test_request_body_fields(old: dict[str, Any], new: dict[str, Any]) -> None:
    body = create_user_body(new)
    del body["properties"]["provided_id"]
    body["properties"]["locale"] = {"type": "string"}
    body["properties"]["tenant"] = {"type": "string"}
    body["required"] = ["tenant", "organization_code"]
    report = diff_specs(old, new)
    found = {(c.subject, c.action, c.breaking) for c in report.changes}
    assert found == {
        ("`createUser` request body field `provided_id`", "removed", True),
        ("`createUser` request body field `locale`", "added", False),
        # a new required field in a request breaks callers that do not send it
        ("`createUser` request body field `tenant`", "added", True),
        ("`createUser` request body field `organization_code`", "changed", True),
    }


def test_nested_request_fields_and_enums(old: dict[str, Any], new: dict[str, Any]) -> None:
    identity = create_user_body(new)["properties"]["identities"]["items"]
    identity["properties"]["type"]["enum"].remove("username")
    identity["properties"]["details"]["properties"]["email"]["type"] = "integer"
    found = {(c.kind, c.subject, c.detail) for c in diff_specs(old, new).changes}
    assert found == {
        ("enum value", "`createUser` request body field `identities[].type`", "`username`"),
        (
            "field",
            "`createUser` request body field `identities[].details.email`",
            "type `string` -> `integer`",
        ),
    }


def test_a_new_required_field_in_a_response_is_not_breaking(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    model = schemas(new)["users_response"]
    model["properties"]["total"] = {"type": "integer"}
    model["required"] = ["total", "code"]
    found = {(c.subject, c.action, c.detail, c.breaking) for c in diff_specs(old, new).changes}
    assert found == {
        ("`users_response` field `total`", "added", "`integer`, required", False),
        ("`users_response` field `code`", "changed", "now required", False),
    }


def test_a_shared_model_change_is_reported_once(old: dict[str, Any], new: dict[str, Any]) -> None:
    del schemas(new)["success_response"]["properties"]["message"]
    change = only(diff_specs(old, new))
    assert change.subject == "`success_response` field `message`"


def test_inline_response_schemas_with_all_of(old: dict[str, Any], new: dict[str, Any]) -> None:
    op = new["paths"]["/api/v1/passkey"]["get"]
    inline = op["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
    inline["properties"]["policy"]["enum"].append("required")
    del inline["properties"]["enabled"]
    found = {(c.kind, c.action, c.subject, c.breaking) for c in diff_specs(old, new).changes}
    op_id = op["operationId"]
    where = f"`{op_id}` 200 response field"
    assert found == {
        ("enum value", "added", f"{where} `allOf[1].policy`", False),
        ("field", "removed", f"{where} `allOf[1].enabled`", True),
    }


def test_removed_and_added_models(old: dict[str, Any], new: dict[str, Any]) -> None:
    schemas(new)["brand_new"] = {"type": "object", "properties": {"a": {"type": "string"}}}
    del schemas(new)["api_result"]  # used by no operation
    found = {(c.kind, c.action, c.subject, c.breaking) for c in diff_specs(old, new).changes}
    assert found == {
        ("model", "added", "`brand_new`", False),
        ("model", "removed", "`api_result`", True),
    }


def test_tag_and_path_changes(old: dict[str, Any], new: dict[str, Any]) -> None:
    get_users(new)["tags"] = ["Organizations"]
    new["paths"]["/api/v2/users"] = {"get": new["paths"]["/api/v1/users"].pop("get")}
    found = {(c.detail, c.breaking) for c in diff_specs(old, new).changes}
    assert found == {
        ("was GET /api/v1/users", False),
        ("moved from `client.users.get_users()` to `client.organizations.get_users()`", True),
    }


def test_deprecation_is_not_breaking(old: dict[str, Any], new: dict[str, Any]) -> None:
    get_users(new)["deprecated"] = True
    change = only(diff_specs(old, new))
    assert (change.kind, change.action, change.breaking) == ("operation", "deprecated", False)
    assert "### Deprecated" in diff_specs(old, new).changelog_draft()


def test_request_body_presence(old: dict[str, Any], new: dict[str, Any]) -> None:
    create = new["paths"]["/api/v1/user"]["post"]
    create["requestBody"]["required"] = True
    del new["paths"]["/api/v1/organization"]["post"]["requestBody"]
    found = {(c.kind, c.action, c.subject, c.breaking) for c in diff_specs(old, new).changes}
    assert found == {
        ("request body", "changed", "`createUser` request body", True),
        ("request body", "removed", "`createOrganization` request body", True),
    }


def test_recursive_models_terminate() -> None:
    def spec(extra: dict[str, Any]) -> dict[str, Any]:
        node = {"$ref": "#/components/schemas/node"}
        return {
            "openapi": "3.0.0",
            "info": {"version": "1"},
            "paths": {
                "/tree": {
                    "get": {
                        "operationId": "getTree",
                        "tags": ["Trees"],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {"application/json": {"schema": node}},
                            }
                        },
                    }
                }
            },
            "components": {
                "schemas": {
                    "node": {
                        "type": "object",
                        "properties": {"children": {"type": "array", "items": node}, **extra},
                    }
                }
            },
        }

    assert diff_specs(spec({}), spec({})).changes == []
    change = only(diff_specs(spec({}), spec({"name": {"type": "string"}})))
    assert change.subject == "`node` field `name`"


def test_markdown_and_changelog(old: dict[str, Any], new: dict[str, Any]) -> None:
    del new["paths"]["/api/v1/users"]["get"]
    schemas(new)["directory"]["properties"]["status"]["enum"].append("Archived")
    report = diff_specs(old, new)
    markdown = report.to_markdown()
    assert "**BREAKING**: 1 breaking, 1 non-breaking change(s)." in markdown
    assert "| operation | 0 | 1 | 0 | 0 | 1 |" in markdown
    assert markdown.index("## Breaking changes") < markdown.index("`getUsers`")
    assert markdown.index("`getUsers`") < markdown.index("## Non-breaking changes")
    draft = report.changelog_draft("a" * 64, "b" * 64)
    assert draft.startswith("## [Unreleased]\n")
    assert "sha256 `aaaaaaaaaaaa` -> `bbbbbbbbbbbb`" in draft
    removed = draft.split("### Removed\n", 1)[1]
    assert removed.startswith("- **Breaking:** operation removed: `getUsers`")
    added = draft.split("### Added\n", 1)[1].split("###", 1)[0]
    assert "enum value added: `directory` field `status` (`Archived`)" in added
