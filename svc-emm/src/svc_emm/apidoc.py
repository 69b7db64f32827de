"""The OpenAPI description of svc-emm: wire schemas, and every operation with every status it answers.

Each view carries ``@documented(...)``; its security, 401 and 403 follow from the
access the view's ``@authenticated`` declares, its 400, 413, 414 and 415 from the
query parameters and body it reads, so the document is derived from the code
that answers. The schemas here describe the wire only: validation, with the
product's refusal texts, stays in schemas.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from svc_emm.schemas import INT32_MAX, MAX_QUERY_LENGTH

View = TypeVar("View", bound=Callable[..., Any])

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

# The stored name is 3 to 30 of these characters; ``PRIMARY/`` (any case) names the only user store.
USERNAME = r"^([Pp][Rr][Ii][Mm][Aa][Rr][Yy]/)?[A-Za-z0-9._@-]{3,30}$"
EMAIL = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
DEVICE_STATUSES = (
    "CREATED", "ACTIVE", "INACTIVE", "UNREACHABLE", "UNCLAIMED", "SUSPENDED", "BLOCKED", "REMOVED",
    "DISENROLLMENT_REQUESTED",
)  # fmt: skip


class Strict(Schema):
    """A response object: the service sends exactly these keys (documented as no others)."""

    class Meta:
        unknown = RAISE


# --- responses --------------------------------------------------------------------------------------


class ResponsePayloadSchema(Strict):
    """WSO2's envelope; ``statusCode`` is the HTTP status, except a missing user's view (404, body 400)."""

    statusCode = fields.Integer(required=True)
    messageFromServer = fields.String()


class UserObjectSchema(Strict):
    """A user; fields without a value are left out."""

    username = fields.String(required=True)
    firstname = fields.String()
    lastname = fields.String()
    emailAddress = fields.String()


class UserPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.Nested(UserObjectSchema)


class UserListPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.List(fields.Nested(UserObjectSchema))


class NameListPayloadSchema(ResponsePayloadSchema):
    """Usernames or role names."""

    responseContent = fields.List(fields.String())


class UserRolesPayloadSchema(ResponsePayloadSchema):
    """A user's role names, as one list inside a list (``[["marketing"]]``)."""

    responseContent = fields.List(fields.List(fields.String()), validate=validate.Length(equal=1))


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
    properties = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["SENT", "STORED", "FAILED"]))
    createdAt = fields.Integer(required=True)


class OutboxPayloadSchema(ResponsePayloadSchema):
    responseContent = fields.List(fields.Nested(OutboxMessageSchema))


class EnrolmentInfoSchema(Strict):
    """A device's enrolment; dates in epoch milliseconds."""

    id = fields.Integer(required=True)
    dateOfEnrolment = fields.Integer(required=True)
    dateOfLastUpdate = fields.Integer(required=True)
    ownership = fields.String(required=True, validate=validate.OneOf(["BYOD", "COPE"]))
    status = fields.String(required=True, validate=validate.OneOf(DEVICE_STATUSES))
    owner = fields.String(required=True)


class DevicePropertySchema(Strict):
    """A device property; one without a value has no ``value`` key."""

    name = fields.String(required=True)
    value = fields.String()


class DeviceSchema(Strict):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    type = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    deviceIdentifier = fields.String(required=True)
    enrolmentInfo = fields.Nested(EnrolmentInfoSchema, required=True)
    properties = fields.List(fields.Nested(DevicePropertySchema), required=True)


class DevicePageSchema(Strict):
    """One page of a user's devices (``length`` > 0)."""

    recordsTotal = fields.Integer(required=True)
    recordsFiltered = fields.Integer(required=True)
    draw = fields.Integer(required=True)
    data = fields.List(fields.Nested(DeviceSchema), required=True)


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


# --- requests ---------------------------------------------------------------------------------------


class Lenient(Schema):
    """A request: fields not listed are accepted and ignored."""

    class Meta:
        unknown = EXCLUDE


def _username(**options: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(USERNAME), **options)


def _name(**options: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=100), allow_none=True, **options)


class AddUserRequestSchema(Lenient):
    """Unknown fields, and ``password``, are ignored: the generated password is mailed to the user."""

    username = _username(required=True)
    firstname = _name()
    lastname = _name()
    emailAddress = fields.String(required=True, validate=[validate.Length(max=254), validate.Regexp(EMAIL)])
    roles = fields.List(
        fields.String(),
        allow_none=True,
        validate=validate.Length(max=50),
        metadata={"description": "Existing role names, any case (`Internal/…`, `Application/…` ignored)"},
    )


class UpdateUserRequestSchema(Lenient):
    """Present non-null fields replace; listed roles are added, never removed."""

    username = _username(required=True, metadata={"description": "Decides which user is updated"})
    firstname = _name()
    lastname = _name()
    emailAddress = fields.String(allow_none=True, validate=[validate.Length(max=254), validate.Regexp(EMAIL)])
    roles = fields.List(fields.String(), allow_none=True, validate=validate.Length(max=50))
    password = fields.String(
        allow_none=True,
        validate=validate.Regexp(BASE64),
        metadata={
            "description": "base64 of the new password (5 to 30 characters, no whitespace); empty keeps it"
        },
    )


