"""Commvault web service: login, users, clients and user offboarding (document 002)."""

from typing import Any

from flask import Flask

from svc_offboard import auth, errors, wire
from svc_offboard.config import load_config
from svc_offboard.demo import load_demo_data
from svc_offboard.routes import blp
from vendorkit.dialects.commvault import CommvaultDialect
from vendorkit.factory import create_service_app

SECURITY_SCHEMES = {
    "Authtoken": {
        "type": "apiKey",
        "in": "header",
        "name": "Authtoken",
        "description": "The token of POST Login, `QSDK <hex>` (the hex part alone is accepted too)",
    }
}
SCALAR_TYPES = {"string", "integer", "number", "boolean"}


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-offboard WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_offboard",
        title="Commvault web service (users, clients, offboarding)",
        settings=load_config(test_config),
        dialect=CommvaultDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
        security_schemes=SECURITY_SCHEMES,
        read_only_gets=True,
        checks=auth.CHECKS,
        api_prefixes=wire.ROOTS,
        json_provider=wire.CommvaultJSON,
    )
    # The product serves the same API under /commandcenter/api (cvpysdk's default root).
    api = app.extensions["flask-smorest"]["blp_name_to_api"][blp.name]
    api.register_blueprint(blp, url_prefix=wire.ROOTS[1], name="commandcenter")
    _scalars_as_xml_attributes(api.spec.components.schemas)
    app.wsgi_app = wire.CaseInsensitivePaths(app.wsgi_app)
    errors.install(app)
    return app


def _scalars_as_xml_attributes(component_schemas: dict[str, dict[str, Any]]) -> None:
    """Document Commvault's XML: scalar fields travel as attributes of their element."""
    for schema in component_schemas.values():
        for prop in schema.get("properties", {}).values():
            if prop.get("type") in SCALAR_TYPES:
                prop["xml"] = {"attribute": True}
