"""The OpenAPI description of svc-emm: response schemas, and every operation with every status it answers.

Each view carries ``@operation(...)``; its security, 401 and 403 follow from the
caller the view declares (``vendorkit.endpoints.declare``), its 400, 413, 414 and
415 from the query and body its ``@blp.arguments`` read and the formats it
declares, and its success from its ``@blp.response``, whose schema (here) dumps
the answer it documents: the document is derived from the code that answers.
The request schemas that validate (schemas.py) document themselves through
``@blp.arguments``; the ones here describe what is read without a schema
(OAuth2's form fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_dump, validate

from svc_emm.auth import ANYONE, FORM
from svc_emm.schemas import JSON
from vendorkit.apidoc import (
    Strict,
    View,
    declared_arguments,
    documenting,
    json_response,
    without_validation_response,
)
from vendorkit.endpoints import Endpoint

TITLE = "WSO2 EMM 2.0 admin API (users)"
DESCRIPTION = (
    "The user-management part of the WSO2 EMM 2.0 admin API and its OAuth2 token endpoint. "
    "Answers are JSON (a revocation's is empty). The envelope is "
    "`{statusCode, messageFromServer, responseContent}` with null fields left out, and `statusCode` "
    "equal to the HTTP status except for the view of a missing user (HTTP 404, body 400). Server "
    "faults are `{errorMessage}` with the operation's own text: 500, or 503 while the database is "
    "unavailable. Usernames may carry a `PRIMARY/` prefix (any case). Unknown "
    "paths get 404 and known paths with another method 405, in the envelope."
)
SECURITY_SCHEME = "OAuth2"
SECURITY_SCHEMES = {
    SECURITY_SCHEME: {
        "type": "oauth2",
        "description": (
            "An access token of `POST /oauth2/token`, sent as `Authorization: Bearer <token>`. "
            "Users with role `admin` may call everything; others only the self-service operations, "
            "for their own username."
        ),
        "flows": {
            "password": {
                "tokenUrl": "/oauth2/token",
                "refreshUrl": "/oauth2/token",
                "scopes": {"default": "The whole admin API (what a caller may do follows from its roles)"},
            }
        },
    }
}

DEVICE_STATUSES = (
    "CREATED", "ACTIVE", "INACTIVE", "UNREACHABLE", "UNCLAIMED", "SUSPENDED", "BLOCKED", "REMOVED",
    "DISENROLLMENT_REQUESTED",
)  # fmt: skip


# --- answers: the schemas that document them dump them (``@blp.response``) -------------------------


class WithoutNulls(Strict):
    """An answer whose fields without a value are left out, as the product's serializer does."""

    @post_dump
    def _without_nulls(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        return {name: value for name, value in data.items() if value is not None}


class ResponsePayloadSchema(WithoutNulls):
    """WSO2's envelope; ``statusCode`` is the HTTP status, except a missing user's view (404, body 400)."""

    statusCode = fields.Integer(required=True, attribute="status")
    messageFromServer = fields.String(attribute="message")


class UserObjectSchema(WithoutNulls):
    """A user; fields without a value are left out."""

    username = fields.String(required=True)
    firstname = fields.String()
    lastname = fields.String()
    emailAddress = fields.String(attribute="email")


class UserPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.Nested(UserObjectSchema, attribute="content")


class UserListPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.Nested(UserObjectSchema, many=True, attribute="content")


class NameListPayloadSchema(ResponsePayloadSchema):
    """Usernames or role names."""

    responseContent = fields.List(fields.String(), attribute="content")


class UserRolesPayloadSchema(ResponsePayloadSchema):
    """A user's role names, as one list inside a list (``[["marketing"]]``)."""

    responseContent = fields.List(
        fields.List(fields.String()), validate=validate.Length(equal=1), attribute="content"
    )


class StoredJsonObject(fields.Dict):
    """A JSON object of strings the database keeps as text, in its stored key order."""

    def _serialize(self, value: str | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(None if value is None else json.loads(value), attr, obj, **kwargs)


class OutboxMessageSchema(Strict):
    """A mail the service wrote; ``createdAt`` in epoch milliseconds."""

    id = fields.Integer(required=True)
    type = fields.String(
        required=True, validate=validate.OneOf(["user-registration", "enrolment-invitation"])
    )
    username = fields.String(required=True)
    recipient = fields.String(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    properties = StoredJsonObject(keys=fields.String(), values=fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["SENT", "STORED", "FAILED"]))
    createdAt = fields.Integer(required=True, attribute="created_at")


class OutboxPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.Nested(OutboxMessageSchema, many=True, attribute="content")


class EnrolmentInfoSchema(Strict):
    """A device's enrolment; dates in epoch milliseconds."""

    id = fields.Integer(required=True)
    dateOfEnrolment = fields.Integer(required=True, attribute="date_of_enrolment")
    dateOfLastUpdate = fields.Integer(required=True, attribute="date_of_last_update")
    ownership = fields.String(required=True, validate=validate.OneOf(["BYOD", "COPE"]))
    status = fields.String(required=True, validate=validate.OneOf(DEVICE_STATUSES))
    owner = fields.String(required=True)


class DevicePropertySchema(WithoutNulls):
    """A device property; one without a value has no ``value`` key."""

    name = fields.String(required=True)
    value = fields.String()


class DeviceSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    deviceIdentifier = fields.String(required=True, attribute="device_identifier")
    enrolmentInfo = fields.Nested(EnrolmentInfoSchema, required=True, attribute="enrolment")
    properties = fields.Nested(DevicePropertySchema, many=True, required=True)


class DevicePageSchema(Strict):
    """One page of a user's devices (``length`` > 0)."""

    recordsTotal = fields.Integer(required=True, attribute="total")
    recordsFiltered = fields.Integer(required=True, attribute="filtered")
    draw = fields.Integer(required=True)
    data = fields.Nested(DeviceSchema, many=True, required=True, attribute="devices")


# A user's devices are a bare array, or one page when ``length`` > 0: two shapes no one schema
# dumps, so the view dumps with the schema of the shape it answers and this documents both.
DEVICE_LIST = DeviceSchema(many=True)
DEVICE_PAGE = DevicePageSchema()
USER_DEVICES = {"oneOf": [{"type": "array", "items": DeviceSchema}, DevicePageSchema]}
USER_COUNT = {"type": "integer", "minimum": 0}


class ServerFaultSchema(Strict):
    """A fault on the server side (database, SMTP), never a client mistake."""

    errorMessage = fields.String(required=True)


class TokenPairSchema(Strict):
    """Opaque tokens of 32 lowercase hex characters; ``expires_in`` the lifetime granted, in seconds."""

    access_token = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    refresh_token = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{32}$"))
    scope = fields.String(required=True)
    token_type = fields.String(required=True, validate=validate.OneOf(["Bearer"]))
    expires_in = fields.Integer(required=True, validate=validate.Range(min=1))


class OAuthErrorSchema(Strict):
    error = fields.String(
        required=True, validate=validate.OneOf(["invalid_request", "unsupported_grant_type", "invalid_grant"])
    )
    error_description = fields.String(required=True)


# --- requests (the validated ones are in schemas.py) ------------------------------------------------


class Lenient(Schema):
    """A request: fields not listed are accepted and ignored."""

    class Meta:
        unknown = EXCLUDE


class TokenRequestSchema(Lenient):
    """Client authentication is not required: ``client_id``/``client_secret`` are accepted and ignored."""

    grant_type = fields.String(required=True, validate=validate.OneOf(["password", "refresh_token"]))
    username = fields.String(metadata={"description": "password grant"})
    password = fields.String(metadata={"description": "password grant"})
    refresh_token = fields.String(metadata={"description": "refresh_token grant"})
    scope = fields.String(metadata={"description": "Echoed; `default` when absent"})
    validity_period = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "Seconds, capped to the configured lifetime"}
    )
    client_id = fields.String()
    client_secret = fields.String()


