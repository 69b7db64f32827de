"""svc-bulkuser HTTP endpoints: thin views declaring who may call, what they read, and what they answer.

Before a view runs, the checks of auth.py have answered an unknown route or
method, a missing or bad token and a missing permission, in that order; the
view's ``arguments`` then validate its query string and its body.
"""

from flask import current_app
from flask.views import MethodView

from svc_bulkuser import apidoc, services
from svc_bulkuser.auth import ADMIN, ADMIN_OR_SELF, ANYONE, USER, caller
from svc_bulkuser.schemas import (
    BulkDeleteQuerySchema,
    CreateUserSchema,
    ListQuerySchema,
    LoginSchema,
    NoQuerySchema,
    read_json_object,
    refuse,
)
from vendorkit import db
from vendorkit.admin import signing_secret
from vendorkit.arguments import blueprint
from vendorkit.endpoints import declare
from vendorkit.web import client_ip

blp = blueprint(
    "bulkuser",
    __name__,
    read_body=read_json_object,
    refuse=refuse,
    url_prefix="/v1",
    description="DNL softswitch API v1 (users)",
)

JSON = ("application/json",)
INVALID = (apidoc.ValidationErrorSchema, apidoc.AttributeNotExistsSchema)
NO_SUCH_USER = "No user has this id, or the id is not a number"


@blp.route("/auth")
class Login(MethodView):
    @apidoc.operation(invalid=INVALID, refusals=apidoc.LOGIN_REFUSALS)
    @declare(ANYONE, formats=JSON)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.arguments(LoginSchema)
    @blp.response(200, apidoc.LoginResponseSchema, description="Logged in: the token and the user")
    def post(self, _query, credentials):
        """Log in with a name or email and a password; returns a JWT for X-Auth-Token."""
        with db.unit_of_work() as session:
            user = services.find_login(session, credentials["email_or_name"])
        # Password hashing is slow: it runs between two units of work, holding no
        # transaction (on SQLite, the write lock) meanwhile.
        services.check_password(user, credentials["password"])
        with db.unit_of_work() as session:
            token = services.record_login(
                session,
                user,
                client_ip(),
                signing_secret(current_app.config["SECRET_KEY"]),
                current_app.config["TOKEN_TTL_SECONDS"],
            )
        return {"payload": {"token": token, "user_type": user.user_type, "user": user}}


@blp.route("/user")
class CurrentUser(MethodView):
    @apidoc.operation(invalid=(apidoc.AttributeNotExistsSchema,))
    @declare(USER)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, apidoc.UserResponseSchema, description="The caller's record")
    def get(self, _query):
        """The caller's own user record."""
        return {"payload": caller()}


@blp.route("/user/create")
class CreateUser(MethodView):
    @apidoc.operation(invalid=INVALID)
    @declare(ADMIN, formats=JSON)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.arguments(CreateUserSchema)
    @blp.response(200, apidoc.CreatedSchema, description="Created: the new user's id")
    def post(self, _query, data):
        """Create a user (admin only)."""
        with db.unit_of_work() as session:
            new_id = services.create_user(session, data, caller())
        return {"object_id": new_id}


@blp.route("/user/list")
class UserList(MethodView):
    @apidoc.operation(invalid=INVALID)
    @declare(ADMIN)
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, apidoc.UserListResponseSchema, description="One page of matching users")
    def get(self, query):
        """List users by the bulk-delete filters, 0-based pages (admin only)."""
        total, items = services.list_users(db.session(), query)
        page = {"total": total, "page": query["page"], "per_page": query["per_page"], "items": items}
        return {"payload": page}


@blp.route("/user/all")
class BulkDelete(MethodView):
    @apidoc.operation(
        invalid=(*INVALID, apidoc.CannotDeleteSelfSchema),
        not_found="`user_id` was given, nothing was deleted, and no user has that id",
    )
    @declare(ADMIN)
    @blp.arguments(BulkDeleteQuerySchema, location="query")
    @blp.response(200, apidoc.DeletedSchema, description="Deleted: how many users matched")
    def delete(self, filters):
        """Delete every user matching all the given filters, never the caller (admin only)."""

        def delete_matching() -> int:
            with db.unit_of_work() as session:
                return services.bulk_delete(session, filters, caller())

        return {"payload": {"deleted": services.retrying(delete_matching)}}


@blp.route("/user/<int:user_id>")
class OneUser(MethodView):
    @apidoc.operation(invalid=(apidoc.AttributeNotExistsSchema,), not_found=NO_SUCH_USER)
    @declare(ADMIN_OR_SELF)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, apidoc.UserResponseSchema, description="The user's record")
    def get(self, _query, user_id: int):
        """One user's record (admin, or the user itself)."""
        return {"payload": services.get_user(db.session(), user_id)}

    @apidoc.operation(
        invalid=(apidoc.AttributeNotExistsSchema, apidoc.CannotDeleteSelfSchema), not_found=NO_SUCH_USER
    )
    @declare(ADMIN)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.response(200, apidoc.SuccessSchema, description="Deleted")
    def delete(self, _query, user_id: int):
        """Delete one user, never the caller (admin only)."""

        def delete_one() -> None:
            with db.unit_of_work() as session:
                services.delete_user(session, user_id, caller())

        services.retrying(delete_one)
        # The envelope alone: ``{"success": true}``.
        return {}
