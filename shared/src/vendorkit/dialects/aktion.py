"""AKTION.NEXT web API: ``{"Result": {"Message", "Code", "ModelStateErr"}, "Request": ...}``."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from werkzeug.wrappers import Request, Response

from vendorkit.dialects import Dialect, Refusal, json_response, xml_text

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
XML_CONTENT_TYPE = "application/xml; charset=utf-8"
XML_TYPES = ("application/xml", "text/xml")
JSON_TYPES = ("application/json", "text/json")

# The element name of one item of each list the API returns.
LIST_ITEMS = {"ModelStateErr": "Error", "Users": "User", "Roles": "Role"}

# (HTTP status, Result.Code, message template) of each refusal. 1006 and 1008
# come from document 004 itself: AKTION.NEXT answers both with 401.
REFUSALS: dict[Refusal, tuple[int, int, str]] = {
    Refusal.RATE_LIMITED: (401, 1008, "Request rate policy violated for [{ip}]"),
    Refusal.IP_DENIED: (401, 1006, "Ip filter violated for ip client address [{ip}]"),
    Refusal.UPSTREAM_UNAVAILABLE: (
        502,
        7,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    Refusal.UPSTREAM_TIMEOUT: (
        504,
        7,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    Refusal.STORAGE_UNAVAILABLE: (
        503,
        7,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    Refusal.DATABASE_ERROR: (
        403,
        7,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    Refusal.INTERNAL_ERROR: (
        500,
        7,
        "Db operation failed, operation can not be executed because another problems occured",
    ),
    Refusal.BODY_TOO_LARGE: (413, 1002, "Entry parameter missing or parameter bindigs failed"),
    Refusal.NOT_FOUND: (404, 404, "No HTTP resource was found that matches the request URI"),
    Refusal.METHOD_NOT_ALLOWED: (
        405,
        405,
        "The requested resource does not support http method '{method}'.",
    ),
}


def _media(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def wants_xml(request: Request | None) -> bool:
    """XML when Accept names XML; JSON when it names JSON; else the request body's format."""
    if request is None:
        return False
    accept = request.headers.get("Accept", "")
    kinds = [_media(part) for part in accept.split(",") if part.strip()]
    named = [k for k in kinds if k in XML_TYPES or k in JSON_TYPES]
    if named:
        best = max(named, key=lambda k: request.accept_mimetypes[k])
        return best in XML_TYPES
    if kinds and any(k != "*/*" for k in kinds):
        return False  # an Accept we cannot honour falls back to JSON, never 406
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    return has_body and _media(request.headers.get("Content-Type", "")) in XML_TYPES


def envelope(message: str, code: int, model_state: list[str] | None = None, request_echo: Any = None):
    """The BaseResp envelope as a dict, in the product's key order."""
    return {
        "Result": {"Message": message, "Code": code, "ModelStateErr": model_state},
        "Request": request_echo,
    }


def to_xml(payload: dict[str, Any], root: str = "Response") -> bytes:
    """The XML twin of a JSON body: one element per field, nulls left out."""
    element = ET.Element(root)
    _fill(element, payload)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, payload: dict[str, Any]) -> None:
    for key, value in payload.items():
        if value is None:
            continue
        child = ET.SubElement(element, key)
        if isinstance(value, dict):
            _fill(child, value)
        elif isinstance(value, list):
            item_name = LIST_ITEMS.get(key, "Item")
            for item in value:
                item_element = ET.SubElement(child, item_name)
                if isinstance(item, dict):
                    _fill(item_element, item)
                elif item is not None:
                    item_element.text = xml_text(item)
        else:
            child.text = xml_text(value)


def render(
    status: int,
    payload: dict[str, Any],
    request: Request | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``payload`` in JSON or XML as the client asked."""
    if wants_xml(request):
        return Response(to_xml(payload), status=status, headers=headers, content_type=XML_CONTENT_TYPE)
    return json_response(status, payload, headers, content_type=JSON_CONTENT_TYPE)


def result(
    status: int,
    code: int,
    message: str,
    request: Request | None,
    *,
    model_state: list[str] | None = None,
    request_echo: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An envelope response."""
    return render(status, envelope(message, code, model_state, request_echo), request, headers)


class AktionDialect(Dialect):
    name = "aktion"
    json_mimetype = JSON_CONTENT_TYPE

    def refusal(self, kind, request=None, *, client_ip=None, method=None, message=None):
        status, code, template = REFUSALS[kind]
        text = template.format(ip=client_ip or "", method=method or (request.method if request else ""))
        return result(status, code, text, request)

    def generic_error(self, status, message, request=None):
        return result(status, 1002 if status == 400 else status, message, request)
