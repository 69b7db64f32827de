"""The gateway's answers in each dialect, described for the services' OpenAPI documents."""

from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS30Validator
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from vendorkit.dialects import DIALECT_NAMES, Refusal, get_dialect
from vendorkit.dialects.openapi import (
    HTTP_REFUSALS,
    POLICY_REFUSALS,
    add_gateway_responses,
    gateway_responses,
    schema_of,
)
from vendorkit.xmlsafe import parse_xml


def request_accepting(accept: str | None) -> Request:
    return Request(EnvironBuilder(path="/", headers={"Accept": accept} if accept else {}).get_environ())


def answers_of(dialect_name: str):
    """Every answer the gateway gives in the dialect, as a client asking JSON or XML sees it."""
    dialect = get_dialect(dialect_name)
    for accept in (None, "application/json", "application/xml", "text/xml"):
        request = request_accepting(accept)
        for kind in POLICY_REFUSALS:
            yield dialect.refusal(kind, request, client_ip="198.51.100.1", method="DELETE", message=None)
        for status in HTTP_REFUSALS:
            yield dialect.generic_error(status, "any text at all", request)


@pytest.mark.parametrize("dialect_name", DIALECT_NAMES)
def test_every_answer_of_the_gateway_fits_its_documented_status_and_schema(dialect_name):
    documented = gateway_responses(get_dialect(dialect_name))
    for response in answers_of(dialect_name):
        answer = documented[response.status_code]
        media = response.content_type.split(";")[0]
        schema = answer["content"][media]["schema"]
        if media.endswith("json"):
            errors = list(OAS30Validator(schema).iter_errors(json.loads(response.get_data())))
            assert not errors, (response.status_code, errors[0].message)
        else:
            roots = [option["xml"]["name"] for option in schema.get("anyOf", [schema])]
            assert parse_xml(response.get_data()).tag in roots


@pytest.mark.parametrize("dialect_name", DIALECT_NAMES)
def test_the_rate_limit_answer_documents_retry_after(dialect_name):
    dialect = get_dialect(dialect_name)
    status = dialect.refusal(Refusal.RATE_LIMITED, request_accepting(None)).status_code
    assert "Retry-After" in gateway_responses(dialect)[status]["headers"]


def test_a_status_the_vendor_shares_with_the_gateway_admits_both_bodies():
    # AKTION answers a rate limit and an IP refusal 401, like a wrong key.
    own = {
        "description": "Unknown UserLogin or wrong key",
        "content": {"application/json": {"schema": {"$ref": "#/x"}}},
    }
    responses = add_gateway_responses({401: own, 200: {"description": "OK"}}, get_dialect("aktion"))
    assert responses[401]["description"].startswith("Unknown UserLogin or wrong key Answered by the gateway:")
    alternatives = responses[401]["content"]["application/json"]["schema"]["anyOf"]
    assert alternatives[0] == {"$ref": "#/x"}
    codes = {option["properties"]["Result"]["properties"]["Code"]["enum"][0] for option in alternatives[1:]}
    assert codes == {1006, 1008}  # the IP filter's and the rate policy's
    assert responses[200] == {"description": "OK"}
    assert {429, 502, 503, 504} - set(responses) == {429}  # AKTION has no 429: its rate limit is a 401


def test_schemas_describe_shapes_not_values():
    assert schema_of({"a": 1, "b": [None], "c": {"d": "x"}}) == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "enum": [1]},
            "b": {"type": "array", "items": {"nullable": True, "enum": [None]}},
            "c": {"type": "object", "properties": {"d": {"type": "string"}}, "required": ["d"]},
        },
        "required": ["a", "b", "c"],
    }


def test_a_body_the_operation_already_admits_adds_no_alternative():
    components = {
        "schemas": {
            "Message": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            }
        }
    }
    own = {
        "description": "Not logged in",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}},
    }
    responses = add_gateway_responses({403: own}, get_dialect("grommunio"), components)
    assert responses[403]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Message"}
    assert "IP filter" in responses[403]["description"]
