"""svc-agenda's request and response shapes, for the OpenAPI document (binding is in wire.py)."""

from marshmallow import Schema, fields


class RequestResultSchema(Schema):
    Message = fields.String()
    Code = fields.Integer()
    ModelStateErr = fields.List(fields.String(), allow_none=True)


class LoginReqSchema(Schema):
    Result = fields.Nested(RequestResultSchema, allow_none=True)
    UserLogin = fields.String(required=True, metadata={"maxLength": 100})
    ApiKey = fields.String(required=True, metadata={"maxLength": 200})


class LoginRespSchema(Schema):
    Token = fields.UUID()
    ExpireInSec = fields.Integer()
    ExpireDate = fields.String(metadata={"example": "/Date(1770200077469)/"})


class UserRemoveReqSchema(Schema):
    LoginName = fields.String(required=True, metadata={"example": "John.Doo", "maxLength": 100})


class UserCreateReqSchema(Schema):
    LoginName = fields.String(required=True, metadata={"maxLength": 100})
    UserName = fields.String(required=True, metadata={"maxLength": 100})
    ValidFrom = fields.String(allow_none=True, metadata={"example": "/Date(1770200077469)/"})
    ValidTo = fields.String(allow_none=True)
    Lock = fields.Integer(metadata={"enum": [0, 1]})
    PersonID = fields.String(allow_none=True, metadata={"maxLength": 100})


class UserSchema(Schema):
    LoginName = fields.String()
    UserName = fields.String()
    Roles = fields.List(fields.String())
    TimeLastChange = fields.String()
    VerificationNT = fields.Integer()
    ValidFrom = fields.String(allow_none=True)
    ValidTo = fields.String(allow_none=True)
    Lock = fields.Integer()
    PersonID = fields.String(allow_none=True)


class BaseRespSchema(Schema):
    Result = fields.Nested(RequestResultSchema)
    Request = fields.Dict(allow_none=True)


class UsersRespSchema(BaseRespSchema):
    Users = fields.List(fields.Nested(UserSchema))


class UserRespSchema(BaseRespSchema, UserSchema):
    pass


def body(schema: type[Schema]) -> dict:
    """An OpenAPI requestBody in the two formats the API binds."""
    return {
        "required": True,
        "content": {"application/json": {"schema": schema}, "application/xml": {"schema": schema}},
    }


def answer(schema: type[Schema], description: str = "Code 0, or an error of the BaseResp table") -> dict:
    """An OpenAPI response in JSON or XML."""
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}, "application/xml": {"schema": schema}},
    }
