"""Hold every response a test receives to the OpenAPI document of the service that sent it.

``check_response(openapi, method, path, status, content_type, body)`` fails
(AssertionError, saying why) unless the operation documents that status and
content type and the body fits the documented schema (JSON: validated in full;
XML: the documented root element). A request no operation matches must have
been refused in the generic envelope of ``fallback_schema`` (401, 404, 405, 406).
Every service's tests hook it into their HTTP clients, so a document cannot
drift from the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from vendorkit.dialects.openapi import GATEWAY_TITLE, is_gateway_schema
from vendorkit.testing import HttpResult, http_request
from vendorkit.xmlsafe import parse_xml

UNROUTED_STATUSES = (401, 404, 405, 406)
EXTENSION_KEY = "vendorkit.testing.openapi"
PARAMETER = re.compile(r"\{([^}/]+)\}")
FLASK_PARAMETER = re.compile(r"<(?:[^:>]+:)?(\w+)>")  # <int:user_id> -> {user_id}


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    integer_parameters: tuple[str, ...]


# id(document) -> (document, its routes); the document is kept so that its id stays its own.
_ROUTES: dict[int, tuple[dict[str, Any], tuple[Route, ...]]] = {}


def _routes(openapi: dict[str, Any]) -> tuple[Route, ...]:
    cached = _ROUTES.get(id(openapi))
    if cached is None or cached[0] is not openapi:
        cached = _ROUTES[id(openapi)] = (openapi, _build_routes(openapi["paths"]))
    return cached[1]


def _build_routes(paths: dict[str, Any]) -> tuple[Route, ...]:
    routes = []
    for template, item in paths.items():
        segments = template.split("/")
        pattern = "/".join(
            f"(?P<{m.group(1)}>[^/]+)" if (m := PARAMETER.fullmatch(segment)) else re.escape(segment)
            for segment in segments
        )
        parameters = item.get("parameters", [])
        integer = tuple(
            p["name"]
            for p in parameters
            if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"
        )
        literal = sum(1 for segment in segments if segment and not PARAMETER.fullmatch(segment))
        routes.append(
            Route(template, re.compile(pattern.rstrip("/") + "/?", re.IGNORECASE), literal, integer)
        )
    # Literal segments first: /User/Offboard before /User/{user_id}.
    return tuple(sorted(routes, key=lambda route: -route.literal_segments))


def find_route(openapi: dict[str, Any], path: str) -> str | None:
    """The path template of ``openapi`` that ``path`` matches (case-insensitively), if any."""
    for route in _routes(openapi):
        match = route.pattern.fullmatch(path)
        if match and all(match.group(name).isdigit() for name in route.integer_parameters):
            return route.template
    return None


def check_response(
    openapi: dict[str, Any],
    method: str,
    path: str,
    status: int,
    content_type: str | None,
    body: bytes,
    *,
    fallback_schema: str = "GenericResp",
    fallback_xml_root: str | None = None,
) -> None:
    """AssertionError unless this response is one the document allows for ``method path``."""
    where = f"{method.upper()} {path} -> {status}"
    template = find_route(openapi, path)
    operation = openapi["paths"][template].get(method.lower()) if template else None
    if operation is None:
        assert status in UNROUTED_STATUSES, f"{where}: no documented operation, yet not refused"
        schema = {"$ref": f"#/components/schemas/{fallback_schema}"}
        _check_body(
            openapi,
            where,
            {"application/json": {"schema": schema}},
            content_type,
            body,
            fallback_xml_root=fallback_xml_root,
        )
        return
    responses = operation["responses"]
    documented = responses.get(str(status)) or responses.get("default")
    assert documented is not None, f"{where}: status not documented (documented: {sorted(responses)})"
    _check_body(openapi, where, documented.get("content", {}), content_type, body)


def check_result(
    openapi: dict[str, Any],
    method: str,
    path: str,
    result: HttpResult,
    *,
    fallback_schema: str = "GenericResp",
    fallback_xml_root: str | None = None,
) -> HttpResult:
    """``result`` of ``method path`` (a query string aside), once ``check_response`` allows it.

    HEAD is left out: the servers answer it for every GET, and no vendor documents it.
    """
    if method.upper() != "HEAD":
        check_response(
            openapi,
            method,
            path.split("?", 1)[0],
            result.status,
            result.headers.get("Content-Type"),
            result.body,
            fallback_schema=fallback_schema,
            fallback_xml_root=fallback_xml_root,
        )
    return result


def served_openapi(base_url: str) -> dict[str, Any]:
    """The OpenAPI document the service running at ``base_url`` serves."""
    response = http_request("GET", f"{base_url}/openapi.json", timeout=20)
    assert response.status == 200, response.text
    return response.json()


def _check_body(
    openapi: dict[str, Any],
    where: str,
    content: dict[str, Any],
    content_type: str | None,
    body: bytes,
    *,
    fallback_xml_root: str | None = None,
) -> None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not content:
        assert not body, f"{where}: a body where none is documented"
        return
    if media not in content and fallback_xml_root and media in ("application/xml", "text/xml"):
        _check_xml_root(where, body, fallback_xml_root)
        return
    assert media in content, f"{where}: content type {content_type!r} not documented ({sorted(content)})"
    schema = content[media].get("schema", {})
    if media == "application/json":
        document = json.loads(body)
        validator = OAS30Validator({**schema, "components": openapi.get("components", {})})
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
        assert not errors, (
            f"{where}: body does not fit the schema: {errors[0].message} at {list(errors[0].path)}"
        )
    else:
        alternatives = schema.get("oneOf", [schema])
        roots = [name for option in alternatives if (name := option.get("xml", {}).get("name"))]
        if roots:
            _check_xml_root(where, body, *roots)


def _check_xml_root(where: str, body: bytes, *roots: str) -> None:
    element = parse_xml(body)
    assert element.tag in roots, f"{where}: XML root <{element.tag}>, documented {roots}"


def operations(openapi: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the document by (path template, lower-case method)."""
    return {
        (path, method): operation
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }


