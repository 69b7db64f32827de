"""Request validation with docs/emm.md's exact refusal texts (section 5)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from vendorkit import bodies

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{3,30}")
EMAIL_PATTERN = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
BASE64_PATTERN = re.compile(r"[A-Za-z0-9+/]*={0,2}")
PRIMARY_PREFIX = "primary/"
MAX_QUERY_LENGTH = 255
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

MEDIA_TYPE_REFUSED = "Unsupported media type. The request body must be application/json."
NOT_AN_OBJECT = "Invalid request payload. The request body must be a JSON object."
NOT_AN_ARRAY = "Invalid request payload. The request body must be a JSON array of usernames."
USERNAME_REQUIRED = "Username must be provided."


class Invalid(Exception):
    """A client mistake: HTTP ``status`` with the envelope's ``message`` (and ``body_status`` in the body)."""

    def __init__(self, message: str, status: int = 400, body_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body_status = status if body_status is None else body_status


def field_refusal(field: str) -> Invalid:
    return Invalid(f"Invalid value for field: {field}.")


def query_refusal(name: str) -> Invalid:
    return Invalid(f"Invalid value for query parameter: {name}.")


def strip_prefix(username: str) -> str:
    """``PRIMARY/kim`` (prefix in any case) and ``kim`` name the same user."""
    if username[: len(PRIMARY_PREFIX)].lower() == PRIMARY_PREFIX:
        return username[len(PRIMARY_PREFIX) :]
    return username


def is_valid_username(stored_name: str) -> bool:
    return USERNAME_PATTERN.fullmatch(stored_name) is not None


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


def parse_json_body(raw: bytes) -> Any:
    """The decoded JSON body; ValueError (MalformedInput) when it is not strict JSON.

    NUL is refused with the rest: no field of this API may hold it, and PostgreSQL cannot store it.
    """
    return bodies.parse_json(raw, allow_nul=False)


class UserSchema(Schema):
    """The user fields of add and update (``username`` is checked first, separately)."""

    class Meta:
        unknown = EXCLUDE

    firstname = fields.String(allow_none=True, validate=validate.Length(max=100))
    lastname = fields.String(allow_none=True, validate=validate.Length(max=100))
    emailAddress = fields.String(
        allow_none=True,
        validate=[validate.Length(max=254), validate.Regexp(EMAIL_PATTERN)],
    )
    roles = fields.List(fields.String(), allow_none=True, validate=validate.Length(max=50))
    password = fields.String(allow_none=True)


class ChangePasswordSchema(Schema):
    """The body of change-password and reset-password."""

    class Meta:
        unknown = EXCLUDE

    oldPassword = fields.String()
    newPassword = fields.String()


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


def _first_error(errors: dict[str, Any], order: list[str]) -> str:
    return next(name for name in [*order, *errors] if name in errors)


def body_username(body: dict[str, Any], missing_message: str) -> tuple[str, str]:
    """The body's ``username`` as sent and without prefix; ``missing_message`` when absent or empty."""
    value = body.get("username")
    if value is None or value == "":
        raise Invalid(missing_message)
    if not isinstance(value, str):
        raise field_refusal("username")
    stored_name = strip_prefix(value)
    if not is_valid_username(stored_name):
        raise field_refusal("username")
    return value, stored_name


def user_input(body: Any, *, action: str) -> UserInput:
    """Validate the body of add (``action="add"``) or update (``"update"``)."""
    if not isinstance(body, dict):
        raise Invalid(NOT_AN_OBJECT)
    username, stored_name = body_username(
        body, f"Username must be provided. Therefore, request made to {action} user was refused."
    )
    if action == "add":
        body = {name: value for name, value in body.items() if name != "password"}
    try:
        data = UserSchema().load(body)
    except ValidationError as error:
        raise field_refusal(_first_error(error.messages_dict, list(UserSchema().fields))) from None
    if action == "add" and not data.get("emailAddress"):
        raise field_refusal("emailAddress")
    password = None
    # Add ignores a password (the generated one is mailed); update takes it base64-encoded.
    if action == "update" and data.get("password"):
        password = decode_base64_password(data["password"])
        if password is None or not is_acceptable_new_password(password):
            raise field_refusal("password")
    return UserInput(
        username=username,
        stored_name=stored_name,
        firstname=data.get("firstname"),
        lastname=data.get("lastname"),
        email=data.get("emailAddress"),
        roles=data.get("roles") or [],
        password=password,
    )


@dataclass
class PasswordInput:
    """A validated change-password or reset-password request."""

    username: str
    stored_name: str
    old_password: str | None
    new_password: str


def password_input(body: Any, *, needs_old: bool) -> PasswordInput:
    """Validate the body of change-password (``needs_old``) or reset-password."""
    if not isinstance(body, dict):
        raise Invalid(NOT_AN_OBJECT)
    username = body.get("username")
    if username is None or username == "":
        raise Invalid(USERNAME_REQUIRED)
    if not isinstance(username, str):
        raise field_refusal("username")
    try:
        data = ChangePasswordSchema().load(body)
    except ValidationError as error:
        raise field_refusal(_first_error(error.messages_dict, ["oldPassword", "newPassword"])) from None
    old_password = None
    if needs_old:
        if "oldPassword" not in data:
            raise field_refusal("oldPassword")
        old_password = decode_base64_password(data["oldPassword"])
        if old_password is None:
            raise field_refusal("oldPassword")
    new_password = decode_base64_password(data.get("newPassword") or "")
    if not new_password or not is_acceptable_new_password(new_password):
        raise field_refusal("newPassword")
    # A name that cannot exist is not refused: it is simply not found.
    return PasswordInput(username, strip_prefix(username), old_password, new_password)


def username_list(body: Any) -> list[str]:
    """The body of email-invitation: a JSON array of strings."""
    if not isinstance(body, list) or not all(isinstance(name, str) for name in body):
        raise Invalid(NOT_AN_ARRAY)
    return body


def query_text(args: dict[str, str], name: str, *, required: bool = False) -> str | None:
    """A query value of at most 255 characters; ``required`` refuses an absent or empty one."""
    value = args.get(name)
    if value is not None and (
        len(value) > MAX_QUERY_LENGTH or bodies.text_problem(value, allow_controls=True) is not None
    ):
        raise query_refusal(name)
    if required and not value:
        raise Invalid(USERNAME_REQUIRED)
    return value


def query_int32(
    args: dict[str, str], name: str, *, default: int | None, minimum: int = INT32_MIN
) -> int | None:
    """An optional 32-bit signed integer query value of at least ``minimum``."""
    value = args.get(name)
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?[0-9]{1,11}", value):
        raise query_refusal(name)
    number = int(value)
    if not minimum <= number <= INT32_MAX:
        raise query_refusal(name)
    return number
