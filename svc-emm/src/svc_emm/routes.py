"""svc-emm HTTP endpoints: thin views declaring who calls, what they read, and calling services.py and auth.py."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import MethodNotAllowed

from svc_emm import apidoc, auth, mail, schemas, services
from svc_emm.auth import ADMIN, ANYONE, FORM, SELF
from svc_emm.errors import INVITE_FAULT, NO_STORE, REGISTRATION_FAULT, Invalid, OAuthError, ServerFault
from vendorkit import arguments, db
from vendorkit.endpoints import declare

blp = arguments.blueprint(
    "emm",
    __name__,
    read_body=schemas.read_json_object,
    refuse=schemas.refuse,
    description="WSO2 EMM 2.0 admin API: users, roles, devices, mail outbox",
)
oauth = Blueprint("oauth2", __name__, description="OAuth2 token endpoint (password and refresh_token grants)")

JSON = (schemas.JSON,)
# Second segments of /mdm-admin/users/... that are endpoints, never user-name filters.
FIXED_SEGMENTS = {
    "view": ["GET"],
    "view-users": ["GET"],
    "users-by-username": ["GET"],
    "count": ["GET"],
    "devices": ["GET"],
    "roles": ["GET", "POST"],
    "email-invitation": ["POST"],
    "change-password": ["POST"],
    "reset-password": ["POST"],
}


def answer(result: services.Answer) -> tuple[services.Answer, int]:
    """The envelope to dump and its HTTP status, which WSO2 repeats as ``statusCode``."""
    return result, result.status


@blp.route("/mdm-admin/users", strict_slashes=False)
class Users(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.response(200, apidoc.UserListPayloadSchema, description="All users")
    def get(self):
        """List all users, sorted by username."""
        return answer(services.list_users(db.session()))

    @apidoc.operation(refusals={409: "The user already exists"})
    @declare(ADMIN, formats=JSON)
    @blp.arguments(schemas.AddUserRequestSchema)
    @blp.response(201, apidoc.PAYLOAD, description="The user was added and the registration mail sent")
    def post(self, data: schemas.UserInput):
        """Add a user with a generated password and send the registration mail."""
        try:
            with db.unit_of_work() as session:
                return answer(services.add_user(session, current_app.config, data))
        except services.Undelivered as refused:
            # The user is rolled back with the failed delivery, but the outbox
            # keeps the mail: a second unit of work records it.
            with db.unit_of_work() as session:
                mail.record(session, refused.mails)
            raise ServerFault(REGISTRATION_FAULT.format(username=data.username)) from None

    @apidoc.operation(refusals={409: "The user does not exist"})
    @declare(ADMIN, formats=JSON)
    @blp.arguments(schemas.UpdateQuerySchema, location="query")
    @blp.arguments(schemas.UpdateUserRequestSchema)
    @blp.response(201, apidoc.PAYLOAD, description="The user was updated")
    def put(self, query: dict[str, Any], data: schemas.UserInput):
        """Update a user's details, add roles, optionally set the password."""
        query_name = query.get("username")
        if query_name and schemas.strip_prefix(query_name) != data.stored_name:
            raise Invalid("Username in the payload does not match the username query parameter.")
        with db.unit_of_work() as session:
            return answer(services.update_user(session, data))

    @apidoc.operation(refusals={400: "No username, an unknown user, or `admin`"})
    @declare(ADMIN)
    @blp.arguments(schemas.UsernameQuerySchema, location="query")
    @blp.response(200, apidoc.PAYLOAD, description="The user was removed")
    def delete(self, query: dict[str, Any]):
        """Remove a user; their device enrolments are kept."""
        with db.unit_of_work() as session:
            return answer(services.remove_user(session, query["username"]))


@blp.route("/mdm-admin/users/<string:user_filter>")
class UsersByPrefix(MethodView):
    @apidoc.operation(
        refusals={405: "The segment names an endpoint that does not answer GET", 414: apidoc.URI_TOO_LONG}
    )
    @declare(ADMIN)
    @blp.response(
        200, apidoc.UserListPayloadSchema, description="The users whose name starts with the filter"
    )
    def get(self, user_filter: str):
        """List the users whose name starts with the filter (``*`` wildcard)."""
        if user_filter in FIXED_SEGMENTS:
            raise MethodNotAllowed(valid_methods=FIXED_SEGMENTS[user_filter])
        return answer(services.list_users(db.session(), user_filter))


