"""The gateway's own answers, described once per dialect for every service's OpenAPI document.

Whatever operation a client calls, the gateway in front of the service may
answer first: a malformed or slow request, an address its IP filter refuses,
a rate limit, a body over the route's limit, a service it cannot reach. Each
answer is in the route's dialect, so each service's document lists them with
the service's own responses. The schemas are derived from what the dialect
really renders (every refusal kind, in JSON and, where the vendor speaks it,
XML), so the description cannot drift from the envelopes.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from apispec import BasePlugin
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from vendorkit.dialects import Dialect, Refusal
from vendorkit.xmlsafe import parse_xml

# The refusals of the gateway's policy, and why each is answered.
POLICY_REFUSALS = {
    Refusal.IP_DENIED: "the client's address is refused by the route's IP filter",
    Refusal.RATE_LIMITED: "the client exceeded the route's rate limit (Retry-After says when to retry)",
    Refusal.BODY_TOO_LARGE: "the body exceeds the route's size limit",
    Refusal.STORAGE_UNAVAILABLE: "the gateway's rate-limit storage is unavailable",
    Refusal.UPSTREAM_UNAVAILABLE: "the service cannot be reached",
    Refusal.UPSTREAM_TIMEOUT: "the service did not answer in time",
}
# The refusals of the gateway's HTTP layer, by status.
HTTP_REFUSALS = {
    400: "the request line or headers are malformed",
    408: "the headers or the body arrived too slowly",
    414: "the request target is too long",
    431: "the request headers are too large or too many",
    503: "the service is unavailable (an injected fault, or no replica is healthy)",
}
XML_ACCEPT = "application/xml"
# The title of every schema of a gateway answer, which tells it from the service's own.
GATEWAY_TITLE = "Answered by the gateway"


def _sample_request(accept: str | None) -> Request:
    headers = {"Accept": accept} if accept else {}
    return Request(EnvironBuilder(method="GET", path="/", headers=headers).get_environ())


def _renderings(dialect: Dialect) -> list[tuple[str, Response]]:
    """Every answer of the gateway in ``dialect``, as JSON and as XML, with why it is given."""
    rendered = []
    for accept in (None, XML_ACCEPT):
        request = _sample_request(accept)
        for kind, reason in POLICY_REFUSALS.items():
            response = dialect.refusal(kind, request, client_ip="203.0.113.7", method="GET")
            rendered.append((reason, response))
        for status, reason in HTTP_REFUSALS.items():
            rendered.append((reason, dialect.generic_error(status, reason.capitalize(), request)))
    return rendered


def schema_of(value: Any) -> dict[str, Any]:
    """An OpenAPI 3.0 schema of ``value`` (a JSON document): its shape, its numbers and flags, any text."""
    if value is None:
        return {"nullable": True, "enum": [None]}
    # Codes and flags are fixed per refusal: the schema names the values the gateway sends.
    if isinstance(value, bool):
        return {"type": "boolean", "enum": [value]}
    if isinstance(value, int):
        return {"type": "integer", "enum": [value]}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": schema_of(value[0]) if value else {}}
    return {
        "type": "object",
        "properties": {key: schema_of(item) for key, item in value.items()},
        "required": list(value),
    }


def _media_type(response: Response) -> str:
    return (response.content_type or "").split(";", 1)[0].strip().lower()


def _alternatives(schema: Any) -> list[Any]:
    if isinstance(schema, dict) and list(schema) == ["anyOf"]:
        return schema["anyOf"]
    return [schema]


def _any_of(schemas: list[Any]) -> Any:
    """One schema admitting each of ``schemas`` (anyOf: a body may fit more than one)."""
    flat = [part for schema in schemas for part in (_alternatives(schema))]
    distinct = list({json.dumps(s, sort_keys=True, default=repr): s for s in flat}.values())
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def gateway_responses(dialect: Dialect) -> dict[int, dict[str, Any]]:
    """OpenAPI response objects, by status, of everything the gateway may answer in ``dialect``."""
    return copy.deepcopy(_answers(dialect).responses)


@dataclass(frozen=True)
class _Answers:
    """A dialect's gateway answers: their response objects, and the bodies they were derived from."""

    responses: dict[int, dict[str, Any]]
    samples: dict[int, dict[str, list[Any]]]  # status -> media type -> JSON documents or XML root names


# The answers of each dialect class, derived once per process.
_ANSWERS: dict[tuple[type, str], _Answers] = {}


