"""svc-offboard's request and response shapes, as its OpenAPI document states them, and what validates input.

Response schemas are exact (no field beyond those listed); request schemas let
unknown fields through, as the product ignores them. A request schema's
refusal is a business failure (HTTP 200, errorCode != 0) with the product's
message for the first field it refuses, in declaration order
(``errors.invalid_fields``); where the product checks fields between
look-ups (POST User, Client/{id}, Subclient/{id}), the service checks them
in that order instead, and the schema only documents them.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, ClassVar

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, pre_load, validates_schema

from svc_offboard.errors import INVALID_CREDENTIALS, SESSION_NOT_RENEWABLE

MAX_ID = 2147483647
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
DIGITS = re.compile(r"[0-9]+")


def is_int(value: Any) -> bool:
    """A JSON integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def digit_string_value(value: str) -> int | None:
    """The integer a string of ASCII digits stands for; None for other strings."""
    if not DIGITS.fullmatch(value):
        return None
    significant = value.lstrip("0") or "0"
    # int() refuses strings of over 4300 digits; any such number is out of range anyway.
    return int(significant) if len(significant) <= 4000 else 10**4000


def is_valid_name(value: Any) -> bool:
    """A non-empty string of at most 255 characters without control characters."""
    return isinstance(value, str) and 0 < len(value) <= 255 and not CONTROL_CHARACTERS.search(value)


