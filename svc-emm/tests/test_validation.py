"""Bad input (docs/emm.md section 5): always a 4xx in the envelope, and nothing written."""

import pytest

VALID_ADD = {"username": "sam", "emailAddress": "sam@example.com"}
ADD_REFUSED = "Username must be provided. Therefore, request made to add user was refused."
UPDATE_REFUSED = "Username must be provided. Therefore, request made to update user was refused."
MEDIA_TYPE = "Unsupported media type. The request body must be application/json."
NOT_AN_OBJECT = "Invalid request payload. The request body must be a JSON object."


def refusal(status, message):
    return {"statusCode": status, "messageFromServer": message}


def field(name):
    return f"Invalid value for field: {name}."


BODY_ENDPOINTS = [
    ("POST", "/mdm-admin/users"),
    ("PUT", "/mdm-admin/users"),
    ("POST", "/mdm-admin/users/email-invitation"),
    ("POST", "/mdm-admin/users/change-password"),
    ("POST", "/mdm-admin/users/reset-password"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_bodies_must_be_json(client, admin_headers, method, path):
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]:
        headers = dict(admin_headers)
        if content_type:
            headers["Content-Type"] = content_type
        response = client.open(path, method=method, data='{"username": "kim"}', headers=headers)
        assert response.status_code == 415, content_type
        assert response.json == refusal(415, MEDIA_TYPE)


def test_charset_is_allowed(client, admin_headers):
    response = client.post(
        "/mdm-admin/users",
        data='{"username": "sam", "emailAddress": "sam@example.com"}',
        content_type="application/json; charset=utf-8",
        headers=admin_headers,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(("method", "path"), [e for e in BODY_ENDPOINTS if "invitation" not in e[1]])
def test_bodies_must_be_json_objects(client, admin_headers, method, path):
    for body in ["not json", "[1, 2]", '"text"', "", "{", '{"username": NaN}', b"\xff\xfe", "null"]:
        response = client.open(
            path, method=method, data=body, content_type="application/json", headers=admin_headers
        )
        assert response.status_code == 400, body
        assert response.json == refusal(400, NOT_AN_OBJECT)


def test_bodies_above_64_kib_are_refused(client, admin_headers):
    body = '{"username": "' + "a" * 70000 + '"}'
    for method, path in BODY_ENDPOINTS:
        response = client.open(
            path, method=method, data=body, content_type="application/json", headers=admin_headers
        )
        assert response.status_code == 413, path
        assert response.json == refusal(413, "Request payload is too large.")


ADD_REFUSALS = [
    ({"emailAddress": "sam@example.com"}, ADD_REFUSED),
    ({"username": None, "emailAddress": "sam@example.com"}, ADD_REFUSED),
    ({"username": "", "emailAddress": "sam@example.com"}, ADD_REFUSED),
    ({**VALID_ADD, "username": 12}, field("username")),
    ({**VALID_ADD, "username": "ab"}, field("username")),
    ({**VALID_ADD, "username": "PRIMARY/ab"}, field("username")),
    ({**VALID_ADD, "username": "a" * 31}, field("username")),
    ({**VALID_ADD, "username": "bad name"}, field("username")),
    ({**VALID_ADD, "username": "o'brien"}, field("username")),
    ({**VALID_ADD, "username": "50%"}, field("username")),
    ({"username": "sam"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": None}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": "sam"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": "sam@example"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": "s am@example.com"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": "sam@example.com x"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": None, "roles": [1]}, field("roles")),  # types before a missing address
    ({**VALID_ADD, "emailAddress": "x@" + "e" * 250 + ".com"}, field("emailAddress")),
    ({**VALID_ADD, "emailAddress": ["sam@example.com"]}, field("emailAddress")),
    ({**VALID_ADD, "firstname": 5}, field("firstname")),
    ({**VALID_ADD, "firstname": "x" * 101}, field("firstname")),
    ({**VALID_ADD, "lastname": {"a": 1}}, field("lastname")),
    ({**VALID_ADD, "roles": "admin"}, field("roles")),
    ({**VALID_ADD, "roles": [1]}, field("roles")),
    ({**VALID_ADD, "roles": ["sales"] * 51}, field("roles")),
]


def test_add_refusals(client, admin_headers, smtp):
    for body, message in ADD_REFUSALS:
        response = client.post("/mdm-admin/users", json=body, headers=admin_headers)
        assert response.status_code == 400, body
        assert response.json == refusal(400, message), body
    assert client.get("/mdm-admin/users/count", headers=admin_headers).json == 5
    assert smtp.handler.received() == []


def test_add_accepts_unknown_fields_null_names_and_ignores_a_password(client, admin_headers):
    body = {
        **VALID_ADD,
        "username": "PRIMARY/s.a-m_1@x",
        "firstname": None,
        "nickname": "ignored",
        "password": "not base64, and ignored on add",
    }
    response = client.post("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 201
    view = client.get("/mdm-admin/users/view?username=s.a-m_1@x", headers=admin_headers)
    assert view.json["responseContent"] == {"username": "s.a-m_1@x", "emailAddress": "sam@example.com"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lastname": "x"}, UPDATE_REFUSED),
        ({"username": ""}, UPDATE_REFUSED),
        ({"username": "kim", "password": "not base64!"}, field("password")),
        ({"username": "kim", "password": "YWJj"}, field("password")),  # "abc": too short
        ({"username": "kim", "password": "YSBiIGMgZCBl"}, field("password")),  # "a b c d e": whitespace
        ({"username": "kim", "password": 5}, field("password")),
        ({"username": "kim", "emailAddress": "nope"}, field("emailAddress")),
    ],
)
def test_update_refusals_leave_the_user_untouched(client, admin_headers, body, message):
    response = client.put("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == refusal(400, message)
    view = client.get("/mdm-admin/users/view?username=kim", headers=admin_headers)
    assert view.json["responseContent"]["lastname"] == "Bar"


def test_update_with_an_empty_password_keeps_it(client, admin_headers):
    response = client.put("/mdm-admin/users", json={"username": "kim", "password": ""}, headers=admin_headers)
    assert response.status_code == 201
    login = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "kim", "password": "kim$1234"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "change-password",
            {"oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"},
            "Username must be provided.",
        ),
        (
            "change-password",
            {"username": "", "oldPassword": "a", "newPassword": "b"},
            "Username must be provided.",
        ),
        ("change-password", {"username": "kim", "newPassword": "a2ltJDEyYmFy"}, field("oldPassword")),
        (
            "change-password",
            {"username": "kim", "oldPassword": "!!", "newPassword": "a2ltJDEyYmFy"},
            field("oldPassword"),
        ),
        ("change-password", {"username": "kim", "oldPassword": "a2ltJDEyMzQ="}, field("newPassword")),
        (
            "change-password",
            {"username": "kim", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "YWJj"},
            field("newPassword"),
        ),
        ("reset-password", {"newPassword": "aGVsbG8="}, "Username must be provided."),
        ("reset-password", {"username": "kim"}, field("newPassword")),
        ("reset-password", {"username": "kim", "newPassword": ""}, field("newPassword")),
        ("reset-password", {"username": "kim", "newPassword": "a" * 41}, field("newPassword")),
        ("reset-password", {"username": "kim", "newPassword": None}, field("newPassword")),
        ("reset-password", {"username": 7, "newPassword": "aGVsbG8="}, field("username")),
    ],
)
def test_password_body_refusals(client, admin_headers, path, body, message):
    response = client.post(f"/mdm-admin/users/{path}", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == refusal(400, message)


def test_base64_padding_is_optional(client, admin_headers):
    body = {"username": "kim", "newPassword": "aGVsbG8"}
    assert client.post("/mdm-admin/users/reset-password", json=body, headers=admin_headers).status_code == 201
    login = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "kim", "password": "hello"}
    )
    assert login.status_code == 200


def test_outbox_filter_values_are_limited(client, admin_headers):
    response = client.get("/mdm-admin/outbox?recipient=" + "r" * 256, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == refusal(400, "Invalid value for query parameter: recipient.")


def test_the_media_type_is_checked_before_the_query_and_the_body(client, admin_headers):
    # docs/emm.md section 2: 401, 403, 415, then 400.
    response = client.put(
        "/mdm-admin/users?username=" + "x" * 300,
        data="not json",
        content_type="text/plain",
        headers=admin_headers,
    )
    assert response.status_code == 415
    response = client.put(
        "/mdm-admin/users?username=" + "x" * 300, json={"username": "kim"}, headers=admin_headers
    )
    assert response.json == refusal(400, "Invalid value for query parameter: username.")
