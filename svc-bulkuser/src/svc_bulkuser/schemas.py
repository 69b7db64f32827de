"""Validation of query strings and JSON bodies, with the exact messages of docs/bulkuser.md sections 2 and 5."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import flask
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validates_schema
from marshmallow.validate import Length, OneOf, Range
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from svc_bulkuser.errors import UnknownAttribute, ValidationFailed, schema_error
from svc_bulkuser.models import USER_TYPES
from vendorkit import bodies

MAX_ID = 2147483647
MAX_IDS_IN_LIST = 500
MAX_BODY_BYTES = 64 * 1024
MAX_AUTH_IPS = 50

ID_TEXT = re.compile(r"-?[0-9]+")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
DATETIME_TEXT = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,6}))?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:[0-9]{2})?)?"
)

# What the document says of a datetime: the forms of DATETIME_TEXT with fields in range (days
# up to 31 in every month: a few impossible dates match, and are refused).
DATETIME_PATTERN = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    "([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)

BETWEEN = "Must be between {min} and {max}."
NOT_EMPTY = "Field may not be empty."
REPEATED = "Field may not be repeated."


def parse_id_text(text: str) -> int | None:
    """The integer an id parameter spells (ASCII digits, optional ``-``), or None."""
    if not ID_TEXT.fullmatch(text):
        return None
    digits = text.lstrip("-").lstrip("0")
    if len(digits) > 10:
        # Far out of range; int() would refuse thousands of digits anyway.
        return MAX_ID + 1
    return int(text)


def parse_datetime(text: str) -> datetime | None:
    """A naive UTC datetime from the forms of docs/bulkuser.md section 5, or None when ``text`` is not one of them."""
    match = DATETIME_TEXT.fullmatch(text)
    if match is None:
        return None
    try:
        day = datetime.strptime(match["date"], "%Y-%m-%d")
        if match["hour"] is None:
            return day
        fraction = match["fraction"] or ""
        moment = day.replace(
            hour=int(match["hour"]),
            minute=int(match["minute"]),
            second=int(match["second"] or 0),
            microsecond=int(fraction.ljust(6, "0")) if fraction else 0,
        )
        offset = match["offset"]
        if offset and offset != "Z":
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if minutes >= 60:
                return None
            sign = -1 if offset[0] == "-" else 1
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
            moment = moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        return moment
    except (ValueError, OverflowError):
        return None


def canonical_ip(text: str) -> str | None:
    """An address in canonical text (IPv6 compressed, IPv4-mapped as IPv4), or None."""
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


# Query-string fields: each receives one non-empty string.


class QueryField(fields.Field):
    """A query-string field; ``openapi`` describes it in the OpenAPI document."""

    openapi: dict[str, Any] = {"type": "string"}

    def __init__(self, **kwargs):
        kwargs["metadata"] = {**self.openapi, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)


class QueryBoolean(QueryField):
    """``true``/``false``/``1``/``0``, any case."""

    openapi = {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|1|0)$"}

    default_error_messages = {"invalid": "Not a valid boolean."}

    def _deserialize(self, value, attr, data, **kwargs):
        word = value.lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        raise self.make_error("invalid")


class QueryInteger(QueryField):
    """An integer in ``[minimum, maximum]``."""

    openapi = {"type": "integer"}

    default_error_messages = {"invalid": "Not a valid integer.", "range": BETWEEN}

    def __init__(self, minimum: int = 1, maximum: int = MAX_ID, **kwargs):
        kwargs["metadata"] = {"minimum": minimum, "maximum": maximum, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_id_text(value)
        if number is None:
            raise self.make_error("invalid")
        if not self.minimum <= number <= self.maximum:
            raise self.make_error("range", min=self.minimum, max=self.maximum)
        return number


class QueryIdList(QueryField):
    """Comma-separated user ids, spaces around items allowed."""

    openapi = {"type": "string", "pattern": "^ *-?[0-9]+ *(, *-?[0-9]+ *)*$", "example": "4,7, 9"}

    default_error_messages = {
        "invalid": "Must be a comma-separated list of user ids.",
        "too_many": f"At most {MAX_IDS_IN_LIST} ids are allowed.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        ids = [parse_id_text(item.strip(" ")) for item in value.split(",")]
        if any(number is None or not 1 <= number <= MAX_ID for number in ids):
            raise self.make_error("invalid")
        if len(ids) > MAX_IDS_IN_LIST:
            raise self.make_error("too_many")
        return sorted(set(ids))


class QueryDateTime(QueryField):
    """``YYYY-MM-DD`` or ``YYYY-MM-DD[T ]HH:MM[:SS[.f]]`` with an optional ``Z``/``±HH:MM`` (UTC if none)."""

    openapi = {
        "type": "string",
        "pattern": DATETIME_PATTERN,
        "example": "2024-01-31T12:00:00Z",
    }
    default_error_messages = {"invalid": "Not a valid datetime."}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = parse_datetime(value)
        if moment is None:
            raise self.make_error("invalid")
        return moment


class QueryIpAddress(QueryField):
    """An IPv4 or IPv6 address, compared in canonical form."""

    openapi = {"type": "string", "pattern": "^[0-9A-Fa-f:.]+$", "maxLength": 45, "example": "203.0.113.9"}
    default_error_messages = {"invalid": "Not a valid IP address."}

    def _deserialize(self, value, attr, data, **kwargs):
        address = canonical_ip(value)
        if address is None:
            raise self.make_error("invalid")
        return address


def query_arguments(data: Any) -> MultiDict:
    """Every name and value of a query string as the request gave them."""
    # webargs hands a query schema a proxy that shows one value per name; its ``data`` is the request's.
    data = getattr(data, "data", data)
    return data if isinstance(data, MultiDict) else MultiDict(data)


def _one_string(**options: Any) -> fields.String:
    return fields.String(metadata={"minLength": 1}, **options)


class QuerySchema(Schema):
    """A query string: the first unknown name is refused, then every bad value is reported together."""

    @pre_load
    def single_values(self, data: Any, **_kwargs: Any) -> dict[str, str]:
        """Refuse the first unknown name; pass on the names given once, with a value."""
        arguments = query_arguments(data)
        for name in arguments:
            if name not in self.fields:
                raise UnknownAttribute(name)
        return {name: values[0] for name, values in arguments.lists() if values != [""] and len(values) == 1}

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def given_once_with_a_value(self, _data: Any, original_data: Any, **_kwargs: Any) -> None:
        """The names given twice, or without a value, are refused with the other fields' errors."""
        errors = {
            name: [REPEATED if len(values) > 1 else NOT_EMPTY]
            for name, values in query_arguments(original_data).lists()
            if len(values) > 1 or values == [""]
        }
        if errors:
            raise ValidationError(errors)


