"""Login (JWT + CSRF pair, refresh by cookie), token problems, profile and domains."""

import base64
import hashlib
import time

import jwt
import pytest

LOGIN = "/api/v1/login"
PROFILE = "/api/v1/profile"
LOGIN_FAILED = {"message": "Login failed", "error": "Invalid username or password"}


def _csrf(token: str) -> str:
    return base64.b64encode(hashlib.sha3_256(token.encode()).digest()).decode()


# -- login -------------------------------------------------------------------------------------


def test_login_returns_a_jwt_and_its_csrf_token(app, remote):
    before = int(time.time())
    response = remote.post(LOGIN, data={"user": "admin", "pass": "admin-demo"})
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = response.json
    assert list(body) == ["grommunioAuthJwt", "csrf"]
    token = body["grommunioAuthJwt"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, app.config["SECRET_KEY"], algorithms=["HS256"])
    assert claims["usr"] == "admin"
    assert before + 604800 <= claims["exp"] <= int(time.time()) + 604800
    assert body["csrf"] == _csrf(token)
    assert "Set-Cookie" not in response.headers


def test_login_token_lifetime_is_configurable(tmp_path, make_app):
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path}/t.db", "DEMO_DATA": True, "JWT_EXPIRES_AFTER": 60})
    token = (
        app.test_client().post(LOGIN, data={"user": "admin", "pass": "admin-demo"}).json["grommunioAuthJwt"]
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] <= int(time.time()) + 60