def own_responses(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operation's responses as the service itself answers them: the gateway's answers left out.

    A status only the gateway answers is dropped; where the service and the
    gateway share a status, each body keeps the service's schema alone.
    """
    own = {}
    for status, response in operation["responses"].items():
        content = {}
        for media, entry in response.get("content", {}).items():
            schema = entry.get("schema", {})
            alternatives = schema["anyOf"] if list(schema) == ["anyOf"] else [schema]
            kept = [option for option in alternatives if not is_gateway_schema(option)]
            if kept:
                content[media] = {**entry, "schema": kept[0] if len(kept) == 1 else {"anyOf": kept}}
        if not response.get("description", "").startswith(GATEWAY_TITLE):
            own[status] = {**response, "content": content} if response.get("content") else response
    return own


def served_operations(app: Flask, *api_roots: str) -> set[tuple[str, str]]:
    """(path template, lower-case method) of every route ``app`` serves under ``api_roots``, as OpenAPI spells it."""
    return {
        (FLASK_PARAMETER.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(api_roots)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def documented_routes(app: Flask, openapi: dict[str, Any], *api_roots: str) -> set[tuple[str, str]]:
    """The document's operations, once it is valid OpenAPI 3 of exactly the routes ``app`` serves under ``api_roots``."""
    assert openapi["openapi"].startswith("3.")
    validate(openapi)
    documented = set(operations(openapi))
    assert served_operations(app, *api_roots) == documented
    return documented


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document ``app`` serves, fetched once and kept with the app."""
    if EXTENSION_KEY not in app.extensions:
        app.extensions[EXTENSION_KEY] = FlaskClient(app).get("/openapi.json").json
    return app.extensions[EXTENSION_KEY]


def documented_client(
    *api_roots: str, fallback_schema: str = "GenericResp", fallback_xml_root: str | None = None
) -> type[FlaskClient]:
    """A test client class holding every answer under ``api_roots`` (any case) to the app's document.

    HEAD is left out: Flask answers it for every GET, and no vendor documents it.
    """
    roots = tuple(root.lower().rstrip("/") for root in api_roots)

    class DocumentedClient(FlaskClient):
        def open(self, *args, **kwargs):
            response = super().open(*args, **kwargs)
            request = response.request
            path = request.path.lower()
            if request.method != "HEAD" and any(path == r or path.startswith(r + "/") for r in roots):
                check_response(
                    openapi_document(self.application),
                    request.method,
                    request.path,
                    response.status_code,
                    response.headers.get("Content-Type"),
                    response.get_data(),
                    fallback_schema=fallback_schema,
                    fallback_xml_root=fallback_xml_root,
                )
            return response

    return DocumentedClient
