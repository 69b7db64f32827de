"""Wire conventions of docs/offboard.md section 2: negotiation, paths, refusals in their order, body parsing."""

import pytest

API = "/webconsole/api"

ACCEPT_REFUSED = {
    "errorCode": 2,
    "errorMessage": "Unsupported Accept header: use application/json or application/xml",
}
ACCESS_DENIED = {"errorCode": 5, "errorMessage": "Access denied"}
UNSUPPORTED_TYPE = {
    "errorCode": 2,
    "errorMessage": "Unsupported Content-type: use application/json or application/xml",
}
TOO_LARGE = {"errorCode": 2, "errorMessage": "Request body too large"}
DOCTYPE = {"errorCode": 2, "errorMessage": "XML DOCTYPE and entity declarations are not allowed"}
BAD_XML = {"errorCode": 2, "errorMessage": "Invalid XML in request body"}
BAD_JSON = {"errorCode": 2, "errorMessage": "Invalid JSON in request body"}

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Api_OffboardUserReq userName="&lol9;"/>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Api_OffboardUserReq><userName>&xxe;</userName></Api_OffboardUserReq>"""


def offboard(client, headers, body, content_type="application/json", **extra):
    return client.post(
        f"{API}/User/Offboard", data=body, headers={**headers, "Content-Type": content_type, **extra}
    )


# --- Accept -------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/*", "application/json", "text/html, */*"])
def test_json_is_the_default_answer(client, admin, accept):
    headers = dict(admin) if accept is None else {**admin, "Accept": accept}
    response = client.get(f"{API}/User/6", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json["users"][0]["userEntity"]["userName"] == "jim"


@pytest.mark.parametrize(
    "accept",
    [
        "application/xml",
        "text/xml",
        "application/xml; charset=utf-8",
        "application/json;q=0.5, application/xml",
        "application/json;q=0, */*;q=0, application/xml;q=0.1",
    ],
)
def test_xml_when_asked_for(client, admin, accept, xml_of):
    response = client.get(f"{API}/User/6", headers={**admin, "Accept": accept})
    assert response.status_code == 200
    root = xml_of(response)
    assert root.tag == "App_GetUserPropertiesResponse"
    assert root.find("users/userEntity").attrib["userName"] == "jim"


@pytest.mark.parametrize("accept", ["application/xml, application/json", "application/xml;q=0.5, */*;q=0.5"])
def test_ties_go_to_json(client, admin, accept):
    response = client.get(f"{API}/User/6", headers={**admin, "Accept": accept})
    assert response.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", ["text/html", "image/png, text/plain", "application/json;q=0"])
def test_unsatisfiable_accept_is_406_json_before_anything_else(client, accept):
    # No token, unknown path, wrong body: 406 still comes first.
    for method, path in (("GET", "/User"), ("POST", "/Login"), ("DELETE", "/nowhere")):
        response = client.open(f"{API}{path}", method=method, data=b"<x", headers={"Accept": accept})
        assert response.status_code == 406
        assert response.headers["Content-Type"] == "application/json"
        assert response.json == ACCEPT_REFUSED


# --- Authtoken ------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "QSDK", "QSDK 1234", "QSDK " + "ab" * 48, "not a token"])
def test_missing_or_unknown_token_is_401(client, token):
    headers = {} if token is None else {"Authtoken": token}
    response = client.get(f"{API}/User", headers=headers)
    assert response.status_code == 401
    assert response.json == ACCESS_DENIED


def test_401_in_xml_and_before_404_and_405(client, xml_of):
    for method, path in (("GET", "/NoSuchThing"), ("GET", "/User/abc"), ("DELETE", "/User")):
        response = client.open(f"{API}{path}", method=method, headers={"Accept": "application/xml"})
        assert response.status_code == 401
        root = xml_of(response)
        assert root.tag == "App_GenericResp"
        assert root.attrib == {"errorCode": "5", "errorMessage": "Access denied"}


def test_the_hex_part_alone_is_accepted(client, admin):
    bare = admin["Authtoken"].removeprefix("QSDK ")
    assert len(bare) >= 64
    assert client.get(f"{API}/User", headers={"Authtoken": bare}).status_code == 200


def test_logout_revokes_the_token(client, admin):
    response = client.post(f"{API}/Logout", headers=admin, data=b"ignored {", content_type="text/plain")
    assert response.status_code == 200
    assert response.json == {"errorCode": 0, "errorMessage": "User logged out"}
    assert client.get(f"{API}/User", headers=admin).status_code == 401
    assert client.post(f"{API}/Logout", headers=admin).status_code == 401


def test_logout_in_xml(client, admin, xml_of):
    response = client.post(f"{API}/Logout", headers={**admin, "Accept": "application/xml"})
    assert xml_of(response).attrib == {"errorCode": "0", "errorMessage": "User logged out"}


def _age_tokens(app, minutes):
    from datetime import timedelta

    from sqlalchemy import select

    from svc_offboard.models import Token
    from vendorkit import db

    with db.state(app).sessionmaker() as session, session.begin():
        for token in session.scalars(select(Token)):
            token.last_used_at -= timedelta(minutes=minutes)


def test_tokens_expire_after_the_idle_timeout(app, client, login):
    token = login("admin", "admin-demo", timeout=5)
    _age_tokens(app, 4)
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 200
    # That request restarted the idle clock: 4 more minutes are still fine.
    _age_tokens(app, 4)
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 200
    _age_tokens(app, 6)
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 401


def test_refused_and_failed_requests_restart_the_idle_clock_too(app, client, login, make_user):
    make_user("clerk", "clerk-pass")
    clerk = {"Authtoken": login("clerk", "clerk-pass", timeout=5)}
    master = {"Authtoken": login("admin", "admin-demo", timeout=5)}
    _age_tokens(app, 4)
    # A 403 and a business failure roll their own work back, never the clock's restart.
    assert client.post(f"{API}/User/Offboard", json={"userId": 5}, headers=clerk).status_code == 403
    failed = client.post(f"{API}/User/Offboard", json={"userId": 8}, headers=master)
    assert failed.json == {"errorCode": 2, "errorMessage": "User [8] does not exist."}
    _age_tokens(app, 4)
    assert client.get(f"{API}/WhoAmI", headers=clerk).status_code == 405
    assert client.post(f"{API}/WhoAmI", headers=master).json["user"]["userName"] == "admin"


def test_default_idle_timeout_is_30_minutes(app, client, login):
    token = login("admin", "admin-demo")
    _age_tokens(app, 29)
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 200
    _age_tokens(app, 31)
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 401


def test_tokens_are_stored_hashed(app, admin):
    from sqlalchemy import select

    from svc_offboard.models import Token
    from vendorkit import db

    with db.state(app).sessionmaker() as session:
        stored = session.scalars(select(Token.token_hash)).all()
    assert admin["Authtoken"].removeprefix("QSDK ") not in stored
    assert len(stored) == 1 and len(stored[0]) == 64


# --- paths, 404, 405 ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/user", "/USER", "/uSeR/5", "/client/11", "/SUBCLIENT?clientId=11"])
def test_paths_match_case_insensitively(client, admin, path):
    assert client.get(f"{API}{path}", headers=admin).status_code == 200


def test_login_and_offboard_case_insensitive(client, admin, b64):
    response = client.post(f"{API}/LOGIN", json={"username": "admin", "password": b64("admin-demo")})
    assert "token" in response.json
    response = client.post(f"{API}/user/offboard", json={"userId": 6}, headers=admin)
    assert response.json == {"errorMessage": "Successfully offboarded user 6", "errorCode": 0}


@pytest.mark.parametrize(
    "path", ["/Nowhere", "/User/abc", "/User/-1", "/Client/x1", "/Subclient/1.5", "/User/5/x"]
)
def test_unknown_paths_are_404(client, admin, path):
    response = client.get(f"{API}{path}", headers=admin)
    assert response.status_code == 404
    assert response.json == {"errorCode": 2, "errorMessage": "Not found"}


def test_404_in_xml(client, admin, xml_of):
    response = client.get(f"{API}/Nowhere", headers={**admin, "Accept": "application/xml"})
    assert response.status_code == 404
    assert xml_of(response).attrib == {"errorCode": "2", "errorMessage": "Not found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/User"),
        ("GET", "/User/Offboard"),
        ("PUT", "/Client/11"),
        ("GET", "/Logout"),
        ("GET", "/Login"),
    ],
)
def test_wrong_method_is_405(client, admin, method, path):
    response = client.open(f"{API}{path}", method=method, headers=admin)
    assert response.status_code == 405
    assert response.json == {"errorCode": 2, "errorMessage": "Method not allowed"}
    assert "Allow" in response.headers


def test_health_and_openapi_outside_the_root(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    spec = client.get("/openapi.json").json
    assert "/webconsole/api/User/Offboard" in spec["paths"]


# --- 403 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/User", "/Client/31", "/Subclient/131", "/User/Offboard", "/User/Offboard?junk=1"]
)
def test_write_endpoints_are_for_master_administrators(client, user_headers, path):
    # 403 comes before any look at the body (here not even JSON).
    response = client.post(
        f"{API}{path}", data=b"<<<", headers={**user_headers, "Content-Type": "text/plain"}
    )
    assert response.status_code == 403
    assert response.json == ACCESS_DENIED


def test_other_users_may_read_and_log_out(client, user_headers):
    for path in ("/User", "/User/5", "/Client", "/Client/11", "/Subclient?clientId=11", "/Subclient/101"):
        assert client.get(f"{API}{path}", headers=user_headers).status_code == 200
    assert client.post(f"{API}/Logout", headers=user_headers).json["errorCode"] == 0


def test_403_in_xml(client, user_headers, xml_of):
    response = client.post(
        f"{API}/User/Offboard", json={"userId": 5}, headers={**user_headers, "Accept": "text/xml"}
    )
    assert response.status_code == 403
    assert xml_of(response).attrib == {"errorCode": "5", "errorMessage": "Access denied"}


# --- 415, 413, 400 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_other_content_types_are_415(client, admin, content_type):
    for path in ("/User/Offboard", "/User", "/Client/31", "/Subclient/131"):
        response = client.post(f"{API}{path}", data=b"{}", headers={**admin, "Content-Type": content_type})
        assert response.status_code == 415
        assert response.json == UNSUPPORTED_TYPE
    response = client.post(f"{API}/Login", data=b"{}", headers={"Content-Type": content_type})
    assert response.status_code == 415


@pytest.mark.parametrize("path", ["/User", "/Client/31", "/Subclient/131"])
def test_xml_is_415_where_not_accepted(client, admin, path):
    for headers in ({"Content-Type": "application/xml"}, {}):
        response = client.post(f"{API}{path}", data=b"<users/>", headers={**admin, **headers})
        assert response.status_code == 415
        assert response.json == UNSUPPORTED_TYPE


def test_415_comes_before_413(client, admin):
    response = client.post(
        f"{API}/User", data=b"<" * 70000, headers={**admin, "Content-Type": "application/xml"}
    )
    assert response.status_code == 415


def test_bodies_over_64_kib_are_413(client, admin):
    big = b'{"userId": 5, "pad": "' + b"x" * 65536 + b'"}'
    response = offboard(client, admin, big)
    assert response.status_code == 413
    assert response.json == TOO_LARGE
    # The offboarding did not happen.
    assert client.get(f"{API}/Client/11", headers=admin).json["clientProperties"][0]["clientProps"][
        "clientSecurity"
    ] == {"clientOwners": "kim"}
    exactly = b'{"userId": 6, "pad": "' + b"x" * (65536 - 24) + b'"}'
    assert len(exactly) == 65536
    assert offboard(client, admin, exactly).json["errorCode"] == 0


def test_413_in_xml_and_on_login(client, xml_of):
    response = client.post(
        f"{API}/Login", data=b"<a>" + b" " * 70000 + b"</a>", headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 413
    assert response.json == TOO_LARGE
    response = client.post(
        f"{API}/Login", data=b"{" + b" " * 70000 + b"}", headers={"Accept": "application/xml"}
    )
    assert response.status_code == 413
    assert xml_of(response).attrib == {"errorCode": "2", "errorMessage": "Request body too large"}


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<!doctype x><x/>"])
def test_doctype_is_refused_before_parsing(client, admin, body):
    for content_type in ("application/xml", "text/xml", "application/json"):
        response = offboard(client, admin, body, content_type)
        assert response.status_code == 400
        assert response.json == DOCTYPE
    response = client.post(f"{API}/Login", data=body)
    assert response.status_code == 400
    assert response.json == DOCTYPE
    # Nothing was offboarded.
    assert client.get(f"{API}/Client/11", headers=admin).json["clientProperties"][0]["clientProps"][
        "clientSecurity"
    ]["clientOwners"] == ("kim")


def test_doctype_refusal_in_xml(client, admin, xml_of):
    response = offboard(client, admin, EXTERNAL_ENTITY, "application/xml", Accept="application/xml")
    assert response.status_code == 400
    assert xml_of(response).attrib == {
        "errorCode": "2",
        "errorMessage": "XML DOCTYPE and entity declarations are not allowed",
    }


@pytest.mark.parametrize(
    "body", [b"<Api_OffboardUserReq userId='5'>", b"<a></b>", b"< x", b"<a>&undefined;</a>"]
)
def test_malformed_xml_is_400(client, admin, body):
    for content_type in ("application/xml", "text/xml; charset=utf-8"):
        response = offboard(client, admin, body, content_type)
        assert response.status_code == 400
        assert response.json == BAD_XML
    assert client.post(f"{API}/Login", data=body).json == BAD_XML


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'"kim"', b"5", b"null", b'{"userId": 5', b"\xff\xfe{}", b'{"userName": "\xc3"}', b"NaN",
     b'{"userId": NaN}', b'{"userName": "\\ud800"}', b'{"a": 1,,}', b"[" * 60000],
)  # fmt: skip
def test_malformed_json_is_400(client, admin, body):
    response = offboard(client, admin, body)
    assert response.status_code == 400
    assert response.json == BAD_JSON


def test_malformed_json_on_json_only_endpoints(client, admin):
    for path in ("/User", "/Client/31", "/Subclient/131"):
        response = client.post(
            f"{API}{path}", data=b"[1]", headers={**admin, "Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json == BAD_JSON


# --- body reading ---------------------------------------------------------------------------


def test_the_documents_example_json_labelled_as_xml(client, admin):
    response = offboard(client, admin, b'{\n  "userId":5\n}', "application/xml", Accept="application/json")
    assert response.status_code == 200
    assert response.json == {"errorMessage": "Successfully offboarded user 5", "errorCode": 0}


def test_trailing_comma_of_the_syntax_block(client, admin):
    response = offboard(client, admin, b'{\n  "userName": "jim",\n}')
    assert response.json == {"errorMessage": "Successfully offboarded user 6", "errorCode": 0}
    response = offboard(client, admin, b'{\n  "userName": "",\n}')
    assert response.json == {"errorCode": 2, "errorMessage": "Either userName or userId must be specified."}


def test_without_content_type_the_first_character_decides(client, admin):
    response = client.post(f"{API}/User/Offboard", data=b'  <Api_OffboardUserReq userId="6"/>', headers=admin)
    assert response.json["errorCode"] == 0
    response = client.post(f"{API}/User/Offboard", data=b' {"userId": 6}', headers=admin)
    assert response.json["errorCode"] == 0


def test_charset_parameters_are_ignored(client, admin):
    response = offboard(client, admin, b'{"userId": 6}', "Application/JSON; charset=UTF-8")
    assert response.json["errorCode"] == 0
    response = offboard(client, admin, b'<r userId="6"/>', "text/xml; charset=iso-8859-1")
    assert response.json["errorCode"] == 0


def test_empty_body_counts_as_empty_object(client, admin):
    for content_type in ("application/json", "application/xml", None):
        headers = dict(admin) if content_type is None else {**admin, "Content-Type": content_type}
        response = client.post(f"{API}/User/Offboard", data=b"", headers=headers)
        assert response.status_code == 200
        assert response.json == {
            "errorCode": 2,
            "errorMessage": "Either userName or userId must be specified.",
        }


def test_root_wrapper_and_at_keys(client, admin, b64):
    response = offboard(client, admin, b'{"Api_OffboardUserReq": {"@userId": 6}}')
    assert response.json == {"errorMessage": "Successfully offboarded user 6", "errorCode": 0}
    response = client.post(
        f"{API}/Login",
        json={
            "DM2ContentIndexing_CheckCredentialReq": {"@username": "admin", "@password": b64("admin-demo")}
        },
    )
    assert response.json["userId"] == 1


def test_get_endpoints_ignore_bodies(client, admin):
    response = client.get(
        f"{API}/User/5", data=BILLION_LAUGHS, headers={**admin, "Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    assert response.json["users"][0]["userEntity"]["userId"] == 5


@pytest.mark.parametrize("root", ["/webconsole/api", "/commandcenter/api"])
def test_both_roots_refuse_in_the_products_order(client, admin, user_headers, root):
    text = {"data": "x", "content_type": "text/plain"}
    assert client.get(f"{root}/Nowhere", headers={"Accept": "text/html"}).status_code == 406
    assert client.get(f"{root}/Nowhere").status_code == 401
    assert client.get(f"{root}/Nowhere", headers=admin).status_code == 404
    assert client.put(f"{root}/User/Offboard", headers=admin).status_code == 405
    assert client.post(f"{root}/User/Offboard", headers=user_headers, **text).status_code == 403
    assert client.post(f"{root}/User/Offboard", headers=admin, **text).status_code == 415