def decode_password(value: Any) -> str | None:
    """The password a base64 (UTF-8) string carries; None when it is no such string."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error, ValueError):
        return None


def id_value(value: Any, low: int = 0) -> int | None:
    """A JSON integer or a digit string (XML carries only text) in ``low``..MAX_ID; None otherwise."""
    if isinstance(value, str):
        value = digit_string_value(value)
    return value if is_int(value) and low <= value <= MAX_ID else None


class Lenient(Schema):
    """A request body: unknown fields are allowed (and ignored)."""

    class Meta:
        unknown = INCLUDE


class RequestBody(Lenient):
    """A whole request body as Commvault's clients send it.

    A body whose only key is ``xml_root`` is unwrapped; older clients send
    ``@name`` for ``name`` (a plain key wins over its ``@`` twin); ``aliases``
    name other spellings of a field (the field's own spelling wins).
    """

    xml_root: ClassVar[str | None] = None
    aliases: ClassVar[dict[str, str]] = {}

    @pre_load
    def as_sent(self, data: dict[str, Any], **_kwargs) -> dict[str, Any]:
        """The body's fields under their own names."""
        root = self.xml_root
        if root and len(data) == 1 and isinstance(data.get(root), dict):
            data = data[root]
        data = {**{key[1:]: value for key, value in data.items() if key.startswith("@")}, **data}
        for alias, name in self.aliases.items():
            if name not in data and alias in data:
                data[name] = data[alias]
        return data


class CheckedByService(RequestBody):
    """A body whose fields the service checks itself, in the product's order between its look-ups.

    The schema documents the fields; loading hands them over as sent.
    """

    def load(self, data: Any, **_kwargs: Any) -> dict[str, Any]:
        return self.as_sent(data)


class Refused:
    """A field mixin: every refusal of the field is the product's one message."""

    def __init__(self, *args: Any, message: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.message = message

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        return ValidationError(self.message)


class Minutes(Refused, fields.Integer):
    """Minutes, 1..1440: a JSON integer or a digit string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        minutes = id_value(value, low=1)
        if minutes is None or minutes > 1440:
            raise self.make_error("invalid")
        return minutes


class Name(Refused, fields.String):
    """A non-empty name of at most 255 characters without control characters."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not is_valid_name(value):
            raise self.make_error("invalid")
        return value


class Username(Refused, fields.String):
    """A login's user name: any non-empty string (an unknown one is refused like a wrong password)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str) or not value:
            raise self.make_error("invalid")
        return value


class Password(Refused, fields.String):
    """A base64 (UTF-8) password, loaded as the password itself."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        password = decode_password(value)
        if password is None:
            raise self.make_error("invalid")
        return password


class SessionToken(Refused, fields.String):
    """A token, ``QSDK <hex>`` or the hex alone (its value is checked against the stored ones)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class OptionalId(Refused, fields.Integer):
    """An id, 0..MAX_ID, a JSON integer or a digit string; absent, empty, null or 0: None."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        if value == "":
            return None
        number = id_value(value)
        if number is None:
            raise self.make_error("invalid")
        return number or None


class OptionalName(Name):
    """A name; empty or null: None."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        return None if value == "" else super()._deserialize(value, attr, data, **kwargs)


# --- requests ---------------------------------------------------------------------------


class LoginRequestSchema(RequestBody):
    xml_root = "DM2ContentIndexing_CheckCredentialReq"
    aliases: ClassVar[dict[str, str]] = {"timeOut": "timeout"}

    # The product reports an invalid timeout before it looks at the credentials.
    timeout = Minutes(
        message="Invalid timeout value",
        metadata={"description": "idle timeout in minutes, 1..1440 (default 30); `timeOut` is read too"},
    )
    username = Username(required=True, message=INVALID_CREDENTIALS, metadata={"example": "admin"})
    password = Password(
        required=True,
        message=INVALID_CREDENTIALS,
        metadata={"description": "base64 of the UTF-8 password", "example": "YWRtaW4tZGVtbw=="},
    )


class RenewLoginTokenRequestSchema(RequestBody):
    sessionId = SessionToken(
        message=SESSION_NOT_RENEWABLE,
        metadata={
            "description": "the token to renew (default: the `Authtoken` header)",
            "example": "QSDK 3f2a...",
        },
    )
    # Ignored whatever it holds, as the product does.
    deviceId = fields.Raw(metadata={"type": "string", "description": "ignored"})


class OffboardRequestSchema(RequestBody):
    xml_root = "Api_OffboardUserReq"

    # The product checks userId before userName (docs/offboard.md section 6).
    userId = OptionalId(
        allow_none=True,
        message="Invalid userId.",
        metadata={"example": 5, "description": "1..2147483647 (a digit string counts)"},
    )
    userName = OptionalName(
        allow_none=True,
        message="Invalid userName.",
        metadata={"example": "kim", "description": "at most 255 characters"},
    )

    @validates_schema
    def names_a_user(self, data: dict[str, Any], **_kwargs) -> None:
        """Either field must name the user."""
        if data.get("userId") is None and data.get("userName") is None:
            raise ValidationError("Either userName or userId must be specified.")


class NewUserEntitySchema(Lenient):
    userName = fields.String(required=True, metadata={"description": "1..255 characters, unique"})


class UserGroupRefSchema(Lenient):
    userGroupName = fields.String(required=True, metadata={"description": "only `master` exists"})


class EntityRefSchema(Lenient):
    clientId = fields.Integer()
    clientName = fields.String()


class RoleRefSchema(Lenient):
    roleId = fields.Integer()
    roleName = fields.String()


class EntitiesRefSchema(Lenient):
    entity = fields.List(fields.Nested(EntityRefSchema), required=True)


class AssociationPropertiesRefSchema(Lenient):
    role = fields.Nested(RoleRefSchema, required=True)


class AssociationRefSchema(Lenient):
    entities = fields.Nested(EntitiesRefSchema, required=True)
    properties = fields.Nested(AssociationPropertiesRefSchema, required=True)


class NewSecurityAssociationsSchema(Lenient):
    associationsOperationType = fields.Integer()
    associations = fields.List(fields.Nested(AssociationRefSchema))


class NewUserSchema(Lenient):
    userEntity = fields.Nested(NewUserEntitySchema, required=True)
    email = fields.String(metadata={"description": "at most 254 characters, with an @ when not empty"})
    fullName = fields.String()
    description = fields.String()
    password = fields.String(metadata={"description": "base64 of the UTF-8 password (1..256 characters)"})
    enableUser = fields.Boolean()
    associatedUserGroups = fields.List(fields.Nested(UserGroupRefSchema))
    securityAssociations = fields.Nested(NewSecurityAssociationsSchema)


class CreateUserRequestSchema(CheckedByService):
    users = fields.List(
        fields.Nested(NewUserSchema), required=True, metadata={"description": "exactly one user"}
    )


class OwnerRefSchema(Lenient):
    userId = fields.Integer()
    userName = fields.String()


class OwnerAssociationsRefSchema(Lenient):
    ownersOperationType = fields.Integer(metadata={"description": "1 replace (default), 2 add, 3 remove"})
    owners = fields.List(fields.Nested(OwnerRefSchema))


class ClientSecurityRefSchema(Lenient):
    ownerAssociations = fields.Nested(OwnerAssociationsRefSchema)


class ClientPropsRefSchema(Lenient):
    securityAssociations = fields.Nested(ClientSecurityRefSchema)


class ClientPropertiesRefSchema(Lenient):
    clientProps = fields.Nested(ClientPropsRefSchema)


class UpdateClientRequestSchema(CheckedByService):
    clientProperties = fields.Nested(ClientPropertiesRefSchema)


class CommonPropertiesRefSchema(Lenient):
    enableBackup = fields.Boolean()


class SubclientPropertiesRefSchema(Lenient):
    commonProperties = fields.Nested(CommonPropertiesRefSchema)


class UpdateSubclientRequestSchema(CheckedByService):
    subClientProperties = fields.Nested(SubclientPropertiesRefSchema)


# --- query parameters (all read as text: the service answers bad values with errorCode 2) ---


class Query(Schema):
    """Query parameters: unknown ones are ignored."""

    class Meta:
        unknown = EXCLUDE


class UserQuerySchema(Query):
    Level = fields.String(metadata={"description": "ignored"})


class DeleteUserQuerySchema(Query):
    newUserId = fields.String(metadata={"description": "the user who takes over the clients (digits)"})
    newUserGroupId = fields.String(metadata={"description": "0 or absent: ownership goes to newUserId"})


class V4UsersQuerySchema(Query):
    additionalProperties = fields.String(metadata={"description": "ignored"})


class ClientsQuerySchema(Query):
    PseudoClientType = fields.String(
        metadata={"description": "`VSPseudo` (any case): the virtualization clients, as VSPseudoClientsList"}
    )
    hiddenclients = fields.String(metadata={"description": "ignored: no client is hidden"})


class SubclientsQuerySchema(Query):
    clientId = fields.String(
        metadata={"description": "the client (digits); missing or not a positive integer: errorCode 2"}
    )


# --- responses --------------------------------------------------------------------------


class GenericRespSchema(Schema):
    errorCode = fields.Integer(
        required=True, metadata={"description": "0 success, 2 failure, 5 access denied; other: HTTP status"}
    )
    errorMessage = fields.String(required=True)


class ErrLogSchema(Schema):
    errorCode = fields.Integer(required=True)
    errLogMessage = fields.String(required=True)


class LoginResponseSchema(Schema):
    token = fields.String(metadata={"example": "QSDK 3f2a..."})
    userName = fields.String()
    userId = fields.Integer()
    aliasName = fields.String()
    userGUID = fields.String()
    smtpAddress = fields.String()
    loginAttempts = fields.Integer()
    remainingLockTime = fields.Integer()
    isAccountLocked = fields.Boolean()
    forcePasswordChange = fields.Boolean()
    providerType = fields.Integer()
    ccn = fields.Integer()
    errList = fields.List(fields.Nested(ErrLogSchema), required=True)


class RenewLoginTokenResponseSchema(Schema):
    token = fields.String(required=True)
    userName = fields.String(required=True)
    userId = fields.Integer(required=True)


class RenewLoginTokenFailureSchema(Schema):
    error = fields.Nested(ErrLogSchema, required=True)


class WhoAmIUserSchema(Schema):
    userName = fields.String(required=True)
    userId = fields.Integer(required=True)
    userGUID = fields.String(required=True)


class WhoAmISchema(Schema):
    user = fields.Nested(WhoAmIUserSchema, required=True)


class CommCellSchema(Schema):
    commCellId = fields.Integer(required=True)
    commCellName = fields.String(required=True)
    csGUID = fields.String(required=True)


class TimeZoneSchema(Schema):
    TimeZoneName = fields.String(required=True)


class CommServSchema(Schema):
    commcell = fields.Nested(CommCellSchema, required=True)
    hostName = fields.String(required=True)
    csTimeZone = fields.Nested(TimeZoneSchema, required=True)
    timeZone = fields.String(required=True)
    currentSPVersion = fields.Integer(required=True)
    csVersionInfo = fields.String(required=True)
    releaseName = fields.String(required=True)


class UserEntitySchema(Schema):
    userId = fields.Integer(required=True)
    userName = fields.String(required=True)
    userGUID = fields.String(required=True)


class UserGroupSchema(Schema):
    userGroupId = fields.Integer(required=True)
    userGroupName = fields.String(required=True)


class ClientRefSchema(Schema):
    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)
    _type_ = fields.Integer(required=True, metadata={"description": "3: a client"})


class RoleSchema(Schema):
    roleId = fields.Integer(required=True)
    roleName = fields.String(required=True)


class EntitiesSchema(Schema):
    entity = fields.List(fields.Nested(ClientRefSchema), required=True)


class AssociationPropertiesSchema(Schema):
    role = fields.Nested(RoleSchema, required=True)


class AssociationSchema(Schema):
    entities = fields.Nested(EntitiesSchema, required=True)
    properties = fields.Nested(AssociationPropertiesSchema, required=True)


class SecurityAssociationsSchema(Schema):
    associations = fields.List(fields.Nested(AssociationSchema), required=True)


class UserPropertiesSchema(Schema):
    userEntity = fields.Nested(UserEntitySchema, required=True)
    email = fields.String(required=True)
    fullName = fields.String(required=True)
    description = fields.String(required=True)
    enableUser = fields.Boolean(required=True)
    associatedUserGroups = fields.List(
        fields.Nested(UserGroupSchema), metadata={"description": "GET User/{userId} only"}
    )
    securityAssociations = fields.Nested(
        SecurityAssociationsSchema, metadata={"description": "GET User/{userId} only"}
    )


class UsersSchema(Schema):
    users = fields.List(fields.Nested(UserPropertiesSchema), required=True)


class V4UserGroupSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class V4UserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    GUID = fields.String(required=True)
    fullName = fields.String(required=True)
    email = fields.String(required=True)
    description = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    associatedUserGroups = fields.List(
        fields.Nested(V4UserGroupSchema), metadata={"description": "GET v4/user/{userId} only"}
    )


class V4UsersSchema(Schema):
    users = fields.List(fields.Nested(V4UserSchema), required=True)


class ResponseItemSchema(Schema):
    errorCode = fields.Integer(required=True)
    errorString = fields.String()
    entity = fields.Nested(UserEntitySchema)


class ResponseListSchema(Schema):
    response = fields.List(fields.Nested(ResponseItemSchema), required=True)


class ClientEntitySchema(Schema):
    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)
    hostName = fields.String(required=True)
    displayName = fields.String(required=True)
    clientGUID = fields.String(required=True)


class OsDisplayInfoSchema(Schema):
    OSName = fields.String(required=True)
    ProcessorType = fields.String(required=True)


class OsInfoSchema(Schema):
    Type = fields.String(required=True)
    SubType = fields.String(required=True)
    OsDisplayInfo = fields.Nested(OsDisplayInfoSchema, required=True)


class GalaxyReleaseSchema(Schema):
    ReleaseString = fields.String(required=True)


class VersionInfoSchema(Schema):
    version = fields.String(required=True)
    GalaxyRelease = fields.Nested(GalaxyReleaseSchema, required=True)


class ClientSchema(Schema):
    clientEntity = fields.Nested(ClientEntitySchema, required=True)
    displayName = fields.String(metadata={"description": "GET Client/{clientId} only"})
    osInfo = fields.Nested(OsInfoSchema, metadata={"description": "GET Client/{clientId} only"})
    cvdPort = fields.Integer()
    TimeZone = fields.Nested(TimeZoneSchema)
    versionInfo = fields.Nested(VersionInfoSchema)


class OwnerSchema(Schema):
    userId = fields.Integer(required=True)
    userName = fields.String(required=True)


class OwnerAssociationsSchema(Schema):
    owners = fields.List(fields.Nested(OwnerSchema), required=True)


class ClientSecurityAssociationsSchema(Schema):
    ownerAssociations = fields.Nested(OwnerAssociationsSchema, required=True)


class ClientSecuritySchema(Schema):
    clientOwners = fields.String(required=True, metadata={"description": "owners' names joined by ','"})


class ActivityControlSchema(Schema):
    EnableDataManagement = fields.Boolean(required=True)
    EnableDataRecovery = fields.Boolean(required=True)
    EnableOnlineContentIndex = fields.Boolean(required=True)


class ActivityControlOptionSchema(Schema):
    activityType = fields.Integer(
        required=True, metadata={"description": "1 backup, 2 restore, 16 data aging"}
    )
    enableActivityType = fields.Boolean(required=True)


class ClientActivityControlSchema(Schema):
    activityControlOptions = fields.List(fields.Nested(ActivityControlOptionSchema), required=True)


class ClientPropsSchema(Schema):
    securityAssociations = fields.Nested(ClientSecurityAssociationsSchema, required=True)
    clientSecurity = fields.Nested(ClientSecuritySchema, required=True)
    activityControl = fields.Nested(ActivityControlSchema, required=True)
    clientActivityControl = fields.Nested(ClientActivityControlSchema, required=True)
    EnableSnapBackups = fields.Boolean(required=True)


class PseudoClientSchema(Schema):
    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)


class VmStatusInfoSchema(Schema):
    strGUID = fields.String(required=True)
    vmName = fields.String(required=True)
    pseudoClient = fields.Nested(PseudoClientSchema, required=True)


class ClientPropertiesSchema(Schema):
    client = fields.Nested(ClientSchema, required=True)
    clientProps = fields.Nested(ClientPropsSchema, metadata={"description": "GET Client/{clientId} only"})
    vmStatusInfo = fields.Nested(VmStatusInfoSchema, metadata={"description": "VM clients only"})


class ClientsSchema(Schema):
    clientProperties = fields.List(fields.Nested(ClientPropertiesSchema), required=True)


class PseudoClientEntrySchema(Schema):
    client = fields.Nested(ClientEntitySchema, required=True)


class VirtualizationClientsSchema(Schema):
    VSPseudoClientsList = fields.List(fields.Nested(PseudoClientEntrySchema), required=True)


class AccessNodeSchema(Schema):
    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)
    displayName = fields.String(required=True)
    hostName = fields.String(required=True)


class AccessNodesSchema(Schema):
    clients = fields.List(fields.Nested(AccessNodeSchema), required=True)


class SubClientEntitySchema(Schema):
    subclientId = fields.Integer(required=True)
    subclientName = fields.String(required=True)
    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)
    appName = fields.String(required=True)
    instanceName = fields.String(required=True)
    backupsetName = fields.String(required=True)


class CommonPropertiesSchema(Schema):
    enableBackup = fields.Boolean(required=True)
    isDefaultSubclient = fields.Boolean(required=True)


class PlanEntitySchema(Schema):
    planId = fields.Integer(required=True)
    planName = fields.String(required=True)


class SubClientPropertiesSchema(Schema):
    subClientEntity = fields.Nested(SubClientEntitySchema, required=True)
    commonProperties = fields.Nested(CommonPropertiesSchema, required=True)
    planEntity = fields.Nested(PlanEntitySchema, required=True, allow_none=True)


class SubclientsSchema(Schema):
    subClientProperties = fields.List(fields.Nested(SubClientPropertiesSchema), required=True)
