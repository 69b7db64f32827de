"""Who may call what, and the checks every request passes before its view.

Each view declares its access policy with ``@allow(...)``; ``check_request``
applies it in the order of the product's refusals: 406 (Accept), 401
(Authtoken), 404/405 (routing), 403 (master administrators only), then the
body checks of bodies.py (415, 413, 400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from svc_offboard import bodies, errors, services
from vendorkit import db
from vendorkit.dialects import commvault

# The product serves one API under both roots.
ROOTS = ("/webconsole/api", "/commandcenter/api")

# Canonical spelling of each path segment: clients send /Login and /login alike.
SEGMENTS = {
    segment.lower(): segment
    for segment in (
        "Login", "Logout", "RenewLoginToken", "WhoAmI", "User", "Offboard", "Security",
        "Client", "Subclient", "CommServ", "VSAClientAndClientGroupList", "v4",
    )
}  # fmt: skip
# The v4 API spells its resources in lower case.
V4_SEGMENTS = {"user": "user"}


@dataclass(frozen=True)
class Policy:
    """What an endpoint requires of its caller and reads of the request."""

    token_required: bool = True
    master_only: bool = False
    reads_body: bool = False
    accepts_xml: bool = False
    xml_root: str | None = None  # a JSON body wrapped in this one key is unwrapped


LOGGED_IN = Policy()
PUBLIC = Policy(token_required=False)
MASTER = Policy(master_only=True)
MASTER_WRITE = Policy(master_only=True, reads_body=True)

View = TypeVar("View", bound=Callable[..., Any])


def allow(policy: Policy) -> Callable[[View], View]:
    """Declare who may call the decorated view and which body it reads."""

    def declare(view: View) -> View:
        view.access_policy = policy
        return view

    return declare


def policy_of_request() -> Policy:
    """The policy the routed view declares (logged-in callers when it declares none)."""
    view_class = getattr(current_app.view_functions[request.url_rule.endpoint], "view_class", None)
    method = request.method.lower()
    handler = getattr(view_class, method, None) or (
        getattr(view_class, "get", None) if method == "head" else None
    )
    return getattr(handler, "access_policy", LOGGED_IN)


def root_of(path: str) -> str | None:
    """The API root ``path`` lies under, if any."""
    lowered = path.lower()
    return next((root for root in ROOTS if lowered == root or lowered.startswith(root + "/")), None)


class CaseInsensitivePaths:
    """WSGI middleware: rewrite the segments of API paths to their canonical case."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        root = root_of(path)
        if root is not None:
            rest = path[len(root) :].split("/")
            vocabulary = V4_SEGMENTS if len(rest) > 1 and rest[1].lower() == "v4" else {}
            rest = [vocabulary.get(s.lower()) or SEGMENTS.get(s.lower(), s) for s in rest]
            environ["PATH_INFO"] = root + "/".join(rest)
        return self.app(environ, start_response)


def install(app: Flask) -> None:
    """Add the path middleware and the ordered checks to ``app``."""
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app)
    app.before_request(check_request)


def check_request() -> None:
    """Refuse what the product refuses, in its order; leave the parsed body in ``g.body``."""
    if root_of(request.path) is None:
        return
    if commvault.negotiate(request) is None:
        raise errors.not_acceptable()
    routed = request.routing_exception is None
    policy = policy_of_request() if routed else LOGGED_IN
    if policy.token_required:
        found = services.authenticate(db.session(), request.headers.get("Authtoken"))
        if found is None:
            raise errors.access_denied(401)
        g.user, g.token_digest = found
    if not routed:
        raise request.routing_exception
    if policy.master_only and not g.user.is_master:
        raise errors.access_denied(403)
    if policy.reads_body:
        g.body = bodies.read_body(accepts_xml=policy.accepts_xml, xml_root=policy.xml_root)
