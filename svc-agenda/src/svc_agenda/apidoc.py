"""The OpenAPI description of svc-agenda's operations: parameters, bodies and every status each answers.

Each view carries ``@operation(...)`` above its ``@declare``: the declared
caller decides the Token parameter, the security and the token's refusals,
the declared body formats and the view's ``@blp.arguments`` its body and
query parameters, its ``@blp.response`` the success and the schema that dumps
it, so the document is derived from the code that answers.
Each response names the result codes it carries (``Result.Code``), in JSON and
in XML under the root element ``Response``; request bodies are JSON or XML
under the root element ``Request``. What the gateway in front may answer
(413, 502 to 504, ...) is added to every operation by the service factory
(vendorkit.dialects.openapi), in the same envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import OpenAPIConverter
from marshmallow import Schema

from svc_agenda import errors, schemas
from vendorkit.apidoc import View, declared_arguments, declared_success, documenting
from vendorkit.endpoints import Endpoint

TITLE = "AKTION.NEXT web API (users)"

BASE = schemas.BaseRespSchema
XML_REQUEST_ROOT = "Request"
XML_RESPONSE_ROOT = "Response"
JSON_TYPES = ("application/json", "text/json")
XML_TYPES = ("application/xml", "text/xml")

SECURITY_SCHEMES = {
    "Token": {
        "type": "apiKey",
        "in": "query",
        "name": "Token",
        "description": "The token of POST login (a GUID, valid for AGENDA_TOKEN_TTL_SECONDS after issue)",
    }
}

TOKEN_PARAMETER = {
    "name": "Token",
    "in": "query",
    "required": True,
    "description": "The token of POST login; missing or not a hyphenated GUID: 400/1002",
    "schema": {"type": "string", "pattern": schemas.GUID_PATTERN},
}
TOKEN_REFUSALS = [
    errors.TOKEN_NOT_FOUND,
    errors.TOKEN_EXPIRED,
    errors.IP_FILTER_VIOLATED,
    errors.IP_FILTER_BROKEN,
    errors.RATE_POLICY_VIOLATED,
]


# Describes a query schema's fields as parameters; none of them refers to a component schema.
_QUERY = OpenAPIConverter(openapi_version="3.0.3", schema_name_resolver=lambda _schema: None, spec=None)


def query_parameters(schema: type[Schema]) -> list[dict[str, Any]]:
    """The query parameters ``schema`` binds, with their constraints (listed by hand beside the Token:
    an operation's own ``parameters`` replace the ones flask-smorest derives from ``@blp.arguments``)."""
    parameters = _QUERY.schema2parameters(schema, location="query")
    for parameter in parameters:
        if not parameter["required"]:
            del parameter["required"]  # the default
    return parameters


def _with_codes(schema: Schema | type[Schema], codes: list[int]) -> dict[str, Any]:
    """``schema`` with ``Result.Code`` held to ``codes``."""
    code = {"type": "integer", "enum": codes}
    return {
        "allOf": [
            schema,
            {"type": "object", "properties": {"Result": {"type": "object", "properties": {"Code": code}}}},
        ]
    }


def in_json_and_xml(schema: Schema | type[Schema] | dict[str, Any], description: str) -> dict[str, Any]:
    """A response whose body is ``schema`` in JSON or in XML (root ``Response``)."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "application/xml": {"schema": {"allOf": [schema], "xml": {"name": XML_RESPONSE_ROOT}}},
        },
    }


def response(schema: Schema | type[Schema], codes: list[int], description: str) -> dict[str, Any]:
    """A response in JSON or in XML (root ``Response``) whose Result.Code is one of ``codes``."""
    return in_json_and_xml(_with_codes(schema, codes), f"{description} (Code {', '.join(map(str, codes))})")


def request_body(schema: type[Schema]) -> dict[str, Any]:
    """A request body in JSON or in XML under the root element ``Request`` (text/* aliases too)."""
    xml = {"allOf": [schema], "xml": {"name": XML_REQUEST_ROOT}}
    return {
        "required": True,
        "description": "JSON, or XML whose root element is `Request`; a charset other than UTF-8 is 415",
        "content": {
            **{media: {"schema": schema} for media in JSON_TYPES},
            **{media: {"schema": xml} for media in XML_TYPES},
        },
    }


UNEXPECTED = response(BASE, [errors.DB_FAILED], "Unexpected failure")
UNSUPPORTED_MEDIA = response(BASE, [errors.UNSUPPORTED_MEDIA], "Content-Type neither JSON nor XML")
LOGIN_REFUSALS = {
    400: response(BASE, [errors.BINDING_FAILED], "UserLogin or ApiKey missing, blank or too long"),
    401: response(
        schemas.LoginFailureSchema,
        [errors.LOGIN_UNKNOWN, errors.KEY_REVOKED, errors.IP_FILTER_VIOLATED, errors.RATE_POLICY_VIOLATED],
        "Unknown UserLogin or wrong key (1003), revoked key (1004); the gateway's IP or rate limits",
    ),
    403: response(BASE, [errors.DB_FAILED], "The database is unavailable"),
}


def operation(
    *,
    envelope: type[Schema] = BASE,
    forbidden: Sequence[int] = (),
    not_found: bool = False,
    refusals: dict[int, dict[str, Any]] | None = None,
) -> Callable[[View], View]:
    """Document a view's operation: its success, and every refusal it can answer.

    Applied above ``@declare``, ``@blp.arguments`` and ``@blp.response``. The
    success is the response's schema in JSON and XML; an envelope's with Code 0.
    A token endpoint gets the Token parameter and its refusals, its query
    parameters and a 403 whose ``envelope`` (echoing its request from the
    privilege check on) carries the result codes ``forbidden``, and those of the
    licence check and a database failure, which every token endpoint makes; a
    view that declares body formats documents its body in JSON and XML, and 415.
    ``refusals`` adds or replaces other statuses.
    """

    def describe(view: Callable[..., Any], endpoint: Endpoint) -> dict[str, Any]:
        arguments = {argument["in"]: argument["schema"] for argument in declared_arguments(view)}
        status, declared = declared_success(view)
        success, description = declared["schema"], declared["description"]
        responses: dict[int, Any] = {
            status: response(success, [0], description)
            if isinstance(success, BASE)
            else in_json_and_xml(success, description),
            500: UNEXPECTED,
        }
        doc: dict[str, Any] = {"security": [], "responses": responses}
        if endpoint.caller.token:
            query = arguments.get("query")
            doc["parameters"] = [TOKEN_PARAMETER, *(query_parameters(query) if query else [])]
            doc["security"] = [{"Token": []}]
            responses[400] = response(
                BASE, [errors.BINDING_FAILED], "Token, a parameter or the body does not bind"
            )
            responses[401] = response(
                BASE, TOKEN_REFUSALS, "Token unknown or expired, IP filter or rate policy"
            )
            responses[403] = response(
                envelope,
                [*forbidden, errors.LICENCE, errors.DB_FAILED],
                "Privilege, licence, record rule or database failure",
            )
        if not_found:
            responses[404] = response(
                envelope, [errors.NOT_FOUND], "No such active user in the caller's company"
            )
        if endpoint.formats:
            doc["requestBody"] = request_body(arguments["json"])
            responses[415] = UNSUPPORTED_MEDIA
        responses.update(refusals or {})
        return doc

    return documenting(describe)


def complete_document(spec: APISpec) -> None:
    """Make apispec's "this object or null" alternatives admit null only, not any object."""
    for schema in spec.components.schemas.values():
        for prop in schema.get("properties", {}).values():
            for alternative in prop.get("anyOf", []):
                if alternative == {"type": "object", "nullable": True}:
                    alternative["enum"] = [None]
