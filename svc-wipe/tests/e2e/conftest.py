"""Fixtures of svc-wipe's end-to-end tests: the service on PostgreSQL behind the real gateway."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from vendorkit.testing import HttpResult, ServerProcess, http_request
from vendorkit.testing.openapi import check_response

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


@pytest.fixture(scope="session")
def wipe(stack) -> ServerProcess:
    return stack.start("wipe")


def openapi_of(service: ServerProcess) -> dict:
    """The OpenAPI document a running svc-wipe serves."""
    response = http_request("GET", f"{service.url}/openapi.json", timeout=20)
    assert response.status == 200, response.text
    return response.json()


@pytest.fixture(scope="session")
def wipe_openapi(wipe) -> dict:
    """The OpenAPI document of the stack's svc-wipe."""
    return openapi_of(wipe)


@pytest.fixture(scope="session")
def api(stack, wipe, wipe_openapi) -> Callable[..., HttpResult]:
    """``api(method, path, login=..., source=..., ...)`` through the gateway; every answer is held to the document."""

    def call(method: str, path: str, *, login: Login | None = None, headers=None, **kwargs) -> HttpResult:
        headers = {**(login.headers() if login else {}), **(headers or {})}
        result = http_request(method, stack.url(path), headers=headers, **kwargs)
        if method.upper() != "HEAD":
            check_response(
                wipe_openapi,
                method,
                path.split("?", 1)[0],
                result.status,
                result.headers["Content-Type"],
                result.body,
                fallback_schema="Message",
            )
        return result

    return call


@pytest.fixture(scope="session")
def admin(api) -> Login:
    """The system administrator, logged in from another host."""
    response = api(
        "POST",
        "/api/v1/login",
        body="user=admin&pass=admin-demo",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        source=OTHER_HOST,
    )
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
