"""Every view declares who may call it and which bodies it reads; one hook applies that before the view.

A service decorates each view method with ``@declare(caller, formats=...)``.
``caller`` is the service's own word for who may call (its ``auth.py`` gives
it meaning); ``formats`` are the body media types the view reads. The service
then hands ``install`` its checks, one small function per concern, in the
order its vendor refuses in: each receives the routed view's ``Endpoint``
(``None`` when no view matched, so that a vendor may refuse an unknown
caller before an unknown path) and raises the vendor's refusal. ``ROUTED``
places the 404/405 of an unmatched request in that order; when a service
does not place it, it comes first.

``install`` refuses to start an app with an API view that declares nothing:
a new or renamed endpoint cannot silently lose its checks.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

ATTRIBUTE = "vendorkit_endpoint"
UNDECLARED_METHODS = frozenset({"HEAD", "OPTIONS"})  # HEAD follows GET; OPTIONS is never routed to a view

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class Endpoint:
    """What one view requires of its caller and reads of its request."""

    caller: Hashable
    formats: tuple[str, ...] = ()

    def reads(self, media_type: str) -> bool:
        """Whether the view reads a body of ``media_type``."""
        return media_type in self.formats


Check = Callable[[Endpoint | None], None]


class UndeclaredView(RuntimeError):
    """An API view declares neither its caller nor its bodies; the app refuses to start."""


def declare(caller: Hashable, *, formats: Iterable[str] = ()) -> Callable[[View], View]:
    """Declare who may call the decorated view and which body media types it reads."""
    endpoint = Endpoint(caller, tuple(formats))

    def mark(view: View) -> View:
        setattr(view, ATTRIBUTE, endpoint)
        return view

    return mark


def declared(view_function: Callable[..., Any], method: str) -> Endpoint | None:
    """The declaration that answers ``method`` on the view registered as ``view_function``."""
    view_class = getattr(view_function, "view_class", None)
    if view_class is None:
        return getattr(view_function, ATTRIBUTE, None)
    name = method.lower()
    handler = getattr(view_class, name, None)
    if handler is None and name == "head":
        handler = getattr(view_class, "get", None)
    return getattr(handler, ATTRIBUTE, None)


def current() -> Endpoint | None:
    """The declaration of the view the current request was routed to (None when none matched)."""
    if request.routing_exception is not None or request.url_rule is None:
        return None
    return declared(current_app.view_functions[request.url_rule.endpoint], request.method)


def ROUTED(endpoint: Endpoint | None) -> None:
    """Answer an unmatched request here: 404 for an unknown path, 405 for an unknown method."""
    if endpoint is None:
        raise request.routing_exception


def under(path: str, prefixes: Iterable[str], *, case_sensitive: bool = True) -> bool:
    """Whether ``path`` is one of ``prefixes`` or lies below one."""
    if not case_sensitive:
        path = path.lower()
        prefixes = [prefix.lower() for prefix in prefixes]
    return any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in prefixes)


def undeclared(app: Flask, blueprints: Iterable[str]) -> list[str]:
    """``METHOD endpoint`` of every view of ``blueprints`` that declares nothing."""
    names = tuple(blueprints)
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.partition(".")[0] not in names:
            continue
        view_function = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - UNDECLARED_METHODS):
            if declared(view_function, method) is None:
                missing.append(f"{method} {rule.endpoint}")
    return missing


def install(
    app: Flask,
    *checks: Check,
    blueprints: Iterable[str],
    prefixes: Iterable[str],
    case_sensitive: bool = True,
) -> None:
    """Run ``checks`` in order before every declared view, and before an unmatched request under ``prefixes``.

    Views of ``blueprints`` that declare nothing stop the app here. The routed
    view's declaration is left in ``g.endpoint`` for the view.
    """
    missing = undeclared(app, blueprints)
    if missing:
        raise UndeclaredView(
            "these views declare no caller (vendorkit.endpoints.declare): " + ", ".join(missing)
        )
    ordered = checks if ROUTED in checks else (ROUTED, *checks)
    prefixes = tuple(prefixes)

    @app.before_request
    def _check_declared():
        endpoint = current()
        if request.routing_exception is None:
            if endpoint is None:
                return  # a view of the app's own (health, admin, the document), not the API's
        elif not under(request.path, prefixes, case_sensitive=case_sensitive):
            return  # an unknown path outside the API: the app's plain 404
        g.endpoint = endpoint
        for check in ordered:
            check(endpoint)
        if endpoint is None:  # every check passed an unmatched request: it is still a 404/405
            raise request.routing_exception
