"""The AKTION.NEXT wire format: media types, JSON/XML bodies and query strings as fields, dates, BaseResp rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app, has_request_context, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from svc_agenda import errors
from svc_agenda.errors import AgendaError, binding_failed
from vendorkit import bodies
from vendorkit.dialects import aktion
from vendorkit.netaddr import forwarded_entries, in_networks, parse_address
from vendorkit.web import VendorJSON
from vendorkit.xmlsafe import XMLRejected, parse_xml

JSON = "json"
XML = "xml"
# The body media types every POST reads (text/* are the product's aliases).
BODY_TYPES = aktion.JSON_TYPES + aktion.XML_TYPES
API_BLUEPRINT = "agenda"  # the API's views answer in JSON or XML; health and admin in JSON
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
EPOCH = datetime(1970, 1, 1)
# "/Date(1770200077469)/", optionally with the product's "+0100" offset suffix (the ms are UTC anyway).
MS_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")


class Complex:
    """Marks an XML field element that has child elements (it never binds to a scalar)."""


COMPLEX = Complex()


# --- dates -----------------------------------------------------------------


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_ms(moment: datetime) -> int:
    """Milliseconds since 1970 UTC."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def json_date(moment: datetime) -> str:
    return f"/Date({to_ms(moment)})/"


def xml_date(moment: datetime) -> str:
    # Formatted by hand: strftime drops the leading zeros of years before 1000.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def parse_date(text: str) -> datetime:
    """A naive UTC datetime from ``/Date(ms)/`` or ISO 8601 (no offset = UTC); ValueError otherwise."""
    match = MS_DATE.fullmatch(text)
    try:
        if match:
            return EPOCH + timedelta(milliseconds=int(match.group(1)))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.,]+(Z|[+-]\d{2}(:?\d{2})?)?)?", text):
            raise ValueError(text)
        moment = datetime.fromisoformat(text)
    except OverflowError as exc:
        raise ValueError(text) from exc
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


# --- request side ----------------------------------------------------------


def client_address() -> str:
    """The socket peer, or behind a trusted proxy the rightmost X-Forwarded-For entry (docs/agenda.md section 5)."""
    peer = request.remote_addr or ""
    peer_address = parse_address(peer)
    if peer_address is None:
        return peer[:100]
    if in_networks(peer_address, current_app.config["AGENDA_TRUSTED_PROXY_NETWORKS"]):
        entries = forwarded_entries(request.headers.getlist("X-Forwarded-For"))
        if entries:
            forwarded = parse_address(entries[-1])
            # An entry that is no address matches no filter item, so it cannot pose as a client.
            return str(forwarded) if forwarded is not None else entries[-1][:100]
    return str(peer_address)


def _read_data() -> bytes | None:
    """The body, or None when it exceeds MAX_CONTENT_LENGTH."""
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        return None


def body_format(formats: tuple[str, ...]) -> str | None:
    """The body's format (JSON, XML, or None when there is none); 415 unless its media type is in ``formats``."""
    header = request.headers.get("Content-Type", "")
    if not header.strip():
        data = _read_data()
        if data is None or data:
            raise AgendaError(errors.UNSUPPORTED_MEDIA)
        return None
    mimetype, options = parse_options_header(header)
    mimetype = mimetype.lower()
    if mimetype not in formats:
        raise AgendaError(errors.UNSUPPORTED_MEDIA)
    charset = options.get("charset")
    if charset is not None and charset.strip().lower().replace("-", "").replace("_", "") != "utf8":
        raise AgendaError(errors.UNSUPPORTED_MEDIA)
    return XML if mimetype in aktion.XML_TYPES else JSON


class Fields:
    """A request's top-level fields as sent, in order, repeats included; schemas bind them by name.

    JSON property names and query-parameter names match in any case, as the
    product's binder does; XML element names match exactly.
    """

    def __init__(self, pairs: list[tuple[str, Any]], *, any_case: bool):
        self.pairs = pairs
        self.any_case = any_case

    def values(self, name: str) -> list[Any]:
        """Every value sent under ``name``."""
        if self.any_case:
            name = name.lower()
            return [value for key, value in self.pairs if key.lower() == name]
        return [value for key, value in self.pairs if key == name]

    def get(self, name: str) -> Any:
        """The first value sent under ``name``, or None."""
        found = self.values(name)
        return found[0] if found else None


