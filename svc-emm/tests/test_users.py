"""The user endpoints of docs/emm.md section 3: exact success and refusal bodies."""

import base64

import pytest

from vendorkit.security import verify_secret
from vendorkit.testing.concurrency import at_once

KIM = {"username": "kim", "firstname": "Kim", "lastname": "Bar", "emailAddress": "kim@gmail.com"}
JIM = {"username": "jim", "firstname": "Jim", "lastname": "Bar", "emailAddress": "jim@gmail.com"}
FOO = {"username": "foo", "firstname": "foo", "lastname": "bar", "emailAddress": "foo@gmail.com"}
TOM = {"username": "tom", "firstname": "Tom", "lastname": "Foo", "emailAddress": "tom@gmail.com"}
ADMIN = {"username": "admin"}


def envelope(status, message, content=None):
    body = {"statusCode": status, "messageFromServer": message}
    if content is not None:
        body["responseContent"] = content
    return body


def test_list_users_sorted_with_count(client, admin_headers):
    for path in ("/mdm-admin/users", "/mdm-admin/users/"):
        response = client.get(path, headers=admin_headers)
        assert response.status_code == 200
        assert response.content_type == "application/json"
        assert response.json == envelope(
            200, "All users were successfully retrieved. Obtained user count: 5", [ADMIN, FOO, JIM, KIM, TOM]
        )


def test_prefix_filter_is_case_insensitive_with_star_wildcard(client, admin_headers):
    def names(user_filter):
        response = client.get(f"/mdm-admin/users/{user_filter}", headers=admin_headers)
        assert response.status_code == 200
        return response.json

    assert names("K") == envelope(200, "All users were successfully retrieved. Obtained user count: 1", [KIM])
    assert [user["username"] for user in names("*m")["responseContent"]] == ["admin", "jim", "kim", "tom"]
    assert names("%")["responseContent"] == []
    assert names("_im")["responseContent"] == []


def test_fixed_segments_are_never_filters(client, admin_headers):
    response = client.get("/mdm-admin/users/email-invitation", headers=admin_headers)
    assert response.status_code == 405
    assert response.json == {"statusCode": 405, "messageFromServer": "Method not allowed."}
    assert response.headers["Allow"] == "POST"


def test_unknown_path_and_wrong_method(client, admin_headers):
    response = client.get("/mdm-admin/nothing", headers=admin_headers)
    assert response.status_code == 404
    assert response.json == {"statusCode": 404, "messageFromServer": "Resource not found."}
    response = client.delete("/mdm-admin/users/count", headers=admin_headers)
    assert response.status_code == 405
    assert response.json == {"statusCode": 405, "messageFromServer": "Method not allowed."}


def test_view_user_echoes_the_name_as_sent(client, admin_headers):
    response = client.get("/mdm-admin/users/view?username=kim", headers=admin_headers)
    assert response.json == envelope(200, "User information was retrieved successfully.", KIM)
    for name in ("PRIMARY/kim", "primary/kim"):
        response = client.get(f"/mdm-admin/users/view?username={name}", headers=admin_headers)
        assert response.json["responseContent"] == {**KIM, "username": name}
    # Stored names are case-sensitive: only the prefix is case-insensitive.
    assert client.get("/mdm-admin/users/view?username=Primary/Kim", headers=admin_headers).status_code == 404
    response = client.get("/mdm-admin/users/view?username=admin", headers=admin_headers)
    assert response.json["responseContent"] == ADMIN


def test_an_answer_has_the_products_bytes(client, admin_headers):
    # Keys in the product's order, ", " and ": " between them, non-ASCII as is, null fields left out.
    updated = '{"statusCode": 201, "messageFromServer": "User by username: tom was successfully updated."}'
    shown = (
        '{"statusCode": 200, "messageFromServer": "User information was retrieved successfully.", '
        '"responseContent": {"username": "PRIMARY/tom", "firstname": "Tōm", "lastname": "Foo", '
        '"emailAddress": "tom@gmail.com"}}'
    )
    listed = (
        '{"statusCode": 200, "messageFromServer": "All users were successfully retrieved. Obtained user '
        'count: 1", "responseContent": [{"username": "admin"}]}'
    )
    rename = {"username": "tom", "firstname": "Tōm"}
    assert client.put("/mdm-admin/users", json=rename, headers=admin_headers).text == updated
    assert client.get("/mdm-admin/users/view?username=PRIMARY/tom", headers=admin_headers).text == shown
    assert client.get("/mdm-admin/users/admin", headers=admin_headers).text == listed


