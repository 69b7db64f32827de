"""The refusals of the DNL user API, as exceptions that render their exact bodies."""

from __future__ import annotations

from werkzeug.wrappers import Response

from vendorkit.dialects import dnl, json_response


class ApiError(Exception):
    """A refusal the service answers with a fixed DNL body."""

    def response(self) -> Response:
        raise NotImplementedError


class Unauthenticated(ApiError):
    """401 ``unauthenticated_error``; each subclass is one code of docs/bulkuser.md section 2."""

    message: str
    code: int
    reason: str

    def response(self) -> Response:
        return dnl.error(401, "unauthenticated_error", self.message, self.code, self.reason)


class TokenMissing(Unauthenticated):
    message, code, reason = "No header X-Auth-Token present", 110, "auth_token_not_provided"


class TokenInvalid(Unauthenticated):
    message, code, reason = "Invalid X-Auth-Token", 111, "auth_token_invalid"


class TokenExpired(Unauthenticated):
    message, code, reason = "X-Auth-Token has expired", 112, "auth_token_expired"


class InvalidCredentials(Unauthenticated):
    message, code, reason = "Invalid email/name or password", 100, "invalid_credentials"


class UserNotActive(Unauthenticated):
    message, code, reason = "User is not active", 101, "user_not_active"


class Forbidden(ApiError):
    """403: the caller is not an admin."""

    def response(self) -> Response:
        return dnl.error(
            403,
            "forbidden_error",
            "Only admin has the permission for this operation",
            403,
            "permission_denied",
        )


class NotFound(ApiError):
    """404 with the document's ``error_type``."""

    def response(self) -> Response:
        return dnl.not_found()


class CannotDeleteSelf(ApiError):
    """400: a delete names the caller."""

    def response(self) -> Response:
        return dnl.error(400, "operation_error", "You cannot delete yourself", 130, "cannot_delete_self")


class UnknownAttribute(ApiError):
    """400: a query parameter the endpoint does not know."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def response(self) -> Response:
        return json_response(
            400, {"success": False, "error_type": "attribute_not_exists", "attribute": self.name}
        )


class ValidationFailed(ApiError):
    """400 ``validation_error`` listing every failing field's messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors

    def response(self) -> Response:
        return json_response(400, {"success": False, "error_type": "validation_error", "errors": self.errors})


def schema_error(message: str) -> ValidationFailed:
    """A body-level or request-level problem, reported under ``_schema``."""
    return ValidationFailed({"_schema": [message]})
