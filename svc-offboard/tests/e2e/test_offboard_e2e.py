"""svc-offboard end to end: through the real gateway, on PostgreSQL, in JSON and XML."""

from __future__ import annotations

import base64
from functools import partial

import pytest

from vendorkit.testing.concurrency import at_once
from vendorkit.xmlsafe import parse_xml

XML = {"Content-Type": "application/xml", "Accept": "application/xml"}
ACCESS_DENIED = {"errorCode": 5, "errorMessage": "Access denied"}
UNSUPPORTED = "Unsupported Content-type: use application/json or application/xml"


def success(user_id: int) -> dict:
    return {"errorMessage": f"Successfully offboarded user {user_id}", "errorCode": 0}


def failure(message: str) -> dict:
    return {"errorCode": 2, "errorMessage": message}


def xml_attributes(response) -> dict:
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    return parse_xml(response.body).attrib


# --- the document's example on a database of its own ----------------------------------------


def test_the_documents_example_offboards_kim(kim_api):
    api = kim_api
    token = api.login("admin", "admin-demo")
    assert api.owners(token, 12) == ["admin", "kim"]
    response = api.call(
        "POST",
        "/User/Offboard",
        token=token,
        headers={"Accept": "application/json", "Content-type": "application/xml"},
        body='{\n  "userId":5\n}',
    )
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == success(5)

    # The effect, seen through the read endpoints.
    owners = {client_id: api.owners(token, client_id) for client_id in (11, 12, 13, 20, 21, 22, 31, 32)}
    assert owners == {11: [], 12: ["admin"], 13: ["admin"], 20: ["admin"], 21: [], 22: [], 31: [], 32: []}
    backup = {sub: api.backup(token, sub) for sub in (101, 102, 103, 104, 120, 121, 122, 131, 132, 133)}
    assert backup == {
        101: False,
        102: False,
        103: False,
        104: True,
        120: True,
        121: False,
        122: False,
        131: True,
        132: True,
        133: True,
    }
    plans = {
        item["subClientEntity"]["subclientId"]: item["planEntity"]["planName"]
        for client_id in (11, 12, 21)
        for item in api.get(f"/Subclient?clientId={client_id}", token)["subClientProperties"]
    }
    assert plans == {101: "Laptop plan", 102: "Laptop plan", 103: "Server plan", 121: "VM plan"}
    assert api.roles(token, 5) == [(13, "View")]
    kim = api.get("/User/5", token)["users"][0]
    assert (kim["userEntity"]["userName"], kim["email"], kim["enableUser"]) == (
        "kim",
        "kim@example.com",
        True,
    )

    # In XML, by name, again: the same success, nothing changes.
    response = api.call(
        "POST", "/user/offboard", token=token, headers=XML, body='<Api_OffboardUserReq userName="kim"/>'
    )
    assert xml_attributes(response) == {"errorMessage": "Successfully offboarded user 5", "errorCode": "0"}
    assert api.roles(token, 5) == [(13, "View")]
    vm = api.call("GET", "/Client/21", token=token, headers={"Accept": "application/xml"})
    root = parse_xml(vm.body)
    assert root.find("clientProperties/clientProps/clientSecurity").attrib == {"clientOwners": ""}
    assert root.find("clientProperties/vmStatusInfo/pseudoClient").attrib == {
        "clientId": "20",
        "clientName": "vcenter01",
    }


# --- full offboardings of users of our own on the shared stack ----------------------------------


def _request(kind: str, user_id: int, name: str) -> tuple[dict, str]:
    """(headers, body) of an offboard request of ``kind``."""
    if kind == "json-name":
        return {"Content-Type": "application/json"}, f'{{"userName": "{name.upper()}"}}'
    if kind == "json-id":
        return {"Content-Type": "application/json"}, f'{{"userId": {user_id}}}'
    if kind == "xml-name":
        return XML, f'<Api_OffboardUserReq userName="{name}"/>'
    return XML, f"<Api_OffboardUserReq><userId>{user_id}</userId></Api_OffboardUserReq>"


