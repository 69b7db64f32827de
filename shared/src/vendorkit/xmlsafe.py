"""XML parsing that never fetches, expands or declares anything."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring


class XMLRejected(ValueError):
    """The body is not acceptable XML; ``reason`` is ``"doctype"`` or ``"malformed"``."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def has_doctype(body: bytes) -> bool:
    """Whether the raw body declares a DOCTYPE (checked before any parser sees it)."""
    return b"<!doctype" in body.lower()


def parse_xml(body: bytes) -> Element:
    """The root element of ``body``; XMLRejected for DTDs, entities or malformed XML."""
    if has_doctype(body):
        raise XMLRejected("doctype", "DOCTYPE declarations are not allowed")
    try:
        return fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise XMLRejected("doctype", str(exc)) from exc
    except (ParseError, ValueError, UnicodeDecodeError) as exc:
        raise XMLRejected("malformed", str(exc)) from exc
