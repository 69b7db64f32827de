"""AKTION.NEXT web API: login and users (document 004)."""

from flask import Flask
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from svc_agenda import apidoc, auth, errors, wire
from svc_agenda.config import load_config
from svc_agenda.demo import load_demo_data
from svc_agenda.errors import AgendaError
from svc_agenda.routes import blp
from vendorkit.dialects.aktion import AktionDialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-agenda WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_agenda",
        title=apidoc.TITLE,
        settings=load_config(test_config),
        dialect=AktionDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
        security_schemes=apidoc.SECURITY_SCHEMES,
        read_only_gets=True,
        checks=auth.CHECKS,
        complete_document=apidoc.complete_document,
        json_provider=wire.AktionAnswers,
    )

    @app.errorhandler(AgendaError)
    def _refused(error: AgendaError):
        auth.audit_refusal(error)
        return wire.error_response(error)

    @app.errorhandler(RequestEntityTooLarge)
    @app.errorhandler(BadRequest)
    def _does_not_bind(error):
        # Anything werkzeug cannot read is a binding failure in the product's words (400/1002).
        return wire.error_response(errors.binding_failed([f"Request: {error.description}"]))

    return app
