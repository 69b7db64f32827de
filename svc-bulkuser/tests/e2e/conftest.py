"""Fixtures of svc-bulkuser's end-to-end tests: the service on PostgreSQL behind the real gateway."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import pytest

from vendorkit.testing import HttpResult, http_request
from vendorkit.testing.openapi import check_result
from vendorkit.testing.suite import stack_fixtures

UNROUTED = "Unrouted"

# Role ids no demo user has: each test draws its own, so its users are its own.
_role_ids = itertools.count(7000 + uuid.uuid4().int % 1000 * 100)


bulkuser, bulkuser_openapi = stack_fixtures("bulkuser")


# Each test is its own client (127.0.0.10 and up), so the gateway's per-client
# rate limits never see one test's requests in another test's second.
_client_addresses = (f"127.0.0.{number}" for number in itertools.cycle(range(10, 250)))


def _through(stack, openapi, method: str, path: str, token: str | None, headers, **kwargs) -> HttpResult:
    """One request through the gateway; its answer must be one the service's document allows."""
    headers = dict(headers or {})
    if token is not None:
        headers["X-Auth-Token"] = token
    result = http_request(method, stack.url(path), headers=headers, **kwargs)
    return check_result(openapi, method, path, result, fallback_schema=UNROUTED)


@pytest.fixture
def api(stack, bulkuser_openapi) -> Callable[..., HttpResult]:
    """``api(method, path, token=..., json_body=..., source=...)`` through the gateway, from this test's address.

    Every answer is held to the service's OpenAPI document.
    """
    address = next(_client_addresses)

    def call(method: str, path: str, *, token: str | None = None, headers=None, **kwargs) -> HttpResult:
        kwargs.setdefault("source", address)
        return _through(stack, bulkuser_openapi, method, path, token, headers, **kwargs)

    return call


@pytest.fixture
def login(api) -> Callable[..., str]:
    """``login(name, password, source=...)``: a token from POST /v1/auth."""

    def token(name: str, password: str, **kwargs) -> str:
        response = api("POST", "/v1/auth", json_body={"email_or_name": name, "password": password}, **kwargs)
        assert response.status == 200, response.text
        return response.json()["payload"]["token"]

    return token


@pytest.fixture(scope="session")
def admin_token(stack, bulkuser_openapi) -> str:
    credentials = {"email_or_name": "admin", "password": "admin-demo"}
    response = _through(stack, bulkuser_openapi, "POST", "/v1/auth", None, None, json_body=credentials)
    assert response.status == 200, response.text
    return response.json()["payload"]["token"]


@pytest.fixture
def role_id() -> int:
    """A role id only this test's users have."""
    return next(_role_ids)


@pytest.fixture
def create(api, admin_token) -> Callable[..., int]:
    """``create(name=..., **fields)``: a new user's id (POST /v1/user/create)."""

    def make(**fields) -> int:
        fields.setdefault("name", f"e2e-{uuid.uuid4().hex[:12]}")
        response = api("POST", "/v1/user/create", token=admin_token, json_body=fields)
        assert response.status == 200, response.text
        return response.json()["object_id"]

    return make


@pytest.fixture
def listed(api, admin_token) -> Callable[[str], list[int]]:
    """``listed(query)``: the ids GET /v1/user/list returns for the filters in ``query``."""

    def ids(query: str) -> list[int]:
        response = api("GET", f"/v1/user/list?per_page=1000&{query}", token=admin_token)
        assert response.status == 200, response.text
        payload = response.json()["payload"]
        assert payload["total"] <= 1000
        return [item["user_id"] for item in payload["items"]]

    return ids
