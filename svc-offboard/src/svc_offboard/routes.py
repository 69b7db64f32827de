"""svc-offboard HTTP endpoints: thin views over services.py.

checks.check_request has authenticated the caller (``g.user``), applied the
view's declared policy and parsed its body (``g.body``) when a view runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema

from svc_offboard import apidoc, schemas, services, wire
from svc_offboard.checks import LOGGED_IN, MASTER, MASTER_WRITE, PUBLIC, Policy, allow
from svc_offboard.errors import Failure
from vendorkit import db

blp = Blueprint(
    "offboard",
    __name__,
    url_prefix="/webconsole/api",
    description=(
        "Commvault web service (users, clients, offboarding), served alike under /webconsole/api and "
        "/commandcenter/api. Send the token of POST Login in the `Authtoken` header; JSON or XML by "
        "`Content-type` and `Accept`. Business failures are HTTP 200 with `errorCode` != 0."
    ),
)

GENERIC = schemas.GenericRespSchema
RESPONSE_LIST = schemas.ResponseListSchema
View = TypeVar("View", bound=Callable[..., Any])

LOGIN = Policy(
    token_required=False, reads_body=True, accepts_xml=True, xml_root="DM2ContentIndexing_CheckCredentialReq"
)
RENEW = Policy(token_required=False, reads_body=True)
OFFBOARD = Policy(master_only=True, reads_body=True, accepts_xml=True, xml_root="Api_OffboardUserReq")


def endpoint(
    success: type[Schema], xml_root: str, *, policy: Policy, **options: Any
) -> Callable[[View], View]:
    """Declare a view's access policy and document its operation (apidoc.operation) from it."""

    def declare(view: View) -> View:
        # Query schemas read every value as text, so their validation never fails: no 422 to document.
        getattr(view, "_apidoc", {}).get("arguments", {}).pop("responses", None)
        return blp.doc(**apidoc.operation(success, xml_root, policy=policy, **options))(allow(policy)(view))

    return declare


def _session():
    return db.session()


@blp.route("/", strict_slashes=False)
class ServiceRoot(MethodView):
    @endpoint(GENERIC, wire.GENERIC_ROOT, policy=PUBLIC)
    def get(self):
        """The service is up (the reachability probe of Commvault's SDKs; no token needed)."""
        return wire.respond({"errorCode": 0, "errorMessage": "Commvault web service"})


@blp.route("/Login")
class Login(MethodView):
    @endpoint(
        schemas.LoginResponseSchema,
        wire.LOGIN_ROOT,
        policy=LOGIN,
        body=schemas.LoginRequestSchema,
    )
    def post(self):
        """Log in with a base64-encoded password; answers a QSDK token (or errList)."""
        payload = services.login(_session(), g.body, current_app.config["TOKEN_IDLE_MINUTES"])
        return wire.respond(payload, wire.LOGIN_ROOT)


@blp.route("/RenewLoginToken")
class RenewLoginToken(MethodView):
    @endpoint(
        schemas.RenewLoginTokenResponseSchema,
        wire.RENEW_ROOT,
        policy=RENEW,
        failure=schemas.RenewLoginTokenFailureSchema,
        body=schemas.RenewLoginTokenRequestSchema,
    )
    def post(self):
        """Exchange a live or recently idle-expired token for a new one (the old one is revoked)."""
        payload = services.renew_token(
            _session(), g.body, request.headers.get("Authtoken"), current_app.config["TOKEN_RENEWAL_HOURS"]
        )
        return wire.respond(payload, wire.RENEW_ROOT)


@blp.route("/Logout")
class Logout(MethodView):
    @endpoint(GENERIC, wire.GENERIC_ROOT, policy=LOGGED_IN)
    def post(self):
        """Revoke the presented token."""
        return wire.respond(services.logout(_session(), g.token_digest))


