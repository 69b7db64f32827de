"""What every service's ``apidoc.operation`` is built from: the view's declaration and the inputs it reads.

Each service documents a view with ``@apidoc.operation(...)``, applied above
the view's ``@declare`` (``vendorkit.endpoints``) and ``@blp.arguments``: the
vendor's own ``operation`` says what its answers look like, and derives
security, the caller's refusals and the input's refusals from the
declaration, so that the document follows from the code that answers.
``documenting`` turns such a description into the decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import Blueprint
from marshmallow import RAISE, Schema

from vendorkit.endpoints import ATTRIBUTE, Endpoint

View = TypeVar("View", bound=Callable[..., Any])
Describe = Callable[[Callable[..., Any], Endpoint], dict[str, Any]]


class Strict(Schema):
    """An answer: the service sends exactly these keys (documented as no others)."""

    class Meta:
        unknown = RAISE


def json_response(description: str, schema: Any, **extra: Any) -> dict[str, Any]:
    """An OpenAPI response whose body is ``schema`` in JSON; ``extra`` adds e.g. its ``headers``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}, **extra}


def declaration(view: Callable[..., Any]) -> Endpoint:
    """What ``view`` declares with ``@declare``; an operation documented without one is a mistake."""
    endpoint = getattr(view, ATTRIBUTE, None)
    if endpoint is None:
        raise TypeError(f"{view.__qualname__}: apidoc.operation goes above the view's @declare")
    return endpoint


def declared_arguments(view: Callable[..., Any]) -> list[dict[str, Any]]:
    """The inputs the ``@blp.arguments`` below ``view`` read, innermost first: ``{"in", "schema", ...}``.

    flask-smorest keeps them with the view, to document them; this is the one
    place that reads that record.
    """
    return getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])


def declared_responses(view: Callable[..., Any]) -> dict[int | str, dict[str, Any]]:
    """What each ``@blp.response`` below ``view`` declares, by status: ``{"schema", "description", ...}``."""
    responses = getattr(view, "_apidoc", {}).get("response", {}).get("responses", {})
    return {status: declared[0] for status, declared in responses.items()}


def declared_success(view: Callable[..., Any]) -> tuple[int | str, dict[str, Any]]:
    """The status and declaration of the view's one ``@blp.response``; a view without one is a mistake."""
    declared = declared_responses(view)
    if len(declared) != 1:
        raise TypeError(f"{view.__qualname__}: apidoc.operation goes above the view's one @blp.response")
    ((status, success),) = declared.items()
    return status, success


def without_declared_responses(view: Callable[..., Any]) -> None:
    """Forget what flask-smorest would document of ``view``'s ``@blp.response``: its operation documents it."""
    getattr(view, "_apidoc", {}).pop("response", None)


def without_validation_response(view: Callable[..., Any]) -> None:
    """Forget the 400 flask-smorest adds for each ``@blp.arguments`` of ``view``.

    It names flask-smorest's own error component, which no service sends: each
    vendor documents its refusal of invalid input in its own envelope, or none.
    """
    getattr(view, "_apidoc", {}).get("arguments", {}).pop("responses", None)


def documenting(describe: Describe) -> Callable[[View], View]:
    """A decorator giving a view the operation ``describe`` derives from it and its declaration.

    ``describe(view, endpoint)`` returns the OpenAPI operation's fields; its
    responses are listed in the order of their statuses. A view without its
    ``@declare`` or its ``@blp.response`` below is refused as the app is built.
    """

    def document(view: View) -> View:
        if not declared_responses(view):
            raise TypeError(f"{view.__qualname__}: apidoc.operation goes above the view's @blp.response")
        doc = describe(view, declaration(view))
        if "responses" in doc:
            doc["responses"] = dict(sorted(doc["responses"].items(), key=lambda item: str(item[0])))
        return Blueprint.doc(**doc)(view)

    return document