@pytest.mark.parametrize("kind", ["json-name", "json-id", "xml-name", "xml-id"])
def test_full_offboarding(api, admin_token, unique, kind):
    name = unique("leaver")
    user_id = api.create_user(
        admin_token,
        name,
        password="leaver-pw",
        associations=[
            ("sandbox-fs01", "Client Admins"),
            ("sandbox-vm01", "Client Admins"),
            ("shared-fs01", "View"),
        ],
    )
    colleague_name = unique("colleague")
    colleague = api.create_user(admin_token, colleague_name)
    api.add_owners(admin_token, 31, user_id, colleague)
    api.add_owners(admin_token, 32, user_id)
    for subclient_id in (131, 132, 133):
        api.set_backup(admin_token, subclient_id, True)
    user_token = api.login(name, "leaver-pw")

    headers, body = _request(kind, user_id, name)
    response = api.call("POST", "/User/Offboard", token=admin_token, headers=headers, body=body)
    assert response.status == 200
    if kind.startswith("xml"):
        assert xml_attributes(response) == {
            "errorMessage": f"Successfully offboarded user {user_id}",
            "errorCode": "0",
        }
    else:
        assert response.json() == success(user_id)

    assert name not in api.owners(admin_token, 31)
    assert colleague_name in api.owners(admin_token, 31)
    assert name not in api.owners(admin_token, 32)
    assert [api.backup(admin_token, sub) for sub in (131, 132, 133)] == [False, False, False]
    assert api.roles(admin_token, user_id) == [(13, "View")]
    # Untouched: the hypervisor, shared-fs01, kim, the user's own record and token.
    assert api.backup(admin_token, 120) is True
    assert api.backup(admin_token, 104) is True
    assert api.owners(admin_token, 21) == ["kim"]
    assert api.get("/User/5", admin_token)["users"][0]["securityAssociations"]["associations"]
    assert api.call("GET", "/User", token=user_token).status == 200
    # Idempotent.
    again = api.call("POST", "/User/Offboard", token=admin_token, json_body={"userId": user_id})
    assert again.json() == success(user_id)


def test_concurrent_offboards_of_one_user(api, admin_token, unique):
    name = unique("racer")
    user_id = api.create_user(
        admin_token, name, associations=[("sandbox-fs01", "View"), ("sandbox-vm01", "View")]
    )
    api.add_owners(admin_token, 31, user_id)
    api.add_owners(admin_token, 32, user_id)
    for subclient_id in (131, 132, 133):
        api.set_backup(admin_token, subclient_id, True)

    def offboard(body: dict) -> tuple[int, dict]:
        response = api.call("POST", "/User/Offboard", token=admin_token, json_body=body)
        return response.status, response.json()

    bodies = ({"userId": user_id} if index % 2 else {"userName": name} for index in range(8))
    results = at_once(*(partial(offboard, body) for body in bodies))
    assert results == [(200, success(user_id))] * 8
    assert name not in api.owners(admin_token, 31) + api.owners(admin_token, 32)
    assert [api.backup(admin_token, sub) for sub in (131, 132, 133)] == [False, False, False]
    assert api.roles(admin_token, user_id) == []


# --- hostile XML ------------------------------------------------------------------------------------

LOL_ENTITIES = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{LOL_ENTITIES}]>'
    '<Api_OffboardUserReq userName="&lol9;"/>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<Api_OffboardUserReq><userName>&xxe;</userName></Api_OffboardUserReq>"
)
PARAMETER_ENTITY = '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><r userId="5"/>'


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
@pytest.mark.parametrize("path", ["/User/Offboard", "/Login"])
def test_hostile_xml_gets_a_clean_400(api, admin_token, body, path):
    # The request timeout is the guard against a hang: a refusal comes back at once.
    response = api.call(
        "POST", path, token=admin_token, headers={"Content-Type": "application/xml"}, body=body, timeout=10
    )
    assert response.status == 400
    assert response.json() == failure("XML DOCTYPE and entity declarations are not allowed")
    response = api.call("POST", path, token=admin_token, headers=XML, body=body, timeout=10)
    assert response.status == 400
    assert xml_attributes(response) == {
        "errorCode": "2",
        "errorMessage": "XML DOCTYPE and entity declarations are not allowed",
    }


# --- every error case of docs/offboard.md ------------------------------------------------------------


def test_406_comes_first(api):
    response = api.call("POST", "/User/Offboard", headers={"Accept": "text/html"}, body="<x")
    assert response.status == 406
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == failure("Unsupported Accept header: use application/json or application/xml")


@pytest.mark.parametrize("token", [None, "QSDK " + "0" * 96, "junk"])
def test_401_without_a_live_token(api, token):
    for method, path in (
        ("GET", "/User"),
        ("POST", "/User/Offboard"),
        ("GET", "/nowhere"),
        ("POST", "/Logout"),
    ):
        response = api.call(method, path, token=token, json_body={"userId": 5})
        assert response.status == 401
        assert response.json() == ACCESS_DENIED
    response = api.call("GET", "/Client", token=token, headers={"Accept": "application/xml"})
    assert response.status == 401
    assert xml_attributes(response) == {"errorCode": "5", "errorMessage": "Access denied"}


