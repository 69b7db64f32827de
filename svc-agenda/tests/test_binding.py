"""Request media types, JSON and XML binding, hostile input and response format negotiation."""

import pytest
from sqlalchemy import select

from svc_agenda.auth import issue_token
from svc_agenda.models import ApiAccount
from svc_agenda.wire import utcnow
from vendorkit import db

API = "/AktionNEXT/API"
BINDING = "Entry parameter missing or parameter bindigs failed"
UNSUPPORTED = (
    "The request entity has a media type which the server or resource does not support. "
    "Only application/json and application/xml are supported"
)
NOT_FOUND_JOHN = "User for [LoginName John.Doe, ID_Firma 1] not found or it could be a system user"


def result(code, message, request=None, model_state=None):
    return {"Result": {"Message": message, "Code": code, "ModelStateErr": model_state}, "Request": request}


@pytest.fixture(scope="module")
def token(shared_app):
    with shared_app.app_context():
        session = db.session()
        account = session.scalars(select(ApiAccount).where(ApiAccount.user_login == "api")).one()
        issued = issue_token(session, account, now=utcnow(), lifetime=3600)
        session.commit()
        return issued.token


@pytest.fixture
def client(shared_app):
    return shared_app.test_client()


@pytest.fixture
def post(client, token):
    """POST raw bytes to user/remove with the api account's token (nothing here removes anyone)."""

    def send(body, content_type=None, **headers):
        if content_type is not None:
            headers["Content-Type"] = content_type
        return client.post(f"{API}/user/remove?Token={token}", data=body, headers=headers)

    return send


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "text/json",
        "application/json; charset=utf-8",
        "Application/JSON; charset=UTF-8",
    ],
)
def test_json_media_types(post, content_type):
    response = post(b'{"LoginName":"John.Doe"}', content_type)
    assert response.status_code == 404
    assert response.json == result(1400, NOT_FOUND_JOHN, {"LoginName": "John.Doe"})


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", "text/xml; charset=utf-8"])
def test_xml_media_types_answer_in_xml(post, content_type):
    response = post(b"<Request><LoginName>John.Doe</LoginName></Request>", content_type)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"LoginName=John.Doo", "application/x-www-form-urlencoded"),
        (b"LoginName: John.Doo", "text/plain"),
        (b'{"LoginName":"John.Doo"}', "application/json; charset=latin-1"),
        (b'{"LoginName":"John.Doo"}', None),
        (b'{"LoginName":"John.Doo"}', "multipart/form-data; boundary=x"),
    ],
)
def test_other_media_types_are_415(post, body, content_type):
    response = post(body, content_type)
    assert response.status_code == 415
    assert response.json == result(415, UNSUPPORTED)


def test_415_in_xml_when_accept_asks_for_it(post):
    response = post(b"x", "text/plain", Accept="application/xml")
    assert response.status_code == 415
    assert response.data.decode() == (
        f"<?xml version='1.0' encoding='utf-8'?>\n<Response><Result><Message>{UNSUPPORTED}</Message>"
        "<Code>415</Code></Result></Response>"
    )


def test_no_body_and_no_content_type_is_a_missing_parameter(post):
    response = post(b"")
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, ["LoginName: required"])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "LoginName: required"),
        (b"{}", "LoginName: required"),
        (b'{"LoginName":null}', "LoginName: required"),
        (b'{"LoginName":""}', "LoginName: must not be empty or blank"),
        (b'{"LoginName":" \\t "}', "LoginName: must not be empty or blank"),
        (b'{"LoginName":"a\\u0000b"}', "LoginName: contains control characters"),
        (b'{"LoginName":"a\\nb"}', "LoginName: contains control characters"),
        (b'{"LoginName":"a\\ud800"}', "LoginName: contains control characters"),
        (b'{"LoginName":5}', "LoginName: must be a string"),
        (b'{"LoginName":["John.Doo"]}', "LoginName: must be a string"),
        (b'{"LoginName":{"x":1}}', "LoginName: must be a string"),
        (b'{"LoginName":true}', "LoginName: must be a string"),
        ('{"LoginName":"%s"}' % ("ř" * 101), "LoginName: longer than 100 characters"),
        (b'{"LoginName":"a","loginname":"b"}', "LoginName: given more than once"),
        (b'{"LoginName":', "Request: malformed JSON"),
        (b'{"LoginName":NaN}', "Request: malformed JSON"),
        (b'["John.Doo"]', "Request: a JSON object is required"),
        (b'"John.Doo"', "Request: a JSON object is required"),
        (b'{"LoginName":"\xff"}', "Request: malformed JSON"),
        (b"[" * 100_00 + b"]" * 100_00, "Request: malformed JSON"),
    ],
)
def test_json_that_does_not_bind_is_1002(post, body, problem):
    response = post(body, "application/json")
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, [problem])