def test_login_username_is_case_insensitive(remote):
    response = remote.post(LOGIN, data={"user": "HelpDesk@Example.com", "pass": "helpdesk-demo"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("user", "password"),
    [("admin", "wrong"), ("admin", "ADMIN-DEMO"), ("nobody", "admin-demo"), ("", ""), ("admin", "")],
)
def test_wrong_credentials(remote, user, password):
    response = remote.post(LOGIN, data={"user": user, "pass": password})
    assert response.status_code == 401
    assert response.json == LOGIN_FAILED


def test_user_without_role_may_not_log_in(remote):
    response = remote.post(LOGIN, data={"user": "alice@example.com", "pass": "alice-demo"})
    assert response.status_code == 401
    assert response.json == {"message": "Login failed", "error": "Access denied"}


def test_wrong_password_of_a_user_without_role_is_a_plain_failure(remote):
    response = remote.post(LOGIN, data={"user": "alice@example.com", "pass": "nope"})
    assert response.json == LOGIN_FAILED


@pytest.mark.parametrize("form", [{}, {"user": "admin"}, {"pass": "admin-demo"}])
def test_incomplete_form_without_cookie(remote, form):
    response = remote.post(LOGIN, data=form)
    assert response.status_code == 400
    assert response.json == {"message": "Incomplete login form"}


def test_incomplete_form_with_a_valid_cookie_refreshes(app, remote, make_token):
    remote.set_cookie("grommunioAuthJwt", make_token("helpdesk@example.com", lifetime=30))
    response = remote.post(LOGIN)  # no body at all, no CSRF header: refresh
    assert response.status_code == 200
    body = response.json
    assert list(body) == ["grommunioAuthJwt", "csrf"]
    claims = jwt.decode(body["grommunioAuthJwt"], app.config["SECRET_KEY"], algorithms=["HS256"])
    assert claims["usr"] == "helpdesk@example.com"
    assert claims["exp"] > int(time.time()) + 604000
    assert body["csrf"] == _csrf(body["grommunioAuthJwt"])


@pytest.mark.parametrize("cookie", ["garbage", "expired", "unknown-user"])
def test_incomplete_form_with_an_invalid_cookie(remote, make_token, cookie):
    token = {
        "garbage": "garbage",
        "expired": make_token("admin", lifetime=-5),
        "unknown-user": make_token("ghost@example.com"),
    }[cookie]
    remote.set_cookie("grommunioAuthJwt", token)
    response = remote.post(LOGIN, data={"user": "admin"})
    assert response.status_code == 400
    assert response.json == {"message": "Incomplete login form"}


def test_login_body_must_be_a_form(remote):
    response = remote.post(LOGIN, json={"user": "admin", "pass": "admin-demo"})
    assert response.status_code == 400
    assert response.json["message"] == "Bad Request"
    assert response.json["errors"]


def test_multipart_form_is_fine(remote):
    response = remote.post(
        LOGIN, data={"user": "admin", "pass": "admin-demo"}, content_type="multipart/form-data"
    )
    assert response.status_code == 200


def test_login_get_is_405(remote):
    response = remote.get(LOGIN)
    assert response.status_code == 405
    assert response.json == {"message": "Method 'GET' not allowed on this endpoint"}


def test_issued_token_works_with_its_csrf(remote):
    body = remote.post(LOGIN, data={"user": "admin", "pass": "admin-demo"}).json
    remote.set_cookie("grommunioAuthJwt", body["grommunioAuthJwt"])
    response = remote.post(
        "/api/v1/service/wipe/alice@example.com", json={"status": 1}, headers={"X-Csrf-Token": body["csrf"]}
    )
    assert response.status_code == 201


# -- token problems on a login-required endpoint -----------------------------------------------


def _denied(reason):
    return {"message": "Access denied", "error": reason}


def _token(app, claims, *, key=None, algorithm="HS256"):
    return jwt.encode(claims, key or app.config["SECRET_KEY"], algorithm=algorithm)


def test_no_token(remote):
    response = remote.get(PROFILE)
    assert response.status_code == 401
    assert response.json == _denied("No token provided")


def test_empty_cookie_is_no_token(remote):
    remote.set_cookie("grommunioAuthJwt", "")
    assert remote.get(PROFILE).json == _denied("No token provided")


def test_expired_token(app, remote):
    remote.set_cookie("grommunioAuthJwt", _token(app, {"usr": "admin", "exp": int(time.time()) - 1}))
    assert remote.get(PROFILE).json == _denied("Token has expired")


def test_wrong_key(app, remote):
    remote.set_cookie("grommunioAuthJwt", _token(app, {"usr": "admin", "exp": 2**31}, key="another-key-" * 4))
    assert remote.get(PROFILE).json == _denied("Invalid token signature")


@pytest.mark.parametrize("kind", ["none", "HS512", "no-exp", "exp-string", "garbage", "two-parts"])
def test_invalid_tokens(app, remote, kind):
    claims = {"usr": "admin", "exp": 2**31}
    if kind == "none":
        header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        payload = base64.urlsafe_b64encode(b'{"usr":"admin","exp":9999999999}').rstrip(b"=").decode()
        token = f"{header}.{payload}."
    elif kind == "HS512":
        token = _token(app, claims, key=app.config["SECRET_KEY"] * 2, algorithm="HS512")
    elif kind == "no-exp":
        token = _token(app, {"usr": "admin"})
    elif kind == "exp-string":
        token = _token(app, {"usr": "admin", "exp": "tomorrow"})
    elif kind == "garbage":
        token = "not.a.token"
    else:
        token = "abc.def"
    remote.set_cookie("grommunioAuthJwt", token)
    response = remote.get(PROFILE)
    assert response.status_code == 401
    assert response.json == _denied("invalid token")


def test_unknown_user(app, remote):
    remote.set_cookie("grommunioAuthJwt", _token(app, {"usr": "ghost@example.com", "exp": 2**31}))
    assert remote.get(PROFILE).json == _denied("Invalid user")
    remote.set_cookie("grommunioAuthJwt", _token(app, {"exp": 2**31}))
    assert remote.get(PROFILE).json == _denied("Invalid user")


def test_other_claims_are_ignored_and_usr_matches_case_insensitively(app, remote):
    claims = {"usr": "ADMIN", "exp": 2**31, "iss": "someone", "aud": "anyone", "nbf": 0, "x": [1]}
    remote.set_cookie("grommunioAuthJwt", _token(app, claims))
    assert remote.get(PROFILE).status_code == 200


def test_token_of_a_deleted_user_becomes_invalid(admin, remote, log_in):
    log_in(remote, "bob@example.org")
    assert admin.delete("/api/v1/domains/2/users/4", headers=admin.csrf).status_code == 200
    assert remote.get(PROFILE).json == _denied("Invalid user")


def test_non_get_needs_the_csrf_header(remote, log_in):
    csrf = log_in(remote, "admin")
    for headers in ({}, {"X-Csrf-Token": "bm9wZQ=="}, {"X-Csrf-Token": csrf["X-Csrf-Token"].rstrip("=")}):
        response = remote.post("/api/v1/domains/1/users", json={"username": "x"}, headers=headers)
        assert response.status_code == 401
        assert response.json == _denied("Invalid or missing CSRF token")
    assert remote.post("/api/v1/domains/1/users", json={"username": "x"}, headers=csrf).status_code == 201


def test_token_problem_before_csrf_problem(app, remote):
    remote.set_cookie("grommunioAuthJwt", _token(app, {"usr": "admin", "exp": 1}))
    response = remote.post("/api/v1/domains/1/users", json={"username": "x"})
    assert response.json == _denied("Token has expired")


# -- profile and domains -----------------------------------------------------------------------


def test_profile_of_the_system_administrator(admin):
    response = admin.get(PROFILE)
    assert response.status_code == 200
    body = response.json
    assert body["user"] == {
        "ID": 0,
        "username": "admin",
        "domainID": 0,
        "status": 0,
        "realName": "Administrator",
    }
    assert "SystemAdminWrite" in body["capabilities"]
    assert "password" not in str(body).lower()


def test_profile_of_a_read_only_domain_admin(remote, log_in):
    log_in(remote, "helpdesk@example.com")
    body = remote.get(PROFILE).json
    assert body["user"] == {
        "ID": 1,
        "username": "helpdesk@example.com",
        "domainID": 1,
        "status": 0,
        "realName": "Helpdesk",
    }
    assert "DomainAdminRead" in body["capabilities"]
    assert "SystemAdminWrite" not in body["capabilities"]
    assert "DomainAdminWrite" not in body["capabilities"]


def test_policy_hosts_get_no_exemption_outside_the_wipe_endpoints(client):
    response = client.get(PROFILE)
    assert response.status_code == 401
    assert response.json == _denied("No token provided")
    assert client.get("/api/v1/domains").status_code == 401


def test_domains_of_the_system_administrator(admin):
    response = admin.get("/api/v1/domains")
    assert response.status_code == 200
    assert response.json == {
        "data": [{"ID": 1, "domainname": "example.com"}, {"ID": 2, "domainname": "example.org"}],
        "count": 2,
    }


def test_domains_of_a_domain_admin(remote, log_in):
    log_in(remote, "helpdesk@example.com")
    assert remote.get("/api/v1/domains").json == {
        "data": [{"ID": 1, "domainname": "example.com"}],
        "count": 1,
    }
