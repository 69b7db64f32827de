"""svc-emm's OpenAPI document: valid, complete, and the checker that holds every response to it."""

import json

import pytest

from vendorkit.testing.openapi import check_response, documented_routes, own_responses
from vendorkit.testing.openapi import operations as all_operations

ADMIN_API = "/mdm-admin"
OAUTH = ("/oauth2/token", "/oauth2/revoke")
PAYLOAD = {"$ref": "#/components/schemas/ResponsePayload"}
SERVER_FAULT = {"$ref": "#/components/schemas/ServerFault"}


def operations(document):
    """Each operation with the responses svc-emm itself answers (the gateway's own left out)."""
    return {
        key: {**operation, "responses": own_responses(operation)}
        for key, operation in all_operations(document).items()
    }


def json_schema(response):
    return response["content"]["application/json"]["schema"]


def test_the_document_is_valid_openapi_3_of_exactly_the_routes_served(app, openapi):
    assert len(documented_routes(app, openapi, ADMIN_API, *OAUTH)) == 19


def test_admin_operations_are_secured_and_document_their_refusals(openapi):
    scheme = openapi["components"]["securitySchemes"]["OAuth2"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/oauth2/token"
    for (path, method), operation in operations(openapi).items():
        responses = operation["responses"]
        assert json_schema(responses["500"]) == SERVER_FAULT, (path, method)
        assert json_schema(responses["503"]) == SERVER_FAULT, (path, method)
        if path in OAUTH:
            assert operation["security"] == []
            assert json_schema(responses["400"]) == {"$ref": "#/components/schemas/OAuthError"}
            assert {"401", "403"}.isdisjoint(responses)
            continue
        assert operation["security"] == [{"OAuth2": []}], (path, method)
        assert json_schema(responses["401"]) == PAYLOAD, (path, method)
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert json_schema(responses["403"]) == PAYLOAD, (path, method)


def test_every_body_is_documented_with_its_refusals(openapi):
    bodies = {
        key: operation["requestBody"]["content"]
        for key, operation in operations(openapi).items()
        if "requestBody" in operation
    }
    assert {path for path, _ in bodies} == {
        f"{ADMIN_API}/users",
        f"{ADMIN_API}/users/email-invitation",
        f"{ADMIN_API}/users/change-password",
        f"{ADMIN_API}/users/reset-password",
        *OAUTH,
    }
    for (path, method), content in bodies.items():
        responses = operations(openapi)[(path, method)]["responses"]
        assert "413" in responses, path
        if path in OAUTH:
            assert list(content) == ["application/x-www-form-urlencoded"]
        else:
            assert list(content) == ["application/json"]
            assert {"400", "415"} <= set(responses), path
    add = openapi["components"]["schemas"]["AddUserRequest"]
    assert sorted(add["required"]) == ["emailAddress", "username"]
    assert add["properties"]["roles"]["maxItems"] == 50
    invitation = bodies[(f"{ADMIN_API}/users/email-invitation", "post")]["application/json"]["schema"]
    assert invitation == {"type": "array", "items": {"type": "string"}}


def test_query_parameters_carry_their_constraints(openapi):
    devices = {
        parameter["name"]: parameter
        for parameter in operations(openapi)[(f"{ADMIN_API}/users/devices", "get")]["parameters"]
    }
    assert devices["username"]["required"] is True
    assert devices["username"]["schema"]["maxLength"] == 255
    assert devices["start"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    assert devices["length"]["schema"]["minimum"] == -(2**31)
    for (path, method), operation in operations(openapi).items():
        # A query value can make the request line longer than the HTTP layer accepts.
        takes_parameters = "parameters" in operation or "{" in path
        assert ("414" in operation["responses"]) == takes_parameters, (path, method)
    update = operations(openapi)[(f"{ADMIN_API}/users", "put")]["parameters"]
    assert [(p["name"], p["required"]) for p in update] == [("username", False)]


def test_the_product_quirks_are_documented(openapi):
    view = operations(openapi)[(f"{ADMIN_API}/users/view", "get")]["responses"]
    assert json_schema(view["404"]) == PAYLOAD
    count = operations(openapi)[(f"{ADMIN_API}/users/count", "get")]["responses"]
    assert json_schema(count["200"]) == {"type": "integer", "minimum": 0}
    revoke = operations(openapi)[("/oauth2/revoke", "post")]["responses"]
    assert "content" not in revoke["200"]
    assert set(operations(openapi)[(f"{ADMIN_API}/users", "post")]["responses"]) >= {"201", "409"}


# --- the hook and the checker ------------------------------------------------------------------------


def test_the_test_client_refuses_an_answer_the_document_does_not_allow(client, openapi):
    del openapi["paths"][f"{ADMIN_API}/users/count"]["get"]["responses"]["401"]
    with pytest.raises(AssertionError, match="status not documented"):
        client.get(f"{ADMIN_API}/users/count")


def body(value) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("method", "path", "status", "payload", "reason"),
    [
        ("GET", "/users/view", 200, {"statusCode": 200, "responseContent": {"username": 1}}, "schema"),
        ("GET", "/users/view", 200, {"statusCode": 200, "responseContent": {"name": "kim"}}, "schema"),
        ("GET", "/users", 200, {"statusCode": 200, "messageFromServer": "x", "extra": 1}, "schema"),
        ("GET", "/users/count", 200, {"statusCode": 200}, "schema"),
        ("GET", "/users/roles", 200, {"statusCode": 200, "responseContent": ["marketing"]}, "schema"),
        ("GET", "/users/devices", 200, {"recordsTotal": 1}, "schema"),
        ("DELETE", "/users", 404, {"statusCode": 404}, "not documented"),
        ("GET", "/users/count", 500, {"statusCode": 500}, "schema"),
        ("GET", "/nowhere", 200, {"statusCode": 200}, "not refused"),
    ],
)
def test_the_checker_refuses_what_the_document_does_not_allow(openapi, method, path, status, payload, reason):
    with pytest.raises(AssertionError, match=reason):
        check_response(
            openapi, method, ADMIN_API + path, status, "application/json", body(payload),
            fallback_schema="ResponsePayload",
        )  # fmt: skip


def test_the_checker_accepts_the_answers_the_document_allows(openapi):
    allowed = [
        ("GET", "/users/count", 200, 5),
        (
            "GET",
            "/users/view",
            404,
            {"statusCode": 400, "messageFromServer": "User by username: x does not exist."},
        ),
        ("GET", "/users/roles", 200, {"statusCode": 200, "messageFromServer": "m", "responseContent": [[]]}),
        ("GET", "/users/devices", 200, []),
        (
            "GET",
            "/users/view-users",
            503,
            {"errorMessage": "Error occurred while retrieving the list of users"},
        ),
        ("PATCH", "/users", 405, {"statusCode": 405, "messageFromServer": "Method not allowed."}),
    ]
    for method, path, status, payload in allowed:
        check_response(
            openapi, method, ADMIN_API + path, status, "application/json", body(payload),
            fallback_schema="ResponsePayload",
        )  # fmt: skip
