"""What validates a request: marshmallow schemas, read through ``@blp.arguments`` and refused as 400 Bad Request.

A refusal lists every problem as ``field: reason`` in ``errors`` (docs/wipe.md
section 3, step 2); the wording is this service's own.
"""

from __future__ import annotations

import flask
from flask import current_app, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from svc_wipe.errors import ApiError, bad_request
from svc_wipe.models import DEVICE_ID_MAX, REMOTE_IP_MAX, USERNAME_MAX
from vendorkit import bodies
from vendorkit.apidoc import declared_arguments
from vendorkit.endpoints import Endpoint
from vendorkit.web import media_type

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
NO_BODY = ""  # no Content-Type: the login form may be left out (a renewal by cookie)
WIPE_STATUSES = (0, 1, 2, 4, 8, 16, 32, 64)
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
MAX_DEVICES = 100
MAX_SQL_INTEGER = 2**31 - 1  # larger LIMIT/OFFSET values would be database errors
# A device ID: what one comma-separated item of ``devices`` can be (PostgreSQL refuses NUL in text).
DEVICE_ID_PATTERN = r"^[^,\x00]*$"

# What a body sent in another media type than the view reads is told.
WRONG_FORMAT = {
    JSON: "The request body must be sent as application/json",
    FORM: "The login form must be sent as application/x-www-form-urlencoded",
}
BODY_MISSING = "The request body is missing"
NOT_JSON = "The request body is not valid JSON"
NOT_AN_OBJECT = "The request body must be a JSON object"


class Text(fields.String):
    """A string the database can store: no NUL character, no unpaired surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        if bodies.text_problem(text, allow_controls=True) == bodies.LONE_SURROGATE:
            raise ValidationError("Must be valid Unicode (no unpaired surrogates).")
        return text


class DeviceIds(fields.List):
    """``devices``: comma-separated and/or repeated IDs, each counted once, in the order first given."""

    def __init__(self, **kwargs):
        item = fields.String(
            validate=[
                validate.Length(min=1, error="empty device ID"),
                validate.Length(max=DEVICE_ID_MAX, error=f"device ID longer than {DEVICE_ID_MAX} characters"),
                validate.Regexp(DEVICE_ID_PATTERN, error="device ID contains a NUL character"),
            ]
        )
        too_many = f"more than {MAX_DEVICES} device IDs"
        super().__init__(item, validate=validate.Length(max=MAX_DEVICES, error=too_many), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        items = [
            item
            for given in (value if isinstance(value, list) else [value])
            for item in str(given).split(",")
        ]
        problems: dict[str, None] = {}
        device_ids: dict[str, None] = {}
        for item in items:
            try:
                device_ids[self.inner.deserialize(item)] = None
            except ValidationError as error:
                problems.update(dict.fromkeys(error.messages))
        if problems:
            raise ValidationError(list(problems))
        return list(device_ids)


class DevicesQuerySchema(Schema):
    """The query of both wipe endpoints."""

    class Meta:
        unknown = EXCLUDE

    # Documented by hand (apidoc.DEVICES): grommunio's comma form is a parameter attribute.
    devices = DeviceIds()


class WipeReportSchema(Schema):
    """Body of POST /service/wipe/{username}; unknown fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    password = Text(
        metadata={
            "description": "Password of the logged in user (with login) or the device owner (without login). "
            "Required when initiating wipe."
        }
    )
    remoteIP = Text(
        validate=validate.Length(max=REMOTE_IP_MAX),
        metadata={"description": "Source IP of the status update (default is the request origin)."},
    )
    # strict: booleans, floats (even 1.0) and strings are not integers.
    status = fields.Integer(required=True, strict=True, validate=validate.OneOf(WIPE_STATUSES))
    time = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_TIME),
        metadata={"description": "UNIX timestamp of the status update (default is time of the request)"},
    )


class NewUserSchema(Schema):
    """Body of POST /domains/{domainID}/users; other fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    # Not required here: a missing one is the product's own 400 "Missing username", after the rights.
    username = Text(
        metadata={
            "description": "A local part (the domain is appended) or an address in this domain",
            "maxLength": USERNAME_MAX,
        }
    )
    password = Text(metadata={"description": "Initial password; without one the user can never log in"})


class PaginationSchema(Schema):
    """``limit`` and ``offset`` of a list."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=0, max=MAX_SQL_INTEGER),
        metadata={"description": "Maximum number of results to return"},
    )
    offset = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SQL_INTEGER),
        metadata={"description": "Index of the first element to return"},
    )


class LoginFormSchema(Schema):
    """Form fields of POST /login; without both, the cookie's token is renewed."""

    class Meta:
        unknown = EXCLUDE

    user = fields.String(metadata={"description": "Username"})
    # "pass" is a Python keyword, hence data_key.
    password = fields.String(data_key="pass", metadata={"description": "User password"})


def valid_input(endpoint: Endpoint | None) -> None:
    """400 for input the routed view refuses: a body in another format, then what its ``@blp.arguments`` refuse.

    grommunio checks the input before the caller's rights (docs/wipe.md sections 2
    to 4), so this check runs the view's own schemas ahead of ``auth.permitted``;
    the view reads them again when it runs.
    """
    if endpoint is None:
        return
    if endpoint.formats:
        if endpoint.reads(JSON) and not request.get_data(cache=True):
            raise bad_request(BODY_MISSING)
        if not endpoint.reads(media_type()):
            raise bad_request(WRONG_FORMAT[endpoint.formats[0]])
    view_class = current_app.view_functions[request.url_rule.endpoint].view_class
    handler = getattr(view_class, request.method.lower(), None) or view_class.get  # HEAD is GET's
    parser = current_app.blueprints[request.blueprint].ARGUMENTS_PARSER
    # The outermost decorator's first, as the view reads them.
    for argument in reversed(declared_arguments(handler)):
        parser.parse(argument["schema"], location=argument["in"])


def read_json(incoming: flask.Request) -> object:
    """The request's JSON object, read strictly; 400 for anything else."""
    try:
        # Unstorable strings (NUL, lone surrogates) are refused per field, by ``Text``.
        return bodies.parse_json(
            incoming.get_data(cache=True), allow_lone_surrogates=True, require_object=True
        )
    except bodies.MalformedInput as malformed:
        raise bad_request(NOT_AN_OBJECT if malformed.reason == bodies.NOT_OBJECT else NOT_JSON) from None


def refuse(error: ValidationError, _location: str) -> ApiError:
    """400 Bad Request listing every problem of ``error`` as ``field: reason``."""
    return bad_request(*_flatten(error.messages))


def _flatten(messages: object, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        flat = []
        for key, value in messages.items():
            name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            flat.extend(_flatten(value, name))
        return flat
    if isinstance(messages, list):
        return [text for item in messages for text in _flatten(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]
