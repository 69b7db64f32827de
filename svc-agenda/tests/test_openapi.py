"""svc-agenda's OpenAPI document: valid, complete, and the checker that holds every response to it."""

import copy
import json
import sys

import pytest

from vendorkit.testing.openapi import check_response, documented_routes, own_responses
from vendorkit.testing.openapi import operations as all_operations

API = "/AktionNEXT/API"

TOKEN_OPERATIONS = {
    ("/user/remove", "post"),
    ("/user/create", "post"),
    ("/user/getAll", "get"),
    ("/user/get", "get"),
}


@pytest.fixture(scope="module")
def document(shared_app):
    return shared_app.test_client().get("/openapi.json").json


def operations(document):
    """The document's operations by (path below the API root, method)."""
    return {
        (path.removeprefix(API), method): operation
        for (path, method), operation in all_operations(document).items()
    }


def codes(response, media="application/json"):
    """The Result.Code values a documented response allows."""
    return response["content"][media]["schema"]["allOf"][1]["properties"]["Result"]["properties"]["Code"][
        "enum"
    ]


def test_the_document_is_valid_openapi_3_of_exactly_the_routes_served(shared_app, document):
    documented = documented_routes(shared_app, document, API + "/")
    assert {(path.removeprefix(API), method) for path, method in documented} == TOKEN_OPERATIONS | {
        ("/login", "post")
    }


def test_every_operation_documents_each_status_it_answers(document):
    statuses = {key: set(own_responses(operation)) for key, operation in operations(document).items()}
    common = {"200", "400", "401", "403", "500"}
    assert statuses == {
        ("/login", "post"): common | {"415"},
        ("/user/remove", "post"): common | {"404", "415"},
        ("/user/create", "post"): common | {"415"},
        ("/user/getAll", "get"): common,
        ("/user/get", "get"): common | {"404"},
    }


def test_each_status_names_its_result_codes(document):
    ops = operations(document)
    remove = ops[("/user/remove", "post")]["responses"]
    assert codes(remove["200"]) == [0]
    assert codes(remove["400"]) == [1002]
    assert sorted(codes(remove["401"])) == [1000, 1001, 1006, 1007, 1008]
    assert sorted(codes(remove["403"])) == [2, 4, 5, 6, 7, 8, 1407]
    assert codes(remove["404"]) == [1400]
    assert codes(remove["415"]) == [415]
    assert sorted(codes(ops[("/login", "post")]["responses"]["401"])) == [1003, 1004, 1006, 1008]
    assert sorted(codes(ops[("/user/create", "post")]["responses"]["403"])) == [3, 7, 8, 1403]
    assert sorted(codes(ops[("/user/get", "get")]["responses"]["403"])) == [7, 8, 1401, 1402, 1412]
    assert sorted(codes(ops[("/user/getAll", "get")]["responses"]["403"])) == [7, 8, 1401]


def test_token_operations_take_the_token_in_the_query(document):
    assert document["components"]["securitySchemes"]["Token"] | {"description": ""} == {
        "type": "apiKey",
        "in": "query",
        "name": "Token",
        "description": "",
    }
    for key, operation in operations(document).items():
        if key in TOKEN_OPERATIONS:
            assert operation["security"] == [{"Token": []}], key
            token = next(p for p in operation["parameters"] if p["name"] == "Token")
            assert token["in"] == "query" and token["required"], key
        else:
            assert operation["security"] == [], key
            assert "parameters" not in operation


