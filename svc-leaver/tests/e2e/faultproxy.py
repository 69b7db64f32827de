"""A small real HTTP proxy in front of one vendor service that fails on purpose.

It plays the part of the gateway's fault injection (``POST /_gateway/faults``):
the same actions (``unavailable``, ``bad_gateway``, ``rate_limited`` with
``Retry-After``, ``timeout``), the same ``when`` (``before``: the request never
reaches the service; ``after``: it completes there and its answer is lost),
and ``times``. Refusals are in the vendor's own envelope (its dialect), so the
client under test sees exactly what the gateway would send. A test written
against ``FaultProxy.fault(...)`` can move to the gateway's faults by
creating the same fault through ``/_gateway/faults`` instead.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from vendorkit.dialects import Refusal, get_dialect
from vendorkit.testing import free_port

# Each vendor's answer to a request whose session expired (not a gateway fault: the vendor's own).
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
class Fault:
    action: str  # unavailable | bad_gateway | rate_limited | timeout | delay | expired
    methods: tuple[str, ...] | None = None
    path: str | None = None
    when: str = "before"
    times: int | None = None
    retry_after: int | None = None
    delay_ms: int | None = None
    hits: int = 0

    def matches(self, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.methods and request.method not in self.methods:
            return False
        return self.path is None or request.path.startswith(self.path)


@dataclass
class FaultProxy:
    """Forwards to ``upstream``; answers with the first matching fault instead when one applies."""

    upstream: str
    dialect: str
    port: int = field(default_factory=free_port)
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, int | None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fault(self, action: str, **fields) -> Fault:
        """Add a fault (fields as in ``POST /_gateway/faults``)."""
        if "methods" in fields and fields["methods"] is not None:
            fields["methods"] = tuple(fields["methods"])
        created = Fault(action, **fields)
        with self.lock:
            self.faults.append(created)
        return created

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.log.clear()

    def _take(self, request: Request) -> Fault | None:
        with self.lock:
            for candidate in self.faults:
                if candidate.matches(request):
                    candidate.hits += 1
                    return candidate
        return None

    def _refusal(self, fault: Fault) -> Response:
        dialect = get_dialect(self.dialect)
        if fault.action == "expired":
            return Response(SESSION_EXPIRED[self.dialect], status=401, content_type="application/json")
        if fault.action == "rate_limited":
            response = dialect.refusal(Refusal.RATE_LIMITED, client_ip="127.0.0.1")
            response.headers["Retry-After"] = str(fault.retry_after if fault.retry_after is not None else 1)
            return response
        if fault.action == "bad_gateway":
            return dialect.generic_error(502, "Bad gateway")
        if fault.action == "timeout":
            time.sleep((fault.delay_ms or 0) / 1000)
            return dialect.generic_error(504, "Gateway timeout")
        return dialect.generic_error(503, "Service unavailable")

    def _forward(self, request: Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        with httpx.Client(timeout=30) as client:
            return client.request(
                request.method,
                self.upstream + request.full_path.rstrip("?"),
                headers=headers,
                content=request.get_data(),
            )

    def __call__(self, environ, start_response):
        request = Request(environ)
        fault = self._take(request)
        if fault is not None and fault.action == "delay":
            time.sleep((fault.delay_ms or 0) / 1000)
            fault = None
        if fault is not None and fault.when == "before":
            self.log.append((request.method, request.path, None))
            return self._refusal(fault)(environ, start_response)
        upstream = self._forward(request)
        self.log.append((request.method, request.path, upstream.status_code))
        if fault is not None:  # when == "after": the write happened, its answer is lost
            return self._refusal(fault)(environ, start_response)
        headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        return Response(upstream.content, status=upstream.status_code, headers=headers)(
            environ, start_response
        )

    def start(self) -> FaultProxy:
        self.server = make_server("127.0.0.1", self.port, self, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
