"""POST /api/v1/service/wipe/{username}: validation, permission, user, password rule, write."""

import json
import time
from functools import partial

import pytest

from vendorkit.testing.concurrency import at_once

WIPE = "/api/v1/service/wipe/"
REMOTE_ADDRESS = "192.0.2.10"  # the ``remote`` fixture's address
SUCCESS = {"message": "Success."}
INSUFFICIENT = {"message": "Access denied: Insufficient permissions for this operation"}


def statuses(client, username="alice@example.com"):
    """The user's devices and statuses, read from a policy host."""
    response = client.get(WIPE + username)
    assert response.status_code == 200
    return {device: entry["status"] for device, entry in response.json["data"].items()}


def history(run_sql, device_id):
    return run_sql(
        "SELECT h.time, h.remote_ip, h.status FROM device_history h JOIN devices d ON d.id = h.device_ref "
        "WHERE d.device_id = :device ORDER BY h.id",
        device=device_id,
    )


@pytest.fixture
def sync_of(admin):
    """The sync read endpoint as the system administrator sees it."""

    def read(user_id=3, domain_id=1):
        response = admin.get(f"/api/v1/domains/{domain_id}/users/{user_id}/sync")
        assert response.status_code == 200
        return {entry["deviceid"]: entry for entry in response.json["data"]}

    return read


# -- the document's example -------------------------------------------------------------------


DOCUMENT_BODY = '{ "password": "example", "remoteIP": "example", "status": 0, "time": 1 }'


def test_document_example_runs_verbatim_on_the_server_itself(client, sync_of):
    # curl --cookie grommunioAuthJwt=<grommunioAuthJwt> (a placeholder, no CSRF header): not logged in,
    # but the request comes from a policy host.
    client.set_cookie("grommunioAuthJwt", "<grommunioAuthJwt>")
    response = client.post(WIPE + "example", data=DOCUMENT_BODY, content_type="application/json")
    assert response.status_code == 201
    assert response.json == SUCCESS
    assert response.content_type == "application/json"
    assert sync_of(2) == {}  # "example" has no devices: nothing changes


def test_document_example_from_elsewhere_is_refused(remote):
    remote.set_cookie("grommunioAuthJwt", "<grommunioAuthJwt>")
    response = remote.post(WIPE + "example", data=DOCUMENT_BODY, content_type="application/json")
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: invalid token"}


# -- validation (before permission and user lookup) -------------------------------------------


def _post(client, body, *, path=WIPE + "alice@example.com", content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data=data, content_type=content_type)


def _assert_bad_request(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.json
    assert list(body) == ["message", "errors"]
    assert body["message"] == "Bad Request"
    assert body["errors"] and all(isinstance(error, str) and error for error in body["errors"])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        ("{", "application/json"),
        ("[]", "application/json"),
        ('"status"', "application/json"),
        ("1", "application/json"),
        ("null", "application/json"),
        (b"\xff\xfe{", "application/json"),
        ('{"status": 1}', "text/plain"),
        ('{"status": 1}', None),
        ("status=1", "application/x-www-form-urlencoded"),
        ('{"status": 1}', "application/jsonx"),
        ("[" * 100000 + "]" * 100000, "application/json"),
        ('{"status": ' + "9" * 5000 + "}", "application/json"),
    ],
)
def test_body_must_be_a_json_object_sent_as_json(client, body, content_type):
    _assert_bad_request(_post(client, body, content_type=content_type))


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"password": "x"},
        {"status": True},
        {"status": False},
        {"status": 1.0},
        {"status": "1"},
        {"status": None},
        {"status": 3},
        {"status": -1},
        {"status": 128},
        {"status": [1]},
        {"status": 1, "password": 5},
        {"status": 1, "password": None},
        {"status": 1, "password": ["x"]},
        {"status": 1, "remoteIP": 5},
        {"status": 1, "remoteIP": None},
        {"status": 1, "remoteIP": "x" * 65},
        {"status": 1, "time": "1"},
        {"status": 1, "time": 1.5},
        {"status": 1, "time": 1.0},
        {"status": 1, "time": True},
        {"status": 1, "time": None},
        {"status": 1, "time": -1},
        {"status": 1, "time": 253402300800},
    ],
)
def test_fields_are_validated(client, body):
    _assert_bad_request(_post(client, body))


def test_nan_and_infinity_are_not_integers(client):
    _assert_bad_request(_post(client, '{"status": NaN}'))
    _assert_bad_request(_post(client, '{"status": 1, "time": Infinity}'))


