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
    """An OpenAPI 3.0 schema that ``value`` (a JSON document) and documents of its shape fit."""
    if value is None:
        return {"nullable": True, "enum": [None]}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
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


def _any_of(schemas: list[Any]) -> Any:
    """One schema admitting each of ``schemas`` (anyOf: a body may fit more than one)."""
    distinct = list({json.dumps(s, sort_keys=True, default=repr): s for s in schemas}.values())
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def gateway_responses(dialect: Dialect) -> dict[int, dict[str, Any]]:
    """OpenAPI response objects, by status, of everything the gateway may answer in ``dialect``."""
    key = (type(dialect), dialect.name)
    if key not in _ANSWERS:
        _ANSWERS[key] = _derive_gateway_responses(dialect)
    return copy.deepcopy(_ANSWERS[key])


# The answers of each dialect class, derived once per process.
_ANSWERS: dict[tuple[type, str], dict[int, dict[str, Any]]] = {}


def _derive_gateway_responses(dialect: Dialect) -> dict[int, dict[str, Any]]:
    rate_limited = dialect.refusal(Refusal.RATE_LIMITED, _sample_request(None)).status_code
    reasons: dict[int, list[str]] = {}
    bodies: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for reason, response in _renderings(dialect):
        status = response.status_code
        if reason not in reasons.setdefault(status, []):
            reasons[status].append(reason)
        media = _media_type(response)
        if media.endswith("json"):
            schema = schema_of(json.loads(response.get_data()))
        else:
            schema = {"type": "object", "xml": {"name": parse_xml(response.get_data()).tag}}
        bodies.setdefault(status, {}).setdefault(media, []).append(schema)
    answers = {
        status: {
            "description": "Answered by the gateway: " + "; ".join(reasons[status]) + ".",
            "content": {media: {"schema": _any_of(found)} for media, found in bodies[status].items()},
        }
        for status in sorted(reasons)
    }
    answers[rate_limited]["headers"] = {
        "Retry-After": {
            "description": "Seconds until the rate limit admits the client again (rate-limit refusals)",
            "schema": {"type": "integer", "minimum": 0},
        }
    }
    return answers


def add_gateway_responses(responses: dict[Any, Any], dialect: Dialect) -> dict[Any, Any]:
    """``responses`` (an operation's, by status) with the gateway's answers added.

    A status the operation documents already keeps its description and body,
    and admits the gateway's body as an alternative.
    """
    for status, answer in gateway_responses(dialect).items():
        key = next((k for k in responses if str(k) == str(status)), None)
        if key is None:
            responses[status] = answer
            continue
        own = responses[key]
        own["description"] = f"{own.get('description', '')} {answer['description']}".strip()
        if "headers" in answer:
            own.setdefault("headers", {}).update(answer["headers"])
        content = own.setdefault("content", {})
        for media, entry in answer["content"].items():
            if media in content:
                content[media] = {"schema": _any_of([content[media].get("schema", {}), entry["schema"]])}
            else:
                content[media] = entry
    return responses


class GatewayAnswers(BasePlugin):
    """apispec plugin: every operation of the document also lists the gateway's answers in ``dialect``."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect

    def operation_helper(self, path=None, operations=None, **kwargs):
        """Add the gateway's answers to each operation of ``path``."""
        for operation in (operations or {}).values():
            add_gateway_responses(operation.setdefault("responses", {}), self.dialect)
