"""Fixtures of svc-emm's end-to-end tests: the service on PostgreSQL behind the real gateway, mailing to aiosmtpd."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from vendorkit.testing import HttpResult, ServerProcess, http_request
from vendorkit.testing.openapi import check_result, served_openapi


@pytest.fixture(scope="session")
def emm(stack, smtp_server) -> ServerProcess:
    """svc-emm started by the stack with MAIL_* pointing at the test SMTP server."""
    mail_env = {"MAIL_HOST": smtp_server.host, "MAIL_PORT": str(smtp_server.port), "MAIL_TIMEOUT": "5"}
    started = stack.start("emm", **mail_env)  # restarted if another suite started it without them
    # Through the gateway, the first calls after a restart may meet pooled connections to the
    # old process: wait until the route answers as the service does (401 without a token).
    deadline = time.monotonic() + 10
    while http_request("GET", stack.url("/mdm-admin/users/count")).status != 401:
        if time.monotonic() > deadline:
            raise RuntimeError("svc-emm does not answer through the gateway")
        time.sleep(0.1)
    return started


@pytest.fixture(scope="session")
def emm_openapi(emm) -> dict:
    """The OpenAPI document of the stack's svc-emm."""
    return served_openapi(emm.url)


@pytest.fixture(scope="session")
def api(stack, emm, emm_openapi) -> Callable[..., HttpResult]:
    """``api(method, path, token=..., json_body=..., body=..., headers=...)`` through the gateway.

    Every answer is held to the service's OpenAPI document.
    """

    # The demo gateway limits each client address to 100 requests a second per route; these
    # tests can go faster than that, so they spread their calls over loopback addresses.
    sources = itertools.cycle([f"127.0.0.{n}" for n in range(2, 200)])

    def call(method: str, path: str, *, token: str | None = None, headers=None, **kwargs) -> HttpResult:
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        result = http_request(method, stack.url(path), headers=headers, source=next(sources), **kwargs)
        return check_result(emm_openapi, method, path, result, fallback_schema="ResponsePayload")

    return call


@pytest.fixture(scope="session")
def login(api) -> Callable[..., HttpResult]:
    """``login(username, password, **form)``: the password grant through the gateway."""

    def grant(username: str, password: str, **form: str) -> HttpResult:
        fields = {"grant_type": "password", "username": username, "password": password, **form}
        return api(
            "POST",
            "/oauth2/token",
            body=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    return grant


@pytest.fixture(scope="session")
def admin_token(login) -> str:
    response = login("admin", "admin-demo")
    assert response.status == 200, response.body
    return response.json()["access_token"]
