"""WSO2 EMM: ``{"statusCode": n, "messageFromServer": "..."}``; server faults ``{"errorMessage": ...}``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from vendorkit.dialects import DEFAULT_STATUS, DEFAULT_TEXT, Dialect, Refusal, json_response

TEXTS = {
    **DEFAULT_TEXT,
    Refusal.NOT_FOUND: "Resource not found.",
    Refusal.METHOD_NOT_ALLOWED: "Method not allowed.",
    Refusal.DATABASE_ERROR: "Database error",
    Refusal.INTERNAL_ERROR: "Internal server error",
}

# Faults of the server side, which WSO2 answers with a bare errorMessage.
SERVER_FAULTS = {
    Refusal.UPSTREAM_UNAVAILABLE,
    Refusal.UPSTREAM_TIMEOUT,
    Refusal.STORAGE_UNAVAILABLE,
    Refusal.DATABASE_ERROR,
    Refusal.INTERNAL_ERROR,
}


def payload(status: int, message: str | None = None, content: Any = None) -> Response:
    """The ResponsePayload envelope, null fields left out."""
    body: dict[str, Any] = {"statusCode": status}
    if message is not None:
        body["messageFromServer"] = message
    if content is not None:
        body["responseContent"] = content
    return json_response(status, body)


def server_fault(message: str, status: int = 500) -> Response:
    """A server-side failure: ``{"errorMessage": ...}``."""
    return json_response(status, {"errorMessage": message})


class Wso2Dialect(Dialect):
    name = "wso2"

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        text = message or TEXTS[kind]
        if kind in SERVER_FAULTS:
            return server_fault(text, DEFAULT_STATUS[kind])
        return payload(DEFAULT_STATUS[kind], text)

    def generic_error(self, status, message, request=None):
        if status >= 500:
            return server_fault(message, status)
        return payload(status, message)