@pytest.mark.parametrize(
    "query",
    [
        "devices=",
        "devices=a,,b",
        "devices=a,",
        "devices=,a",
        "devices=a&devices=",
        "devices=" + "x" * 65,
        "devices=" + ",".join(f"D{i}" for i in range(101)),
        "&".join(f"devices=D{i}" for i in range(101)),
    ],
)
def test_devices_query_is_validated(client, run_sql, query):
    _assert_bad_request(_post(client, {"status": 1}, path=f"{WIPE}alice@example.com?{query}"))
    assert run_sql("SELECT count(*) FROM devices")[0][0] == 2


def test_validation_comes_before_permission_and_user_lookup(remote):
    _assert_bad_request(_post(remote, {"status": 3}))
    _assert_bad_request(_post(remote, {"status": 1}, path=WIPE + "nobody@example.com?devices="))


@pytest.mark.parametrize(
    "body",
    [
        {"status": 0, "time": 0},
        {"status": 1, "time": 253402300799},
        {"status": 1, "remoteIP": "x" * 64},
        {"status": 1, "remoteIP": ""},
        {"status": 1, "password": ""},
        {"status": 1, "unknown": [1, 2], "another": None},
    ],
)
def test_valid_bodies_are_accepted(client, body):
    response = _post(client, body)
    assert response.status_code == 201
    assert response.json == SUCCESS


def test_charset_parameter_is_fine(client):
    response = _post(client, {"status": 1}, content_type="application/json; charset=utf-8")
    assert response.status_code == 201


def test_hundred_devices_and_duplicates_counting_once(client):
    ids = [f"D{i}" for i in range(100)]
    response = _post(
        client, {"status": 1}, path=f"{WIPE}bob@example.org?devices={','.join(ids)}&devices=D0,D1"
    )
    assert response.status_code == 201
    assert statuses(client, "bob@example.org") == dict.fromkeys(ids, 1)


def test_a_64_character_device_id_is_accepted(client):
    device_id = "x" * 64
    response = _post(client, {"status": 1}, path=f"{WIPE}bob@example.org?devices={device_id}")
    assert response.status_code == 201
    assert statuses(client, "bob@example.org") == {device_id: 1}


# -- permission --------------------------------------------------------------------------------


def test_remote_caller_without_login_is_refused(remote, run_sql):
    response = _post(remote, {"status": 1})
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: No token provided"}
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 0


def test_permission_comes_before_the_user_lookup(remote):
    response = _post(remote, {"status": 1}, path=WIPE + "nobody@example.com")
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: No token provided"}


@pytest.mark.parametrize(
    ("username", "status", "answer"),
    [("admin", 201, SUCCESS), ("helpdesk@example.com", 403, INSUFFICIENT)],
    ids=["system_administrator_may_report_from_anywhere", "domain_admin_is_not_enough"],
)
def test_only_the_system_administrator_reports_from_another_host(remote, log_in, username, status, answer):
    csrf = log_in(remote, username)
    response = remote.post(WIPE + "alice@example.com", json={"status": 1}, headers=csrf)
    assert response.status_code == status
    assert response.json == answer


def test_login_without_csrf_header_is_not_a_login(remote, log_in):
    log_in(remote, "admin")
    response = _post(remote, {"status": 1})
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: Invalid or missing CSRF token"}
    response = remote.post(
        WIPE + "alice@example.com", json={"status": 1}, headers={"X-Csrf-Token": "bm9wZQ=="}
    )
    assert response.json == {"message": "Access denied: Invalid or missing CSRF token"}


def test_unknown_user_is_404_for_those_allowed(client, remote, log_in):
    response = _post(client, {"status": 1}, path=WIPE + "nobody@example.com")
    assert response.status_code == 404
    assert response.json == {"message": "User not found"}
    csrf = log_in(remote, "admin")
    response = remote.post(WIPE + "nobody@example.com", json={"status": 1}, headers=csrf)
    assert response.status_code == 404
    assert response.json == {"message": "User not found"}


def test_username_matches_case_insensitively(client):
    response = _post(client, {"status": 8}, path=WIPE + "ALICE@Example.COM?devices=ALICETABLET01")
    assert response.status_code == 201
    assert statuses(client)["ALICETABLET01"] == 8


def test_username_must_match_whole(client):
    response = _post(client, {"status": 1}, path=WIPE + "alice")
    assert response.status_code == 404


# -- targets -----------------------------------------------------------------------------------


def test_listed_unknown_devices_are_created(client, run_sql):
    response = _post(client, {"status": 1}, path=WIPE + "alice@example.com?devices=NEWPHONE,ALICEPHONE01")
    assert response.status_code == 201
    assert statuses(client) == {"ALICEPHONE01": 1, "ALICETABLET01": 2, "NEWPHONE": 1}
    # ALICETABLET01 was not listed: no history row for it.
    assert history(run_sql, "ALICETABLET01") == []
    assert len(history(run_sql, "NEWPHONE")) == 1
    assert len(history(run_sql, "ALICEPHONE01")) == 1


