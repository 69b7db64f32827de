"""grommunio admin API: device wipe status (document 000)."""

from flask import Flask

from svc_wipe import errors
from svc_wipe.auth import TOKEN_COOKIE
from svc_wipe.config import load_config
from svc_wipe.demo import load_demo_data
from svc_wipe.routes import blp
from vendorkit.dialects.grommunio import GrommunioDialect
from vendorkit.factory import create_service_app


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-wipe WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_wipe",
        title="grommunio admin API (subset)",
        settings=load_config(test_config),
        dialect=GrommunioDialect(),
        blueprints=[blp],
        demo_loader=load_demo_data,
        read_only_gets=True,
        description="Device wipe status for grommunio-sync and administrators (document 000).",
        # The login cookie, as the operations' "security" entries name it.
        security_schemes={"JWTCookie": {"type": "apiKey", "in": "cookie", "name": TOKEN_COOKIE}},
    )
    errors.register(app)
    return app