def _password(**options: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(BASE64), metadata={"description": "base64"}, **options)


class ChangePasswordRequestSchema(Lenient):
    username = fields.String(required=True, validate=validate.Length(min=1))
    oldPassword = _password(required=True)
    newPassword = _password(required=True)


class ResetPasswordRequestSchema(Lenient):
    username = fields.String(required=True, validate=validate.Length(min=1))
    oldPassword = fields.String(metadata={"description": "Ignored (may be empty)"})
    newPassword = _password(required=True)


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


def _query_text(*, required: bool = False, description: str = "") -> fields.String:
    return fields.String(
        required=required,
        validate=validate.Length(min=1 if required else 0, max=MAX_QUERY_LENGTH),
        metadata={"description": description} if description else {},
    )


class UsernameQuerySchema(Lenient):
    username = _query_text(required=True, description="`PRIMARY/` prefix allowed")


class UpdateQuerySchema(Lenient):
    username = _query_text(description="Optional; when given, it must name the body's user")


class SearchQuerySchema(Lenient):
    username = _query_text(description="Text the name contains (any case, `*` any run); absent: everyone")


class DevicesQuerySchema(UsernameQuerySchema):
    start = fields.Integer(
        validate=validate.Range(min=0, max=INT32_MAX), metadata={"description": "Offset of the page (0)"}
    )
    length = fields.Integer(
        validate=validate.Range(min=-(2**31), max=INT32_MAX),
        metadata={"description": "Page size; absent or <= 0: a bare array of every device"},
    )


class OutboxQuerySchema(Lenient):
    username = _query_text(description="Exact stored username")
    recipient = _query_text(description="Exact recipient address")
    type = _query_text(description="`user-registration` or `enrolment-invitation`")


# --- operations -------------------------------------------------------------------------------------


def _json(description: str, schema: Any, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


PAYLOAD = ResponsePayloadSchema
SERVER_FAULTS = {
    500: _json("A fault on the server side, with the operation's own text", ServerFaultSchema),
    503: _json("The database is unavailable (retry later), with the operation's own text", ServerFaultSchema),
}
NO_STORE = {
    "Cache-Control": {"description": "`no-store`", "schema": {"type": "string"}},
    "Pragma": {"description": "`no-cache`", "schema": {"type": "string"}},
}
OAUTH_ERROR = _json(
    "`invalid_request` (a missing or bad parameter, not a form), `unsupported_grant_type`, or "
    "`invalid_grant` (wrong credentials; unknown, expired or revoked refresh token)",
    OAuthErrorSchema,
    headers=NO_STORE,
)
URI_TOO_LONG = _json("The request line is longer than 8 KiB (refused by the HTTP layer)", PAYLOAD)
TOO_LARGE = _json("The body is larger than 64 KiB", PAYLOAD)
UNAUTHORIZED = _json(
    "No `Authorization: Bearer` token, or an unknown, expired or revoked one",
    PAYLOAD,
    headers={
        "WWW-Authenticate": {
            "description": '`Bearer error="invalid_token"`',
            "schema": {"type": "string"},
        }
    },
)


def documented(
    description: str,
    schema: Any,
    *,
    status: int = 200,
    query: type[Schema] | None = None,
    body: Any = None,
    form: type[Schema] | None = None,
    refusals: dict[int, str | dict[str, Any]] | None = None,
    empty_success: bool = False,
    headers: dict[str, Any] | None = None,
) -> Callable[[View], View]:
    """Document a view's operation: its success, parameters, body and every refusal it can answer.

    Applied above ``@authenticated``, whose ``access`` decides security, 401 and 403.
    ``refusals`` maps the other statuses to what they mean (answered in the envelope) or to a
    whole response object.
    """

    def document(view: View) -> View:
        access = getattr(view, "access", None)
        responses: dict[int, Any] = {
            status: {"description": description} if empty_success else _json(description, schema)
        }
        if headers:
            responses[status]["headers"] = headers
        for code, meaning in (refusals or {}).items():
            responses[code] = meaning if isinstance(meaning, dict) else _json(meaning, PAYLOAD)
        doc: dict[str, Any] = {"security": [{SECURITY_SCHEME: []}] if access is not None else []}
        if query is not None:
            doc["parameters"] = [{"in": "query", "schema": query}]
            responses.setdefault(400, _json("A query value is missing or invalid", PAYLOAD))
            responses[414] = URI_TOO_LONG
        if body is not None:
            doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
            responses.setdefault(400, _json("The body or one of its fields is invalid", PAYLOAD))
            responses[413] = TOO_LARGE
            responses[415] = _json("The body is not `application/json`", PAYLOAD)
        if form is not None:
            # OAuth2 requests are form fields (RFC 6749); an oversized one is refused in the envelope.
            doc["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": form}},
            }
            responses[413] = TOO_LARGE
        if access is not None:
            responses[401] = UNAUTHORIZED
            who = "non-admins" if access == "admin" else "non-admins naming another user"
            responses[403] = _json(f"Refused to {who}", PAYLOAD)
        responses.update(SERVER_FAULTS)
        doc["responses"] = dict(sorted(responses.items()))
        return Blueprint.doc(**doc)(view)

    return document
