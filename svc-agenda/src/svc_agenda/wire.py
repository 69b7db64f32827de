"""The AKTION.NEXT wire format: media types, JSON/XML binding, query strings, dates and BaseResp rendering."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from svc_agenda import errors
from svc_agenda.errors import AgendaError, binding_failed
from vendorkit import bodies
from vendorkit.dialects import aktion
from vendorkit.netaddr import forwarded_entries, in_networks, parse_address
from vendorkit.xmlsafe import XMLRejected, parse_xml

JSON = "json"
XML = "xml"
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


def query() -> dict[str, str]:
    """The query parameters by lowercased name (the product's binder ignores case); first value wins."""
    params: dict[str, str] = {}
    for name, value in request.args.items(multi=True):
        params.setdefault(name.lower(), value)
    return params


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


def read_body() -> tuple[str | None, bytes]:
    """The body's format (JSON, XML, or None when there is none) and bytes; 415 for other media types."""
    header = request.headers.get("Content-Type", "")
    if not header.strip():
        data = _read_data()
        if data is None or data:
            raise AgendaError(errors.UNSUPPORTED_MEDIA)
        return None, b""
    mimetype, options = parse_options_header(header)
    mimetype = mimetype.lower()
    if mimetype in aktion.JSON_TYPES:
        kind = JSON
    elif mimetype in aktion.XML_TYPES:
        kind = XML
    else:
        raise AgendaError(errors.UNSUPPORTED_MEDIA)
    charset = options.get("charset")
    if charset is not None and charset.strip().lower().replace("-", "").replace("_", "") != "utf8":
        raise AgendaError(errors.UNSUPPORTED_MEDIA)
    data = _read_data()
    if data is None:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        raise binding_failed([f"Request: body larger than {limit} bytes"])
    return kind, data


class _Pairs(list):
    """A JSON object as its key/value pairs, so that repeated keys are seen."""


def bind(kind: str | None, data: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields present in the body, by canonical name (JSON: any case; XML: exact element names)."""
    if kind is None or not data.strip():
        return {}
    if kind == JSON:
        return _bind_json(data, fields)
    return _bind_xml(data, fields)


def _bind_json(data: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        # Lone surrogates and NUL are refused per field ("contains control characters").
        document = bodies.parse_json(
            data, strip_bom=True, object_pairs_hook=_Pairs, allow_lone_surrogates=True, require_object=True
        )
    except bodies.MalformedInput as exc:
        if exc.reason == bodies.NOT_OBJECT:
            raise binding_failed(["Request: a JSON object is required"]) from None
        raise binding_failed(["Request: malformed JSON"]) from None
    by_lower = {name.lower(): name for name in fields}
    bound: dict[str, Any] = {}
    problems = []
    for key, value in document:
        name = by_lower.get(key.lower())
        if name is None:
            continue  # unknown properties are ignored
        if name in bound:
            problems.append(f"{name}: given more than once")
        bound[name] = COMPLEX if isinstance(value, _Pairs) else value
    if problems:
        raise binding_failed(problems)
    return bound


def _bind_xml(data: bytes, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        root = parse_xml(data)
    except XMLRejected as exc:
        reason = (
            "DTDs and entity declarations are not allowed" if exc.reason == "doctype" else "malformed XML"
        )
        raise binding_failed([f"Request: {reason}"]) from None
    if root.tag != "Request":
        raise binding_failed(["Request: the root element must be Request"])
    bound: dict[str, Any] = {}
    problems = []
    for child in root:
        if not isinstance(child.tag, str) or child.tag not in fields:
            continue
        if child.tag in bound:
            problems.append(f"{child.tag}: given more than once")
        if child.get(XSI_NIL, "").strip().lower() == "true":
            bound[child.tag] = None
        elif len(child):
            bound[child.tag] = COMPLEX
        else:
            bound[child.tag] = child.text or ""
    if problems:
        raise binding_failed(problems)
    return bound


# --- field rules -----------------------------------------------------------


def _unstorable(text: str) -> bool:
    # NUL and lone surrogates cannot be stored (PostgreSQL, UTF-8); other controls are caught per field.
    return "\x00" in text or any("\ud800" <= char <= "\udfff" for char in text)


def _has_controls(text: str) -> bool:
    return any(ord(char) < 32 or 127 <= ord(char) < 160 for char in text)


@dataclass
class Checker:
    """Collects one ModelStateErr entry per failed field."""

    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    def text(self, name: str, *, max_length: int, required: bool, name_rules: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                self.problems.append(f"{name}: required")
            return None
        if not isinstance(value, str):
            self.problems.append(f"{name}: must be a string")
            return None
        if required and not value.strip():
            self.problems.append(f"{name}: must not be empty or blank")
        elif len(value) > max_length:
            self.problems.append(f"{name}: longer than {max_length} characters")
        elif _unstorable(value) or (name_rules and _has_controls(value)):
            self.problems.append(f"{name}: contains control characters")
        else:
            return value
        return None

    def date(self, name: str) -> datetime | None:
        value = self.values.get(name)
        if value is None or (isinstance(value, str) and value == "" and name in self.values):
            return None
        if not isinstance(value, str):
            self.problems.append(f"{name}: must be a date")
            return None
        try:
            return parse_date(value.strip())
        except ValueError:
            self.problems.append(f"{name}: not a date (/Date(ms)/ or ISO 8601)")
            return None

    def flag(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str) and value.strip() in ("0", "1"):
            return int(value.strip())
        if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
            return value
        self.problems.append(f"{name}: must be 0 or 1")
        return None

    def raise_if_failed(self) -> None:
        if self.problems:
            raise binding_failed(self.problems)


def check_token(raw: str | None) -> str:
    """The token as a canonical lowercase GUID; 1002 unless it is a hyphenated GUID."""
    if raw is None or not raw:
        raise binding_failed(["Token: required"])
    if not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", raw):
        raise binding_failed(["Token: not a GUID"])
    return raw.lower()


def page_number(raw: str | None, name: str, problems: list[str], *, low: int, high: int | None) -> int | None:
    """A digits-only query number within bounds (huge page numbers stay valid: they are past the end)."""
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]+", raw):
        problems.append(f"{name}: digits only")
        return None
    digits = raw.lstrip("0") or "0"
    value = int(digits) if len(digits) <= 18 else 10**18
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        problems.append(f"{name}: must be {bound}")
        return None
    return value


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


def envelope(
    status: int,
    code: int,
    message: str,
    *,
    echo: Any = None,
    model_state: list[str] | None = None,
    data: dict[str, Any] | None = None,
) -> Response:
    """A BaseResp answer: Result, Request, then any data fields."""
    payload = aktion.envelope(message, code, model_state, echo)
    payload.update(data or {})
    return respond(status, payload)


def error_response(error: AgendaError) -> Response:
    return envelope(error.status, error.code, error.message, echo=error.echo, model_state=error.model_state)