def test_without_devices_every_device_of_the_user_is_targeted(client, run_sql):
    response = _post(client, {"status": 1})
    assert response.status_code == 201
    assert statuses(client) == {"ALICEPHONE01": 1, "ALICETABLET01": 1}
    assert [row[2] for row in history(run_sql, "ALICEPHONE01")] == [1]
    assert [row[2] for row in history(run_sql, "ALICETABLET01")] == [1]


def test_user_without_devices_and_no_list_changes_nothing(client, run_sql):
    response = _post(client, {"status": 8, "password": "wrong"}, path=WIPE + "bob@example.org")
    assert response.status_code == 201
    assert response.json == SUCCESS
    assert statuses(client, "bob@example.org") == {}
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 0


def test_repeated_and_comma_separated_devices_combine(client):
    response = _post(client, {"status": 1}, path=WIPE + "bob@example.org?devices=A,B&devices=C&devices=A")
    assert response.status_code == 201
    assert statuses(client, "bob@example.org") == {"A": 1, "B": 1, "C": 1}


def test_devices_are_per_user(client):
    assert _post(client, {"status": 1}, path=WIPE + "bob@example.org?devices=ALICEPHONE01").status_code == 201
    assert statuses(client, "bob@example.org") == {"ALICEPHONE01": 1}
    assert statuses(client)["ALICEPHONE01"] == 1


# -- the password rule -------------------------------------------------------------------------


def test_starting_a_wipe_needs_the_owners_password(client, run_sql):
    path = WIPE + "alice@example.com?devices=ALICEPHONE01"
    for body in ({"status": 2}, {"status": 2, "password": "wrong"}, {"status": 2, "password": "ALICE-DEMO"}):
        response = _post(client, body, path=path)
        assert response.status_code == 403
        assert response.json == INSUFFICIENT
    assert statuses(client)["ALICEPHONE01"] == 1
    assert history(run_sql, "ALICEPHONE01") == []

    response = _post(client, {"status": 2, "password": "alice-demo"}, path=path)
    assert response.status_code == 201
    assert statuses(client)["ALICEPHONE01"] == 2


@pytest.mark.parametrize("status", [2, 4, 8, 16, 32, 64])
def test_every_wipe_state_counts(client, status):
    response = _post(client, {"status": status}, path=WIPE + "alice@example.com?devices=ALICEPHONE01")
    assert response.status_code == 403
    assert response.json == INSUFFICIENT


def test_a_new_device_starts_at_status_zero(client, run_sql):
    response = _post(client, {"status": 4}, path=WIPE + "alice@example.com?devices=NEWPHONE")
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    assert run_sql("SELECT count(*) FROM devices WHERE device_id = 'NEWPHONE'")[0][0] == 0
    response = _post(
        client, {"status": 4, "password": "alice-demo"}, path=WIPE + "alice@example.com?devices=NEWPHONE"
    )
    assert response.status_code == 201
    assert statuses(client)["NEWPHONE"] == 4


def test_one_target_starting_a_wipe_refuses_the_whole_request(client, run_sql):
    response = _post(client, {"status": 8})  # ALICETABLET01 2 -> 8 is fine, ALICEPHONE01 1 -> 8 is not
    assert response.status_code == 403
    assert statuses(client) == {"ALICEPHONE01": 1, "ALICETABLET01": 2}
    assert run_sql("SELECT count(*) FROM device_history")[0][0] == 0


@pytest.mark.parametrize(
    ("device", "status"), [("ALICETABLET01", 4), ("ALICETABLET01", 8), ("ALICETABLET01", 1)]
)
def test_other_changes_need_no_password(client, device, status):
    response = _post(client, {"status": status}, path=f"{WIPE}alice@example.com?devices={device}")
    assert response.status_code == 201
    assert statuses(client)[device] == status


def test_wiped_device_back_to_ok_and_status_zero_need_no_password(client):
    path = WIPE + "alice@example.com?devices=ALICETABLET01"
    assert _post(client, {"status": 8}, path=path).status_code == 201
    assert _post(client, {"status": 1}, path=path).status_code == 201
    assert (
        _post(client, {"status": 0}, path=WIPE + "alice@example.com?devices=ALICEPHONE01,NEW").status_code
        == 201
    )
    assert statuses(client) == {"ALICEPHONE01": 0, "ALICETABLET01": 1, "NEW": 0}


def test_logged_in_caller_authenticates_with_its_own_password(remote, log_in):
    csrf = log_in(remote, "admin")
    path = WIPE + "alice@example.com?devices=ALICEPHONE01"
    response = remote.post(path, json={"status": 2, "password": "alice-demo"}, headers=csrf)
    assert response.status_code == 403
    assert response.json == INSUFFICIENT
    response = remote.post(path, json={"status": 2, "password": "admin-demo"}, headers=csrf)
    assert response.status_code == 201