@pytest.mark.parametrize("name", ["nobody", "Kim", "' OR 1=1 --", "%", "k_m"])
def test_view_missing_user_is_http_404_with_body_400(client, admin_headers, name):
    response = client.get("/mdm-admin/users/view", query_string={"username": name}, headers=admin_headers)
    assert response.status_code == 404
    assert response.json == {
        "statusCode": 400,
        "messageFromServer": f"User by username: {name} does not exist.",
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/mdm-admin/users/view", "Username must be provided."),
        ("/mdm-admin/users/view?username=", "Username must be provided."),
        ("/mdm-admin/users/roles", "Username must be provided."),
        ("/mdm-admin/users/devices", "Username must be provided."),
        ("/mdm-admin/users/view?username=" + "a" * 256, "Invalid value for query parameter: username."),
        ("/mdm-admin/users/view-users?username=" + "a" * 256, "Invalid value for query parameter: username."),
    ],
)
def test_query_username_refusals(client, admin_headers, path, message):
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(400, message)


def test_delete_requires_a_username(client, admin_headers):
    response = client.delete("/mdm-admin/users", headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(400, "Username must be provided.")


def test_add_user_the_documents_way(client, admin_headers, smtp):
    assert client.delete("/mdm-admin/users?username=kim", headers=admin_headers).status_code == 200
    body = {
        "username": "PRIMARY/kim",
        "firstname": "Kim",
        "lastname": "Bar",
        "emailAddress": "kim@gmail.com",
        "roles": ["Marketing"],
        "password": "aWdub3JlZA==",
    }
    response = client.post("/mdm-admin/users/", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json == envelope(201, "User by username: PRIMARY/kim was successfully added.")
    roles = client.get("/mdm-admin/users/roles?username=kim", headers=admin_headers)
    assert roles.json == envelope(200, "User roles obtained for user kim", [["marketing"]])
    assert (
        client.get("/mdm-admin/users/view?username=kim", headers=admin_headers).json["responseContent"] == KIM
    )
    ((recipients, message),) = smtp.handler.received()
    assert recipients == ["kim@gmail.com"]
    assert message["Subject"] == "You have successfully been registered in WSO2 EMM"
    assert message["From"] == "emm-noreply@localhost"
    text = message.get_content()
    assert "Hi Kim," in text
    assert "kim" in text
    password = text.split("Password: ")[1].split()[0]
    assert len(password) == 6
    assert password.isalnum()
    assert password.isascii()
    login = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "kim", "password": password}
    )
    assert login.status_code == 200


