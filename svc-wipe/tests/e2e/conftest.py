"""Fixtures of svc-wipe's end-to-end tests: the service on PostgreSQL behind the real gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from vendorkit.testing import HttpResult, http_request
from vendorkit.testing.openapi import check_result
from vendorkit.testing.suite import stack_fixtures

OTHER_HOST = "127.0.0.2"  # another loopback address: not a policy host


@dataclass(frozen=True)
class Login:
    token: str
    csrf: str

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"grommunioAuthJwt={self.token}"}
        if csrf:
            headers["X-Csrf-Token"] = self.csrf
        return headers


wipe, wipe_openapi = stack_fixtures("wipe")


@pytest.fixture(scope="session")
def api(stack, wipe_openapi) -> Callable[..., HttpResult]:
    """``api(method, path, login=..., source=..., ...)`` through the gateway; every answer is held to the document."""

    def call(method: str, path: str, *, login: Login | None = None, headers=None, **kwargs) -> HttpResult:
        headers = {**(login.headers() if login else {}), **(headers or {})}
        result = http_request(method, stack.url(path), headers=headers, **kwargs)
        return check_result(wipe_openapi, method, path, result, fallback_schema="Message")

    return call


@pytest.fixture(scope="session")
def log_in(api) -> Callable[..., HttpResult]:
    """``log_in(user, password, source=...)``: POST /api/v1/login with the form grommunio's web client sends."""

    def post(user: str, password: str, **kwargs) -> HttpResult:
        form = urlencode({"user": user, "pass": password})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return api("POST", "/api/v1/login", body=form, headers=headers, **kwargs)

    return post


@pytest.fixture(scope="session")
def admin(log_in) -> Login:
    """The system administrator, logged in from another host."""
    response = log_in("admin", "admin-demo", source=OTHER_HOST)
    assert response.status == 200, response.text
    body = response.json()
    return Login(body["grommunioAuthJwt"], body["csrf"])


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    password: str


@pytest.fixture
def account(api, admin) -> Account:
    """A user of domain 1 only this test uses (the database is shared with other tests)."""
    password = uuid.uuid4().hex
    response = api(
        "POST",
        "/api/v1/domains/1/users",
        login=admin,
        json_body={"username": f"e2e-{uuid.uuid4().hex[:12]}", "password": password},
        source=OTHER_HOST,
    )
    assert response.status == 201, response.text
    body = response.json()
    return Account(body["ID"], body["username"], password)


@pytest.fixture
def sync_of(api, admin) -> Callable[[Account], dict]:
    """The device-sync read endpoint for an account, by device ID."""

    def read(owner: Account) -> dict:
        response = api("GET", f"/api/v1/domains/1/users/{owner.id}/sync", login=admin, source=OTHER_HOST)
        assert response.status == 200, response.text
        return {entry["deviceid"]: entry for entry in response.json()["data"]}

    return read
