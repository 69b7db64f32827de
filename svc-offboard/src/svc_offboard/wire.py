"""Commvault's wire conventions: case-insensitive paths, Accept negotiation, JSON and XML bodies.

The checks of offboard.md run in its order, before any view: 406 (Accept),
401 (Authtoken), 404/405 (routing), 403 (master administrators only),
415 (Content-type), 413 (size), 400 (DOCTYPE, then malformed body).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from svc_offboard import services
from vendorkit import db
from vendorkit.dialects import commvault, json_response
from vendorkit.dialects.commvault import JSON_TYPES, XML_TYPES
from vendorkit.xmlsafe import XMLRejected, has_doctype, parse_xml

ROOT = "/webconsole/api"
LOGIN_PATH = f"{ROOT}/Login"
CANONICAL_SEGMENTS = {
    segment.lower(): segment
    for segment in ("webconsole", "api", "Login", "Logout", "User", "Offboard", "Client", "Subclient")
}

UNSUPPORTED_ACCEPT = "Unsupported Accept header: use application/json or application/xml"
UNSUPPORTED_CONTENT_TYPE = "Unsupported Content-type: use application/json or application/xml"
ACCESS_DENIED = "Access denied"
BODY_TOO_LARGE = "Request body too large"
DOCTYPE_REFUSED = "XML DOCTYPE and entity declarations are not allowed"
INVALID_XML = "Invalid XML in request body"
INVALID_JSON = "Invalid JSON in request body"

GENERIC_ROOT = "App_GenericResp"
# The document's syntax block ends its object with ``,}``.
TRAILING_COMMA = re.compile(r",\s*}\s*\Z")


@dataclass(frozen=True)
class Policy:
    """What an endpoint requires beyond a live token."""

    master_only: bool = False
    reads_body: bool = False
    accepts_xml: bool = False
    xml_root: str | None = None  # a JSON body wrapped in this one key is unwrapped


# (URL rule, method) -> Policy; routes.py fills it in.
POLICIES: dict[tuple[str, str], Policy] = {}


class Rejection(Exception):
    """A refusal in the generic envelope, answered before the view runs."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class CaseInsensitivePaths:
    """WSGI middleware: rewrite the segments of ``/webconsole/api/...`` paths to their canonical case."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        lowered = path.lower()
        if lowered == ROOT or lowered.startswith(ROOT + "/"):
            environ["PATH_INFO"] = "/".join(
                CANONICAL_SEGMENTS.get(segment.lower(), segment) for segment in path.split("/")
            )
        return self.app(environ, start_response)


def render(status: int, payload: dict[str, Any], xml_root: str = GENERIC_ROOT) -> Response:
    """``payload`` as JSON or as XML under ``xml_root``, whichever the client accepts."""
    return commvault.render(status, payload, request, xml_root=xml_root)


def generic(status: int, code: int, message: str) -> Response:
    """The generic envelope ``{"errorCode", "errorMessage"}`` with HTTP ``status``."""
    return render(status, {"errorCode": code, "errorMessage": message})


def respond(payload: dict[str, Any], xml_root: str = GENERIC_ROOT) -> Response:
    """HTTP 200 with ``payload`` as JSON or as XML under ``xml_root``."""
    return render(200, payload, xml_root)


def failure(message: str) -> Response:
    """A business failure in the generic envelope (HTTP 200, errorCode 2)."""
    return respond({"errorCode": 2, "errorMessage": message})


def install(app: Flask) -> None:
    """Add the path middleware, the ordered checks and the error texts of offboard.md to ``app``."""
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app)

    @app.errorhandler(Rejection)
    def _rejected(error: Rejection):
        if error.status == 406:
            return json_response(406, {"errorCode": error.code, "errorMessage": error.message})
        return generic(error.status, error.code, error.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        return generic(413, 2, BODY_TOO_LARGE)

    app.before_request(check_request)


def check_request() -> None:
    """Refuse what offboard.md refuses, in its order; leave the parsed body in ``g.body``."""
    path = request.path
    if path != ROOT and not path.startswith(ROOT + "/"):
        return
    if commvault.negotiate(request) is None:
        raise Rejection(406, 2, UNSUPPORTED_ACCEPT)
    if path != LOGIN_PATH:
        found = services.authenticate(db.session(), request.headers.get("Authtoken"))
        if found is None:
            raise Rejection(401, 5, ACCESS_DENIED)
        g.user, g.token_digest = found
    if request.routing_exception is not None:
        raise request.routing_exception
    policy = POLICIES.get((request.url_rule.rule, request.method), Policy())
    if policy.master_only and not g.user.is_master:
        raise Rejection(403, 5, ACCESS_DENIED)
    if policy.reads_body:
        g.body = read_body(policy)


def read_body(policy: Policy) -> dict[str, Any]:
    """The request body as a dict of fields (XML: the root's attributes and child texts)."""
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype not in JSON_TYPES + XML_TYPES:
        raise Rejection(415, 2, UNSUPPORTED_CONTENT_TYPE)
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
    if is_xml and not policy.accepts_xml:
        raise Rejection(415, 2, UNSUPPORTED_CONTENT_TYPE)
    if too_large:
        raise Rejection(413, 2, BODY_TOO_LARGE)
    if has_doctype(raw):
        raise Rejection(400, 2, DOCTYPE_REFUSED)
    if not raw.strip():
        return {}
    fields = xml_fields(raw) if is_xml else json_fields(raw)
    if policy.xml_root and len(fields) == 1 and isinstance(fields.get(policy.xml_root), dict):
        fields = fields[policy.xml_root]
    # Older clients send ``@name`` for ``name``; a plain key wins over its ``@`` twin.
    return {**{key[1:]: value for key, value in fields.items() if key.startswith("@")}, **fields}


def xml_fields(raw: bytes) -> dict[str, Any]:
    """The root's child texts (trimmed), overridden by its attributes; the root's name is not checked."""
    try:
        root = parse_xml(raw)
    except XMLRejected as exc:
        if exc.reason == "doctype":
            raise Rejection(400, 2, DOCTYPE_REFUSED) from None
        raise Rejection(400, 2, INVALID_XML) from None
    fields: dict[str, Any] = {}
    for child in root:
        if isinstance(child.tag, str):
            fields.setdefault(child.tag, (child.text or "").strip())
    fields.update(root.attrib)
    return fields


def _refuse_constant(_name: str):
    raise ValueError("NaN and Infinity are not JSON")


def json_fields(raw: bytes) -> dict[str, Any]:
    """A JSON object (a trailing comma before the final ``}`` tolerated)."""
    try:
        text = raw.decode("utf-8")
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except ValueError:
            if not TRAILING_COMMA.search(text):
                raise
            value = json.loads(TRAILING_COMMA.sub("}", text), parse_constant=_refuse_constant)
        _check_strings(value)
    except (ValueError, RecursionError):
        raise Rejection(400, 2, INVALID_JSON) from None
    if not isinstance(value, dict):
        raise Rejection(400, 2, INVALID_JSON)
    return value


def _check_strings(value: Any) -> None:
    """ValueError for strings that are not Unicode text (lone surrogates from ``\\ud800`` escapes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")  # UnicodeEncodeError is a ValueError
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
