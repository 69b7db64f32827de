"""flask-smorest arguments in a vendor's own terms.

``@blp.arguments(Schema)`` validates and documents a view's input; out of the
box it reads JSON with the standard library's lenient parser and answers a
failed validation 422 in flask-smorest's envelope. A blueprint made by
``blueprint`` reads bodies with the service's strict reader (built on
``vendorkit.bodies``) and raises the service's own refusal instead, so the
schema stays the one place a field's rules are written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import flask
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser

BodyReader = Callable[[flask.Request], Any]
Refusal = Callable[[ValidationError, str], Exception]


class VendorParser(FlaskParser):
    """webargs' Flask parser with the service's body reader and its refusal of invalid input."""

    def __init__(self, *, read_body: BodyReader, refuse: Refusal, validation_status: int = 400):
        super().__init__()
        self.read_body = read_body
        self.refuse = refuse
        # flask-smorest documents a failed validation under this status.
        self.DEFAULT_VALIDATION_STATUS = validation_status

    def _raw_load_json(self, req: flask.Request) -> Any:
        return self.read_body(req)

    def handle_error(
        self,
        error: ValidationError,
        req: flask.Request,
        schema: Schema,
        *,
        error_status_code: int | None,
        error_headers: Any,
    ) -> NoReturn:
        """Raise the service's refusal for ``error`` (its handler answers in the vendor's envelope).

        webargs files the field messages under the location that failed
        (``{"json": {"field": [...]}}``); the refusal gets them unwrapped, with the location.
        """
        ((location, messages),) = error.messages.items()
        raise self.refuse(ValidationError(messages, data=error.data, valid_data=error.valid_data), location)


def blueprint(
    name: str,
    import_name: str,
    *,
    read_body: BodyReader,
    refuse: Refusal,
    validation_status: int = 400,
    **options: Any,
) -> Blueprint:
    """A flask-smorest Blueprint whose ``arguments`` read and refuse as the vendor does."""
    created = Blueprint(name, import_name, **options)
    created.ARGUMENTS_PARSER = VendorParser(
        read_body=read_body, refuse=refuse, validation_status=validation_status
    )
    return created
