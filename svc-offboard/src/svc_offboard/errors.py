"""Commvault's refusals and business failures, and how each is answered.

A ``Refusal`` stops a request before its view (HTTP 4xx, generic envelope);
a ``Failure`` is a business failure inside a view (HTTP 200, ``errorCode`` 2),
which each view renders in its endpoint's failure shape.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from vendorkit.dialects import commvault, json_response

# errorCode values: the product's 2 (failure) and 5 (access denied).
FAILED = 2
ACCESS_DENIED_CODE = 5

UNSUPPORTED_ACCEPT = "Unsupported Accept header: use application/json or application/xml"
UNSUPPORTED_CONTENT_TYPE = "Unsupported Content-type: use application/json or application/xml"
ACCESS_DENIED = "Access denied"
BODY_TOO_LARGE = "Request body too large"
DOCTYPE_REFUSED = "XML DOCTYPE and entity declarations are not allowed"
INVALID_XML = "Invalid XML in request body"
INVALID_JSON = "Invalid JSON in request body"
INVALID_CREDENTIALS = "Invalid Username or Password"
SESSION_NOT_RENEWABLE = "Session cannot be renewed: log in again"


class Refusal(Exception):
    """A refusal in the generic envelope, answered before the view runs."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Failure(Exception):
    """A business failure: HTTP 200 with errorCode 2 and this message."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def not_acceptable() -> Refusal:
    """406: the client accepts neither JSON nor XML."""
    return Refusal(406, FAILED, UNSUPPORTED_ACCEPT)


def access_denied(status: int) -> Refusal:
    """401 (no live token) or 403 (not a master administrator)."""
    return Refusal(status, ACCESS_DENIED_CODE, ACCESS_DENIED)


def unsupported_content_type() -> Refusal:
    """415: a body in a format this endpoint does not read."""
    return Refusal(415, FAILED, UNSUPPORTED_CONTENT_TYPE)


def too_large() -> Refusal:
    """413: a body over MAX_BODY_BYTES."""
    return Refusal(413, FAILED, BODY_TOO_LARGE)


def bad_body(message: str) -> Refusal:
    """400: a DOCTYPE, or a body that is not well-formed JSON or XML."""
    return Refusal(400, FAILED, message)


def invalid_fields(error: ValidationError, _location: str) -> Failure:
    """The business failure of a body a request schema refuses: its first field's message.

    Fields are checked in the order the schema declares them, which is the
    order the product reports them in (docs/offboard.md sections 4 and 6).
    """
    return Failure(first_message(error.messages))


def first_message(messages: Any) -> str:
    """The first message of marshmallow's (possibly nested) error messages."""
    while not isinstance(messages, str):
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return messages


def install(app: Flask) -> None:
    """Answer refusals and oversized bodies in the generic envelope."""

    @app.errorhandler(Refusal)
    def _refused(error: Refusal):
        if error.status == 406:
            # The client accepts neither format: JSON, whatever it asked for.
            return json_response(406, {"errorCode": error.code, "errorMessage": error.message})
        return commvault.generic(error.status, error.code, error.message, request)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        return commvault.generic(413, FAILED, BODY_TOO_LARGE, request)
