"""Commvault web service: login and user offboarding (document 002)."""

from flask import Flask

from svc_offboard import wire
from svc_offboard.config import load_config
from svc_offboard.demo import load_demo_data
from svc_offboard.routes import blp
from vendorkit.dialects.commvault import CommvaultDialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-offboard WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_offboard",
        title="Commvault web service (users, clients, offboarding)",
        settings=load_config(test_config),
        dialect=CommvaultDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
    )
    wire.install(app)
    return app
