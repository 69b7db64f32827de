"""The app factory every service builds on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from apispec import APISpec
from flask import Flask, Response, g, has_request_context, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api, Blueprint
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from vendorkit import admin, db, endpoints, logs, migrations
from vendorkit.dialects import Dialect, Refusal
from vendorkit.dialects.openapi import GatewayAnswers
from vendorkit.web import VendorJSON, client_ip

log = logging.getLogger("vendorkit.app")

# The exceptions of a database outage; services that answer them in a shape of
# their own register handlers for these classes (see ``db.is_outage`` for the rest).
DATABASE_ERRORS = db.OUTAGE_ERRORS

HTTP_REFUSALS = {
    404: Refusal.NOT_FOUND,
    405: Refusal.METHOD_NOT_ALLOWED,
    413: Refusal.BODY_TOO_LARGE,
}


class SelfAnswering(Protocol):
    """A service's refusal that knows its answer in the vendor's envelope."""

    def response(self) -> Response: ...


class VendorApi(Api):
    """flask-smorest's Api without its generic error and pagination components.

    Each vendor documents its own error envelope; flask-smorest's ``Error``
    schema and default responses would describe bodies no service sends.
    """

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_responses(self):
        pass

    def _register_pagination_header(self):
        pass


def create_service_app(
    package: str,
    *,
    title: str,
    settings: dict[str, Any],
    dialect: Dialect,
    blueprints: Iterable[Blueprint],
    checks: Sequence[endpoints.Check],
    demo_loader: Callable[[Session, dict[str, Any]], None] | None = None,
    description: str = "",
    security_schemes: dict[str, dict[str, Any]] | None = None,
    read_only_gets: bool = False,
    api_prefixes: Iterable[str] | None = None,
    self_answering: Iterable[type[SelfAnswering]] = (),
    complete_document: Callable[[APISpec], None] | None = None,
    json_provider: type[DefaultJSONProvider] = VendorJSON,
) -> Flask:
    """A Flask app with flask-smorest, the vendor's error envelope, JSON logs, health and migrations.

    ``checks``: the service's request checks in its vendor's order (see
    ``vendorkit.endpoints``), run before every view under ``api_prefixes``
    (the blueprints' URL prefixes by default); every view of ``blueprints``
    declares its caller, or the app does not start.

    ``read_only_gets``: the service's GET and HEAD requests write nothing, or
    call ``db.for_writes`` first; their database sessions then read cheaply.

    ``self_answering``: the service's exception classes that know their answer:
    one raised is answered with its ``response()``. ``complete_document`` adds to
    the OpenAPI document what no operation says, once every blueprint is in it.

    ``json_provider`` renders what views return (``@blp.response``'s dumps):
    by default as the dialect renders its refusals, in the dialect's media type.
    """
    app = Flask(package)
    app.config.update(settings)
    app.config[db.READ_ONLY_GETS] = read_only_gets
    app.config.update(
        API_TITLE=title,
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": description}} if description else {},
        # Vendors answer OPTIONS like any other unsupported method, in their envelope.
        PROVIDE_AUTOMATIC_OPTIONS=False,
    )
    app.json = json_provider(app)
    app.json.sort_keys = False
    app.json.mimetype = dialect.json_mimetype
    logs.configure(app.config["LOG_LEVEL"])

    # The server answers its own refusals (malformed HTTP) in this envelope too.
    app.extensions["vendorkit.dialect"] = dialect
    db.init_app(app)
    # Every operation also documents what the gateway in front may answer, in this dialect.
    api = VendorApi(app, spec_kwargs={"extra_plugins": [GatewayAnswers(dialect)]})
    for name, scheme in (security_schemes or {}).items():
        api.spec.components.security_scheme(name, scheme)
    blueprints = list(blueprints)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    if complete_document is not None:
        complete_document(api.spec)

    _register_request_hooks(app, package)
    endpoints.install(
        app,
        *checks,
        blueprints=[blueprint.name for blueprint in blueprints],
        prefixes=api_prefixes or [blueprint.url_prefix or "/" for blueprint in blueprints],
    )
    register_error_handlers(app, dialect)
    for error_class in self_answering:
        app.register_error_handler(error_class, _answer)
    _register_health(app)

    if app.config["RUN_MIGRATIONS"] or app.config["DEMO_DATA"]:
        bootstrap(app, package, demo_loader)
    admin.init_app(app, package, demo_loader)
    return app


def _answer(error: SelfAnswering) -> Response:
    return error.response()


def bootstrap(app: Flask, package: str, demo_loader=None) -> None:
    """Migrate to head and load the demo data, one process at a time."""
    engine = db.engine(app)
    with db.exclusive(engine, "bootstrap"):
        if app.config["RUN_MIGRATIONS"]:
            migrations.upgrade(engine, package)
        if app.config["DEMO_DATA"] and demo_loader is not None:
            with db.state(app).sessionmaker() as session, session.begin():
                demo_loader(session, app.config)


def _register_request_hooks(app: Flask, package: str) -> None:
    access_log = logging.getLogger(f"{package}.access")

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        g.request_id = logs.request_id_from(request.headers.get("X-Request-ID"))

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or logs.request_id_from(None)
        response.headers["X-Request-ID"] = request_id
        logs.log_request(
            access_log,
            request_id=request_id,
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=logs.monotonic_ms(g.get("started", time.perf_counter())),
            client=client_ip(),
        )
        return response


def register_error_handlers(app: Flask, dialect: Dialect) -> None:
    """Answer every HTTP error and every unexpected exception in ``dialect``'s envelope."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        kind = HTTP_REFUSALS.get(error.code or 500)
        if kind is None:
            if (error.code or 500) >= 500:
                kind = Refusal.INTERNAL_ERROR
            else:
                return dialect.generic_error(error.code or 400, error.description or error.name, request)
        response = dialect.refusal(kind, request, client_ip=client_ip(), method=request.method)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        if db.is_outage(error):
            log_outage(error)
            return dialect.refusal(Refusal.DATABASE_ERROR, request)
        log.exception("unhandled error", exc_info=error)
        return dialect.refusal(Refusal.INTERNAL_ERROR, request)

    for error_class in DATABASE_ERRORS:
        app.register_error_handler(error_class, _unexpected)


def log_outage(error: Exception) -> None:
    """Log a database outage by its kind and driver message only.

    SQLAlchemy's own text of the error carries the SQL and its parameters,
    which may be a token or a password hash; the driver's message does not.
    """
    original = getattr(error, "orig", None) or error
    log.error(
        "database unavailable",
        extra={
            "fields": {
                "error": type(original).__name__,
                "detail": str(original).splitlines()[0][:200] if str(original) else "",
                "path": request.path if has_request_context() else None,
            }
        },
    )


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz():
        if db.ping():
            return jsonify(status="ready")
        return jsonify(status="unavailable", reason="database"), 503
