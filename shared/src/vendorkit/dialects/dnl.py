"""DNL softswitch API v1: ``{"success": false, "error_type": ..., "error": {...}}``."""

from __future__ import annotations

from werkzeug.wrappers import Response

from vendorkit.dialects import DEFAULT_STATUS, DEFAULT_TEXT, Dialect, Refusal, json_response

# error_type and reason of each refusal; the code is the HTTP status.
KINDS = {
    Refusal.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    Refusal.IP_DENIED: ("forbidden_error", "ip_not_allowed"),
    Refusal.UPSTREAM_UNAVAILABLE: ("operation_error", "upstream_unavailable"),
    Refusal.UPSTREAM_TIMEOUT: ("operation_error", "upstream_timeout"),
    Refusal.STORAGE_UNAVAILABLE: ("operation_error", "rate_limit_storage_unavailable"),
    Refusal.BODY_TOO_LARGE: ("validation_error", "body_too_large"),
    Refusal.METHOD_NOT_ALLOWED: ("operation_error", "method_not_allowed"),
    Refusal.DATABASE_ERROR: ("operation_error", "database_unavailable"),
    Refusal.INTERNAL_ERROR: ("operation_error", "internal_error"),
}

# error_type and reason of other HTTP errors, by status.
GENERIC = {
    400: ("validation_error", "bad_request"),
    401: ("unauthenticated_error", "unauthenticated"),
    403: ("forbidden_error", "permission_denied"),
    409: ("operation_error", "conflict"),
    415: ("validation_error", "unsupported_media_type"),
    422: ("validation_error", "invalid_input"),
}

TEXTS = {
    **DEFAULT_TEXT,
    Refusal.RATE_LIMITED: "Rate limit exceeded",
    Refusal.IP_DENIED: "IP address not allowed",
    Refusal.METHOD_NOT_ALLOWED: "Method not allowed",
    Refusal.DATABASE_ERROR: "Database unavailable",
    Refusal.INTERNAL_ERROR: "Internal server error",
}


def error(status: int, error_type: str, message: str, code: int, reason: str) -> Response:
    """DNL's error body with its key order: error_type, success, error."""
    body = {
        "error_type": error_type,
        "success": False,
        "error": {"message": message, "code": code, "reason": reason},
    }
    return json_response(status, body)


def not_found() -> Response:
    """DNL's 404, as document 001 spells it."""
    return json_response(404, {"success": False, "error_type": "Object not found error"})


class DnlDialect(Dialect):
    name = "dnl"

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        if kind is Refusal.NOT_FOUND:
            return not_found()
        status = DEFAULT_STATUS[kind]
        error_type, reason = KINDS[kind]
        return error(status, error_type, message or TEXTS[kind], status, reason)

    def generic_error(self, status, message, request=None):
        error_type, reason = GENERIC.get(status, ("operation_error", "http_error"))
        return error(status, error_type, message, status, reason)
