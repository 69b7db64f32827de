"""svc-offboard's request and response shapes, as its OpenAPI document states them, and what validates input.

Response schemas dump what the services return (``@blp.response``) and are
exact (no field beyond those listed); request schemas let
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
from marshmallow.utils import get_value

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


# --- responses ----------------------------------------------------------------------------
#
# Each answer's schema dumps what its service returns (the models, and services'
# records of what they read or did) into the product's shape; wire renders the
# dump as JSON or XML. Fields keep the product's names and read ``attribute``.

# The Commcell release this service answers as: 11 (Feature Release 40).
SERVICE_PACK = 40
RELEASE = "11.0.0"
ENTITY_TYPE_CLIENT = 3  # ``_type_`` of a client entity


class Whole:
    """A field mixin: dumps the whole object being dumped (the product wraps it in this field)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return obj


class Fixed:
    """A field mixin: the same value in every answer (the product reports it; this service has no other)."""

    def __init__(self, value: Any, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.value = value

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return self.value


class OnlySome:
    """A field mixin: only some answers carry it: it dumps what ``source`` names, left out where that is None.

    ``source`` is an attribute (or dotted path) of the object that several fields may read,
    which marshmallow's ``attribute`` does not allow.
    """

    def __init__(self, *args: Any, source: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.source = source

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = missing) -> Any:
        return get_value(obj, self.source, default)

    def serialize(self, attr: str, obj: Any, accessor: Any = None, **kwargs: Any) -> Any:
        value = super().serialize(attr, obj, accessor, **kwargs)
        return missing if value is None else value


class WholeNested(Whole, fields.Nested):
    """The object being dumped, as a nested object."""


class WholeList(Whole, fields.List):
    """The object being dumped (a list), as a list."""


class FixedInteger(Fixed, fields.Integer):
    """An integer every answer carries alike."""


class FixedString(Fixed, fields.String):
    """A string every answer carries alike."""


class FixedBoolean(Fixed, fields.Boolean):
    """A boolean every answer carries alike."""


class FixedList(Fixed, fields.List):
    """A list every answer carries alike."""


class SomeNested(OnlySome, fields.Nested):
    """A nested object only some answers carry."""


class SomeList(OnlySome, fields.List):
    """A list only some answers carry."""


class SomeString(OnlySome, fields.String):
    """A string only some answers carry."""


class GenericRespSchema(Schema):
    """An ``Outcome`` in the generic envelope."""

    errorCode = fields.Integer(
        attribute="code",
        required=True,
        metadata={"description": "0 success, 2 failure, 5 access denied; other: HTTP status"},
    )
    errorMessage = fields.String(attribute="message", required=True)


class OffboardRespSchema(Schema):
    """An offboarding's ``Outcome``: the generic envelope, its message first."""

    errorMessage = fields.String(attribute="message", required=True)
    errorCode = fields.Integer(
        attribute="code",
        required=True,
        metadata={"description": "0 success, 2 failure, 5 access denied; other: HTTP status"},
    )


class ErrLogSchema(Schema):
    """A failed ``Outcome``, as Login and RenewLoginToken report it."""

    errorCode = fields.Integer(attribute="code", required=True)
    errLogMessage = fields.String(attribute="message", required=True)


class LoginResponseSchema(Schema):
    """A ``SignedIn``: the new token and its user."""

    token = fields.String(metadata={"example": "QSDK 3f2a..."})
    userName = fields.String(attribute="user.user_name")
    userId = fields.Integer(attribute="user.user_id")
    aliasName = fields.String(attribute="alias_name")
    userGUID = fields.String(attribute="user.user_guid")
    smtpAddress = fields.String(attribute="user.email")
    # No lockout or forced password change is modelled; every user is a local (Commcell) user.
    loginAttempts = FixedInteger(0)
    remainingLockTime = FixedInteger(0)
    isAccountLocked = FixedBoolean(False)
    forcePasswordChange = FixedBoolean(False)
    providerType = FixedInteger(1)
    ccn = FixedInteger(0)
    errList = FixedList([], fields.Nested(ErrLogSchema), required=True)


class RenewLoginTokenResponseSchema(Schema):
    """A ``SignedIn``: the new token and its user."""

    token = fields.String(required=True)
    userName = fields.String(attribute="user.user_name", required=True)
    userId = fields.Integer(attribute="user.user_id", required=True)


class LoginFailureSchema(Schema):
    """A refused login: a list of failed ``Outcome`` (documented as LoginResponse's ``errList``)."""

    errList = WholeList(fields.Nested(ErrLogSchema), required=True)


class RenewLoginTokenFailureSchema(Schema):
    """A refused renewal: its failed ``Outcome``."""

    error = WholeNested(ErrLogSchema, required=True)


class WhoAmIUserSchema(Schema):
    userName = fields.String(attribute="user_name", required=True)
    userId = fields.Integer(attribute="user_id", required=True)
    userGUID = fields.String(attribute="user_guid", required=True)


class WhoAmISchema(Schema):
    """A ``User``."""

    user = WholeNested(WhoAmIUserSchema, required=True)


class CommCellSchema(Schema):
    commCellId = fields.Integer(attribute="commcell_id", required=True)
    commCellName = fields.String(attribute="name", required=True)
    csGUID = fields.String(attribute="guid", required=True)


class TimeZoneSchema(Schema):
    TimeZoneName = fields.String(attribute="time_zone_name", required=True)


class CommServSchema(Schema):
    """A ``CommServe``."""

    commcell = WholeNested(CommCellSchema, required=True)
    hostName = fields.String(attribute="host_name", required=True)
    csTimeZone = WholeNested(TimeZoneSchema, required=True)
    timeZone = fields.String(attribute="time_zone_name", required=True)
    currentSPVersion = FixedInteger(SERVICE_PACK, required=True)
    csVersionInfo = FixedString(f"11.{SERVICE_PACK}", required=True)
    releaseName = FixedString(RELEASE, required=True)


class UserIdentitySchema(Schema):
    """The fields that name a ``User`` in an answer (the fields of answers that extend it come after)."""

    userId = fields.Integer(attribute="user_id", required=True)
    userName = fields.String(attribute="user_name", required=True)


class ClientIdentitySchema(Schema):
    """The fields that name a ``Client`` in an answer (the fields of answers that extend it come after)."""

    clientId = fields.Integer(attribute="client_id", required=True)
    clientName = fields.String(attribute="client_name", required=True)


class UserEntitySchema(UserIdentitySchema):
    userGUID = fields.String(attribute="user_guid", required=True)


class UserGroupSchema(Schema):
    """A ``UserGroup``."""

    userGroupId = fields.Integer(attribute="id", required=True)
    userGroupName = fields.String(attribute="name", required=True)


class ClientRefSchema(ClientIdentitySchema):
    _type_ = FixedInteger(ENTITY_TYPE_CLIENT, required=True, metadata={"description": "3: a client"})


class RoleSchema(Schema):
    roleId = fields.Integer(attribute="role_id", required=True)
    roleName = fields.String(attribute="role_name", required=True)


class EntitiesSchema(Schema):
    entity = fields.List(fields.Nested(ClientRefSchema), attribute="clients", required=True)


class AssociationPropertiesSchema(Schema):
    role = fields.Nested(RoleSchema, required=True)


class AssociationSchema(Schema):
    """An ``Association``: the clients, and the role the user holds there."""

    entities = WholeNested(EntitiesSchema, required=True)
    properties = WholeNested(AssociationPropertiesSchema, required=True)


class SecurityAssociationsSchema(Schema):
    """A list of ``Association``."""

    associations = WholeList(fields.Nested(AssociationSchema), required=True)


class UserPropertiesSchema(Schema):
    """A ``UserProperties``: the user, with its groups and associations when it has them."""

    userEntity = fields.Nested(UserEntitySchema, attribute="user", required=True)
    email = fields.String(attribute="user.email", required=True)
    fullName = fields.String(attribute="user.full_name", required=True)
    description = fields.String(attribute="user.description", required=True)
    enableUser = fields.Boolean(attribute="user.enable_user", required=True)
    associatedUserGroups = SomeList(
        fields.Nested(UserGroupSchema), source="groups", metadata={"description": "GET User/{userId} only"}
    )
    securityAssociations = SomeNested(
        SecurityAssociationsSchema,
        source="associations",
        metadata={"description": "GET User/{userId} only"},
    )


class UsersSchema(Schema):
    """A list of ``UserProperties``."""

    users = WholeList(fields.Nested(UserPropertiesSchema), required=True)


class V4UserGroupSchema(Schema):
    """A ``UserGroup`` in the v4 API's shape."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


class V4UserSchema(Schema):
    """A ``UserProperties`` in the v4 API's shape: the user, with its groups when it has them."""

    id = fields.Integer(attribute="user.user_id", required=True)
    name = fields.String(attribute="user.user_name", required=True)
    GUID = fields.String(attribute="user.user_guid", required=True)
    fullName = fields.String(attribute="user.full_name", required=True)
    email = fields.String(attribute="user.email", required=True)
    description = fields.String(attribute="user.description", required=True)
    enabled = fields.Boolean(attribute="user.enable_user", required=True)
    associatedUserGroups = SomeList(
        fields.Nested(V4UserGroupSchema),
        source="groups",
        metadata={"description": "GET v4/user/{userId} only"},
    )


class V4UsersSchema(Schema):
    """A list of ``UserProperties``."""

    users = WholeList(fields.Nested(V4UserSchema), required=True)


class ResponseItemSchema(Schema):
    """An ``Outcome``: its message and the user it concerned when it has them."""

    errorCode = fields.Integer(attribute="code", required=True)
    errorString = SomeString(source="message")
    entity = SomeNested(UserEntitySchema, source="user")


class ResponseListSchema(Schema):
    """A list of ``Outcome``, one per entity written."""

    response = WholeList(fields.Nested(ResponseItemSchema), required=True)


class ClientEntitySchema(ClientIdentitySchema):
    hostName = fields.String(attribute="host_name", required=True)
    displayName = fields.String(attribute="display_name", required=True)
    clientGUID = fields.String(attribute="client_guid", required=True)


class OsDisplayInfoSchema(Schema):
    OSName = fields.String(attribute="os_name", required=True)
    ProcessorType = fields.String(attribute="processor_type", required=True)


class OsInfoSchema(Schema):
    Type = fields.String(attribute="os_type", required=True)
    SubType = fields.String(attribute="os_subtype", required=True)
    OsDisplayInfo = WholeNested(OsDisplayInfoSchema, required=True)


class GalaxyReleaseSchema(Schema):
    ReleaseString = FixedString(RELEASE, required=True)


class VersionInfoSchema(Schema):
    version = FixedString(f"ServicePack:{SERVICE_PACK}", required=True)
    GalaxyRelease = WholeNested(GalaxyReleaseSchema, required=True)


class ClientSchema(Schema):
    """A ``ClientProperties``'s client: its system properties only when it is answered in full."""

    clientEntity = fields.Nested(ClientEntitySchema, attribute="client", required=True)
    # ``in_full`` is the client when answered in full, else None: the fields below are then left out.
    displayName = fields.String(
        attribute="in_full.display_name", metadata={"description": "GET Client/{clientId} only"}
    )
    osInfo = SomeNested(
        OsInfoSchema, source="in_full", metadata={"description": "GET Client/{clientId} only"}
    )
    cvdPort = fields.Integer(attribute="in_full.cvd_port")
    TimeZone = SomeNested(TimeZoneSchema, source="in_full")
    versionInfo = SomeNested(VersionInfoSchema, source="in_full")


class OwnerSchema(UserIdentitySchema):
    """A client's owner."""


class OwnerAssociationsSchema(Schema):
    owners = fields.List(fields.Nested(OwnerSchema), required=True)


class ClientSecurityAssociationsSchema(Schema):
    ownerAssociations = WholeNested(OwnerAssociationsSchema, required=True)


class ClientSecuritySchema(Schema):
    clientOwners = fields.String(
        attribute="owner_names", required=True, metadata={"description": "owners' names joined by ','"}
    )


class ActivityControlSchema(Schema):
    EnableDataManagement = fields.Boolean(attribute="backing_up", required=True)
    # Restores, data aging and content indexing are not modelled: restores and aging run.
    EnableDataRecovery = FixedBoolean(True, required=True)
    EnableOnlineContentIndex = FixedBoolean(False, required=True)


class ActivityControlOptionSchema(Schema):
    """An ``Activity``."""

    activityType = fields.Integer(
        attribute="activity_type",
        required=True,
        metadata={"description": "1 backup, 2 restore, 16 data aging"},
    )
    enableActivityType = fields.Boolean(attribute="enabled", required=True)


class ClientActivityControlSchema(Schema):
    activityControlOptions = fields.List(
        fields.Nested(ActivityControlOptionSchema), attribute="activities", required=True
    )


class ClientPropsSchema(Schema):
    """A ``ClientDetails``: owners and activity."""

    securityAssociations = WholeNested(ClientSecurityAssociationsSchema, required=True)
    clientSecurity = WholeNested(ClientSecuritySchema, required=True)
    activityControl = WholeNested(ActivityControlSchema, required=True)
    clientActivityControl = WholeNested(ClientActivityControlSchema, required=True)
    EnableSnapBackups = FixedBoolean(False, required=True)


class PseudoClientSchema(ClientIdentitySchema):
    """The hypervisor a VM client runs on."""


class VmStatusInfoSchema(Schema):
    """A ``ClientProperties`` of a VM client."""

    strGUID = fields.String(attribute="client.vm_guid", required=True)
    vmName = fields.String(attribute="client.client_name", required=True)
    pseudoClient = fields.Nested(PseudoClientSchema, attribute="details.hypervisor", required=True)


class ClientPropertiesSchema(Schema):
    """A ``ClientProperties``."""

    client = WholeNested(ClientSchema, required=True)
    clientProps = SomeNested(
        ClientPropsSchema, source="details", metadata={"description": "GET Client/{clientId} only"}
    )
    vmStatusInfo = SomeNested(VmStatusInfoSchema, source="as_vm", metadata={"description": "VM clients only"})


class ClientsSchema(Schema):
    """A list of ``ClientProperties``."""

    clientProperties = WholeList(fields.Nested(ClientPropertiesSchema), required=True)


class PseudoClientEntrySchema(Schema):
    """A ``Client`` that is a hypervisor."""

    client = WholeNested(ClientEntitySchema, required=True)


class VirtualizationClientsSchema(Schema):
    """A list of hypervisor ``Client``."""

    VSPseudoClientsList = WholeList(fields.Nested(PseudoClientEntrySchema), required=True)


class AccessNodeSchema(ClientIdentitySchema):
    displayName = fields.String(attribute="display_name", required=True)
    hostName = fields.String(attribute="host_name", required=True)


class AccessNodesSchema(Schema):
    """A list of access node ``Client``."""

    clients = WholeList(fields.Nested(AccessNodeSchema), required=True)


class SubClientEntitySchema(Schema):
    subclientId = fields.Integer(attribute="subclient.subclient_id", required=True)
    subclientName = fields.String(attribute="subclient.subclient_name", required=True)
    clientId = fields.Integer(attribute="client.client_id", required=True)
    clientName = fields.String(attribute="client.client_name", required=True)
    appName = fields.String(attribute="client.app_name", required=True)
    instanceName = fields.String(attribute="client.instance_name", required=True)
    backupsetName = fields.String(attribute="client.backupset_name", required=True)


class CommonPropertiesSchema(Schema):
    enableBackup = fields.Boolean(attribute="enable_backup", required=True)
    isDefaultSubclient = fields.Boolean(attribute="is_default", required=True)


class PlanEntitySchema(Schema):
    planId = fields.Integer(attribute="plan_id", required=True)
    planName = fields.String(attribute="plan_name", required=True)


class SubClientPropertiesSchema(Schema):
    """A ``SubclientProperties``: the subclient, its client and its plan (null without one)."""

    subClientEntity = WholeNested(SubClientEntitySchema, required=True)
    commonProperties = fields.Nested(CommonPropertiesSchema, attribute="subclient", required=True)
    planEntity = fields.Nested(PlanEntitySchema, attribute="plan", required=True, allow_none=True)


class SubclientsSchema(Schema):
    """A list of ``SubclientProperties``."""

    subClientProperties = WholeList(fields.Nested(SubClientPropertiesSchema), required=True)
