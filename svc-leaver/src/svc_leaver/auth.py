"""Who calls: the holder of the API's bearer token (``LEAVER_API_TOKEN``), compared in constant time.

Every view declares ``API_CLIENT`` (vendorkit.endpoints); ``CHECKS`` refuses
an unknown path (404) before a missing or wrong token (401).
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from svc_leaver.errors import unauthorized
from vendorkit.endpoints import ROUTED, Endpoint

# The one caller of every endpoint: the automation holding the API token.
API_CLIENT = "api client"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme in any case)."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_token() -> None:
    """401 problem unless the request carries the configured API token."""
    token = bearer_token(request.headers.get("Authorization"))
    expected = current_app.config["LEAVER_API_TOKEN"]
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise unauthorized()


def api_client(_endpoint: Endpoint | None) -> None:
    """401 problem unless the request carries the API token."""
    require_token()


CHECKS = (ROUTED, api_client)
