"""WSO2 EMM 2.0: user management and OAuth2 tokens (document 003)."""

import logging

from flask import Flask
from werkzeug.exceptions import RequestEntityTooLarge

from svc_emm import apidoc
from svc_emm.config import load_config
from svc_emm.demo import load_demo_data
from svc_emm.routes import Forbidden, blp, fault_text, forbidden, oauth
from svc_emm.schemas import Invalid
from svc_emm.services import ServerFault
from svc_emm.tokens import OAuthError
from vendorkit import db
from vendorkit.dialects import json_response
from vendorkit.dialects.wso2 import Wso2Dialect, payload, server_fault
from vendorkit.factory import DATABASE_ERRORS, create_service_app, log_outage

log = logging.getLogger("svc_emm")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-emm WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_emm",
        title="WSO2 EMM 2.0 admin API (users)",
        settings=load_config(test_config),
        dialect=Wso2Dialect(),
        blueprints=[blp, oauth],
        demo_loader=load_demo_data,
        read_only_gets=True,
        description=apidoc.DESCRIPTION,
        security_schemes=apidoc.SECURITY_SCHEMES,
    )
    register_error_handlers(app)
    return app


def register_error_handlers(app: Flask) -> None:
    """The envelopes of docs/emm.md: client mistakes as 4xx, server faults with the endpoint's own text."""

    @app.errorhandler(Invalid)
    def _invalid(error: Invalid):
        response = payload(error.body_status, error.message)
        response.status_code = error.status
        return response

    @app.errorhandler(Forbidden)
    def _forbidden(error: Forbidden):
        return forbidden(error.caller)

    @app.errorhandler(OAuthError)
    def _oauth(error: OAuthError):
        return json_response(
            400,
            {"error": error.error, "error_description": error.description},
            {"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge):
        return payload(413, "Request payload is too large.")

    @app.errorhandler(ServerFault)
    def _server_fault(error: ServerFault):
        return server_fault(error.message)

    def _unexpected(error: Exception):
        if db.is_outage(error):
            # The endpoint's own fault text, as 503: the database is down, and the client may retry.
            log_outage(error)
            return server_fault(fault_text(), 503)
        log.error("request failed: %s", type(error).__name__, exc_info=error)
        return server_fault(fault_text())

    for error_class in (*DATABASE_ERRORS, Exception):
        app.register_error_handler(error_class, _unexpected)
