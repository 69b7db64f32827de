"""Request and response shapes (marshmallow): they validate input and document the OpenAPI."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from svc_wipe.errors import bad_request
from svc_wipe.models import DEVICE_ID_MAX, REMOTE_IP_MAX

WIPE_STATUSES = (0, 1, 2, 4, 8, 16, 32, 64)
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
MAX_DEVICES = 100
MAX_SQL_INTEGER = 2**31 - 1  # larger LIMIT/OFFSET values would be database errors


class Text(fields.String):
    """A string the database can store: no NUL character, no unpaired surrogate."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("Must not contain NUL characters.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Must be valid Unicode (no unpaired surrogates).") from None
        return text


class WipeReportSchema(Schema):
    """Body of POST /service/wipe/{username}; unknown fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    # strict: booleans, floats (even 1.0) and strings are not integers.
    status = fields.Integer(required=True, strict=True, validate=validate.OneOf(WIPE_STATUSES))
    password = Text()
    remoteIP = Text(validate=validate.Length(max=REMOTE_IP_MAX))
    time = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_TIME))


class NewUserSchema(Schema):
    """Body of POST /domains/{domainID}/users; other fields are ignored."""

    class Meta:
        unknown = EXCLUDE

    username = Text()
    password = Text()


class PaginationSchema(Schema):
    """``limit`` and ``offset`` query parameters of lists."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=0, max=MAX_SQL_INTEGER))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SQL_INTEGER))


class LoginFormSchema(Schema):
    """Form fields of POST /login (documentation only: the view reads the form itself)."""

    user = fields.String()
    # "pass" is a Python keyword, hence data_key.
    password = fields.String(data_key="pass")


class MessageSchema(Schema):
    message = fields.String()


class GrommunioErrorSchema(Schema):
    message = fields.String()
    errors = fields.List(fields.String())
    error = fields.String()


class LoginSchema(Schema):
    grommunioAuthJwt = fields.String()
    csrf = fields.String()


class DeviceStatusSchema(Schema):
    status = fields.Integer()


class WipeStatusSchema(Schema):
    data = fields.Dict(keys=fields.String(), values=fields.Nested(DeviceStatusSchema))


class UserSchema(Schema):
    ID = fields.Integer()
    username = fields.String()
    domainID = fields.Integer()
    status = fields.Integer()


class UserListSchema(Schema):
    data = fields.List(fields.Nested(UserSchema))


class ProfileUserSchema(UserSchema):
    realName = fields.String(allow_none=True, metadata={"description": "Display name; null when none is set"})


class ProfileSchema(Schema):
    user = fields.Nested(ProfileUserSchema)
    capabilities = fields.List(fields.String())


class DomainSchema(Schema):
    ID = fields.Integer()
    domainname = fields.String()


class DomainListSchema(Schema):
    data = fields.List(fields.Nested(DomainSchema))
    count = fields.Integer()


class HistoryEntrySchema(Schema):
    time = fields.Integer()
    remoteIP = fields.String(allow_none=True)
    status = fields.Integer()


class DeviceSyncSchema(Schema):
    """A device as the ActiveSync server last recorded it (null where it has not synced here)."""

    deviceid = fields.String()
    devicetype = fields.String(allow_none=True, metadata={"example": "iPhone"})
    useragent = fields.String(allow_none=True, metadata={"example": "Apple-iPhone15C2/2104.112"})
    deviceuser = fields.String(metadata={"description": "The account the device synchronises as"})
    firstsynctime = fields.Integer(allow_none=True, metadata={"description": "UNIX time of the first sync"})
    lastupdatetime = fields.Integer(allow_none=True, metadata={"description": "UNIX time of the last update"})
    asversion = fields.String(
        allow_none=True, metadata={"description": "ActiveSync protocol version", "example": "16.1"}
    )
    foldersSyncable = fields.Integer(allow_none=True, metadata={"description": "Folders the device can sync"})
    foldersSynced = fields.Integer(allow_none=True, metadata={"description": "Folders the device has synced"})
    wipeStatus = fields.Integer()
    wipeHistory = fields.List(fields.Nested(HistoryEntrySchema))


class DeviceSyncListSchema(Schema):
    data = fields.List(fields.Nested(DeviceSyncSchema))


def load(schema: Schema, data: object) -> dict:
    """``schema.load(data)``, or 400 Bad Request listing every problem as ``field: reason``."""
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object")
    try:
        return schema.load(data)
    except ValidationError as error:
        raise bad_request(*_flatten(error.messages)) from None


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


def parse_device_ids(values: list[str]) -> list[str] | None:
    """The ``devices`` query: comma-separated and/or repeated IDs, de-duplicated in order; None when absent."""
    if not values:
        return None
    device_ids: dict[str, None] = {}
    problems = []
    for value in values:
        for item in value.split(","):
            if not item:
                problems.append("devices: empty device ID")
            elif "\x00" in item:
                problems.append("devices: device ID contains a NUL character")
            elif len(item) > DEVICE_ID_MAX:
                problems.append(f"devices: device ID longer than {DEVICE_ID_MAX} characters")
            else:
                device_ids[item] = None
    if len(device_ids) > MAX_DEVICES:
        problems.append(f"devices: more than {MAX_DEVICES} device IDs")
    if problems:
        raise bad_request(*dict.fromkeys(problems))
    return list(device_ids)