@blp.route("/mdm-admin/users/view")
class UserView(MethodView):
    @apidoc.operation(
        refusals={404: "The user does not exist (the body says statusCode 400, as the product does)"}
    )
    @declare(SELF)
    @blp.arguments(schemas.UsernameQuerySchema, location="query")
    @blp.response(200, apidoc.UserPayloadSchema, description="The user")
    def get(self, query: dict[str, Any]):
        """Show one user."""
        auth.ensure_self(query["username"])
        return answer(services.view_user(db.session(), query["username"]))


# GET and POST answer alike (the document's example uses POST): one documentation for both.
user_roles_operation = apidoc.operation(refusals={400: "No username, or an unknown user"})
user_roles_response = blp.response(200, apidoc.UserRolesPayloadSchema, description="The user's roles")


@blp.route("/mdm-admin/users/roles")
class UserRoles(MethodView):
    @user_roles_operation
    @declare(SELF)
    @blp.arguments(schemas.UsernameQuerySchema, location="query")
    @user_roles_response
    def get(self, query: dict[str, Any]):
        """List a user's roles as one nested list."""
        return self.roles(query["username"])

    @user_roles_operation
    @declare(SELF)
    @blp.arguments(schemas.UsernameQuerySchema, location="query")
    @user_roles_response
    def post(self, query: dict[str, Any]):
        """Same as GET (the document's example uses POST)."""
        return self.roles(query["username"])

    @staticmethod
    def roles(username: str):
        auth.ensure_self(username)
        return answer(services.user_roles(db.session(), username))


