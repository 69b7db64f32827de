"""svc-offboard's request and response shapes, as its OpenAPI document states them, and what validates input.

Response schemas are exact (no field beyond those listed); request schemas let
unknown fields through, as the product ignores them. A request schema's
refusal is a business failure (HTTP 200, errorCode != 0) with the product's
message for the first field it refuses, in declaration order
(``errors.invalid_fields``). Where the product checks fields between its
look-ups (POST User, Client/{id}, Subclient/{id}), the view hands the body over
as sent and the service checks it with the schema (``Lenient.check``) at the
point the product does, so that failures come in the product's order.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, ClassVar

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    pre_load,
    validates_schema,
)

from svc_offboard.errors import INVALID_CREDENTIALS, SESSION_NOT_RENEWABLE, invalid_fields

MAX_ID = 2147483647
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
DIGITS = re.compile(r"[0-9]+")
# Free text may span lines; the other C0 controls cannot travel in XML.
FREE_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MASTER_GROUP_NAME = "master"  # the only user group
OWNERS_OPERATIONS = (1, 2, 3)  # replace, add, remove
INVALID_SECURITY = "Invalid securityAssociations."
INVALID_OWNERS = "Invalid owners."


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

    def check(self, data: Any) -> Any:
        """``data`` loaded; a refusal is the business failure of its first field (errors.invalid_fields)."""
        try:
            # Schema.load itself: a CheckedInOrder body's own load hands the fields over unchecked.
            return Schema.load(self, data)
        except ValidationError as error:
            raise invalid_fields(error, "json") from None


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


class CheckedInOrder(RequestBody):
    """A body the product checks between its look-ups: the service checks it (``check``) where the product does.

    Loading it for the view hands the fields over as sent.
    """

    def load(self, data: Any, **_kwargs: Any) -> dict[str, Any]:
        return self.as_sent(data)


class OneMessage:
    """A field mixin: every refusal of the field is the product's one message.

    ``null_as_absent``: the product reads null as absent (the field is not documented nullable).
    """

    def __init__(self, *args: Any, message: str, null_as_absent: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.message, self.null_as_absent = message, null_as_absent

    def make_error(self, key: str, **kwargs: Any) -> ValidationError:
        return ValidationError(self.message)

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        if value is None and self.null_as_absent:
            return missing
        return super().deserialize(value, attr, data, **kwargs)


class Ignored:
    """A field mixin: documented, but the product ignores whatever it holds (loaded as sent)."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        return value


class IgnoredInteger(Ignored, fields.Integer):
    """An integer the product ignores."""


class IgnoredString(Ignored, fields.String):
    """A string the product ignores, or checks together with its neighbours."""


class Refused(OneMessage):
    """A field mixin: ``read`` loads a value, None when the product refuses it."""

    def read(self, value: Any) -> Any | None:
        """The value loaded from ``value``; None when the product refuses it."""
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        loaded = self.read(value)
        if loaded is None:
            raise self.make_error("invalid")
        return loaded


class Minutes(Refused, fields.Integer):
    """Minutes, 1..1440: a JSON integer or a digit string."""

    def read(self, value: Any) -> int | None:
        minutes = id_value(value, low=1)
        return minutes if minutes is not None and minutes <= 1440 else None


class Name(Refused, fields.String):
    """A non-empty name of at most 255 characters without control characters."""

    def read(self, value: Any) -> str | None:
        return value if is_valid_name(value) else None


class Username(Refused, fields.String):
    """A login's user name: any non-empty string (an unknown one is refused like a wrong password)."""

    def read(self, value: Any) -> str | None:
        return value if isinstance(value, str) and value else None


class Password(Refused, fields.String):
    """A base64 (UTF-8) password, loaded as the password itself."""

    def read(self, value: Any) -> str | None:
        return decode_password(value)


class AnyString(Refused, fields.String):
    """Any string: what it holds is looked up (a token, a user's name)."""

    def read(self, value: Any) -> str | None:
        return value if isinstance(value, str) else None


class OptionalId(Refused, fields.Integer):
    """An id, 0..MAX_ID, a JSON integer or a digit string; absent, empty, null or 0: None."""

    def read(self, value: Any) -> int | None:
        return id_value(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | None:
        return None if value == "" else super()._deserialize(value, attr, data, **kwargs) or None


class OptionalName(Name):
    """A name; empty or null: None."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        return None if value == "" else super()._deserialize(value, attr, data, **kwargs)


class Text(Refused, fields.String):
    """Free text of at most ``max_length`` characters without the ``forbidden`` ones."""

    def __init__(
        self, *args: Any, max_length: int, forbidden: re.Pattern[str] = FREE_TEXT_FORBIDDEN, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.max_length, self.forbidden = max_length, forbidden

    def read(self, value: Any) -> str | None:
        valid = isinstance(value, str) and len(value) <= self.max_length and not self.forbidden.search(value)
        return value if valid else None


class Email(Text):
    """An e-mail address: empty, or text with an ``@`` (no control characters at all)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, max_length=254, forbidden=CONTROL_CHARACTERS, **kwargs)

    def read(self, value: Any) -> str | None:
        address = super().read(value)
        return address if address == "" or (address and "@" in address) else None


