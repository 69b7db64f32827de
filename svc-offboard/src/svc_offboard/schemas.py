"""svc-offboard request and response shapes, for the OpenAPI document.

The views parse bodies themselves (JSON or XML, Commvault's lenient rules in
wire.py); these schemas describe the wire format for readers of the docs.
"""

from marshmallow import Schema, fields


class LoginRequestSchema(Schema):
    username = fields.String(required=True, metadata={"example": "admin"})
    password = fields.String(
        required=True, metadata={"description": "base64 of the UTF-8 password", "example": "YWRtaW4tZGVtbw=="}
    )
    timeout = fields.Integer(metadata={"description": "idle timeout in minutes, 1..1440 (default 30)"})


class ErrLogSchema(Schema):
    errorCode = fields.Integer()
    errLogMessage = fields.String()


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
    errList = fields.List(fields.Nested(ErrLogSchema))


class GenericRespSchema(Schema):
    errorCode = fields.Integer(metadata={"description": "0 success, 2 failure, 5 access denied"})
    errorMessage = fields.String()


class OffboardRequestSchema(Schema):
    userName = fields.String(metadata={"example": "kim"})
    userId = fields.Integer(metadata={"example": 5})


class UserEntitySchema(Schema):
    userId = fields.Integer()
    userName = fields.String(required=True)
    userGUID = fields.String()


class UserGroupSchema(Schema):
    userGroupId = fields.Integer()
    userGroupName = fields.String()


class ClientRefSchema(Schema):
    clientId = fields.Integer()
    clientName = fields.String()
    _type_ = fields.Integer()


class RoleSchema(Schema):
    roleId = fields.Integer()
    roleName = fields.String()


class EntitiesSchema(Schema):
    entity = fields.List(fields.Nested(ClientRefSchema))


class AssociationPropertiesSchema(Schema):
    role = fields.Nested(RoleSchema)


class AssociationSchema(Schema):
    entities = fields.Nested(EntitiesSchema)
    properties = fields.Nested(AssociationPropertiesSchema)


class SecurityAssociationsSchema(Schema):
    associationsOperationType = fields.Integer()
    associations = fields.List(fields.Nested(AssociationSchema))


class UserSchema(Schema):
    userEntity = fields.Nested(UserEntitySchema)
    email = fields.String()
    fullName = fields.String()
    description = fields.String()
    enableUser = fields.Boolean()
    password = fields.String(load_only=True, metadata={"description": "base64 of the UTF-8 password"})
    associatedUserGroups = fields.List(fields.Nested(UserGroupSchema))
    securityAssociations = fields.Nested(SecurityAssociationsSchema)


class UsersSchema(Schema):
    users = fields.List(fields.Nested(UserSchema))


class ResponseItemSchema(Schema):
    errorCode = fields.Integer()
    errorString = fields.String()
    entity = fields.Nested(UserEntitySchema)


class GenericResponseSchema(Schema):
    response = fields.List(fields.Nested(ResponseItemSchema))


class ClientEntitySchema(Schema):
    clientId = fields.Integer()
    clientName = fields.String()
    hostName = fields.String()
    displayName = fields.String()
    clientGUID = fields.String()


class ClientSchema(Schema):
    clientEntity = fields.Nested(ClientEntitySchema)


class OwnerSchema(Schema):
    userId = fields.Integer()
    userName = fields.String()


class OwnerAssociationsSchema(Schema):
    ownersOperationType = fields.Integer(metadata={"description": "1 replace (default), 2 add, 3 remove"})
    owners = fields.List(fields.Nested(OwnerSchema))


class ClientSecurityAssociationsSchema(Schema):
    ownerAssociations = fields.Nested(OwnerAssociationsSchema)


class ClientSecuritySchema(Schema):
    clientOwners = fields.String()


class ClientPropsSchema(Schema):
    securityAssociations = fields.Nested(ClientSecurityAssociationsSchema)
    clientSecurity = fields.Nested(ClientSecuritySchema)


class PseudoClientSchema(Schema):
    clientId = fields.Integer()
    clientName = fields.String()


class VmStatusInfoSchema(Schema):
    strGUID = fields.String()
    vmName = fields.String()
    pseudoClient = fields.Nested(PseudoClientSchema)


class ClientPropertiesSchema(Schema):
    client = fields.Nested(ClientSchema)
    clientProps = fields.Nested(ClientPropsSchema)
    vmStatusInfo = fields.Nested(VmStatusInfoSchema)


class ClientsSchema(Schema):
    clientProperties = fields.List(fields.Nested(ClientPropertiesSchema))


class ClientUpdateSchema(Schema):
    clientProperties = fields.Nested(ClientPropertiesSchema)


class SubClientEntitySchema(Schema):
    subclientId = fields.Integer()
    subclientName = fields.String()
    clientId = fields.Integer()
    clientName = fields.String()
    appName = fields.String()
    instanceName = fields.String()
    backupsetName = fields.String()


class CommonPropertiesSchema(Schema):
    enableBackup = fields.Boolean()
    isDefaultSubclient = fields.Boolean(dump_only=True)


class PlanEntitySchema(Schema):
    planId = fields.Integer()
    planName = fields.String()


class SubClientPropertiesSchema(Schema):
    subClientEntity = fields.Nested(SubClientEntitySchema)
    commonProperties = fields.Nested(CommonPropertiesSchema)
    planEntity = fields.Nested(PlanEntitySchema)


class SubclientsSchema(Schema):
    subClientProperties = fields.List(fields.Nested(SubClientPropertiesSchema))


class SubclientUpdateSchema(Schema):
    subClientProperties = fields.Nested(SubClientPropertiesSchema)
