"""Schemathesis against svc-wipe through a gateway of its own, with every check but one.

Each documented operation gets a bounded number of generated requests, schema-valid
ones and schema-violating ones; every answer must match the OpenAPI document
(status, content type, headers, schema), no answer may be a 5xx, methods the
document does not list must get 405, and schema-violating requests must be refused
with a 4xx. A generated login cookie is replaced by the system administrator's (and
its CSRF header sent), so requests reach the logic behind the checks; the gateway forwards them from loopback,
a policy host. Generated data is sent as-is (it reports wipe states, creates and
deletes users), so this runs on a database of its own.

Left out: ``positive_data_acceptance``, which wants every schema-valid request
answered 2xx. grommunio answers a well-formed request it cannot honour with 4xx
(an unknown user is 404, a wipe started without the right password 403, a
username that is no e-mail address 400); the document lists those refusals, and
the other checks hold them to it.
"""

from __future__ import annotations

import pytest

from svc_wipe.auth import CSRF_HEADER, TOKEN_COOKIE
from vendorkit.testing import http_request
from vendorkit.testing.fuzz import EveryOperationThroughGateway, refusing_vendor_checks

from .conftest import Login

pytestmark = pytest.mark.slow


class TestSchemathesis(EveryOperationThroughGateway):
    service = "wipe"

    def log_in(self, gateway_url: str) -> Login:
        """The system administrator's token pair, from the login form."""
        response = http_request(
            "POST",
            f"{gateway_url}/api/v1/login",
            body="user=admin&pass=admin-demo",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 200, response.text
        body = response.json()
        return Login(body["grommunioAuthJwt"], body["csrf"])

    def exercise(self, case, login: Login, mode) -> None:
        """The case with the administrator's login cookie (when it has one) and CSRF header."""
        if case.cookies and TOKEN_COOKIE in case.cookies:
            # A login cookie, so not the part made invalid: make it one the service issued.
            case.cookies[TOKEN_COOKIE] = login.token
        case.call_and_validate(
            headers={CSRF_HEADER: login.csrf}, excluded_checks=refusing_vendor_checks(mode)
        )
