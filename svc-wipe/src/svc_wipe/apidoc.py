"""The OpenAPI description of svc-wipe: wire schemas, and every operation with every status it answers.

Operation ids, tags, summaries, parameter names and descriptions are those of grommunio's
own admin API description (admin-api ``res/openapi.yaml``), with the constraints
this service enforces added. Each view carries ``@operation(...)``: its
security, CSRF header, 401 and 403 follow from the ``Access`` it declares, its
400, 413 and 414 from what it reads, so the document is derived from the code
that answers. The schemas describe the wire only; validation stays in schemas.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import fields, validate

from svc_wipe.auth import CSRF_HEADER, TOKEN_COOKIE, Access
from svc_wipe.models import DEVICE_ID_MAX, USERNAME_MAX
from svc_wipe.schemas import DEVICE_ID_PATTERN, MAX_DEVICES, MAX_SQL_INTEGER, WIPE_STATUSES
from vendorkit.apidoc import Strict, View, documenting, json_response
from vendorkit.endpoints import Endpoint

TITLE = "grommunio Admin API"
DESCRIPTION = (
    "The part of the grommunio admin API that grommunio-sync and administrators use for device wipe "
    "states (document 000), and the few admin endpoints around it. Every answer is JSON; a refusal is "
    '`{"message": ...}`, with `errors` (a validation failure) or `error` (a login problem). A client '
    "on a policy host (`SYNC_POLICY_HOSTS`) may use the two wipe endpoints without logging in. "
    "Unknown paths get 404 `Resource not found` and known paths with another method 405."
)
SECURITY_SCHEME = "JWTCookie"
SECURITY_SCHEMES = {
    SECURITY_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": TOKEN_COOKIE,
        "description": (
            f"The token of `POST /api/v1/login`. Requests other than GET act as its user only with "
            f"its `{CSRF_HEADER}` header as well."
        ),
    }
}
TOKEN = {SECURITY_SCHEME: []}
ANONYMOUS: dict[str, list] = {}

# The blueprints' names are the tags grommunio groups these operations under.
SERVICE = ("Service", "Endpoints intended for other services")
MISC = ("Misc", "Miscellaneous and organizational endpoints")
DOMAIN_USERS = ("Domain Admin/Users", "Endpoints for user management")


# --- refusals ---------------------------------------------------------------------------------------


class MessageSchema(Strict):
    """grommunio's envelope of a refusal, and of a success that only says so."""

    message = fields.String(required=True)


class InvalidRequestSchema(Strict):
    """400: ``Bad Request`` with ``errors`` for input of the wrong shape, or the endpoint's own message alone."""

    message = fields.String(required=True)
    errors = fields.List(
        fields.String(),
        validate=validate.Length(min=1),
        metadata={"description": "List of errors encountered during validation"},
    )


class LoginProblemSchema(Strict):
    """401: ``Access denied`` (a required login) or ``Login failed``, with the reason."""

    message = fields.String(required=True, validate=validate.OneOf(["Access denied", "Login failed"]))
    error = fields.String(required=True)


class ServerErrorSchema(Strict):
    message = fields.String(required=True, metadata={"description": "String representation of the exception"})


class DatabaseErrorSchema(Strict):
    message = fields.String(required=True, metadata={"description": "Description of the error"})


# --- answers ----------------------------------------------------------------------------------------


class DeviceStatusSchema(Strict):
    status = fields.Integer(
        required=True, validate=validate.OneOf(WIPE_STATUSES), metadata={"description": "Device status"}
    )


class WipeStatusSchema(Strict):
    data = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(DeviceStatusSchema),
        required=True,
        metadata={"description": "Associative array of devices"},
    )


class LoginTokensSchema(Strict):
    grommunioAuthJwt = fields.String(required=True, metadata={"description": "API access token"})
    csrf = fields.String(required=True, metadata={"description": "CSRF token"})


def _id(**options: Any) -> fields.Integer:
    return fields.Integer(required=True, metadata={"description": "Unique ID of the object"}, **options)


