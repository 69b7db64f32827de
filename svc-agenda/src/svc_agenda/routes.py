"""svc-agenda HTTP endpoints (thin views over services.py)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from svc_agenda import apidoc, errors, schemas, services, wire
from svc_agenda.errors import AgendaError, binding_failed
from svc_agenda.models import ApiAccount
from vendorkit import db

blp = Blueprint(
    "agenda",
    __name__,
    url_prefix="/AktionNEXT/API",
    description=(
        "AKTION.NEXT web API (users). Log in with POST login, then send its token in the `Token` query "
        "parameter. Bodies are JSON, or XML under the root element `Request`; answers are JSON or XML "
        "(root `Response`) by `Accept`, else in the request body's format."
    ),
)


def authenticated() -> ApiAccount:
    """The checks after routing: the token, the account's IP filter, then its rate policy."""
    token = wire.check_token(wire.query().get("token"))
    # Every authenticated request counts against the account's rate policy: a write, even on a GET.
    return services.authenticate(db.for_writes(db.session()), token, wire.client_address(), now=wire.utcnow())


class Audited:
    """Writes an audit row for a remove/create refused after authentication (successes audit themselves)."""

    def __init__(self, account: ApiAccount, action: str):
        self.account = account
        self.action = action
        self.target: str | None = None

    def __enter__(self) -> Audited:
        return self

    def __exit__(self, kind, error, _traceback) -> None:
        if isinstance(error, AgendaError):
            target = self.target if isinstance(self.target, str) else None
            services.audit_refusal(
                db.session(),
                self.account,
                self.action,
                target,
                wire.client_address(),
                error.code,
                wire.utcnow(),
            )


@blp.route("/login")
class Login(MethodView):
    @blp.doc(**apidoc.login_operation())
    def post(self):
        """Log in with UserLogin and ApiKey; answers a token valid for 20 seconds."""
        kind, data = wire.read_body()
        check = wire.Checker(wire.bind(kind, data, ("UserLogin", "ApiKey")))
        user_login = check.text("UserLogin", max_length=100, required=True)
        api_key = check.text("ApiKey", max_length=200, required=True)
        check.raise_if_failed()
        issued = services.login(
            db.session(), user_login, api_key, now=wire.utcnow(), config=current_app.config
        )
        return wire.respond(
            200, {"Token": issued.token, "ExpireInSec": issued.lifetime, "ExpireDate": issued.expires_at}
        )


@blp.route("/user/remove")
class UserRemove(MethodView):
    @blp.doc(
        **apidoc.operation(
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
            body=schemas.UserRemoveReqSchema,
        )
    )
    def post(self):
        """Remove a user (kept as removed); privilege Delete of agenda Users required."""
        account = authenticated()
        with Audited(account, "remove") as audit:
            kind, data = wire.read_body()
            values = wire.bind(kind, data, ("LoginName",))
            audit.target = values.get("LoginName")
            check = wire.Checker(values)
            login_name = check.text("LoginName", max_length=100, required=True, name_rules=True)
            check.raise_if_failed()
            services.remove_user(
                db.session(), account, login_name, client=wire.client_address(), now=wire.utcnow()
            )
        return wire.envelope(200, 0, errors.OK_POST, echo={"LoginName": login_name})


@blp.route("/user/create")
class UserCreate(MethodView):
    @blp.doc(
        **apidoc.operation(
            apidoc.response(schemas.UserCreateRespSchema, [0], "Created"),
            envelope=schemas.UserCreateRespSchema,
            forbidden=[errors.NEW_DENIED, errors.LICENCE, errors.DUPLICITY, errors.DB_FAILED],
            body=schemas.UserCreateReqSchema,
        )
    )
    def post(self):
        """Create a user in the caller's company; privilege New of agenda Users required."""
        account = authenticated()
        with Audited(account, "create") as audit:
            kind, data = wire.read_body()
            fields = ("LoginName", "UserName", "ValidFrom", "ValidTo", "Lock", "PersonID")
            values = wire.bind(kind, data, fields)
            audit.target = values.get("LoginName")
            check = wire.Checker(values)
            new = services.NewUser(
                login_name=check.text("LoginName", max_length=100, required=True, name_rules=True),
                user_name=check.text("UserName", max_length=100, required=True),
                valid_from=check.date("ValidFrom"),
                valid_to=check.date("ValidTo"),
                lock=check.flag("Lock"),
                person_id=check.text("PersonID", max_length=100, required=False),
            )
            if new.valid_from and new.valid_to and new.valid_to < new.valid_from:
                check.problems.append("ValidTo: before ValidFrom")
            check.raise_if_failed()
            services.create_user(db.session(), account, new, client=wire.client_address(), now=wire.utcnow())
        return wire.envelope(200, 0, errors.OK_POST, echo=new.echo())


@blp.route("/user/getAll")
class UserList(MethodView):
    @blp.doc(
        **apidoc.operation(
            apidoc.response(schemas.UsersRespSchema, [0], "The users, ordered by lowercased LoginName"),
            envelope=schemas.PageRespSchema,
            forbidden=[errors.VIEW_DENIED, errors.LICENCE, errors.DB_FAILED],
            parameters=apidoc.PAGE_PARAMETERS,
        )
    )
    def get(self):
        """List the users of the caller's company, optionally one page at a time."""
        account = authenticated()
        params = wire.query()
        problems: list[str] = []
        number = wire.page_number(params.get("pagenumber"), "PageNumber", problems, low=1, high=None)
        size = wire.page_number(params.get("pagesize"), "PageSize", problems, low=1, high=1000)
        if problems:
            raise binding_failed(problems)
        echo = {"PageNumber": number, "PageSize": size}
        users = services.list_users(db.session(), account, number, size, echo)
        return wire.envelope(
            200, 0, errors.OK_GET, echo=echo, data={"Users": [services.user_fields(user) for user in users]}
        )


@blp.route("/user/get")
class UserGet(MethodView):
    @blp.doc(
        **apidoc.operation(
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
            parameters=[apidoc.LOGIN_NAME_PARAMETER],
        )
    )
    def get(self):
        """One user of the caller's company by LoginName."""
        account = authenticated()
        check = wire.Checker({"LoginName": wire.query().get("loginname")})
        login_name = check.text("LoginName", max_length=100, required=True, name_rules=True)
        check.raise_if_failed()
        user = services.get_user(db.session(), account, login_name)
        return wire.envelope(
            200, 0, errors.OK_GET, echo={"LoginName": login_name}, data=services.user_fields(user)
        )
