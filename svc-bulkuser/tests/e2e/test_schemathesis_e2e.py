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
from schemathesis import GenerationMode

from vendorkit.testing import http_request
from vendorkit.testing.fuzz import (
    examples_per_operation,
    fuzz_every_operation,
    gateway_schema,
    refusing_vendor_checks,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES_PER_OPERATION = examples_per_operation(10)


@pytest.fixture(scope="module")
def fuzzed(stack, tmp_path_factory):
    """The gateway of a private svc-bulkuser, and an admin's token (the admin is never deleted: it is the caller)."""
    workdir = tmp_path_factory.mktemp("bulkuser-fuzz")
    with stack.private("bulkuser", workdir, "bulkuser_fuzz") as (service, gateway):
        login = http_request(
            "POST", f"{gateway.url}/v1/auth", json_body={"email_or_name": "admin", "password": "admin-demo"}
        )
        assert login.status == 200, login.text
        yield service, gateway, {"X-Auth-Token": login.json()["payload"]["token"]}


@pytest.fixture(scope="module")
def bulkuser_schema(fuzzed):
    """svc-bulkuser's OpenAPI document, as the service itself serves it, aimed at its gateway."""
    service, gateway, _ = fuzzed
    return gateway_schema(service.url, gateway.url)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
def test_every_operation_answers_as_documented(bulkuser_schema, fuzzed, mode):
    _, _, admin = fuzzed
    excluded = refusing_vendor_checks(mode)

    def exercise(case):
        case.call_and_validate(headers=admin, excluded_checks=excluded)

    failures = fuzz_every_operation(bulkuser_schema, mode, exercise, examples=EXAMPLES_PER_OPERATION)
    assert not failures, "\n\n".join(failures)
