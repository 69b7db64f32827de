"""Devices of a user, enrolment invitations, the outbox, and password changes."""

import json

import pytest

# The document's sample output, with owner kim (docs/emm.md section 7).
TITAN_UMTS = json.loads(
    r"""[{"id":1,"name":"titan_umts","type":"android","description":"titan_umts","deviceIdentifier":"359298055243973","enrolmentInfo":{"id":1,"dateOfEnrolment":1457160869352,"dateOfLastUpdate":1457160869352,"ownership":"BYOD","status":"ACTIVE","owner":"kim"},"properties":[{"name":"IMEI","value":"359298055243973"},{"name":"IMSI","value":"413025702363929"},{"name":"DEVICE_MODEL","value":"XT1064"},{"name":"OS_VERSION","value":"6.0"},{"name":"VENDOR","value":"motorola"},{"name":"SERIAL"},{"name":"DEVICE_INFO","value":"[{\"name\":\"IMEI\",\"value\":\"359298055243973\"},{\"name\":\"IMSI\",\"value\":\"413025702363929\"},{\"name\":\"DEVICE_MODEL\",\"value\":\"XT1064\"},{\"name\":\"VENDOR\",\"value\":\"motorola\"},{\"name\":\"OS_VERSION\",\"value\":\"6.0\"},{\"name\":\"DEVICE_NAME\",\"value\":\"titan_umts\"},{\"name\":\"BATTERY_LEVEL\",\"value\":\"88\"},{\"name\":\"INTERNAL_TOTAL_MEMORY\",\"value\":\"5.51\"},{\"name\":\"INTERNAL_AVAILABLE_MEMORY\",\"value\":\"0.43\"},{\"name\":\"EXTERNAL_TOTAL_MEMORY\",\"value\":\"0.0\"},{\"name\":\"EXTERNAL_AVAILABLE_MEMORY\",\"value\":\"0.0\"},{\"name\":\"OPERATOR\",\"value\":\"Dialog\"}]"},{"name":"DEVICE_NAME","value":"titan_umts"},{"name":"GCM_TOKEN"}]}]"""
)
HAMMERHEAD = {
    "id": 2,
    "name": "hammerhead",
    "type": "android",
    "description": "hammerhead",
    "deviceIdentifier": "353490069873368",
    "enrolmentInfo": {
        "id": 2,
        "dateOfEnrolment": 1457160900000,
        "dateOfLastUpdate": 1457247300000,
        "ownership": "COPE",
        "status": "INACTIVE",
        "owner": "jim",
    },
    "properties": [
        {"name": "IMEI", "value": "353490069873368"},
        {"name": "DEVICE_MODEL", "value": "Nexus 5"},
        {"name": "VENDOR", "value": "LGE"},
        {"name": "OS_VERSION", "value": "5.1.1"},
    ],
}
JIMS_IPAD = {
    "id": 3,
    "name": "jims-ipad",
    "type": "ios",
    "description": "jims-ipad",
    "deviceIdentifier": "6d8f2a1c0b9e4f7a",
    "enrolmentInfo": {
        "id": 3,
        "dateOfEnrolment": 1457161000000,
        "dateOfLastUpdate": 1457161000000,
        "ownership": "BYOD",
        "status": "REMOVED",
        "owner": "jim",
    },
    "properties": [],
}
KIMS_PASSWORD_CHANGED = {
    "statusCode": 201,
    "messageFromServer": "User password by username: kim was successfully changed.",
}
NOT_AN_ARRAY_OF_NAMES = "Invalid request payload. The request body must be a JSON array of usernames."
NOT_AN_OBJECT = "Invalid request payload. The request body must be a JSON object."


def test_devices_of_kim_are_the_documents_sample(client, admin_headers):
    response = client.get("/mdm-admin/users/devices?username=kim", headers=admin_headers)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.json == TITAN_UMTS
    assert list(response.json[0]) == list(TITAN_UMTS[0])


