"""OAuth2 token endpoint, Bearer tokens on every endpoint, and per-endpoint permissions."""

import pytest

UNAUTHORIZED = {"statusCode": 401, "messageFromServer": "Failed to authorize incoming request"}
INVALID_GRANT = {"error": "invalid_grant", "error_description": "Provided Authorization Grant is invalid."}

# Every endpoint under /mdm-admin/ with a request that would succeed for an admin.
ENDPOINTS = [
    ("GET", "/mdm-admin/users", None),
    ("GET", "/mdm-admin/users/", None),
    ("POST", "/mdm-admin/users", {"username": "newbie", "emailAddress": "newbie@example.com"}),
    ("PUT", "/mdm-admin/users?username=kim", {"username": "kim", "lastname": "Foo"}),
    ("DELETE", "/mdm-admin/users?username=tom", None),
    ("GET", "/mdm-admin/users/k", None),
    ("GET", "/mdm-admin/users/view?username=kim", None),
    ("GET", "/mdm-admin/users/roles?username=kim", None),
    ("POST", "/mdm-admin/users/roles?username=kim", None),
    ("GET", "/mdm-admin/users/count", None),
    ("GET", "/mdm-admin/users/view-users?username=i", None),
    ("GET", "/mdm-admin/users/users-by-username?username=k", None),
    ("GET", "/mdm-admin/users/devices?username=kim", None),
    ("POST", "/mdm-admin/users/email-invitation", ["kim"]),
    (
        "POST",
        "/mdm-admin/users/change-password",
        {"username": "kim", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"},
    ),
    (
        "POST",
        "/mdm-admin/users/reset-password",
        {"username": "kim", "oldPassword": "", "newPassword": "aGVsbG8="},
    ),
    ("GET", "/mdm-admin/roles", None),
    ("GET", "/mdm-admin/outbox", None),
]
ADMIN_ONLY = [
    endpoint
    for endpoint in ENDPOINTS
    if not endpoint[1].startswith(
        (
            "/mdm-admin/users/view?",
            "/mdm-admin/users/roles",
            "/mdm-admin/users/devices",
            "/mdm-admin/users/change-password",
        )
    )
]


def call(client, method, path, body, headers):
    return client.open(path, method=method, json=body, headers=headers)


def login(client, **form):
    return client.post("/oauth2/token", data={"grant_type": "password", **form})


def test_every_endpoint_refuses_a_missing_unknown_expired_or_revoked_token(client, token_for, expire_tokens):
    revoked = token_for("admin")
    client.post("/oauth2/revoke", data={"token": revoked["refresh_token"]})
    expired = token_for("admin")["access_token"]
    expire_tokens()
    for method, path, body in ENDPOINTS:
        for headers in [
            {},
            {"Authorization": "Bearer 0123456789abcdef0123456789abcdef"},
            {"Authorization": "Bearer " + expired},
            {"Authorization": "Bearer " + revoked["access_token"]},
            {"Authorization": "Basic YWRtaW46YWRtaW4tZGVtbw=="},
            {"Authorization": "Bearer"},
        ]:
            response = call(client, method, path, body, headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json == UNAUTHORIZED
            assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_every_endpoint_accepts_an_admin_token(client, admin_headers):
    for method, path, body in ENDPOINTS:
        response = call(client, method, path, body, admin_headers)
        assert response.status_code in (200, 201), (method, path, response.json)


def test_admin_endpoints_refuse_other_users(client, kim_headers):
    for method, path, body in ADMIN_ONLY:
        response = call(client, method, path, body, kim_headers)
        assert response.status_code == 403, (method, path)
        assert response.json == {
            "statusCode": 403,
            "messageFromServer": "User by username: kim is not authorized to perform this operation.",
        }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/mdm-admin/users/view?username=jim", None),
        ("GET", "/mdm-admin/users/roles?username=jim", None),
        ("POST", "/mdm-admin/users/roles?username=jim", None),
        ("GET", "/mdm-admin/users/devices?username=jim", None),
        (
            "POST",
            "/mdm-admin/users/change-password",
            {"username": "jim", "oldPassword": "amltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"},
        ),
    ],
)
def test_self_service_endpoints_refuse_someone_elses_record(client, kim_headers, method, path, body):
    response = call(client, method, path, body, kim_headers)
    assert response.status_code == 403
    assert response.json["messageFromServer"] == (
        "User by username: kim is not authorized to perform this operation."
    )


def test_self_service_endpoints_serve_the_callers_own_record(client, kim_headers):
    view = client.get("/mdm-admin/users/view?username=PRIMARY/kim", headers=kim_headers)
    assert view.status_code == 200
    assert view.json["responseContent"]["username"] == "PRIMARY/kim"
    roles = client.get("/mdm-admin/users/roles?username=kim", headers=kim_headers)
    assert roles.json["responseContent"] == [["marketing"]]
    devices = client.get("/mdm-admin/users/devices?username=kim", headers=kim_headers)
    assert [device["id"] for device in devices.json] == [1]


def test_the_order_of_checks_puts_validation_before_the_self_service_403(client, kim_headers):
    response = client.get("/mdm-admin/users/devices?username=jim&start=-1", headers=kim_headers)
    assert response.status_code == 400
    assert response.json["messageFromServer"] == "Invalid value for query parameter: start."
    response = client.post("/mdm-admin/users/change-password", data="x", headers=kim_headers)
    assert response.status_code == 415


