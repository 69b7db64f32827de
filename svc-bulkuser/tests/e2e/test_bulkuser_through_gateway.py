"""svc-bulkuser on PostgreSQL behind the real gateway: filters, auth, validation, concurrent deletes.

The database is shared by this module's tests, so every check previews a
delete with GET /v1/user/list (same filters) and compares: the preview is
exactly what the delete removes, whatever else the database holds.
"""

import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import jwt
import pytest
from sqlalchemy import create_engine, text

from vendorkit.testing.concurrency import at_once

MISSING = (
    b'{"error_type": "unauthenticated_error", "success": false, "error": '
    b'{"message": "No header X-Auth-Token present", "code": 110, "reason": "auth_token_not_provided"}}'
)
NOT_FOUND = b'{"success": false, "error_type": "Object not found error"}'
DEMO_SECRET = "dnl-bulkuser-demo-secret"
ADMIN_ID = 1


def utc_text(moment: datetime) -> str:
    """A naive UTC time as the filters take it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bulk_delete(api, token, query):
    return api("DELETE", f"/v1/user/all?{query}", token=token)


def preview_then_delete(api, admin_token, listed, query) -> list[int]:
    """Delete by ``query`` and check it removed exactly what the list previewed; the removed ids."""
    preview = [user_id for user_id in listed(query) if user_id != ADMIN_ID]
    response = bulk_delete(api, admin_token, query)
    assert response.status == 200, response.text
    assert response.json() == {"success": True, "payload": {"deleted": len(preview), "updated": 0}}
    assert [user_id for user_id in listed(query) if user_id != ADMIN_ID] == []
    return preview


@pytest.fixture(scope="module")
def database(stack, bulkuser):
    """The service's own PostgreSQL database, for seeding what only logins would otherwise set."""
    engine = create_engine(stack.postgres.url("svc_bulkuser"))
    yield engine
    engine.dispose()


@pytest.fixture
def pair(database, role_id):
    """Two users of one role: ``a`` logged in just now from 127.0.0.3 (online), ``b`` is inactive, never seen.

    Inserted with SQL: two password logins per test would cost seconds of argon2.
    """
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    tag = uuid.uuid4().hex[:10]
    common = {
        "role_id": role_id,
        "create_time": now,
        "last_login_time": None,
        "login_ip": None,
        "last_seen": None,
    }
    rows = [
        {**common, "name": f"a-{tag}", "email": f"a-{tag}@example.org", "user_type": "client", "active": True,
         "last_login_time": now, "login_ip": "127.0.0.3", "last_seen": now},
        {**common, "name": f"b-{tag}", "email": f"b-{tag}@example.org", "user_type": "viewer", "active": False},
    ]  # fmt: skip
    insert = text(
        "INSERT INTO users (name, email, user_type, role_id, active, create_time, last_login_time, login_ip, last_seen)"
        " VALUES (:name, :email, :user_type, :role_id, :active, :create_time,"
        " :last_login_time, :login_ip, :last_seen) RETURNING user_id"
    )
    with database.begin() as connection:
        a, b = (connection.execute(insert, row).scalar_one() for row in rows)
    before, after = now - timedelta(seconds=1), now + timedelta(seconds=1)
    return {"a": a, "b": b, "tag": tag, "role": role_id, "before": before, "after": after}


# (query built from the pair, ids that must be matched, ids that must survive)
ALONE = {
    "active=false": ("active=false", "b", "a"),
    "active=true": ("active=true", "a", "b"),
    "is_online=1": ("is_online=1", "a", "b"),
    "is_online=0": ("is_online=0", "b", "a"),
    "user_id": ("user_id={a}", "a", "b"),
    "user_id_in": ("user_id_in={a},%20{b}", "ab", ""),
    "role_id": ("role_id={role}", "ab", ""),
    "user_type": ("user_type=viewer", "b", "a"),
    "name": ("name=a-{tag}", "a", "b"),
    "email": ("email=b-{tag}@example.org", "b", "a"),
    "login_ip": ("login_ip=127.0.0.3", "a", "b"),
    "create_time_gt": ("create_time_gt={before}", "ab", ""),
    "create_time_lt": ("create_time_lt={after}", "ab", ""),
    "last_login_time_gt": ("last_login_time_gt={before}", "a", "b"),
    "last_login_time_lt": ("last_login_time_lt={after}", "a", "b"),
}


@pytest.mark.parametrize("case", list(ALONE))
def test_each_filter_alone(api, admin_token, listed, pair, case):
    template, matched, survives = ALONE[case]
    values = {**pair, "before": utc_text(pair["before"]), "after": utc_text(pair["after"])}
    query = template.format(**values)
    removed = preview_then_delete(api, admin_token, listed, query)
    assert {pair[key] for key in matched} <= set(removed)
    assert not {pair[key] for key in survives} & set(removed)
    assert listed(f"user_id_in={pair['a']},{pair['b']}") == [pair[key] for key in "ab" if key not in matched]