class RevokeRequestSchema(Lenient):
    token = fields.String(required=True, metadata={"description": "An access or refresh token"})


USERNAME_LIST = {"type": "array", "items": {"type": "string"}}


# --- operations -------------------------------------------------------------------------------------


PAYLOAD = ResponsePayloadSchema
SERVER_FAULTS = {
    500: json_response("A fault on the server side, with the operation's own text", ServerFaultSchema),
    503: json_response(
        "The database is unavailable (retry later), with the operation's own text", ServerFaultSchema
    ),
}
NO_STORE = {
    "Cache-Control": {"description": "`no-store`", "schema": {"type": "string"}},
    "Pragma": {"description": "`no-cache`", "schema": {"type": "string"}},
}
OAUTH_ERROR = json_response(
    "`invalid_request` (a missing or bad parameter, not a form), `unsupported_grant_type`, or "
    "`invalid_grant` (wrong credentials; unknown, expired or revoked refresh token)",
    OAuthErrorSchema,
    headers=NO_STORE,
)
URI_TOO_LONG = json_response("The request line is longer than 8 KiB (refused by the HTTP layer)", PAYLOAD)
TOO_LARGE = json_response("The body is larger than 64 KiB", PAYLOAD)
UNAUTHORIZED = json_response(
    "No `Authorization: Bearer` token, or an unknown, expired or revoked one",
    PAYLOAD,
    headers={
        "WWW-Authenticate": {
            "description": '`Bearer error="invalid_token"`',
            "schema": {"type": "string"},
        }
    },
)