def test_password_grant_issues_an_opaque_bearer_pair(client):
    response = login(client, username="PRIMARY/kim", password="kim$1234")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.content_type == "application/json"
    body = response.json
    assert list(body) == ["access_token", "refresh_token", "scope", "token_type", "expires_in"]
    assert body["scope"] == "default"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    for token in (body["access_token"], body["refresh_token"]):
        assert len(token) == 32
        assert token == token.lower()
        int(token, 16)
    headers = {"Authorization": "bearer " + body["access_token"]}
    assert client.get("/mdm-admin/users/view?username=kim", headers=headers).status_code == 200


def test_password_grant_echoes_scope_caps_validity_and_ignores_client_credentials(client):
    response = client.post(
        "/oauth2/token",
        data={
            "grant_type": "password",
            "username": "admin",
            "password": "admin-demo",
            "scope": "PRODUCTION",
            "validity_period": "1",
            "client_id": "whatever",
            "client_secret": "whatever",
        },
        headers={"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
    )
    assert response.status_code == 200
    assert response.json["scope"] == "PRODUCTION"
    assert response.json["expires_in"] == 1
    capped = login(client, username="admin", password="admin-demo", validity_period="999999")
    assert capped.json["expires_in"] == 3600


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"username": "kim", "password": "wrong"}, INVALID_GRANT),
        ({"username": "nobody", "password": "kim$1234"}, INVALID_GRANT),
        (
            {"username": "kim"},
            {"error": "invalid_request", "error_description": "Missing parameters: password"},
        ),
        (
            {"password": "kim$1234"},
            {"error": "invalid_request", "error_description": "Missing parameters: username"},
        ),
        (
            {"username": "kim", "password": "kim$1234", "validity_period": "0"},
            {"error": "invalid_request", "error_description": "Invalid validity_period"},
        ),
        (
            {"username": "kim", "password": "kim$1234", "validity_period": "abc"},
            {"error": "invalid_request", "error_description": "Invalid validity_period"},
        ),
    ],
)
def test_password_grant_errors(client, form, error):
    response = login(client, **form)
    assert response.status_code == 400
    assert response.json == error


def test_token_endpoint_refuses_other_grants_and_content_types(client):
    response = client.post("/oauth2/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 400
    assert response.json == {"error": "unsupported_grant_type", "error_description": "Unsupported Grant Type"}
    response = client.post("/oauth2/token", data={})
    assert response.json == {
        "error": "invalid_request",
        "error_description": "Missing parameters: grant_type",
    }
    response = client.post(
        "/oauth2/token", json={"grant_type": "password", "username": "kim", "password": "x"}
    )
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_refresh_grant_replaces_the_pair_and_the_old_one_stops_working(client):
    first = login(client, username="kim", password="kim$1234").json
    refreshed = client.post(
        "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert refreshed.status_code == 200
    second = refreshed.json
    assert second["access_token"] != first["access_token"]
    old = {"Authorization": "Bearer " + first["access_token"]}
    new = {"Authorization": "Bearer " + second["access_token"]}
    assert client.get("/mdm-admin/users/view?username=kim", headers=old).status_code == 401
    assert client.get("/mdm-admin/users/view?username=kim", headers=new).status_code == 200
    again = client.post(
        "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 400
    assert again.json == INVALID_GRANT
    missing = client.post("/oauth2/token", data={"grant_type": "refresh_token"})
    assert missing.json == {
        "error": "invalid_request",
        "error_description": "Missing parameters: refresh_token",
    }


def test_expired_refresh_token_is_an_invalid_grant(client, token_for, expire_tokens):
    pair = token_for("kim")
    expire_tokens()
    response = client.post(
        "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    assert response.json == INVALID_GRANT


def test_revoke_ends_the_whole_pair_and_answers_200_for_unknown_tokens(client, token_for):
    pair = token_for("kim")
    response = client.post("/oauth2/revoke", data={"token": pair["access_token"]})
    assert response.status_code == 200
    assert response.data == b""
    headers = {"Authorization": "Bearer " + pair["access_token"]}
    assert client.get("/mdm-admin/users/view?username=kim", headers=headers).status_code == 401
    refresh = client.post(
        "/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    assert refresh.json == INVALID_GRANT
    assert client.post("/oauth2/revoke", data={"token": "unknown"}).status_code == 200
    missing = client.post("/oauth2/revoke", data={})
    assert missing.status_code == 400
    assert missing.json["error"] == "invalid_request"


def test_deleting_a_user_revokes_their_tokens(client, admin_headers, kim_headers):
    assert client.delete("/mdm-admin/users?username=kim", headers=admin_headers).status_code == 200
    assert client.get("/mdm-admin/users/view?username=kim", headers=kim_headers).status_code == 401


def test_setting_a_password_as_admin_revokes_tokens_but_changing_ones_own_does_not(
    client, admin_headers, kim_headers
):
    change = {"username": "kim", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"}
    assert (
        client.post("/mdm-admin/users/change-password", json=change, headers=kim_headers).status_code == 201
    )
    assert client.get("/mdm-admin/users/view?username=kim", headers=kim_headers).status_code == 200
    assert login(client, username="kim", password="kim$12bar").status_code == 200
    update = {"username": "kim", "password": "bmV3LXBhc3N3b3Jk"}
    assert client.put("/mdm-admin/users", json=update, headers=admin_headers).status_code == 201
    assert client.get("/mdm-admin/users/view?username=kim", headers=kim_headers).status_code == 401
    assert login(client, username="kim", password="new-password").status_code == 200
