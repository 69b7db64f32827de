"""svc-wipe on PostgreSQL behind the real gateway: policy hosts, forged headers, the grommunio-sync
exchange, concurrency, and a database that goes away under the service."""

import uuid
from functools import partial

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from svc_wipe.models import Base
from vendorkit.admin import include_in_migrations
from vendorkit.db import make_engine
from vendorkit.testing import PostgresServer, ServerProcess, http_request
from vendorkit.testing.concurrency import at_once

OTHER_HOST = "127.0.0.2"
SUCCESS = {"message": "Success."}
NO_TOKEN = {"message": "Access denied: No token provided"}
INSUFFICIENT = {"message": "Access denied: Insufficient permissions for this operation"}
DOCUMENT_BODY = '{ "password": "example", "remoteIP": "example", "status": 0, "time": 1 }'


def test_document_example_on_the_server_itself(api):
    response = api(
        "POST",
        "/api/v1/service/wipe/example",
        headers={"Content-Type": "application/json", "Cookie": "grommunioAuthJwt=<grommunioAuthJwt>"},
        body=DOCUMENT_BODY,
    )
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == SUCCESS


def test_another_host_without_login_is_refused(api, account):
    path = f"/api/v1/service/wipe/{account.username}?devices=X1"
    response = api("POST", path, json_body={"status": 1}, source=OTHER_HOST)
    assert response.status == 403
    assert response.json() == NO_TOKEN
    response = api("GET", path, source=OTHER_HOST)
    assert response.status == 403
    assert response.json() == NO_TOKEN
    # The document's example from elsewhere: the placeholder cookie logs nobody in.
    response = api(
        "POST",
        "/api/v1/service/wipe/example",
        headers={"Content-Type": "application/json", "Cookie": "grommunioAuthJwt=<grommunioAuthJwt>"},
        body=DOCUMENT_BODY,
        source=OTHER_HOST,
    )
    assert response.status == 403
    assert response.json() == {"message": "Access denied: invalid token"}


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-For": "127.0.0.1"},
        {"X-Forwarded-For": "127.0.0.1, ::1"},
        {"X-Real-IP": "127.0.0.1"},
        {"Forwarded": "for=127.0.0.1"},
    ],
)
def test_forged_forwarding_headers_grant_nothing(api, wipe, account, headers):
    path = f"/api/v1/service/wipe/{account.username}?devices=X1"
    response = api("POST", path, json_body={"status": 1}, headers=headers, source=OTHER_HOST)
    assert response.status == 403
    assert response.json() == NO_TOKEN
    # Nor straight to the service, which trusts the gateway's address only.
    response = http_request(
        "POST", wipe.url + path, json_body={"status": 1}, headers=headers, source=OTHER_HOST
    )
    assert response.status == 403
    assert response.json() == NO_TOKEN


def test_administrator_from_another_host_and_the_recorded_address(api, admin, account, sync_of):
    path = f"/api/v1/service/wipe/{account.username}?devices=PHONE"
    response = api("POST", path, login=admin, json_body={"status": 1}, source=OTHER_HOST)
    assert response.status == 201, response.text
    # Without the CSRF header the cookie alone is not a login.
    response = api(
        "POST", path, headers=admin.headers(csrf=False), json_body={"status": 1}, source=OTHER_HOST
    )
    assert response.status == 403
    assert response.json() == {"message": "Access denied: Invalid or missing CSRF token"}
    (entry,) = sync_of(account)["PHONE"]["wipeHistory"]
    assert entry["remoteIP"] == OTHER_HOST  # the real client behind the gateway, not the gateway


def test_read_only_domain_admin(api, log_in, account):
    response = log_in("helpdesk@example.com", "helpdesk-demo", source=OTHER_HOST)
    assert response.status == 200
    body = response.json()
    headers = {"Cookie": f"grommunioAuthJwt={body['grommunioAuthJwt']}", "X-Csrf-Token": body["csrf"]}
    path = f"/api/v1/service/wipe/{account.username}"
    response = api("GET", path, headers=headers, source=OTHER_HOST)
    assert response.status == 200
    assert response.json() == {"data": {}}
    response = api("POST", path, headers=headers, json_body={"status": 1}, source=OTHER_HOST)
    assert response.status == 403
    assert response.json() == INSUFFICIENT


