"""Schemathesis against svc-emm through a gateway of its own, with every check but one.

Each documented operation gets a bounded number of generated requests, schema-valid
ones and schema-violating ones; every answer must match the OpenAPI document
(status, content type, headers, schema), no answer may be a 5xx, secured operations
must refuse requests without the token, methods the document does not list must
get 405, and schema-violating requests must be refused with a 4xx. Generated data
is sent as-is (it adds, updates and removes users), so this runs on a database of
its own.

Left out: ``positive_data_acceptance``, which wants every schema-valid request
answered 2xx. WSO2 EMM answers a well-formed request it cannot honour with 400
(`User by username: X does not exist for removal.`, `Old password does not
match.`, an unknown role); the document lists those 400s, and the other checks
hold them to it.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import assume

from vendorkit.testing import http_request
from vendorkit.testing.fuzz import EveryOperationThroughGateway, RenewingLogin, refusing_vendor_checks

pytestmark = pytest.mark.slow

# Operations that may set a password: generated data must not lock the admin out of the run.
PASSWORD_SETTERS = ("/mdm-admin/users", "/mdm-admin/users/reset-password")


def names_the_admin(case) -> bool:
    """Whether a generated request would set the admin's password (and so revoke the session)."""
    if case.operation.path not in PASSWORD_SETTERS or not isinstance(case.body, dict):
        return False
    username = case.body.get("username")
    return isinstance(username, str) and username.lower().removeprefix("primary/") == "admin"


# Schemathesis sends no empty path segment, the only invalid user filter: such operations are passed over.
class TestSchemathesis(EveryOperationThroughGateway):
    service = "emm"

    def log_in(self, gateway_url: str) -> RenewingLogin:
        """An admin access token, fetched again after a call that may have revoked it."""

        def access_token() -> dict[str, str]:
            response = http_request(
                "POST",
                f"{gateway_url}/oauth2/token",
                body=urlencode({"grant_type": "password", "username": "admin", "password": "admin-demo"}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert response.status == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access_token']}"}

        return RenewingLogin(access_token, lambda path: path == "/oauth2/revoke")

    def exercise(self, case, login: RenewingLogin, mode) -> None:
        """The case with the admin's token, unless it would set the admin's password."""
        assume(not names_the_admin(case))
        case.call_and_validate(headers=login.headers(), excluded_checks=refusing_vendor_checks(mode))
        login.after(case.operation.path)