def test_logout_revokes_the_token(api):
    token = api.login("admin", "admin-demo")
    response = api.call("POST", "/Logout", token=token)
    assert response.json() == {"errorCode": 0, "errorMessage": "User logged out"}
    assert api.call("GET", "/User", token=token).status == 401


def test_the_hex_part_alone_is_a_token(api, admin_token):
    assert api.call("GET", "/User", token=admin_token.removeprefix("QSDK ")).status == 200


def test_404_and_405(api, admin_token):
    response = api.call("GET", "/User/abc", token=admin_token)
    assert (response.status, response.json()) == (404, failure("Not found"))
    response = api.call("GET", "/User/Offboard", token=admin_token)
    assert (response.status, response.json()) == (405, failure("Method not allowed"))


def test_403_for_other_users(api, admin_token, unique):
    name = unique("clerk")
    api.create_user(admin_token, name, password="clerk-pw")
    token = api.login(name, "clerk-pw")
    assert api.call("GET", "/User/5", token=token).status == 200
    for path in ("/User/Offboard", "/User", "/Client/31", "/Subclient/131"):
        response = api.call("POST", path, token=token, json_body={"userId": 5})
        assert (response.status, response.json()) == (403, ACCESS_DENIED)


@pytest.mark.parametrize(
    ("path", "content_type", "body", "status", "message"),
    [
        ("/User/Offboard", "text/plain", "{}", 415, UNSUPPORTED),
        ("/User", "application/xml", "<u/>", 415, UNSUPPORTED),
        (
            "/User/Offboard",
            "application/json",
            '{"userId": 5, "pad": "' + "x" * 70000 + '"}',
            413,
            "Request body too large",
        ),
        ("/User/Offboard", "application/xml", "<a><b></a>", 400, "Invalid XML in request body"),
        ("/User/Offboard", "application/json", '{"userId": 5', 400, "Invalid JSON in request body"),
        ("/User/Offboard", "application/json", "[5]", 400, "Invalid JSON in request body"),
    ],
    ids=["415-text", "415-xml-create", "413", "400-xml", "400-json", "400-json-array"],
)
def test_a_body_that_cannot_be_read_is_refused_and_changes_nothing(
    api, admin_token, path, content_type, body, status, message
):
    response = api.call("POST", path, token=admin_token, headers={"Content-Type": content_type}, body=body)
    assert (response.status, response.json()) == (status, failure(message))
    assert api.owners(admin_token, 21) == ["kim"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"userId": True}, "Invalid userId."),
        ({"userId": "5x"}, "Invalid userId."),
        ({"userId": 2147483648}, "Invalid userId."),
        ({"userName": "a\u0001b"}, "Invalid userName."),
        ({"userName": "n" * 256}, "Invalid userName."),
        ({"userName": ""}, "Either userName or userId must be specified."),
        ({"userId": 999999}, "User [999999] does not exist."),
        ({"userId": 5, "userName": "jim"}, "userName and userId do not refer to the same user."),
        ({"userName": "Nobody"}, "User [Nobody] does not exist."),
    ],
)
def test_offboard_validation(api, admin_token, body, message):
    response = api.call("POST", "/User/Offboard", token=admin_token, json_body=body)
    assert (response.status, response.json()) == (200, failure(message))
    xml_body = (
        "<Api_OffboardUserReq "
        + " ".join(f'{k}="{str(v).lower() if isinstance(v, bool) else v}"' for k, v in body.items())
        + "/>"
    )
    if message not in ("Invalid userId.", "Invalid userName."):
        response = api.call("POST", "/User/Offboard", token=admin_token, headers=XML, body=xml_body)
        assert xml_attributes(response) == {"errorCode": "2", "errorMessage": message}
    assert api.owners(admin_token, 21) == ["kim"]


def test_login_failures_and_success_in_xml(api):
    password = base64.b64encode(b"admin-demo").decode()
    response = api.call(
        "POST",
        "/Login",
        headers=XML,
        body=f'<DM2ContentIndexing_CheckCredentialReq username="Admin" password="{password}"/>',
    )
    root = parse_xml(response.body)
    assert root.tag == "DM2ContentIndexing_CheckCredentialResp"
    assert root.attrib["token"].startswith("QSDK ")
    assert api.call("GET", "/User", token=root.attrib["token"]).status == 200
    for fields, message in (
        ({"username": "admin", "password": "admin-demo"}, "Invalid Username or Password"),
        ({"username": "kim", "password": password}, "Invalid Username or Password"),
        ({"username": "admin", "password": password, "timeout": 0}, "Invalid timeout value"),
    ):
        response = api.call("POST", "/login", json_body=fields)
        assert response.json() == {"errList": [{"errorCode": 2, "errLogMessage": message}]}
