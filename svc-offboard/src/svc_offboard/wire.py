"""Commvault on the wire: where the API lives, how bodies are read (JSON or XML) and answers rendered.

Answers are what a view's ``@blp.response`` schema dumped, rendered as JSON,
or as XML under the endpoint's root element, by ``Accept`` (``CommvaultJSON``);
request bodies are lenient JSON, or XML read as fields (docs/offboard.md section 2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from svc_offboard import errors, schemas
from svc_offboard.services import Outcome
from vendorkit import bodies
from vendorkit.dialects import commvault
from vendorkit.dialects.commvault import JSON_TYPES, XML_TYPES
from vendorkit.endpoints import Endpoint
from vendorkit.web import VendorJSON
from vendorkit.xmlsafe import XMLRejected, has_doctype, parse_xml

# The product serves one API under both roots.
ROOTS = ("/webconsole/api", "/commandcenter/api")

# The body formats a view may declare (vendorkit.endpoints.declare).
JSON = JSON_TYPES
JSON_OR_XML = JSON_TYPES + XML_TYPES

# Canonical spelling of each path segment: clients send /Login and /login alike.
SEGMENTS = {
    segment.lower(): segment
    for segment in (
        "Login", "Logout", "RenewLoginToken", "WhoAmI", "User", "Offboard", "Security",
        "Client", "Subclient", "CommServ", "VSAClientAndClientGroupList", "v4",
    )
}  # fmt: skip
# The v4 API spells its resources in lower case.
V4_SEGMENTS = {"user": "user"}

GENERIC_ROOT = "App_GenericResp"
LOGIN_ROOT = "DM2ContentIndexing_CheckCredentialResp"
USERS_ROOT = "App_GetUserPropertiesResponse"
CLIENTS_ROOT = "App_GetClientPropertiesResponse"
SUBCLIENTS_ROOT = "App_GetSubClientPropertiesResponse"
RESPONSE_LIST_ROOT = "App_GenericResponse"
WHO_AM_I_ROOT = "CvEntities_ProcessingInstructionInfo"
RENEW_ROOT = "App_RenewLoginTokenResp"
COMMSERV_ROOT = "App_GetCommServInfoResp"
SECURITY_ROOT = "App_SecurityAssociationsResp"
V4_USERS_ROOT = "App_V4UsersResp"
V4_USER_ROOT = "App_V4UserResp"
ACCESS_NODES_ROOT = "App_VSAClientAndClientGroupListResp"

# The attribute ``answers`` leaves on a view (and on ``g`` while it runs): the root element of its XML answers.
XML_ROOT_ATTRIBUTE = "commvault_xml_root"

# The document's syntax block ends its object with ``,}``.
TRAILING_COMMA = re.compile(r",\s*}\s*\Z")


# --- paths ---------------------------------------------------------------------------------


def root_of(path: str) -> str | None:
    """The API root ``path`` lies under, if any."""
    lowered = path.lower()
    return next((root for root in ROOTS if lowered == root or lowered.startswith(root + "/")), None)


class CaseInsensitivePaths:
    """WSGI middleware: rewrite the segments of API paths to their canonical case."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        root = root_of(path)
        if root is not None:
            rest = path[len(root) :].split("/")
            vocabulary = V4_SEGMENTS if len(rest) > 1 and rest[1].lower() == "v4" else {}
            rest = [vocabulary.get(s.lower()) or SEGMENTS.get(s.lower(), s) for s in rest]
            environ["PATH_INFO"] = root + "/".join(rest)
        return self.app(environ, start_response)


# --- request bodies ------------------------------------------------------------------------


def read_body(endpoint: Endpoint) -> dict[str, Any]:
    """The request body as a dict of fields (XML: the root's attributes and child texts).

    ``endpoint.formats`` are the formats the body may be once read: a body
    labelled XML whose first character is ``{`` is JSON.
    """
    mimetype = (request.mimetype or "").lower()
    if mimetype and mimetype not in JSON_OR_XML:
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
    if is_xml and not endpoint.reads(XML_TYPES[0]):
        raise errors.unsupported_content_type()
    if too_large:
        raise errors.too_large()
    if has_doctype(raw):
        raise errors.bad_body(errors.DOCTYPE_REFUSED)
    if not raw.strip():
        return {}
    return xml_fields(raw) if is_xml else json_fields(raw)


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


# --- answers -------------------------------------------------------------------------------


def _answer(schema: Schema, data: Any, xml_root: str) -> Response:
    """HTTP 200 with ``data`` dumped by ``schema``, as JSON or as XML under ``xml_root``."""
    return commvault.render(200, schema.dump(data), request, xml_root=xml_root)


def failure(message: str) -> Response:
    """A business failure in the generic envelope (HTTP 200, errorCode 2)."""
    return _answer(schemas.GenericRespSchema(), Outcome(message, code=errors.FAILED), GENERIC_ROOT)


def response_list_failure(message: str) -> Response:
    """A business failure of a write endpoint: ``{"response": [{"errorCode": 2, "errorString"}]}``."""
    return _answer(schemas.ResponseListSchema(), [Outcome(message, code=errors.FAILED)], RESPONSE_LIST_ROOT)


def login_failure(message: str) -> Response:
    """A refused login: ``{"errList": [{"errorCode": 2, "errLogMessage"}]}``."""
    return _answer(schemas.LoginFailureSchema(), [Outcome(message, code=errors.FAILED)], LOGIN_ROOT)


def renewal_failure(message: str) -> Response:
    """A refused renewal: ``{"error": {"errorCode": 5, "errLogMessage"}}``."""
    return _answer(
        schemas.RenewLoginTokenFailureSchema(), Outcome(message, code=errors.ACCESS_DENIED_CODE), RENEW_ROOT
    )


# The envelopes that carry a business failure in a shape of their own; any other fails in the generic one.
FAILURES_BY_ROOT: dict[str, Callable[[str], Response]] = {
    RESPONSE_LIST_ROOT: response_list_failure,
    LOGIN_ROOT: login_failure,
    RENEW_ROOT: renewal_failure,
}


class CommvaultJSON(VendorJSON):
    """The app's answers: as JSON, or, when the client asks for XML, as XML under the view's root (``answers``)."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """The object given (a schema's dump), rendered as the request accepts."""
        xml_root = g.get(XML_ROOT_ATTRIBUTE)
        if xml_root is None or commvault.negotiate(request) != "xml":
            return super().response(*args, **kwargs)
        payload = self._prepare_response_obj(args, kwargs)
        return Response(commvault.to_xml(xml_root, payload), content_type=commvault.XML_CONTENT_TYPE)


def answers(xml_root: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer the view's data under ``xml_root`` in XML, and a business failure in that root's envelope.

    Applied above ``@blp.arguments`` and ``@blp.response``: a refused input, as a
    failure raised in the view, is answered in the envelope (a response
    ``@blp.response`` passes through), and the schema's dump is rendered under the root.
    """
    fail = FAILURES_BY_ROOT.get(xml_root, failure)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def answered(*args: Any, **kwargs: Any) -> Any:
            setattr(g, XML_ROOT_ATTRIBUTE, xml_root)
            try:
                return view(*args, **kwargs)
            except errors.Failure as exc:
                return fail(exc.message)

        setattr(answered, XML_ROOT_ATTRIBUTE, xml_root)
        return answered

    return decorate


def xml_root_of(view: Callable[..., Any]) -> str:
    """The root element of the view's XML answers (``answers``)."""
    return getattr(view, XML_ROOT_ATTRIBUTE)
