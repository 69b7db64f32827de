"""Request-level helpers for the services: client address and media type."""

from __future__ import annotations

from flask import current_app, g, request

from vendorkit.netaddr import environ_client_address


def client_ip() -> str:
    """The real client's address behind the trusted proxies of ``TRUSTED_PROXIES``."""
    if "client_ip" not in g:
        g.client_ip = environ_client_address(request.environ, current_app.config["TRUSTED_PROXY_NETWORKS"])
    return g.client_ip


def media_type() -> str:
    """The request's Content-Type without parameters, lower-cased ('' when absent)."""
    return (request.mimetype or "").lower()
