"""svc-agenda's request and response shapes: requests bind and validate through them, answers are dumped by them, the OpenAPI document is built from them.

Request schemas bind the fields as sent (``wire.Fields``: JSON and query names
in any case, XML names exactly) and give one ModelStateErr entry per failed
field, in the product's words; unknown properties are ignored. Response
schemas dump what the views return (``@blp.response``) and admit no unknown
property, so a document that drifts from what the views send fails the tests
that hold every response to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates_schema,
)

from svc_agenda import wire

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
# Page numbers beyond this are past the end of any list; they stay valid.
HUGE = 10**18


# --- fields as the product binds them ------------------------------------------


class Text(fields.String):
    """A string of at most the Length validator's maximum; required text must not be blank.

    ``name_rules``: no control characters at all (a LoginName); other text
    only refuses what no database stores (NUL, lone surrogates).
    """

    default_error_messages = {"required": "required", "null": "required"}

    def __init__(self, *, name_rules: bool = False, **options: Any):
        super().__init__(**options)
        self.name_rules = name_rules
        self.max_length = next(v.max for v in self.validators if isinstance(v, validate.Length))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be a string")
        if self.required and not value.strip():
            raise ValidationError("must not be empty or blank")
        if len(value) > self.max_length:
            raise ValidationError(f"longer than {self.max_length} characters")
        if wire.unstorable(value) or (self.name_rules and wire.has_controls(value)):
            raise ValidationError("contains control characters")
        return value


def _text(max_length: int, pattern: str, **options) -> Text:
    return Text(validate=validate.Length(max=max_length), metadata={"pattern": pattern}, **options)


def _list(item: fields.Field, **options) -> fields.List:
    """A list that XML writes as one element per item (named by the item's ``xml``) inside its own."""
    return fields.List(item, metadata={"xml": {"wrapped": True}}, **options)


def _login_name(**metadata: Any) -> Text:
    return Text(
        required=True,
        name_rules=True,
        validate=validate.Length(min=1, max=100),
        metadata={"pattern": NAME_PATTERN, **metadata},
    )


class WireDate(fields.String):
    """A date in either notation (``/Date(ms)/`` or ISO 8601), loaded as a naive UTC datetime; empty is unset.

    Dumped as the datetime itself: wire.py writes it in the answer's notation.
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> datetime | None:
        return value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime | None:
        if not isinstance(value, str):
            raise ValidationError("must be a date")
        if value == "":
            return None
        try:
            return wire.parse_date(value.strip())
        except ValueError:
            raise ValidationError("not a date (/Date(ms)/ or ISO 8601)") from None


class Flag(fields.Raw):
    """0 or 1, as a number or as text."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and value.strip() in ("0", "1"):
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return value
        raise ValidationError("must be 0 or 1")


class Digits(fields.Integer):
    """A query number written in ASCII digits only, within the Range validator's bounds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]+", value):
            raise ValidationError("digits only")
        digits = value.lstrip("0") or "0"
        number = int(digits) if len(digits) <= 18 else HUGE
        (bounds,) = (v for v in self.validators if isinstance(v, validate.Range))
        if number < bounds.min or (bounds.max is not None and number > bounds.max):
            if bounds.max is None:
                raise ValidationError(f"must be at least {bounds.min}")
            raise ValidationError(f"must be between {bounds.min} and {bounds.max}")
        return number


# --- requests ----------------------------------------------------------------


class RequestSchema(Schema):
    """Binds ``wire.Fields`` to the declared fields by name; every declared field comes out (None if not sent).

    A body that names a field twice does not bind; in a query string the first value counts.
    """

    REPEATS_ALLOWED = False

    class Meta:
        unknown = INCLUDE
        description = "Property names match case-insensitively; in XML the root element is `Request`."

    @pre_load
    def _bind(self, data: Any, **_kwargs: Any) -> dict[str, Any]:
        sent = data if isinstance(data, wire.Fields) else wire.Fields(list(data.items()), any_case=True)
        bound: dict[str, Any] = {}
        repeated: dict[str, list[str]] = {}
        for name in self.load_fields:
            values = sent.values(name)
            if len(values) > 1 and not self.REPEATS_ALLOWED:
                repeated[name] = ["given more than once"]
            if values:
                bound[name] = values[0]
        if repeated:
            raise ValidationError(repeated)
        return bound

    @post_load
    def _complete(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        return {name: data.get(name) for name in self.load_fields}


class LoginReqSchema(RequestSchema):
    Result = fields.Raw(allow_none=True, metadata={"description": "Ignored"})
    UserLogin = _text(100, TEXT_PATTERN, required=True)
    ApiKey = _text(200, TEXT_PATTERN, required=True)


class UserRemoveReqSchema(RequestSchema):
    LoginName = _login_name(example="John.Doo")


class UserCreateReqSchema(RequestSchema):
    class Meta(RequestSchema.Meta):
        description = (
            "Property names match case-insensitively; in XML the root element is `Request`. "
            "ValidTo must not be before ValidFrom."
        )

    LoginName = _login_name()
    UserName = Text(
        required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": TEXT_PATTERN}
    )
    ValidFrom = WireDate(
        allow_none=True, metadata={"pattern": DATE_PATTERN, "example": "/Date(1770200077469)/"}
    )
    ValidTo = WireDate(allow_none=True, metadata={"pattern": DATE_PATTERN})
    Lock = Flag(
        allow_none=True,
        metadata={
            "description": "0 (default) or 1, as a number or as text",
            "anyOf": [{"type": "integer", "enum": [0, 1]}, {"type": "string", "pattern": LOCK_TEXT_PATTERN}],
        },
    )
    PersonID = _text(100, OPTIONAL_TEXT_PATTERN, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _valid_to_after_valid_from(self, data: dict[str, Any], **_kwargs: Any) -> None:
        valid_from, valid_to = data.get("ValidFrom"), data.get("ValidTo")
        if valid_from and valid_to and valid_to < valid_from:
            raise ValidationError("before ValidFrom", "ValidTo")


class PageQuerySchema(RequestSchema):
    """GET user/getAll's query: without PageNumber every user is listed."""

    REPEATS_ALLOWED = True

    PageNumber = Digits(
        validate=validate.Range(min=1),
        metadata={
            "description": "Digits only; without it every user is listed; a page past the end is empty"
        },
    )
    PageSize = Digits(
        validate=validate.Range(min=1, max=1000),
        metadata={"description": "Digits only; 50 when only PageNumber is given"},
    )


class LoginNameQuerySchema(RequestSchema):
    """GET user/get's query."""

    REPEATS_ALLOWED = True

    LoginName = _login_name(description="Matched case-insensitively, as data only (no wildcards)")


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
    ValidFrom = WireDate(required=True, allow_none=True)
    ValidTo = WireDate(required=True, allow_none=True)
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


@dataclass(frozen=True)
class Success:
    """A success in the BaseResp envelope: Code 0 with ``message``, the request as bound, then ``payload``.

    ``payload`` (a mapping or a model) holds the answer's fields other than
    Result and Request, which its schema dumps beside them.
    """

    message: str
    request: dict[str, Any]
    payload: Any = None

    @property
    def result(self) -> dict[str, Any]:
        """The envelope's Result."""
        return {"Message": self.message, "Code": 0, "ModelStateErr": None}


class BaseRespSchema(Schema):
    """The envelope of an answer that echoes nothing (unknown path, method not allowed).

    It and its subclasses dump a ``Success`` (refusals are rendered by
    ``wire.error_response``).
    """

    Result = fields.Nested(ResultSchema, required=True)
    Request = fields.Constant(None, required=True, metadata={"nullable": True, "enum": [None]})

    def get_attribute(self, obj: Success, attr: str, default: Any) -> Any:
        """Result and Request from the envelope, every other field from the payload."""
        if attr == "Result":
            return obj.result
        if attr == "Request":
            return obj.request
        return super().get_attribute(obj.payload, attr, default)


class LoginRespSchema(Schema):
    """A new token (dumped from ``auth.IssuedToken``)."""

    Token = fields.UUID(required=True, attribute="token")
    ExpireInSec = fields.Integer(required=True, attribute="lifetime")
    ExpireDate = WireDate(
        required=True, attribute="expires_at", metadata={"example": "/Date(1770200077469)/"}
    )


class LoginFailureSchema(BaseRespSchema):
    Request = _echo(LoginEchoSchema)


class LoginNameRespSchema(BaseRespSchema):
    Request = _echo(LoginNameEchoSchema)


class UserCreateRespSchema(BaseRespSchema):
    Request = _echo(UserCreateEchoSchema)


class PageRespSchema(BaseRespSchema):
    Request = _echo(PageEchoSchema)


class UserSchema(Schema):
    """A User as the API shows it (dumped from the model)."""

    LoginName = fields.String(required=True, attribute="login_name")
    UserName = fields.String(required=True, attribute="user_name")
    Roles = _list(fields.String(metadata={"xml": {"name": "Role"}}), required=True, attribute="roles")
    TimeLastChange = WireDate(required=True, attribute="time_last_change")
    VerificationNT = fields.Integer(
        required=True, validate=validate.OneOf([0, 1]), attribute="verification_nt"
    )
    ValidFrom = WireDate(required=True, allow_none=True, attribute="valid_from")
    ValidTo = WireDate(required=True, allow_none=True, attribute="valid_to")
    Lock = fields.Integer(required=True, validate=validate.OneOf([0, 1]), attribute="lock")
    PersonID = fields.String(required=True, allow_none=True, attribute="person_id")


class UsersRespSchema(PageRespSchema):
    Users = _list(fields.Nested(UserSchema, metadata={"xml": {"name": "User"}}), required=True)


class UserRespSchema(UserSchema, LoginNameRespSchema):
    """The user's fields after the envelope's (marshmallow orders inherited fields from the last base)."""