def test_query_parameters_carry_their_constraints(document):
    ops = operations(document)
    page = {p["name"]: p for p in ops[("/user/getAll", "get")]["parameters"]}
    assert page["PageNumber"]["schema"] == {"type": "integer", "minimum": 1}
    assert page["PageSize"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    login_name = next(p for p in ops[("/user/get", "get")]["parameters"] if p["name"] == "LoginName")
    assert login_name["required"]
    assert login_name["schema"]["maxLength"] == 100


def test_request_bodies_are_json_or_xml_rooted_at_request(document):
    for key, operation in operations(document).items():
        if key[1] != "post":
            assert "requestBody" not in operation
            continue
        content = operation["requestBody"]["content"]
        assert set(content) == {"application/json", "text/json", "application/xml", "text/xml"}, key
        for media in ("application/xml", "text/xml"):
            assert content[media]["schema"]["xml"] == {"name": "Request"}, key
        for status, response in operation["responses"].items():
            assert response["content"]["application/xml"]["schema"]["xml"] == {"name": "Response"}, status


def test_a_body_built_from_the_document_is_accepted(client, api_token, document):
    """What a generated client sends (XML under the documented root element) is what the service binds."""
    body = document["paths"][f"{API}/user/remove"]["post"]["requestBody"]["content"]["application/xml"]
    root = body["schema"]["xml"]["name"]
    response = client.post(
        f"{API}/user/remove?Token={api_token}",
        data=f"<{root}><LoginName>John.Doo</LoginName></{root}>",
        content_type="application/xml",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.data
    assert response.json["Result"]["Code"] == 0
    wrong = client.post(
        f"{API}/user/remove?Token={api_token}",
        data="<UserRemoveReq><LoginName>Jane.Roe</LoginName></UserRemoveReq>",
        content_type="application/xml",
        headers={"Accept": "application/json"},
    )
    assert wrong.status_code == 400
    assert wrong.json["Result"]["Code"] == 1002


# --- the checker ----------------------------------------------------------------------------------


def envelope(code, message="m", model_state=None, echo=None, **data) -> bytes:
    result = {"Message": message, "Code": code, "ModelStateErr": model_state}
    return json.dumps({"Result": result, "Request": echo, **data}).encode()


def test_the_checker_accepts_documented_answers(document):
    echo = {"LoginName": "John.Doo"}
    check_response(document, "POST", f"{API}/user/remove", 200, "application/json", envelope(0, echo=echo))
    check_response(document, "POST", f"{API}/USER/Remove", 403, "application/json", envelope(1407, echo=echo))
    check_response(document, "POST", f"{API}/user/remove", 403, "application/json", envelope(7))
    check_response(
        document,
        "GET",
        f"{API}/user/getAll",
        200,
        "application/json",
        envelope(0, echo={"PageNumber": None, "PageSize": None}, Users=[]),
    )
    xml = b"<?xml version='1.0'?><Response><Result><Message>m</Message><Code>0</Code></Result></Response>"
    check_response(document, "POST", f"{API}/user/remove", 200, "application/xml; charset=utf-8", xml)


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "reason"),
    [
        ("POST", "/user/remove", 409, envelope(3), "not documented"),
        ("GET", "/user/getAll", 404, envelope(1400), "not documented"),
        ("POST", "/user/remove", 401, envelope(1002), "schema"),  # 1002 is a 400
        ("POST", "/user/remove", 200, envelope(0, echo={"LoginName": "x", "Extra": 1}), "schema"),
        ("POST", "/user/remove", 400, envelope(1002, model_state=[]), "schema"),
        ("GET", "/user/getAll", 200, envelope(0, echo={"PageNumber": 1, "PageSize": 50}), "schema"),
        ("POST", "/login", 200, json.dumps({"Token": "not-a-guid"}).encode(), "schema"),
        ("GET", "/nowhere", 200, envelope(0), "not refused"),
    ],
)
def test_the_checker_refuses_what_the_document_does_not_allow(document, method, path, status, body, reason):
    with pytest.raises(AssertionError, match=reason):
        check_response(document, method, API + path, status, "application/json", body)


def test_the_checker_holds_xml_to_its_root_element(document):
    xml = b"<UserRemoveResp><Result><Code>0</Code></Result></UserRemoveResp>"
    with pytest.raises(AssertionError, match="XML root"):
        check_response(document, "POST", f"{API}/user/remove", 200, "application/xml", xml)


def test_the_test_client_checks_every_answer(shared_app, monkeypatch):
    """The in-process client fails a test whose answer the document does not allow."""
    client = shared_app.test_client()
    hook = sys.modules[type(client).__module__]
    narrowed = copy.deepcopy(hook.openapi_document(shared_app))
    del narrowed["paths"][f"{API}/user/getAll"]["get"]["responses"]["401"]
    monkeypatch.setattr(hook, "openapi_document", lambda app: narrowed)
    with pytest.raises(AssertionError, match="status not documented"):
        client.get(f"{API}/user/getAll?Token=00000000-0000-0000-0000-000000000000")
