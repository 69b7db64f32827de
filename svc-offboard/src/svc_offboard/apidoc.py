"""The OpenAPI description of an operation, derived from its caller and the body it reads.

Every status an operation can answer is listed with its body in Commvault's
envelopes: 200 (the success shape, or the business failure it may carry), 406,
401 and 403 as its caller requires, 404 for ids that are not numbers, 400, 413
and 415 where a body is read, and 500.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema

from svc_offboard import schemas, wire
from svc_offboard.auth import Policy

GENERIC = schemas.GenericRespSchema


def _envelope(description: str, xml_root: str = wire.GENERIC_ROOT) -> dict[str, Any]:
    return _content(description, GENERIC, xml_root)


def _content(description: str, schema: Any, xml_root: str) -> dict[str, Any]:
    """A response (or request body) in JSON and in XML under ``xml_root``."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": schema},
            "application/xml": {"schema": _xml(schema, xml_root)},
        },
    }


def _xml(schema: Any, root: str) -> dict[str, Any]:
    """``schema`` as the XML document rooted at ``root``."""
    return {"allOf": [schema], "xml": {"name": root}}


def operation(
    success: type[Schema],
    xml_root: str,
    *,
    caller: Policy,
    failure: type[Schema] | None = None,
    success_description: str | None = None,
    body: type[schemas.RequestBody] | None = None,
    formats: tuple[str, ...] = wire.JSON,
    path_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The OpenAPI operation of a view: security, parameters, body and every status it answers.

    ``failure`` is the other shape a 200 may carry (a business failure, or an alternative listing).
    """
    if failure is None:
        ok = _content("Success", success, xml_root)
    else:
        # A failure in the generic envelope has the generic root in XML.
        failure_root = wire.GENERIC_ROOT if failure is GENERIC else xml_root
        ok = {
            "description": success_description or "Success, or a business failure (errorCode 2)",
            "content": {
                "application/json": {"schema": {"oneOf": [success, failure]}},
                "application/xml": {
                    "schema": {"oneOf": [_xml(success, xml_root), _xml(failure, failure_root)]}
                },
            },
        }
    responses: dict[Any, Any] = {
        200: ok,
        406: {
            "description": "Accept names neither JSON nor XML (always JSON)",
            "content": {"application/json": {"schema": GENERIC}},
        },
        500: _envelope("Internal server error, or the database is unavailable"),
    }
    if caller.token_required:
        responses[401] = _envelope("`Authtoken` missing, unknown, expired or logged out (errorCode 5)")
    if caller.master_only:
        responses[403] = _envelope("The caller is not a master administrator (errorCode 5)")
    if path_ids:
        responses[404] = _envelope("Unknown path: an id that is not a number")
    doc: dict[str, Any] = {
        "responses": responses,
        "security": [{"Authtoken": []}] if caller.token_required else [],
    }
    if body is not None:
        accepts_xml = any(media_type in wire.XML_TYPES for media_type in formats)
        content: dict[str, Any] = {"application/json": {"schema": body}}
        if accepts_xml:
            content["application/xml"] = {"schema": _xml(body, body.xml_root or "Request")}
            content["text/xml"] = {"schema": _xml(body, body.xml_root or "Request")}
        doc["requestBody"] = {"required": False, "content": content}
        responses[400] = _envelope("Malformed JSON or XML, or a DOCTYPE")
        responses[413] = _envelope("Body over MAX_BODY_BYTES (64 KiB by default)")
        responses[415] = _envelope("Content-type other than JSON" + (" or XML" if accepts_xml else ""))
    return doc
