"""Commvault web service: ``{"errorCode": n, "errorMessage": "..."}``, JSON or XML by ``Accept``."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from werkzeug.datastructures import MIMEAccept
from werkzeug.wrappers import Request, Response

from vendorkit.dialects import DEFAULT_STATUS, DEFAULT_TEXT, Dialect, Refusal, json_response, xml_text

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
JSON_TYPES = ("application/json",)
XML_TYPES = ("application/xml", "text/xml")
WILDCARDS = ("*/*", "application/*")

TEXTS = {
    **DEFAULT_TEXT,
    Refusal.IP_DENIED: "Access denied",
    Refusal.NOT_FOUND: "Not found",
    Refusal.METHOD_NOT_ALLOWED: "Method not allowed",
    Refusal.DATABASE_ERROR: "Database error",
    Refusal.INTERNAL_ERROR: "Internal server error",
}

# errorCode of each refusal: Commvault's 5 (access denied) and 2 (failure) where
# the product has them, the HTTP status where the gateway adds its own refusal.
CODES = {
    Refusal.IP_DENIED: 5,
    Refusal.NOT_FOUND: 2,
    Refusal.METHOD_NOT_ALLOWED: 2,
}


def negotiate(request: Request | None) -> str | None:
    """``"json"``, ``"xml"``, or None when the Accept header cannot be satisfied."""
    if request is None:
        return "json"
    header = request.headers.get("Accept", "").strip()
    if not header:
        return "json"
    accept: MIMEAccept = request.accept_mimetypes
    # A bare wildcard means JSON; only an explicit XML type asks for XML.
    ranked = [(value.split(";", 1)[0].strip().lower(), quality) for value, quality in accept]
    best_json = max((q for v, q in ranked if v in JSON_TYPES or v in WILDCARDS), default=0)
    best_xml = max((q for v, q in ranked if v in XML_TYPES), default=0)
    if best_json == 0 and best_xml == 0:
        return None
    return "xml" if best_xml > best_json else "json"


def to_xml(root: str, payload: dict[str, Any]) -> bytes:
    """Commvault's XML: scalars as attributes, objects as children, list items repeated."""
    element = ET.Element(root)
    _fill(element, payload)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, payload: dict[str, Any]) -> None:
    for key, value in payload.items():
        if value is None:
            continue
        if isinstance(value, dict):
            _fill(ET.SubElement(element, key), value)
        elif isinstance(value, list):
            for item in value:
                child = ET.SubElement(element, key)
                if isinstance(item, dict):
                    _fill(child, item)
                elif item is not None:
                    child.text = xml_text(item)
        else:
            element.set(key, xml_text(value))


def render(
    status: int,
    payload: dict[str, Any],
    request: Request | None,
    *,
    xml_root: str = "App_GenericResp",
) -> Response:
    """``payload`` as JSON or as XML under ``xml_root``, whichever the client accepts."""
    if negotiate(request) == "xml":
        return Response(to_xml(xml_root, payload), status=status, content_type=XML_CONTENT_TYPE)
    return json_response(status, payload)


def generic(status: int, code: int, message: str, request: Request | None) -> Response:
    """The generic envelope ``{"errorCode", "errorMessage"}``."""
    return render(status, {"errorCode": code, "errorMessage": message}, request)


class CommvaultDialect(Dialect):
    name = "commvault"

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        status = DEFAULT_STATUS[kind]
        code = CODES.get(kind, status)
        return generic(status, code, message or TEXTS[kind], request)

    def generic_error(self, status, message, request=None):
        return generic(status, 5 if status in (401, 403) else 2, message, request)