def operation(
    *,
    body: Any = None,
    form: type[Schema] | None = None,
    refusals: dict[int, str | dict[str, Any]] | None = None,
) -> Callable[[View], View]:
    """Document a view's operation: its security, parameters, body and every refusal it can answer.

    Applied above ``@declare`` and ``@blp.arguments``: the declared caller decides
    security, 401 and 403, the arguments' locations and the declared formats the
    400, 413, 414 and 415. The success is the view's ``@blp.response``, which
    documents the schema that dumps it. ``body`` documents a JSON body read
    without a schema, ``form`` the OAuth2 form. ``refusals`` maps the other
    statuses to what they mean (answered in the envelope) or to a whole response.
    """

    def describe(view: Callable[..., Any], endpoint: Endpoint) -> dict[str, Any]:
        # The envelope's 400 is documented below, where the view answers one.
        without_validation_response(view)
        read = {argument["in"] for argument in declared_arguments(view)}
        responses: dict[int, Any] = {
            code: meaning if isinstance(meaning, dict) else json_response(meaning, PAYLOAD)
            for code, meaning in (refusals or {}).items()
        }
        secured = endpoint.caller != ANYONE
        doc: dict[str, Any] = {"security": [{SECURITY_SCHEME: []}] if secured else []}
        if "query" in read:
            responses.setdefault(400, json_response("A query value is missing or invalid", PAYLOAD))
            responses[414] = URI_TOO_LONG
        if body is not None:
            doc["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
        if endpoint.reads(JSON):
            responses.setdefault(400, json_response("The body or one of its fields is invalid", PAYLOAD))
            responses[413] = TOO_LARGE
            responses[415] = json_response("The body is not `application/json`", PAYLOAD)
        if endpoint.reads(FORM):
            # OAuth2 requests are form fields (RFC 6749); an oversized one is refused in the envelope.
            doc["requestBody"] = {"required": True, "content": {FORM: {"schema": form}}}
            responses[413] = TOO_LARGE
        if secured:
            responses[401] = UNAUTHORIZED
            who = "non-admins" if endpoint.caller == "admin" else "non-admins naming another user"
            responses[403] = json_response(f"Refused to {who}", PAYLOAD)
        responses.update(SERVER_FAULTS)
        doc["responses"] = responses
        return doc

    return documenting(describe)