def query_fields() -> Fields:
    """The query parameters, names in any case."""
    return Fields(list(request.args.items(multi=True)), any_case=True)


def read_body(_request: Any = None) -> Fields:
    """The body's top-level fields, for ``@blp.arguments`` (the checks have already refused other media types)."""
    kind = body_format(BODY_TYPES)
    data = _read_data()
    if data is None:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        raise binding_failed([f"Request: body larger than {limit} bytes"])
    if kind is None or not data.strip():
        return Fields([], any_case=True)
    if kind == JSON:
        return Fields(_json_pairs(data), any_case=True)
    return Fields(_xml_pairs(data), any_case=False)


class _Pairs(list):
    """A JSON object as its key/value pairs, so that repeated keys are seen."""


def _json_pairs(data: bytes) -> list[tuple[str, Any]]:
    try:
        # Lone surrogates and NUL are refused per field ("contains control characters").
        document = bodies.parse_json(
            data, strip_bom=True, object_pairs_hook=_Pairs, allow_lone_surrogates=True, require_object=True
        )
    except bodies.MalformedInput as exc:
        if exc.reason == bodies.NOT_OBJECT:
            raise binding_failed(["Request: a JSON object is required"]) from None
        raise binding_failed(["Request: malformed JSON"]) from None
    return [(key, COMPLEX if isinstance(value, _Pairs) else value) for key, value in document]


def _xml_pairs(data: bytes) -> list[tuple[str, Any]]:
    try:
        root = parse_xml(data)
    except XMLRejected as exc:
        reason = (
            "DTDs and entity declarations are not allowed" if exc.reason == "doctype" else "malformed XML"
        )
        raise binding_failed([f"Request: {reason}"]) from None
    if root.tag != "Request":
        raise binding_failed(["Request: the root element must be Request"])
    pairs: list[tuple[str, Any]] = []
    for child in root:
        if not isinstance(child.tag, str):
            continue  # a comment or processing instruction
        if child.get(XSI_NIL, "").strip().lower() == "true":
            pairs.append((child.tag, None))
        elif len(child):
            pairs.append((child.tag, COMPLEX))
        else:
            pairs.append((child.tag, child.text or ""))
    return pairs


# --- field rules -----------------------------------------------------------


def unstorable(text: str) -> bool:
    """Whether ``text`` holds NUL or a lone surrogate, which no database stores (PostgreSQL, UTF-8)."""
    return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)


def has_controls(text: str) -> bool:
    """Whether ``text`` holds a C0 or C1 control character or DEL."""
    return any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text)


def check_token(raw: str | None) -> str:
    """The token as a canonical lowercase GUID; 1002 unless it is a hyphenated GUID."""
    if raw is None or not raw:
        raise binding_failed(["Token: required"])
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", raw):
        raise binding_failed(["Token: not a GUID"])
    return raw.lower()


# --- response side ---------------------------------------------------------


def _dates(value: Any, as_xml: bool) -> Any:
    if isinstance(value, datetime):
        return xml_date(value) if as_xml else json_date(value)
    if isinstance(value, dict):
        return {key: _dates(item, as_xml) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates(item, as_xml) for item in value]
    return value


def respond(status: int, payload: dict[str, Any]) -> Response:
    """``payload`` in JSON or XML as the client asked, dates in that format's own notation."""
    as_xml = aktion.wants_xml(request)
    return aktion.render(status, _dates(payload, as_xml), request)


def error_response(error: AgendaError) -> Response:
    """The refusal as a BaseResp answer: its Result, and the Request echoed."""
    payload = aktion.envelope(error.message, error.code, error.model_state, error.echo)
    return respond(error.status, payload)


class AktionAnswers(VendorJSON):
    """The app's JSON provider: what an API view's schema dumped, in JSON or XML as the client asks."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """The object given, rendered as ``respond`` renders (dates in the format's notation)."""
        if not has_request_context() or request.blueprint != API_BLUEPRINT:
            return super().response(*args, **kwargs)
        return respond(200, self._prepare_response_obj(args, kwargs))
