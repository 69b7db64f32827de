"""svc-wipe's OpenAPI document: valid, complete, true to grommunio's own, and the checker that holds every answer to it."""

import json
import shutil

import pytest

from vendorkit.testing.openapi import (
    check_response,
    documented_routes,
    operations,
    own_responses,
)

API = "/api/v1"
WIPE = f"{API}/service/wipe/{{username}}"
USERS = f"{API}/domains/{{domainID}}/users"
USER = f"{USERS}/{{userID}}"
SYNC = f"{USER}/sync"
REF = "#/components/schemas/"

# What grommunio's own description (admin-api res/openapi.yaml) says of the operations served here:
# operation id, summary, tag.
PRODUCT = {
    (WIPE, "get"): ("getUserDeviceWipeStatus", "Get device wipe status for user", "Service"),
    (WIPE, "post"): ("setUserDeviceWipeStatus", "Set device wipe status for user", "Service"),
    (f"{API}/login", "post"): ("postLogin", "Login user", "Misc"),
    (f"{API}/profile", "get"): ("getProfile", "Get information about currently logged in user", "Misc"),
    (f"{API}/domains", "get"): ("getUserDomains", "Get list of domains the user has access to", "Misc"),
    (USERS, "get"): ("getUsers", "Get lists of users", "Domain Admin/Users"),
    (USERS, "post"): ("postUser", "Create new user", "Domain Admin/Users"),
    (USER, "get"): ("getUser", "Get information about a specific user", "Domain Admin/Users"),
    (USER, "delete"): ("deleteUser", "Delete user", "Domain Admin/Users"),
    (SYNC, "get"): ("getSyncedDevices", "Get status of synced devices", "Domain Admin/Users"),
}
LOGIN_REQUIRED = {key for key in PRODUCT if key[0] not in (WIPE, f"{API}/login")}


def schema_of(response):
    return response["content"]["application/json"]["schema"]


def component(document, reference):
    return document["components"]["schemas"][reference["$ref"].removeprefix(REF)]


def test_the_document_is_valid_openapi_3_of_exactly_the_routes_served(app, openapi):
    assert documented_routes(app, openapi, API) == set(PRODUCT)


def test_ids_summaries_and_tags_are_grommunios(openapi):
    for key, operation in operations(openapi).items():
        assert (operation["operationId"], operation["summary"], operation["tags"]) == (
            PRODUCT[key][0],
            PRODUCT[key][1],
            [PRODUCT[key][2]],
        ), key
    tags = {tag["name"]: tag["description"] for tag in openapi["tags"]}
    assert tags == {
        "Service": "Endpoints intended for other services",
        "Misc": "Miscellaneous and organizational endpoints",
        "Domain Admin/Users": "Endpoints for user management",
    }


def test_parameters_carry_grommunios_names_and_descriptions(openapi):
    paths = openapi["paths"]
    path_parameters = {
        parameter["name"]: parameter["description"]
        for item in paths.values()
        for parameter in item.get("parameters", [])
    }
    assert path_parameters == {
        "username": "E-mail address of the user",
        "domainID": "ID of the domain",
        "userID": "ID of the user",
    }
    domain_id = paths[USERS]["parameters"][0]["schema"]
    assert domain_id == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    for method in ("get", "post"):
        devices = {p["name"]: p for p in paths[WIPE][method]["parameters"]}["devices"]
        assert devices["description"].startswith("Restrict request to these device IDs")
        assert (devices["in"], devices["style"], devices["explode"]) == ("query", "form", False)
        assert "at most 100 different ones" in devices["description"]
        assert devices["schema"]["items"]["maxLength"] == 64
    paging = {p["name"]: p for p in paths[USERS]["get"]["parameters"]}
    assert paging["limit"]["description"] == "Maximum number of results to return"
    assert paging["limit"]["schema"]["default"] == 50
    assert paging["offset"]["description"] == "Index of the first element to return"


def test_writes_with_a_login_document_the_csrf_header(openapi):
    for key, operation in operations(openapi).items():
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        if key[1] == "get" or key[0] == f"{API}/login":
            assert headers == [], key
        else:
            assert headers == [
                {
                    "name": "X-Csrf-Token",
                    "in": "header",
                    "required": False,
                    "description": "CSRF Token",
                    "schema": {"type": "string"},
                }
            ], key


def test_security_follows_who_may_call(openapi):
    scheme = openapi["components"]["securitySchemes"]["JWTCookie"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "cookie", "grommunioAuthJwt")
    for key, operation in operations(openapi).items():
        responses = own_responses(operation)
        if key in LOGIN_REQUIRED:
            assert operation["security"] == [{"JWTCookie": []}], key
            assert schema_of(responses["401"]) == {"$ref": REF + "LoginProblem"}, key
        elif key[0] == WIPE:
            # grommunio-sync on a policy host calls without a login.
            assert operation["security"] == [{"JWTCookie": []}, {}], key
            assert "401" not in responses
        for status, reference in (("500", "ServerError"), ("503", "DatabaseError")):
            assert schema_of(responses[status]) == {"$ref": REF + reference}, (key, status)
        # The gateway's answers, in grommunio's envelope, on every operation.
        assert {"403", "408", "413", "414", "429", "431", "502", "504"} <= set(operation["responses"]), key


