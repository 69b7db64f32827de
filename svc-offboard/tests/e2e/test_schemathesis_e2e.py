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
from vendorkit.testing.fuzz import RenewingLogin, examples_per_operation, fuzz_every_operation, gateway_schema

from .conftest import API, b64

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES_PER_OPERATION = examples_per_operation(25)


def admin_login(base_url: str) -> RenewingLogin:
    """An admin token, fetched again after a call that may have ended it (Logout, RenewLoginToken)."""

    def log_in() -> dict[str, str]:
        response = http_request(
            "POST",
            f"{base_url}{API}/Login",
            json_body={"username": "admin", "password": b64("admin-demo")},
        )
        return {"Authtoken": response.json()["token"]}

    return RenewingLogin(
        log_in, lambda path: path.rstrip("/").lower().endswith(("/logout", "/renewlogintoken"))
    )


@pytest.fixture(scope="module")
def fuzzed(stack, tmp_path_factory):
    """The gateway of a private svc-offboard, and its admin session."""
    workdir = tmp_path_factory.mktemp("fuzz-gateway")
    with stack.private("offboard", workdir, "offboard_fuzz") as (service, gateway):
        yield service, gateway, admin_login(gateway.url)


@pytest.fixture(scope="module")
def offboard_schema(fuzzed):
    """svc-offboard's OpenAPI document, as the service itself serves it, aimed at its gateway.

    Only the operations under /webconsole/api: those under /commandcenter/api are
    the very same views (tests/test_openapi.py holds both roots to one list of
    operations), so generating requests for both would only double the run.
    """
    service, gateway, _ = fuzzed
    return gateway_schema(service.url, gateway.url).include(path_regex=f"^{API}/")


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_every_operation_answers_as_documented(offboard_schema, fuzzed, mode):
    _, _, session = fuzzed
    excluded = [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []

    def exercise(case):
        case.call_and_validate(headers=session.headers(), excluded_checks=excluded)
        session.after(case.operation.path)

    failures = fuzz_every_operation(offboard_schema, mode, exercise, examples=EXAMPLES_PER_OPERATION)
    assert not failures, "\n\n".join(failures)
