"""WSO2 EMM 2.0: user management and OAuth2 tokens (document 003)."""

from flask import Flask

from svc_emm import apidoc, auth, errors
from svc_emm.config import load_config
from svc_emm.demo import load_demo_data
from svc_emm.routes import blp, oauth
from vendorkit.dialects.wso2 import Wso2Dialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-emm WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_emm",
        title=apidoc.TITLE,
        settings=load_config(test_config),
        dialect=Wso2Dialect(),
        blueprints=[blp, oauth],
        demo_loader=load_demo_data,
        read_only_gets=True,
        description=apidoc.DESCRIPTION,
        security_schemes=apidoc.SECURITY_SCHEMES,
        checks=auth.CHECKS,
        api_prefixes=["/mdm-admin", "/oauth2"],
    )
    errors.register(app)
    auth.init_app(app)
    return app
