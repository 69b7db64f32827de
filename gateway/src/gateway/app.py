"""The gateway's policy: route, filter, limit, forward, and answer refusals in the vendor's envelope.

``Gateway.respond`` takes one parsed request and returns the complete reply;
it knows nothing of sockets, so the HTTP server (gateway.server) and the
tests' in-process client drive the very same code.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import os
import random
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from werkzeug.wrappers import Request as WerkzeugRequest
from werkzeug.wrappers import Response

from gateway import docs
from gateway.accesslog import AccessLog
from gateway.admin import Emulator, is_admin_path
from gateway.client import ConnectFailed, ConnectionBroken, ReadTimedOut, UpstreamResponse
from gateway.config import GatewayConfig, Override, Route, load_config
from gateway.faults import Fault
from gateway.journal import Record, record_of
from gateway.metrics import Metrics
from gateway.ratelimit import Decision, RateLimiter, StorageUnavailable
from gateway.upstreams import Resolver, UpstreamSet, system_resolver
from vendorkit import logs
from vendorkit.dialects import Dialect, Refusal, get_dialect
from vendorkit.netaddr import client_address, in_networks, parse_address

log = logging.getLogger("gateway")

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade"}
)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Request headers the gateway sets itself (Host, Content-Length) or must not pass on:
# the body is read in full, so an Expect: 100-continue has been answered here.
NOT_FORWARDED = frozenset({"host", "content-length", "expect"})
# Like nginx, the gateway states the Date itself and does not pass on the upstream's Server.
NOT_RETURNED = frozenset({"content-length", "x-request-id", "date", "server"})
# Request headers never passed on as the client sent them: hop-by-hop, set by the
# gateway per attempt, or rewritten by it (X-Forwarded-For, X-Request-ID).
NOT_PASSED_ON = NOT_FORWARDED | HOP_BY_HOP | {"x-forwarded-for", "x-request-id"}
# Response headers not returned: hop-by-hop, or restated by the gateway.
NOT_PASSED_BACK = NOT_RETURNED | HOP_BY_HOP

# What the services' HTTP servers accept (gunicorn's limits: 100 header fields, lines of
# 8,190 bytes; waitress's: 64 KiB of request line and headers in all). A request the
# gateway would forward beyond them is refused here, in JSON, instead.
UPSTREAM_MAX_HEADERS = 100
UPSTREAM_MAX_HEADER_LINE = 8190
UPSTREAM_MAX_REQUEST_LINE = 8190
UPSTREAM_MAX_HEADER_BYTES = 65536
# Room for the request line and the Host and Content-Length lines added per attempt.
ATTEMPT_HEADROOM = UPSTREAM_MAX_REQUEST_LINE + 2 * 300


NO_TOKENS: frozenset[str] = frozenset()


def _connection_tokens(value: str | None) -> frozenset[str]:
    if not value:
        return NO_TOKENS
    return frozenset(t.strip().lower() for t in value.split(",") if t.strip())


# The version (4) and variant (RFC 4122) bits of a random UUID.
VERSION_4_MASK = ~((0xF000 << 64) | (0xC000 << 48))
VERSION_4_BITS = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A random UUID (version 4) for a request that brought no usable id.

    Request ids are correlation handles, not secrets: the process's PRNG is
    enough, and spares a system call per request.
    """
    digits = f"{random.getrandbits(128) & VERSION_4_MASK | VERSION_4_BITS:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def request_id_from(header_value: str | None) -> str:
    """The client's request id if well-formed (1-128 of ``A-Za-z0-9._-``), else a new one."""
    if header_value and logs.REQUEST_ID_PATTERN.fullmatch(header_value):
        return header_value
    return new_request_id()


