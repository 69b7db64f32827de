"""GET /api/v1/service/wipe/{username}: validation, login, user, domain read right; reads change nothing."""

import pytest

WIPE = "/api/v1/service/wipe/"
ALICE = {"ALICEPHONE01": {"status": 1}, "ALICETABLET01": {"status": 2}}
INSUFFICIENT = {"message": "Access denied: Insufficient permissions for this operation"}


def test_policy_host_reads_without_login(client):
    response = client.get(WIPE + "alice@example.com")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.json == {"data": ALICE}
    assert list(response.json["data"]) == ["ALICEPHONE01", "ALICETABLET01"]


def test_user_without_devices_has_empty_data(client):
    response = client.get(WIPE + "bob@example.org")
    assert response.status_code == 200
    assert response.json == {"data": {}}


def test_listed_devices_in_order_unknown_ones_as_zero_and_not_created(client, run_sql):
    response = client.get(
        WIPE + "ALICE@example.com?devices=UNKNOWN1,ALICETABLET01&devices=UNKNOWN1,ALICEPHONE01"
    )
    assert response.status_code == 200
    assert response.json == {
        "data": {"UNKNOWN1": {"status": 0}, "ALICETABLET01": {"status": 2}, "ALICEPHONE01": {"status": 1}}
    }
    assert list(response.json["data"]) == ["UNKNOWN1", "ALICETABLET01", "ALICEPHONE01"]
    assert run_sql("SELECT count(*) FROM devices")[0][0] == 2
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 0


@pytest.mark.parametrize(
    "query",
    ["devices=", "devices=a,,b", "devices=" + "y" * 65, "devices=" + ",".join(str(i) for i in range(101))],
)
def test_devices_validation_comes_first(remote, query):
    response = remote.get(f"{WIPE}nobody@example.com?{query}")
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"
    assert response.json["errors"]


def test_remote_without_login_is_refused_before_the_user_lookup(remote):
    for username in ("alice@example.com", "nobody@example.com"):
        response = remote.get(WIPE + username)
        assert response.status_code == 403
        assert response.json == {"message": "Access denied: No token provided"}


def test_remote_token_problem_is_the_reason(remote, make_token):
    remote.set_cookie("grommunioAuthJwt", make_token("admin", lifetime=-10))
    response = remote.get(WIPE + "alice@example.com")
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: Token has expired"}


def test_read_only_domain_admin_reads_its_domain_without_csrf(remote, log_in):
    log_in(remote, "helpdesk@example.com")  # no CSRF header needed on GET
    response = remote.get(WIPE + "alice@example.com")
    assert response.status_code == 200
    assert response.json == {"data": ALICE}


def test_domain_admin_of_another_domain_is_refused_after_the_user_lookup(remote, log_in):
    log_in(remote, "helpdesk@example.com")
    response = remote.get(WIPE + "bob@example.org")
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    response = remote.get(WIPE + "nobody@example.org")
    assert response.status_code == 404
    assert response.json == {"message": "User not found"}


def test_user_without_role_is_refused(remote, log_in):
    log_in(remote, "alice@example.com")  # a valid token, but alice holds no role
    response = remote.get(WIPE + "alice@example.com")
    assert response.status_code == 403
    assert response.json == INSUFFICIENT


def test_system_administrator_reads_everything(admin):
    assert admin.get(WIPE + "bob@example.org").json == {"data": {}}
    assert admin.get(WIPE + "alice@example.com").json == {"data": ALICE}
    assert admin.get(WIPE + "admin").json == {"data": {}}


def test_unknown_user_from_policy_host(client):
    response = client.get(WIPE + "nobody@example.com")
    assert response.status_code == 404
    assert response.json == {"message": "User not found"}
