"""svc-offboard's OpenAPI document: valid, complete, and the checker that holds responses to it."""

import json
import re

import pytest

from svc_offboard.auth import Policy
from svc_offboard.wire import ROOTS
from vendorkit.endpoints import declared
from vendorkit.testing.openapi import (
    check_response,
    documented_routes,
    find_route,
    own_responses,
)

API = "/webconsole/api"


@pytest.fixture
def document(client):
    return client.get("/openapi.json").json


def test_the_document_is_valid_openapi_3_of_every_route_served(app, document):
    documented = documented_routes(app, document, *ROOTS)
    # Both roots carry the same operations.
    for root in ROOTS:
        assert {(p.removeprefix(root), m) for p, m in documented if p.startswith(root)} == {
            (p.removeprefix(ROOTS[0]), m) for p, m in documented if p.startswith(ROOTS[0])
        }


def test_every_view_declares_who_may_call_it_and_the_bodies_it_reads(app, document):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(ROOTS):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                endpoint = declared(app.view_functions[rule.endpoint], method)
                assert isinstance(endpoint.caller, Policy), (rule, method)
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
                body = document["paths"][path][method.lower()].get("requestBody")
                # A view reads exactly the body formats its operation documents.
                documented = set(body["content"]) if body else set()
                assert set(endpoint.formats) == documented, (rule, method)


def test_each_operation_documents_its_refusals(document):
    operations = {
        (path.removeprefix(API), method): operation
        for path, item in document["paths"].items()
        if path.startswith(API)
        for method, operation in item.items()
        if method != "parameters"
    }
    public = {("/", "get"), ("/Login", "post"), ("/RenewLoginToken", "post")}
    masters = {
        ("/User", "post"),
        ("/User/{user_id}", "delete"),
        ("/User/Offboard", "post"),
        ("/Client/{client_id}", "post"),
        ("/Subclient/{subclient_id}", "post"),
    }
    for key, operation in operations.items():
        statuses = set(own_responses(operation))
        assert {"200", "406", "500"} <= statuses, key
        assert ("401" in statuses) == (key not in public), key
        assert operation["security"] == ([] if key in public else [{"Authtoken": []}]), key
        assert ("403" in statuses) == (key in masters), key
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= statuses, key
    assert document["components"]["securitySchemes"]["Authtoken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authtoken",
        "description": document["components"]["securitySchemes"]["Authtoken"]["description"],
    }


def test_xml_request_bodies_name_their_root_element(document):
    login = document["paths"][f"{API}/Login"]["post"]["requestBody"]["content"]
    assert login["application/xml"]["schema"]["xml"] == {"name": "DM2ContentIndexing_CheckCredentialReq"}
    offboard = document["paths"][f"{API}/User/Offboard"]["post"]["requestBody"]["content"]
    assert offboard["text/xml"]["schema"]["xml"] == {"name": "Api_OffboardUserReq"}
    user = document["paths"][f"{API}/User"]["post"]["requestBody"]["content"]
    assert list(user) == ["application/json"]


def test_business_failures_are_documented_on_200(document):
    schema = document["paths"][f"{API}/User/{{user_id}}"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]
    assert schema["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/Users"},
        {"$ref": "#/components/schemas/GenericResp"},
    ]


# --- the checker ----------------------------------------------------------------------------------


def body(value) -> bytes:
    return json.dumps(value).encode()


def test_checker_accepts_a_documented_response(document):
    check_response(
        document,
        "POST",
        f"{API}/User/Offboard",
        200,
        "application/json",
        body({"errorCode": 0, "errorMessage": "ok"}),
    )
    check_response(
        document,
        "GET",
        "/COMMANDCENTER/api/user/5",
        200,
        "application/json",
        body({"errorCode": 2, "errorMessage": "x"}),
    )


@pytest.mark.parametrize(
    ("method", "path", "status", "content_type", "payload", "reason"),
    [
        (
            "POST",
            f"{API}/User/Offboard",
            409,
            "application/json",
            {"errorCode": 0, "errorMessage": ""},
            "not documented",
        ),
        (
            "POST",
            f"{API}/User/Offboard",
            200,
            "text/html",
            {"errorCode": 0, "errorMessage": ""},
            "content type",
        ),
        (
            "POST",
            f"{API}/User/Offboard",
            200,
            "application/json",
            {"errorCode": 0, "errorMessage": "", "x": 1},
            "schema",
        ),
        (
            "POST",
            f"{API}/User/Offboard",
            200,
            "application/json",
            {"errorCode": "0", "errorMessage": ""},
            "schema",
        ),
        ("GET", f"{API}/User/5", 200, "application/json", {"users": [{"userEntity": {}}]}, "schema"),
        (
            "POST",
            f"{API}/Login",
            409,
            "application/json",
            {"errorCode": 5, "errorMessage": "Access denied"},
            "not documented",
        ),
        (
            "GET",
            f"{API}/Nowhere",
            200,
            "application/json",
            {"errorCode": 0, "errorMessage": ""},
            "not refused",
        ),
    ],
)
def test_checker_refuses_what_the_document_does_not_allow(
    document, method, path, status, content_type, payload, reason
):
    with pytest.raises(AssertionError, match=reason):
        check_response(document, method, path, status, content_type, body(payload))


def test_checker_holds_xml_to_its_root_element(document):
    xml = b"<App_GenericResp errorCode='0' errorMessage='ok'/>"
    check_response(document, "POST", f"{API}/User/Offboard", 200, "application/xml; charset=utf-8", xml)
    with pytest.raises(AssertionError, match="XML root"):
        check_response(document, "POST", f"{API}/Login", 200, "application/xml; charset=utf-8", xml)


def test_literal_paths_win_over_templates(document):
    assert find_route(document, f"{API}/User/Offboard") == f"{API}/User/Offboard"
    assert find_route(document, f"{API}/user/12") == f"{API}/User/{{user_id}}"
    assert find_route(document, f"{API}/User/abc") is None
