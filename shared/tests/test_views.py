"""A view in a service app: documented from its declaration, its answers rendered as its dialect renders JSON."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from vendorkit.apidoc import documenting
from vendorkit.config import load_settings
from vendorkit.dialects import Dialect, aktion, json_response
from vendorkit.dialects.dnl import DnlDialect
from vendorkit.endpoints import Endpoint, declare
from vendorkit.factory import create_service_app


def service(dialect: Dialect, blueprint: Blueprint) -> Flask:
    """A service app of ``blueprint`` answering in ``dialect``, on an empty in-memory database."""
    settings = load_settings(
        "svc-toy",
        {},
        demo_secrets={},
        environ={},
        overrides={"DATABASE_URL": "sqlite://", "LOG_LEVEL": "WARNING", "RUN_MIGRATIONS": False},
    )
    return create_service_app(
        "vendorkit", title="toy", settings=settings, dialect=dialect, blueprints=[blueprint], checks=[]
    )


# -- vendorkit.apidoc: an operation reads the view's @declare ----------------------------------


def describe(_view, endpoint: Endpoint) -> dict:
    """An operation naming the view's caller, its responses given out of status order."""
    return {
        "summary": f"for {endpoint.caller}",
        "responses": {
            404: {"description": "no such thing"},
            403: {"description": "not an admin"},
            200: {"description": "the things"},
        },
    }


class ThingSchema(Schema):
    name = fields.String()


operation = documenting(describe)


def test_an_operation_above_declare_documents_what_the_view_declares():
    blp = Blueprint("things", __name__, url_prefix="/api")

    @blp.route("/things")
    class Things(MethodView):
        @operation
        @declare("admin")
        @blp.response(200, ThingSchema)
        def get(self):
            return {"name": "chair"}

    document = service(DnlDialect(), blp).test_client().get("/openapi.json").get_json()
    documented = document["paths"]["/api/things"]["get"]
    assert documented["summary"] == "for admin"
    # The operation's own responses in status order, then those the gateway in front may answer.
    assert list(documented["responses"])[:3] == ["200", "403", "404"]


def test_an_operation_below_declare_is_refused_naming_the_view():
    with pytest.raises(TypeError, match=r"\.Things\.get: apidoc\.operation goes above the view's @declare"):

        class Things(MethodView):
            @declare("admin")
            @operation
            @Blueprint("things", __name__).response(200, ThingSchema)
            def get(self):
                return {"name": "chair"}


def test_an_operation_without_its_response_is_refused_naming_the_view():
    with pytest.raises(
        TypeError, match=r"\.Things\.get: apidoc\.operation goes above the view's @blp\.response"
    ):

        class Things(MethodView):
            @operation
            @declare("admin")
            def get(self):
                return {"name": "chair"}


# -- vendorkit.web.VendorJSON: what views return, in the dialect's bytes and media type ---------

# Keys out of alphabetical order, text outside ASCII and nulls: what a sorting or escaping encoder changes.
ANSWER = aktion.envelope("Grüße aus Köln", 0)


class ResultSchema(Schema):
    Message = fields.String()
    Code = fields.Integer()
    ModelStateErr = fields.List(fields.String(), allow_none=True)


class EnvelopeSchema(Schema):
    Result = fields.Nested(ResultSchema)
    Request = fields.Raw(allow_none=True)


@pytest.fixture(scope="module")
def aktion_client():
    """An AKTION-dialect service answering ``ANSWER`` through jsonify and through ``@blp.response``."""
    blp = Blueprint("answers", __name__, url_prefix="/api")

    @blp.route("/jsonify")
    class Jsonified(MethodView):
        @declare("anyone")
        def get(self):
            return jsonify(ANSWER)

    @blp.route("/dumped")
    class Dumped(MethodView):
        @blp.response(200, EnvelopeSchema)
        @declare("anyone")
        def get(self):
            return ANSWER

    return service(aktion.AktionDialect(), blp).test_client()


@pytest.mark.parametrize("path", ["/api/jsonify", "/api/dumped"])
def test_an_answer_is_rendered_as_the_dialect_renders_json(aktion_client, path):
    rendered = json_response(200, ANSWER, content_type=aktion.JSON_CONTENT_TYPE)
    answer = aktion_client.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.get_data() == rendered.get_data()
    assert answer.get_data().decode() == (
        '{"Result": {"Message": "Grüße aus Köln", "Code": 0, "ModelStateErr": null}, "Request": null}'
    )
