"""The refusals of the grommunio admin API, raised anywhere and answered by one handler."""

from __future__ import annotations

from werkzeug.wrappers import Response

from vendorkit.dialects import grommunio

INSUFFICIENT_PERMISSIONS = "Insufficient permissions for this operation"


class ApiError(Exception):
    """A refusal: ``status``, the ``message`` and extra body keys (``errors``, ``error``)."""

    def __init__(self, status: int, message: str, **extra: object):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def response(self) -> Response:
        return grommunio.error(self.status, self.message, **self.extra)


def bad_request(*errors: str) -> ApiError:
    """400 for input of the wrong shape, with the human-readable reasons."""
    return ApiError(400, "Bad Request", errors=list(errors))


def access_denied(reason: str = INSUFFICIENT_PERMISSIONS) -> ApiError:
    """403 ``Access denied: <reason>``."""
    return ApiError(403, f"Access denied: {reason}")


def not_logged_in(reason: str) -> ApiError:
    """401 of the endpoints that require a login."""
    return ApiError(401, "Access denied", error=reason)
