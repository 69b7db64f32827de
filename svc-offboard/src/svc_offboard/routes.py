"""svc-offboard HTTP endpoints: thin views over services.py.

Each view declares its caller and body formats (``endpoint``); auth.CHECKS
have authenticated the caller (``g.user``) and read the body when it runs,
and its schema has validated the body. A business failure (``errors.Failure``)
is answered in the endpoint's failure shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask.views import MethodView
from marshmallow import Schema

from svc_offboard import apidoc, errors, schemas, services, wire
from svc_offboard.auth import LOGGED_IN, MASTER, PUBLIC, Policy
from svc_offboard.errors import Failure
from vendorkit import arguments, db
from vendorkit.endpoints import declare


def _read_fields(_request) -> dict[str, Any]:
    """The body auth.readable_body has read; a view with a body schema must declare its formats."""
    if "body" not in g:
        raise RuntimeError("a view with a body schema declares no body formats")
    return g.body


blp = arguments.blueprint(
    "offboard",
    __name__,
    read_body=_read_fields,
    refuse=errors.invalid_fields,
    url_prefix=wire.ROOTS[0],
    description=(
        "Commvault web service (users, clients, offboarding), served alike under /webconsole/api and "
        "/commandcenter/api. Send the token of POST Login in the `Authtoken` header; JSON or XML by "
        "`Content-type` and `Accept`. Business failures are HTTP 200 with `errorCode` != 0."
    ),
)

GENERIC = schemas.GenericRespSchema
RESPONSE_LIST = schemas.ResponseListSchema
View = TypeVar("View", bound=Callable[..., Any])


def endpoint(
    success: type[Schema],
    xml_root: str,
    *,
    caller: Policy,
    fails: Callable[[str], Response] = wire.failure,
    body: type[schemas.RequestBody] | None = None,
    formats: tuple[str, ...] = wire.JSON,
    **options: Any,
) -> Callable[[View], View]:
    """Declare a view's caller and body, document its operation (apidoc.operation), answer its failures with ``fails``."""

    def decorate(view: View) -> View:
        if body is not None:
            view = blp.arguments(body, required=False)(view)
        # A refused field is a business failure on 200, documented there: no validation status.
        getattr(view, "_apidoc", {}).get("arguments", {}).pop("responses", None)

        @functools.wraps(view)
        def answered(*args: Any, **kwargs: Any) -> Response:
            try:
                return view(*args, **kwargs)
            except Failure as exc:
                return fails(exc.message)

        doc = apidoc.operation(success, xml_root, caller=caller, body=body, formats=formats, **options)
        return declare(caller, formats=formats if body is not None else ())(blp.doc(**doc)(answered))

    return decorate


@blp.route("/", strict_slashes=False)
class ServiceRoot(MethodView):
    @endpoint(GENERIC, wire.GENERIC_ROOT, caller=PUBLIC)
    def get(self):
        """The service is up (the reachability probe of Commvault's SDKs; no token needed)."""
        return wire.respond({"errorCode": 0, "errorMessage": "Commvault web service"})


@blp.route("/Login")
class Login(MethodView):
    @endpoint(
        schemas.LoginResponseSchema,
        wire.LOGIN_ROOT,
        caller=PUBLIC,
        fails=wire.login_failure,
        body=schemas.LoginRequestSchema,
        formats=wire.JSON_OR_XML,
    )
    def post(self, credentials: dict[str, Any]):
        """Log in with a base64-encoded password; answers a QSDK token (or errList)."""
        timeout = credentials.get("timeout", current_app.config["TOKEN_IDLE_MINUTES"])
        with db.unit_of_work() as session:
            payload = services.login(session, credentials["username"], credentials["password"], timeout)
        return wire.respond(payload, wire.LOGIN_ROOT)


@blp.route("/RenewLoginToken")
class RenewLoginToken(MethodView):
    @endpoint(
        schemas.RenewLoginTokenResponseSchema,
        wire.RENEW_ROOT,
        caller=PUBLIC,
        fails=wire.renewal_failure,
        failure=schemas.RenewLoginTokenFailureSchema,
        body=schemas.RenewLoginTokenRequestSchema,
    )
    def post(self, renewal: dict[str, Any]):
        """Exchange a live or recently idle-expired token for a new one (the old one is revoked)."""
        presented = renewal.get("sessionId", request.headers.get("Authtoken"))
        with db.unit_of_work() as session:
            payload = services.renew_token(session, presented, current_app.config["TOKEN_RENEWAL_HOURS"])
        return wire.respond(payload, wire.RENEW_ROOT)


