"""WSO2 EMM's refusals (docs/emm.md sections 1, 2 and 5) and the handlers that answer them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from vendorkit import db
from vendorkit.dialects import json_response
from vendorkit.dialects.wso2 import payload, server_fault
from vendorkit.factory import DATABASE_ERRORS, log_outage

if TYPE_CHECKING:
    from svc_emm.auth import Caller

log = logging.getLogger("svc_emm")

UNAUTHORIZED = "Failed to authorize incoming request"
TOO_LARGE = "Request payload is too large."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# The product's errorMessage when the server fails while answering (rule, method).
LIST_FAULT = "Error occurred while retrieving the list of users"
ROLES_FAULT = "Exception in trying to retrieve roles for user by username: {username}"
CHANGE_FAULT = "Could not change the password."
INVITE_FAULT = "Error occurred while inviting user to enrol their device"
REGISTRATION_FAULT = "Error occurred while sending registration email to user '{username}'"
FAULTS = {
    ("/mdm-admin/users", "POST"): "Exception in trying to add user by username: {username}",
    ("/mdm-admin/users", "PUT"): "Exception in trying to update user by username: {username}",
    ("/mdm-admin/users", "DELETE"): "Exception in trying to remove user by username: {username}",
    ("/mdm-admin/users", "GET"): LIST_FAULT,
    ("/mdm-admin/users/<string:user_filter>", "GET"): LIST_FAULT,
    ("/mdm-admin/users/count", "GET"): LIST_FAULT,
    ("/mdm-admin/users/view-users", "GET"): LIST_FAULT,
    ("/mdm-admin/users/users-by-username", "GET"): LIST_FAULT,
    ("/mdm-admin/users/view", "GET"): "Exception in trying to retrieve user by username: {username}",
    ("/mdm-admin/users/roles", "GET"): ROLES_FAULT,
    ("/mdm-admin/users/roles", "POST"): ROLES_FAULT,
    ("/mdm-admin/users/devices", "GET"): "Device management error",
    ("/mdm-admin/users/email-invitation", "POST"): INVITE_FAULT,
    ("/mdm-admin/users/change-password", "POST"): CHANGE_FAULT,
    ("/mdm-admin/users/reset-password", "POST"): CHANGE_FAULT,
}


class Invalid(Exception):
    """A client mistake: HTTP ``status`` with the envelope's ``message`` (and ``body_status`` in the body)."""

    def __init__(self, message: str, status: int = 400, body_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body_status = status if body_status is None else body_status


class Unauthorized(Exception):
    """No valid Bearer token: 401 with ``WWW-Authenticate``."""


class Forbidden(Exception):
    """The caller may not call this endpoint, or not about someone else's record."""

    def __init__(self, caller: Caller):
        super().__init__(caller.username)
        self.caller = caller


class OAuthError(Exception):
    """An OAuth2 error answer: HTTP 400 ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


class ServerFault(Exception):
    """A failure on the server side (the SMTP server refused): HTTP 500 ``{"errorMessage": ...}``."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def field_refusal(field: str) -> Invalid:
    """``Invalid value for field: <field>.``"""
    return Invalid(f"Invalid value for field: {field}.")


def query_refusal(name: str) -> Invalid:
    """``Invalid value for query parameter: <name>.``"""
    return Invalid(f"Invalid value for query parameter: {name}.")


def fault_text() -> str:
    """The errorMessage for a server failure during this request (the product's text per endpoint)."""
    rule = request.url_rule.rule.rstrip("/") if request.url_rule else ""
    template = FAULTS.get((rule, request.method))
    if template is None:
        return "Internal server error"
    username = request.args.get("username")
    if request.method in ("POST", "PUT") and request.is_json:
        try:
            body = request.get_json(silent=True)
        except Exception:  # e.g. a body over the size limit: the fault text does without it
            body = None
        if isinstance(body, dict) and isinstance(body.get("username"), str):
            username = body["username"]
    return template.format(username=username if username else "null")


def register(app: Flask) -> None:
    """Answer each refusal in its envelope; server faults with the endpoint's own text."""

    @app.errorhandler(Invalid)
    def _invalid(error: Invalid):
        response = payload(error.body_status, error.message)
        response.status_code = error.status
        return response

    @app.errorhandler(Unauthorized)
    def _unauthorized(_error: Unauthorized):
        response = payload(401, UNAUTHORIZED)
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response

    @app.errorhandler(Forbidden)
    def _forbidden(error: Forbidden):
        return payload(
            403, f"User by username: {error.caller.username} is not authorized to perform this operation."
        )

    @app.errorhandler(OAuthError)
    def _oauth(error: OAuthError):
        return json_response(400, {"error": error.error, "error_description": error.description}, NO_STORE)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error: RequestEntityTooLarge):
        return payload(413, TOO_LARGE)

    @app.errorhandler(ServerFault)
    def _server_fault(error: ServerFault):
        return server_fault(error.message)

    def _unexpected(error: Exception):
        if db.is_outage(error):
            # The endpoint's own fault text, as 503: the database is down, and the client may retry.
            log_outage(error)
            return server_fault(fault_text(), 503)
        log.error("request failed: %s", type(error).__name__, exc_info=error)
        return server_fault(fault_text())

    for error_class in (*DATABASE_ERRORS, Exception):
        app.register_error_handler(error_class, _unexpected)
