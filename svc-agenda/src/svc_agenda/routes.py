"""svc-agenda HTTP endpoints: thin views declaring their caller, body formats and schemas (services.py does the work)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from svc_agenda import apidoc, auth, errors, schemas, services, wire
from vendorkit import db
from vendorkit.arguments import blueprint
from vendorkit.endpoints import declare

USER = schemas.UserSchema()

blp = blueprint(
    "agenda",
    __name__,
    read_body=wire.read_body,
    refuse=errors.invalid_input,
    url_prefix="/AktionNEXT/API",
    description=(
        "AKTION.NEXT web API (users). Log in with POST login, then send its token in the `Token` query "
        "parameter. Bodies are JSON, or XML under the root element `Request`; answers are JSON or XML "
        "(root `Response`) by `Accept`, else in the request body's format."
    ),
)


@blp.route("/login")
class Login(MethodView):
    @apidoc.operation(apidoc.LOGIN_SUCCESS, refusals=apidoc.LOGIN_REFUSALS)
    @declare(auth.PUBLIC, formats=wire.BODY_TYPES)
    @blp.arguments(schemas.LoginReqSchema)
    def post(self, body: dict[str, Any]):
        """Log in with UserLogin and ApiKey; answers a token valid for 20 seconds."""
        with db.unit_of_work() as session:
            issued = auth.login(
                session, body["UserLogin"], body["ApiKey"], now=wire.utcnow(), config=current_app.config
            )
        return wire.respond(
            200, {"Token": issued.token, "ExpireInSec": issued.lifetime, "ExpireDate": issued.expires_at}
        )


@blp.route("/user/remove")
class UserRemove(MethodView):
    @apidoc.operation(
        apidoc.response(schemas.LoginNameRespSchema, [0], "Removed (kept as removed)"),
        envelope=schemas.LoginNameRespSchema,
        forbidden=[
            errors.DELETE_DENIED,
            errors.LICENCE,
            errors.RECORD_DENIED,
            errors.CHANGED,
            errors.DELETED,
            errors.CONSISTENCE,
            errors.DB_FAILED,
        ],
        not_found=True,
    )
    @declare(auth.account(audited_as="remove"), formats=wire.BODY_TYPES)
    @blp.arguments(schemas.UserRemoveReqSchema)
    def post(self, body: dict[str, Any]):
        """Remove a user (kept as removed); privilege Delete of agenda Users required."""
        with db.unit_of_work() as session:
            services.remove_user(
                session,
                auth.caller_account(),
                body["LoginName"],
                client=wire.client_address(),
                now=wire.utcnow(),
            )
        return wire.envelope(200, 0, errors.OK_POST, echo=body)


@blp.route("/user/create")
class UserCreate(MethodView):
    @apidoc.operation(
        apidoc.response(schemas.UserCreateRespSchema, [0], "Created"),
        envelope=schemas.UserCreateRespSchema,
        forbidden=[errors.NEW_DENIED, errors.LICENCE, errors.DUPLICITY, errors.DB_FAILED],
    )
    @declare(auth.account(audited_as="create"), formats=wire.BODY_TYPES)
    @blp.arguments(schemas.UserCreateReqSchema)
    def post(self, body: dict[str, Any]):
        """Create a user in the caller's company; privilege New of agenda Users required."""
        with db.unit_of_work() as session:
            services.create_user(
                session, auth.caller_account(), body, client=wire.client_address(), now=wire.utcnow()
            )
        return wire.envelope(200, 0, errors.OK_POST, echo=body)


@blp.route("/user/getAll")
class UserList(MethodView):
    @apidoc.operation(
        apidoc.response(schemas.UsersRespSchema, [0], "The users, ordered by lowercased LoginName"),
        envelope=schemas.PageRespSchema,
        forbidden=[errors.VIEW_DENIED, errors.LICENCE, errors.DB_FAILED],
    )
    @declare(auth.account())
    @blp.arguments(schemas.PageQuerySchema, location="query")
    def get(self, query: dict[str, Any]):
        """List the users of the caller's company, optionally one page at a time."""
        users = services.list_users(db.session(), auth.caller_account(), query)
        return wire.envelope(200, 0, errors.OK_GET, echo=query, data={"Users": USER.dump(users, many=True)})


@blp.route("/user/get")
class UserGet(MethodView):
    @apidoc.operation(
        apidoc.response(schemas.UserRespSchema, [0], "The user's fields beside Result"),
        envelope=schemas.LoginNameRespSchema,
        forbidden=[
            errors.VIEW_DENIED,
            errors.SYSTEM_USER,
            errors.RECORD_VIEW_DENIED,
            errors.LICENCE,
            errors.DB_FAILED,
        ],
        not_found=True,
    )
    @declare(auth.account())
    @blp.arguments(schemas.LoginNameQuerySchema, location="query")
    def get(self, query: dict[str, Any]):
        """One user of the caller's company by LoginName."""
        user = services.get_user(db.session(), auth.caller_account(), query["LoginName"])
        return wire.envelope(200, 0, errors.OK_GET, echo=query, data=USER.dump(user))
