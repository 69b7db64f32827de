"""Users of a domain: list, create, get, delete, and the device-sync read endpoint."""

import pytest

from vendorkit.testing.concurrency import at_once

USERS = "/api/v1/domains/{}/users"
INSUFFICIENT = {"message": "Access denied: Insufficient permissions for this operation"}

HELPDESK = {"ID": 1, "username": "helpdesk@example.com", "domainID": 1, "status": 0}
EXAMPLE = {"ID": 2, "username": "example", "domainID": 1, "status": 0}
ALICE = {"ID": 3, "username": "alice@example.com", "domainID": 1, "status": 0}
BOB = {"ID": 4, "username": "bob@example.org", "domainID": 2, "status": 0}


@pytest.fixture
def domain_admin(app, run_sql, log_in):
    """A remote client logged in as a (writing) domain admin of domain 2."""
    run_sql(
        "INSERT INTO users (id, username, domain_id, password_hash) VALUES (50, 'boss@example.org', 2, NULL)"
    )
    run_sql("INSERT INTO user_roles (user_id, domain_id, role) VALUES (50, 2, 'DomainAdmin')")
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = "192.0.2.20"
    test_client.csrf = log_in(test_client, "boss@example.org")
    return test_client


@pytest.fixture
def helpdesk(app, log_in):
    test_client = app.test_client()
    test_client.environ_base["REMOTE_ADDR"] = "192.0.2.30"
    test_client.csrf = log_in(test_client, "helpdesk@example.com")
    return test_client


# -- list --------------------------------------------------------------------------------------


def test_list_by_id_without_admin(admin):
    response = admin.get(USERS.format(1))
    assert response.status_code == 200
    assert response.json == {"data": [HELPDESK, EXAMPLE, ALICE]}
    assert admin.get(USERS.format(2)).json == {"data": [BOB]}


def test_list_limit_and_offset(admin):
    assert admin.get(USERS.format(1) + "?limit=1&offset=1").json == {"data": [EXAMPLE]}
    assert admin.get(USERS.format(1) + "?offset=2").json == {"data": [ALICE]}
    assert admin.get(USERS.format(1) + "?limit=0").json == {"data": []}
    assert admin.get(USERS.format(1) + "?offset=10").json == {"data": []}


def test_list_default_limit_is_50(admin, run_sql):
    for number in range(60):
        run_sql(
            "INSERT INTO users (username, domain_id) VALUES (:name, 2)", name=f"u{number:02d}@example.org"
        )
    assert len(admin.get(USERS.format(2)).json["data"]) == 50
    assert len(admin.get(USERS.format(2) + "?limit=100").json["data"]) == 61


@pytest.mark.parametrize(
    "query", ["limit=x", "limit=-1", "offset=-1", "offset=1.5", "limit=99999999999999999999"]
)
def test_list_bad_paging_is_400(admin, query):
    response = admin.get(USERS.format(1) + "?" + query)
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"
    assert response.json["errors"]


def test_list_order_of_checks(remote, helpdesk):
    response = remote.get(USERS.format(1) + "?limit=x")
    assert response.status_code == 401
    assert helpdesk.get(USERS.format(2) + "?limit=x").status_code == 400
    response = helpdesk.get(USERS.format(2))
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    assert helpdesk.get(USERS.format(1)).json == {"data": [HELPDESK, EXAMPLE, ALICE]}


def test_list_of_an_unknown_domain(admin):
    assert admin.get(USERS.format(99)).json == {"data": []}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/domains/x/users",
        "/api/v1/domains/1/users/y",
        "/api/v1/domains/-1/users",
        "/api/v1/domains/1/users/1/sync/z",
    ],
)
def test_non_numeric_ids_are_not_found(admin, path):
    response = admin.get(path)
    assert response.status_code == 404
    assert response.json == {"message": "Resource not found"}


# -- create ------------------------------------------------------------------------------------


def test_create_with_a_bare_local_part(admin, run_sql):
    response = admin.post(
        USERS.format(1), json={"username": "carol", "password": "carol-pw", "x": 1}, headers=admin.csrf
    )
    assert response.status_code == 201
    body = response.json
    assert list(body) == ["ID", "username", "domainID", "status"]
    assert body["username"] == "carol@example.com"
    assert body["domainID"] == 1
    assert body["status"] == 0
    assert admin.get(f"{USERS.format(1)}/{body['ID']}").json == body
    (stored,) = run_sql("SELECT password_hash FROM users WHERE id = :id", id=body["ID"])
    assert stored[0].startswith("$argon2id$") and "carol-pw" not in stored[0]