class NewPassword(Password):
    """A new user's password: base64 of 1..256 characters."""

    def read(self, value: Any) -> str | None:
        password = super().read(value)
        return password if password is not None and 1 <= len(password) <= 256 else None


class Flag(Refused, fields.Boolean):
    """A JSON boolean (no other spelling)."""

    def read(self, value: Any) -> bool | None:
        return value if isinstance(value, bool) else None


class WholeNumber(Refused, fields.Integer):
    """A JSON integer (booleans are not), one of ``allowed`` when given."""

    def __init__(self, *args: Any, allowed: tuple[int, ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def read(self, value: Any) -> int | None:
        return value if is_int(value) and (not self.allowed or value in self.allowed) else None


class Section(OneMessage, fields.Nested):
    """A nested object; anything else is refused with the product's one message."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise self.make_error("type")
        return super()._deserialize(value, attr, data, **kwargs)


class Items(OneMessage, fields.List):
    """A list (``non_empty``: of one item at least); anything else is refused with the product's one message."""

    def __init__(self, *args: Any, non_empty: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.non_empty = non_empty

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list) or (self.non_empty and not value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class ReadIfObject(fields.Nested):
    """A nested object the product reads only when it is one: anything else reads as absent."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        return super().deserialize(value, attr, data, **kwargs) if isinstance(value, dict) else missing


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
    # ``QSDK <hex>`` or the hex alone, checked against the stored tokens.
    sessionId = AnyString(
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
    userName = Name(
        required=True, message="Invalid userName.", metadata={"description": "1..255 characters, unique"}
    )


class UserGroupRefSchema(Lenient):
    userGroupName = fields.String(required=True, metadata={"description": "only `master` exists"})


class UserGroups(Refused, fields.List):
    """``associatedUserGroups``: objects naming a user group, loaded as sent; every one must be ``master``."""

    def read(self, value: Any) -> list[dict[str, Any]] | None:
        named = isinstance(value, list) and all(
            isinstance(group, dict) and isinstance(group.get("userGroupName"), str) for group in value
        )
        return value if named else None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
        groups = super()._deserialize(value, attr, data, **kwargs)
        # Only once every entry names a group: a malformed list is refused before an unknown group.
        for group in groups:
            if group["userGroupName"].lower() != MASTER_GROUP_NAME:
                raise ValidationError(f"User group [{group['userGroupName']}] does not exist.")
        return groups


class ByIdOrName(Lenient):
    """An entity named by id (a JSON integer; its name is then not read) or else by a non-empty name.

    Loaded as that id or name, for the service to look up.
    """

    id_key: ClassVar[str]
    name_key: ClassVar[str]

    @post_load
    def reference(self, data: dict[str, Any], **_kwargs) -> int | str:
        """The id, or else the name."""
        if self.id_key in data:
            return data[self.id_key]
        name = data.get(self.name_key)
        if isinstance(name, str) and name:
            return name
        raise ValidationError(INVALID_SECURITY)


class EntityRefSchema(ByIdOrName):
    id_key, name_key = "clientId", "clientName"

    clientId = WholeNumber(message=INVALID_SECURITY)
    clientName = IgnoredString()


class RoleRefSchema(ByIdOrName):
    id_key, name_key = "roleId", "roleName"

    roleId = WholeNumber(message=INVALID_SECURITY)
    roleName = IgnoredString()


class EntitiesRefSchema(Lenient):
    entity = Items(
        Section(EntityRefSchema, message=INVALID_SECURITY),
        required=True,
        non_empty=True,
        message=INVALID_SECURITY,
    )


class AssociationPropertiesRefSchema(Lenient):
    role = Section(RoleRefSchema, required=True, message=INVALID_SECURITY)


class AssociationRefSchema(Lenient):
    entities = Section(EntitiesRefSchema, required=True, message=INVALID_SECURITY)
    properties = Section(AssociationPropertiesRefSchema, required=True, message=INVALID_SECURITY)


class NewSecurityAssociationsSchema(Lenient):
    associationsOperationType = IgnoredInteger()
    associations = Items(
        Section(AssociationRefSchema, message=INVALID_SECURITY), message=INVALID_SECURITY, null_as_absent=True
    )


class NewUserSchema(Lenient):
    """One new user: checked in two steps, its name before the look-up of that name and the rest after."""

    userEntity = Section(NewUserEntitySchema, required=True, message="Invalid userName.")
    email = Email(
        message="Invalid email.", metadata={"description": "at most 254 characters, with an @ when not empty"}
    )
    fullName = Text(max_length=255, message="Invalid fullName.")
    description = Text(max_length=255, message="Invalid description.")
    password = NewPassword(
        message="Invalid password.",
        metadata={"description": "base64 of the UTF-8 password (1..256 characters)"},
    )
    enableUser = Flag(message="Invalid enableUser.")
    associatedUserGroups = UserGroups(
        fields.Nested(UserGroupRefSchema), message="Invalid associatedUserGroups.", null_as_absent=True
    )
    securityAssociations = Section(
        NewSecurityAssociationsSchema, message=INVALID_SECURITY, null_as_absent=True
    )


class OneUser(Refused, fields.List):
    """``users``: a list of exactly one object, loaded as sent (the service checks it with NewUserSchema)."""

    def read(self, value: Any) -> list[dict[str, Any]] | None:
        return value if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) else None


class CreateUserRequestSchema(CheckedInOrder):
    users = OneUser(
        fields.Nested(NewUserSchema),
        required=True,
        message="Exactly one user must be specified.",
        metadata={"description": "exactly one user"},
    )


class OwnerName(AnyString):
    """An owner's userName: any string; empty reads as absent."""

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        return missing if value == "" else super().deserialize(value, attr, data, **kwargs)


class OwnerRefSchema(Lenient):
    userId = WholeNumber(message=INVALID_OWNERS, null_as_absent=True)
    userName = OwnerName(message=INVALID_OWNERS, null_as_absent=True)

    @validates_schema
    def names_a_user(self, data: dict[str, Any], **_kwargs) -> None:
        """userId or userName must name the owner."""
        if "userId" not in data and "userName" not in data:
            raise ValidationError(INVALID_OWNERS)


class OwnerAssociationsRefSchema(Lenient):
    ownersOperationType = WholeNumber(
        allowed=OWNERS_OPERATIONS,
        message="Invalid ownersOperationType.",
        metadata={"description": "1 replace (default), 2 add, 3 remove"},
    )
    owners = Items(Section(OwnerRefSchema, message=INVALID_OWNERS), message=INVALID_OWNERS)

    @validates_schema
    def lists_owners(self, data: dict[str, Any], **_kwargs) -> None:
        """``owners`` is required (it is not documented so)."""
        if "owners" not in data:
            raise ValidationError(INVALID_OWNERS)


class ClientSecurityRefSchema(Lenient):
    ownerAssociations = ReadIfObject(OwnerAssociationsRefSchema)


class ClientPropsRefSchema(Lenient):
    securityAssociations = ReadIfObject(ClientSecurityRefSchema)


class ClientPropertiesRefSchema(Lenient):
    clientProps = ReadIfObject(ClientPropsRefSchema)


class UpdateClientRequestSchema(CheckedInOrder):
    clientProperties = ReadIfObject(ClientPropertiesRefSchema)


class CommonPropertiesRefSchema(Lenient):
    enableBackup = Flag(message="Invalid value for enableBackup.")


class SubclientPropertiesRefSchema(Lenient):
    commonProperties = ReadIfObject(CommonPropertiesRefSchema)


class UpdateSubclientRequestSchema(CheckedInOrder):
    subClientProperties = ReadIfObject(SubclientPropertiesRefSchema)


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


class UserIdentitySchema(Schema):
    """The fields that name a user in an answer (the fields of answers that extend it come after)."""

    userId = fields.Integer(required=True)
    userName = fields.String(required=True)


class ClientIdentitySchema(Schema):
    """The fields that name a client in an answer (the fields of answers that extend it come after)."""

    clientId = fields.Integer(required=True)
    clientName = fields.String(required=True)


class UserEntitySchema(UserIdentitySchema):
    userGUID = fields.String(required=True)


class UserGroupSchema(Schema):
    userGroupId = fields.Integer(required=True)
    userGroupName = fields.String(required=True)


class ClientRefSchema(ClientIdentitySchema):
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


class ClientEntitySchema(ClientIdentitySchema):
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


class OwnerSchema(UserIdentitySchema):
    """A client's owner."""


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


class PseudoClientSchema(ClientIdentitySchema):
    """The hypervisor a VM client runs on."""


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


class AccessNodeSchema(ClientIdentitySchema):
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
