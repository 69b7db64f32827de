"""Request bodies as Commvault's clients send them: lenient JSON, or XML read as fields."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from svc_offboard import errors
from vendorkit import bodies
from vendorkit.dialects.commvault import JSON_TYPES, XML_TYPES
from vendorkit.xmlsafe import XMLRejected, has_doctype, parse_xml

# The document's syntax block ends its object with ``,}``.
TRAILING_COMMA = re.compile(r",\s*}\s*\Z")


def read_body(*, accepts_xml: bool, xml_root: str | None) -> dict[str, Any]:
    """The request body as a dict of fields (XML: the root's attributes and child texts)."""
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype not in JSON_TYPES + XML_TYPES:
        raise errors.unsupported_content_type()
    limit = current_app.config["MAX_BODY_BYTES"]
    try:
        # Never more than the limit (plus one byte to notice a larger body) in memory.
        raw = request.stream.read(limit + 1)
        too_large = len(raw) > limit or (request.content_length or 0) > limit
    except RequestEntityTooLarge:
        raw, too_large = b"", True
    first = raw.lstrip()[:1]
    if mimetype in JSON_TYPES:
        is_xml = False
    elif mimetype in XML_TYPES:
        is_xml = first != b"{"
    else:
        is_xml = first == b"<"
    if is_xml and not accepts_xml:
        raise errors.unsupported_content_type()
    if too_large:
        raise errors.too_large()
    if has_doctype(raw):
        raise errors.bad_body(errors.DOCTYPE_REFUSED)
    if not raw.strip():
        return {}
    fields = xml_fields(raw) if is_xml else json_fields(raw)
    if xml_root and len(fields) == 1 and isinstance(fields.get(xml_root), dict):
        fields = fields[xml_root]
    # Older clients send ``@name`` for ``name``; a plain key wins over its ``@`` twin.
    return {**{key[1:]: value for key, value in fields.items() if key.startswith("@")}, **fields}


def xml_fields(raw: bytes) -> dict[str, Any]:
    """The root's child texts (trimmed), overridden by its attributes; the root's name is not checked."""
    try:
        root = parse_xml(raw)
    except XMLRejected as exc:
        if exc.reason == "doctype":
            raise errors.bad_body(errors.DOCTYPE_REFUSED) from None
        raise errors.bad_body(errors.INVALID_XML) from None
    fields: dict[str, Any] = {}
    for child in root:
        if isinstance(child.tag, str):
            fields.setdefault(child.tag, (child.text or "").strip())
    fields.update(root.attrib)
    return fields


def json_fields(raw: bytes) -> dict[str, Any]:
    """A JSON object, read by the shared strict parser (a trailing comma before the final ``}`` tolerated)."""
    try:
        try:
            return bodies.parse_json(raw, require_object=True)
        except bodies.MalformedInput as refused:
            text = raw.decode("utf-8")
            if refused.reason != bodies.SYNTAX or not TRAILING_COMMA.search(text):
                raise
            return bodies.parse_json(TRAILING_COMMA.sub("}", text).encode(), require_object=True)
    except (UnicodeDecodeError, bodies.MalformedInput):
        raise errors.bad_body(errors.INVALID_JSON) from None