@blp.route("/Logout")
class Logout(MethodView):
    @endpoint(GENERIC, wire.GENERIC_ROOT, caller=LOGGED_IN)
    def post(self):
        """Revoke the presented token."""
        with db.unit_of_work() as session:
            payload = services.logout(session, g.token_digest)
        return wire.respond(payload)


@blp.route("/WhoAmI")
class WhoAmI(MethodView):
    @endpoint(schemas.WhoAmISchema, wire.WHO_AM_I_ROOT, caller=LOGGED_IN)
    def post(self):
        """The user the presented token belongs to."""
        return wire.respond(services.who_am_i(g.user), wire.WHO_AM_I_ROOT)


@blp.route("/CommServ")
class CommServ(MethodView):
    @endpoint(schemas.CommServSchema, wire.COMMSERV_ROOT, caller=LOGGED_IN)
    def get(self):
        """The CommServe: name, host name, time zone and version."""
        return wire.respond(services.commserv_info(current_app.config), wire.COMMSERV_ROOT)


@blp.route("/User")
class Users(MethodView):
    @endpoint(schemas.UsersSchema, wire.USERS_ROOT, caller=LOGGED_IN)
    def get(self):
        """List the users by userId."""
        return wire.respond(services.list_users(db.session()), wire.USERS_ROOT)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        caller=MASTER,
        fails=wire.response_list_failure,
        body=schemas.CreateUserRequestSchema,
    )
    def post(self, fields: dict[str, Any]):
        """Create one user (master administrators only)."""
        with db.unit_of_work() as session:
            payload = services.create_user(session, fields)
        return wire.respond(payload, wire.RESPONSE_LIST_ROOT)


@blp.route("/User/<int:user_id>")
class UserById(MethodView):
    @endpoint(schemas.UsersSchema, wire.USERS_ROOT, caller=LOGGED_IN, failure=GENERIC, path_ids=("user_id",))
    @blp.arguments(schemas.UserQuerySchema, location="query")
    def get(self, _query: dict[str, Any], user_id: int):
        """One user with its user groups and role associations."""
        return wire.respond(services.get_user(db.session(), user_id), wire.USERS_ROOT)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        caller=MASTER,
        fails=wire.response_list_failure,
        path_ids=("user_id",),
    )
    @blp.arguments(schemas.DeleteUserQuerySchema, location="query")
    def delete(self, query: dict[str, str], user_id: int):
        """Delete a user; the clients it owns pass to newUserId (master administrators only)."""
        with db.unit_of_work() as session:
            payload = services.delete_user(
                session, g.user, user_id, query.get("newUserId"), query.get("newUserGroupId")
            )
        return wire.respond(payload, wire.RESPONSE_LIST_ROOT)


@blp.route("/User/<int:user_id>/Security")
class UserSecurity(MethodView):
    @endpoint(
        schemas.SecurityAssociationsSchema,
        wire.SECURITY_ROOT,
        caller=LOGGED_IN,
        failure=GENERIC,
        path_ids=("user_id",),
    )
    def get(self, user_id: int):
        """The user's role associations."""
        return wire.respond(services.user_security(db.session(), user_id), wire.SECURITY_ROOT)


@blp.route("/User/Offboard")
class Offboard(MethodView):
    @endpoint(
        GENERIC,
        wire.GENERIC_ROOT,
        caller=MASTER,
        body=schemas.OffboardRequestSchema,
        formats=wire.JSON_OR_XML,
    )
    def post(self, named: dict[str, Any]):
        """Offboard a user by userName or userId (master administrators only)."""
        with db.unit_of_work() as session:
            payload = services.offboard_user(session, named.get("userId"), named.get("userName"))
        return wire.respond(payload)