@pytest.mark.parametrize(
    ("template", "matched"),
    [
        ("role_id={role}&active=true", "a"),
        ("role_id={role}&user_type=viewer&create_time_gt={before}", "b"),
        ("role_id={role}&is_online=1&login_ip=127.0.0.3&last_login_time_lt={after}", "a"),
        ("user_id={b}&role_id={role}&active=false&email=b-{tag}@example.org", "b"),
        ("user_id_in={a},{b}&name=a-{tag}&create_time_lt={before}", ""),
    ],
)
def test_filters_combine_with_and(api, admin_token, listed, pair, template, matched):
    values = {**pair, "before": utc_text(pair["before"]), "after": utc_text(pair["after"])}
    removed = preview_then_delete(api, admin_token, listed, template.format(**values))
    assert sorted(removed) == sorted(pair[key] for key in matched)


def test_the_documents_example(api, admin_token, listed, create):
    create(role_id=3)
    removed = preview_then_delete(api, admin_token, listed, "role_id=3")
    assert len(removed) >= 1


def test_a_list_of_500_ten_digit_ids_passes_gateway_and_service(api, admin_token, create, role_id):
    # About 5.5 KB of query string: beyond gunicorn's default request-line limit.
    target = create(role_id=role_id)
    ids = [target, *range(2147483147, 2147483147 + 499)]
    deleted = bulk_delete(api, admin_token, "user_id_in=" + ",".join(map(str, ids)))
    assert (deleted.status, deleted.json()) == (
        200,
        {"success": True, "payload": {"deleted": 1, "updated": 0}},
    )


def test_refusals_through_the_gateway(api, admin_token, create, role_id):
    target = create(role_id=role_id)
    assert bulk_delete(api, None, f"role_id={role_id}").body == MISSING
    unknown = bulk_delete(api, admin_token, f"role_id={role_id}&rol_id=3")
    assert (unknown.status, unknown.json()) == (
        400,
        {"success": False, "error_type": "attribute_not_exists", "attribute": "rol_id"},
    )
    invalid = bulk_delete(api, admin_token, "active=maybe&create_time_gt=2024-13-01&user_id_in=1,,2")
    assert (invalid.status, invalid.json()["errors"]) == (
        400,
        {
            "active": ["Not a valid boolean."],
            "create_time_gt": ["Not a valid datetime."],
            "user_id_in": ["Must be a comma-separated list of user ids."],
        },
    )
    empty = bulk_delete(api, admin_token, "")
    assert empty.json()["errors"] == {"_schema": ["At least one filter is required."]}
    own = bulk_delete(api, admin_token, f"user_id={ADMIN_ID}&role_id={role_id}")
    assert (own.status, own.json()["error"]["code"]) == (400, 130)
    missing = bulk_delete(api, admin_token, "user_id=2147483647")
    assert (missing.status, missing.body) == (404, NOT_FOUND)
    assert api("GET", f"/v1/user/{target}", token=admin_token).status == 200  # nothing was deleted


def test_auth_through_the_gateway(api, admin_token, create, login):
    now = int(time.time())
    expired = jwt.encode(
        {"user_id": ADMIN_ID, "iat": now - 120, "exp": now - 60}, DEMO_SECRET, algorithm="HS256"
    )
    response = api("GET", "/v1/user", token=expired)
    assert (response.status, response.json()["error"]["code"]) == (401, 112)
    forged = jwt.encode(
        {"user_id": ADMIN_ID, "exp": now + 60}, "not-the-secret-at-all-not-at-all", algorithm="HS256"
    )
    assert api("GET", "/v1/user", token=forged).json()["error"]["reason"] == "auth_token_invalid"

    name = f"agent-{uuid.uuid4().hex[:10]}"
    agent_id = create(name=name, passwd="agent-password", user_type="agent")
    agent = login(name, "agent-password", source="127.0.0.2")
    me = api("GET", "/v1/user", token=agent).json()["payload"]
    assert (me["user_id"], me["login_ip"], me["is_online"]) == (agent_id, "127.0.0.2", 1)
    refused = bulk_delete(api, agent, f"user_id={agent_id + 1}")
    assert refused.status == 403
    assert refused.json() == {
        "error_type": "forbidden_error",
        "success": False,
        "error": {
            "message": "Only admin has the permission for this operation",
            "code": 403,
            "reason": "permission_denied",
        },
    }
    assert api("DELETE", f"/v1/user/{agent_id}", token=admin_token).body == b'{"success": true}'
    assert api("GET", "/v1/user", token=agent).json()["error"]["code"] == 111


def test_two_concurrent_deletes_of_one_user_one_200_one_404(api, admin_token, create):
    for _ in range(5):
        target = create()
        responses = at_once(*[partial(bulk_delete, api, admin_token, f"user_id={target}")] * 2)
        outcomes = sorted((response.status, response.body) for response in responses)
        assert outcomes == [
            (200, b'{"success": true, "payload": {"deleted": 1, "updated": 0}}'),
            (404, NOT_FOUND),
        ]


def test_two_concurrent_single_deletes_one_200_one_404(api, admin_token, create):
    target = create()
    responses = at_once(*[partial(api, "DELETE", f"/v1/user/{target}", token=admin_token)] * 2)
    assert sorted(response.status for response in responses) == [200, 404]


def test_identical_concurrent_bulk_deletes_remove_each_user_once(api, admin_token, create, role_id):
    for _ in range(30):
        create(role_id=role_id)
    responses = at_once(*[partial(bulk_delete, api, admin_token, f"role_id={role_id}")] * 4)
    assert [response.status for response in responses] == [200] * 4, [response.text for response in responses]
    assert sum(response.json()["payload"]["deleted"] for response in responses) == 30
