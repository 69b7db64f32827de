"""The AKTION.NEXT result codes, their HTTP statuses and exact messages."""

from typing import Any

from marshmallow import ValidationError

OK_POST = "Processed with result: ExecOK"
OK_GET = "Successfully done"

BINDING_FAILED = 1002
TOKEN_NOT_FOUND = 1000
TOKEN_EXPIRED = 1001
LOGIN_UNKNOWN = 1003
KEY_REVOKED = 1004
IP_FILTER_VIOLATED = 1006
IP_FILTER_BROKEN = 1007
RATE_POLICY_VIOLATED = 1008
VIEW_DENIED = 1401
SYSTEM_USER = 1402
NEW_DENIED = 1403
DELETE_DENIED = 1407
RECORD_VIEW_DENIED = 1412
RECORD_DENIED = 2
DUPLICITY = 3
CHANGED = 4
DELETED = 5
CONSISTENCE = 6
DB_FAILED = 7
LICENCE = 8
NOT_FOUND = 1400
UNSUPPORTED_MEDIA = 415

# code -> (HTTP status, message template); {0} and {1} are always filled.
TABLE: dict[int, tuple[int, str]] = {
    BINDING_FAILED: (400, "Entry parameter missing or parameter bindigs failed"),
    TOKEN_NOT_FOUND: (401, "Token {0} not found"),
    TOKEN_EXPIRED: (401, "Token {0} already expired"),
    LOGIN_UNKNOWN: (401, "UserLogin or ApiKey are unknown"),
    KEY_REVOKED: (401, "ApiKey is invalid"),
    IP_FILTER_VIOLATED: (401, "Ip filter violated for ip client address [{0}]"),
    IP_FILTER_BROKEN: (401, "Ip filter [{0}] parsing failed"),
    RATE_POLICY_VIOLATED: (401, "Request rate policy violated for [{0}]"),
    VIEW_DENIED: (403, "Privilege View of agenda Users violated for [LoginName {0}]"),
    SYSTEM_USER: (403, "System user is not accessible by API"),
    NEW_DENIED: (403, "Privilege New of agenda Users violated for [LoginName {0}]"),
    DELETE_DENIED: (403, "Privilege Delete of agenda Users violated for [LoginName {0}]"),
    RECORD_VIEW_DENIED: (403, "Record permission View of agenda User violated for [{0}]"),
    1: (403, "Db operation failed, agenda missing priviliges"),
    RECORD_DENIED: (403, "Db operation failed, record missing priviliges"),
    DUPLICITY: (403, "Db operation failed, Record duplicity"),
    CHANGED: (403, "Db operation failed, already changed by another user"),
    DELETED: (403, "Db operation failed, already deleted by another user"),
    CONSISTENCE: (403, "Db operation failed, database data consistence violation"),
    DB_FAILED: (
        403,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    LICENCE: (403, "Db operation failed, licence violation"),
    UNSUPPORTED_MEDIA: (
        415,
        "The request entity has a media type which the server or resource does not support. "
        "Only application/json and application/xml are supported",
    ),
}

# The 1400 texts differ per endpoint, as the product's help pages do.
REMOVE_NOT_FOUND = "User for [LoginName {0}, ID_Firma {1}] not found or it could be a system user"
GET_NOT_FOUND = "User LoginName [{0}] not found"


class AgendaError(Exception):
    """An answer in the BaseResp envelope other than success; rendered by the app's error handler."""

    def __init__(
        self,
        code: int,
        *values: Any,
        echo: Any = None,
        model_state: list[str] | None = None,
        template: str | None = None,
        status: int | None = None,
        target: Any = None,
    ):
        table_status, table_template = TABLE.get(code, (status or 404, ""))
        self.code = code
        self.status = status or table_status
        self.message = (template or table_template).format(*values)
        self.echo = echo
        self.model_state = model_state
        # The LoginName the refused request named, for the audit (the echo's, when there is one).
        self.target = target if target is not None or not isinstance(echo, dict) else echo.get("LoginName")
        super().__init__(f"{self.code}: {self.message}")


def binding_failed(problems: list[str], target: Any = None) -> AgendaError:
    """400/1002 with one ModelStateErr entry per failed field."""
    return AgendaError(BINDING_FAILED, model_state=problems, target=target)


def invalid_input(error: ValidationError, _location: str) -> AgendaError:
    """400/1002 for input a request schema refuses: ``"<field>: <problem>"`` per failed field, in field order."""
    problems = [f"{name}: {text}" for name, texts in error.messages.items() for text in texts]
    sent = error.data.get("LoginName") if hasattr(error.data, "get") else None
    return binding_failed(problems, target=sent)