class FilterSchema(QuerySchema):
    """The 13 filters of docs/bulkuser.md section 5, shared by the bulk delete and the list."""

    active = QueryBoolean()
    is_online = QueryBoolean()
    # The example names no user: schemathesis's example request then meets the 404.
    user_id = QueryInteger(metadata={"example": MAX_ID})
    user_id_in = QueryIdList()
    role_id = QueryInteger()
    user_type = _one_string(validate=OneOf(USER_TYPES))
    name = _one_string(validate=Length(max=255))
    email = _one_string(validate=Length(max=255))
    login_ip = QueryIpAddress()
    create_time_gt = QueryDateTime()
    create_time_lt = QueryDateTime()
    last_login_time_gt = QueryDateTime()
    last_login_time_lt = QueryDateTime()


class BulkDeleteQuerySchema(FilterSchema):
    """DELETE /v1/user/all: at least one filter, since an empty one would match everyone."""

    @validates_schema(pass_original=True)
    def some_filter(self, _data: Any, original_data: Any, **_kwargs: Any) -> None:
        if not query_arguments(original_data):
            raise ValidationError("At least one filter is required.")


ORDER_COLUMNS = ("user_id", "name", "email", "user_type", "role_id", "create_time", "last_login_time")


class ListQuerySchema(FilterSchema):
    """GET /v1/user/list: the filters, plus paging and ordering."""

    last_login_time_isnull = QueryBoolean()
    page = QueryInteger(minimum=0, maximum=MAX_ID, load_default=0)
    per_page = QueryInteger(minimum=1, maximum=1000, load_default=20)
    order_by = _one_string(validate=OneOf(ORDER_COLUMNS), load_default="user_id")
    order_dir = _one_string(validate=OneOf(("asc", "desc")), load_default="asc")


class NoQuerySchema(QuerySchema):
    """Endpoints that take no query parameter at all."""


def refuse(error: ValidationError, location: str) -> ValidationFailed:
    """The vendor's refusal of invalid input: query fields in the order the request gave them."""
    messages = error.normalized_messages()
    if location in ("query", "querystring"):
        order = {name: index for index, name in enumerate(flask.request.args)}
        messages = dict(sorted(messages.items(), key=lambda item: order.get(item[0], -1)))
    return ValidationFailed(messages)


# JSON body fields: the value is whatever JSON gave.