@blp.route("/WhoAmI")
class WhoAmI(MethodView):
    @endpoint(schemas.WhoAmISchema, wire.WHO_AM_I_ROOT, policy=LOGGED_IN)
    def post(self):
        """The user the presented token belongs to."""
        return wire.respond(services.who_am_i(g.user), wire.WHO_AM_I_ROOT)


@blp.route("/CommServ")
class CommServ(MethodView):
    @endpoint(schemas.CommServSchema, wire.COMMSERV_ROOT, policy=LOGGED_IN)
    def get(self):
        """The CommServe: name, host name, time zone and version."""
        return wire.respond(services.commserv_info(current_app.config), wire.COMMSERV_ROOT)


@blp.route("/User")
class Users(MethodView):
    @endpoint(schemas.UsersSchema, wire.USERS_ROOT, policy=LOGGED_IN)
    def get(self):
        """List the users by userId."""
        return wire.respond(services.list_users(_session()), wire.USERS_ROOT)

    @endpoint(
        RESPONSE_LIST, wire.RESPONSE_LIST_ROOT, policy=MASTER_WRITE, body=schemas.CreateUserRequestSchema
    )
    def post(self):
        """Create one user (master administrators only)."""
        try:
            return wire.respond(services.create_user(_session(), g.body), wire.RESPONSE_LIST_ROOT)
        except Failure as exc:
            return wire.response_list_failure(exc.message)


@blp.route("/User/<int:user_id>")
class UserById(MethodView):
    @endpoint(
        schemas.UsersSchema,
        wire.USERS_ROOT,
        policy=LOGGED_IN,
        failure=GENERIC,
        path_ids=("user_id",),
    )
    @blp.arguments(schemas.UserQuerySchema, location="query")
    def get(self, _query: dict[str, Any], user_id: int):
        """One user with its user groups and role associations."""
        try:
            return wire.respond(services.get_user(_session(), user_id), wire.USERS_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        policy=MASTER,
        path_ids=("user_id",),
    )
    @blp.arguments(schemas.DeleteUserQuerySchema, location="query")
    def delete(self, query: dict[str, str], user_id: int):
        """Delete a user; the clients it owns pass to newUserId (master administrators only)."""
        try:
            payload = services.delete_user(
                _session(),
                g.user,
                user_id,
                query.get("newUserId"),
                query.get("newUserGroupId"),
            )
            return wire.respond(payload, wire.RESPONSE_LIST_ROOT)
        except Failure as exc:
            return wire.response_list_failure(exc.message)


@blp.route("/User/<int:user_id>/Security")
class UserSecurity(MethodView):
    @endpoint(
        schemas.SecurityAssociationsSchema,
        wire.SECURITY_ROOT,
        policy=LOGGED_IN,
        failure=GENERIC,
        path_ids=("user_id",),
    )
    def get(self, user_id: int):
        """The user's role associations."""
        try:
            return wire.respond(services.user_security(_session(), user_id), wire.SECURITY_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)


@blp.route("/User/Offboard")
class Offboard(MethodView):
    @endpoint(
        GENERIC,
        wire.GENERIC_ROOT,
        policy=OFFBOARD,
        body=schemas.OffboardRequestSchema,
    )
    def post(self):
        """Offboard a user by userName or userId (master administrators only)."""
        try:
            return wire.respond(services.offboard_user(_session(), g.body))
        except Failure as exc:
            return wire.failure(exc.message)


@blp.route("/v4/user")
class V4Users(MethodView):
    @endpoint(
        schemas.V4UsersSchema,
        wire.V4_USERS_ROOT,
        policy=LOGGED_IN,
    )
    @blp.arguments(schemas.V4UsersQuerySchema, location="query")
    def get(self, _query: dict[str, Any]):
        """List the users by id (v4 shape)."""
        return wire.respond(services.list_v4_users(_session()), wire.V4_USERS_ROOT)


@blp.route("/v4/user/<int:user_id>")
class V4UserById(MethodView):
    @endpoint(
        schemas.V4UserSchema, wire.V4_USER_ROOT, policy=LOGGED_IN, failure=GENERIC, path_ids=("user_id",)
    )
    def get(self, user_id: int):
        """One user with its user groups (v4 shape)."""
        try:
            return wire.respond(services.get_v4_user(_session(), user_id), wire.V4_USER_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)