def test_a_hundred_unicode_characters_are_allowed(post):
    response = post(('{"LoginName":"%s"}' % ("ř" * 100)).encode(), "application/json")
    assert response.status_code == 404


def test_unknown_properties_and_a_bom_are_ignored(post):
    response = post('\ufeff{"Extra":[1,2],"loginNAME":"John.Doe"}'.encode(), "application/json")
    assert response.json == result(1400, NOT_FOUND_JOHN, {"LoginName": "John.Doe"})


def test_bodies_over_64_kib_are_1002(post):
    body = b'{"LoginName":"John.Doo","Pad":"' + b"x" * 70_000 + b'"}'
    response = post(body, "application/json")
    assert response.status_code == 400
    assert response.json == result(1002, BINDING, None, ["Request: body larger than 65536 bytes"])


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Request><LoginName>&lol3;</LoginName></Request>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Request><LoginName>&xxe;</LoginName></Request>"""
PARAMETER_ENTITY = b"""<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><Request/>"""
HOSTILE = "Request: DTDs and entity declarations are not allowed"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (BILLION_LAUGHS, HOSTILE),
        (EXTERNAL_ENTITY, HOSTILE),
        (PARAMETER_ENTITY, HOSTILE),
        (b"<Request><LoginName>&unknown;</LoginName></Request>", "Request: malformed XML"),
        (b"<Request><LoginName>John.Doo</LoginName>", "Request: malformed XML"),
        (b"<Request><LoginName>\xff</LoginName></Request>", "Request: malformed XML"),
        (
            b"<UserRemoveReq><LoginName>John.Doo</LoginName></UserRemoveReq>",
            "Request: the root element must be Request",
        ),
        (
            b'<Request xmlns="urn:x"><LoginName>John.Doo</LoginName></Request>',
            "Request: the root element must be Request",
        ),
        (
            b"<Request><LoginName>a</LoginName><LoginName>b</LoginName></Request>",
            "LoginName: given more than once",
        ),
        (b"<Request><LoginName><b>x</b></LoginName></Request>", "LoginName: must be a string"),
        (b"<Request><loginname>John.Doo</loginname></Request>", "LoginName: required"),
        (b"<Request><LoginName/></Request>", "LoginName: must not be empty or blank"),
        (b"<Request><LoginName>a&#9;b</LoginName></Request>", "LoginName: contains control characters"),
    ],
)
def test_xml_that_does_not_bind_is_a_clean_1002(post, body, problem):
    response = post(body, "application/xml")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    message = f"<Message>{BINDING}</Message><Code>1002</Code><ModelStateErr><Error>{problem}</Error></ModelStateErr>"
    assert response.data.decode() == (
        f"<?xml version='1.0' encoding='utf-8'?>\n<Response><Result>{message}</Result></Response>"
    )


def test_xml_predefined_entities_namespaces_and_comments_are_fine(post):
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><!-- a client --><Request xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b"<LoginName>O&apos;Brien &amp; Co</LoginName></Request>"
    )
    response = post(body, "application/xml", Accept="application/json")
    assert response.status_code == 404
    assert response.json["Request"] == {"LoginName": "O'Brien & Co"}


@pytest.mark.parametrize(
    ("accept", "content_type", "xml"),
    [
        ("application/xml", "application/json", True),
        ("text/xml", "application/json", True),
        ("application/json", "application/xml", False),
        ("*/*", "application/xml", True),
        ("*/*", "application/json", False),
        ("text/html", "application/xml", False),
        ("application/xml;q=0.5, application/json", "application/xml", False),
        (None, "text/xml", True),
    ],
)
def test_response_format_follows_accept_then_the_body(post, accept, content_type, xml):
    body = (
        b"<Request><LoginName>John.Doe</LoginName></Request>"
        if "xml" in content_type
        else b'{"LoginName":"John.Doe"}'
    )
    headers = {"Accept": accept} if accept else {}
    response = post(body, content_type, **headers)
    assert response.status_code == 404
    expected = "application/xml; charset=utf-8" if xml else "application/json; charset=utf-8"
    assert response.headers["Content-Type"] == expected


def test_unknown_paths_are_404_and_wrong_methods_405(client):
    response = client.get(f"{API}/user/delete")
    assert response.status_code == 404
    assert response.json == result(404, "No HTTP resource was found that matches the request URI")
    for method, path in [
        ("GET", "/login"),
        ("DELETE", "/user/remove"),
        ("POST", "/user/getAll"),
        ("PUT", "/user/get"),
    ]:
        response = client.open(f"{API}{path}", method=method)
        assert response.status_code == 405
        assert response.json == result(
            405, f"The requested resource does not support http method '{method}'."
        )
        assert "Allow" in response.headers
    response = client.get(f"{API}/login", headers={"Accept": "application/xml"})
    assert response.data.decode().endswith(
        "<Response><Result><Message>The requested resource does not support http method 'GET'.</Message>"
        "<Code>405</Code></Result></Response>"
    )
