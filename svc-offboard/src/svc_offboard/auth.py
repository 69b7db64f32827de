"""Who may call what: the caller each view declares, and the checks every API request passes.

Each view declares its caller, a ``Policy``, with ``vendorkit.endpoints.declare``;
``CHECKS`` applies it before the view, in the order of the product's refusals
(docs/offboard.md section 2): 406 (Accept), 401 (Authtoken), 404/405 (routing),
403 (master administrators only), then the body checks (415, 413, 400).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request

from svc_offboard import errors, services, wire
from vendorkit import db
from vendorkit.dialects import commvault
from vendorkit.endpoints import ROUTED, Endpoint


@dataclass(frozen=True)
class Policy:
    """Who may call an endpoint: anyone, any logged-in user, or master administrators only."""

    token_required: bool = True
    master_only: bool = False


PUBLIC = Policy(token_required=False)
LOGGED_IN = Policy()
MASTER = Policy(master_only=True)


def policy_of(endpoint: Endpoint | None) -> Policy:
    """The routed view's policy; an unmatched request is held to a logged-in caller's (401 before 404)."""
    return LOGGED_IN if endpoint is None else endpoint.caller


def acceptable(_endpoint: Endpoint | None) -> None:
    """406 when the client accepts neither JSON nor XML."""
    if commvault.negotiate(request) is None:
        raise errors.not_acceptable()


def logged_in(endpoint: Endpoint | None) -> None:
    """401 without a live ``Authtoken``; leaves the caller in ``g.user`` and its token's digest in ``g.token_digest``."""
    if not policy_of(endpoint).token_required:
        return
    session = db.session()
    token = services.live_token(session, request.headers.get("Authtoken"))
    if token is None:
        raise errors.access_denied(401)
    if services.idle_clock_is_stale(token):
        # The product restarts a token's idle clock on every authenticated request,
        # whatever its outcome: commit that in a unit of work of its own, so that a later
        # refusal (403, 415, ...) or a business failure that rolls the view's back keeps it.
        with db.unit_of_work() as writer:
            services.restart_idle_clock(writer, token.token_hash)
    g.user, g.token_digest = services.token_user(session, token), token.token_hash


def master(endpoint: Endpoint | None) -> None:
    """403 when the view is for master administrators and the caller is not one."""
    if endpoint is not None and endpoint.caller.master_only and not g.user.is_master:
        raise errors.access_denied(403)


def readable_body(endpoint: Endpoint | None) -> None:
    """415, 413 and 400 for a view that reads a body; leaves its fields in ``g.body``."""
    if endpoint is not None and endpoint.formats:
        g.body = wire.read_body(endpoint)


CHECKS = (acceptable, logged_in, ROUTED, master, readable_body)
