"""The OpenAPI description of an operation, derived from its caller and the body it reads.

Every status an operation can answer is listed with its body in Commvault's
envelopes: 200 (the success shape, or the business failure it may carry), 406,
401 and 403 as its caller requires, 404 for ids that are not numbers, 400, 413
and 415 where a body is read, and 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import Schema

from svc_offboard import schemas, wire
from svc_offboard.auth import Policy
from vendorkit import endpoints
from vendorkit.apidoc import (
    declared_arguments,
    declared_success,
    without_declared_responses,
    without_validation_response,
)

GENERIC = schemas.GenericRespSchema
View = TypeVar("View", bound=Callable[..., Any])


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
    *,
    failure: type[Schema] | None = None,
    success_description: str | None = None,
    path_ids: tuple[str, ...] = (),
) -> Callable[[View], View]:
    """Document a view's operation: security, parameters, body and every status it answers.

    Applied above the view's other decorators, it reads what they declare: the caller
    and body formats (``@declare``), the body schema (``@blp.arguments``), the
    success schema (``@blp.response``) and the XML root of its answers
    (``@wire.answers``). ``failure`` is the other shape a 200 may carry (a business
    failure, or an alternative listing); ``path_ids`` name the path's ids.
    """

    def document(view: View) -> View:
        endpoint: endpoints.Endpoint = getattr(view, endpoints.ATTRIBUTE)
        caller: Policy = endpoint.caller
        success = _success_schema(view)
        responses: dict[Any, Any] = {
            200: _success(success, failure, wire.xml_root_of(view), success_description),
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
        body = _body_schema(view)
        if body is not None:
            xml_body = _xml(body, body.xml_root or "Request")
            content = {
                media_type: {"schema": xml_body if media_type in wire.XML_TYPES else body}
                for media_type in endpoint.formats
            }
            doc["requestBody"] = {"required": False, "content": content}
            accepts_xml = any(media_type in wire.XML_TYPES for media_type in endpoint.formats)
            responses[400] = _envelope("Malformed JSON or XML, or a DOCTYPE")
            responses[413] = _envelope("Body over MAX_BODY_BYTES (64 KiB by default)")
            responses[415] = _envelope("Content-type other than JSON" + (" or XML" if accepts_xml else ""))
        documented = Blueprint.doc(**doc)(view)
        # A refused field is a business failure on 200, documented there: no validation status.
        without_validation_response(documented)
        # The success is documented above, in JSON and in XML.
        without_declared_responses(documented)
        return documented

    return document


def _success(
    success: Schema, failure: type[Schema] | None, xml_root: str, description: str | None
) -> dict[str, Any]:
    """The 200 response: the success shape, or either of it and ``failure``."""
    if failure is None:
        return _content("Success", success, xml_root)
    # A failure in the generic envelope has the generic root in XML.
    failure_root = wire.GENERIC_ROOT if failure is GENERIC else xml_root
    return {
        "description": description or "Success, or a business failure (errorCode 2)",
        "content": {
            "application/json": {"schema": {"oneOf": [success, failure]}},
            "application/xml": {"schema": {"oneOf": [_xml(success, xml_root), _xml(failure, failure_root)]}},
        },
    }


def _success_schema(view: Callable[..., Any]) -> Schema:
    """The schema ``@blp.response`` dumps the view's 200 answer with."""
    status, declared = declared_success(view)
    if status != 200:
        raise TypeError(f"{view.__qualname__}: Commvault answers 200, also when it refuses")
    return declared["schema"]


def _body_schema(view: Callable[..., Any]) -> type[schemas.RequestBody] | None:
    """The body schema ``@blp.arguments`` gave the view, if it reads a body."""
    return next(
        (argument["schema"] for argument in declared_arguments(view) if argument["in"] == "json"), None
    )
