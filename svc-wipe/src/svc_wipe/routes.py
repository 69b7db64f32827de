"""svc-wipe HTTP endpoints: thin views declaring who calls, what they read and answer, over services.py."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView

from svc_wipe import apidoc, schemas, services
from svc_wipe.auth import TOKEN_COOKIE, Access, current_caller
from svc_wipe.schemas import FORM, JSON, MULTIPART, NO_BODY
from vendorkit import arguments, db
from vendorkit.endpoints import declare

PREFIX = "/api/v1"
# Flask's int converter; the variables carry the product's parameter names (domainID, userID).
ID = "int(max=2147483647)"


def _blueprint(tag: tuple[str, str]):
    name, description = tag
    return arguments.blueprint(
        name,
        __name__,
        read_body=schemas.read_json,
        refuse=schemas.refuse,
        url_prefix=PREFIX,
        description=description,
    )


# One blueprint per group of grommunio's own description: their names are its tags.
service = _blueprint(apidoc.SERVICE)
misc = _blueprint(apidoc.MISC)
domain_users = _blueprint(apidoc.DOMAIN_USERS)
BLUEPRINTS = (service, misc, domain_users)

USER_NOT_FOUND = f"{apidoc.NOT_FOUND}: `User not found`"
ID_NOT_FOUND = "`Resource not found` for an ID above 2147483647"


@service.route("/service/wipe/<username>", parameters=[apidoc.USERNAME])
class WipeStatus(MethodView):
    @apidoc.operation(
        "getUserDeviceWipeStatus",
        refusals={400: apidoc.INVALID_REQUEST, 404: USER_NOT_FOUND},
        parameters=[apidoc.DEVICES],
    )
    @declare(Access.SYNC_READ)
    @service.arguments(schemas.DevicesQuerySchema, location="query")
    @service.response(200, apidoc.WipeStatusSchema, description="List of devices returned")
    def get(self, query: dict[str, Any], username: str):
        """Get device wipe status for user"""
        caller = current_caller()
        return {"data": services.wipe_status(db.session(), caller, username, query.get("devices"))}

    @apidoc.operation("setUserDeviceWipeStatus", refusals={404: USER_NOT_FOUND}, parameters=[apidoc.DEVICES])
    @declare(Access.SYNC_REPORT, formats=(JSON,))
    @service.arguments(schemas.DevicesQuerySchema, location="query")
    @service.arguments(schemas.WipeReportSchema)
    @service.response(201, apidoc.MessageSchema, description="States changed")
    def post(self, query: dict[str, Any], report: dict[str, Any], username: str):
        """Set device wipe status for user"""
        with db.unit_of_work() as session:
            services.report_wipe_status(session, current_caller(), username, query.get("devices"), report)
        return {"message": "Success."}


@misc.route("/login")
class Login(MethodView):
    @apidoc.operation(
        "postLogin",
        refusals={
            400: "`Incomplete login form` (a field missing, and no valid cookie to renew), or `Bad Request` "
            "for a body that is not a form",
            401: apidoc.LOGIN_FAILED,
        },
    )
    @declare(Access.ANYONE, formats=(FORM, MULTIPART, NO_BODY))
    @misc.arguments(schemas.LoginFormSchema, location="form", required=False)
    @misc.response(200, apidoc.LoginTokensSchema, description="Login successful")
    def post(self, form: dict[str, str]):
        """Login user"""
        session, config = db.session(), current_app.config
        username, password = form.get("user"), form.get("password")
        if username is None or password is None:
            return services.refresh_login(session, config, request.cookies.get(TOKEN_COOKIE))
        return services.login(session, config, username, password)


@misc.route("/profile")
class Profile(MethodView):
    @apidoc.operation("getProfile")
    @declare(Access.LOGGED_IN)
    @misc.response(200, apidoc.ProfileSchema, description="Profile data returned")
    def get(self):
        """Get information about currently logged in user"""
        return services.profile(db.session(), current_caller().user)


@misc.route("/domains")
class Domains(MethodView):
    @apidoc.operation("getUserDomains")
    @declare(Access.LOGGED_IN)
    @misc.response(200, apidoc.DomainListSchema, description="List of domains")
    def get(self):
        """Get list of domains the user has access to"""
        return services.domains(db.session(), current_caller().user)


@domain_users.route(f"/domains/<{ID}:domainID>/users", parameters=[apidoc.DOMAIN_ID])
class DomainUsers(MethodView):
    @apidoc.operation(
        "getUsers", refusals={400: apidoc.INVALID_REQUEST, 404: f"{apidoc.NOT_FOUND}: {ID_NOT_FOUND}"}
    )
    @declare(Access.DOMAIN_READ)
    @domain_users.arguments(schemas.PaginationSchema, location="query")
    @domain_users.response(200, apidoc.UserListSchema, description="Data returned")
    def get(self, page: dict[str, int], domainID: int):
        """Get lists of users"""
        return {"data": services.domain_users(db.session(), domainID, page["limit"], page["offset"])}

    @apidoc.operation(
        "postUser",
        refusals={
            400: f"{apidoc.INVALID_REQUEST}: `Bad Request` with `errors`; `Missing username`; `Invalid "
            "domain`; `Domain specifications do not match`; `'<address>' is not a valid e-mail address`; "
            "`Object violates database constraints (duplicate entry for key 'username')`",
            404: f"{apidoc.NOT_FOUND}: {ID_NOT_FOUND}",
        },
    )
    @declare(Access.DOMAIN_WRITE, formats=(JSON,))
    @domain_users.arguments(schemas.NewUserSchema)
    @domain_users.response(201, apidoc.UserSchema, description="User created")
    def post(self, fields: dict[str, Any], domainID: int):
        """Create new user"""
        with db.unit_of_work() as session:
            return services.create_domain_user(session, domainID, fields)


@domain_users.route(
    f"/domains/<{ID}:domainID>/users/<{ID}:userID>", parameters=[apidoc.USER_ID, apidoc.DOMAIN_ID]
)
class DomainUser(MethodView):
    @apidoc.operation(
        "getUser", refusals={404: f"{USER_NOT_FOUND} (also for a user of another domain), or {ID_NOT_FOUND}"}
    )
    @declare(Access.DOMAIN_READ)
    @domain_users.response(200, apidoc.UserSchema, description="User data returned")
    def get(self, domainID: int, userID: int):
        """Get information about a specific user"""
        return services.domain_user(db.session(), domainID, userID)

    @apidoc.operation(
        "deleteUser",
        refusals={
            400: "`Cannot delete superuser` (user 0, `admin`)",
            404: f"{apidoc.NOT_FOUND}: `User #<userID> not found`, or {ID_NOT_FOUND}",
        },
    )
    @declare(Access.DOMAIN_WRITE)
    @domain_users.response(200, apidoc.MessageSchema, description="User deleted (`isded`, sic)")
    def delete(self, domainID: int, userID: int):
        """Delete user"""
        with db.unit_of_work() as session:
            services.delete_domain_user(session, domainID, userID)
        return {"message": "isded"}


@domain_users.route(
    f"/domains/<{ID}:domainID>/users/<{ID}:userID>/sync", parameters=[apidoc.USER_ID, apidoc.DOMAIN_ID]
)
class DeviceSync(MethodView):
    @apidoc.operation(
        "getSyncedDevices",
        refusals={404: f"{USER_NOT_FOUND} (also for a user of another domain), or {ID_NOT_FOUND}"},
    )
    @declare(Access.DOMAIN_READ)
    @domain_users.response(200, apidoc.SyncedDeviceListSchema, description="Devices returned")
    def get(self, domainID: int, userID: int):
        """Get status of synced devices"""
        return {"data": services.device_sync(db.session(), domainID, userID)}
