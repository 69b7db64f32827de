"""svc-offboard's request and response shapes, as its OpenAPI document states them.

Response schemas are exact (no field beyond those listed); request schemas let
unknown fields through, as the product ignores them. The views parse bodies
with Commvault's lenient rules (bodies.py); these schemas say what is read.
"""

from marshmallow import EXCLUDE, INCLUDE, Schema, fields


class Lenient(Schema):
    """A request body: unknown fields are allowed (and ignored)."""

    class Meta:
        unknown = INCLUDE


# --- requests ---------------------------------------------------------------------------


class LoginRequestSchema(Lenient):
    username = fields.String(required=True, metadata={"example": "admin"})
    password = fields.String(
        required=True, metadata={"description": "base64 of the UTF-8 password", "example": "YWRtaW4tZGVtbw=="}
    )
    timeout = fields.Integer(
        metadata={"description": "idle timeout in minutes, 1..1440 (default 30); `timeOut` is read too"}
    )


class RenewLoginTokenRequestSchema(Lenient):
    sessionId = fields.String(
        metadata={
            "description": "the token to renew (default: the `Authtoken` header)",
            "example": "QSDK 3f2a...",
        }
    )
    deviceId = fields.String(metadata={"description": "ignored"})


class OffboardRequestSchema(Lenient):
    userName = fields.String(metadata={"example": "kim", "description": "at most 255 characters"})
    userId = fields.Integer(metadata={"example": 5, "description": "1..2147483647 (a digit string counts)"})


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


class CreateUserRequestSchema(Lenient):
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


class UpdateClientRequestSchema(Lenient):
    clientProperties = fields.Nested(ClientPropertiesRefSchema)


class CommonPropertiesRefSchema(Lenient):
    enableBackup = fields.Boolean()


class SubclientPropertiesRefSchema(Lenient):
    commonProperties = fields.Nested(CommonPropertiesRefSchema)


class UpdateSubclientRequestSchema(Lenient):
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
