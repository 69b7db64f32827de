"""What validates a request: marshmallow schemas with docs/emm.md's exact refusals (section 5).

The schemas validate (``@blp.arguments``) and document the requests alike.
A field's messages are either a whole refusal (``Username must be
provided.``), or ``LATER``, or any other text, which means ``Invalid value for
field: <field>.`` (``query parameter`` for a query value). The product checks
the types and shapes of every field first, and only then whether the
required fields are present and the passwords decode: ``LATER`` marks the
messages of that second round.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import flask
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from svc_emm.errors import Invalid, field_refusal, query_refusal
from vendorkit import bodies

# The stored name is 3 to 30 of these characters; ``PRIMARY/`` (any case) names the only user store.
USERNAME = r"^([Pp][Rr][Ii][Mm][Aa][Rr][Yy]/)?[A-Za-z0-9._@-]{3,30}$"
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{3,30}")
EMAIL = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
BASE64 = r"^[A-Za-z0-9+/]*={0,2}$"
BASE64_PATTERN = re.compile(r"[A-Za-z0-9+/]*={0,2}")
INT32_PATTERN = re.compile(r"[+-]?[0-9]{1,11}")
PRIMARY_PREFIX = "primary/"
MAX_QUERY_LENGTH = 255
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
JSON = "application/json"

MEDIA_TYPE_REFUSED = "Unsupported media type. The request body must be application/json."
NOT_AN_OBJECT = "Invalid request payload. The request body must be a JSON object."
NOT_AN_ARRAY = "Invalid request payload. The request body must be a JSON array of usernames."
USERNAME_REQUIRED = "Username must be provided."
ADD_USERNAME_REQUIRED = "Username must be provided. Therefore, request made to add user was refused."
UPDATE_USERNAME_REQUIRED = "Username must be provided. Therefore, request made to update user was refused."
WHOLE_REFUSALS = frozenset({USERNAME_REQUIRED, ADD_USERNAME_REQUIRED, UPDATE_USERNAME_REQUIRED})
LATER = "checked after every field's type"
# Which field's refusal comes first when several are wrong (the product's order).
FIELD_ORDER = (
    "username", "firstname", "lastname", "emailAddress", "roles", "password", "oldPassword", "newPassword",
    "start", "length", "recipient", "type",
)  # fmt: skip


def strip_prefix(username: str) -> str:
    """``PRIMARY/kim`` (prefix in any case) and ``kim`` name the same user."""
    if username[: len(PRIMARY_PREFIX)].lower() == PRIMARY_PREFIX:
        return username[len(PRIMARY_PREFIX) :]
    return username


def decode_base64_password(value: str) -> str | None:
    """The text of a standard-base64 password (padding optional), bad UTF-8 replaced; None if not base64."""
    if BASE64_PATTERN.fullmatch(value) is None:
        return None
    digits = value.rstrip("=")
    if len(digits) % 4 == 1:
        return None
    try:
        raw = base64.b64decode(digits + "=" * (-len(digits) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.decode("utf-8", errors="replace")


def is_acceptable_new_password(password: str) -> bool:
    return 5 <= len(password) <= 30 and not any(char.isspace() for char in password)


# --- reading and refusing -----------------------------------------------------------------------


def read_json(req: flask.Request) -> Any:
    """The request's strict JSON body (NUL refused: PostgreSQL cannot store it); ValueError when not JSON."""
    return bodies.parse_json(req.get_data(cache=True), allow_nul=False)


def read_json_object(req: flask.Request) -> Any:
    """The body ``@blp.arguments`` validates: not JSON at all is refused like JSON that is no object."""
    try:
        return read_json(req)
    except ValueError:
        raise Invalid(NOT_AN_OBJECT) from None


def _texts(messages: Any) -> list[str]:
    """The message strings of a field's errors (a list field's item errors nest by index)."""
    if isinstance(messages, dict):
        return [text for nested in messages.values() for text in _texts(nested)]
    if isinstance(messages, list):
        return [text for nested in messages for text in _texts(nested)]
    return [str(messages)]


