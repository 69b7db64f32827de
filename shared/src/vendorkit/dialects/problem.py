"""RFC 9457 problem details: ``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Response

from vendorkit.dialects import DEFAULT_STATUS, DEFAULT_TEXT, Dialect, Refusal, json_response

PROBLEM_MIMETYPE = "application/problem+json"

# A problem type that adds nothing to its status is "about:blank" (RFC 9457 section 4.2.1).
BLANK_TYPE = "about:blank"


def title_of(status: int) -> str:
    """The HTTP reason phrase of ``status``, the title RFC 9457 prescribes for about:blank."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = BLANK_TYPE,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem details response; ``extensions`` become extension members (e.g. ``errors``)."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title or title_of(status),
        "status": status,
        "detail": detail,
        **extensions,
    }
    return json_response(status, body, headers, content_type=PROBLEM_MIMETYPE)


class ProblemDialect(Dialect):
    name = "problem"

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        status = DEFAULT_STATUS[kind]
        text = message or DEFAULT_TEXT[kind]
        if kind is Refusal.METHOD_NOT_ALLOWED and method:
            text = f"Method {method} is not allowed on this resource"
        elif kind is Refusal.IP_DENIED and client_ip:
            text = f"{DEFAULT_TEXT[kind]} ({client_ip})"
        return problem(status, text)

    def generic_error(self, status, message, request=None):
        return problem(status, message)
