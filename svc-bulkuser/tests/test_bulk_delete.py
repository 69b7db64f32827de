"""DELETE /v1/user/all: every filter alone and combined, validation, self-protection, one statement."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from vendorkit import db
from vendorkit.testing.concurrency import at_once

DEMO_NAMES = [
    "admin",
    "agent1",
    "agent2",
    "client1",
    "client2",
    "viewer1",
    "support1",
    "support2",
    "support3",
]
NOT_FOUND = {"success": False, "error_type": "Object not found error"}
SELF = {
    "error_type": "operation_error",
    "success": False,
    "error": {"message": "You cannot delete yourself", "code": 130, "reason": "cannot_delete_self"},
}


def deleted(count: int) -> dict:
    return {"success": True, "payload": {"deleted": count, "updated": 0}}


def invalid(errors: dict) -> dict:
    return {"success": False, "error_type": "validation_error", "errors": errors}


@pytest.fixture
def remove(client, admin_headers):
    """``remove("role_id=3")``: the bulk delete's response."""

    def send(query: str):
        return client.delete(f"/v1/user/all?{query}", headers=admin_headers)

    return send


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def test_the_documents_example_deletes_every_role_3_user(remove, user_names):
    response = remove("role_id=3")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.json == deleted(3)
    assert user_names() == DEMO_NAMES[:6]


@pytest.mark.parametrize(
    ("query", "gone"),
    [
        ("active=false", ["agent2", "client2", "support3"]),
        ("active=0", ["agent2", "client2", "support3"]),
        ("active=TRUE", ["agent1", "client1", "viewer1", "support1", "support2"]),
        ("active=1", ["agent1", "client1", "viewer1", "support1", "support2"]),
        ("user_id=4", ["client1"]),
        ("user_id=0004", ["client1"]),
        ("user_id_in=4,5, 9", ["client1", "client2", "support3"]),
        ("user_id_in=%204%20,999", ["client1"]),
        ("user_id_in=1,2", ["agent1"]),  # the caller is left out silently
        ("role_id=4", ["client1", "client2"]),
        ("user_type=viewer", ["viewer1"]),
        ("user_type=admin", []),  # the only admin is the caller
        ("name=client1", ["client1"]),
        ("name=CLIENT1", []),
        ("name=client%25", []),
        ("name=client_", []),
        ("name=client*", []),
        ("name=x%27%20OR%20%271%27=%271", []),
        ("email=viewer1@example.com", ["viewer1"]),
        ("email=VIEWER1@example.com", []),
        ("create_time_gt=2024-01-08", ["support3"]),
        ("create_time_gt=2024-01-07T23:59:59Z", ["support2", "support3"]),
        ("create_time_gt=2024-01-08T01:00:00%2B02:00", ["support2", "support3"]),
        ("create_time_lt=2024-01-03", ["agent1"]),
        ("create_time_lt=2024-01-02 00:00:00.000001", ["agent1"]),
        ("create_time_lt=2024-01-01T19:00-05:00", []),  # = 2024-01-02T00:00Z, exclusive
        ("create_time_lt=2024-01-01T19:00:01-05:00", ["agent1"]),
        ("create_time_gt=2024-01-05&create_time_lt=2024-01-05", []),
        ("create_time_gt=2024-01-06&create_time_lt=2024-01-04", []),
    ],
)
def test_each_filter_alone(remove, user_names, query, gone):
    response = remove(query)
    assert (response.status_code, response.json) == (200, deleted(len(gone)))
    assert user_names() == [name for name in DEMO_NAMES if name not in gone]


@pytest.mark.parametrize(
    ("query", "gone"),
    [
        ("role_id=4&active=true", ["client1"]),
        ("role_id=3&user_type=agent&create_time_gt=2024-01-07", ["support2"]),
        ("user_type=agent&active=false&user_id_in=2,3,7", ["agent2"]),
        ("user_id=4&role_id=4&name=client1&email=client1@example.com", ["client1"]),
        ("user_id=5&active=true", []),  # exists, excluded by another filter: 200, not 404
        ("user_type=client&create_time_gt=2024-01-03&create_time_lt=2024-01-09", ["client1", "client2"]),
    ],
)
def test_filters_combine_with_and(remove, user_names, query, gone):
    response = remove(query)
    assert (response.status_code, response.json) == (200, deleted(len(gone)))
    assert user_names() == [name for name in DEMO_NAMES if name not in gone]


