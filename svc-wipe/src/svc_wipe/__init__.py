"""grommunio admin API: device wipe status (document 000)."""

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from svc_wipe import apidoc, auth, errors, schemas
from svc_wipe.config import load_config
from svc_wipe.demo import load_demo_data
from svc_wipe.routes import BLUEPRINTS
from vendorkit.dialects.grommunio import GrommunioDialect
from vendorkit.endpoints import ROUTED
from vendorkit.factory import create_service_app

# grommunio's order of refusals (docs/wipe.md sections 2 to 5): unknown path or
# method, a required login, the input, then the caller's rights.
CHECKS = (ROUTED, auth.logged_in, schemas.valid_input, auth.permitted)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-wipe WSGI app; ``test_config`` overrides settings from the environment."""
    return create_service_app(
        "svc_wipe",
        title=apidoc.TITLE,
        settings=load_config(test_config),
        dialect=GrommunioDialect(),
        blueprints=BLUEPRINTS,
        demo_loader=load_demo_data,
        read_only_gets=True,
        description=apidoc.DESCRIPTION,
        security_schemes=apidoc.SECURITY_SCHEMES,
        checks=CHECKS,
        self_answering=[errors.ApiError],
        # grommunio's admin API is itself a Flask app: its answers are Flask's compact JSON.
        json_provider=DefaultJSONProvider,
    )
