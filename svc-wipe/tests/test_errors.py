"""Generic refusals (404, 405, 500, 503), the client-address rule and JSON everywhere."""

import shutil

import pytest

from svc_wipe import services
from vendorkit.testing import free_port

WIPE = "/api/v1/service/wipe/alice@example.com"


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v2/login", "/", "/api/v1/service/wipe/", "/api/v1/service/wipe/a/b"]
)
def test_unknown_path(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.json == {"message": "Resource not found"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", WIPE),
        ("PUT", WIPE),
        ("PATCH", "/api/v1/login"),
        ("POST", "/api/v1/profile"),
        ("DELETE", "/api/v1/domains"),
        ("PUT", "/api/v1/domains/1/users"),
        ("POST", "/api/v1/domains/1/users/3"),
        ("POST", "/api/v1/domains/1/users/3/sync"),
    ],
)
def test_wrong_method(client, method, path):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.content_type == "application/json"
    assert response.json == {"message": f"Method '{method}' not allowed on this endpoint"}


def test_unhandled_error_is_500_without_traceback(remote, log_in, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "profile", broken)
    log_in(remote, "admin")
    response = remote.get("/api/v1/profile")
    assert response.status_code == 500
    assert response.content_type == "application/json"
    assert response.json == {"message": "The server encountered an error while processing the request."}
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data


@pytest.fixture
def app_without_database(make_app):
    """The service pointed at a PostgreSQL port where nothing listens."""
    return make_app(
        {
            "DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
            "DEMO_DATA": False,
            "RUN_MIGRATIONS": False,
            "SECRET_KEY": "a-test-secret-key-of-sufficient-length-0123456789",
        }
    )


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", WIPE, {}),
        ("POST", WIPE, {"json": {"status": 1}}),
        ("POST", "/api/v1/login", {"data": {"user": "admin", "pass": "admin-demo"}}),
    ],
)
def test_database_down_is_503(app_without_database, method, path, kwargs):
    response = app_without_database.test_client().open(path, method=method, **kwargs)
    assert response.status_code == 503
    assert response.content_type == "application/json"
    assert response.json == {"message": "Database error."}


def test_validation_needs_no_database(app_without_database):
    response = app_without_database.test_client().post(WIPE, json={"status": 3})
    assert response.status_code == 400


# -- client address ----------------------------------------------------------------------------


def _report(client, environ, headers=None):
    return client.post(WIPE, json={"status": 1}, environ_base=environ, headers=headers or {})


def test_behind_the_gateway_the_forwarded_client_counts(client):
    # The gateway (127.0.0.1, trusted) forwards a request from 192.0.2.5: not a policy host.
    response = _report(client, {"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "192.0.2.5"})
    assert response.status_code == 403
    assert response.json == {"message": "Access denied: No token provided"}


def test_a_forged_forwarded_for_is_skipped_from_the_right(client):
    # The client sent "127.0.0.1" itself; the gateway appended the real peer 192.0.2.5.
    response = _report(client, {"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "127.0.0.1, 192.0.2.5"})
    assert response.status_code == 403


def test_an_untrusted_peer_cannot_pick_its_address(client):
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded", "Client-IP"):
        value = "for=127.0.0.1" if header == "Forwarded" else "127.0.0.1"
        response = _report(client, {"REMOTE_ADDR": "192.0.2.5"}, {header: value})
        assert response.status_code == 403, header


def test_a_local_client_through_the_gateway_is_a_policy_host(client):
    response = _report(client, {"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 201


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_loopback_peers_are_policy_hosts(client, peer):
    assert _report(client, {"REMOTE_ADDR": peer}).status_code == 201


def test_history_records_the_forwarded_client(client, admin):
    path = WIPE + "?devices=ALICEPHONE01"
    response = client.post(
        path,
        json={"status": 1},
        environ_base={"REMOTE_ADDR": "::1"},
        headers={"X-Forwarded-For": "::ffff:127.0.0.1"},
    )
    assert response.status_code == 201
    history = admin.get("/api/v1/domains/1/users/3/sync").json["data"][0]["wipeHistory"]
    assert history == [{"time": history[0]["time"], "remoteIP": "127.0.0.1", "status": 1}]


def test_sync_policy_hosts_setting(tmp_path, demo_database, make_app):
    shutil.copyfile(demo_database, tmp_path / "t.db")
    app = make_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/t.db",
            "DEMO_DATA": True,
            "SYNC_POLICY_HOSTS": "192.0.2.0/28, 2001:db8::7",
        }
    )
    test_client = app.test_client()
    assert _report(test_client, {"REMOTE_ADDR": "192.0.2.5"}).status_code == 201
    assert _report(test_client, {"REMOTE_ADDR": "2001:db8::7"}).status_code == 201
    assert _report(test_client, {"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    assert test_client.get(WIPE, environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code == 403


# -- input the database could not store is a 4xx, never a 5xx ----------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"status": 1, "remoteIP": "a\\u0000b"}',
        '{"status": 1, "remoteIP": "\\ud800"}',
        '{"status": 2, "password": "\\udfff"}',
        '{"status": 2, "password": "x\\u0000"}',
    ],
)
def test_unstorable_strings_are_400(client, body):
    response = client.post(WIPE, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"


def test_nul_in_device_ids_username_and_login(client, admin):
    response = client.post(WIPE + "?devices=a%00b", json={"status": 1})
    assert response.status_code == 400
    response = client.post("/api/v1/service/wipe/alice%00", json={"status": 1})
    assert (response.status_code, response.json) == (404, {"message": "User not found"})
    response = client.post("/api/v1/login", data={"user": "admin\x00", "pass": "admin-demo"})
    assert response.status_code == 401
    response = admin.post("/api/v1/domains/1/users", json={"username": "a\u0000b"}, headers=admin.csrf)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path", ["/api/v1/domains/99999999999999999999/users", "/api/v1/domains/1/users/2147483648"]
)
def test_out_of_range_ids_are_not_found(admin, path):
    response = admin.get(path)
    assert (response.status_code, response.json) == (404, {"message": "Resource not found"})


def test_options_is_405_in_the_envelope(client):
    response = client.options("/api/v1/profile")
    assert response.status_code == 405
    assert response.json == {"message": "Method 'OPTIONS' not allowed on this endpoint"}
