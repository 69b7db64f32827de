"""svc-agenda HTTP endpoints: thin views declaring their caller, body formats and schemas (services.py does the work).

A view returns data that its ``@blp.response`` schema dumps; ``wire.AktionAnswers``
renders the dump in JSON or XML, as the client asks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask.views import MethodView

from svc_agenda import apidoc, auth, errors, schemas, services, wire
from vendorkit import db
from vendorkit.arguments import blueprint
from vendorkit.endpoints import declare

blp = blueprint(
    wire.API_BLUEPRINT,
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


def _written(change: Callable[..., None], subject: Any, body: dict[str, Any]) -> schemas.Success:
    """``change(session, caller, subject, ...)`` in one unit of work, audited with the client and time; ExecOK."""
    with db.unit_of_work() as session:
        change(session, auth.caller_account(), subject, client=wire.client_address(), now=wire.utcnow())
    return schemas.Success(errors.OK_POST, body)


@blp.route("/login")
class Login(MethodView):
    @apidoc.operation(refusals=apidoc.LOGIN_REFUSALS)
    @declare(auth.PUBLIC, formats=wire.BODY_TYPES)
    @blp.arguments(schemas.LoginReqSchema)
    @blp.response(200, schemas.LoginRespSchema, description="A new token (no Result)")
    def post(self, body: dict[str, Any]):
        """Log in with UserLogin and ApiKey; answers a token valid for 20 seconds."""
        with db.unit_of_work() as session:
            issued = auth.login(
                session, body["UserLogin"], body["ApiKey"], now=wire.utcnow(), config=current_app.config
            )
        return issued


@blp.route("/user/remove")
class UserRemove(MethodView):
    @apidoc.operation(
        envelope=schemas.LoginNameRespSchema,
        forbidden=[
            errors.DELETE_DENIED,
            errors.RECORD_DENIED,
            errors.CHANGED,
            errors.DELETED,
            errors.CONSISTENCE,
        ],
        not_found=True,
    )
    @declare(auth.account(audited_as="remove"), formats=wire.BODY_TYPES)
    @blp.arguments(schemas.UserRemoveReqSchema)
    @blp.response(200, schemas.LoginNameRespSchema, description="Removed (kept as removed)")
    def post(self, body: dict[str, Any]):
        """Remove a user (kept as removed); privilege Delete of agenda Users required."""
        return _written(services.remove_user, body["LoginName"], body)


@blp.route("/user/create")
class UserCreate(MethodView):
    @apidoc.operation(envelope=schemas.UserCreateRespSchema, forbidden=[errors.NEW_DENIED, errors.DUPLICITY])
    @declare(auth.account(audited_as="create"), formats=wire.BODY_TYPES)
    @blp.arguments(schemas.UserCreateReqSchema)
    @blp.response(200, schemas.UserCreateRespSchema, description="Created")
    def post(self, body: dict[str, Any]):
        """Create a user in the caller's company; privilege New of agenda Users required."""
        return _written(services.create_user, body, body)


@blp.route("/user/getAll")
class UserList(MethodView):
    @apidoc.operation(envelope=schemas.PageRespSchema, forbidden=[errors.VIEW_DENIED])
    @declare(auth.account())
    @blp.arguments(schemas.PageQuerySchema, location="query")
    @blp.response(200, schemas.UsersRespSchema, description="The users, ordered by lowercased LoginName")
    def get(self, query: dict[str, Any]):
        """List the users of the caller's company, optionally one page at a time."""
        users = services.list_users(db.session(), auth.caller_account(), query)
        return schemas.Success(errors.OK_GET, query, {"Users": users})


@blp.route("/user/get")
class UserGet(MethodView):
    @apidoc.operation(
        envelope=schemas.LoginNameRespSchema,
        forbidden=[errors.VIEW_DENIED, errors.SYSTEM_USER, errors.RECORD_VIEW_DENIED],
        not_found=True,
    )
    @declare(auth.account())
    @blp.arguments(schemas.LoginNameQuerySchema, location="query")
    @blp.response(200, schemas.UserRespSchema, description="The user's fields beside Result")
    def get(self, query: dict[str, Any]):
        """One user of the caller's company by LoginName."""
        user = services.get_user(db.session(), auth.caller_account(), query["LoginName"])
        return schemas.Success(errors.OK_GET, query, user)