def test_the_wipe_report_is_grommunios_body(openapi):
    operation = openapi["paths"][WIPE]["post"]
    assert operation["requestBody"]["required"] is True
    report = component(openapi, operation["requestBody"]["content"]["application/json"]["schema"])
    assert report["required"] == ["status"]
    properties = report["properties"]
    assert properties["status"] == {"type": "integer", "enum": [0, 1, 2, 4, 8, 16, 32, 64]}
    assert properties["password"]["description"] == (
        "Password of the logged in user (with login) or the device owner (without login). "
        "Required when initiating wipe."
    )
    assert properties["remoteIP"] == {
        "type": "string",
        "maxLength": 64,
        "description": "Source IP of the status update (default is the request origin).",
    }
    assert (
        properties["time"]["description"]
        == "UNIX timestamp of the status update (default is time of the request)"
    )
    assert (properties["time"]["minimum"], properties["time"]["maximum"]) == (0, 253402300799)
    for status in ("400", "413"):
        assert status in operation["responses"]
    assert operation["responses"]["201"]["description"] == "States changed"


def test_the_login_form_is_grommunios(openapi):
    operation = openapi["paths"][f"{API}/login"]["post"]
    body = operation["requestBody"]
    assert body["required"] is False
    form = component(openapi, body["content"]["application/x-www-form-urlencoded"]["schema"])
    assert {name: field["description"] for name, field in form["properties"].items()} == {
        "user": "Username",
        "pass": "User password",
    }
    tokens = component(openapi, schema_of(operation["responses"]["200"]))
    assert tokens["properties"]["grommunioAuthJwt"]["description"] == "API access token"
    assert tokens["properties"]["csrf"]["description"] == "CSRF token"
    assert schema_of(operation["responses"]["401"]) == {"$ref": REF + "LoginProblem"}


def test_answers_are_documented_as_exactly_what_is_sent(openapi):
    schemas = openapi["components"]["schemas"]
    device = schemas["SyncedDevice"]
    assert device["additionalProperties"] is False
    assert device["properties"]["firstsynctime"] == {
        "type": "integer",
        "nullable": True,
        "description": "UNIX timestamp of first sync",
    }
    assert device["properties"]["asversion"]["type"] == "string"
    assert set(device["required"]) == set(device["properties"])
    assert schemas["ProfileUser"]["properties"]["realName"]["nullable"] is True
    status = schemas["WipeStatus"]["properties"]["data"]
    assert status["description"] == "Associative array of devices"
    assert status["additionalProperties"] == {"$ref": REF + "DeviceStatus"}
    assert schemas["InvalidRequest"]["properties"]["errors"]["description"] == (
        "List of errors encountered during validation"
    )


# --- the hook and the checker ------------------------------------------------------------------------


def test_the_test_client_refuses_an_answer_the_document_does_not_allow(client, openapi, monkeypatch):
    # The app, and so its document, serves the whole run: monkeypatch puts the response back.
    monkeypatch.delitem(openapi["paths"][f"{API}/profile"]["get"]["responses"], "401")
    with pytest.raises(AssertionError, match="status not documented"):
        client.get(f"{API}/profile")


def test_an_oversized_body_is_refused_as_documented(tmp_path, demo_database, make_app):
    shutil.copyfile(demo_database, tmp_path / "small.db")
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/small.db", "DEMO_DATA": True}
    small = make_app({**settings, "MAX_CONTENT_LENGTH": 64})
    response = small.test_client().post(
        f"{API}/service/wipe/alice@example.com", json={"status": 1, "x": "a" * 99}
    )
    assert (response.status_code, response.json) == (413, {"message": "Request body too large"})


def body(value) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("method", "path", "status", "payload", "reason"),
    [
        ("GET", "/service/wipe/x", 200, {"data": {"A": {"status": 3}}}, "schema"),
        ("GET", "/service/wipe/x", 200, {"data": {"A": {}}}, "schema"),
        ("POST", "/service/wipe/x", 201, {"message": "Success.", "extra": 1}, "schema"),
        ("POST", "/service/wipe/x", 400, {"message": "Bad Request", "errors": []}, "schema"),
        ("GET", "/profile", 401, {"message": "Access denied"}, "schema"),
        ("GET", "/domains/1/users/3/sync", 200, {"data": [{"deviceid": "A"}]}, "schema"),
        ("GET", "/domains/1/users", 200, {"data": [{"ID": 1, "username": "a", "domainID": 1}]}, "schema"),
        ("GET", "/domains", 409, {"message": "Conflict"}, "not documented"),
        ("POST", "/login", 200, {"grommunioAuthJwt": "t"}, "schema"),
        ("GET", "/nowhere", 200, {"message": "x"}, "not refused"),
    ],
)
def test_the_checker_refuses_what_the_document_does_not_allow(openapi, method, path, status, payload, reason):
    with pytest.raises(AssertionError, match=reason):
        check_response(
            openapi, method, API + path, status, "application/json", body(payload), fallback_schema="Message"
        )


def test_the_checker_accepts_what_the_document_allows(openapi):
    allowed = [
        ("GET", "/service/wipe/x", 200, {"data": {}}),
        ("POST", "/service/wipe/x", 403, {"message": "Access denied: No token provided"}),
        ("POST", "/login", 401, {"message": "Login failed", "error": "Access denied"}),
        ("POST", "/login", 400, {"message": "Incomplete login form"}),
        ("GET", "/domains/99999999999/users", 404, {"message": "Resource not found"}),
        ("PATCH", "/profile", 405, {"message": "Method 'PATCH' not allowed on this endpoint"}),
        ("GET", "/profile", 503, {"message": "Database error."}),
    ]
    for method, path, status, payload in allowed:
        check_response(
            openapi, method, API + path, status, "application/json", body(payload), fallback_schema="Message"
        )