@blp.route("/Client")
class Clients(MethodView):
    @endpoint(
        schemas.ClientsSchema,
        wire.CLIENTS_ROOT,
        policy=LOGGED_IN,
        failure=schemas.VirtualizationClientsSchema,
        success_description="The clients; with PseudoClientType=VSPseudo the virtualization clients",
    )
    @blp.arguments(schemas.ClientsQuerySchema, location="query")
    def get(self, query: dict[str, str]):
        """List the clients by clientId, VM clients included (or the virtualization clients)."""
        if query.get("PseudoClientType", "").lower() == "vspseudo":
            return wire.respond(services.list_hypervisors(_session()), wire.CLIENTS_ROOT)
        return wire.respond(services.list_clients(_session()), wire.CLIENTS_ROOT)


@blp.route("/Client/<int:client_id>")
class ClientById(MethodView):
    @endpoint(
        schemas.ClientsSchema,
        wire.CLIENTS_ROOT,
        policy=LOGGED_IN,
        failure=GENERIC,
        path_ids=("client_id",),
    )
    def get(self, client_id: int):
        """One client: owners, system, activity and (for a VM client) its VM status."""
        try:
            return wire.respond(services.get_client(_session(), client_id), wire.CLIENTS_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        policy=MASTER_WRITE,
        body=schemas.UpdateClientRequestSchema,
        path_ids=("client_id",),
    )
    def post(self, client_id: int):
        """Replace, add or remove a client's owners (master administrators only)."""
        try:
            payload = services.update_client_owners(_session(), client_id, g.body)
            return wire.respond(payload, wire.RESPONSE_LIST_ROOT)
        except Failure as exc:
            return wire.response_list_failure(exc.message)


@blp.route("/VSAClientAndClientGroupList")
class AccessNodes(MethodView):
    @endpoint(schemas.AccessNodesSchema, wire.ACCESS_NODES_ROOT, policy=LOGGED_IN)
    def get(self):
        """The virtualization access nodes (none are modelled)."""
        return wire.respond(services.list_access_nodes(), wire.ACCESS_NODES_ROOT)


@blp.route("/Subclient")
class Subclients(MethodView):
    @endpoint(
        schemas.SubclientsSchema,
        wire.SUBCLIENTS_ROOT,
        policy=LOGGED_IN,
        failure=GENERIC,
    )
    @blp.arguments(schemas.SubclientsQuerySchema, location="query")
    def get(self, query: dict[str, str]):
        """List a client's subclients by subclientId."""
        try:
            payload = services.list_subclients(_session(), query.get("clientId"))
            return wire.respond(payload, wire.SUBCLIENTS_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)


@blp.route("/Subclient/<int:subclient_id>")
class SubclientById(MethodView):
    @endpoint(
        schemas.SubclientsSchema,
        wire.SUBCLIENTS_ROOT,
        policy=LOGGED_IN,
        failure=GENERIC,
        path_ids=("subclient_id",),
    )
    def get(self, subclient_id: int):
        """One subclient with its backup switch and plan."""
        try:
            return wire.respond(services.get_subclient(_session(), subclient_id), wire.SUBCLIENTS_ROOT)
        except Failure as exc:
            return wire.failure(exc.message)

    @endpoint(
        RESPONSE_LIST,
        wire.RESPONSE_LIST_ROOT,
        policy=MASTER_WRITE,
        body=schemas.UpdateSubclientRequestSchema,
        path_ids=("subclient_id",),
    )
    def post(self, subclient_id: int):
        """Switch a subclient's backup on or off (master administrators only)."""
        try:
            payload = services.update_subclient(_session(), subclient_id, g.body)
            return wire.respond(payload, wire.RESPONSE_LIST_ROOT)
        except Failure as exc:
            return wire.response_list_failure(exc.message)
