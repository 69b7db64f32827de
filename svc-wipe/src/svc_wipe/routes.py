"""svc-wipe HTTP endpoints (thin views over services.py)."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from svc_wipe import services
from svc_wipe.auth import CSRF_HEADER, TOKEN_COOKIE, current_caller, require_login
from svc_wipe.errors import bad_request
from svc_wipe.schemas import (
    DeviceSyncListSchema,
    DomainListSchema,
    GrommunioErrorSchema,
    LoginFormSchema,
    LoginSchema,
    MessageSchema,
    NewUserSchema,
    PaginationSchema,
    ProfileSchema,
    UserListSchema,
    UserSchema,
    WipeReportSchema,
    WipeStatusSchema,
    load,
    parse_device_ids,
)
from vendorkit import bodies, db
from vendorkit.web import media_type

blp = Blueprint("wipe", __name__, url_prefix="/api/v1", description="grommunio admin API (subset)")

FORM_TYPES = ("", "application/x-www-form-urlencoded", "multipart/form-data")

DEVICES_PARAMETER = {
    "name": "devices",
    "in": "query",
    "description": "Restrict request to these device IDs (comma-separated and/or repeated)",
    "schema": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 100},
    "style": "form",
    "explode": True,
}
CSRF_PARAMETER = {
    "name": CSRF_HEADER,
    "in": "header",
    "description": "CSRF Token",
    "schema": {"type": "string"},
}
TOKEN_SECURITY = [{"JWTCookie": []}]


def json_body() -> object:
    """The request's JSON document; 400 unless it is one, sent as application/json."""
    raw = request.get_data(cache=True)
    if not raw:
        raise bad_request("The request body is missing")
    if media_type() != "application/json":
        raise bad_request("The request body must be sent as application/json")
    try:
        # Unstorable strings (NUL, lone surrogates) are refused per field, by the schemas.
        return bodies.parse_json(raw, allow_lone_surrogates=True)
    except bodies.MalformedInput:
        raise bad_request("The request body is not valid JSON") from None


def devices_query() -> list[str] | None:
    """The ``devices`` query parameter, validated (None when absent)."""
    return parse_device_ids(request.args.getlist("devices"))


@blp.route("/service/wipe/<username>")
class WipeStatus(MethodView):
    @blp.doc(parameters=[DEVICES_PARAMETER], security=[*TOKEN_SECURITY, {}])
    @blp.response(200, WipeStatusSchema)
    @blp.alt_response(400, schema=GrommunioErrorSchema, description="Validation of input parameters failed")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="Access denied")
    @blp.alt_response(404, schema=GrommunioErrorSchema, description="User not found")
    def get(self, username: str):
        """Get device wipe status for user"""
        device_ids = devices_query()
        return {"data": services.wipe_status(db.session(), current_caller(), username, device_ids)}

    @blp.doc(
        parameters=[DEVICES_PARAMETER, CSRF_PARAMETER],
        security=[*TOKEN_SECURITY, {}],
        requestBody={"required": True, "content": {"application/json": {"schema": WipeReportSchema}}},
    )
    @blp.response(201, MessageSchema, description="States changed")
    @blp.alt_response(400, schema=GrommunioErrorSchema, description="Validation of input parameters failed")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="Access denied")
    @blp.alt_response(
        404, schema=GrommunioErrorSchema, description="The requested resource could not be found"
    )
    def post(self, username: str):
        """Set device wipe status for user"""
        device_ids = devices_query()
        report = load(WipeReportSchema(), json_body())
        services.report_wipe_status(db.session(), current_caller(), username, device_ids, report)
        return {"message": "Success."}


