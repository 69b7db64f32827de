"""svc-bulkuser HTTP endpoints: thin views declaring who may call, what they read, and what they answer.

Before a view runs, the checks of auth.py have answered an unknown route or
method, a missing or bad token and a missing permission, in that order; the
view's ``arguments`` then validate its query string and its body.
"""

from typing import Any

from flask import current_app
from flask.views import MethodView

from svc_bulkuser import apidoc, services
from svc_bulkuser.auth import ADMIN, ADMIN_OR_SELF, ANYONE, USER, caller
from svc_bulkuser.models import User
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
from vendorkit.dialects import json_response
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


def success(**fields: Any):
    """``{"success": true, ...}`` with the fields in the product's order."""
    return json_response(200, {"success": True, **fields})


@blp.route("/auth")
class Login(MethodView):
    @apidoc.operation(
        "Logged in: the token and the user",
        apidoc.LoginResponseSchema,
        invalid=INVALID,
        refusals=apidoc.LOGIN_REFUSALS,
    )
    @declare(ANYONE, formats=JSON)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.arguments(LoginSchema)
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
        payload = {
            "token": token,
            "user_type": user.user_type,
            "user": apidoc.USER_OBJECT.dump(user),
        }
        return success(payload=payload)


def user_response(user: User):
    """``{"success": true, "payload": <user>}``."""
    return success(payload=apidoc.USER_OBJECT.dump(user))


@blp.route("/user")
class CurrentUser(MethodView):
    @apidoc.operation(
        "The caller's record", apidoc.UserResponseSchema, invalid=(apidoc.AttributeNotExistsSchema,)
    )
    @declare(USER)
    @blp.arguments(NoQuerySchema, location="query")
    def get(self, _query):
        """The caller's own user record."""
        return user_response(caller())


@blp.route("/user/create")
class CreateUser(MethodView):
    @apidoc.operation("Created: the new user's id", apidoc.CreatedSchema, invalid=INVALID)
    @declare(ADMIN, formats=JSON)
    @blp.arguments(NoQuerySchema, location="query")
    @blp.arguments(CreateUserSchema)
    def post(self, _query, data):
        """Create a user (admin only)."""
        with db.unit_of_work() as session:
            new_id = services.create_user(session, data, caller())
        return success(object_id=new_id)


@blp.route("/user/list")
class UserList(MethodView):
    @apidoc.operation("One page of matching users", apidoc.UserListResponseSchema, invalid=INVALID)
    @declare(ADMIN)
    @blp.arguments(ListQuerySchema, location="query")
    def get(self, query):
        """List users by the bulk-delete filters, 0-based pages (admin only)."""
        total, items = services.list_users(db.session(), query)
        payload = {
            "total": total,
            "page": query["page"],
            "per_page": query["per_page"],
            "items": apidoc.USER_OBJECTS.dump(items),
        }
        return success(payload=payload)


@blp.route("/user/all")
class BulkDelete(MethodView):
    @apidoc.operation(
        "Deleted: how many users matched",
        apidoc.DeletedSchema,
        invalid=(*INVALID, apidoc.CannotDeleteSelfSchema),
        not_found="`user_id` was given, nothing was deleted, and no user has that id",
    )
    @declare(ADMIN)
    @blp.arguments(BulkDeleteQuerySchema, location="query")
    def delete(self, filters):
        """Delete every user matching all the given filters, never the caller (admin only)."""

        def delete_matching() -> int:
            with db.unit_of_work() as session:
                return services.bulk_delete(session, filters, caller())

        deleted = services.retrying(delete_matching)
        return success(payload={"deleted": deleted, "updated": 0})


@blp.route("/user/<int:user_id>")
class OneUser(MethodView):
    @apidoc.operation(
        "The user's record",
        apidoc.UserResponseSchema,
        invalid=(apidoc.AttributeNotExistsSchema,),
        not_found=NO_SUCH_USER,
    )
    @declare(ADMIN_OR_SELF)
    @blp.arguments(NoQuerySchema, location="query")
    def get(self, _query, user_id: int):
        """One user's record (admin, or the user itself)."""
        return user_response(services.get_user(db.session(), user_id))

    @apidoc.operation(
        "Deleted",
        apidoc.SuccessSchema,
        invalid=(apidoc.AttributeNotExistsSchema, apidoc.CannotDeleteSelfSchema),
        not_found=NO_SUCH_USER,
    )
    @declare(ADMIN)
    @blp.arguments(NoQuerySchema, location="query")
    def delete(self, _query, user_id: int):
        """Delete one user, never the caller (admin only)."""

        def delete_one() -> None:
            with db.unit_of_work() as session:
                services.delete_user(session, user_id, caller())

        services.retrying(delete_one)
        return success()
