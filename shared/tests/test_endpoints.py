"""Declared views: one hook applies each view's declaration, and an undeclared view does not start."""

from __future__ import annotations

import pytest
from flask import Flask, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from vendorkit import endpoints
from vendorkit.dialects.dnl import DnlDialect
from vendorkit.endpoints import ROUTED, Endpoint, UndeclaredView, declare
from vendorkit.factory import create_service_app


class Refused(Exception):
    """A check's refusal in this test's own envelope."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


def build(*checks, declare_post: bool = True) -> Flask:
    """An app with one declared GET/POST view under /api and an undeclared view outside it."""
    app = Flask(__name__)
    blp = Blueprint("things", __name__, url_prefix="/api")

    @blp.route("/things")
    class Things(MethodView):
        @declare("anyone")
        def get(self):
            return jsonify(caller=g.endpoint.caller)

        def post(self):
            return jsonify(ok=True)

    if declare_post:
        Things.post = declare("admin", formats=("application/json",))(Things.post)

    return with_checks(app, blp, *checks, prefixes=["/api"])


def with_checks(app: Flask, blp: Blueprint, *checks, prefixes: list[str]) -> Flask:
    """``app`` serving ``blp``, an undeclared /healthz and this test's refusals, with ``checks`` installed."""
    app.register_blueprint(blp)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.errorhandler(Refused)
    def _refused(error: Refused):
        return jsonify(text=error.text), error.status

    endpoints.install(app, *checks, blueprints=[blp.name], prefixes=prefixes)
    return app


def require_header(endpoint: Endpoint | None) -> None:
    """A vendor that refuses an unknown caller before it looks at the path."""
    if request.headers.get("X-Token") != "t":
        raise Refused(401, "who are you")
    if endpoint is not None and endpoint.caller == "admin" and request.headers.get("X-Admin") != "yes":
        raise Refused(403, "admins only")


def test_a_view_without_a_declaration_does_not_start():
    with pytest.raises(UndeclaredView, match=r"POST things\.Things"):
        build(declare_post=False)


def test_the_service_factory_refuses_an_undeclared_view_too():
    blp = Blueprint("bare", __name__, url_prefix="/api")

    @blp.route("/bare")
    class Bare(MethodView):
        def get(self):
            return {}

    settings = {
        "DATABASE_URL": "sqlite://",
        "LOG_LEVEL": "WARNING",
        "RUN_MIGRATIONS": False,
        "DEMO_DATA": False,
    }
    with pytest.raises(UndeclaredView, match=r"GET bare\.Bare"):
        create_service_app(
            "vendorkit", title="t", settings=settings, dialect=DnlDialect(), blueprints=[blp], checks=[]
        )


def test_checks_run_in_the_declared_order_before_the_view():
    client = build(ROUTED, require_header).test_client()
    # ROUTED first: an unknown path is a 404 even without a token.
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/things").get_json() == {"text": "who are you"}
    assert client.get("/api/things", headers={"X-Token": "t"}).get_json() == {"caller": "anyone"}
    refused = client.post("/api/things", headers={"X-Token": "t"})
    assert (refused.status_code, refused.get_json()) == (403, {"text": "admins only"})
    allowed = client.post("/api/things", headers={"X-Token": "t", "X-Admin": "yes"})
    assert allowed.get_json() == {"ok": True}


def test_a_vendor_may_refuse_the_caller_before_the_path():
    client = build(require_header, ROUTED).test_client()
    assert client.get("/api/nothing").status_code == 401
    assert client.get("/api/nothing", headers={"X-Token": "t"}).status_code == 404
    assert client.delete("/api/things", headers={"X-Token": "t"}).status_code == 405


def test_routing_comes_first_when_the_service_does_not_place_it():
    client = build(require_header).test_client()
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/things").status_code == 401


def test_head_follows_the_get_declaration_and_other_paths_are_not_checked():
    client = build(require_header).test_client()
    assert client.head("/api/things").status_code == 401
    assert client.head("/api/things", headers={"X-Token": "t"}).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_declaration_names_its_body_formats():
    endpoint = Endpoint("admin", ("application/json", "application/xml"))
    assert endpoint.reads("application/xml")
    assert not endpoint.reads("text/plain")


def test_the_apps_own_views_are_not_checked_even_under_an_api_prefix():
    app = Flask(__name__)
    blp = Blueprint("root", __name__)

    @blp.route("/things")
    class Things(MethodView):
        @declare("anyone")
        def get(self):
            return jsonify(ok=True)

    client = with_checks(app, blp, require_header, prefixes=["/"]).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/things").status_code == 401
    assert client.get("/nothing").status_code == 404
