"""POST /v1/auth, the X-Auth-Token checks and the 403 for non-admins."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from svc_bulkuser import create_app
from svc_bulkuser.models import User
from vendorkit import db

DEMO_SECRET = "dnl-bulkuser-demo-secret"
ADMIN_ID, AGENT_ID = 1, 2

MISSING = (
    b'{"error_type": "unauthenticated_error", "success": false, "error": '
    b'{"message": "No header X-Auth-Token present", "code": 110, "reason": "auth_token_not_provided"}}'
)


def refusal(error_type: str, message: str, code: int, reason: str) -> dict:
    """A DNL error body, as the product writes it."""
    return {
        "error_type": error_type,
        "success": False,
        "error": {"message": message, "code": code, "reason": reason},
    }


INVALID = refusal("unauthenticated_error", "Invalid X-Auth-Token", 111, "auth_token_invalid")
EXPIRED = refusal("unauthenticated_error", "X-Auth-Token has expired", 112, "auth_token_expired")
BAD_CREDENTIALS = refusal(
    "unauthenticated_error", "Invalid email/name or password", 100, "invalid_credentials"
)
FORBIDDEN = refusal(
    "forbidden_error", "Only admin has the permission for this operation", 403, "permission_denied"
)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def signed(claims: dict, secret: str = DEMO_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def future() -> int:
    return int(datetime.now(UTC).timestamp()) + 3600


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": ""}])
def test_missing_token_gives_the_documents_body_byte_for_byte(client, headers):
    response = client.delete("/v1/user/all?role_id=3", headers=headers)
    assert response.status_code == 401
    assert response.content_type == "application/json"
    assert response.data == MISSING


def test_a_token_in_the_query_string_or_a_cookie_is_not_a_token(client, make_token):
    token = make_token(ADMIN_ID)
    client.set_cookie("X-Auth-Token", token)
    response = client.get(f"/v1/user?X-Auth-Token={token}&token={token}")
    assert (response.status_code, response.data) == (401, MISSING)


def test_header_name_is_case_insensitive(client, make_token):
    assert client.get("/v1/user", headers={"x-auth-token": make_token(ADMIN_ID)}).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "Bearer " + signed({"user_id": 1, "exp": 4102444800}),
        signed({"user_id": 1, "exp": 4102444800}, secret="another-secret-of-enough-length-32b"),
        signed({"user_id": 1, "exp": 4102444800}, algorithm="HS512"),
        b64({"alg": "none", "typ": "JWT"}) + "." + b64({"user_id": 1, "exp": 4102444800}) + ".",
        b64({"alg": "none", "typ": "JWT"}) + "." + b64({"user_id": 1, "exp": 4102444800}) + ".c2ln",
        signed({"exp": 4102444800}),
        signed({"user_id": "1", "exp": 4102444800}),
        signed({"user_id": True, "exp": 4102444800}),
        signed({"user_id": 1}),
        signed({"user_id": 1, "exp": "4102444800"}),
        signed({"user_id": 1, "exp": 4102444800.5}),
        signed({"user_id": 999, "exp": 4102444800}),
        signed({"user_id": 3, "exp": 4102444800}),  # agent2 is not active
    ],
)
def test_invalid_tokens_give_111(client, token):
    response = client.get("/v1/user", headers={"X-Auth-Token": token})
    assert response.status_code == 401
    assert response.json == INVALID


def test_expired_token_gives_112(client):
    token = signed({"user_id": ADMIN_ID, "iat": 1_700_000_000, "exp": 1_700_000_060})
    response = client.get("/v1/user", headers={"X-Auth-Token": token})
    assert (response.status_code, response.json) == (401, EXPIRED)


def test_an_expired_token_with_a_bad_signature_is_invalid_not_expired(client):
    token = signed({"user_id": ADMIN_ID, "exp": 1_700_000_060}, secret="another-secret-of-enough-length-32b")
    assert client.get("/v1/user", headers={"X-Auth-Token": token}).json == INVALID


def test_a_deleted_users_token_stops_working_at_once(client, admin_headers, make_token):
    agent = {"X-Auth-Token": make_token(AGENT_ID)}
    assert client.get("/v1/user", headers=agent).status_code == 200
    assert client.delete(f"/v1/user/{AGENT_ID}", headers=admin_headers).status_code == 200
    assert client.get("/v1/user", headers=agent).json == INVALID


def test_login_by_name_returns_a_token_and_the_user(client):
    response = client.post(
        "/v1/auth",
        json={"email_or_name": "admin", "password": "admin-demo", "remember": True},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["success", "payload"]
    assert list(body["payload"]) == ["token", "user_type", "user"]
    assert body["payload"]["user_type"] == "admin"
    user = body["payload"]["user"]
    assert user["user_id"] == ADMIN_ID
    assert user["login_ip"] == "203.0.113.9"  # the client behind the trusted proxy
    assert user["is_online"] == 1
    assert user["last_login_time"] == user["last_seen"]
    assert user["last_login_time"].endswith("Z") and len(user["last_login_time"]) == 20

    token = body["payload"]["token"]
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, DEMO_SECRET, algorithms=["HS256"])
    assert list(claims) == ["user_id", "iat", "exp"]
    assert claims["user_id"] == ADMIN_ID
    assert claims["exp"] == claims["iat"] + 86400
    me = client.get("/v1/user", headers={"X-Auth-Token": token})
    assert me.json["payload"]["name"] == "admin"


def test_login_by_email_with_the_configured_lifetime(tmp_path, demo_database):
    path = tmp_path / "ttl.db"
    path.write_bytes(demo_database.read_bytes())
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True, "TOKEN_TTL_SECONDS": 60})
    response = app.test_client().post(
        "/v1/auth", json={"email_or_name": "agent1@example.com", "password": "agent-demo"}
    )
    assert response.status_code == 200
    assert response.json["payload"]["user_type"] == "agent"
    claims = jwt.decode(response.json["payload"]["token"], DEMO_SECRET, algorithms=["HS256"])
    assert claims["exp"] == claims["iat"] + 60


@pytest.mark.parametrize(
    "credentials",
    [
        {"email_or_name": "admin", "password": "wrong"},
        {"email_or_name": "nobody", "password": "admin-demo"},
        {"email_or_name": "ADMIN", "password": "admin-demo"},
        {"email_or_name": "client1", "password": "anything"},  # has no password
        {"email_or_name": "ad\u0000min", "password": "admin-demo"},
    ],
)
def test_login_refusals_give_100(client, credentials):
    response = client.post("/v1/auth", json=credentials)
    assert (response.status_code, response.json) == (401, BAD_CREDENTIALS)


def test_login_of_an_inactive_user_with_the_right_password_gives_101(client, admin_headers):
    created = client.post(
        "/v1/user/create",
        json={"name": "sleeper", "passwd": "sleeper-pw", "active": False},
        headers=admin_headers,
    )
    assert created.status_code == 200
    response = client.post(
        "/v1/auth", json={"email_or_name": "sleeper", "passwd": "x", "password": "sleeper-pw"}
    )
    assert response.status_code == 401
    assert response.json == refusal("unauthenticated_error", "User is not active", 101, "user_not_active")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email_or_name": ["Missing data for required field."], "password": ["Missing data for required field."]}),
        ({"email_or_name": 5, "password": None}, {"email_or_name": ["Not a valid string."], "password": ["Not a valid string."]}),
        ({"email_or_name": "", "password": ""}, {"email_or_name": ["Field may not be empty."], "password": ["Field may not be empty."]}),
        ({"email_or_name": "admin"}, {"password": ["Missing data for required field."]}),
    ],
)  # fmt: skip
def test_login_validation(client, body, errors):
    response = client.post("/v1/auth", json=body)
    assert response.status_code == 400
    assert response.json == {"success": False, "error_type": "validation_error", "errors": errors}


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b'{"email_or_name": "admin"', "application/json", "Invalid JSON body."),
        (b"\xff\xfe", "application/json", "Invalid JSON body."),
        (b"", "application/json", "Invalid JSON body."),
        (b'{"email_or_name": "\\ud800", "password": "x"}', "application/json", "Invalid JSON body."),
        (b'["admin", "admin-demo"]', "application/json", "Invalid input type."),
        (b'"admin"', "application/json; charset=utf-8", "Invalid input type."),
        (b"email_or_name=admin&password=admin-demo", "application/x-www-form-urlencoded", "Content-Type must be application/json."),
        (b'{"email_or_name": "admin", "password": "admin-demo"}', None, "Content-Type must be application/json."),
        (b'{"pad": "' + b"x" * 65536 + b'"}', "application/json", "Request body too large."),
    ],
)  # fmt: skip
def test_login_body_problems(client, data, content_type, message):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/v1/auth", data=data, headers=headers)
    assert response.status_code == 400
    assert response.json == {
        "success": False,
        "error_type": "validation_error",
        "errors": {"_schema": [message]},
    }


def test_charset_is_allowed_on_json_bodies(client):
    response = client.post(
        "/v1/auth",
        data=json.dumps({"email_or_name": "admin", "password": "admin-demo"}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/user/all?role_id=3"),
        ("GET", "/v1/user/list"),
        ("POST", "/v1/user/create"),
        ("GET", f"/v1/user/{ADMIN_ID}"),
        ("DELETE", "/v1/user/4"),
    ],
)
def test_non_admins_get_403(client, agent_headers, method, path):
    response = client.open(path, method=method, headers=agent_headers, json={"name": "x"})
    assert (response.status_code, response.json) == (403, FORBIDDEN)


def test_anyone_authenticated_reads_itself(client, agent_headers):
    assert client.get("/v1/user", headers=agent_headers).json["payload"]["name"] == "agent1"
    assert client.get(f"/v1/user/{AGENT_ID}", headers=agent_headers).json["payload"]["name"] == "agent1"


def test_permission_uses_the_stored_type_not_the_token(client, add_users, make_token):
    [user_id] = add_users({"name": "promoted", "user_type": "agent"})
    headers = {"X-Auth-Token": make_token(user_id)}
    assert client.get("/v1/user/list", headers=headers).status_code == 403
    other = add_users({"name": "boss", "user_type": "admin"})[0]
    assert client.get("/v1/user/list", headers={"X-Auth-Token": make_token(other)}).status_code == 200


def test_check_order_token_then_permission_then_parameters(client, agent_headers, admin_headers):
    assert client.delete("/v1/user/all?rol_id=3").status_code == 401
    assert client.delete("/v1/user/all?rol_id=3", headers=agent_headers).status_code == 403
    response = client.delete("/v1/user/all?rol_id=3", headers=admin_headers)
    assert response.json["error_type"] == "attribute_not_exists"


def test_last_seen_is_refreshed_by_authenticated_requests(client, make_token):
    token = make_token(AGENT_ID)
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    payload = client.get("/v1/user", headers={"X-Auth-Token": token}).json["payload"]
    assert payload["is_online"] == 1
    seen = datetime.strptime(payload["last_seen"], "%Y-%m-%dT%H:%M:%SZ")
    assert before - timedelta(seconds=1) <= seen
    assert payload["last_login_time"] is None


def test_a_refused_request_still_counts_as_the_caller_being_seen(app, client, agent_headers):
    assert client.get("/v1/user/list", headers=agent_headers).status_code == 403
    with db.state(app).sessionmaker() as session:
        assert session.get(User, AGENT_ID).last_seen is not None