def refuse(error: ValidationError, location: str) -> Invalid:
    """The product's refusal of the first wrong field (``@blp.arguments``' failed validation)."""
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    if "_schema" in messages:  # not an object at all
        return Invalid(NOT_AN_OBJECT)
    order = [*FIELD_ORDER, *sorted(set(messages) - set(FIELD_ORDER))]
    for second_round in (False, True):
        for name in order:
            texts = _texts(messages.get(name, []))
            if not texts or all(text == LATER for text in texts) != second_round:
                continue
            whole = next((text for text in texts if text in WHOLE_REFUSALS), None)
            if whole is not None:
                return Invalid(whole)
            return query_refusal(name) if location == "query" else field_refusal(name)
    return Invalid(NOT_AN_OBJECT)  # unreachable: a failed validation names a field


# --- fields -------------------------------------------------------------------------------------


def _valid_stored_name(value: str) -> None:
    # The documented pattern's ``$`` would let a final newline through; the stored name is matched whole.
    if USERNAME_PATTERN.fullmatch(strip_prefix(value)) is None:
        raise ValidationError("not a username")


def _not_empty(message: str):
    """A validator refusing ``""`` with ``message``."""

    def check(value: str) -> None:
        if value == "":
            raise ValidationError(message)

    return check


def _username(missing: str, **options: Any) -> fields.String:
    """The ``username`` of add or update: ``missing`` when absent, null or empty."""
    return fields.String(
        required=True,
        error_messages={"required": missing, "null": missing},
        validate=[_not_empty(missing), validate.Regexp(USERNAME), _valid_stored_name],
        **options,
    )


def _name(**options: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=100), allow_none=True, **options)


def _email(**options: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=254), validate.Regexp(EMAIL)], **options)


def _roles(**options: Any) -> fields.List:
    return fields.List(fields.String(), allow_none=True, validate=validate.Length(max=50), **options)


def _decodes(*, acceptable: bool):
    """A validator: the value is base64 and, for a new password, decodes to an acceptable one."""

    def check(value: str) -> None:
        decoded = decode_base64_password(value)
        if decoded is None or (acceptable and not is_acceptable_new_password(decoded)):
            raise ValidationError(LATER)

    return check


def _password(*, acceptable: bool, **options: Any) -> fields.String:
    """A base64 password, required (checked in the second round)."""
    return fields.String(
        required=True,
        error_messages={"required": LATER},
        validate=[validate.Regexp(BASE64, error=LATER), _decodes(acceptable=acceptable)],
        metadata={"description": "base64"},
        **options,
    )


def _password_username() -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, error=USERNAME_REQUIRED),
        error_messages={"required": USERNAME_REQUIRED, "null": USERNAME_REQUIRED},
    )


class Lenient(Schema):
    """A request: fields not listed are accepted and ignored."""

    class Meta:
        unknown = EXCLUDE


# --- bodies -------------------------------------------------------------------------------------


@dataclass
class UserInput:
    """A validated add or update request."""

    username: str  # as sent (messages echo it)
    stored_name: str  # without the prefix
    firstname: str | None
    lastname: str | None
    email: str | None
    roles: list[str]
    password: str | None  # decoded; None keeps the current one


def _user_input(data: dict[str, Any]) -> UserInput:
    encoded = data.get("password")
    return UserInput(
        username=data["username"],
        stored_name=strip_prefix(data["username"]),
        firstname=data.get("firstname"),
        lastname=data.get("lastname"),
        email=data.get("emailAddress"),
        roles=data.get("roles") or [],
        password=decode_base64_password(encoded) if encoded else None,
    )


class AddUserRequestSchema(Lenient):
    """Unknown fields, and ``password``, are ignored: the generated password is mailed to the user."""

    username = _username(ADD_USERNAME_REQUIRED)
    firstname = _name()
    lastname = _name()
    # A missing or null address is refused after the other fields' types (the product's order).
    emailAddress = _email(required=True, error_messages={"required": LATER, "null": LATER})
    roles = _roles(
        metadata={"description": "Existing role names, any case (`Internal/…`, `Application/…` ignored)"}
    )

    @post_load
    def _input(self, data: dict[str, Any], **_kwargs: Any) -> UserInput:
        return _user_input(data)


def _empty_or_new_password(value: str) -> None:
    if value:
        _decodes(acceptable=True)(value)


