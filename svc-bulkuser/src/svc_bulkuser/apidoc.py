"""The OpenAPI description of svc-bulkuser: wire schemas, and every operation with every status it answers.

Each view carries ``@operation(...)`` above its ``@declare``: the security
scheme, the 401 and the 403 follow from the caller the view declares, so the
document is derived from the code that answers. The schemas here are the
wire: a view's ``@blp.response`` writes its answer with one, and the document
shows the same schema. Validation, with the contract's messages, stays in schemas.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from apispec import APISpec
from marshmallow import Schema, fields, validate

from svc_bulkuser.auth import ANYONE, USER
from svc_bulkuser.models import USER_TYPES, User, utc_now
from vendorkit.apidoc import Strict, View, documenting, json_response
from vendorkit.endpoints import Endpoint

TITLE = "DNL softswitch API v1 (users)"
DESCRIPTION = (
    "The user part of the DeNovoLab (DNL) Class 4 softswitch REST API v1: log in, read users, "
    "create and list them, and delete them one by one or all that match a set of filters "
    '(`DELETE /v1/user/all`). Every answer is JSON. Success is `{"success": true, ...}`; a '
    'refusal is `{"success": false, "error_type": ...}`, with `error` `{message, code, reason}` '
    "or the failing fields' messages. Checks run in this order: route and method (404, 405), "
    "token (401), permission (403), then the query string and the body (400). Unknown paths get "
    "404 and known paths with another method 405."
)
SECURITY_SCHEME = "XAuthToken"
SECURITY_SCHEMES = {
    SECURITY_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
        "description": (
            "The JWT of `POST /v1/auth`, sent bare (no `Bearer`). It names a user; what the user "
            "may do follows from its stored `user_type` (`admin` may do everything)."
        ),
    }
}
# Answers to requests no operation takes; the tests hold those to this schema.
UNROUTED = "Unrouted"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME = {"format": "date-time", "example": "2024-01-01T00:00:00Z"}


def _constant(value: Any) -> dict[str, Any]:
    return {"enum": [value]}


# --- refusals ---------------------------------------------------------------------------------------


class ErrorDetailSchema(Strict):
    message = fields.String(required=True)
    code = fields.Integer(required=True)
    reason = fields.String(required=True)


def _refusal(name: str, error_type: str | None, codes: Sequence[int], description: str) -> type[Schema]:
    """DNL's envelope ``{error_type, success, error: {message, code, reason}}`` with these codes."""
    detail = type(
        f"{name}DetailSchema",
        (ErrorDetailSchema,),
        {"code": fields.Integer(required=True, metadata={"enum": list(codes)})},
    )
    return type(
        f"{name}Schema",
        (Strict,),
        {
            "__doc__": description,
            "error_type": fields.String(required=True, metadata=_constant(error_type) if error_type else {}),
            "success": fields.Boolean(required=True, metadata=_constant(False)),
            "error": fields.Nested(detail, required=True),
        },
    )


TokenRefusalSchema = _refusal(
    "TokenRefusal",
    "unauthenticated_error",
    (110, 111, 112),
    "No token (110), an invalid one (111), an expired one (112)",
)
LoginRefusalSchema = _refusal(
    "LoginRefusal",
    "unauthenticated_error",
    (100, 101),
    "Wrong name or password (100), an inactive user (101)",
)
ForbiddenSchema = _refusal("Forbidden", "forbidden_error", (403,), "The caller is not an admin")
CannotDeleteSelfSchema = _refusal("CannotDeleteSelf", "operation_error", (130,), "A delete names the caller")
ServerErrorSchema = _refusal(
    "ServerError",
    "operation_error",
    (500, 503),
    "An unexpected failure (500), the database unavailable (503)",
)
FailureSchema = _refusal(
    "Failure",
    None,
    (405, 413),
    "A refusal of the HTTP layer: another method, or a body too long",
)


class NotFoundSchema(Strict):
    """No such user, or no such route: the document's own body."""

    success = fields.Boolean(required=True, metadata=_constant(False))
    error_type = fields.String(required=True, metadata=_constant("Object not found error"))


class ValidationErrorSchema(Strict):
    """Every failing field with its messages; problems of the request as a whole under ``_schema``."""

    success = fields.Boolean(required=True, metadata=_constant(False))
    error_type = fields.String(required=True, metadata=_constant("validation_error"))
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class AttributeNotExistsSchema(Strict):
    """The first query parameter the endpoint does not know, in request order."""

    success = fields.Boolean(required=True, metadata=_constant(False))
    error_type = fields.String(required=True, metadata=_constant("attribute_not_exists"))
    attribute = fields.String(required=True)


# --- successes --------------------------------------------------------------------------------------


