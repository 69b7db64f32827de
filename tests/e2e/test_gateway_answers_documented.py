"""What the gateway answers in front of each service is in that service's OpenAPI document.

A client generated from a service's document must understand every answer it
can get, the gateway's included: an over-long URL (414), over-large headers
(431), an over-large body (413), and the faults an emulator user injects
(rate limited, unavailable, bad gateway, timeout). Each answer below comes
through the real gateway and is held to the document of the route's service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from vendorkit.testing import HttpResult, http_request
from vendorkit.testing.openapi import check_response


@dataclass(frozen=True)
class Operation:
    """One documented operation of a route's service, callable without path parameters."""

    route: str
    method: str
    path: str
    accepts: tuple[str, ...]  # the Accept headers its vendor renders answers for


# An operation of each route that takes no path parameter, and the formats its vendor answers in.
OPERATIONS = {
    "wipe": Operation("wipe", "POST", "/api/v1/login", ("application/json",)),
    "bulkuser": Operation("bulkuser", "POST", "/v1/auth", ("application/json",)),
    "offboard": Operation(
        "offboard", "POST", "/webconsole/api/Login", ("application/json", "application/xml")
    ),
    "emm": Operation("emm", "POST", "/oauth2/token", ("application/json",)),
    "agenda": Operation("agenda", "POST", "/AktionNEXT/API/login", ("application/json", "application/xml")),
}
FAULTS = [
    {"action": "rate_limited", "retry_after": 2},
    {"action": "unavailable"},
    {"action": "bad_gateway"},
    {"action": "timeout", "delay_ms": 20},
]


@pytest.fixture(scope="module")
def documents(stack) -> dict[str, dict]:
    """Each route's service document, as the service itself serves it."""
    return {
        route: json.loads(http_request("GET", stack.start(route).url + "/openapi.json").body)
        for route in OPERATIONS
    }


@pytest.fixture
def fault(stack) -> Iterator:
    """``fault(**fields)`` creates a gateway fault; every fault is removed after the test."""

    def create(**fields) -> None:
        answer = http_request("POST", stack.url("/_gateway/faults"), json_body=fields)
        assert answer.status == 201, answer.text

    yield create
    http_request("DELETE", stack.url("/_gateway/faults"))


def held_to_document(document: dict, operation: Operation, answer: HttpResult, status: int) -> None:
    assert answer.status == status, answer.text
    check_response(
        document,
        operation.method,
        operation.path,
        answer.status,
        answer.headers["Content-Type"],
        answer.body,
    )


@pytest.mark.parametrize("route", OPERATIONS)
def test_the_gateways_http_refusals_are_documented(stack, documents, route):
    operation = OPERATIONS[route]
    for accept in operation.accepts:
        headers = {"Accept": accept}
        too_long = http_request(
            operation.method, stack.url(f"{operation.path}?q={'x' * 9000}"), headers=headers
        )
        held_to_document(documents[route], operation, too_long, 414)
        too_large = http_request(
            operation.method, stack.url(operation.path), headers={**headers, "X-Padding": "p" * 9000}
        )
        held_to_document(documents[route], operation, too_large, 431)


@pytest.mark.parametrize("route", OPERATIONS)
def test_an_over_large_body_is_refused_as_documented(stack, documents, route):
    operation = OPERATIONS[route]
    body = b"{" + b" " * (10 * 1024 * 1024 + 1) + b"}"
    answer = http_request(
        operation.method,
        stack.url(operation.path),
        headers={"Content-Type": "application/json", "Accept": operation.accepts[-1]},
        body=body,
    )
    held_to_document(documents[route], operation, answer, 413)


@pytest.mark.parametrize("route", OPERATIONS)
@pytest.mark.parametrize("fields", FAULTS, ids=[f["action"] for f in FAULTS])
def test_injected_faults_answer_as_documented(stack, documents, fault, route, fields):
    operation = OPERATIONS[route]
    for accept in operation.accepts:
        fault(route=route, path=operation.path, times=1, **fields)
        answer = http_request(operation.method, stack.url(operation.path), headers={"Accept": accept})
        assert answer.headers.get("X-Request-ID")
        expected = {"rate_limited": 429, "unavailable": 503, "bad_gateway": 502, "timeout": 504}[
            fields["action"]
        ]
        if route == "agenda" and fields["action"] == "rate_limited":
            expected = 401  # AKTION.NEXT refuses a rate-policy violation 401, Code 1008
        held_to_document(documents[route], operation, answer, expected)
        if fields["action"] == "rate_limited":
            assert answer.headers["Retry-After"] == "2"
