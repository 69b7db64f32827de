"""Each vendor's envelope for every refusal, in JSON and (commvault, aktion) XML."""

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from vendorkit.dialects import DIALECT_NAMES, Refusal, aktion, commvault, dnl, get_dialect, wso2


def request(headers=None, method="GET", content_type=None, data=None):
    builder = EnvironBuilder(method=method, headers=headers or {}, content_type=content_type, data=data)
    return Request(builder.get_environ())


def body(response):
    return json.loads(response.get_data())


@pytest.mark.parametrize("name", DIALECT_NAMES)
@pytest.mark.parametrize("kind", list(Refusal))
def test_every_dialect_answers_every_refusal_with_json(name, kind):
    response = get_dialect(name).refusal(kind, request(), client_ip="192.0.2.1", method="PATCH")
    assert response.mimetype == ("application/problem+json" if name == "problem" else "application/json")
    assert isinstance(body(response), dict)
    assert response.status_code >= 400


def test_grommunio_messages():
    dialect = get_dialect("grommunio")
    assert body(dialect.refusal(Refusal.NOT_FOUND)) == {"message": "Resource not found"}
    assert body(dialect.refusal(Refusal.METHOD_NOT_ALLOWED, method="PUT")) == {
        "message": "Method 'PUT' not allowed on this endpoint"
    }
    database = dialect.refusal(Refusal.DATABASE_ERROR)
    assert (database.status_code, body(database)) == (503, {"message": "Database error."})
    internal = dialect.refusal(Refusal.INTERNAL_ERROR)
    assert body(internal) == {"message": "The server encountered an error while processing the request."}


def test_dnl_keeps_the_documents_key_order_and_its_404():
    response = dnl.error(
        401, "unauthenticated_error", "No header X-Auth-Token present", 110, "auth_token_not_provided"
    )
    assert response.get_data(as_text=True) == (
        '{"error_type": "unauthenticated_error", "success": false, "error": '
        '{"message": "No header X-Auth-Token present", "code": 110, "reason": "auth_token_not_provided"}}'
    )
    assert body(get_dialect("dnl").refusal(Refusal.NOT_FOUND)) == {
        "success": False,
        "error_type": "Object not found error",
    }


def test_wso2_leaves_null_fields_out_and_answers_server_faults_with_error_message():
    assert body(wso2.payload(200, "ok")) == {"statusCode": 200, "messageFromServer": "ok"}
    assert body(wso2.payload(200, None, [1])) == {"statusCode": 200, "responseContent": [1]}
    fault = get_dialect("wso2").refusal(Refusal.UPSTREAM_TIMEOUT)
    assert (fault.status_code, body(fault)) == (504, {"errorMessage": "Upstream service timed out"})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "json"),
        ("", "json"),
        ("*/*", "json"),
        ("application/*", "json"),
        ("application/json", "json"),
        ("application/xml", "xml"),
        ("text/xml", "xml"),
        ("application/json, application/xml", "json"),  # a tie goes to JSON
        ("application/json;q=0.5, application/xml", "xml"),
        ("text/html", None),
        ("application/xml; charset=utf-8", "xml"),
        ("application/json; charset=utf-8, text/xml;q=0.9", "json"),
    ],
)
def test_commvault_negotiation(accept, expected):
    assert commvault.negotiate(request({"Accept": accept} if accept is not None else {})) == expected


def test_commvault_xml_puts_scalars_in_attributes_and_repeats_list_items():
    xml = commvault.to_xml(
        "DM2ContentIndexing_CheckCredentialResp",
        {
            "userName": "admin",
            "isAccountLocked": False,
            "ccn": 0,
            "skip": None,
            "errList": [{"errorCode": 2}, {"errorCode": 5}],
        },
    ).decode()
    assert '<DM2ContentIndexing_CheckCredentialResp userName="admin" isAccountLocked="false" ccn="0">' in xml
    assert xml.count("<errList") == 2 and "skip" not in xml


def test_commvault_refusal_in_xml():
    response = get_dialect("commvault").refusal(Refusal.IP_DENIED, request({"Accept": "application/xml"}))
    assert response.status_code == 403
    assert response.mimetype == "application/xml"
    assert b'<App_GenericResp errorCode="5" errorMessage="Access denied" />' in response.get_data()


@pytest.mark.parametrize(
    ("accept", "content_type", "xml"),
    [
        (None, None, False),
        ("application/xml", None, True),
        ("text/xml", "application/json", True),
        ("application/json", "application/xml", False),
        ("*/*", "application/xml", True),  # */* follows the request body's format
        (None, "text/xml; charset=utf-8", True),
        ("text/html", "application/xml", False),  # unsupported Accept falls back to JSON
    ],
)
def test_aktion_response_format(accept, content_type, xml):
    headers = {"Accept": accept} if accept else {}
    assert (
        aktion.wants_xml(request(headers, method="POST", content_type=content_type, data=b"<Request/>"))
        is xml
    )


def test_aktion_answers_a_bodiless_request_in_json_whatever_its_content_type():
    assert aktion.wants_xml(request({}, method="POST", content_type="application/xml")) is False


def test_aktion_refusals_fill_the_documents_templates():
    dialect = get_dialect("aktion")
    limited = dialect.refusal(Refusal.RATE_LIMITED, request(), client_ip="192.0.2.1")
    assert limited.status_code == 401
    assert body(limited) == {
        "Result": {
            "Message": "Request rate policy violated for [192.0.2.1]",
            "Code": 1008,
            "ModelStateErr": None,
        },
        "Request": None,
    }
    filtered = dialect.refusal(
        Refusal.IP_DENIED, request({"Accept": "application/xml"}), client_ip="2001:db8::1"
    )
    assert filtered.status_code == 401
    assert filtered.get_data(as_text=True).endswith(
        "<Response><Result><Message>Ip filter violated for ip client address [2001:db8::1]</Message>"
        "<Code>1006</Code></Result></Response>"
    )
    method = dialect.refusal(Refusal.METHOD_NOT_ALLOWED, request(), method="DELETE")
    assert (
        body(method)["Result"]["Message"] == "The requested resource does not support http method 'DELETE'."
    )


def test_aktion_xml_names_list_items_and_omits_nulls():
    xml = aktion.to_xml(
        {"Result": {"Message": "m", "Code": 1002, "ModelStateErr": ["LoginName: required"]}, "Request": None}
    ).decode()
    assert "<ModelStateErr><Error>LoginName: required</Error></ModelStateErr>" in xml
    assert "<Request" not in xml


def test_characters_xml_cannot_carry_are_replaced_not_emitted():
    from vendorkit.xmlsafe import parse_xml

    commvault_xml = commvault.to_xml("App_GenericResp", {"errorMessage": "User [a\x01b] does not exist."})
    assert parse_xml(commvault_xml).get("errorMessage") == "User [a\ufffdb] does not exist."
    aktion_xml = aktion.to_xml({"Request": {"LoginName": "x\x1fy"}})
    assert parse_xml(aktion_xml).findtext("Request/LoginName") == "x\ufffdy"
