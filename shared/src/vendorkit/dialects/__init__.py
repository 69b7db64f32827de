"""Each vendor's error envelope behind one interface.

A *dialect* answers every refusal that is not specific to one endpoint (rate
limit, IP filter, upstream failure, unknown path, oversized body, ...) in the
shape its vendor's clients parse. The gateway and the services use the same
dialect objects, so a client never sees another vendor's format.
"""

from __future__ import annotations

import enum
import json
import re
from abc import ABC, abstractmethod
from typing import Any

from werkzeug.wrappers import Request, Response

JSON_MIMETYPE = "application/json"


class Refusal(enum.Enum):
    """A refusal that the gateway or a service's generic handlers may answer."""

    RATE_LIMITED = "rate_limited"
    IP_DENIED = "ip_denied"
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"
    UPSTREAM_TIMEOUT = "upstream_timeout"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    BODY_TOO_LARGE = "body_too_large"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    DATABASE_ERROR = "database_error"
    INTERNAL_ERROR = "internal_error"


# The HTTP status of each refusal when the dialect does not say otherwise.
DEFAULT_STATUS = {
    Refusal.RATE_LIMITED: 429,
    Refusal.IP_DENIED: 403,
    Refusal.UPSTREAM_UNAVAILABLE: 502,
    Refusal.UPSTREAM_TIMEOUT: 504,
    Refusal.STORAGE_UNAVAILABLE: 503,
    Refusal.BODY_TOO_LARGE: 413,
    Refusal.NOT_FOUND: 404,
    Refusal.METHOD_NOT_ALLOWED: 405,
    Refusal.DATABASE_ERROR: 503,
    Refusal.INTERNAL_ERROR: 500,
}

# Plain-language texts for envelopes whose vendor fixes no wording.
DEFAULT_TEXT = {
    Refusal.RATE_LIMITED: "Too many requests",
    Refusal.IP_DENIED: "Access denied: IP address not allowed",
    Refusal.UPSTREAM_UNAVAILABLE: "Upstream service unavailable",
    Refusal.UPSTREAM_TIMEOUT: "Upstream service timed out",
    Refusal.STORAGE_UNAVAILABLE: "Rate limit storage unavailable",
    Refusal.BODY_TOO_LARGE: "Request body too large",
    Refusal.NOT_FOUND: "Not found",
    Refusal.METHOD_NOT_ALLOWED: "Method not allowed",
    Refusal.DATABASE_ERROR: "Database error.",
    Refusal.INTERNAL_ERROR: "Internal server error",
}


# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: Any) -> str:
    """A scalar as XML text: booleans as true/false, characters XML cannot carry replaced by U+FFFD."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def json_response(
    status: int,
    payload: Any,
    headers: dict[str, str] | None = None,
    *,
    content_type: str = JSON_MIMETYPE,
) -> Response:
    """A JSON response whose key order is the payload's own."""
    body = json.dumps(payload, ensure_ascii=False, separators=(", ", ": "))
    return Response(body, status=status, headers=headers, content_type=content_type)


class Dialect(ABC):
    """One vendor's way of saying no."""

    name: str
    json_mimetype: str = JSON_MIMETYPE  # the Content-Type of the vendor's JSON answers

    @abstractmethod
    def refusal(
        self,
        kind: Refusal,
        request: Request | None = None,
        *,
        client_ip: str | None = None,
        method: str | None = None,
        message: str | None = None,
    ) -> Response:
        """The response for ``kind``; ``message`` replaces the default text where the vendor has free text."""

    @abstractmethod
    def generic_error(self, status: int, message: str, request: Request | None = None) -> Response:
        """Any other HTTP error the vendor has no fixed text for, in its envelope."""


def get_dialect(name: str) -> Dialect:
    """The dialect registered under ``name``; KeyError for an unknown one."""
    from vendorkit.dialects import aktion, commvault, dnl, grommunio, problem, wso2

    registry: dict[str, Dialect] = {
        "grommunio": grommunio.GrommunioDialect(),
        "dnl": dnl.DnlDialect(),
        "commvault": commvault.CommvaultDialect(),
        "wso2": wso2.Wso2Dialect(),
        "aktion": aktion.AktionDialect(),
        "problem": problem.ProblemDialect(),
    }
    return registry[name]


DIALECT_NAMES = ("grommunio", "dnl", "commvault", "wso2", "aktion", "problem")