@blp.route("/mdm-admin/users/count")
class UserCount(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.response(200, apidoc.USER_COUNT, description="The number of users")
    def get(self):
        """Count the users (a bare integer)."""
        # A bare integer, which no marshmallow schema dumps: rendered as is, documented by USER_COUNT.
        return jsonify(services.count_users(db.connection()))


@blp.route("/mdm-admin/users/view-users")
class UsersBySubstring(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.arguments(schemas.SearchQuerySchema, location="query")
    @blp.response(200, apidoc.UserListPayloadSchema, description="The users whose name contains the text")
    def get(self, query: dict[str, Any]):
        """Users whose name contains the given text."""
        return answer(services.search_users(db.session(), query.get("username"), names_only=False))


@blp.route("/mdm-admin/users/users-by-username")
class UsernamesBySubstring(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.arguments(schemas.SearchQuerySchema, location="query")
    @blp.response(
        200, apidoc.NameListPayloadSchema, description="The names of the users whose name contains the text"
    )
    def get(self, query: dict[str, Any]):
        """Names of the users whose name contains the given text."""
        return answer(services.search_users(db.session(), query.get("username"), names_only=True))


@blp.route("/mdm-admin/users/devices")
class UserDevices(MethodView):
    @apidoc.operation()
    @declare(SELF)
    @blp.arguments(schemas.DevicesQuerySchema, location="query")
    @blp.response(
        200, apidoc.USER_DEVICES, description="The devices: a bare array, or one page when `length` > 0"
    )
    def get(self, query: dict[str, Any]):
        """A user's enrolled devices, optionally paged with start/length."""
        auth.ensure_self(query["username"])
        devices = services.user_devices(
            db.session(), query["username"], query.get("start", 0), query.get("length")
        )
        # Two shapes, which no one marshmallow schema dumps: each is dumped by its own, USER_DEVICES names both.
        schema = apidoc.DEVICE_PAGE if isinstance(devices, services.DevicePage) else apidoc.DEVICE_LIST
        return jsonify(schema.dump(devices))


@blp.route("/mdm-admin/users/email-invitation")
class EmailInvitation(MethodView):
    @apidoc.operation(
        body=apidoc.USERNAME_LIST,
        refusals={400: "Not an array of usernames, an unknown user, or one without an e-mail address"},
    )
    @declare(ADMIN, formats=JSON)
    @blp.response(200, apidoc.PAYLOAD, description="The invitations were sent")
    def post(self):
        """Mail each listed user an invitation to enrol their device."""
        # A bare JSON array, which @blp.arguments does not read: the schema-less body is checked here.
        usernames = schemas.username_list(request)
        with db.unit_of_work() as session:
            delivered = services.invite_users(session, current_app.config, usernames)
        if not delivered:
            # After the unit of work: the outbox keeps the invitations the SMTP server refused.
            raise ServerFault(INVITE_FAULT)
        return answer(services.INVITATIONS_SENT)


@blp.route("/mdm-admin/users/change-password")
class ChangePassword(MethodView):
    @apidoc.operation(refusals={400: "An invalid field, or the old password does not match"})
    @declare(SELF, formats=JSON)
    @blp.arguments(schemas.ChangePasswordRequestSchema)
    @blp.response(
        201, apidoc.PAYLOAD, description="The password was changed (the caller's tokens stay valid)"
    )
    def post(self, data: schemas.PasswordInput):
        """Change a password, given the old one."""
        auth.ensure_self(data.username)
        with db.unit_of_work() as session:
            return answer(services.change_password(session, data))


@blp.route("/mdm-admin/users/reset-password")
class ResetPassword(MethodView):
    @apidoc.operation(refusals={400: "An invalid field, or an unknown user"})
    @declare(ADMIN, formats=JSON)
    @blp.arguments(schemas.ResetPasswordRequestSchema)
    @blp.response(201, apidoc.PAYLOAD, description="The password was set and the user's tokens revoked")
    def post(self, data: schemas.PasswordInput):
        """Set a user's password as administrator, revoking their tokens."""
        with db.unit_of_work() as session:
            return answer(services.reset_password(session, data))


@blp.route("/mdm-admin/roles")
class Roles(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.response(200, apidoc.NameListPayloadSchema, description="The role names")
    def get(self):
        """List all role names."""
        return answer(services.all_roles(db.session()))


@blp.route("/mdm-admin/outbox")
class Outbox(MethodView):
    @apidoc.operation()
    @declare(ADMIN)
    @blp.arguments(schemas.OutboxQuerySchema, location="query")
    @blp.response(200, apidoc.OutboxPayloadSchema, description="The outbox messages")
    def get(self, filters: dict[str, str]):
        """The mail the service wrote, with exact filters."""
        return answer(services.outbox(db.session(), filters))


@oauth.route("/oauth2/token")
class TokenEndpoint(MethodView):
    @apidoc.operation(form=apidoc.TokenRequestSchema, refusals={400: apidoc.OAUTH_ERROR})
    @declare(ANYONE, formats=(FORM,))
    @oauth.response(200, apidoc.TokenPairSchema, description="A new token pair", headers=apidoc.NO_STORE)
    def post(self):
        """Issue a token pair (password or refresh_token grant)."""
        # RFC 6749's errors, in its order of parameters, are no schema's: the form is read by auth.grant.
        with db.unit_of_work() as session:
            result = auth.grant(session, current_app.config, request.form.to_dict())
        return result, NO_STORE


@oauth.route("/oauth2/revoke")
class RevokeEndpoint(MethodView):
    @apidoc.operation(form=apidoc.RevokeRequestSchema, refusals={400: apidoc.OAUTH_ERROR})
    @declare(ANYONE, formats=(FORM,))
    @oauth.response(200, description="Revoked, or the token was not known (empty body)")
    def post(self):
        """Revoke a token pair by its access or refresh token."""
        token = request.form.get("token")
        if not token:
            raise OAuthError("invalid_request", "Missing parameters: token")
        with db.unit_of_work() as session:
            auth.revoke(session, token)
        # An empty body, no JSON for a schema to dump; nor has it a media type (the default says HTML).
        response = current_app.response_class(b"", status=200)
        del response.headers["Content-Type"]
        return response
