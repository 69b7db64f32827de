"""svc-offboard HTTP endpoints (thin views over services.py).

wire.check_request has already authenticated the caller (``g.user``), applied
the endpoint's Policy and parsed its body (``g.body``) when a view runs.
"""

from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint

from svc_offboard import schemas, services
from svc_offboard.wire import POLICIES, ROOT, Policy, failure, respond
from vendorkit import db

blp = Blueprint(
    "offboard",
    __name__,
    url_prefix=ROOT,
    description=(
        "Commvault web service (users, clients, offboarding). Send the token of POST /Login in the "
        "`Authtoken` header; JSON or XML by `Content-type` and `Accept`. Business failures are HTTP 200 "
        "with `errorCode` != 0."
    ),
)

LOGIN_ROOT = "DM2ContentIndexing_CheckCredentialResp"
USERS_ROOT = "App_GetUserPropertiesResponse"
CLIENTS_ROOT = "App_GetClientPropertiesResponse"
SUBCLIENTS_ROOT = "App_GetSubClientPropertiesResponse"
RESPONSE_LIST_ROOT = "App_GenericResponse"

WRITE = Policy(master_only=True, reads_body=True)
POLICIES.update(
    {
        (f"{ROOT}/Login", "POST"): Policy(
            reads_body=True, accepts_xml=True, xml_root="DM2ContentIndexing_CheckCredentialReq"
        ),
        (f"{ROOT}/User/Offboard", "POST"): Policy(
            master_only=True, reads_body=True, accepts_xml=True, xml_root="Api_OffboardUserReq"
        ),
        (f"{ROOT}/User", "POST"): WRITE,
        (f"{ROOT}/Client/<int:client_id>", "POST"): WRITE,
        (f"{ROOT}/Subclient/<int:subclient_id>", "POST"): WRITE,
    }
)


def _body(schema: type, *, xml: bool = False) -> dict[str, Any]:
    """OpenAPI requestBody of ``schema`` (JSON, and XML where the endpoint reads it)."""
    types = ["application/json", "application/xml"] if xml else ["application/json"]
    return {"requestBody": {"content": {media: {"schema": schema} for media in types}}}


def _response_list_failure(message: str):
    return respond({"response": [{"errorCode": 2, "errorString": message}]}, RESPONSE_LIST_ROOT)


@blp.route("/Login")
class Login(MethodView):
    @blp.doc(**_body(schemas.LoginRequestSchema, xml=True))
    @blp.response(200, schemas.LoginResponseSchema)
    def post(self):
        """Log in with a base64-encoded password; answers a QSDK token."""
        payload = services.login(db.session(), g.body, current_app.config["TOKEN_IDLE_MINUTES"])
        return respond(payload, LOGIN_ROOT)


@blp.route("/Logout")
class Logout(MethodView):
    @blp.response(200, schemas.GenericRespSchema)
    def post(self):
        """Revoke the presented token."""
        return respond(services.logout(db.session(), g.token_digest))


@blp.route("/User")
class Users(MethodView):
    @blp.response(200, schemas.UsersSchema)
    def get(self):
        """List the users by userId."""
        return respond(services.list_users(db.session()), USERS_ROOT)

    @blp.doc(**_body(schemas.UsersSchema))
    @blp.response(200, schemas.GenericResponseSchema)
    def post(self):
        """Create one user (master administrators only)."""
        try:
            return respond(services.create_user(db.session(), g.body), RESPONSE_LIST_ROOT)
        except services.Failure as exc:
            return _response_list_failure(exc.message)


@blp.route("/User/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, schemas.UsersSchema)
    def get(self, user_id: int):
        """One user with its user groups and role associations."""
        try:
            return respond(services.get_user(db.session(), user_id), USERS_ROOT)
        except services.Failure as exc:
            return failure(exc.message)


@blp.route("/User/Offboard")
class Offboard(MethodView):
    @blp.doc(**_body(schemas.OffboardRequestSchema, xml=True))
    @blp.response(200, schemas.GenericRespSchema)
    def post(self):
        """Offboard a user by userName or userId (master administrators only)."""
        try:
            return respond(services.offboard_user(db.session(), g.body))
        except services.Failure as exc:
            return failure(exc.message)


@blp.route("/Client")
class Clients(MethodView):
    @blp.response(200, schemas.ClientsSchema)
    def get(self):
        """List the clients by clientId, VM clients included."""
        return respond(services.list_clients(db.session()), CLIENTS_ROOT)


@blp.route("/Client/<int:client_id>")
class ClientById(MethodView):
    @blp.response(200, schemas.ClientsSchema)
    def get(self, client_id: int):
        """One client with its owners (and its VM status for a VM client)."""
        try:
            return respond(services.get_client(db.session(), client_id), CLIENTS_ROOT)
        except services.Failure as exc:
            return failure(exc.message)

    @blp.doc(**_body(schemas.ClientUpdateSchema))
    @blp.response(200, schemas.GenericResponseSchema)
    def post(self, client_id: int):
        """Replace, add or remove a client's owners (master administrators only)."""
        try:
            return respond(services.update_client_owners(db.session(), client_id, g.body), RESPONSE_LIST_ROOT)
        except services.Failure as exc:
            return _response_list_failure(exc.message)


@blp.route("/Subclient")
class Subclients(MethodView):
    @blp.doc(
        parameters=[{"in": "query", "name": "clientId", "required": True, "schema": {"type": "integer"}}]
    )
    @blp.response(200, schemas.SubclientsSchema)
    def get(self):
        """List a client's subclients by subclientId."""
        try:
            payload = services.list_subclients(db.session(), request.args.get("clientId"))
            return respond(payload, SUBCLIENTS_ROOT)
        except services.Failure as exc:
            return failure(exc.message)


@blp.route("/Subclient/<int:subclient_id>")
class SubclientById(MethodView):
    @blp.response(200, schemas.SubclientsSchema)
    def get(self, subclient_id: int):
        """One subclient with its backup switch and plan."""
        try:
            return respond(services.get_subclient(db.session(), subclient_id), SUBCLIENTS_ROOT)
        except services.Failure as exc:
            return failure(exc.message)

    @blp.doc(**_body(schemas.SubclientUpdateSchema))
    @blp.response(200, schemas.GenericResponseSchema)
    def post(self, subclient_id: int):
        """Switch a subclient's backup on or off (master administrators only)."""
        try:
            return respond(services.update_subclient(db.session(), subclient_id, g.body), RESPONSE_LIST_ROOT)
        except services.Failure as exc:
            return _response_list_failure(exc.message)