class StoredTime(fields.Field):
    """A stored time (naive UTC, whole seconds) as the API writes it: ``2024-01-01T00:00:00Z``."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.strftime(TIME_FORMAT)


def _time(**options: Any) -> StoredTime:
    return StoredTime(required=True, metadata={"type": "string", **TIME}, **options)


def _maybe(field: type[fields.Field], **options: Any) -> fields.Field:
    return field(required=True, allow_none=True, **options)


class UserObjectSchema(Strict):
    """A user: the contract's keys, then the other attributes the product's API models declare.

    Every answer writes its ``User`` objects with it, in this key order.
    """

    user_id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = _maybe(fields.String)
    user_type = fields.String(required=True, validate=validate.OneOf(USER_TYPES))
    role_id = _maybe(fields.Integer)
    active = fields.Boolean(required=True)
    first_name = _maybe(fields.String)
    last_name = _maybe(fields.String)
    fullname = fields.String(required=True)
    create_time = _time()
    last_login_time = _time(allow_none=True)
    login_ip = _maybe(fields.String)
    last_seen = _time(allow_none=True)
    is_online = fields.Method("online", required=True, metadata={"type": "integer", "enum": [0, 1]})
    create_user_id = _maybe(fields.Integer)
    role_name = _maybe(fields.String, metadata={"description": "Name of the role `role_id`"})
    client_id = _maybe(fields.Integer, metadata={"description": "Carrier a client user acts for"})
    reseller_id = _maybe(fields.Integer)
    landing_page = _maybe(fields.String, metadata={"description": "Portal page opened after login"})
    auth_ip = fields.List(
        fields.String(), required=True, metadata={"description": "Addresses recorded for the user's logins"}
    )
    report_group = fields.Boolean(required=True)
    avatar_id = _maybe(fields.Integer)
    card_id = _maybe(fields.Integer)
    default_mod = _maybe(fields.String, metadata={"description": "Default portal module"})
    default_mod2 = _maybe(fields.String, metadata={"description": "Second default portal module"})
    all_termination = fields.Boolean(required=True)

    def online(self, user: User) -> int:
        return user.online_at(utc_now())


class SuccessSchema(Strict):
    """DNL's envelope of every success: ``{"success": true}``, then what the operation answers."""

    success = fields.Boolean(required=True, dump_default=True, metadata=_constant(True))


def _carrying(name: str, payload: type[Schema]) -> type[Schema]:
    """The success envelope around a ``payload``: ``{"success": true, "payload": ...}``."""
    return type(f"{name}Schema", (SuccessSchema,), {"payload": fields.Nested(payload, required=True)})


class UserPageSchema(Strict):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    items = fields.List(fields.Nested(UserObjectSchema), required=True)


class LoginPayloadSchema(Strict):
    token = fields.String(required=True, metadata={"description": "The JWT for `X-Auth-Token`"})
    user_type = fields.String(required=True, validate=validate.OneOf(USER_TYPES))
    user = fields.Nested(UserObjectSchema, required=True)


class DeletedCountSchema(Strict):
    deleted = fields.Integer(required=True, validate=validate.Range(min=0))
    # The product's count of users updated: a delete updates none (docs/bulkuser.md section 4).
    updated = fields.Integer(required=True, dump_default=0, metadata=_constant(0))


class CreatedSchema(SuccessSchema):
    object_id = fields.Integer(required=True, metadata={"description": "The new user's `user_id`"})


UserResponseSchema = _carrying("UserResponse", UserObjectSchema)
UserListResponseSchema = _carrying("UserListResponse", UserPageSchema)
LoginResponseSchema = _carrying("LoginResponse", LoginPayloadSchema)
DeletedSchema = _carrying("Deleted", DeletedCountSchema)


# --- operations -------------------------------------------------------------------------------------


def _any_of(schemas: Sequence[type[Schema]]) -> Any:
    return schemas[0] if len(schemas) == 1 else {"oneOf": list(schemas)}


LOGIN_REFUSALS = {401: json_response("Wrong credentials, or an inactive user", LoginRefusalSchema)}
SERVER_ERRORS = {
    500: json_response("An unexpected failure (never a trace)", ServerErrorSchema),
    503: json_response("The database is unavailable (retry later)", ServerErrorSchema),
}


def operation(
    *,
    invalid: Sequence[type[Schema]],
    not_found: str = "",
    refusals: dict[int, dict[str, Any]] | None = None,
) -> Callable[[View], View]:
    """Document a view's operation: every refusal it can answer.

    Applied above ``@declare``, whose caller decides the security, the 401 and the 403,
    and whose body formats the 413 of a view that reads a body (over the gateway's limit).
    The success is the view's ``@blp.response``: the schema that writes it documents it.
    ``invalid``: the bodies of its 400s; ``not_found``: when it answers 404;
    ``refusals``: other statuses.
    """

    def describe(_view: Callable[..., Any], endpoint: Endpoint) -> dict[str, Any]:
        responses: dict[int, Any] = {
            400: json_response("A query parameter or a body field is invalid", _any_of(invalid)),
        }
        security = []
        if endpoint.caller != ANYONE:
            security = [{SECURITY_SCHEME: []}]
            responses[401] = json_response("No valid `X-Auth-Token`", TokenRefusalSchema)
            if endpoint.caller != USER:
                responses[403] = json_response("The caller may not do this", ForbiddenSchema)
        if not_found:
            responses[404] = json_response(not_found, NotFoundSchema)
        if endpoint.formats:
            responses[413] = json_response("The body is larger than the gateway takes", FailureSchema)
        responses.update(refusals or {})
        responses.update(SERVER_ERRORS)
        return {"security": security, "responses": responses}

    return documenting(describe)


def complete_document(spec: APISpec) -> None:
    """Add what no operation names: the schema of answers to requests no operation takes (404, 405)."""
    spec.components.schema(
        UNROUTED,
        {
            "oneOf": [
                {"$ref": "#/components/schemas/NotFound"},
                {"$ref": "#/components/schemas/Failure"},
            ]
        },
    )
