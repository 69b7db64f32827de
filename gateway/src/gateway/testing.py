"""Driving a Gateway in process, for tests: its event loop in a thread, and a WSGI face for werkzeug's test client.

The WSGI face turns each request into the GatewayRequest the HTTP layer would
have read and runs ``Gateway.respond`` on the loop, so tests exercise the same
policy code as the server does, with any peer address they choose.
"""

from __future__ import annotations

import asyncio
import threading
import urllib.parse

from gateway.app import Gateway, GatewayRequest, reason_phrase


class GatewayLoop:
    """An event loop in a thread, where the gateways under test run as they do in the server."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 60):
        """Run ``coroutine`` on the loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self):
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def request_from_environ(environ, max_body_bytes: int) -> GatewayRequest:
    """The request the gateway's HTTP layer would have read, from a WSGI environ."""
    target = environ.get("REQUEST_URI") or urllib.parse.quote(environ.get("PATH_INFO", "") or "/")
    if environ.get("QUERY_STRING") and "?" not in target:
        target += "?" + environ["QUERY_STRING"]
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").title(), value))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    return GatewayRequest(
        environ["REQUEST_METHOD"],
        target,
        headers,
        environ.get("REMOTE_ADDR", ""),
        body=None if len(body) > max_body_bytes else body,
        scheme=environ.get("wsgi.url_scheme", "http"),
    )


class InProcessGateway:
    """A WSGI face on a Gateway, so that werkzeug's test client drives ``Gateway.respond`` on the loop."""

    def __init__(self, gateway: Gateway, loop: GatewayLoop):
        self.gateway = gateway
        self.loop = loop

    def __call__(self, environ, start_response):
        request = request_from_environ(environ, self.gateway.config.max_body_bytes)
        reply = self.loop.run(self.gateway.respond(request))
        if reply.abort:
            raise ConnectionResetError("the gateway closed the connection without answering (a reset fault)")
        start_response(f"{reply.status} {reply.reason or reason_phrase(reply.status)}", reply.headers)
        return [reply.body]
