"""svc-emm HTTP endpoints (thin views over services.py and tokens.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import MethodNotAllowed

from svc_emm import apidoc, schemas, services, tokens
from svc_emm.schemas import Invalid
from vendorkit import db
from vendorkit.dialects import json_response
from vendorkit.dialects.wso2 import payload

blp = Blueprint("emm", __name__, description="WSO2 EMM 2.0 admin API: users, roles, devices, mail outbox")
oauth = Blueprint("oauth2", __name__, description="OAuth2 token endpoint (password and refresh_token grants)")

UNAUTHORIZED = "Failed to authorize incoming request"
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
LIST_FAULT = "Error occurred while retrieving the list of users"


def answer(result: services.Answer):
    return payload(result.status, result.message, result.content)


# The product's errorMessage when the server fails while answering (rule, method) -> text.
ROLES_FAULT = "Exception in trying to retrieve roles for user by username: {username}"
CHANGE_FAULT = "Could not change the password."
FAULTS = {
    ("/mdm-admin/users", "POST"): "Exception in trying to add user by username: {username}",
    ("/mdm-admin/users", "PUT"): "Exception in trying to update user by username: {username}",
    ("/mdm-admin/users", "DELETE"): "Exception in trying to remove user by username: {username}",
    ("/mdm-admin/users", "GET"): LIST_FAULT,
    ("/mdm-admin/users/<string:user_filter>", "GET"): LIST_FAULT,
    ("/mdm-admin/users/count", "GET"): LIST_FAULT,
    ("/mdm-admin/users/view-users", "GET"): LIST_FAULT,
    ("/mdm-admin/users/users-by-username", "GET"): LIST_FAULT,
    ("/mdm-admin/users/view", "GET"): "Exception in trying to retrieve user by username: {username}",
    ("/mdm-admin/users/roles", "GET"): ROLES_FAULT,
    ("/mdm-admin/users/roles", "POST"): ROLES_FAULT,
    ("/mdm-admin/users/devices", "GET"): "Device management error",
    ("/mdm-admin/users/email-invitation", "POST"): "Error occurred while inviting user to enrol their device",
    ("/mdm-admin/users/change-password", "POST"): CHANGE_FAULT,
    ("/mdm-admin/users/reset-password", "POST"): CHANGE_FAULT,
}


def fault_text() -> str:
    """The errorMessage for a server failure during this request (the product's text per endpoint)."""
    rule = request.url_rule.rule.rstrip("/") if request.url_rule else ""
    template = FAULTS.get((rule, request.method))
    if template is None:
        return "Internal server error"
    username = request.args.get("username")
    if request.method in ("POST", "PUT") and request.is_json:
        try:
            body = request.get_json(silent=True)
        except Exception:  # e.g. a body over the size limit: the fault text does without it
            body = None
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            username = body["username"]
    return template.format(username=username if username else "null")


def authenticated(*, admin_only: bool) -> Callable:
    """Refuse requests without a valid Bearer token (401) and, for ``admin_only``, non-admins (403)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            caller = tokens.caller_for(db.session(), request.headers.get("Authorization"))
            if caller is None:
                response = payload(401, UNAUTHORIZED)
                response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return response
            if admin_only and not caller.is_admin:
                return forbidden(caller)
            g.caller = caller
            return view(*args, **kwargs)

        wrapper.access = "admin" if admin_only else "self"  # read by apidoc.documented
        return wrapper

    return decorate


def forbidden(caller: tokens.Caller):
    return payload(403, f"User by username: {caller.username} is not authorized to perform this operation.")


def ensure_self(username: str) -> None:
    """Self-service endpoints: a non-admin may only name themselves."""
    caller: tokens.Caller = g.caller
    if not caller.is_admin and schemas.strip_prefix(username) != caller.username:
        raise Forbidden(caller)


class Forbidden(Exception):
    """The caller may not act on someone else's record."""

    def __init__(self, caller: tokens.Caller):
        super().__init__(caller.username)
        self.caller = caller


def json_body() -> Any:
    """The request's JSON body: 415 unless application/json, 413 above the limit, 400 if not JSON."""
    if (request.mimetype or "").lower() != "application/json":
        raise Invalid(schemas.MEDIA_TYPE_REFUSED, 415)
    raw = request.get_data(cache=True)
    try:
        return schemas.parse_json_body(raw)
    except ValueError:
        return _NOT_JSON


_NOT_JSON = object()  # stands for a body that did not parse, refused by each endpoint's own rule


def json_object() -> Any:
    body = json_body()
    if body is _NOT_JSON:
        raise Invalid(schemas.NOT_AN_OBJECT)
    return body


@blp.route("/mdm-admin/users", strict_slashes=False)
class Users(MethodView):
    @apidoc.documented("All users", apidoc.UserListPayloadSchema)
    @authenticated(admin_only=True)
    def get(self):
        """List all users, sorted by username."""
        return answer(services.list_users(db.session()))

    @apidoc.documented(
        "The user was added and the registration mail sent",
        apidoc.PAYLOAD,
        status=201,
        body=apidoc.AddUserRequestSchema,
        refusals={409: "The user already exists"},
    )
    @authenticated(admin_only=True)
    def post(self):
        """Add a user with a generated password and send the registration mail."""
        data = schemas.user_input(json_object(), action="add")
        return answer(services.add_user(db.session(), current_app.config, data))

    @apidoc.documented(
        "The user was updated",
        apidoc.PAYLOAD,
        status=201,
        query=apidoc.UpdateQuerySchema,
        body=apidoc.UpdateUserRequestSchema,
        refusals={409: "The user does not exist"},
    )
    @authenticated(admin_only=True)
    def put(self):
        """Update a user's details, add roles, optionally set the password."""
        query_name = schemas.query_text(request.args, "username")
        data = schemas.user_input(json_object(), action="update")
        if query_name and schemas.strip_prefix(query_name) != data.stored_name:
            raise Invalid("Username in the payload does not match the username query parameter.")
        return answer(services.update_user(db.session(), data))

    @apidoc.documented(
        "The user was removed",
        apidoc.PAYLOAD,
        query=apidoc.UsernameQuerySchema,
        refusals={400: "No username, an unknown user, or `admin`"},
    )
    @authenticated(admin_only=True)
    def delete(self):
        """Remove a user; their device enrolments are kept."""
        username = schemas.query_text(request.args, "username", required=True)
        return answer(services.remove_user(db.session(), username))


@blp.route("/mdm-admin/users/<string:user_filter>")
class UsersByPrefix(MethodView):
    @apidoc.documented(
        "The users whose name starts with the filter",
        apidoc.UserListPayloadSchema,
        refusals={405: "The segment names an endpoint that does not answer GET", 414: apidoc.URI_TOO_LONG},
    )
    @authenticated(admin_only=True)
    def get(self, user_filter: str):
        """List the users whose name starts with the filter (``*`` wildcard)."""
        if user_filter in FIXED_SEGMENTS:
            raise MethodNotAllowed(valid_methods=FIXED_SEGMENTS[user_filter])
        return answer(services.list_users(db.session(), user_filter))


@blp.route("/mdm-admin/users/view")
class UserView(MethodView):
    @apidoc.documented(
        "The user",
        apidoc.UserPayloadSchema,
        query=apidoc.UsernameQuerySchema,
        refusals={404: "The user does not exist (the body says statusCode 400, as the product does)"},
    )
    @authenticated(admin_only=False)
    def get(self):
        """Show one user."""
        username = schemas.query_text(request.args, "username", required=True)
        ensure_self(username)
        return answer(services.view_user(db.session(), username))


documented_user_roles = apidoc.documented(
    "The user's roles",
    apidoc.UserRolesPayloadSchema,
    query=apidoc.UsernameQuerySchema,
    refusals={400: "No username, or an unknown user"},
)


@blp.route("/mdm-admin/users/roles")
class UserRoles(MethodView):
    @documented_user_roles
    @authenticated(admin_only=False)
    def get(self):
        """List a user's roles as one nested list."""
        return self.roles()

    @documented_user_roles
    @authenticated(admin_only=False)
    def post(self):
        """Same as GET (the document's example uses POST)."""
        return self.roles()

    @staticmethod
    def roles():
        username = schemas.query_text(request.args, "username", required=True)
        ensure_self(username)
        return answer(services.user_roles(db.session(), username))


@blp.route("/mdm-admin/users/count")
class UserCount(MethodView):
    @apidoc.documented("The number of users", {"type": "integer", "minimum": 0})
    @authenticated(admin_only=True)
    def get(self):
        """Count the users (a bare integer)."""
        return json_response(200, services.count_users(db.session()))


@blp.route("/mdm-admin/users/view-users")
class UsersBySubstring(MethodView):
    @apidoc.documented(
        "The users whose name contains the text", apidoc.UserListPayloadSchema, query=apidoc.SearchQuerySchema
    )
    @authenticated(admin_only=True)
    def get(self):
        """Users whose name contains the given text."""
        fragment = schemas.query_text(request.args, "username")
        return answer(services.search_users(db.session(), fragment, names_only=False))


@blp.route("/mdm-admin/users/users-by-username")
class UsernamesBySubstring(MethodView):
    @apidoc.documented(
        "The names of the users whose name contains the text",
        apidoc.NameListPayloadSchema,
        query=apidoc.SearchQuerySchema,
    )
    @authenticated(admin_only=True)
    def get(self):
        """Names of the users whose name contains the given text."""
        fragment = schemas.query_text(request.args, "username")
        return answer(services.search_users(db.session(), fragment, names_only=True))


@blp.route("/mdm-admin/users/devices")
class UserDevices(MethodView):
    @apidoc.documented(
        "The devices: a bare array, or one page when `length` > 0",
        {"oneOf": [{"type": "array", "items": apidoc.DeviceSchema}, apidoc.DevicePageSchema]},
        query=apidoc.DevicesQuerySchema,
    )
    @authenticated(admin_only=False)
    def get(self):
        """A user's enrolled devices, optionally paged with start/length."""
        username = schemas.query_text(request.args, "username", required=True)
        start = schemas.query_int32(request.args, "start", default=0, minimum=0)
        length = schemas.query_int32(request.args, "length", default=None)
        ensure_self(username)
        return json_response(200, services.user_devices(db.session(), username, start or 0, length))


@blp.route("/mdm-admin/users/email-invitation")
class EmailInvitation(MethodView):
    @apidoc.documented(
        "The invitations were sent",
        apidoc.PAYLOAD,
        body=apidoc.USERNAME_LIST,
        refusals={400: "Not an array of usernames, an unknown user, or one without an e-mail address"},
    )
    @authenticated(admin_only=True)
    def post(self):
        """Mail each listed user an invitation to enrol their device."""
        body = json_body()
        usernames = schemas.username_list(None if body is _NOT_JSON else body)
        return answer(services.invite_users(db.session(), current_app.config, usernames))


@blp.route("/mdm-admin/users/change-password")
class ChangePassword(MethodView):
    @apidoc.documented(
        "The password was changed (the caller's tokens stay valid)",
        apidoc.PAYLOAD,
        status=201,
        body=apidoc.ChangePasswordRequestSchema,
        refusals={400: "An invalid field, or the old password does not match"},
    )
    @authenticated(admin_only=False)
    def post(self):
        """Change a password, given the old one."""
        data = schemas.password_input(json_object(), needs_old=True)
        ensure_self(data.username)
        return answer(services.change_password(db.session(), data))


@blp.route("/mdm-admin/users/reset-password")
class ResetPassword(MethodView):
    @apidoc.documented(
        "The password was set and the user's tokens revoked",
        apidoc.PAYLOAD,
        status=201,
        body=apidoc.ResetPasswordRequestSchema,
        refusals={400: "An invalid field, or an unknown user"},
    )
    @authenticated(admin_only=True)
    def post(self):
        """Set a user's password as administrator, revoking their tokens."""
        data = schemas.password_input(json_object(), needs_old=False)
        return answer(services.reset_password(db.session(), data))


@blp.route("/mdm-admin/roles")
class Roles(MethodView):
    @apidoc.documented("The role names", apidoc.NameListPayloadSchema)
    @authenticated(admin_only=True)
    def get(self):
        """List all role names."""
        return answer(services.all_roles(db.session()))


@blp.route("/mdm-admin/outbox")
class Outbox(MethodView):
    @apidoc.documented("The outbox messages", apidoc.OutboxPayloadSchema, query=apidoc.OutboxQuerySchema)
    @authenticated(admin_only=True)
    def get(self):
        """The mail the service wrote, with exact filters."""
        filters = {}
        for name in ("username", "recipient", "type"):
            value = schemas.query_text(request.args, name)
            if value is not None:
                filters[name] = value
        return answer(services.outbox(db.session(), filters))


def oauth_form() -> dict[str, str]:
    """The form fields of a token request; only application/x-www-form-urlencoded is accepted."""
    media_type = (request.mimetype or "").lower()
    if not media_type and not request.get_data(cache=True):
        return {}  # an empty request: every parameter is missing
    if media_type != "application/x-www-form-urlencoded":
        raise tokens.OAuthError(
            "invalid_request", "Unsupported Content-Type: expected application/x-www-form-urlencoded"
        )
    return request.form.to_dict()


@oauth.route("/oauth2/token")
class TokenEndpoint(MethodView):
    @apidoc.documented(
        "A new token pair",
        apidoc.TokenPairSchema,
        form=apidoc.TokenRequestSchema,
        refusals={400: apidoc.OAUTH_ERROR},
        headers=apidoc.NO_STORE,
    )
    def post(self):
        """Issue a token pair (password or refresh_token grant)."""
        result = tokens.grant(db.session(), current_app.config, oauth_form())
        return json_response(200, result, {"Cache-Control": "no-store", "Pragma": "no-cache"})


@oauth.route("/oauth2/revoke")
class RevokeEndpoint(MethodView):
    @apidoc.documented(
        "Revoked, or the token was not known (empty body)",
        None,
        empty_success=True,
        form=apidoc.RevokeRequestSchema,
        refusals={400: apidoc.OAUTH_ERROR},
    )
    def post(self):
        """Revoke a token pair by its access or refresh token."""
        token = oauth_form().get("token")
        if not token:
            raise tokens.OAuthError("invalid_request", "Missing parameters: token")
        tokens.revoke(db.session(), token)
        response = current_app.response_class(b"", status=200)
        del response.headers["Content-Type"]  # an empty body has no media type (the default says HTML)
        return response
