"""svc-offboard HTTP endpoints: thin views over services.py.

Each view declares its OpenAPI operation (``@apidoc.operation``), its caller and
body formats (``@declare``), its inputs (``@blp.arguments``), the schema that dumps
its answer (``@blp.response``) and the XML root of that answer (``@wire.answers``).
auth.CHECKS have authenticated the caller (``g.user``) and read the body when it
runs, and its schema has validated the body. A view returns what services.py
returns; a business failure (``errors.Failure``) is answered in the endpoint's envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, jsonify, request
from flask.views import MethodView

from svc_offboard import apidoc, errors, schemas, services, wire
from svc_offboard.auth import LOGGED_IN, MASTER, PUBLIC
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


def _written(change: Callable[..., Any], *args: Any) -> Any:
    """``change(session, *args)`` in a unit of work: committed when it returns, rolled back when it fails."""
    with db.unit_of_work() as session:
        return change(session, *args)


@blp.route("/", strict_slashes=False)
class ServiceRoot(MethodView):
    @apidoc.operation()
    @declare(PUBLIC)
    @wire.answers(wire.GENERIC_ROOT)
    @blp.response(200, GENERIC)
    def get(self):
        """The service is up (the reachability probe of Commvault's SDKs; no token needed)."""
        return services.Outcome("Commvault web service")


@blp.route("/Login")
class Login(MethodView):
    @apidoc.operation()
    @declare(PUBLIC, formats=wire.JSON_OR_XML)
    @wire.answers(wire.LOGIN_ROOT)
    @blp.arguments(schemas.LoginRequestSchema, required=False)
    @blp.response(200, schemas.LoginResponseSchema)
    def post(self, credentials: dict[str, Any]):
        """Log in with a base64-encoded password; answers a QSDK token (or errList)."""
        timeout = credentials.get("timeout", current_app.config["TOKEN_IDLE_MINUTES"])
        return _written(services.login, credentials["username"], credentials["password"], timeout)


@blp.route("/RenewLoginToken")
class RenewLoginToken(MethodView):
    @apidoc.operation(failure=schemas.RenewLoginTokenFailureSchema)
    @declare(PUBLIC, formats=wire.JSON)
    @wire.answers(wire.RENEW_ROOT)
    @blp.arguments(schemas.RenewLoginTokenRequestSchema, required=False)
    @blp.response(200, schemas.RenewLoginTokenResponseSchema)
    def post(self, renewal: dict[str, Any]):
        """Exchange a live or recently idle-expired token for a new one (the old one is revoked)."""
        presented = renewal.get("sessionId", request.headers.get("Authtoken"))
        return _written(services.renew_token, presented, current_app.config["TOKEN_RENEWAL_HOURS"])


@blp.route("/Logout")
class Logout(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.GENERIC_ROOT)
    @blp.response(200, GENERIC)
    def post(self):
        """Revoke the presented token."""
        return _written(services.logout, g.token_digest)


@blp.route("/WhoAmI")
class WhoAmI(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.WHO_AM_I_ROOT)
    @blp.response(200, schemas.WhoAmISchema)
    def post(self):
        """The user the presented token belongs to."""
        return g.user


@blp.route("/CommServ")
class CommServ(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.COMMSERV_ROOT)
    @blp.response(200, schemas.CommServSchema)
    def get(self):
        """The CommServe: name, host name, time zone and version."""
        return services.commserv_info(current_app.config)


@blp.route("/User")
class Users(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.USERS_ROOT)
    @blp.response(200, schemas.UsersSchema)
    def get(self):
        """List the users by userId."""
        return services.list_users(db.session())

    @apidoc.operation()
    @declare(MASTER, formats=wire.JSON)
    @wire.answers(wire.RESPONSE_LIST_ROOT)
    @blp.arguments(schemas.CreateUserRequestSchema, required=False)
    @blp.response(200, RESPONSE_LIST)
    def post(self, fields: dict[str, Any]):
        """Create one user (master administrators only)."""
        return _written(services.create_user, fields)


@blp.route("/User/<int:user_id>")
class UserById(MethodView):
    @apidoc.operation(failure=GENERIC, path_ids=("user_id",))
    @declare(LOGGED_IN)
    @wire.answers(wire.USERS_ROOT)
    @blp.arguments(schemas.UserQuerySchema, location="query")
    @blp.response(200, schemas.UsersSchema)
    def get(self, _query: dict[str, Any], user_id: int):
        """One user with its user groups and role associations."""
        return services.get_user(db.session(), user_id)

    @apidoc.operation(path_ids=("user_id",))
    @declare(MASTER)
    @wire.answers(wire.RESPONSE_LIST_ROOT)
    @blp.arguments(schemas.DeleteUserQuerySchema, location="query")
    @blp.response(200, RESPONSE_LIST)
    def delete(self, query: dict[str, str], user_id: int):
        """Delete a user; the clients it owns pass to newUserId (master administrators only)."""
        heir, group = query.get("newUserId"), query.get("newUserGroupId")
        return _written(services.delete_user, g.user, user_id, heir, group)


@blp.route("/User/<int:user_id>/Security")
class UserSecurity(MethodView):
    @apidoc.operation(failure=GENERIC, path_ids=("user_id",))
    @declare(LOGGED_IN)
    @wire.answers(wire.SECURITY_ROOT)
    @blp.response(200, schemas.SecurityAssociationsSchema)
    def get(self, user_id: int):
        """The user's role associations."""
        return services.user_security(db.session(), user_id)


@blp.route("/User/Offboard")
class Offboard(MethodView):
    @apidoc.operation()
    @declare(MASTER, formats=wire.JSON_OR_XML)
    @wire.answers(wire.GENERIC_ROOT)
    @blp.arguments(schemas.OffboardRequestSchema, required=False)
    @blp.response(200, schemas.OffboardRespSchema)
    def post(self, named: dict[str, Any]):
        """Offboard a user by userName or userId (master administrators only)."""
        return _written(services.offboard_user, named.get("userId"), named.get("userName"))


@blp.route("/v4/user")
class V4Users(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.V4_USERS_ROOT)
    @blp.arguments(schemas.V4UsersQuerySchema, location="query")
    @blp.response(200, schemas.V4UsersSchema)
    def get(self, _query: dict[str, Any]):
        """List the users by id (v4 shape)."""
        return services.list_users(db.session())


@blp.route("/v4/user/<int:user_id>")
class V4UserById(MethodView):
    @apidoc.operation(failure=GENERIC, path_ids=("user_id",))
    @declare(LOGGED_IN)
    @wire.answers(wire.V4_USER_ROOT)
    @blp.response(200, schemas.V4UserSchema)
    def get(self, user_id: int):
        """One user with its user groups (v4 shape)."""
        return services.get_user_and_groups(db.session(), user_id)


@blp.route("/Client")
class Clients(MethodView):
    @apidoc.operation(
        failure=schemas.VirtualizationClientsSchema,
        success_description="The clients; with PseudoClientType=VSPseudo the virtualization clients",
    )
    @declare(LOGGED_IN)
    @wire.answers(wire.CLIENTS_ROOT)
    @blp.arguments(schemas.ClientsQuerySchema, location="query")
    @blp.response(200, schemas.ClientsSchema)
    def get(self, query: dict[str, str]):
        """List the clients by clientId, VM clients included (or the virtualization clients)."""
        if query.get("PseudoClientType", "").lower() == "vspseudo":
            # The other shape of this answer: its own schema dumps it, rendered as @blp.response renders.
            return jsonify(
                schemas.VirtualizationClientsSchema().dump(services.list_hypervisors(db.session()))
            )
        return services.list_clients(db.session())


@blp.route("/Client/<int:client_id>")
class ClientById(MethodView):
    @apidoc.operation(failure=GENERIC, path_ids=("client_id",))
    @declare(LOGGED_IN)
    @wire.answers(wire.CLIENTS_ROOT)
    @blp.response(200, schemas.ClientsSchema)
    def get(self, client_id: int):
        """One client: owners, system, activity and (for a VM client) its VM status."""
        return services.get_client(db.session(), client_id)

    @apidoc.operation(path_ids=("client_id",))
    @declare(MASTER, formats=wire.JSON)
    @wire.answers(wire.RESPONSE_LIST_ROOT)
    @blp.arguments(schemas.UpdateClientRequestSchema, required=False)
    @blp.response(200, RESPONSE_LIST)
    def post(self, fields: dict[str, Any], client_id: int):
        """Replace, add or remove a client's owners (master administrators only)."""
        return _written(services.update_client_owners, client_id, fields)


@blp.route("/VSAClientAndClientGroupList")
class AccessNodes(MethodView):
    @apidoc.operation()
    @declare(LOGGED_IN)
    @wire.answers(wire.ACCESS_NODES_ROOT)
    @blp.response(200, schemas.AccessNodesSchema)
    def get(self):
        """The virtualization access nodes (none are modelled)."""
        return services.list_access_nodes()


@blp.route("/Subclient")
class Subclients(MethodView):
    @apidoc.operation(failure=GENERIC)
    @declare(LOGGED_IN)
    @wire.answers(wire.SUBCLIENTS_ROOT)
    @blp.arguments(schemas.SubclientsQuerySchema, location="query")
    @blp.response(200, schemas.SubclientsSchema)
    def get(self, query: dict[str, str]):
        """List a client's subclients by subclientId."""
        return services.list_subclients(db.session(), query.get("clientId"))


@blp.route("/Subclient/<int:subclient_id>")
class SubclientById(MethodView):
    @apidoc.operation(failure=GENERIC, path_ids=("subclient_id",))
    @declare(LOGGED_IN)
    @wire.answers(wire.SUBCLIENTS_ROOT)
    @blp.response(200, schemas.SubclientsSchema)
    def get(self, subclient_id: int):
        """One subclient with its backup switch and plan."""
        return services.get_subclient(db.session(), subclient_id)

    @apidoc.operation(path_ids=("subclient_id",))
    @declare(MASTER, formats=wire.JSON)
    @wire.answers(wire.RESPONSE_LIST_ROOT)
    @blp.arguments(schemas.UpdateSubclientRequestSchema, required=False)
    @blp.response(200, RESPONSE_LIST)
    def post(self, fields: dict[str, Any], subclient_id: int):
        """Switch a subclient's backup on or off (master administrators only)."""
        return _written(services.update_subclient, subclient_id, fields)