def test_grommunio_sync_exchange(api, admin, account, sync_of):
    """The device lifecycle as grommunio-sync (same host, no login) and an administrator drive it."""
    path = f"/api/v1/service/wipe/{account.username}?devices=SYNCDEV1"
    # grommunio-sync asks for the device's status: unknown yet.
    response = api("GET", path)
    assert response.status == 200
    assert response.json() == {"data": {"SYNCDEV1": {"status": 0}}}
    # It reports the policy applied (status 1).
    response = api("POST", path, json_body={"remoteIP": "198.51.100.7", "status": 1, "time": 1700000000})
    assert (response.status, response.json()) == (201, SUCCESS)
    # Starting a wipe needs a password: refused without it, even from the same host.
    response = api("POST", path, json_body={"status": 2})
    assert (response.status, response.json()) == (403, INSUFFICIENT)
    # The administrator requests the wipe with its own password.
    response = api(
        "POST", path, login=admin, json_body={"status": 2, "password": "admin-demo"}, source=OTHER_HOST
    )
    assert (response.status, response.json()) == (201, SUCCESS)
    # grommunio-sync sees the pending wipe, then reports "wipe requested" and "wiped".
    assert api("GET", path).json() == {"data": {"SYNCDEV1": {"status": 2}}}
    for status, moment in ((4, 1700000100), (8, 1700000200)):
        response = api("POST", path, json_body={"remoteIP": "198.51.100.7", "status": status, "time": moment})
        assert (response.status, response.json()) == (201, SUCCESS)
    device = sync_of(account)["SYNCDEV1"]
    assert device["wipeStatus"] == 8
    assert [(entry["status"], entry["remoteIP"]) for entry in device["wipeHistory"]] == [
        (1, "198.51.100.7"),
        (2, OTHER_HOST),
        (4, "198.51.100.7"),
        (8, "198.51.100.7"),
    ]
    assert [entry["time"] for entry in device["wipeHistory"]][2:] == [1700000100, 1700000200]


def test_owner_password_authenticates_a_same_host_wipe(api, account):
    path = f"/api/v1/service/wipe/{account.username.upper()}?devices=D1,D2"
    response = api("POST", path, json_body={"status": 16, "password": "wrong"})
    assert response.status == 403
    response = api("POST", path, json_body={"status": 16, "password": account.password})
    assert response.status == 201
    assert api("GET", path).json() == {"data": {"D1": {"status": 16}, "D2": {"status": 16}}}


def test_validation_and_unknown_user(api):
    response = api("POST", "/api/v1/service/wipe/nobody@example.com", json_body={"status": True})
    assert response.status == 400
    assert response.json()["message"] == "Bad Request"
    response = api("POST", "/api/v1/service/wipe/nobody@example.com", json_body={"status": 1})
    assert response.status == 404
    assert response.json() == {"message": "User not found"}


def test_concurrent_reports_for_one_device(api, account, sync_of):
    """All get 201; one device; one history row each."""
    count = 12
    path = f"/api/v1/service/wipe/{account.username}?devices=RACEDEV"

    def report(index):
        response = api("POST", path, json_body={"status": 1, "time": 1000 + index, "remoteIP": f"r{index}"})
        return response.status, response.json()

    results = at_once(*(partial(report, index) for index in range(count)))
    assert results == [(201, SUCCESS)] * count
    devices = sync_of(account)
    assert list(devices) == ["RACEDEV"]
    assert sorted(entry["remoteIP"] for entry in devices["RACEDEV"]["wipeHistory"]) == sorted(
        f"r{index}" for index in range(count)
    )


def test_concurrent_reports_for_several_new_devices_in_different_orders(api, account, sync_of):
    count = 8

    def report(devices):
        path = f"/api/v1/service/wipe/{account.username}?devices={','.join(devices)}"
        return api("POST", path, json_body={"status": 1}).status

    orders = (["A", "B", "C"] if index % 2 else ["C", "B", "A"] for index in range(count))
    results = at_once(*(partial(report, devices) for devices in orders))
    assert results == [201] * count
    devices = sync_of(account)
    assert list(devices) == ["A", "B", "C"]
    assert all(len(device["wipeHistory"]) == count for device in devices.values())


def test_concurrent_deletes_exactly_one_wins(api, admin, account):
    def delete():
        response = api("DELETE", f"/api/v1/domains/1/users/{account.id}", login=admin, source=OTHER_HOST)
        return response.status, response.json()

    results = at_once(*[delete] * 4)
    assert (
        sorted(results, key=lambda result: result[0])
        == [(200, {"message": "isded"})] + [(404, {"message": f"User #{account.id} not found"})] * 3
    )


def test_delete_while_reporting(api, admin, account):
    """A report racing a delete of its user gets 201 or 404, never a 5xx."""
    path = f"/api/v1/service/wipe/{account.username}?devices=GONE"

    def report():
        return api("POST", path, json_body={"status": 1}).status

    def delete():
        return api("DELETE", f"/api/v1/domains/1/users/{account.id}", login=admin, source=OTHER_HOST).status

    results = at_once(*[report] * 6, delete)
    assert results.count(200) == 1
    assert set(results) <= {200, 201, 404}


def test_generic_refusals_through_the_gateway(api):
    response = api("GET", "/api/v1/no/such/path")
    assert (response.status, response.json()) == (404, {"message": "Resource not found"})
    response = api("DELETE", "/api/v1/service/wipe/example")
    assert (response.status, response.json()) == (
        405,
        {"message": "Method 'DELETE' not allowed on this endpoint"},
    )
    response = api("GET", "/api/v1/domains/abc/users", login=None)
    assert (response.status, response.json()) == (404, {"message": "Resource not found"})