def reason_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (empty for unknown codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


@dataclass(slots=True)
class GatewayRequest:
    """One request as the HTTP layer read it.

    ``target`` is the request target exactly as sent (path and query);
    ``body`` is None when it exceeded ``max_body_bytes`` (the HTTP layer
    stopped reading it).
    """

    method: str
    target: str
    headers: list[tuple[str, str]]
    peer: str
    body: bytes | None = b""
    scheme: str = "http"
    path: str = ""
    _index: dict[str, str] | None = None
    fault: str | None = None  # the id of the fault applied to this request, once one is picked

    def __post_init__(self) -> None:
        if not self.path:
            raw_path = self.target.split("?", 1)[0]
            self.path = urllib.parse.unquote(raw_path, encoding="latin-1") or "/"

    def header(self, lower_name: str) -> str | None:
        """The value of a header (repeated ones joined by ", "), by its lower-case name."""
        index = self._index
        if index is None:
            index = {}
            for name, value in self.headers:
                lower = name.lower()
                index[lower] = f"{index[lower]}, {value}" if lower in index else value
            self._index = index
        return index.get(lower_name)

    def werkzeug(self) -> WerkzeugRequest:
        """A werkzeug view of this request, for the dialects (they read Accept and the body's type)."""
        environ = {
            "REQUEST_METHOD": self.method,
            "PATH_INFO": self.path,
            "QUERY_STRING": self.target.split("?", 1)[1] if "?" in self.target else "",
            "SERVER_NAME": "gateway",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": self.scheme,
            "wsgi.input": io.BytesIO(b""),
            "REMOTE_ADDR": self.peer,
        }
        for name, value in self.headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[key] = value
            else:
                environ["HTTP_" + key] = value
        return WerkzeugRequest(environ)


# What the access log and the journal say of a request whose client left before the answer (nginx's).
CLIENT_CLOSED_REQUEST = 499


@dataclass(slots=True)
class Reply:
    """What the gateway answers: status, headers (Content-Length included) and the whole body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reason: str = ""
    upstream: str | None = None
    route: str | None = None
    # Why the gateway answered itself (a Refusal's value, or "fault"); None when the service answered.
    refused: str | None = None
    fault: str | None = None  # the id of the fault that applied
    abort: bool = False  # close the connection without answering (a "reset" fault)

    @classmethod
    def of(cls, response: Response) -> Reply:
        """A werkzeug response as a reply."""
        body = response.get_data()
        headers = [(k, v) for k, v in response.headers.to_wsgi_list() if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return cls(response.status_code, headers, body, reason_phrase(response.status_code))


def json_reply(status: int, payload: dict, headers: list[tuple[str, str]] | None = None) -> Reply:
    """A neutral JSON reply (the gateway's own endpoints and refusals outside any route)."""
    body = json.dumps(payload).encode()
    return Reply(
        status,
        [*(headers or []), ("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        body,
    )


@dataclass
class RouteRuntime:
    """A configured route with what it needs at request time."""

    route: Route
    dialect: Dialect
    upstreams: UpstreamSet
    overrides: dict[str, Override]
    limit_header: str | None = field(default=None)

    def __post_init__(self) -> None:
        # The filter's verdict depends on the address alone: remember it per address.
        self.admits = functools.lru_cache(maxsize=4096)(self._admits)

    def _admits(self, client: str) -> bool:
        route = self.route
        if not (route.ip_deny or route.ip_allow):
            return True
        address = parse_address(client)
        if in_networks(address, route.ip_deny):
            return False
        return not route.ip_allow or in_networks(address, route.ip_allow)


class UpstreamFailed(Exception):
    def __init__(self, kind: Refusal, endpoint: str = ""):
        super().__init__(kind.value)
        self.kind = kind
        self.endpoint = endpoint


class Gateway:
    """The gateway's policy over a validated configuration."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        resolver: Resolver = system_resolver,
        upstreams: Callable[[Route], UpstreamSet] | None = None,
    ):
        # ``upstreams`` builds a route's replicas instead of an UpstreamSet of its URLs: the
        # in-process mode (vendorkit.inprocess) forwards to WSGI apps of the same process.
        self.config = config
        self.limiter = RateLimiter(config.rate_limit_storage)
        self.metrics = Metrics()
        self.access_log = AccessLog()
        # Both depend on the peer address alone, and parsing addresses is costly.
        self._peer_client = functools.lru_cache(maxsize=4096)(
            lambda peer: client_address(peer, [], config.trusted_proxies)
        )
        self.peer_trusted = functools.lru_cache(maxsize=4096)(
            lambda peer: in_networks(parse_address(peer), config.trusted_proxies)
        )
        self.routes: dict[str, RouteRuntime] = {}
        prefixes: list[tuple[str, RouteRuntime]] = []
        for route in config.routes:
            runtime = RouteRuntime(
                route=route,
                dialect=get_dialect(route.dialect),
                upstreams=upstreams(route)
                if upstreams is not None
                else UpstreamSet(
                    route.upstreams,
                    connect_timeout=route.timeouts.connect,
                    read_timeout=route.timeouts.read,
                    resolve_interval=route.resolve_interval,
                    eject_seconds=route.eject_seconds,
                    resolver=resolver,
                ),
                overrides={o.path: o for o in route.overrides},
                limit_header=route.limit_header.lower() if route.limit_header else None,
            )
            self.routes[route.name] = runtime
            prefixes.extend((prefix, runtime) for prefix in route.prefixes)
        # Longest prefix first, so the first match is the most specific.
        self.prefixes = sorted(prefixes, key=lambda item: len(item[0]), reverse=True)
        self.docs_page = docs.render_page(list(self.routes))
        self.emulator = Emulator(self)

    # -- one request ------------------------------------------------------------

    async def respond(self, request: GatewayRequest) -> Reply:
        """Answer one request completely; it is logged and counted in metrics right after."""
        started = time.perf_counter()
        request_id = request_id_from(request.header("x-request-id"))
        client = self.client_of(request)
        path = request.path
        if path.startswith("/_gateway/"):
            if is_admin_path(path):
                reply = await self.emulator.respond(request, client)
            else:
                reply = await self.own_endpoint(request)
            reply.route = "_gateway"
        else:
            runtime = self.match(path)
            if runtime is None:
                reply = json_reply(404, {"message": f"No route for {path}"})
            else:
                try:
                    reply = await self.handle(runtime, request, client, request_id)
                except asyncio.CancelledError:
                    await self.client_went_away(runtime, request, client, request_id, started)
                    raise
                reply.route = runtime.route.name
        reply.headers.append(("X-Request-ID", request_id))
        duration = time.perf_counter() - started
        # Counted now, so that the metrics never lag behind an answer a client has seen;
        # the access line is written once the caller has sent the reply on its way (the
        # next turn of the loop), so that the client does not wait for it.
        if reply.route == "_gateway":
            asyncio.get_running_loop().call_soon(self.log, reply, request, client, request_id, duration)
        else:
            self.metrics.observe(reply.route or "(none)", reply.status, duration)
            if self.emulator.shared_journal:
                # Shared with other workers or replicas: kept before the client hears the answer,
                # so that a read of the journal through any of them shows this request.
                await self.emulator.state.add(
                    self.journal_record(reply, request, client, request_id, duration)
                )
            # Like the access line, the journal entry is kept once the reply is on its way.
            asyncio.get_running_loop().call_soon(
                self.log_and_journal, reply, request, client, request_id, duration
            )
        return reply

    async def client_went_away(
        self, runtime: RouteRuntime, request: GatewayRequest, client: str, request_id: str, started: float
    ) -> None:
        """Log, count and journal a request whose client closed its connection before the answer.

        The request may have reached the service (a write done, a fault ``after``
        holding the answer back): the journal must still show it. Its status is
        nginx's 499, "client closed request".
        """
        reply = Reply(CLIENT_CLOSED_REQUEST, [], b"", "Client Closed Request", route=runtime.route.name)
        reply.fault = request.fault
        reply.refused = "fault" if request.fault else None
        duration = time.perf_counter() - started
        self.metrics.observe(reply.route, reply.status, duration)
        if self.emulator.shared_journal:
            await self.emulator.state.add(self.journal_record(reply, request, client, request_id, duration))
        self.log_and_journal(reply, request, client, request_id, duration)

    def log_and_journal(
        self, reply: Reply, request: GatewayRequest, client: str, request_id: str, duration: float
    ) -> None:
        """The access-log line, and the journal entry when the journal is on."""
        self.log(reply, request, client, request_id, duration)
        if self.emulator.journal.enabled:
            self.record_in_journal(reply, request, client, request_id, duration)

    def record_in_journal(
        self, reply: Reply, request: GatewayRequest, client: str, request_id: str, duration: float
    ) -> None:
        """Keep the request in this process's journal (redacted when read)."""
        self.emulator.journal.records.append(
            self.journal_record(reply, request, client, request_id, duration)
        )

    def journal_record(
        self, reply: Reply, request: GatewayRequest, client: str, request_id: str, duration: float
    ) -> Record:
        """The journal's record of one answered request."""
        upstream = reply.upstream
        if upstream:  # the replica's address, with the scheme the route reaches it by
            upstream = f"{self.routes[reply.route].route.upstreams[0].split('://', 1)[0]}://{upstream}"
        journal = self.emulator.journal
        return record_of(request, reply, client, request_id, duration, upstream, journal.max_body_bytes)

    def client_of(self, request: GatewayRequest) -> str:
        """The client address: the peer, or behind trusted proxies the address they forwarded."""
        forwarded = request.header("x-forwarded-for")
        if not forwarded:
            return self._peer_client(request.peer)
        return client_address(request.peer, [forwarded], self.config.trusted_proxies)

    def log(
        self, reply: Reply, request: GatewayRequest, client: str, request_id: str, duration: float
    ) -> None:
        """The request's access-log line."""
        self.access_log.write(
            request_id=request_id,
            route=reply.route,
            method=request.method,
            path=request.path,
            status=reply.status,
            upstream=reply.upstream,
            duration_ms=round(duration * 1000, 3),
            client=client,
        )

    def match(self, path: str) -> RouteRuntime | None:
        """The route with the longest prefix of ``path``."""
        for prefix, runtime in self.prefixes:
            if path.startswith(prefix):
                return runtime
        return None

    def refusal(
        self,
        runtime: RouteRuntime | None,
        request: GatewayRequest | None,
        kind: Refusal,
        client: str = "",
        headers: list[tuple[str, str]] | None = None,
    ) -> Reply:
        """A refusal in the route's dialect."""
        response = runtime.dialect.refusal(
            kind, request.werkzeug() if request else None, client_ip=client, method=request.method
        )
        reply = Reply.of(response)
        reply.refused = kind.value
        if headers:
            reply.headers.extend(headers)
        return reply

    def http_error(self, status: int, message: str, request: GatewayRequest | None) -> Reply:
        """A refusal of the HTTP layer (400, 408, 414, 431): the route's dialect if the path routes, else neutral."""
        runtime = self.match(request.path) if request is not None and request.path else None
        if runtime is None:
            reply = json_reply(status, {"message": message})
        else:
            reply = Reply.of(runtime.dialect.generic_error(status, message, request.werkzeug()))
            reply.route = runtime.route.name
        reply.reason = reason_phrase(status)
        return reply

    def refused_below_http(self, status: int, message: str, request: GatewayRequest | None) -> Reply:
        """Answer, log and count a request the HTTP layer refused."""
        reply = self.http_error(status, message, request)
        request_id = request_id_from(request.header("x-request-id") if request else None)
        reply.headers.append(("X-Request-ID", request_id))
        if request is not None:
            self.metrics.observe(reply.route or "(none)", status, 0.0)
            self.log(reply, request, self.client_of(request), request_id, 0.0)
        else:
            self.access_log.write(request_id=request_id, route=None, status=status, refused=message)
            self.metrics.observe("(none)", status, 0.0)
        return reply

    async def handle(
        self, runtime: RouteRuntime, request: GatewayRequest, client: str, request_id: str
    ) -> Reply:
        """Filter, limit and forward one routed request."""
        route = runtime.route
        method = request.method

        if route.methods is not None and method not in route.methods:
            allow = ("Allow", ", ".join(sorted(route.methods)))
            return self.refusal(runtime, request, Refusal.METHOD_NOT_ALLOWED, client, [allow])

        if not runtime.admits(client):
            self.metrics.ip_refusals.labels(route.name).inc()
            return self.refusal(runtime, request, Refusal.IP_DENIED, client)

        override = runtime.overrides.get(request.path) if runtime.overrides else None
        decision = await self.rate_limit(runtime, override, request, client)
        if decision is None:  # storage down and the gateway fails closed
            return self.refusal(runtime, request, Refusal.STORAGE_UNAVAILABLE, client)
        if not decision.allowed:
            self.metrics.ratelimit_refusals.labels(route.name).inc()
            retry = ("Retry-After", str(decision.retry_after or 1))
            return self.refusal(runtime, request, Refusal.RATE_LIMITED, client, [*decision.headers, retry])

        if request.body is None:
            return self.refusal(runtime, request, Refusal.BODY_TOO_LARGE, client, decision.headers)

        state = self.emulator.state
        fault = await state.pick(route.name, method, request.path) if state.armed else None
        if fault is not None:
            request.fault = fault.id
            self.metrics.faults_injected.labels(route.name, fault.action).inc()
            if fault.action == "delay":
                await asyncio.sleep(fault.delay_ms / 1000)
            elif fault.when == "before":
                return await self.fault_reply(runtime, request, client, fault, decision.headers)

        head = self.upstream_head(request, client, request_id)
        if head is None:
            return self.with_headers(
                self.http_error(431, "Request header fields too large", request), decision.headers
            )
        try:
            answer, endpoint = await self.forward(runtime, request, head)
        except UpstreamFailed as failure:
            if fault is not None and fault.when == "after":
                reply = await self.fault_reply(runtime, request, client, fault, decision.headers)
            else:
                reply = self.refusal(runtime, request, failure.kind, client, decision.headers)
                reply.fault = fault.id if fault else None
            reply.upstream = failure.endpoint or None
            return reply
        if fault is not None and fault.when == "after":
            # The service has done its work; the client gets the fault instead of its answer.
            reply = await self.fault_reply(runtime, request, client, fault, decision.headers)
            reply.upstream = endpoint
            return reply
        listed = _connection_tokens(next((v for n, v in answer.headers if n.lower() == "connection"), None))
        headers = []
        upstream_length = None
        for name, value in answer.headers:
            lower = name.lower()
            if lower == "content-length":
                upstream_length = value
            elif not (lower in NOT_PASSED_BACK or lower.startswith("proxy-") or (listed and lower in listed)):
                headers.append((name, value))
        if method == "HEAD":
            if upstream_length is not None:
                headers.append(("Content-Length", upstream_length))
            body = b""
        else:
            body = answer.body
            headers.append(("Content-Length", str(len(body))))
        headers.extend(decision.headers)
        return Reply(
            answer.status, headers, body, answer.reason, upstream=endpoint, fault=fault.id if fault else None
        )

    async def fault_reply(
        self,
        runtime: RouteRuntime,
        request: GatewayRequest,
        client: str,
        fault: Fault,
        headers: list[tuple[str, str]],
    ) -> Reply:
        """What a fault answers instead of the service, in the route's dialect."""
        action = fault.action
        if action == "reset":
            reply = Reply(0, [], b"", abort=True)
        elif action == "rate_limited":
            retry = ("Retry-After", str(fault.retry_after))
            reply = self.refusal(runtime, request, Refusal.RATE_LIMITED, client, [*headers, retry])
        elif action == "unavailable":
            response = runtime.dialect.generic_error(503, "Service unavailable", request.werkzeug())
            reply = self.with_headers(Reply.of(response), headers)
        elif action == "bad_gateway":
            reply = self.refusal(runtime, request, Refusal.UPSTREAM_UNAVAILABLE, client, headers)
        else:  # timeout: the client waits, then hears that the service did not answer in time
            await asyncio.sleep(fault.delay_ms / 1000)
            reply = self.refusal(runtime, request, Refusal.UPSTREAM_TIMEOUT, client, headers)
        reply.refused = "fault"
        reply.fault = fault.id
        return reply

    @staticmethod
    def with_headers(reply: Reply, headers: list[tuple[str, str]]) -> Reply:
        reply.headers.extend(headers)
        return reply

    async def rate_limit(
        self, runtime: RouteRuntime, override: Override | None, request: GatewayRequest, client: str
    ) -> Decision | None:
        """Count the request; None when the storage is down and the gateway fails closed."""
        route = runtime.route
        items = override.rate_limits if override else route.rate_limits
        if not items:
            return Decision(True)
        scope = f"{route.name}:{override.path}" if override else route.name
        key = client
        if runtime.limit_header:
            value = request.header(runtime.limit_header)
            key = f"header:{value}" if value else client
        try:
            return await self.limiter.check(items, scope, key)
        except StorageUnavailable as exc:
            self.metrics.storage_failures.inc()
            log.warning("rate-limit storage unavailable: %s", exc, extra={"fields": {"route": route.name}})
            if self.config.on_storage_failure == "closed":
                return None
            return Decision(True)

    def upstream_head(self, request: GatewayRequest, client: str, request_id: str) -> list[str] | None:
        """The header lines for the upstream (Host excepted), or None when the upstream would refuse them.

        Hop-by-hop headers are dropped; X-Forwarded-* and X-Request-ID are set.
        """
        listed = _connection_tokens(request.header("connection"))
        lines: list[str] = []
        for name, value in request.headers:
            lower = name.lower()
            if (
                lower in NOT_PASSED_ON
                or lower.startswith("proxy-")
                or (listed and lower in listed)
                or (not value and lower in ("x-forwarded-proto", "x-forwarded-host"))
            ):
                continue
            lines.append(f"{name}: {value}")
        peer = request.peer
        previous = request.header("x-forwarded-for")
        lines.append(f"X-Forwarded-For: {previous}, {peer}" if previous else f"X-Forwarded-For: {peer}")
        peer_trusted = self.peer_trusted(peer)
        if not (peer_trusted and request.header("x-forwarded-proto")):
            lines = [line for line in lines if not line[:18].lower().startswith("x-forwarded-proto:")]
            lines.append(f"X-Forwarded-Proto: {request.scheme}")
        if not (peer_trusted and request.header("x-forwarded-host")):
            lines = [line for line in lines if not line[:17].lower().startswith("x-forwarded-host:")]
            host = request.header("host")
            if host:
                lines.append(f"X-Forwarded-Host: {host}")
        lines.append(f"X-Request-Id: {request_id}")
        # Host and Content-Length are added per attempt; count them too.
        if len(lines) + 2 > UPSTREAM_MAX_HEADERS:
            return None
        total = 0
        for line in lines:
            if len(line) + 2 > UPSTREAM_MAX_HEADER_LINE:
                return None
            total += len(line) + 2
        if total + ATTEMPT_HEADROOM > UPSTREAM_MAX_HEADER_BYTES:
            return None
        return lines

    async def forward(
        self, runtime: RouteRuntime, request: GatewayRequest, head: list[str]
    ) -> tuple[UpstreamResponse, str]:
        """Send the request to a replica, failing over where that is safe; the answer and the replica used."""
        method = request.method
        route = runtime.route
        body = request.body or b""
        tail = "\r\n".join(head)
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
            tail += f"\r\nContent-Length: {len(body)}"
        tail += "\r\n\r\n"
        start = f"{method} {request.target} HTTP/1.1\r\nHost: "
        failure = Refusal.UPSTREAM_UNAVAILABLE
        # The last replica the request was sent to: none when no connection could be made, so
        # that the journal says nothing was forwarded.
        forwarded_to = ""
        attempts = await runtime.upstreams.attempt_order()
        retried: set[str] = set()
        read_timeout = route.timeouts.read
        while attempts:
            endpoint = attempts.pop(0)
            pool = endpoint.pool
            try:
                connection, _new = await pool.acquire()
            except ConnectFailed as exc:
                # Nothing reached the replica: safe to try another, whatever the method.
                self.metrics.upstream_errors.labels(
                    route.name, "timeout" if exc.timed_out else "connect"
                ).inc()
                runtime.upstreams.eject(endpoint)
                failure = Refusal.UPSTREAM_UNAVAILABLE
                continue
            wire = (start + endpoint.host_header + "\r\n" + tail).encode("latin-1") + body
            forwarded_to = endpoint.label
            answer = None
            try:
                answer = await connection.exchange(wire, head=method == "HEAD", read_timeout=read_timeout)
            except ReadTimedOut:
                self.metrics.upstream_errors.labels(route.name, "timeout").inc()
                failure = Refusal.UPSTREAM_TIMEOUT
                if method in IDEMPOTENT:
                    continue
                break
            except ConnectionBroken:
                # The connection broke mid-exchange (the replica closed or died).
                # An idempotent request may go again, once on a fresh connection
                # to the same replica, then to the others.
                self.metrics.upstream_errors.labels(route.name, "protocol").inc()
                failure = Refusal.UPSTREAM_UNAVAILABLE
                if method not in IDEMPOTENT:
                    break
                if endpoint.label not in retried:
                    retried.add(endpoint.label)
                    attempts.insert(0, endpoint)
                continue
            finally:
                pool.release(connection, answer)
            return answer, endpoint.label
        raise UpstreamFailed(failure, forwarded_to)

    # -- the gateway's own endpoints ----------------------------------------

    async def own_endpoint(self, request: GatewayRequest) -> Reply:
        """healthz, readyz, metrics and the docs page."""
        path = request.path
        if request.method not in ("GET", "HEAD"):
            return json_reply(405, {"message": "Method not allowed"}, [("Allow", "GET, HEAD")])
        if path == "/_gateway/healthz":
            return json_reply(200, {"status": "ok"})
        if path == "/_gateway/readyz":
            failing = await self.failing_routes()
            if failing:
                return json_reply(503, {"status": "unavailable", "failing": failing})
            return json_reply(200, {"status": "ready"})
        if path == "/_gateway/metrics":
            body, content_type = self.metrics.render()
            return Reply.of(Response(body, content_type=content_type))
        if path in ("/_gateway/docs", "/_gateway/docs/"):
            return Reply.of(Response(self.docs_page, content_type="text/html; charset=utf-8"))
        if path.startswith("/_gateway/docs/assets/"):
            found = docs.asset(path.rsplit("/", 1)[1])
            if found:
                body, content_type = found
                return Reply.of(
                    Response(body, content_type=content_type, headers={"Cache-Control": "max-age=86400"})
                )
        if path.startswith("/_gateway/docs/specs/") and path.endswith(".json"):
            name = path[len("/_gateway/docs/specs/") : -len(".json")]
            if name in self.routes:
                return await self.openapi_document(self.routes[name])
        return json_reply(404, {"message": f"No route for {path}"})

    async def _get(self, runtime: RouteRuntime, path: str) -> UpstreamResponse | None:
        """GET ``path`` from the first replica that answers (short timeouts), or None."""
        return await self.service_call(runtime, "GET", path)

    async def service_call(
        self,
        runtime: RouteRuntime,
        method: str,
        path: str,
        *,
        headers: list[tuple[str, str]] = (),
        body: bytes | None = None,
        read_timeout: float = 2.0,
    ) -> UpstreamResponse | None:
        """Send a request of the gateway's own to the first replica that answers, or None when none does."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
        if body is not None:
            lines += f"Content-Length: {len(body)}\r\n"
        for endpoint in await runtime.upstreams.attempt_order():
            answer = None
            connection = None
            try:
                async with asyncio.timeout(read_timeout + 1.0):
                    connection, _new = await endpoint.pool.acquire()
                    wire = f"{method} {path} HTTP/1.1\r\nHost: {endpoint.host_header}\r\n{lines}\r\n"
                    payload = wire.encode("latin-1") + (body or b"")
                    answer = await connection.exchange(payload, head=False, read_timeout=read_timeout)
                    return answer
            except (ConnectFailed, ReadTimedOut, ConnectionBroken, TimeoutError):
                continue
            finally:
                if connection is not None:
                    endpoint.pool.release(connection, answer)
        return None

    async def failing_routes(self) -> list[str]:
        """Names of the routes none of whose replicas answers 200 on /readyz."""

        async def ready(runtime: RouteRuntime) -> bool:
            answer = await self._get(runtime, "/readyz")
            return answer is not None and answer.status == 200

        results = await asyncio.gather(*(ready(runtime) for runtime in self.routes.values()))
        return [name for name, ok in zip(self.routes, results, strict=True) if not ok]

    async def openapi_document(self, runtime: RouteRuntime) -> Reply:
        answer = await self._get(runtime, "/openapi.json")
        if answer is None or answer.status != 200:
            return json_reply(502, {"message": f"The {runtime.route.name} service did not answer"})
        return Reply(
            200,
            [("Content-Type", "application/json"), ("Content-Length", str(len(answer.body)))],
            answer.body,
        )

    async def close(self) -> None:
        """Close pooled connections and stop background work."""
        for runtime in self.routes.values():
            runtime.upstreams.close()
        await self.limiter.close()
        await self.emulator.state.close()
        self.access_log.flush()


def build_from_environment(resolver: Resolver = system_resolver) -> Gateway:
    """The gateway for GATEWAY_CONFIG (raises ConfigError, naming the field, when the file is wrong)."""
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    return Gateway(load_config(), resolver=resolver)