def test_devices_paged_with_start_and_length(client, admin_headers):
    def page(query):
        return client.get(
            f"/mdm-admin/users/devices?username=PRIMARY/jim&{query}", headers=admin_headers
        ).json

    assert page("start=0&length=10") == {
        "recordsTotal": 2,
        "recordsFiltered": 2,
        "draw": 0,
        "data": [HAMMERHEAD, JIMS_IPAD],
    }
    assert page("start=1&length=3")["data"] == [JIMS_IPAD]
    assert page("length=1")["data"] == [HAMMERHEAD]
    assert page("start=5&length=1") == {"recordsTotal": 2, "recordsFiltered": 2, "draw": 0, "data": []}
    assert page("length=0") == [HAMMERHEAD, JIMS_IPAD]
    assert page("start=1") == [HAMMERHEAD, JIMS_IPAD]


def test_devices_of_an_unknown_user_are_empty(client, admin_headers):
    assert client.get("/mdm-admin/users/devices?username=ghost", headers=admin_headers).json == []


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("start=-1", "start"),
        ("start=x", "start"),
        ("start=2147483648", "start"),
        ("length=2147483648", "length"),
        ("length=1.5", "length"),
        ("length=", "length"),
    ],
)
def test_devices_refuse_bad_paging_values(client, admin_headers, query, name):
    response = client.get(f"/mdm-admin/users/devices?username=jim&{query}", headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {
        "statusCode": 400,
        "messageFromServer": f"Invalid value for query parameter: {name}.",
    }


def test_email_invitation_mails_each_distinct_user_once(client, admin_headers, smtp):
    response = client.post(
        "/mdm-admin/users/email-invitation", json=["jim", "tom", "kim", "PRIMARY/kim"], headers=admin_headers
    )
    assert response.status_code == 200
    assert response.json == {
        "statusCode": 200,
        "messageFromServer": "Email invitation was successfully sent to user.",
    }
    received = smtp.handler.received()
    assert [recipients for recipients, _ in received] == [
        ["jim@gmail.com"],
        ["tom@gmail.com"],
        ["kim@gmail.com"],
    ]
    subject = "You have been invited to enroll your device in WSO2 EMM"
    assert {message["Subject"] for _, message in received} == {subject}
    assert "Hi Jim," in received[0][1].get_content()
    outbox = client.get("/mdm-admin/outbox?type=enrolment-invitation", headers=admin_headers).json
    assert (
        outbox["messageFromServer"]
        == "All outbox messages were successfully retrieved. Obtained message count: 3"
    )
    first = outbox["responseContent"][0]
    assert list(first) == [
        "id",
        "type",
        "username",
        "recipient",
        "subject",
        "body",
        "properties",
        "status",
        "createdAt",
    ]
    assert first["type"] == "enrolment-invitation"
    assert first["username"] == "jim"
    assert first["recipient"] == "jim@gmail.com"
    assert first["subject"] == subject
    assert first["properties"] == {"username": "jim", "first-name": "Jim"}
    assert first["status"] == "SENT"
    assert isinstance(first["createdAt"], int)


def test_email_invitation_of_nobody_succeeds(client, admin_headers, smtp):
    response = client.post("/mdm-admin/users/email-invitation", json=[], headers=admin_headers)
    assert response.status_code == 200
    assert smtp.handler.received() == []


def test_email_invitation_checks_every_name_before_sending(client, admin_headers, smtp):
    response = client.post("/mdm-admin/users/email-invitation", json=["jim", "ghost"], headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {
        "statusCode": 400,
        "messageFromServer": "User by username: ghost does not exist.",
    }
    client.post("/mdm-admin/users", json={"username": "admin"}, headers=admin_headers)
    response = client.post("/mdm-admin/users/email-invitation", json=["jim", "admin"], headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {
        "statusCode": 400,
        "messageFromServer": "User by username: admin does not have an email address.",
    }
    assert smtp.handler.received() == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        *(
            ("/mdm-admin/users/email-invitation", body, NOT_AN_ARRAY_OF_NAMES)
            for body in ['{"a": 1}', "[1]", "not json", '"jim"']
        ),
        # The document's own reset-password sample, whose unquoted keys make it no JSON.
        (
            "/mdm-admin/users/reset-password",
            '{ username: "kim", oldPassword: "", newPassword: "aGVsbG8=" }',
            NOT_AN_OBJECT,
        ),
    ],
)
def test_a_body_of_the_wrong_json_shape_is_refused(client, admin_headers, path, body, message):
    response = client.post(path, data=body, content_type="application/json", headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {"statusCode": 400, "messageFromServer": message}


def test_outbox_filters_and_registration_properties(client, admin_headers, smtp):
    client.post(
        "/mdm-admin/users",
        json={"username": "PRIMARY/sam", "emailAddress": "sam@example.com"},
        headers=admin_headers,
    )
    client.post("/mdm-admin/users/email-invitation", json=["kim"], headers=admin_headers)
    everything = client.get("/mdm-admin/outbox", headers=admin_headers).json["responseContent"]
    assert [(m["id"], m["type"], m["username"]) for m in everything] == [
        (1, "user-registration", "sam"),
        (2, "enrolment-invitation", "kim"),
    ]
    registration = everything[0]
    assert list(registration["properties"]) == ["username", "domain-name", "first-name", "password"]
    assert registration["properties"]["domain-name"] == ""
    assert registration["properties"]["first-name"] == ""
    assert f"Password: {registration['properties']['password']}" in registration["body"]
    by_recipient = client.get("/mdm-admin/outbox?recipient=kim@gmail.com", headers=admin_headers).json
    assert [m["id"] for m in by_recipient["responseContent"]] == [2]
    none = client.get("/mdm-admin/outbox?username=Sam", headers=admin_headers).json
    assert (
        none["messageFromServer"]
        == "All outbox messages were successfully retrieved. Obtained message count: 0"
    )
    assert "responseContent" in none


def test_without_mail_host_the_outbox_stores_the_mail(app_with, admin_of):
    app = app_with()
    headers = admin_of(app)
    client = app.test_client()
    assert client.post("/mdm-admin/users/email-invitation", json=["kim"], headers=headers).status_code == 200
    outbox = client.get("/mdm-admin/outbox", headers=headers).json["responseContent"]
    assert [m["status"] for m in outbox] == ["STORED"]


def test_change_password_the_documents_way(client, kim_headers):
    body = {"username": "kim", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"}
    response = client.post("/mdm-admin/users/change-password", json=body, headers=kim_headers)
    assert response.status_code == 201
    assert response.json == KIMS_PASSWORD_CHANGED
    login = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "kim", "password": "kim$12bar"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "kim", "oldPassword": "d3Jvbmc=", "newPassword": "a2ltJDEyYmFy"},
        {"username": "ghost", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"},
    ],
)
def test_change_password_with_wrong_old_password_or_unknown_user(client, admin_headers, body):
    response = client.post("/mdm-admin/users/change-password", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {"statusCode": 400, "messageFromServer": "Old password does not match."}


def test_reset_password_the_documents_way(client, admin_headers, kim_headers):
    body = {"username": "kim", "oldPassword": "", "newPassword": "aGVsbG8="}
    response = client.post("/mdm-admin/users/reset-password", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json == KIMS_PASSWORD_CHANGED
    assert client.get("/mdm-admin/users/view?username=kim", headers=kim_headers).status_code == 401
    login = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "kim", "password": "hello"}
    )
    assert login.status_code == 200


def test_reset_password_of_an_unknown_user(client, admin_headers):
    body = {"username": "ghost", "newPassword": "aGVsbG8="}
    response = client.post("/mdm-admin/users/reset-password", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == {"statusCode": 400, "messageFromServer": "Could not change the password."}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "added"), [("smtp-secret", True), ("wrong", False)])
def test_smtp_login_with_mail_username_and_password(app_with, admin_of, password, added):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from vendorkit.testing import free_port

    logins = []
    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.rcpt_tos)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"smtp-secret", handled=False)

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        app = app_with(
            MAIL_HOST="127.0.0.1",
            MAIL_PORT=port,
            MAIL_USERNAME="emm",
            MAIL_PASSWORD=password,
            MAIL_FROM="mdm@example.com",
        )
        headers = admin_of(app)
        body = {"username": "sam", "emailAddress": "sam@example.com"}
        response = app.test_client().post("/mdm-admin/users", json=body, headers=headers)
    finally:
        controller.stop()
    assert set(logins) == {(b"emm", password.encode())}  # smtplib tries each mechanism offered
    if added:
        assert response.status_code == 201
        assert received == [["sam@example.com"]]
    else:
        assert response.status_code == 500
        assert received == []
