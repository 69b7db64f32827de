"""Gateway test support: a real echoing upstream, werkzeug's test client with a chosen peer address,
and what the gateway answers a refused client in every dialect."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from vendorkit.testing import free_port

# What the gateway answers, in each route's dialect, a client whose address is denied
# (192.0.2.1) and one over its rate limit (127.0.0.9, the test clients' peer address).
REFUSALS = {
    "grommunio": {
        "ip_denied": (403, {"message": "Access denied: IP address not allowed"}),
        "rate_limited": (429, {"message": "Too many requests"}),
    },
    "dnl": {
        "ip_denied": (
            403,
            {
                "error_type": "forbidden_error",
                "success": False,
                "error": {"message": "IP address not allowed", "code": 403, "reason": "ip_not_allowed"},
            },
        ),
        "rate_limited": (
            429,
            {
                "error_type": "rate_limit_error",
                "success": False,
                "error": {"message": "Rate limit exceeded", "code": 429, "reason": "rate_limit_exceeded"},
            },
        ),
    },
    "commvault": {
        "ip_denied": (403, {"errorCode": 5, "errorMessage": "Access denied"}),
        "rate_limited": (429, {"errorCode": 429, "errorMessage": "Too many requests"}),
    },
    "wso2": {
        "ip_denied": (403, {"statusCode": 403, "messageFromServer": "Access denied: IP address not allowed"}),
        "rate_limited": (429, {"statusCode": 429, "messageFromServer": "Too many requests"}),
    },
    "aktion": {
        "ip_denied": (
            401,
            {
                "Result": {
                    "Message": "Ip filter violated for ip client address [192.0.2.1]",
                    "Code": 1006,
                    "ModelStateErr": None,
                },
                "Request": None,
            },
        ),
        "rate_limited": (
            401,
            {
                "Result": {
                    "Message": "Request rate policy violated for [127.0.0.9]",
                    "Code": 1008,
                    "ModelStateErr": None,
                },
                "Request": None,
            },
        ),
    },
}

# Faults ``POST /_gateway/faults`` refuses with a 400, and the field its message names first.
BAD_FAULTS = [
    ({"action": "reset"}, "route"),
    ({"route": "nope", "action": "reset"}, "route"),
    ({"route": "wipe"}, "action"),
    ({"route": "wipe", "action": "explode"}, "action"),
    ({"route": "wipe", "action": "delay"}, "delay_ms"),
    ({"route": "wipe", "action": "delay", "delay_ms": 0}, "delay_ms"),
    ({"route": "wipe", "action": "delay", "delay_ms": 60001}, "delay_ms"),
    ({"route": "wipe", "action": "timeout", "delay_ms": 60001}, "delay_ms"),
    ({"route": "wipe", "action": "delay", "delay_ms": 5, "when": "after"}, "when"),
    ({"route": "wipe", "action": "reset", "when": "during"}, "when"),
    ({"route": "wipe", "action": "reset", "probability": 0}, "probability"),
    ({"route": "wipe", "action": "reset", "probability": 1.5}, "probability"),
    ({"route": "wipe", "action": "reset", "times": 0}, "times"),
    ({"route": "wipe", "action": "reset", "seed": "x"}, "seed"),
    ({"route": "wipe", "action": "reset", "methods": ["FETCH"]}, "methods"),
    ({"route": "wipe", "action": "reset", "path": "api"}, "path"),
    ({"route": "wipe", "action": "reset", "colour": "red"}, "colour"),
]


@Request.application
def echo_app(request: Request) -> Response:
    """Echo the request; ``/slow?seconds=n`` waits first, ``/readyz`` is ready."""
    if request.path.endswith("/slow"):
        time.sleep(float(request.args.get("seconds", "1")))
    if request.path == "/readyz":
        return Response('{"status": "ready"}', content_type="application/json")
    if request.path.endswith("/hop"):
        # Hop-by-hop headers, one of them named by Connection, that must not pass the gateway.
        response = Response("hop", headers={"Connection": "close, X-Secret-Hop", "X-Secret-Hop": "1"})
        response.headers["Keep-Alive"] = "timeout=5"
        response.headers["Proxy-Authenticate"] = "Basic"
        return response
    if request.path == "/openapi.json":
        return Response('{"openapi": "3.0.3", "info": {"title": "echo"}}', content_type="application/json")
    body = {
        "server": request.environ["SERVER_NAME"] + ":" + str(request.environ["SERVER_PORT"]),
        "method": request.method,
        "path": request.path,
        "raw_uri": request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI"),
        "query": request.query_string.decode(),
        "headers": {k: v for k, v in request.headers.items()},
        "body": request.get_data(as_text=True),
    }
    response = Response(json.dumps(body), content_type="application/json")
    response.headers["X-Upstream"] = "echo"
    response.headers["Keep-Alive"] = "timeout=5"
    return response


@contextmanager
def serve(host: str = "127.0.0.1", port: int | None = None, app=echo_app):
    """Run ``app`` on ``host:port`` in a thread for the duration of the block."""
    server = make_server(host, port or free_port(host), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host if ':' not in host else f'[{host}]'}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class PeerClient(Client):
    """A test client whose requests come from ``peer`` unless a call sets REMOTE_ADDR itself."""

    def __init__(self, application, peer: str):
        super().__init__(application)
        self.peer = peer

    def open(self, *args, **kwargs):
        environ_base = kwargs.setdefault("environ_base", {})
        environ_base.setdefault("REMOTE_ADDR", self.peer)
        return super().open(*args, **kwargs)


def route(name="wipe", prefixes=("/api/v1/",), dialect="grommunio", upstreams=(), **extra):
    """A route mapping as it would appear in the YAML file."""
    return {
        "name": name,
        "prefixes": list(prefixes),
        "dialect": dialect,
        "upstreams": list(upstreams),
        **extra,
    }


def counting(app):
    """Wrap a WSGI app so that ``wrapped.hits`` counts the requests it received."""

    def wrapped(environ, start_response):
        wrapped.hits += 1
        return app(environ, start_response)

    wrapped.hits = 0
    return wrapped
