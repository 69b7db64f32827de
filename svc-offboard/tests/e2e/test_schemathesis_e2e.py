"""Schemathesis against svc-offboard through a gateway of its own, with every check it has.

Each documented operation gets a few dozen generated requests, schema-valid
ones and schema-violating ones; every answer must match the OpenAPI document
(status, content type, headers, schema), no answer may be a 5xx, requests
without the token must be refused, methods the document does not list must get
405. Generated data is sent as-is, so this runs on a database of its own (it
creates and deletes users, logs out ...).

One check is left out for schema-violating requests: ``negative_data_rejection``
wants them refused with a 4xx, while Commvault (and cvpysdk, which reads
``errorCode`` from 200 answers) answers a request it understood but cannot
honour with HTTP 200 and ``errorCode`` 2; the document says so, and the other
checks hold those answers to it.
"""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from vendorkit.testing import http_request
from vendorkit.testing.fuzz import EveryOperationThroughGateway, RenewingLogin

from .conftest import API, b64

pytestmark = pytest.mark.slow


class TestSchemathesis(EveryOperationThroughGateway):
    service = "offboard"
    examples = 25
    # Only the operations under /webconsole/api: those under /commandcenter/api are the very same
    # views (tests/test_openapi.py holds both roots to one list of operations), so generating
    # requests for both would only double the run.
    operations = f"^{API}/"

    def log_in(self, gateway_url: str) -> RenewingLogin:
        """An admin token, fetched again after a call that may have ended it (Logout, RenewLoginToken)."""

        def token() -> dict[str, str]:
            response = http_request(
                "POST",
                f"{gateway_url}{API}/Login",
                json_body={"username": "admin", "password": b64("admin-demo")},
            )
            return {"Authtoken": response.json()["token"]}

        return RenewingLogin(
            token, lambda path: path.rstrip("/").lower().endswith(("/logout", "/renewlogintoken"))
        )

    def exercise(self, case, login: RenewingLogin, mode) -> None:
        """The case with the admin's token; errorCode 2 in a 200 is how Commvault refuses (see above)."""
        excluded = [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
        case.call_and_validate(headers=login.headers(), excluded_checks=excluded)
        login.after(case.operation.path)
