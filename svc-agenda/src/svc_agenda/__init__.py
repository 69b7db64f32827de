"""AKTION.NEXT web API: login and users (document 004)."""

from flask import Flask

from svc_agenda.config import load_config
from svc_agenda.demo import load_demo_data
from svc_agenda.routes import blp
from vendorkit.dialects.aktion import AktionDialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-agenda WSGI app; ``test_config`` overrides settings from the environment."""
    return create_service_app(
        "svc_agenda",
        title="AKTION.NEXT web API (users)",
        settings=load_config(test_config),
        dialect=AktionDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
    )