def test_created_users_password_authenticates_wipes(admin, client):
    admin.post(
        USERS.format(2), json={"username": "dave@example.org", "password": "s3cret"}, headers=admin.csrf
    )
    path = "/api/v1/service/wipe/dave@example.org?devices=D1"
    assert client.post(path, json={"status": 2, "password": "wrong"}).status_code == 403
    assert client.post(path, json={"status": 2, "password": "s3cret"}).status_code == 201


def test_create_with_the_domain_in_another_case(admin):
    response = admin.post(USERS.format(1), json={"username": "Erin@EXAMPLE.com"}, headers=admin.csrf)
    assert response.status_code == 201
    assert response.json["username"] == "Erin@example.com"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Missing username"),
        ({"username": ""}, "Missing username"),
        ({"password": "x"}, "Missing username"),
        ({"username": "x@example.org"}, "Domain specifications do not match"),
        ({"username": "x@sub.example.com"}, "Domain specifications do not match"),
        ({"username": "bad name"}, "'bad name@example.com' is not a valid e-mail address"),
        ({"username": "@example.com"}, "'@example.com' is not a valid e-mail address"),
        ({"username": "a@b@example.com"}, "'a@b@example.com' is not a valid e-mail address"),
        ({"username": "ümlaut"}, "'ümlaut@example.com' is not a valid e-mail address"),
        ({"username": "x" * 400}, f"'{'x' * 400}@example.com' is not a valid e-mail address"),
    ],
)
def test_create_refusals(admin, body, message):
    response = admin.post(USERS.format(1), json=body, headers=admin.csrf)
    assert response.status_code == 400
    assert response.json == {"message": message}


def test_create_in_an_unknown_domain(admin):
    response = admin.post(USERS.format(9), json={"username": "x"}, headers=admin.csrf)
    assert response.status_code == 400
    assert response.json == {"message": "Invalid domain"}


@pytest.mark.parametrize("username", ["alice", "ALICE@example.com", "Alice"])
def test_create_taken_username(admin, run_sql, username):
    response = admin.post(USERS.format(1), json={"username": username}, headers=admin.csrf)
    assert response.status_code == 400
    assert list(response.json) == ["message"]
    assert response.json["message"].startswith("Object violates database constraints")
    assert run_sql("SELECT count(*) FROM users")[0][0] == 5


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("[]", "application/json"),
        ('"carol"', "application/json"),
        ("{", "application/json"),
        ('{"username": 5}', "application/json"),
        ('{"username": null}', "application/json"),
        ('{"username": "c", "password": 5}', "application/json"),
        ('{"username": "c"}', "text/plain"),
        ("", "application/json"),
    ],
)
def test_create_bad_shape(admin, body, content_type):
    response = admin.post(USERS.format(1), data=body, content_type=content_type, headers=admin.csrf)
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"
    assert response.json["errors"]


def test_create_order_of_checks(remote, helpdesk):
    assert remote.post(USERS.format(1), data="[]", content_type="application/json").status_code == 401
    response = helpdesk.post(USERS.format(1), json={"username": 5}, headers=helpdesk.csrf)
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"
    response = helpdesk.post(USERS.format(1), json={}, headers=helpdesk.csrf)  # read-only
    assert response.status_code == 403
    assert response.json == INSUFFICIENT


def test_domain_admin_writes_only_its_domain(domain_admin):
    response = domain_admin.post(USERS.format(2), json={"username": "frank"}, headers=domain_admin.csrf)
    assert response.status_code == 201
    assert response.json["username"] == "frank@example.org"
    response = domain_admin.post(USERS.format(1), json={"username": "frank"}, headers=domain_admin.csrf)
    assert response.status_code == 403
    response = domain_admin.post(USERS.format(9), json={"username": "frank"}, headers=domain_admin.csrf)
    assert response.status_code == 403
    assert domain_admin.delete(f"{USERS.format(2)}/4", headers=domain_admin.csrf).status_code == 200
    assert domain_admin.delete(f"{USERS.format(1)}/3", headers=domain_admin.csrf).status_code == 403


# -- get ---------------------------------------------------------------------------------------


def test_get_user(admin, helpdesk):
    assert admin.get(f"{USERS.format(1)}/3").json == ALICE
    assert helpdesk.get(f"{USERS.format(1)}/3").json == ALICE


@pytest.mark.parametrize(
    "path", ["/api/v1/domains/2/users/3", "/api/v1/domains/1/users/99", "/api/v1/domains/1/users/0"]
)
def test_get_user_not_found(admin, path):
    response = admin.get(path)
    assert response.status_code == 404
    assert response.json == {"message": "User not found"}


