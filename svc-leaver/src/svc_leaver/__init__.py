"""svc-leaver: one call offboards a person from all five vendors, over their public wire APIs."""

from __future__ import annotations

import logging

from flask import Flask, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from svc_leaver import auth
from svc_leaver.audit import ensure_head
from svc_leaver.config import load_config
from svc_leaver.errors import Problem
from svc_leaver.queue import LeaverQueue
from svc_leaver.routes import PREFIX, QUEUE_KEY, blp
from svc_leaver.runner import Runtime
from vendorkit import db
from vendorkit.dialects.problem import ProblemDialect
from vendorkit.factory import create_service_app


def build_runtime(app: Flask) -> Runtime:
    """The runtime tasks execute with: the app's database and the vendors' configuration."""
    return Runtime(
        sessions=db.state(app).sessionmaker,
        config=app.config["LEAVER"],
        lease_seconds=app.config["LEAVER_LEASE_SECONDS"],
    )


def create_app(test_config: dict | None = None) -> Flask:
    """Build the svc-leaver WSGI app; ``test_config`` overrides settings from the environment."""
    app = create_service_app(
        "svc_leaver",
        title="svc-leaver: offboard a person from all five vendors",
        settings=load_config(test_config),
        dialect=ProblemDialect(),
        blueprints=[blp],
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        checks=auth.CHECKS,
        api_prefixes=[PREFIX],
        # No demo data of its own: the emulator's reset leaves no runs and a fresh audit chain.
        demo_loader=lambda session, _config: ensure_head(session),
        self_answering=[Problem],
    )

    @app.get("/metrics")
    def metrics():
        """Prometheus metrics of this process."""
        return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    # httpx logs every request's full URL at INFO, and AKTION carries its token in the query string.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    queue = LeaverQueue.create(build_runtime(app), app.config)
    app.extensions[QUEUE_KEY] = queue
    if app.config["LEAVER_CONSUMER"] == "inprocess":
        app.extensions["svc_leaver.consumer"] = queue.start_in_process()
    return app