def test_add_existing_user_is_409_before_role_checks(client, admin_headers):
    body = {"username": "PRIMARY/kim", "emailAddress": "kim@gmail.com", "roles": ["nope"]}
    response = client.post("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 409
    assert response.json == envelope(
        409, "User by username: PRIMARY/kim already exists. Therefore, request made to add user was refused."
    )


def test_add_with_unknown_role_stores_nothing(client, admin_headers, smtp):
    body = {
        "username": "sam",
        "emailAddress": "sam@example.com",
        "roles": ["admin", "Internal/everyone", "ghost"],
    }
    response = client.post("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(400, "Role by name: ghost does not exist.")
    assert client.get("/mdm-admin/users/count", headers=admin_headers).json == 5
    assert smtp.handler.received() == []


def test_add_ignores_internal_roles_and_matches_names_case_insensitively(client, admin_headers):
    body = {
        "username": "sam",
        "emailAddress": "sam@example.com",
        "roles": ["SALES", "Application/x", "sales"],
    }
    assert client.post("/mdm-admin/users", json=body, headers=admin_headers).status_code == 201
    roles = client.get("/mdm-admin/users/roles?username=sam", headers=admin_headers)
    assert roles.json["responseContent"] == [["sales"]]


def test_add_user_is_rolled_back_when_the_smtp_server_refuses(client, admin_headers, smtp):
    smtp.handler.refuse = True
    body = {"username": "sam", "firstname": "Sam", "emailAddress": "sam@example.com"}
    response = client.post("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 500
    assert response.json == {"errorMessage": "Error occurred while sending registration email to user 'sam'"}
    assert client.get("/mdm-admin/users/view?username=sam", headers=admin_headers).status_code == 404
    outbox = client.get("/mdm-admin/outbox?username=sam", headers=admin_headers).json["responseContent"]
    assert [message["status"] for message in outbox] == ["FAILED"]
    smtp.handler.refuse = False
    assert client.post("/mdm-admin/users", json=body, headers=admin_headers).status_code == 201


def test_add_user_is_rolled_back_when_no_smtp_server_answers(app_with, admin_of):
    from vendorkit.testing import free_port

    down = app_with(MAIL_HOST="127.0.0.1", MAIL_PORT=free_port())
    client = down.test_client()
    headers = admin_of(down)
    response = client.post(
        "/mdm-admin/users", json={"username": "sam", "emailAddress": "s@x.io"}, headers=headers
    )
    assert response.status_code == 500
    assert response.json == {"errorMessage": "Error occurred while sending registration email to user 'sam'"}
    assert client.get("/mdm-admin/users/count", headers=headers).json == 5


def test_update_user_the_documents_way(client, admin_headers):
    body = {
        "username": "kim",
        "firstname": "Kim",
        "lastname": "Foo",
        "emailAddress": "kim@gmail.com",
        "roles": ["admin"],
    }
    response = client.put("/mdm-admin/users?username=kim", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json == envelope(201, "User by username: kim was successfully updated.")
    view = client.get("/mdm-admin/users/view?username=kim", headers=admin_headers)
    assert view.json["responseContent"] == {**KIM, "lastname": "Foo"}
    roles = client.get("/mdm-admin/users/roles?username=kim", headers=admin_headers)
    assert roles.json["responseContent"] == [["admin", "marketing"]]


def test_update_keeps_absent_and_null_fields_and_accepts_the_products_test_password(
    client, admin_headers, app
):
    body = {"username": "PRIMARY/jim", "firstname": None, "lastname": "Baz", "password": "username"}
    response = client.put("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 201
    assert response.json == envelope(201, "User by username: PRIMARY/jim was successfully updated.")
    view = client.get("/mdm-admin/users/view?username=jim", headers=admin_headers)
    assert view.json["responseContent"] == {**JIM, "lastname": "Baz"}
    with app.app_context():
        from sqlalchemy import select

        from svc_emm.models import User
        from vendorkit import db

        stored = db.session().scalar(select(User.password_hash).where(User.username == "jim"))
    # The product's update test sends "username" as the base64 password.
    assert verify_secret(stored, base64.b64decode("username").decode("utf-8", errors="replace"))


def test_update_missing_user_is_409_with_the_products_two_spaces(client, admin_headers):
    response = client.put(
        "/mdm-admin/users", json={"username": "ghost", "roles": ["nope"]}, headers=admin_headers
    )
    assert response.status_code == 409
    assert response.json == envelope(
        409, "User by username: ghost doesn't  exists. Therefore, request made to update user was refused."
    )


def test_update_is_all_or_nothing(client, admin_headers):
    body = {"username": "kim", "lastname": "Changed", "roles": ["sales", "ghost"]}
    response = client.put("/mdm-admin/users", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(400, "Role by name: ghost does not exist.")
    assert (
        client.get("/mdm-admin/users/view?username=kim", headers=admin_headers).json["responseContent"] == KIM
    )
    roles = client.get("/mdm-admin/users/roles?username=kim", headers=admin_headers)
    assert roles.json["responseContent"] == [["marketing"]]


def test_update_query_and_body_names_must_agree(client, admin_headers):
    response = client.put("/mdm-admin/users?username=jim", json={"username": "kim"}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(
        400, "Username in the payload does not match the username query parameter."
    )
    same = client.put(
        "/mdm-admin/users?username=PRIMARY/kim", json={"username": "kim"}, headers=admin_headers
    )
    assert same.status_code == 201


def test_delete_user(client, admin_headers):
    response = client.delete("/mdm-admin/users?username=kim", headers=admin_headers)
    assert response.status_code == 200
    assert response.json == envelope(200, "User by username: kim was successfully removed.")
    again = client.delete("/mdm-admin/users?username=kim", headers=admin_headers)
    assert again.status_code == 400
    assert again.json == envelope(400, "User by username: kim does not exist for removal.")
    # The enrolment outlives the user.
    devices = client.get("/mdm-admin/users/devices?username=kim", headers=admin_headers)
    assert [device["id"] for device in devices.json] == [1]


@pytest.mark.parametrize("name", ["admin", "PRIMARY/admin"])
def test_the_built_in_admin_cannot_be_removed(client, admin_headers, name):
    response = client.delete(f"/mdm-admin/users?username={name}", headers=admin_headers)
    assert response.status_code == 400
    assert response.json == envelope(400, f"User by username: {name} cannot be removed.")


def test_roles_of_a_user(client, admin_headers):
    for method in ("GET", "POST"):
        response = client.open("/mdm-admin/users/roles?username=kim", method=method, headers=admin_headers)
        assert response.json == envelope(200, "User roles obtained for user kim", [["marketing"]])
    none = client.get("/mdm-admin/users/roles?username=tom", headers=admin_headers)
    assert none.json == envelope(200, "User roles obtained for user tom", [[]])
    missing = client.get("/mdm-admin/users/roles?username=ghost", headers=admin_headers)
    assert missing.status_code == 400
    assert missing.json == envelope(400, "User by username: ghost does not exist for role retrieval.")


def test_count_is_a_bare_integer(client, admin_headers):
    response = client.get("/mdm-admin/users/count", headers=admin_headers)
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.data == b"5"


def test_view_users_is_a_substring_search(client, admin_headers):
    response = client.get("/mdm-admin/users/view-users?username=i", headers=admin_headers)
    assert response.json == envelope(
        200, "All users by username were successfully retrieved. Obtained user count: 3", [ADMIN, JIM, KIM]
    )
    everyone = client.get("/mdm-admin/users/view-users", headers=admin_headers)
    assert everyone.json["responseContent"] == [ADMIN, FOO, JIM, KIM, TOM]
    empty = client.get("/mdm-admin/users/view-users?username=", headers=admin_headers)
    assert len(empty.json["responseContent"]) == 5
    wildcard = client.get("/mdm-admin/users/view-users?username=K*M", headers=admin_headers)
    assert wildcard.json["responseContent"] == [KIM]
    literal = client.get("/mdm-admin/users/view-users", query_string={"username": "%"}, headers=admin_headers)
    assert literal.json["responseContent"] == []


def test_users_by_username_lists_names(client, admin_headers):
    response = client.get("/mdm-admin/users/users-by-username?username=k", headers=admin_headers)
    assert response.json == envelope(
        200, "All users by username were successfully retrieved. Obtained user count: 1", ["kim"]
    )
    response = client.get("/mdm-admin/users/users-by-username?username=M", headers=admin_headers)
    assert response.json["responseContent"] == ["admin", "jim", "kim", "tom"]


def test_all_roles(client, admin_headers):
    response = client.get("/mdm-admin/roles", headers=admin_headers)
    assert response.json == envelope(
        200, "All user roles were successfully retrieved.", ["admin", "marketing", "sales"]
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/mdm-admin/users", {"username": "sam"}, "Exception in trying to add user by username: sam"),
        ("POST", "/mdm-admin/users", {}, "Exception in trying to add user by username: null"),
        (
            "PUT",
            "/mdm-admin/users",
            {"username": "kim"},
            "Exception in trying to update user by username: kim",
        ),
        (
            "DELETE",
            "/mdm-admin/users?username=kim",
            None,
            "Exception in trying to remove user by username: kim",
        ),
        (
            "GET",
            "/mdm-admin/users/view?username=kim",
            None,
            "Exception in trying to retrieve user by username: kim",
        ),
        (
            "GET",
            "/mdm-admin/users/roles?username=kim",
            None,
            "Exception in trying to retrieve roles for user by username: kim",
        ),
        ("GET", "/mdm-admin/users/", None, "Error occurred while retrieving the list of users"),
        (
            "GET",
            "/mdm-admin/users/view-users?username=k",
            None,
            "Error occurred while retrieving the list of users",
        ),
        ("GET", "/mdm-admin/users/devices?username=kim", None, "Device management error"),
        (
            "POST",
            "/mdm-admin/users/email-invitation",
            ["kim"],
            "Error occurred while inviting user to enrol their device",
        ),
    ],
)
def test_database_failures_answer_the_products_server_fault(
    app, client, admin_headers, method, path, body, message
):
    from sqlalchemy import text

    from vendorkit import db

    with app.app_context():
        session = db.session()
        session.execute(text("ALTER TABLE emm_users RENAME TO emm_users_gone"))
        session.commit()
    response = client.open(path, method=method, json=body, headers=admin_headers)
    assert response.status_code == 500
    assert response.json == {"errorMessage": message}


def test_concurrent_adds_of_one_name_give_one_201_and_409s(app, admin_headers, smtp):
    body = {"username": "racer", "emailAddress": "racer@example.com"}

    def add():
        return app.test_client().post("/mdm-admin/users", json=body, headers=admin_headers).status_code

    statuses = sorted(at_once(*[add] * 3))
    assert statuses == [201, 409, 409]
    assert len(smtp.handler.received()) == 1