class UserSchema(Strict):
    """A user; never its password."""

    ID = _id()
    username = fields.String(required=True, validate=validate.Length(max=USERNAME_MAX))
    domainID = fields.Integer(required=True, metadata={"description": "0 for the system administrator"})
    status = fields.Integer(
        required=True,
        validate=validate.OneOf([0, 1, 2, 3, 4, 5]),
        metadata={
            "description": "User status (0=Normal, 1=Suspended, 3=Deleted, 4=Shared Mailbox, 5=Contact)"
        },
    )


class UserListSchema(Strict):
    data = fields.List(fields.Nested(UserSchema), required=True)


class ProfileUserSchema(UserSchema):
    realName = fields.String(
        required=True, allow_none=True, metadata={"description": "Display name; null when none is set"}
    )


CAPABILITIES = ["SystemAdminRead", "SystemAdminWrite", "DomainAdminRead", "DomainAdminWrite"]


class ProfileSchema(Strict):
    user = fields.Nested(ProfileUserSchema, required=True)
    capabilities = fields.List(
        fields.String(validate=validate.OneOf(CAPABILITIES)),
        required=True,
        metadata={"description": "List of capabilities the current user has"},
    )


class DomainSchema(Strict):
    ID = _id()
    domainname = fields.String(
        required=True,
        validate=validate.Length(max=64),
        metadata={"description": "Name of the domain, automatically converted to IDNA format"},
    )


class DomainListSchema(Strict):
    data = fields.List(fields.Nested(DomainSchema), required=True)
    count = fields.Integer(required=True, metadata={"description": "How many domains `data` holds"})


class WipeHistoryEntrySchema(Strict):
    time = fields.Integer(required=True, metadata={"description": "UNIX timestamp of the status update"})
    remoteIP = fields.String(required=True, allow_none=True, metadata={"description": "Source of the update"})
    status = fields.Integer(required=True, validate=validate.OneOf(WIPE_STATUSES))


def _synced(description: str, field: type[fields.Field] = fields.Integer) -> fields.Field:
    # Null for a device only ever seen in a wipe report: it has not synchronised here.
    return field(required=True, allow_none=True, metadata={"description": description})


class SyncedDeviceSchema(Strict):
    """A device as the ActiveSync server recorded it, with its wipe state (``wipeHistory`` is this service's)."""

    deviceid = fields.String(required=True, validate=validate.Length(min=1, max=DEVICE_ID_MAX))
    devicetype = _synced("Device type the phone announced", fields.String)
    useragent = _synced("ActiveSync user agent", fields.String)
    deviceuser = fields.String(required=True, metadata={"description": "The account the device syncs as"})
    firstsynctime = _synced("UNIX timestamp of first sync")
    lastupdatetime = _synced("UNIX timestamp of last update")
    asversion = _synced("Sync version", fields.String)
    foldersSyncable = _synced("Number of folders that can be synced")
    foldersSynced = _synced("Number of folders that were actually synced")
    wipeStatus = fields.Integer(required=True, validate=validate.OneOf(WIPE_STATUSES))
    wipeHistory = fields.List(
        fields.Nested(WipeHistoryEntrySchema),
        required=True,
        metadata={"description": "Every reported status, oldest first (not in the product's API)"},
    )


class SyncedDeviceListSchema(Strict):
    data = fields.List(
        fields.Nested(SyncedDeviceSchema),
        required=True,
        metadata={"description": "List of devices with their sync entries"},
    )


# --- parameters -------------------------------------------------------------------------------------


def path_parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """A path parameter, documented beside the one flask-smorest derives from the URL rule."""
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


