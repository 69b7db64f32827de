"""svc-bulkuser's OpenAPI document: valid, complete, and the checker that holds every response to it."""

import json
import re

import pytest

from vendorkit.testing.openapi import (
    check_response,
    documented_routes,
    operations,
    own_responses,
)

UNROUTED = "Unrouted"
SCHEMAS = "#/components/schemas/"
ADMIN_ONLY = {
    ("/v1/user/create", "post"),
    ("/v1/user/list", "get"),
    ("/v1/user/all", "delete"),
    ("/v1/user/{user_id}", "delete"),
}


def ref(name: str) -> dict:
    return {"$ref": SCHEMAS + name}


def json_schema(response):
    return response["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi_3_of_exactly_the_routes_served(app, openapi):
    assert len(documented_routes(app, openapi, "/v1/")) == 7


def test_the_token_is_a_security_scheme_and_its_refusals_are_documented(openapi):
    scheme = openapi["components"]["securitySchemes"]["XAuthToken"]
    assert scheme == scheme | {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
    for (path, method), operation in operations(openapi).items():
        responses = own_responses(operation)
        assert json_schema(responses["500"]) == ref("ServerError"), (path, method)
        assert json_schema(responses["503"]) == ref("ServerError"), (path, method)
        if path == "/v1/auth":
            assert operation["security"] == []
            assert json_schema(responses["401"]) == ref("LoginRefusal")
            assert "403" not in responses
            continue
        assert operation["security"] == [{"XAuthToken": []}], (path, method)
        assert json_schema(responses["401"]) == ref("TokenRefusal"), (path, method)
        if (path, method) == ("/v1/user", "get"):
            assert "403" not in responses
        else:
            assert json_schema(responses["403"]) == ref("Forbidden"), (path, method)
    codes = openapi["components"]["schemas"]["TokenRefusalDetail"]["properties"]["code"]["enum"]
    assert codes == [110, 111, 112]


def test_every_body_is_documented_with_its_refusals(openapi):
    bodies = {
        key: operation["requestBody"]
        for key, operation in operations(openapi).items()
        if "requestBody" in operation
    }
    assert set(bodies) == {("/v1/auth", "post"), ("/v1/user/create", "post")}
    for key, body in bodies.items():
        assert body["required"] is True
        assert list(body["content"]) == ["application/json"]
        responses = own_responses(operations(openapi)[key])
        assert "413" in responses, key
        assert json_schema(responses["400"]) == {"oneOf": [ref("ValidationError"), ref("AttributeNotExists")]}
    create = openapi["components"]["schemas"]["CreateUser"]
    assert create["required"] == ["name"]
    assert create["properties"]["name"] | {"pattern": None} == {
        "type": "string", "minLength": 1, "maxLength": 100, "pattern": None,
    }  # fmt: skip
    assert create["properties"]["role_id"] == {
        "type": "integer", "minimum": 1, "maximum": 2147483647, "nullable": True, "default": None,
    }  # fmt: skip
    assert create["properties"]["passwd"]["minLength"] == 6
    assert create["properties"]["user_type"]["enum"] == ["admin", "client", "agent", "viewer"]
    login = openapi["components"]["schemas"]["Login"]
    assert sorted(login["required"]) == ["email_or_name", "password"]


def test_query_parameters_carry_their_constraints(openapi):
    def parameters(path, method):
        return {p["name"]: p for p in operations(openapi)[(path, method)]["parameters"]}

    filters = parameters("/v1/user/all", "delete")
    assert len(filters) == 13
    assert not any(p["required"] for p in filters.values())
    assert filters["user_id"]["schema"] | {"example": None} == {
        "type": "integer", "minimum": 1, "maximum": 2147483647, "example": None,
    }  # fmt: skip
    assert filters["user_type"]["schema"]["enum"] == ["admin", "client", "agent", "viewer"]
    assert filters["name"]["schema"]["maxLength"] == 255
    assert re.fullmatch(filters["active"]["schema"]["pattern"], "TRUE")
    assert not re.fullmatch(filters["active"]["schema"]["pattern"], "yes")
    assert re.fullmatch(filters["create_time_gt"]["schema"]["pattern"], "2024-01-01 10:00:00.5+02:00")
    assert re.fullmatch(filters["user_id_in"]["schema"]["pattern"], "4,7, 9")
    listing = parameters("/v1/user/list", "get")
    assert set(listing) - set(filters) == {
        "last_login_time_isnull",
        "page",
        "per_page",
        "order_by",
        "order_dir",
    }
    assert listing["per_page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}
    assert listing["order_dir"]["schema"]["enum"] == ["asc", "desc"]
    for (path, method), operation in operations(openapi).items():
        # Any request line can be longer than the gateway accepts: its 414 is on every operation.
        assert "414" in operation["responses"] and "414" not in own_responses(operation), (path, method)


def test_404_is_documented_where_a_user_id_can_miss(openapi):
    with_404 = {key for key, operation in operations(openapi).items() if "404" in own_responses(operation)}
    assert with_404 == {
        ("/v1/user/all", "delete"),
        ("/v1/user/{user_id}", "get"),
        ("/v1/user/{user_id}", "delete"),
    }
    for key in with_404:
        assert json_schema(operations(openapi)[key]["responses"]["404"]) == ref("NotFound")
    refusals = json_schema(own_responses(operations(openapi)[("/v1/user/all", "delete")])["400"])
    assert ref("CannotDeleteSelf") in refusals["oneOf"]


# --- the hook and the checker ------------------------------------------------------------------------


def test_the_test_client_refuses_an_answer_the_document_does_not_allow(client, openapi):
    del openapi["paths"]["/v1/user/all"]["delete"]["responses"]["401"]
    with pytest.raises(AssertionError, match="status not documented"):
        client.delete("/v1/user/all?role_id=3")


def body(value) -> bytes:
    return json.dumps(value).encode()


USER = {
    "user_id": 1, "name": "admin", "email": None, "user_type": "admin", "role_id": 1, "active": True,
    "first_name": None, "last_name": None, "fullname": "admin", "create_time": "2024-01-01T00:00:00Z",
    "last_login_time": None, "login_ip": None, "last_seen": None, "is_online": 0, "create_user_id": None,
    "role_name": "admin", "client_id": None, "reseller_id": None, "landing_page": None, "auth_ip": [],
    "report_group": False, "avatar_id": None, "card_id": None, "default_mod": None, "default_mod2": None,
    "all_termination": False,
}  # fmt: skip
TOKEN_MISSING = {
    "error_type": "unauthenticated_error",
    "success": False,
    "error": {"message": "No header X-Auth-Token present", "code": 110, "reason": "auth_token_not_provided"},
}
NOT_FOUND = {"success": False, "error_type": "Object not found error"}


@pytest.mark.parametrize(
    ("method", "path", "status", "payload", "reason"),
    [
        ("GET", "/v1/user", 200, {"success": True, "payload": USER | {"password_hash": "x"}}, "schema"),
        ("GET", "/v1/user", 200, {"success": True, "payload": {k: v for k, v in USER.items() if k != "name"}}, "schema"),
        ("GET", "/v1/user", 200, {"success": True, "payload": USER | {"is_online": 2}}, "schema"),
        ("DELETE", "/v1/user/all", 200, {"success": True, "payload": {"deleted": 1, "updated": 1}}, "schema"),
        ("DELETE", "/v1/user/all", 401, TOKEN_MISSING | {"success": True}, "schema"),
        ("POST", "/v1/auth", 401, TOKEN_MISSING, "schema"),
        ("GET", "/v1/user/list", 400, {"success": False, "error_type": "attribute_not_exists"}, "schema"),
        ("GET", "/v1/user/list", 404, NOT_FOUND, "not documented"),
        ("GET", "/v1/user", 409, NOT_FOUND, "not documented"),
        ("GET", "/v1/user/list", 500, {"success": False}, "schema"),
        ("GET", "/v1/nothing", 200, {"success": True}, "not refused"),
        ("GET", "/v1/nothing", 404, {"success": False, "error_type": "not_found_error"}, "schema"),
    ],
)  # fmt: skip
def test_the_checker_refuses_what_the_document_does_not_allow(openapi, method, path, status, payload, reason):
    with pytest.raises(AssertionError, match=reason):
        check_response(
            openapi, method, path, status, "application/json", body(payload), fallback_schema=UNROUTED
        )


def test_the_checker_accepts_the_answers_the_document_allows(openapi):
    allowed = [
        ("GET", "/v1/user/7", 200, {"success": True, "payload": USER}),
        ("DELETE", "/v1/user/all", 404, NOT_FOUND),
        ("DELETE", "/v1/user/all", 401, TOKEN_MISSING),
        ("DELETE", "/v1/user/all", 400, {"success": False, "error_type": "validation_error", "errors": {"_schema": ["x"]}}),
        ("DELETE", "/v1/user/7", 200, {"success": True}),
        ("GET", "/v1/nothing", 404, NOT_FOUND),
        ("PUT", "/v1/user/all", 405, {
            "error_type": "operation_error", "success": False,
            "error": {"message": "Method not allowed", "code": 405, "reason": "method_not_allowed"},
        }),
        ("GET", "/v1/user/list", 503, {
            "error_type": "operation_error", "success": False,
            "error": {"message": "Database unavailable", "code": 503, "reason": "database_unavailable"},
        }),
    ]  # fmt: skip
    for method, path, status, payload in allowed:
        check_response(
            openapi, method, path, status, "application/json", body(payload), fallback_schema=UNROUTED
        )