class JsonString(fields.String):
    """A JSON string (never a number or a boolean)."""

    default_error_messages = {"invalid": "Not a valid string.", "null": "Not a valid string."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class JsonBoolean(fields.Boolean):
    """A JSON boolean (never 0/1 or a string)."""

    default_error_messages = {"invalid": "Not a valid boolean.", "null": "Not a valid boolean."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonInteger(fields.Integer):
    """A JSON integer (never a string, a float or a boolean)."""

    default_error_messages = {"invalid": "Not a valid integer.", "null": "Not a valid integer."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class JsonIpList(fields.Field):
    """A JSON array of IPv4/IPv6 addresses, kept in canonical text, duplicates once, in order."""

    def __init__(self, **kwargs):
        openapi = {
            "type": "array",
            "items": {"type": "string", "maxLength": 45},
            "description": f"IPv4/IPv6 addresses, stored canonical and each once: at most {MAX_AUTH_IPS} different ones",
        }
        kwargs["metadata"] = {**openapi, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    default_error_messages = {
        "invalid": "Must be a list of IP addresses.",
        "null": "Must be a list of IP addresses.",
        "too_many": f"At most {MAX_AUTH_IPS} addresses are allowed.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.make_error("invalid")
        addresses = [canonical_ip(item) for item in value]
        if None in addresses:
            raise self.make_error("invalid")
        unique = list(dict.fromkeys(addresses))
        if len(unique) > MAX_AUTH_IPS:
            raise self.make_error("too_many")
        return unique


# What the document says of a string that refuses control characters (ECMA-262 escapes).
PLAIN_TEXT = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"


def text(
    *, min_length: int = 0, max_length: int, allow_empty: bool = True, plain: bool = False, **options: Any
) -> JsonString:
    """A JSON string of ``min_length`` to ``max_length`` characters (no control characters when ``plain``).

    Every problem is reported together, except that an empty string refused is only that.
    """

    def validate(value: str) -> None:
        if value == "" and not allow_empty:
            raise ValidationError(NOT_EMPTY)
        problems = []
        if len(value) < min_length:
            problems.append(f"Shorter than minimum length {min_length}.")
        if len(value) > max_length:
            problems.append(f"Longer than maximum length {max_length}.")
        if plain and CONTROL_CHARACTERS.search(value):
            problems.append("Must not contain control characters.")
        if problems:
            raise ValidationError(problems)

    openapi: dict[str, Any] = {"maxLength": max_length}
    if min_length or not allow_empty:
        openapi["minLength"] = max(min_length, 0 if allow_empty else 1)
    if plain:
        openapi["pattern"] = PLAIN_TEXT
    return JsonString(validate=validate, metadata=openapi, **options)


def validate_email(value: str) -> None:
    """At most 255 characters, one ``@``, a local part, a dotted domain, no spaces or control characters."""
    problems = []
    if len(value) > 255:
        problems.append("Longer than maximum length 255.")
    local, _, domain = value.partition("@")
    well_formed = (
        value.count("@") == 1
        and local != ""
        and "." in domain.strip(".")
        and ".." not in domain
        and not any(character.isspace() for character in value)
        and not CONTROL_CHARACTERS.search(value)
    )
    if not well_formed:
        problems.append("Not a valid email address.")
    if problems:
        raise ValidationError(problems)


class LoginSchema(Schema):
    """POST /v1/auth."""

    class Meta:
        unknown = EXCLUDE

    email_or_name = text(max_length=MAX_BODY_BYTES, allow_empty=False, required=True)
    password = text(max_length=MAX_BODY_BYTES, allow_empty=False, required=True)


class CreateUserSchema(Schema):
    """POST /v1/user/create; read-only and unknown attributes are ignored."""

    class Meta:
        unknown = EXCLUDE

    name = text(min_length=1, max_length=100, allow_empty=False, plain=True, required=True)
    passwd = text(min_length=6, max_length=128, allow_empty=False, allow_none=True, load_default=None)
    # A superset of what validate_email takes: one "@", something before it, a dot after it.
    email = JsonString(
        allow_none=True,
        load_default=None,
        validate=validate_email,
        metadata={"maxLength": 255, "pattern": "^[^@]+@[^@]*\\.[^@]*$"},
    )
    user_type = JsonString(load_default="admin", validate=OneOf(USER_TYPES))
    role_id = JsonInteger(allow_none=True, load_default=None, validate=Range(1, MAX_ID, error=BETWEEN))
    active = JsonBoolean(load_default=True)
    # Control characters are refused here too: PostgreSQL cannot store NUL in text.
    first_name = text(max_length=100, plain=True, allow_none=True, load_default=None)
    last_name = text(max_length=100, plain=True, allow_none=True, load_default=None)
    # The product's other user attributes (role_name is read-only: it names role_id).
    client_id = JsonInteger(allow_none=True, load_default=None, validate=Range(1, MAX_ID, error=BETWEEN))
    reseller_id = JsonInteger(allow_none=True, load_default=None, validate=Range(1, MAX_ID, error=BETWEEN))
    landing_page = text(max_length=255, plain=True, allow_none=True, load_default=None)
    auth_ip = JsonIpList(load_default=list)
    report_group = JsonBoolean(load_default=False)
    avatar_id = JsonInteger(allow_none=True, load_default=None, validate=Range(1, MAX_ID, error=BETWEEN))
    card_id = JsonInteger(allow_none=True, load_default=None, validate=Range(1, MAX_ID, error=BETWEEN))
    default_mod = text(max_length=100, plain=True, allow_none=True, load_default=None)
    default_mod2 = text(max_length=100, plain=True, allow_none=True, load_default=None)
    all_termination = JsonBoolean(load_default=False)


def read_json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body, or a ``_schema`` refusal."""
    if (request.mimetype or "").lower() != "application/json":
        raise schema_error("Content-Type must be application/json.")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise schema_error("Request body too large.")
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise schema_error("Request body too large.")
    try:
        # A "\ud800" escape parses but is no UTF-8 text, and no database can store it.
        return bodies.parse_json(raw, require_object=True)
    except bodies.MalformedInput as exc:
        if exc.reason == bodies.NOT_OBJECT:
            raise schema_error("Invalid input type.") from None
        raise schema_error("Invalid JSON body.") from None