def test_is_online_uses_last_seen_within_15_minutes(remove, user_names, add_users):
    current = now()
    add_users(
        {"name": "online", "last_seen": current - timedelta(minutes=14)},
        {"name": "away", "last_seen": current - timedelta(minutes=16)},
    )
    assert remove("is_online=1&role_id=900").json == deleted(1)
    assert "online" not in user_names()
    assert remove("is_online=0&role_id=900").json == deleted(1)
    assert remove("is_online=0").json == deleted(8)  # never seen: offline; the caller is online anyway
    assert user_names() == ["admin"]


def test_login_ip_is_compared_in_canonical_form(remove, user_names, add_users):
    add_users({"name": "v6", "login_ip": "2001:db8::1"}, {"name": "v4", "login_ip": "192.0.2.5"})
    assert remove("login_ip=2001:0DB8:0:0::0001").json == deleted(1)
    assert remove("login_ip=::ffff:192.0.2.5").json == deleted(1)
    assert set(user_names()) == set(DEMO_NAMES)


def test_last_login_time_bounds_are_exclusive_and_never_match_null(remove, user_names, add_users):
    add_users(
        {"name": "early", "last_login_time": datetime(2025, 3, 1, 10, 0, 0)},
        {"name": "late", "last_login_time": datetime(2025, 3, 2, 10, 0, 0)},
    )
    assert remove("last_login_time_gt=2025-03-02T10:00:00").json == deleted(0)
    assert remove("last_login_time_lt=2025-03-01T10:00:00Z").json == deleted(0)
    assert remove("last_login_time_lt=2030-01-01").json == deleted(2)
    assert set(user_names()) == set(DEMO_NAMES)


def test_last_login_time_gt_alone(remove, add_users):
    add_users({"name": "recent", "last_login_time": datetime(2025, 3, 2, 10, 0, 1)})
    assert remove("last_login_time_gt=2025-03-02T10:00").json == deleted(1)


def test_names_with_wildcards_and_quotes_match_exactly(remove, user_names, add_users):
    add_users({"name": "a%b", "email": "o'hara@example.org"}, {"name": "axb"}, {"name": "a_b"})
    assert remove("name=a%25b").json == deleted(1)
    assert remove("email=o%27hara@example.org").json == deleted(0)  # a%b had that email
    assert remove("name=a_b").json == deleted(1)
    assert "axb" in user_names()


