"""svc-bulkuser HTTP endpoints (thin views over services.py).

Every view checks in the contract's order: route and method (Flask), then the
token, then the permission, then the query string and the body.
"""

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from svc_bulkuser import services
from svc_bulkuser.auth import authenticate, require_admin
from svc_bulkuser.models import User
from svc_bulkuser.schemas import (
    CreateUserSchema,
    FilterSchema,
    ListQuerySchema,
    LoginResponseSchema,
    LoginSchema,
    NoQuerySchema,
    UserListResponseSchema,
    UserResponseSchema,
    load_body,
    parse_query,
    read_json_object,
)
from vendorkit import db
from vendorkit.admin import signing_secret
from vendorkit.dialects import json_response
from vendorkit.web import client_ip

blp = Blueprint("bulkuser", __name__, description="DNL softswitch API v1 (users)")

TOKEN_HEADER = {"in": "header", "name": "X-Auth-Token", "required": True, "schema": {"type": "string"}}


def caller() -> User:
    """The authenticated caller of this request (401 otherwise)."""
    return authenticate(
        db.session(),
        request.headers.get("X-Auth-Token"),
        signing_secret(current_app.config["SECRET_KEY"]),
        services.utc_now(),
    )


def admin() -> User:
    """The authenticated caller, who must be an admin (401 / 403 otherwise)."""
    user = caller()
    require_admin(user)
    return user


def user_response(user: User):
    return json_response(200, {"success": True, "payload": services.user_payload(user, services.utc_now())})


@blp.route("/v1/auth")
class Login(MethodView):
    @blp.alt_response(200, schema=LoginResponseSchema, description="Logged in")
    def post(self):
        """Log in with a name or email and a password; returns a JWT for X-Auth-Token."""
        parse_query(request.args, NoQuerySchema())
        credentials = load_body(LoginSchema(), read_json_object(request))
        token, user = services.login(
            db.session(),
            credentials["email_or_name"],
            credentials["password"],
            client_ip(),
            signing_secret(current_app.config["SECRET_KEY"]),
            current_app.config["TOKEN_TTL_SECONDS"],
        )
        payload = {
            "token": token,
            "user_type": user.user_type,
            "user": services.user_payload(user, services.utc_now()),
        }
        return json_response(200, {"success": True, "payload": payload})


@blp.route("/v1/user")
class CurrentUser(MethodView):
    @blp.doc(parameters=[TOKEN_HEADER])
    @blp.alt_response(200, schema=UserResponseSchema, description="The caller's record")
    def get(self):
        """The caller's own user record."""
        user = caller()
        parse_query(request.args, NoQuerySchema())
        return user_response(user)


@blp.route("/v1/user/create")
class CreateUser(MethodView):
    @blp.doc(parameters=[TOKEN_HEADER])
    def post(self):
        """Create a user (admin only)."""
        user = admin()
        parse_query(request.args, NoQuerySchema())
        data = load_body(CreateUserSchema(), read_json_object(request))
        new_id = services.create_user(db.session(), data, user)
        return json_response(200, {"success": True, "object_id": new_id})


@blp.route("/v1/user/list")
class UserList(MethodView):
    @blp.doc(parameters=[TOKEN_HEADER, {"in": "query", "schema": ListQuerySchema}])
    @blp.alt_response(200, schema=UserListResponseSchema, description="One page of matching users")
    def get(self):
        """List users by the bulk-delete filters, 0-based pages (admin only)."""
        admin()
        query = parse_query(request.args, ListQuerySchema())
        total, items = services.list_users(db.session(), query)
        now = services.utc_now()
        payload = {
            "total": total,
            "page": query["page"],
            "per_page": query["per_page"],
            "items": [services.user_payload(item, now) for item in items],
        }
        return json_response(200, {"success": True, "payload": payload})


@blp.route("/v1/user/all")
class BulkDelete(MethodView):
    @blp.doc(parameters=[TOKEN_HEADER, {"in": "query", "schema": FilterSchema}])
    def delete(self):
        """Delete every user matching all the given filters, never the caller (admin only)."""
        user = admin()
        filters = parse_query(request.args, FilterSchema())
        deleted = services.bulk_delete(db.session(), filters, user)
        return json_response(200, {"success": True, "payload": {"deleted": deleted, "updated": 0}})


@blp.route("/v1/user/<int:user_id>")
class OneUser(MethodView):
    @blp.doc(parameters=[TOKEN_HEADER])
    @blp.alt_response(200, schema=UserResponseSchema, description="The user's record")
    def get(self, user_id: int):
        """One user's record (admin, or the user itself)."""
        user = caller()
        if user.user_id != user_id:
            require_admin(user)
        parse_query(request.args, NoQuerySchema())
        return user_response(services.get_user(db.session(), user_id))

    @blp.doc(parameters=[TOKEN_HEADER])
    def delete(self, user_id: int):
        """Delete one user, never the caller (admin only)."""
        user = admin()
        parse_query(request.args, NoQuerySchema())
        services.delete_user(db.session(), user_id, user)
        return json_response(200, {"success": True})