@blp.route("/login")
class Login(MethodView):
    @blp.doc(
        requestBody={"content": {"application/x-www-form-urlencoded": {"schema": LoginFormSchema}}},
        security=[{}, *TOKEN_SECURITY],
    )
    @blp.response(200, LoginSchema)
    @blp.alt_response(400, schema=GrommunioErrorSchema, description="Incomplete login form")
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Login failed")
    def post(self):
        """Log in with user and password, or refresh the token of the grommunioAuthJwt cookie"""
        if media_type() not in FORM_TYPES:
            raise bad_request("The login form must be sent as application/x-www-form-urlencoded")
        session, config = db.session(), current_app.config
        username, password = request.form.get("user"), request.form.get("pass")
        if username is None or password is None:
            return services.refresh_login(session, config, request.cookies.get(TOKEN_COOKIE))
        return services.login(session, config, username, password)


@blp.route("/profile")
class Profile(MethodView):
    @blp.doc(security=TOKEN_SECURITY)
    @blp.response(200, ProfileSchema)
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    def get(self):
        """The logged-in user and its capabilities"""
        user = require_login(current_caller())
        return services.profile(db.session(), user)


@blp.route("/domains")
class Domains(MethodView):
    @blp.doc(security=TOKEN_SECURITY)
    @blp.response(200, DomainListSchema)
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    def get(self):
        """The domains the logged-in user may see"""
        user = require_login(current_caller())
        return services.domains(db.session(), user)


@blp.route("/domains/<int(max=2147483647):domain_id>/users")
class DomainUsers(MethodView):
    @blp.doc(
        security=TOKEN_SECURITY,
        parameters=[
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 50}},
            {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
        ],
    )
    @blp.response(200, UserListSchema)
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="No read right on the domain")
    def get(self, domain_id: int):
        """List the users of a domain, by ID"""
        user = require_login(current_caller())
        page = load(PaginationSchema(), request.args.to_dict())
        return {"data": services.domain_users(db.session(), user, domain_id, page["limit"], page["offset"])}

    @blp.doc(
        security=TOKEN_SECURITY,
        parameters=[CSRF_PARAMETER],
        requestBody={"required": True, "content": {"application/json": {"schema": NewUserSchema}}},
    )
    @blp.response(201, UserSchema)
    @blp.alt_response(400, schema=GrommunioErrorSchema, description="Invalid user data")
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="No write right on the domain")
    def post(self, domain_id: int):
        """Create a user in a domain"""
        user = require_login(current_caller())
        fields = load(NewUserSchema(), json_body())
        return services.create_domain_user(db.session(), user, domain_id, fields)


@blp.route("/domains/<int(max=2147483647):domain_id>/users/<int(max=2147483647):user_id>")
class DomainUser(MethodView):
    @blp.doc(security=TOKEN_SECURITY)
    @blp.response(200, UserSchema)
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="No read right on the domain")
    @blp.alt_response(404, schema=GrommunioErrorSchema, description="User not found")
    def get(self, domain_id: int, user_id: int):
        """One user of a domain"""
        user = require_login(current_caller())
        return services.domain_user(db.session(), user, domain_id, user_id)

    @blp.doc(security=TOKEN_SECURITY, parameters=[CSRF_PARAMETER])
    @blp.response(200, MessageSchema)
    @blp.alt_response(400, schema=GrommunioErrorSchema, description="Cannot delete superuser")
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="No write right on the domain")
    @blp.alt_response(404, schema=GrommunioErrorSchema, description="User not found")
    def delete(self, domain_id: int, user_id: int):
        """Delete a user of a domain with its devices"""
        user = require_login(current_caller())
        services.delete_domain_user(db.session(), user, domain_id, user_id)
        return {"message": "isded"}


@blp.route("/domains/<int(max=2147483647):domain_id>/users/<int(max=2147483647):user_id>/sync")
class DeviceSync(MethodView):
    @blp.doc(security=TOKEN_SECURITY)
    @blp.response(200, DeviceSyncListSchema)
    @blp.alt_response(401, schema=GrommunioErrorSchema, description="Not logged in")
    @blp.alt_response(403, schema=GrommunioErrorSchema, description="No read right on the domain")
    @blp.alt_response(404, schema=GrommunioErrorSchema, description="User not found")
    def get(self, domain_id: int, user_id: int):
        """A user's devices with their wipe status and history"""
        user = require_login(current_caller())
        return {"data": services.device_sync(db.session(), user, domain_id, user_id)}
