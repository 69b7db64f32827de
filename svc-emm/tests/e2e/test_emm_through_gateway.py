"""svc-emm on PostgreSQL behind the real gateway: the document's calls, tokens, permissions, mail, concurrency."""

import base64
import json
import time
import uuid
from functools import partial

import pytest

from vendorkit.testing.concurrency import at_once

UNAUTHORIZED = {"statusCode": 401, "messageFromServer": "Failed to authorize incoming request"}
KIM = {"username": "kim", "firstname": "Kim", "lastname": "Bar", "emailAddress": "kim@gmail.com"}
JIM = {"username": "jim", "firstname": "Jim", "lastname": "Bar", "emailAddress": "jim@gmail.com"}
ADMIN = {"username": "admin"}

ENDPOINTS = [
    ("GET", "/mdm-admin/users", None),
    ("POST", "/mdm-admin/users/", {"username": "nobody-e2e", "emailAddress": "n@example.com"}),
    ("PUT", "/mdm-admin/users?username=kim", {"username": "kim"}),
    ("DELETE", "/mdm-admin/users?username=nobody-e2e", None),
    ("GET", "/mdm-admin/users/k", None),
    ("GET", "/mdm-admin/users/view?username=kim", None),
    ("GET", "/mdm-admin/users/roles?username=kim", None),
    ("POST", "/mdm-admin/users/roles?username=kim", None),
    ("GET", "/mdm-admin/users/count", None),
    ("GET", "/mdm-admin/users/view-users?username=i", None),
    ("GET", "/mdm-admin/users/users-by-username?username=k", None),
    ("GET", "/mdm-admin/users/devices?username=kim", None),
    ("POST", "/mdm-admin/users/email-invitation", []),
    ("POST", "/mdm-admin/users/change-password", {"username": "kim", "oldPassword": "", "newPassword": ""}),
    ("POST", "/mdm-admin/users/reset-password", {"username": "kim", "newPassword": ""}),
    ("GET", "/mdm-admin/roles", None),
    ("GET", "/mdm-admin/outbox", None),
]
SELF_SERVICE = (
    "/mdm-admin/users/view?",
    "/mdm-admin/users/roles",
    "/mdm-admin/users/devices",
    "/mdm-admin/users/change-password",
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def envelope(status, message, content=None):
    body = {"statusCode": status, "messageFromServer": message}
    if content is not None:
        body["responseContent"] = content
    return body


def unique_name(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def new_user(api, admin_token, smtp):
    """Add a user through the API; returns (username, generated password read from the SMTP server)."""
    created: list[str] = []

    def add(stem: str = "e2e", **fields) -> tuple[str, str]:
        username = unique_name(stem)
        body = {"username": username, "firstname": "Eve", "emailAddress": f"{username}@example.com", **fields}
        response = api("POST", "/mdm-admin/users", token=admin_token, json_body=body)
        assert response.status == 201, response.body
        created.append(username)
        message = next(m for rcpt, m in smtp.handler.received() if rcpt == [f"{username}@example.com"])
        password = message.get_content().split("Password: ")[1].split()[0]
        return username, password

    yield add
    for username in created:
        api("DELETE", f"/mdm-admin/users?username={username}", token=admin_token)


def test_the_documents_read_calls_answer_as_documented(api, admin_token):
    view = api("GET", "/mdm-admin/users/view?username=kim", token=admin_token)
    assert (view.status, view.json()) == (
        200,
        envelope(200, "User information was retrieved successfully.", KIM),
    )
    assert view.headers["Content-Type"] == "application/json"
    missing = api("GET", "/mdm-admin/users/view?username=ghost", token=admin_token)
    assert (missing.status, missing.json()) == (
        404,
        {"statusCode": 400, "messageFromServer": "User by username: ghost does not exist."},
    )
    roles = api("POST", "/mdm-admin/users/roles?username=kim", token=admin_token)
    assert roles.json() == envelope(200, "User roles obtained for user kim", [["marketing"]])
    count = api("GET", "/mdm-admin/users/count", token=admin_token)
    assert count.status == 200
    assert isinstance(count.json(), int)
    assert count.json() >= 5
    search = api("GET", "/mdm-admin/users/view-users?username=i", token=admin_token).json()
    assert search["responseContent"][:3] == [ADMIN, JIM, KIM]
    assert search["messageFromServer"].startswith(
        "All users by username were successfully retrieved. Obtained user count: "
    )
    names = api("GET", "/mdm-admin/users/users-by-username?username=k", token=admin_token).json()
    assert "kim" in names["responseContent"]
    assert all("k" in name.lower() for name in names["responseContent"])
    listing = api("GET", "/mdm-admin/users/", token=admin_token).json()
    assert listing["messageFromServer"] == (
        f"All users were successfully retrieved. Obtained user count: {len(listing['responseContent'])}"
    )
    assert {"username": "admin"} in listing["responseContent"]
    prefix = api("GET", "/mdm-admin/users/KI", token=admin_token).json()
    assert prefix["responseContent"][0] == KIM
    assert api("GET", "/mdm-admin/roles", token=admin_token).json() == envelope(
        200, "All user roles were successfully retrieved.", ["admin", "marketing", "sales"]
    )


def test_devices_of_kim_and_paging_of_jim(api, admin_token):
    devices = api("GET", "/mdm-admin/users/devices?username=kim", token=admin_token)
    assert devices.status == 200
    (titan,) = devices.json()
    assert titan["name"] == "titan_umts"
    assert titan["enrolmentInfo"] == {
        "id": 1,
        "dateOfEnrolment": 1457160869352,
        "dateOfLastUpdate": 1457160869352,
        "ownership": "BYOD",
        "status": "ACTIVE",
        "owner": "kim",
    }
    assert [p["name"] for p in titan["properties"]] == [
        "IMEI", "IMSI", "DEVICE_MODEL", "OS_VERSION", "VENDOR", "SERIAL", "DEVICE_INFO", "DEVICE_NAME", "GCM_TOKEN",
    ]  # fmt: skip
    assert titan["properties"][5] == {"name": "SERIAL"}
    page = api("GET", "/mdm-admin/users/devices?username=jim&start=1&length=3", token=admin_token).json()
    assert [page["recordsTotal"], page["recordsFiltered"], page["draw"]] == [2, 2, 0]
    assert [device["id"] for device in page["data"]] == [3]
    bad = api("GET", "/mdm-admin/users/devices?username=jim&length=99999999999", token=admin_token)
    assert (bad.status, bad.json()) == (400, envelope(400, "Invalid value for query parameter: length."))


@pytest.fixture(scope="module")
def dead_tokens(api, login) -> list[str]:
    """An access token that has expired and one that was revoked."""
    short = login("admin", "admin-demo", validity_period="1").json()
    expires = time.monotonic() + 1.0
    revoked = login("admin", "admin-demo").json()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert api("POST", "/oauth2/revoke", body=f"token={revoked['refresh_token']}", headers=form).status == 200
    time.sleep(max(0.0, expires - time.monotonic()) + 0.05)
    return [short["access_token"], revoked["access_token"]]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_valid_token(api, dead_tokens, method, path, body):
    for token in (None, "0123456789abcdef0123456789abcdef", *dead_tokens):
        response = api(method, path, token=token, json_body=body)
        assert response.status == 401, (token, response.body)
        assert response.json() == UNAUTHORIZED
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    other_scheme = api(
        method, path, headers={"Authorization": "Basic YWRtaW46YWRtaW4tZGVtbw=="}, json_body=body
    )
    assert other_scheme.status == 401


def test_a_non_admin_gets_403_on_admin_endpoints_and_only_their_own_record(api, login, new_user, smtp):
    username, password = new_user("eve")
    grant = login(f"PRIMARY/{username}", password)
    assert grant.status == 200
    token = grant.json()["access_token"]
    forbidden = envelope(403, f"User by username: {username} is not authorized to perform this operation.")
    for method, path, body in ENDPOINTS:
        response = api(method, path, token=token, json_body=body)
        if path.startswith(SELF_SERVICE):
            if "change-password" in path:
                body = {"username": "kim", "oldPassword": b64("kim$1234"), "newPassword": b64("whatever1")}
                response = api(method, path, token=token, json_body=body)
            assert (response.status, response.json()) == (403, forbidden), path
        else:
            assert (response.status, response.json()) == (403, forbidden), path
    own = api("GET", f"/mdm-admin/users/view?username={username}", token=token)
    assert own.json()["responseContent"] == {
        "username": username,
        "firstname": "Eve",
        "emailAddress": f"{username}@example.com",
    }
    assert api("GET", f"/mdm-admin/users/devices?username={username}", token=token).json() == []
    change = {"username": username, "oldPassword": b64(password), "newPassword": b64("brand-new1")}
    changed = api("POST", "/mdm-admin/users/change-password", token=token, json_body=change)
    assert (changed.status, changed.json()) == (
        201,
        envelope(201, f"User password by username: {username} was successfully changed."),
    )
    assert api("GET", f"/mdm-admin/users/roles?username={username}", token=token).json()[
        "responseContent"
    ] == [[]]


def test_add_sends_the_registration_mail_through_smtp(api, admin_token, new_user, smtp):
    username, password = new_user("mail", firstname="Mallory", roles=["Sales"])
    (message,) = [m for r, m in smtp.handler.received() if r == [f"{username}@example.com"]]
    assert message["Subject"] == "You have successfully been registered in WSO2 EMM"
    assert message["From"] == "emm-noreply@localhost"
    assert "Hi Mallory," in message.get_content()
    assert f"Password: {password}" in message.get_content()
    outbox = api("GET", f"/mdm-admin/outbox?username={username}", token=admin_token).json()
    (entry,) = outbox["responseContent"]
    assert entry["status"] == "SENT"
    assert entry["properties"] == {
        "username": username,
        "domain-name": "",
        "first-name": "Mallory",
        "password": password,
    }
    roles = api("GET", f"/mdm-admin/users/roles?username={username}", token=admin_token).json()
    assert roles["responseContent"] == [["sales"]]


def test_add_is_rolled_back_when_the_smtp_server_refuses(api, admin_token, smtp):
    smtp.handler.refuse = True
    username = unique_name("refused")
    body = {"username": username, "emailAddress": "r@example.com"}
    response = api("POST", "/mdm-admin/users", token=admin_token, json_body=body)
    assert (response.status, response.json()) == (
        500,
        {"errorMessage": f"Error occurred while sending registration email to user '{username}'"},
    )
    assert api("GET", f"/mdm-admin/users/view?username={username}", token=admin_token).status == 404
    outbox = api("GET", f"/mdm-admin/outbox?username={username}", token=admin_token).json()["responseContent"]
    assert [entry["status"] for entry in outbox] == ["FAILED"]


def test_concurrent_adds_of_one_name_give_one_201_and_409s(api, admin_token, smtp):
    username = unique_name("race")
    body = {"username": username, "emailAddress": "race@example.com"}

    add = partial(api, "POST", "/mdm-admin/users", token=admin_token, json_body=body)
    responses = at_once(*[add] * 4)
    statuses = sorted(response.status for response in responses)
    assert statuses == [201, 409, 409, 409]
    refused = next(r for r in responses if r.status == 409)
    assert refused.json() == envelope(
        409, f"User by username: {username} already exists. Therefore, request made to add user was refused."
    )
    assert len([r for r, _ in smtp.handler.received() if r == ["race@example.com"]]) == 1

    remove = partial(api, "DELETE", f"/mdm-admin/users?username={username}", token=admin_token)
    removals = at_once(remove, remove)
    assert sorted(response.status for response in removals) == [200, 400]


def test_the_documents_write_calls_in_order(api, admin_token, login, smtp):
    kim = login("kim", "kim$1234")
    assert kim.status == 200
    kim_token = kim.json()["access_token"]
    update = {**KIM, "lastname": "Foo", "roles": ["admin"]}
    response = api("PUT", "/mdm-admin/users?username=kim", token=admin_token, json_body=update)
    assert (response.status, response.json()) == (
        201,
        envelope(201, "User by username: kim was successfully updated."),
    )
    response = api(
        "POST", "/mdm-admin/users/email-invitation", token=admin_token, json_body=["jim", "tom", "kim"]
    )
    assert (response.status, response.json()) == (
        200,
        envelope(200, "Email invitation was successfully sent to user."),
    )
    invited = [
        rcpt for rcpt, m in smtp.handler.received() if m["Subject"].startswith("You have been invited")
    ]
    assert invited == [["jim@gmail.com"], ["tom@gmail.com"], ["kim@gmail.com"]]
    change = {"username": "kim", "oldPassword": "a2ltJDEyMzQ=", "newPassword": "a2ltJDEyYmFy"}
    response = api("POST", "/mdm-admin/users/change-password", token=kim_token, json_body=change)
    assert (response.status, response.json()) == (
        201,
        envelope(201, "User password by username: kim was successfully changed."),
    )
    assert api("GET", "/mdm-admin/users/view?username=kim", token=kim_token).status == 200
    reset = json.dumps({"username": "kim", "oldPassword": "", "newPassword": "aGVsbG8="})
    response = api(
        "POST",
        "/mdm-admin/users/reset-password",
        token=admin_token,
        body=reset,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status, response.json()) == (
        201,
        envelope(201, "User password by username: kim was successfully changed."),
    )
    assert api("GET", "/mdm-admin/users/view?username=kim", token=kim_token).status == 401
    response = api("DELETE", "/mdm-admin/users?username=kim", token=admin_token)
    assert (response.status, response.json()) == (
        200,
        envelope(200, "User by username: kim was successfully removed."),
    )
    add = {**KIM, "username": "PRIMARY/kim", "roles": ["Marketing"]}
    response = api("POST", "/mdm-admin/users/", token=admin_token, json_body=add)
    assert (response.status, response.json()) == (
        201,
        envelope(201, "User by username: PRIMARY/kim was successfully added."),
    )
    again = api("POST", "/mdm-admin/users/", token=admin_token, json_body=add)
    assert (again.status, again.json()) == (
        409,
        envelope(
            409,
            "User by username: PRIMARY/kim already exists. Therefore, request made to add user was refused.",
        ),
    )
    view = api("GET", "/mdm-admin/users/view?username=kim", token=admin_token).json()
    assert view["responseContent"] == KIM
    roles = api("GET", "/mdm-admin/users/roles?username=kim", token=admin_token).json()
    assert roles["responseContent"] == [["marketing"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "expected"),
    [
        ("POST", "/mdm-admin/users", '{"username":"x1x"}', {}, 415, envelope(415, "Unsupported media type. The request body must be application/json.")),
        ("POST", "/mdm-admin/users", "{", {"Content-Type": "application/json"}, 400, envelope(400, "Invalid request payload. The request body must be a JSON object.")),
        ("POST", "/mdm-admin/users", '{"emailAddress":"a@b.cd"}', {"Content-Type": "application/json"}, 400, envelope(400, "Username must be provided. Therefore, request made to add user was refused.")),
        ("PUT", "/mdm-admin/users", '{"username":null}', {"Content-Type": "application/json"}, 400, envelope(400, "Username must be provided. Therefore, request made to update user was refused.")),
        ("PUT", "/mdm-admin/users", '{"username":"ghost"}', {"Content-Type": "application/json"}, 409, envelope(409, "User by username: ghost doesn't  exists. Therefore, request made to update user was refused.")),
        ("POST", "/mdm-admin/users", '{"username":"roleless","emailAddress":"a@b.cd","roles":["ghost"]}', {"Content-Type": "application/json"}, 400, envelope(400, "Role by name: ghost does not exist.")),
        ("DELETE", "/mdm-admin/users?username=admin", None, {}, 400, envelope(400, "User by username: admin cannot be removed.")),
        ("DELETE", "/mdm-admin/users?username=ghost", None, {}, 400, envelope(400, "User by username: ghost does not exist for removal.")),
        ("GET", "/mdm-admin/users/roles?username=ghost", None, {}, 400, envelope(400, "User by username: ghost does not exist for role retrieval.")),
        ("GET", "/mdm-admin/users/view?username=%27%20OR%201%3D1--", None, {}, 404, {"statusCode": 400, "messageFromServer": "User by username: ' OR 1=1-- does not exist."}),
        ("POST", "/mdm-admin/users/email-invitation", '["ghost"]', {"Content-Type": "application/json"}, 400, envelope(400, "User by username: ghost does not exist.")),
        ("POST", "/mdm-admin/users/email-invitation", '{"a":1}', {"Content-Type": "application/json"}, 400, envelope(400, "Invalid request payload. The request body must be a JSON array of usernames.")),
        ("POST", "/mdm-admin/users/change-password", '{"username":"jim","oldPassword":"d3Jvbmc=","newPassword":"bmV3cGFzcw=="}', {"Content-Type": "application/json"}, 400, envelope(400, "Old password does not match.")),
        ("POST", "/mdm-admin/users/reset-password", '{"username":"ghost","newPassword":"aGVsbG8="}', {"Content-Type": "application/json"}, 400, envelope(400, "Could not change the password.")),
        ("POST", "/mdm-admin/users/reset-password", '{"username":"jim","newPassword":"YWI="}', {"Content-Type": "application/json"}, 400, envelope(400, "Invalid value for field: newPassword.")),
        ("POST", "/mdm-admin/users", '{"username":"' + "a" * 70000 + '"}', {"Content-Type": "application/json"}, 413, envelope(413, "Request payload is too large.")),
        ("GET", "/mdm-admin/unknown", None, {}, 404, envelope(404, "Resource not found.")),
        ("PATCH", "/mdm-admin/users", None, {}, 405, envelope(405, "Method not allowed.")),
    ],
)  # fmt: skip
def test_refusals_through_the_gateway(api, admin_token, method, path, body, headers, status, expected):
    response = api(method, path, token=admin_token, body=body, headers=headers)
    assert (response.status, response.json()) == (status, expected)


def test_token_endpoint_errors_and_refresh(api, login):
    wrong = login("kim", "nope")
    assert (wrong.status, wrong.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "Provided Authorization Grant is invalid."},
    )
    pair = login("admin", "admin-demo", scope="PRODUCTION").json()
    assert pair["scope"] == "PRODUCTION"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refreshed = api(
        "POST",
        "/oauth2/token",
        body=f"grant_type=refresh_token&refresh_token={pair['refresh_token']}",
        headers=form,
    )
    assert refreshed.status == 200
    assert refreshed.headers["Cache-Control"] == "no-store"
    assert api("GET", "/mdm-admin/users/count", token=pair["access_token"]).status == 401
    assert api("GET", "/mdm-admin/users/count", token=refreshed.json()["access_token"]).status == 200
    unsupported = api("POST", "/oauth2/token", body="grant_type=implicit", headers=form)
    assert unsupported.json() == {
        "error": "unsupported_grant_type",
        "error_description": "Unsupported Grant Type",
    }
