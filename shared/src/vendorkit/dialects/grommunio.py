"""grommunio admin API: ``{"message": "..."}``."""

from __future__ import annotations

from werkzeug.wrappers import Response

from vendorkit.dialects import DEFAULT_STATUS, DEFAULT_TEXT, Dialect, Refusal, json_response

TEXTS = {
    **DEFAULT_TEXT,
    Refusal.NOT_FOUND: "Resource not found",
    Refusal.INTERNAL_ERROR: "The server encountered an error while processing the request.",
}


def error(status: int, message: str, **extra: object) -> Response:
    """grommunio's error body: the message first, extra keys (``errors``, ``error``) after."""
    return json_response(status, {"message": message, **extra})


class GrommunioDialect(Dialect):
    name = "grommunio"

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        if kind is Refusal.METHOD_NOT_ALLOWED:
            text = f"Method '{method or (request.method if request else 'GET')}' not allowed on this endpoint"
        else:
            text = message or TEXTS[kind]
        return error(DEFAULT_STATUS[kind], text)

    def generic_error(self, status, message, request=None):
        return error(status, message)
