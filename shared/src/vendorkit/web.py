"""Request-level helpers for the services: client address, media type, and how answers are rendered."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from flask.json.provider import DefaultJSONProvider

from vendorkit.dialects import JSON_MIMETYPE, json_response
from vendorkit.netaddr import environ_client_address


def client_ip() -> str:
    """The real client's address behind the trusted proxies of ``TRUSTED_PROXIES``."""
    if "client_ip" not in g:
        g.client_ip = environ_client_address(request.environ, current_app.config["TRUSTED_PROXY_NETWORKS"])
    return g.client_ip


def media_type() -> str:
    """The request's Content-Type without parameters, lower-cased ('' when absent)."""
    return (request.mimetype or "").lower()


class VendorJSON(DefaultJSONProvider):
    """The app's JSON answers (``@blp.response``'s among them) rendered as the dialects render refusals.

    Keys in the order the schema dumps them, ``", "`` and ``": "`` between
    them, no trailing newline: one byte format for a service's answers and its
    refusals. ``mimetype`` is the vendor's (``Dialect.json_mimetype``).
    """

    sort_keys = False
    ensure_ascii = False
    mimetype = JSON_MIMETYPE

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """A 200 whose body is the one object (or the keyword arguments) given."""
        return json_response(200, self._prepare_response_obj(args, kwargs), content_type=self.mimetype)