def test_the_values_are_bound_never_spliced(client, app, admin_headers, add_users):
    add_users({"name": "target"})
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(db.engine(app), "before_cursor_execute", record)
    try:
        response = client.delete("/v1/user/all?name=target&user_id_in=3,10,11", headers=admin_headers)
    finally:
        event.remove(db.engine(app), "before_cursor_execute", record)
    assert response.json == deleted(1)
    deletes = [(sql, params) for sql, params in statements if sql.lstrip().upper().startswith("DELETE")]
    assert len(deletes) == 1, "one set-based statement"
    sql, params = deletes[0]
    assert "target" not in sql and "RETURNING" not in sql.upper()
    assert "target" in params and 11 in params
    others = [sql for sql, _ in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert all("SET last_seen" in sql for sql in others), "only the caller's last_seen refresh"


def test_the_delete_uses_the_filtered_columns_index(client, app, admin_headers):
    captured = []
    engine = db.engine(app)

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith("DELETE"):
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        client.delete("/v1/user/all?role_id=3", headers=admin_headers)
        client.delete("/v1/user/all?create_time_gt=2024-01-05", headers=admin_headers)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        plans = [
            " ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in captured
        ]
    assert "ix_users_role_id" in plans[0]
    assert "ix_users_create_time" in plans[1]


def test_a_missing_user_id_is_404(remove, user_names):
    response = remove("user_id=999")
    assert (response.status_code, response.json) == (404, NOT_FOUND)
    assert remove("user_id=999&role_id=3").status_code == 404
    assert user_names() == DEMO_NAMES


def test_deleting_the_same_user_id_twice_gives_200_then_404(remove):
    assert remove("user_id=9").json == deleted(1)
    assert (remove("user_id=9").status_code, remove("user_id=9").json) == (404, NOT_FOUND)


@pytest.mark.parametrize("query", ["user_id=1", "user_id=1&role_id=3", "user_id=1&name=nobody", "user_id=01"])
def test_the_caller_cannot_delete_itself(remove, user_names, query):
    response = remove(query)
    assert (response.status_code, response.json) == (400, SELF)
    assert user_names() == DEMO_NAMES


def test_the_caller_is_left_out_of_every_match(remove, user_names):
    assert remove("create_time_gt=2000-01-01").json == deleted(8)
    assert user_names() == ["admin"]


def test_no_filter_is_refused(client, admin_headers, user_names):
    for path in ("/v1/user/all", "/v1/user/all?"):
        response = client.delete(path, headers=admin_headers)
        assert response.status_code == 400
        assert response.json == invalid({"_schema": ["At least one filter is required."]})
    assert user_names() == DEMO_NAMES


def test_a_body_is_ignored(client, admin_headers, user_names):
    response = client.delete("/v1/user/all", headers=admin_headers, json={"role_id": 3})
    assert response.json == invalid({"_schema": ["At least one filter is required."]})
    assert client.delete("/v1/user/all?role_id=4", headers=admin_headers, data=b"not json").json == deleted(2)


@pytest.mark.parametrize(
    ("query", "attribute"),
    [
        ("rol_id=3", "rol_id"),
        ("role_id=3&Role_id=3", "Role_id"),
        ("active=maybe&zzz=1&aaa=1", "zzz"),
        ("page=1", "page"),
        ("last_login_time_isnull=true", "last_login_time_isnull"),
        ("token=abc", "token"),
    ],
)
def test_unknown_parameters_are_refused(remove, user_names, query, attribute):
    response = remove(query)
    assert response.status_code == 400
    assert response.data == (
        b'{"success": false, "error_type": "attribute_not_exists", "attribute": "'
        + attribute.encode()
        + b'"}'
    )
    assert user_names() == DEMO_NAMES


INVALID_VALUES = [
    ("active=yes", {"active": ["Not a valid boolean."]}),
    ("is_online=2", {"is_online": ["Not a valid boolean."]}),
    ("user_id=abc", {"user_id": ["Not a valid integer."]}),
    ("user_id=1.0", {"user_id": ["Not a valid integer."]}),
    ("user_id=%2B5", {"user_id": ["Not a valid integer."]}),
    ("user_id=%D9%A3", {"user_id": ["Not a valid integer."]}),  # an Arabic-Indic digit
    ("user_id=0", {"user_id": ["Must be between 1 and 2147483647."]}),
    ("user_id=-4", {"user_id": ["Must be between 1 and 2147483647."]}),
    ("role_id=2147483648", {"role_id": ["Must be between 1 and 2147483647."]}),
    ("role_id=" + "9" * 5000, {"role_id": ["Must be between 1 and 2147483647."]}),
    ("user_id_in=4,,5", {"user_id_in": ["Must be a comma-separated list of user ids."]}),
    ("user_id_in=4,x", {"user_id_in": ["Must be a comma-separated list of user ids."]}),
    ("user_id_in=4,0", {"user_id_in": ["Must be a comma-separated list of user ids."]}),
    ("user_id_in=4;5", {"user_id_in": ["Must be a comma-separated list of user ids."]}),
    (
        "user_id_in=" + ",".join(str(n) for n in range(10, 511)),
        {"user_id_in": ["At most 500 ids are allowed."]},
    ),
    ("user_type=superuser", {"user_type": ["Must be one of: admin, client, agent, viewer."]}),
    ("user_type=Admin", {"user_type": ["Must be one of: admin, client, agent, viewer."]}),
    ("name=" + "n" * 256, {"name": ["Longer than maximum length 255."]}),
    ("email=" + "e" * 256, {"email": ["Longer than maximum length 255."]}),
    ("login_ip=10.0.0.256", {"login_ip": ["Not a valid IP address."]}),
    ("login_ip=fe80::1%25eth0", {"login_ip": ["Not a valid IP address."]}),
    ("login_ip=10.0.0.1:80", {"login_ip": ["Not a valid IP address."]}),
    ("create_time_gt=1704067200", {"create_time_gt": ["Not a valid datetime."]}),
    ("create_time_gt=2024-02-30", {"create_time_gt": ["Not a valid datetime."]}),
    ("create_time_gt=2024-01-01T24:00", {"create_time_gt": ["Not a valid datetime."]}),
    (
        "create_time_lt=2024-01-01T10:00:00+02:00",
        {"create_time_lt": ["Not a valid datetime."]},
    ),  # + is a space
    ("create_time_lt=2024-01-01T10:00:00%2B0200", {"create_time_lt": ["Not a valid datetime."]}),
    ("create_time_lt=2024-01-01T10:00:00.1234567", {"create_time_lt": ["Not a valid datetime."]}),
    ("last_login_time_gt=2024-W01", {"last_login_time_gt": ["Not a valid datetime."]}),
    ("last_login_time_lt=20240101", {"last_login_time_lt": ["Not a valid datetime."]}),
    ("last_login_time_lt=2024-01-01t10:00", {"last_login_time_lt": ["Not a valid datetime."]}),
    ("last_login_time_lt=2024-01-01Z", {"last_login_time_lt": ["Not a valid datetime."]}),
    ("role_id=", {"role_id": ["Field may not be empty."]}),
    ("role_id", {"role_id": ["Field may not be empty."]}),
    ("role_id=3&role_id=4", {"role_id": ["Field may not be repeated."]}),
    (
        "user_type=x&active=&role_id=0&name=a&name=b&create_time_gt=now",
        {
            "user_type": ["Must be one of: admin, client, agent, viewer."],
            "active": ["Field may not be empty."],
            "role_id": ["Must be between 1 and 2147483647."],
            "name": ["Field may not be repeated."],
            "create_time_gt": ["Not a valid datetime."],
        },
    ),
    ("user_id=1&active=x", {"active": ["Not a valid boolean."]}),  # validation before self-protection
]


@pytest.mark.parametrize(("query", "errors"), INVALID_VALUES)
def test_every_validation_message(remove, user_names, query, errors):
    response = remove(query)
    assert response.status_code == 400
    assert response.json == invalid(errors)
    assert list(response.json["errors"]) == list(errors), "fields in request order"
    assert user_names() == DEMO_NAMES


def test_concurrent_deletes_of_one_user_one_wins(app, admin_headers):
    def attempt():
        response = app.test_client().delete("/v1/user/all?user_id=5", headers=admin_headers)
        return response.status_code, response.json

    outcomes = at_once(attempt, attempt)
    assert sorted(outcomes, key=lambda outcome: outcome[0]) == [(200, deleted(1)), (404, NOT_FOUND)]


class FakeDriverError(Exception):
    def __init__(self, sqlstate):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_a_deadlock_victim_is_run_again_other_errors_are_not():
    from sqlalchemy.exc import OperationalError

    from svc_bulkuser.services import retrying

    attempts = []

    def work(sqlstate):
        def run():
            attempts.append(sqlstate)
            if len(attempts) == 1:
                raise OperationalError("DELETE ...", {}, FakeDriverError(sqlstate))
            return "done"

        return run

    assert retrying(work("40P01")) == "done"
    assert attempts == ["40P01", "40P01"]
    attempts.clear()
    with pytest.raises(OperationalError):
        retrying(work("08006"))
    assert attempts == ["08006"]