def test_logged_in_caller_on_a_policy_host_also_uses_its_own_password(client, log_in):
    csrf = log_in(client, "admin")
    path = WIPE + "alice@example.com?devices=ALICEPHONE01"
    assert client.post(path, json={"status": 2, "password": "alice-demo"}, headers=csrf).status_code == 403
    assert client.post(path, json={"status": 2, "password": "admin-demo"}, headers=csrf).status_code == 201


def test_policy_host_with_a_cookie_but_no_csrf_uses_the_owners_password(client, log_in):
    log_in(client, "admin")  # no X-Csrf-Token sent: not logged in
    path = WIPE + "alice@example.com?devices=ALICEPHONE01"
    assert _post(client, {"status": 2, "password": "admin-demo"}, path=path).status_code == 403
    assert _post(client, {"status": 2, "password": "alice-demo"}, path=path).status_code == 201


def test_owner_without_password_can_never_be_authenticated(app, client, log_in):
    admin = app.test_client()
    csrf = log_in(admin, "admin")
    created = admin.post("/api/v1/domains/1/users", json={"username": "nopass"}, headers=csrf)
    assert created.status_code == 201
    path = WIPE + "nopass@example.com?devices=P1"
    assert _post(client, {"status": 2, "password": ""}, path=path).status_code == 403
    assert _post(client, {"status": 2, "password": "anything"}, path=path).status_code == 403
    assert _post(client, {"status": 1}, path=path).status_code == 201


# -- history -----------------------------------------------------------------------------------


def test_history_records_time_remote_ip_and_status_as_given(client, sync_of):
    response = _post(client, {"status": 1, "time": 1, "remoteIP": "example"}, path=WIPE + "alice@example.com")
    assert response.status_code == 201
    devices = sync_of()
    assert devices["ALICEPHONE01"]["wipeHistory"] == [{"time": 1, "remoteIP": "example", "status": 1}]
    assert devices["ALICETABLET01"]["wipeHistory"] == [{"time": 1, "remoteIP": "example", "status": 1}]


def test_history_defaults_to_now_and_the_client_address(remote, sync_of, log_in):
    csrf = log_in(remote, "admin")
    before = int(time.time())
    response = remote.post(WIPE + "alice@example.com?devices=ALICETABLET01", json={"status": 4}, headers=csrf)
    after = int(time.time())
    assert response.status_code == 201
    (entry,) = sync_of()["ALICETABLET01"]["wipeHistory"]
    assert entry["remoteIP"] == REMOTE_ADDRESS
    assert entry["status"] == 4
    assert before <= entry["time"] <= after


def test_one_history_row_per_target_even_when_unchanged(client, sync_of):
    path = WIPE + "alice@example.com?devices=ALICEPHONE01"
    for moment in (10, 20, 30):
        assert _post(client, {"status": 1, "time": moment}, path=path).status_code == 201
    entries = sync_of()["ALICEPHONE01"]["wipeHistory"]
    assert [entry["time"] for entry in entries] == [10, 20, 30]
    assert {entry["status"] for entry in entries} == {1}


def test_the_latest_representable_time_round_trips(client, sync_of):
    response = _post(
        client, {"status": 1, "time": 253402300799}, path=WIPE + "alice@example.com?devices=ALICEPHONE01"
    )
    assert response.status_code == 201
    assert sync_of()["ALICEPHONE01"]["wipeHistory"][0]["time"] == 253402300799


def test_remote_ip_is_stored_verbatim(client, sync_of):
    text = "not an address; <script> ü"
    response = _post(
        client, {"status": 1, "remoteIP": text}, path=WIPE + "alice@example.com?devices=ALICEPHONE01"
    )
    assert response.status_code == 201
    assert sync_of()["ALICEPHONE01"]["wipeHistory"][0]["remoteIP"] == text


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_reports_for_one_device(app, run_sql):
    """All succeed; one device; one history row each."""
    count = 8

    def report(index):
        response = app.test_client().post(
            WIPE + "bob@example.org?devices=RACE01",
            json={"status": 1, "time": index, "remoteIP": f"r{index}"},
        )
        return response.status_code, response.json

    results = at_once(*(partial(report, index) for index in range(count)))
    assert results == [(201, SUCCESS)] * count
    assert run_sql("SELECT count(*) FROM devices WHERE device_id = 'RACE01'")[0][0] == 1
    rows = history(run_sql, "RACE01")
    assert sorted(row[1] for row in rows) == sorted(f"r{index}" for index in range(count))