def _answers(dialect: Dialect) -> _Answers:
    key = (type(dialect), dialect.name)
    if key not in _ANSWERS:
        _ANSWERS[key] = _derive(dialect)
    return _ANSWERS[key]


def _derive(dialect: Dialect) -> _Answers:
    rate_limited = dialect.refusal(Refusal.RATE_LIMITED, _sample_request(None)).status_code
    reasons: dict[int, list[str]] = {}
    samples: dict[int, dict[str, list[Any]]] = {}
    for reason, response in _renderings(dialect):
        status = response.status_code
        if reason not in reasons.setdefault(status, []):
            reasons[status].append(reason)
        media = _media_type(response)
        body = response.get_data()
        sample = json.loads(body) if media.endswith("json") else parse_xml(body).tag
        samples.setdefault(status, {}).setdefault(media, []).append(sample)
    responses = {
        status: {
            "description": "Answered by the gateway: " + "; ".join(reasons[status]) + ".",
            "content": {
                media: {"schema": _any_of([_schema_of_sample(media, sample) for sample in found])}
                for media, found in samples[status].items()
            },
        }
        for status in sorted(reasons)
    }
    responses[rate_limited]["headers"] = {
        "Retry-After": {
            "description": "Seconds until the rate limit admits the client again (rate-limit refusals)",
            "schema": {"type": "integer", "minimum": 0},
        }
    }
    return _Answers(responses, samples)


def _schema_of_sample(media: str, sample: Any) -> dict[str, Any]:
    schema = schema_of(sample) if media.endswith("json") else {"type": "object", "xml": {"name": sample}}
    return {"title": GATEWAY_TITLE, **schema}


def is_gateway_schema(schema: Any) -> bool:
    """Whether ``schema`` describes one of the gateway's answers (not the service's own)."""
    return isinstance(schema, dict) and schema.get("title") == GATEWAY_TITLE


def _xml_roots(schema: Any) -> set[str]:
    """The XML root names a (possibly composed) schema documents."""
    if not isinstance(schema, dict):
        return set()
    roots = {schema["xml"]["name"]} if "name" in schema.get("xml", {}) else set()
    for composition in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(composition, []):
            roots |= _xml_roots(part)
    return roots


def _admits(schema: Any, media: str, samples: list[Any], components: dict[str, Any] | None) -> bool:
    """Whether the operation's own ``schema`` already admits every one of the gateway's bodies."""
    if not media.endswith("json"):
        return set(samples) <= _xml_roots(schema)
    if components is None or not isinstance(schema, dict):
        return False
    import jsonschema  # only while a document is built: the services never load it otherwise

    validator = jsonschema.Draft4Validator(_as_draft4({**schema, "components": components}))
    return all(validator.is_valid(sample) for sample in samples)


def _as_draft4(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema draft 4: ``nullable`` becomes a "null" type (and enum value)."""
    if isinstance(schema, list):
        return [_as_draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _as_draft4(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
    return converted


def add_gateway_responses(
    responses: dict[Any, Any], dialect: Dialect, components: dict[str, Any] | None = None
) -> dict[Any, Any]:
    """``responses`` (an operation's, by status) with the gateway's answers added.

    A status the operation documents already keeps its description and body;
    where that body does not admit the gateway's (``components`` resolve its
    references), it admits the gateway's as an alternative.
    """
    answers = _answers(dialect)
    for status, answer in copy.deepcopy(answers.responses).items():
        key = next((k for k in responses if str(k) == str(status)), None)
        if key is None:
            responses[status] = answer
            continue
        own = responses[key]
        if "gateway" not in own.get("description", "").lower():
            own["description"] = f"{own.get('description', '')} {answer['description']}".strip()
        if "headers" in answer:
            own.setdefault("headers", {}).update(answer["headers"])
        content = own.setdefault("content", {})
        for media, entry in answer["content"].items():
            if media not in content:
                content[media] = entry
                continue
            schema = content[media].get("schema", {})
            if not _admits(schema, media, answers.samples[status][media], components):
                content[media] = {**content[media], "schema": _any_of([schema, entry["schema"]])}
    return responses


class GatewayAnswers(BasePlugin):
    """apispec plugin: every operation of the document also lists the gateway's answers in ``dialect``."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self.spec = None

    def init_spec(self, spec):
        """Keep the spec: its components resolve the references of the operations' own schemas."""
        super().init_spec(spec)
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the gateway's answers to each operation of ``path``."""
        components = self.spec.components.to_dict() if self.spec is not None else None
        for operation in (operations or {}).values():
            add_gateway_responses(operation.setdefault("responses", {}), self.dialect, components)
