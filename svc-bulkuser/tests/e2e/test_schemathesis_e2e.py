"""Schemathesis against svc-bulkuser through a gateway of its own, with every check but one.

Each documented operation gets a bounded number of generated requests, schema-valid
ones and schema-violating ones, sent with an admin's token; every answer must match
the OpenAPI document (status, content type, headers, schema), no answer may be a
5xx, secured operations must refuse requests without the token, methods the
document does not list must get 405, and schema-violating requests must be refused
with a 4xx. Generated data is sent as-is (it creates users and deletes them, the
admin caller excepted), so this runs on a database of its own.

Left out: ``positive_data_acceptance``, which wants every schema-valid request
answered 2xx. DNL answers a well-formed request it cannot honour with a 4xx: a
name or email already taken (400), an id no user has (404), the caller's own id
(400, code 130), an impossible date such as 2024-02-30 (400); the document lists
those, and the other checks hold them to it.
"""

from __future__ import annotations

import pytest

from vendorkit.testing import http_request
from vendorkit.testing.fuzz import EveryOperationThroughGateway, refusing_vendor_checks

pytestmark = pytest.mark.slow


class TestSchemathesis(EveryOperationThroughGateway):
    service = "bulkuser"

    def log_in(self, gateway_url: str) -> dict[str, str]:
        """An admin's token header (the admin is never deleted: it is the caller)."""
        credentials = {"email_or_name": "admin", "password": "admin-demo"}
        response = http_request("POST", f"{gateway_url}/v1/auth", json_body=credentials)
        assert response.status == 200, response.text
        return {"X-Auth-Token": response.json()["payload"]["token"]}

    def exercise(self, case, login: dict[str, str], mode) -> None:
        """The case with the admin's token."""
        case.call_and_validate(headers=login, excluded_checks=refusing_vendor_checks(mode))
