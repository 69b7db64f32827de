"""svc-agenda's request and response shapes: the OpenAPI document is built from them (binding is in wire.py).

Request schemas admit unknown properties (the product ignores them); response
schemas admit none, so a document that drifts from what the views send fails
the tests that hold every response to it.
"""

from marshmallow import INCLUDE, Schema, fields, validate

# A LoginName: not blank and free of control characters (C0, DEL and C1).
NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
# Other required text: not blank, no NUL (no database stores it).
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
OPTIONAL_TEXT_PATTERN = r"^[^\x00]*$"
# JSON's /Date(ms)/ (with the product's optional +hhmm suffix) or ISO 8601 (no offset = UTC); empty = unset.
DATE_PATTERN = (
    r"^(/Date\(-?[0-9]{1,15}([+-][0-9]{4})?\)/"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.,]+(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?)?$"
)
# Lock as text: "0" or "1", spaces around allowed.
LOCK_TEXT_PATTERN = r"^\s*[01]\s*$"
GUID_PATTERN = r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$"


def _text(max_length: int, pattern: str, **options) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), metadata={"pattern": pattern}, **options)


def _list(item: fields.Field, **options) -> fields.List:
    """A list that XML writes as one element per item (named by the item's ``xml``) inside its own."""
    return fields.List(item, metadata={"xml": {"wrapped": True}}, **options)


# --- requests ----------------------------------------------------------------


class LoginReqSchema(Schema):
    class Meta:
        unknown = INCLUDE
        description = "Property names match case-insensitively; in XML the root element is `Request`."

    Result = fields.Raw(allow_none=True, metadata={"description": "Ignored"})
    UserLogin = _text(100, TEXT_PATTERN, required=True)
    ApiKey = _text(200, TEXT_PATTERN, required=True)


class UserRemoveReqSchema(Schema):
    class Meta:
        unknown = INCLUDE
        description = "Property names match case-insensitively; in XML the root element is `Request`."

    LoginName = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"pattern": NAME_PATTERN, "example": "John.Doo"},
    )


class UserCreateReqSchema(Schema):
    class Meta:
        unknown = INCLUDE
        description = (
            "Property names match case-insensitively; in XML the root element is `Request`. "
            "ValidTo must not be before ValidFrom."
        )

    LoginName = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": NAME_PATTERN}
    )
    UserName = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": TEXT_PATTERN}
    )
    ValidFrom = fields.String(
        allow_none=True, metadata={"pattern": DATE_PATTERN, "example": "/Date(1770200077469)/"}
    )
    ValidTo = fields.String(allow_none=True, metadata={"pattern": DATE_PATTERN})
    Lock = fields.Raw(
        allow_none=True,
        metadata={
            "description": "0 (default) or 1, as a number or as text",
            "anyOf": [{"type": "integer", "enum": [0, 1]}, {"type": "string", "pattern": LOCK_TEXT_PATTERN}],
        },
    )
    PersonID = _text(100, OPTIONAL_TEXT_PATTERN, allow_none=True)


# --- responses ---------------------------------------------------------------


class ResultSchema(Schema):
    Message = fields.String(required=True)
    Code = fields.Integer(required=True)
    ModelStateErr = fields.List(
        fields.String(metadata={"xml": {"name": "Error"}}),
        required=True,
        allow_none=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "With Code 1002: one entry per failed field, starting with its name",
            "xml": {"wrapped": True},
        },
    )


class LoginEchoSchema(Schema):
    UserLogin = fields.String(required=True)


class LoginNameEchoSchema(Schema):
    LoginName = fields.String(required=True)


class UserCreateEchoSchema(Schema):
    LoginName = fields.String(required=True)
    UserName = fields.String(required=True)
    ValidFrom = fields.String(required=True, allow_none=True)
    ValidTo = fields.String(required=True, allow_none=True)
    Lock = fields.Integer(required=True, allow_none=True, validate=validate.OneOf([0, 1]))
    PersonID = fields.String(required=True, allow_none=True)


class PageEchoSchema(Schema):
    PageNumber = fields.Integer(required=True, allow_none=True)
    PageSize = fields.Integer(required=True, allow_none=True)


def _echo(schema: type[Schema]) -> fields.Nested:
    return fields.Nested(
        schema,
        required=True,
        allow_none=True,
        metadata={"description": "The request's fields as received; null before the request bound"},
    )


class BaseRespSchema(Schema):
    """The envelope of an answer that echoes nothing (unknown path, method not allowed)."""

    Result = fields.Nested(ResultSchema, required=True)
    Request = fields.Constant(None, required=True, metadata={"nullable": True, "enum": [None]})


class LoginRespSchema(Schema):
    Token = fields.UUID(required=True)
    ExpireInSec = fields.Integer(required=True)
    ExpireDate = fields.String(required=True, metadata={"example": "/Date(1770200077469)/"})


class LoginFailureSchema(BaseRespSchema):
    Request = _echo(LoginEchoSchema)


class LoginNameRespSchema(BaseRespSchema):
    Request = _echo(LoginNameEchoSchema)


class UserCreateRespSchema(BaseRespSchema):
    Request = _echo(UserCreateEchoSchema)


class PageRespSchema(BaseRespSchema):
    Request = _echo(PageEchoSchema)


class UserSchema(Schema):
    LoginName = fields.String(required=True)
    UserName = fields.String(required=True)
    Roles = _list(fields.String(metadata={"xml": {"name": "Role"}}), required=True)
    TimeLastChange = fields.String(required=True)
    VerificationNT = fields.Integer(required=True, validate=validate.OneOf([0, 1]))
    ValidFrom = fields.String(required=True, allow_none=True)
    ValidTo = fields.String(required=True, allow_none=True)
    Lock = fields.Integer(required=True, validate=validate.OneOf([0, 1]))
    PersonID = fields.String(required=True, allow_none=True)


class UsersRespSchema(PageRespSchema):
    Users = _list(fields.Nested(UserSchema, metadata={"xml": {"name": "User"}}), required=True)


class UserRespSchema(LoginNameRespSchema, UserSchema):
    pass