def test_get_user_needs_read_right(helpdesk, remote):
    response = helpdesk.get(f"{USERS.format(2)}/4")
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    assert helpdesk.get(f"{USERS.format(2)}/99").status_code == 403
    assert remote.get(f"{USERS.format(1)}/3").status_code == 401


# -- delete ------------------------------------------------------------------------------------


def test_delete_removes_user_devices_and_history(admin, client, run_sql):
    assert client.post("/api/v1/service/wipe/alice@example.com", json={"status": 1}).status_code == 201
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 2
    response = admin.delete(f"{USERS.format(1)}/3", headers=admin.csrf)
    assert response.status_code == 200
    assert response.json == {"message": "isded"}
    assert run_sql("SELECT count(*) FROM devices")[0][0] == 0
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 0
    assert admin.get(f"{USERS.format(1)}/3").status_code == 404
    response = admin.delete(f"{USERS.format(1)}/3", headers=admin.csrf)
    assert response.status_code == 404
    assert response.json == {"message": "User #3 not found"}


def test_delete_in_another_domain_is_not_found(admin):
    response = admin.delete(f"{USERS.format(2)}/3", headers=admin.csrf)
    assert response.status_code == 404
    assert response.json == {"message": "User #3 not found"}


def test_superuser_cannot_be_deleted(admin):
    for domain_id in (1, 2):
        response = admin.delete(f"{USERS.format(domain_id)}/0", headers=admin.csrf)
        assert response.status_code == 400
        assert response.json == {"message": "Cannot delete superuser"}


def test_delete_needs_login_csrf_and_write_right(admin, helpdesk, log_in, remote):
    response = helpdesk.delete(f"{USERS.format(1)}/3", headers=helpdesk.csrf)
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    response = admin.delete(f"{USERS.format(1)}/3")
    assert response.status_code == 401
    assert response.json == {"message": "Access denied", "error": "Invalid or missing CSRF token"}
    assert remote.delete(f"{USERS.format(1)}/3").status_code == 401


def test_concurrent_deletes(app, admin):
    def delete():
        test_client = app.test_client()
        test_client.set_cookie("grommunioAuthJwt", admin.get_cookie("grommunioAuthJwt").value)
        return test_client.delete(f"{USERS.format(2)}/4", headers=admin.csrf).status_code

    results = at_once(*[delete] * 4)
    assert sorted(results) == [200, 404, 404, 404]


# -- device sync -------------------------------------------------------------------------------


def test_sync_lists_devices_by_id_with_history_oldest_first(admin, client):
    path = "/api/v1/service/wipe/alice@example.com"
    assert (
        client.post(
            path + "?devices=AAA,ALICETABLET01", json={"status": 4, "time": 5, "password": "alice-demo"}
        ).status_code
        == 201
    )
    assert client.post(path + "?devices=ALICETABLET01", json={"status": 8, "time": 3}).status_code == 201
    response = admin.get(f"{USERS.format(1)}/3/sync")
    assert response.status_code == 200
    # The synced-device fields are tested in test_sync_details.py.
    wipe_fields = ("deviceid", "wipeStatus", "wipeHistory")
    assert {"data": [{key: device[key] for key in wipe_fields} for device in response.json["data"]]} == {
        "data": [
            {
                "deviceid": "AAA",
                "wipeStatus": 4,
                "wipeHistory": [{"time": 5, "remoteIP": "127.0.0.1", "status": 4}],
            },
            {"deviceid": "ALICEPHONE01", "wipeStatus": 1, "wipeHistory": []},
            {
                "deviceid": "ALICETABLET01",
                "wipeStatus": 8,
                "wipeHistory": [
                    {"time": 5, "remoteIP": "127.0.0.1", "status": 4},
                    {"time": 3, "remoteIP": "127.0.0.1", "status": 8},
                ],
            },
        ]
    }


def test_sync_of_a_user_without_devices(helpdesk):
    assert helpdesk.get(f"{USERS.format(1)}/2/sync").json == {"data": []}


def test_sync_refusals(admin, helpdesk, client):
    assert admin.get(f"{USERS.format(2)}/3/sync").json == {"message": "User not found"}
    assert admin.get(f"{USERS.format(1)}/99/sync").status_code == 404
    assert helpdesk.get(f"{USERS.format(2)}/4/sync").json == INSUFFICIENT
    response = client.get(f"{USERS.format(1)}/3/sync")  # policy hosts get no exemption
    assert response.status_code == 401
    assert response.json == {"message": "Access denied", "error": "No token provided"}