class UpdateUserRequestSchema(Lenient):
    """Present non-null fields replace; listed roles are added, never removed."""

    username = _username(UPDATE_USERNAME_REQUIRED, metadata={"description": "Decides which user is updated"})
    firstname = _name()
    lastname = _name()
    emailAddress = _email(allow_none=True)
    roles = _roles()
    password = fields.String(
        allow_none=True,
        validate=[validate.Regexp(BASE64, error=LATER), _empty_or_new_password],
        metadata={
            "description": "base64 of the new password (5 to 30 characters, no whitespace); empty keeps it"
        },
    )

    @post_load
    def _input(self, data: dict[str, Any], **_kwargs: Any) -> UserInput:
        return _user_input(data)


@dataclass
class PasswordInput:
    """A validated change-password or reset-password request."""

    username: str
    stored_name: str
    old_password: str | None
    new_password: str


class _PasswordRequest(Lenient):
    """What change-password and reset-password share: the user, and the new password (base64)."""

    checks_old_password = False

    @post_load
    def _input(self, data: dict[str, Any], **_kwargs: Any) -> PasswordInput:
        # A name that cannot exist is not refused: it is simply not found.
        old = decode_base64_password(data["oldPassword"]) if self.checks_old_password else None
        new = decode_base64_password(data["newPassword"]) or ""
        return PasswordInput(data["username"], strip_prefix(data["username"]), old, new)


class ChangePasswordRequestSchema(_PasswordRequest):
    checks_old_password = True

    username = _password_username()
    oldPassword = _password(acceptable=False)
    newPassword = _password(acceptable=True)


class ResetPasswordRequestSchema(_PasswordRequest):
    username = _password_username()
    oldPassword = fields.String(metadata={"description": "Ignored (may be empty)"})
    newPassword = _password(acceptable=True)


def username_list(req: flask.Request) -> list[str]:
    """The body of email-invitation: a JSON array of strings (not JSON at all counts as not an array)."""
    try:
        body = read_json(req)
    except ValueError:
        body = None
    if not isinstance(body, list) or not all(isinstance(name, str) for name in body):
        raise Invalid(NOT_AN_ARRAY)
    return body


# --- query strings ------------------------------------------------------------------------------


def _usable_text(value: str) -> None:
    if bodies.text_problem(value, allow_controls=True) is not None:
        raise ValidationError("not text")


def _query_text(*, required: bool = False, description: str = "") -> fields.String:
    """A query value of at most 255 characters; ``required`` refuses an absent or empty one."""
    checks: list[Any] = [validate.Length(min=1 if required else 0, max=MAX_QUERY_LENGTH), _usable_text]
    if required:
        # Empty is "must be provided"; too long is a bad value, which Length's own message stands for.
        checks.append(_not_empty(USERNAME_REQUIRED))
    return fields.String(
        required=required,
        error_messages={"required": USERNAME_REQUIRED},
        validate=checks,
        metadata={"description": description} if description else {},
    )


class Int32(fields.Integer):
    """A 32-bit signed integer written as plain decimal digits (no spaces, underscores or exponents)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or INT32_PATTERN.fullmatch(value) is None:
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class UsernameQuerySchema(Lenient):
    username = _query_text(required=True, description="`PRIMARY/` prefix allowed")


class UpdateQuerySchema(Lenient):
    username = _query_text(description="Optional; when given, it must name the body's user")


class SearchQuerySchema(Lenient):
    username = _query_text(description="Text the name contains (any case, `*` any run); absent: everyone")


class DevicesQuerySchema(Lenient):
    username = _query_text(required=True, description="`PRIMARY/` prefix allowed")
    start = Int32(
        validate=validate.Range(min=0, max=INT32_MAX), metadata={"description": "Offset of the page (0)"}
    )
    length = Int32(
        validate=validate.Range(min=INT32_MIN, max=INT32_MAX),
        metadata={"description": "Page size; absent or <= 0: a bare array of every device"},
    )


class OutboxQuerySchema(Lenient):
    username = _query_text(description="Exact stored username")
    recipient = _query_text(description="Exact recipient address")
    type = _query_text(description="`user-registration` or `enrolment-invitation`")
