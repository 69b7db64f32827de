"""DNL softswitch API v1: users and bulk delete (document 001)."""

from flask import Flask

from svc_bulkuser import apidoc
from svc_bulkuser.auth import CHECKS
from svc_bulkuser.config import load_config
from svc_bulkuser.demo import load_demo_data
from svc_bulkuser.errors import ApiError
from svc_bulkuser.routes import blp
from vendorkit.dialects.dnl import DnlDialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-bulkuser WSGI app; ``test_config`` overrides settings from the environment."""
    return create_service_app(
        "svc_bulkuser",
        title=apidoc.TITLE,
        settings=load_config(test_config),
        dialect=DnlDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
        description=apidoc.DESCRIPTION,
        security_schemes=apidoc.SECURITY_SCHEMES,
        read_only_gets=True,
        checks=CHECKS,
        self_answering=[ApiError],
        complete_document=apidoc.complete_document,
    )