@blp.route("/v4/user")
class V4Users(MethodView):
    @endpoint(schemas.V4UsersSchema, wire.V4_USERS_ROOT, caller=LOGGED_IN)
    @blp.arguments(schemas.V4UsersQuerySchema, location="query")
    def get(self, _query: dict[str, Any]):
        """List the users by id (v4 shape)."""
        return wire.respond(services.list_v4_users(db.session()), wire.V4_USERS_ROOT)


@blp.route("/v4/user/<int:user_id>")
class V4UserById(MethodView):
    @endpoint(
        schemas.V4UserSchema, wire.V4_USER_ROOT, caller=LOGGED_IN, failure=GENERIC, path_ids=("user_id",)
    )
    def get(self, user_id: int):
        """One user with its user groups (v4 shape)."""
        return wire.respond(services.get_v4_user(db.session(), user_id), wire.V4_USER_ROOT)


@blp.route("/Client")
class Clients(MethodView):
    @endpoint(
        schemas.ClientsSchema,
        wire.CLIENTS_ROOT,
        caller=LOGGED_IN,
        failure=schemas.VirtualizationClientsSchema,
        success_description="The clients; with PseudoClientType=VSPseudo the virtualization clients",
    )
    @blp.arguments(schemas.ClientsQuerySchema, location="query")
    def get(self, query: dict[str, str]):
        """List the clients by clientId, VM clients included (or the virtualization clients)."""
        if query.get("PseudoClientType", "").lower() == "vspseudo":
            return wire.respond(services.list_hypervisors(db.session()), wire.CLIENTS_ROOT)
        return wire.respond(services.list_clients(db.session()), wire.CLIENTS_ROOT)


@blp.route("/Client/<int:client_id>")
class ClientById(MethodView):
    @endpoint(
        schemas.ClientsSchema, wire.CLIENTS_ROOT, caller=LOGGED_IN, failure=GENERIC, path_ids=("client_id",)
    )
    def get(self, client_id: int):
        """One client: owners, system, activity and (for a VM client) its VM status."""
        return wire.respond(services.get_client(db.session(), client_id), wire.CLIENTS_ROOT)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        caller=MASTER,
        fails=wire.response_list_failure,
        body=schemas.UpdateClientRequestSchema,
        path_ids=("client_id",),
    )
    def post(self, fields: dict[str, Any], client_id: int):
        """Replace, add or remove a client's owners (master administrators only)."""
        with db.unit_of_work() as session:
            payload = services.update_client_owners(session, client_id, fields)
        return wire.respond(payload, wire.RESPONSE_LIST_ROOT)


@blp.route("/VSAClientAndClientGroupList")
class AccessNodes(MethodView):
    @endpoint(schemas.AccessNodesSchema, wire.ACCESS_NODES_ROOT, caller=LOGGED_IN)
    def get(self):
        """The virtualization access nodes (none are modelled)."""
        return wire.respond(services.list_access_nodes(), wire.ACCESS_NODES_ROOT)


@blp.route("/Subclient")
class Subclients(MethodView):
    @endpoint(schemas.SubclientsSchema, wire.SUBCLIENTS_ROOT, caller=LOGGED_IN, failure=GENERIC)
    @blp.arguments(schemas.SubclientsQuerySchema, location="query")
    def get(self, query: dict[str, str]):
        """List a client's subclients by subclientId."""
        return wire.respond(
            services.list_subclients(db.session(), query.get("clientId")), wire.SUBCLIENTS_ROOT
        )


@blp.route("/Subclient/<int:subclient_id>")
class SubclientById(MethodView):
    @endpoint(
        schemas.SubclientsSchema,
        wire.SUBCLIENTS_ROOT,
        caller=LOGGED_IN,
        failure=GENERIC,
        path_ids=("subclient_id",),
    )
    def get(self, subclient_id: int):
        """One subclient with its backup switch and plan."""
        return wire.respond(services.get_subclient(db.session(), subclient_id), wire.SUBCLIENTS_ROOT)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        caller=MASTER,
        fails=wire.response_list_failure,
        body=schemas.UpdateSubclientRequestSchema,
        path_ids=("subclient_id",),
    )
    def post(self, fields: dict[str, Any], subclient_id: int):
        """Switch a subclient's backup on or off (master administrators only)."""
        with db.unit_of_work() as session:
            payload = services.update_subclient(session, subclient_id, fields)
        return wire.respond(payload, wire.RESPONSE_LIST_ROOT)
