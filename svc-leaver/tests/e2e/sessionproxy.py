"""A small real HTTP proxy in front of one vendor service that refuses sessions on purpose.

The gateway's fault injection answers for the gateway (503, 502, 504, its
rate limit, a reset or a lost answer); it cannot make a vendor refuse a
session, which is the vendor's own answer in its own words. This proxy does
only that: for the requests a refusal matches it answers the vendor's
"session expired" document; everything else it forwards unchanged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from vendorkit.testing import free_port

# Each vendor's answer to a request whose session expired.
SESSION_EXPIRED = {
    "grommunio": '{"message": "Access denied", "error": "Token has expired"}',
    "dnl": '{"error_type": "unauthenticated_error", "success": false, "error": '
    '{"message": "X-Auth-Token has expired", "code": 112, "reason": "auth_token_expired"}}',
    "commvault": '{"errorCode": 5, "errorMessage": "Access denied"}',
    "wso2": '{"statusCode": 401, "messageFromServer": "Failed to authorize incoming request"}',
    "aktion": '{"Result": {"Message": "Token 00000000-0000-0000-0000-000000000000 already expired", '
    '"Code": 1001, "ModelStateErr": null}, "Request": null}',
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


@dataclass
class Refusal:
    """Refuse the session of the next ``times`` requests with one of ``methods`` under ``path``."""

    methods: tuple[str, ...]
    path: str
    times: int
    hits: int = 0

    def matches(self, request: Request) -> bool:
        return (
            self.hits < self.times and request.method in self.methods and request.path.startswith(self.path)
        )


@dataclass
class SessionProxy:
    """Forwards to ``upstream``; answers the vendor's expired-session refusal where a refusal applies."""

    upstream: str
    vendor: str
    port: int = field(default_factory=free_port)
    refusals: list[Refusal] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def refuse(self, *, methods: list[str], path: str, times: int = 1) -> None:
        """Refuse the session of the next ``times`` matching requests."""
        with self.lock:
            self.refusals.append(Refusal(tuple(methods), path, times))

    def clear(self) -> None:
        with self.lock:
            self.refusals.clear()

    def _refused(self, request: Request) -> bool:
        with self.lock:
            for refusal in self.refusals:
                if refusal.matches(request):
                    refusal.hits += 1
                    return True
        return False

    def __call__(self, environ, start_response):
        request = Request(environ)
        if self._refused(request):
            expired = Response(SESSION_EXPIRED[self.vendor], status=401, content_type="application/json")
            return expired(environ, start_response)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        with httpx.Client(timeout=30) as client:
            upstream = client.request(
                request.method,
                self.upstream + request.full_path.rstrip("?"),
                headers=headers,
                content=request.get_data(),
            )
        passed = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=passed)(
            environ, start_response
        )

    def start(self) -> SessionProxy:
        self.server = make_server("127.0.0.1", self.port, self, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