USERNAME = path_parameter("username", "E-mail address of the user", {"type": "string", "minLength": 1})
ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": MAX_SQL_INTEGER}
DOMAIN_ID = path_parameter("domainID", "ID of the domain", ID_SCHEMA)
USER_ID = path_parameter("userID", "ID of the user", ID_SCHEMA)
CSRF_TOKEN = {
    "name": CSRF_HEADER,
    "in": "header",
    "required": False,
    "description": "CSRF Token",
    "schema": {"type": "string"},
}
# Documented by hand, because marshmallow cannot state the product's comma form
# (``explode: false``); ``schemas.DevicesQuerySchema`` validates it.
DEVICES = {
    "name": "devices",
    "in": "query",
    "required": False,
    "description": (
        f"Restrict request to these device IDs (at most {MAX_DEVICES} different ones; the parameter may also "
        "be repeated, and a duplicate counts once)"
    ),
    "style": "form",
    "explode": False,
    "schema": {
        # No maxItems: the limit counts different IDs, which JSON Schema cannot say.
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": DEVICE_ID_MAX, "pattern": DEVICE_ID_PATTERN},
    },
}


# --- operations -------------------------------------------------------------------------------------


INVALID_REQUEST = "Validation of input parameters failed"
NOT_FOUND = "The requested resource could not be found"
SERVER_FAULTS = {
    500: json_response("An error occurred while processing the request", ServerErrorSchema),
    503: json_response("The database query failed", DatabaseErrorSchema),
}
TOO_LARGE = json_response("The body is larger than 10 MiB", MessageSchema)
LOGIN_REQUIRED = json_response(
    "`Access denied`: no token, or an expired, invalid or forged one, or (other than GET) no matching "
    f"`{CSRF_HEADER}`, or its user is gone",
    LoginProblemSchema,
)
LOGIN_FAILED = json_response(
    "`Login failed`: `Invalid username or password`, or `Access denied` for a user without any role",
    LoginProblemSchema,
)
NOT_ADMITTED = {
    Access.SYNC_REPORT: "`Access denied: <reason>`: neither a policy host nor the logged-in system "
    "administrator; or a wipe started without the right password",
    Access.SYNC_READ: "`Access denied: <reason>`: neither a policy host nor logged in, or no right on the "
    "user's domain",
    Access.DOMAIN_READ: "`Access denied: Insufficient permissions for this operation`: no right on the domain",
    Access.DOMAIN_WRITE: "`Access denied: Insufficient permissions for this operation`: no write right on "
    "the domain",
}


def operation(
    operation_id: str,
    *,
    refusals: dict[int, str | dict[str, Any]] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> Callable[[View], View]:
    """Document a view's operation: grommunio's id, its security, and every refusal it can answer.

    Applied above ``@declare``, whose ``Access`` decides the security, the CSRF header,
    401 and 403, and whose body formats the 400 and 413 of a view that reads a body.
    ``refusals`` maps the view's own statuses to what they mean (in the envelope) or
    to a whole response; ``parameters`` are its query parameters documented by hand.
    The gateway's own answers (414, 429, 502, ...) are added to every operation by
    the service factory.
    """

    def describe(view: Callable[..., Any], endpoint: Endpoint) -> dict[str, Any]:
        access = endpoint.caller
        responses: dict[int, Any] = {
            code: meaning
            if isinstance(meaning, dict)
            else json_response(meaning, InvalidRequestSchema if code == 400 else MessageSchema)
            for code, meaning in (refusals or {}).items()
        }
        if access in (Access.SYNC_REPORT, Access.SYNC_READ):
            security = [TOKEN, ANONYMOUS]
        elif access is Access.ANYONE:
            security = [ANONYMOUS, TOKEN]  # the login form, or a renewal by cookie
        else:
            security = [TOKEN]
            responses[401] = LOGIN_REQUIRED
        if access in NOT_ADMITTED:
            responses[403] = json_response(NOT_ADMITTED[access], MessageSchema)
        listed = [*parameters] if parameters else []
        if view.__name__ != "get" and access is not Access.ANYONE:
            listed.insert(0, CSRF_TOKEN)
        if endpoint.formats:
            responses.setdefault(400, json_response(INVALID_REQUEST, InvalidRequestSchema))
            responses[413] = TOO_LARGE
        responses.update(SERVER_FAULTS)
        doc: dict[str, Any] = {"operationId": operation_id, "security": security, "responses": responses}
        if listed:
            doc["parameters"] = listed
        return doc

    return documenting(describe)
