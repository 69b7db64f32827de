"""Request and response shapes (marshmallow), with the messages the problems carry."""

from __future__ import annotations

import json
import re
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema

from svc_leaver.config import TARGETS
from svc_leaver.errors import invalid

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
RUN_STATUSES = ("pending", "running", "succeeded", "partial", "failed", "planned")
# Printable ASCII: what an Idempotency-Key may consist of.
IDEMPOTENCY_KEY = re.compile(r"[\x20-\x7e]{1,255}")


def _label(value: str) -> None:
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError("Must not contain control characters.")


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


class StrictString(fields.String):
    """A JSON string only (marshmallow's String also accepts numbers in some versions)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON boolean only: no 0/1, no "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class RunRequestSchema(Schema):
    """``POST /leaver/v1/runs``."""

    class Meta:
        unknown = RAISE

    person = StrictString(
        required=True,
        validate=[validate.Length(min=1, max=200), _not_blank, _label],
        metadata={"example": "E-1042"},
    )
    accounts = fields.Dict(
        keys=fields.String(),
        values=StrictString(validate=[validate.Length(min=1, max=200), _label]),
        required=True,
        metadata={"example": {"commvault": "kim", "wso2": "kim", "dnl": "kim@example.com"}},
    )
    dry_run = StrictBoolean(load_default=False)

    @validates_schema
    def _accounts(self, data: dict[str, Any], **_kwargs) -> None:
        accounts = data.get("accounts")
        if accounts is None:
            return
        if not accounts:
            raise ValidationError("At least one target is required.", "accounts")
        unknown = [name for name in accounts if name not in TARGETS]
        if unknown:
            raise ValidationError(
                f"Unknown target {unknown[0]!r}; expected one of {', '.join(TARGETS)}.", "accounts"
            )


class RunListQuerySchema(Schema):
    """``GET /leaver/v1/runs`` filters."""

    class Meta:
        unknown = RAISE

    person = fields.String(validate=validate.Length(min=1, max=200))
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    limit = fields.Integer(load_default=20, strict=False, validate=validate.Range(min=1, max=100))


class VendorAnswerSchema(Schema):
    status = fields.Integer()
    code = fields.Integer(allow_none=True)
    message = fields.String(allow_none=True)


class TargetSchema(Schema):
    account = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    detail = fields.String(allow_none=True)
    vendor = fields.Nested(VendorAnswerSchema, allow_none=True)


class RunSchema(Schema):
    """A run as the API shows it."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String()
    person = fields.String()
    dry_run = fields.Boolean()
    status = fields.String()
    created = fields.String()
    finished = fields.String(allow_none=True)
    targets = fields.Dict(keys=fields.String(), values=fields.Nested(TargetSchema))


class RunListSchema(Schema):
    runs = fields.List(fields.Nested(RunSchema))


class AuditEventSchema(Schema):
    seq = fields.Integer()
    time = fields.String()
    run = fields.String(allow_none=True)
    target = fields.String(allow_none=True)
    type = fields.String()
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class AuditListSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))


class VerifySchema(Schema):
    valid = fields.Boolean()
    events = fields.Integer()
    first_bad_seq = fields.Integer()


def _flatten(messages: Any, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``{"field.sub": "first message"}``."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "body" if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            if isinstance(value, dict) and set(value) <= {"key", "value"}:
                value = value.get("value") or value.get("key")
            flat.update(_flatten(value, name))
    elif isinstance(messages, list) and messages:
        if all(isinstance(item, str) for item in messages):
            flat[prefix] = messages[0]
        else:
            for item in messages:
                flat.update(_flatten(item, prefix))
    elif isinstance(messages, str):
        flat[prefix] = messages
    return flat


def load(schema: Schema, data: Any) -> dict[str, Any]:
    """``data`` validated by ``schema``, or a 400 problem naming every bad field."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise invalid(_flatten(exc.messages)) from None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 problem."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid({"body": "Not valid JSON."}) from None
    if not isinstance(body, dict):
        raise invalid({"body": "Must be a JSON object."})
    return body


def parse_idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header, or a 400 problem when it is not 1-255 printable ASCII characters."""
    if value is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise invalid({"Idempotency-Key": "Must be 1 to 255 printable ASCII characters."})
    return value
