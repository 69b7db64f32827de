"""POST /Login: base64 passwords, tokens, timeouts, every credential failure."""

import re

import pytest

API = "/webconsole/api"
REFUSED = {"errList": [{"errorCode": 2, "errLogMessage": "Invalid Username or Password"}]}
BAD_TIMEOUT = {"errList": [{"errorCode": 2, "errLogMessage": "Invalid timeout value"}]}


def test_login_success_json(client, b64):
    response = client.post(f"{API}/Login", json={"username": "admin", "password": b64("admin-demo")})
    assert response.status_code == 200
    body = response.json
    assert re.fullmatch(r"QSDK [0-9a-f]{64,}", body.pop("token"))
    assert re.fullmatch(r"[0-9A-F-]{36}", body.pop("userGUID"))
    assert body == {
        "userName": "admin",
        "userId": 1,
        "aliasName": "1",
        "smtpAddress": "admin@example.com",
        "loginAttempts": 0,
        "remainingLockTime": 0,
        "isAccountLocked": False,
        "forcePasswordChange": False,
        "providerType": 1,
        "ccn": 0,
        "errList": [],
    }
    assert next(iter(response.json)) == "token"


def test_login_success_xml(client, b64, xml_of):
    body = (
        f'<DM2ContentIndexing_CheckCredentialReq username="ADMIN" password="{b64("admin-demo")}" domain="x"/>'
    )
    response = client.post(
        f"{API}/Login", data=body, headers={"Content-Type": "application/xml", "Accept": "application/xml"}
    )
    root = xml_of(response)
    assert root.tag == "DM2ContentIndexing_CheckCredentialResp"
    assert root.attrib["token"].startswith("QSDK ")
    assert root.attrib["userName"] == "admin"
    assert root.attrib["userId"] == "1"
    assert root.attrib["isAccountLocked"] == "false"
    assert list(root) == []
    token = root.attrib["token"]
    assert client.get(f"{API}/User", headers={"Authtoken": token}).status_code == 200


def test_login_with_child_elements(client, b64):
    body = (
        f"<req><username> admin </username><password>{b64('admin-demo')}</password><timeOut>5</timeOut></req>"
    )
    response = client.post(f"{API}/Login", data=body, headers={"Content-Type": "text/xml"})
    assert response.json["userId"] == 1


def test_each_login_gets_its_own_token(client, login):
    first, second = login("admin", "admin-demo"), login("Admin", "admin-demo")
    assert first != second
    client.post(f"{API}/Logout", headers={"Authtoken": first})
    assert client.get(f"{API}/User", headers={"Authtoken": first}).status_code == 401
    assert client.get(f"{API}/User", headers={"Authtoken": second}).status_code == 200


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "nobody", "password": "YWRtaW4tZGVtbw=="},
        {"username": "admin", "password": "d3Jvbmc="},  # "wrong"
        {"username": "admin", "password": "admin-demo"},  # plain text is not base64
        {"username": "admin", "password": "YWRtaW4tZGVtbw"},  # padding missing
        {"username": "admin", "password": "QURNSU4tREVNTw=="},  # ADMIN-DEMO: passwords match exactly
        {"username": "admin"},
        {"password": "YWRtaW4tZGVtbw=="},
        {"username": "", "password": "YWRtaW4tZGVtbw=="},
        {"username": "admin", "password": ""},
        {"username": ["admin"], "password": "YWRtaW4tZGVtbw=="},
        {"username": "admin", "password": 5},
        {"username": None, "password": None},
        {"username": "kim", "password": "YWRtaW4tZGVtbw=="},  # kim has no password
        {"username": "adm\u0000in", "password": "YWRtaW4tZGVtbw=="},
        {},
    ],
)
def test_credential_failures(client, credentials, xml_of):
    response = client.post(f"{API}/Login", json=credentials)
    assert response.status_code == 200
    assert response.json == REFUSED
    response = client.post(f"{API}/Login", json=credentials, headers={"Accept": "application/xml"})
    root = xml_of(response)
    assert root.tag == "DM2ContentIndexing_CheckCredentialResp"
    assert root.attrib == {}
    assert [(child.tag, child.attrib) for child in root] == [
        ("errList", {"errorCode": "2", "errLogMessage": "Invalid Username or Password"})
    ]


def test_disabled_users_cannot_log_in(client, admin, b64):
    user = {"userEntity": {"userName": "off"}, "password": b64("pw-off"), "enableUser": False}
    assert (
        client.post(f"{API}/User", json={"users": [user]}, headers=admin).json["response"][0]["errorCode"]
        == 0
    )
    response = client.post(f"{API}/Login", json={"username": "off", "password": b64("pw-off")})
    assert response.json == REFUSED


def test_non_ascii_passwords(client, make_user, login):
    make_user("ünï", "pässwörd ✓")
    assert login("ÜNÏ", "pässwörd ✓").startswith("QSDK ")


@pytest.mark.parametrize("timeout", [0, 1441, -1, 1.5, 30.0, True, "abc", "", " 30", None, [30], "1441"])
def test_invalid_timeout_is_checked_first(client, timeout):
    # Even with wrong credentials, the timeout is reported.
    response = client.post(f"{API}/Login", json={"username": "nobody", "password": "x", "timeout": timeout})
    assert response.json == BAD_TIMEOUT
    response = client.post(f"{API}/Login", json={"username": "nobody", "timeOut": timeout})
    assert response.json == BAD_TIMEOUT


@pytest.mark.parametrize("timeout", [1, 1440, "30", "0007"])
def test_valid_timeouts(client, b64, timeout):
    response = client.post(
        f"{API}/Login", json={"username": "admin", "password": b64("admin-demo"), "timeout": timeout}
    )
    assert "token" in response.json


def test_invalid_timeout_in_xml(client, xml_of):
    response = client.post(
        f"{API}/Login", data='<r username="admin" password="x" timeout="0"/>', headers={"Accept": "text/xml"}
    )
    assert [child.attrib for child in xml_of(response)] == [
        {"errorCode": "2", "errLogMessage": "Invalid timeout value"}
    ]


def test_login_needs_no_token_and_ignores_one(client, b64):
    response = client.post(
        f"{API}/Login",
        json={"username": "admin", "password": b64("admin-demo")},
        headers={"Authtoken": "QSDK garbage"},
    )
    assert "token" in response.json