def test_database_stopped_under_the_service():
    """503 {"message": "Database error."} while PostgreSQL is down; back to normal once it returns.

    A cluster of its own: stopping the shared one would break tests running at the same time.
    """
    postgres = PostgresServer().init()
    service = None
    try:
        postgres.start()
        service = ServerProcess(
            "svc_wipe:create_app()",
            env={
                "DATABASE_URL": postgres.create_database("svc_wipe"),
                "DEMO_DATA": "0",  # an empty database: no slow demo password hashing
                "SECRET_KEY": uuid.uuid4().hex,
                "LOG_LEVEL": "WARNING",
            },
        ).start()
        path = service.url + "/api/v1/service/wipe/alice@example.com"
        assert http_request("GET", path).json() == {"message": "User not found"}

        # The throwaway cluster commits asynchronously and stops in "immediate" mode: make what
        # the service wrote durable first, so that it is still there after the restart.
        engine = make_engine(postgres.url("svc_wipe"))
        with engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
        engine.dispose()
        postgres.stop()
        for method, kwargs in (("GET", {}), ("POST", {"json_body": {"status": 1}})):
            response = http_request(method, path, **kwargs)
            assert response.status == 503
            assert response.headers["Content-Type"] == "application/json"
            assert response.json() == {"message": "Database error."}
        response = http_request(
            "POST",
            service.url + "/api/v1/login",
            body="user=admin&pass=admin-demo",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (response.status, response.json()) == (503, {"message": "Database error."})
        assert http_request("GET", service.url + "/readyz").status == 503

        postgres.start()
        response = http_request("GET", path)
        assert (response.status, response.json()) == (404, {"message": "User not found"})
    finally:
        if service is not None:
            service.stop()
        postgres.destroy()


def test_migrations_and_demo_data_on_postgresql(api):
    response = api(
        "GET", "/api/v1/service/wipe/ALICE@EXAMPLE.COM?devices=ALICEPHONE01,NEVER" + uuid.uuid4().hex[:8]
    )
    assert response.status == 200
    data = response.json()["data"]
    assert list(data.values())[1] == {"status": 0}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/service/wipe/example", '{"status": 1, "remoteIP": "a\\u0000b"}', 400),
        ("POST", "/api/v1/service/wipe/example", '{"status": 1, "remoteIP": "\\ud800"}', 400),
        ("POST", "/api/v1/service/wipe/example?devices=a%00b", '{"status": 1}', 400),
        ("POST", "/api/v1/service/wipe/exa%00mple", '{"status": 1}', 404),
        ("GET", "/api/v1/service/wipe/exa%00mple", None, 404),
        ("POST", "/api/v1/service/wipe/" + "x" * 1000, '{"status": 1}', 404),
        ("POST", "/api/v1/service/wipe/example", '{"status": 1, "time": 253402300800}', 400),
    ],
)
def test_malformed_input_on_postgresql_is_a_4xx(api, method, path, body, status):
    headers = {"Content-Type": "application/json"} if body else {}
    response = api(method, path, body=body, headers=headers)
    assert response.status == status, response.text
    assert response.headers["Content-Type"] == "application/json"


def test_nul_in_login_and_huge_ids_on_postgresql(api, log_in, admin):
    response = log_in("admin\x00", "admin-demo")
    assert (response.status, response.json()) == (
        401,
        {"message": "Login failed", "error": "Invalid username or password"},
    )
    response = api("GET", "/api/v1/domains/1/users/99999999999999999999", login=admin, source=OTHER_HOST)
    assert (response.status, response.json()) == (404, {"message": "Resource not found"})
    response = api("GET", "/api/v1/domains/1/users?offset=2147483647", login=admin, source=OTHER_HOST)
    assert (response.status, response.json()) == (200, {"data": []})


def test_concurrent_creates_of_one_username(api, admin):
    username = f"e2e-{uuid.uuid4().hex[:12]}"

    def create():
        response = api(
            "POST",
            "/api/v1/domains/1/users",
            login=admin,
            json_body={"username": username},
            source=OTHER_HOST,
        )
        return response.status, response.json()

    results = at_once(*[create] * 4)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 400, 400, 400]
    for status, body in results:
        if status == 400:
            assert body["message"].startswith("Object violates database constraints")
        else:
            assert body["username"] == f"{username}@example.com"


def test_postgresql_schema_matches_the_models(postgres, wipe):
    engine = make_engine(postgres.url("svc_wipe"))
    try:
        with engine.connect() as connection:
            # The emulator's own table (present once the admin API ran here) is no part of the service's schema.
            context = MigrationContext.configure(connection, opts={"include_name": include_in_migrations})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
