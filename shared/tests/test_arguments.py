"""flask-smorest arguments read by the service's strict reader and refused in the service's envelope."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from flask.views import MethodView
from flask_smorest import Api
from marshmallow import Schema, ValidationError, fields

from vendorkit import bodies
from vendorkit.arguments import blueprint


class Refused(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


class NoteSchema(Schema):
    body = fields.String(required=True)


def read_strictly(request):
    try:
        return bodies.parse_json(request.get_data(cache=True), allow_duplicate_keys=False)
    except bodies.MalformedInput as error:
        raise Refused(error.detail) from None


def refuse(error: ValidationError, location: str) -> Exception:
    fields_ = "; ".join(f"{name}: {', '.join(texts)}" for name, texts in error.messages.items())
    return Refused(f"{location}: {fields_}")


@pytest.fixture
def client():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = blueprint("notes", __name__, url_prefix="/notes", read_body=read_strictly, refuse=refuse)

    @blp.route("/")
    class Notes(MethodView):
        @blp.arguments(NoteSchema)
        def post(self, note):
            return jsonify(note)

    api.register_blueprint(blp)

    @app.errorhandler(Refused)
    def _refused(error: Refused):
        return jsonify(error=error.text), 400

    return app.test_client()


def test_a_valid_body_reaches_the_view_loaded(client):
    assert client.post("/notes/", json={"body": "hi"}).get_json() == {"body": "hi"}


def test_invalid_fields_are_refused_in_the_services_envelope(client):
    answer = client.post("/notes/", json={})
    assert (answer.status_code, answer.get_json()) == (
        400,
        {"error": "json: body: Missing data for required field."},
    )


def test_the_body_is_read_by_the_services_strict_reader(client):
    answer = client.post("/notes/", data=b'{"body": "a", "body": "b"}', content_type="application/json")
    assert answer.status_code == 400
    assert answer.get_json() == {"error": "The key 'body' is given more than once."}


def test_the_validation_status_is_documented_as_the_vendors(client):
    operation = client.application.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    assert "400" in operation["paths"]["/notes/"]["post"]["responses"]
