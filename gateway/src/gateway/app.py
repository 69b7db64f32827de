"""The gateway as a WSGI app: route, filter, limit, forward, and answer refusals in the vendor's envelope."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from gateway import docs
from gateway.config import GatewayConfig, Override, Route, load_config
from gateway.metrics import Metrics
from gateway.ratelimit import Decision, RateLimiter, StorageUnavailable
from gateway.upstreams import Resolver, UpstreamSet, system_resolver
from vendorkit import logs
from vendorkit.dialects import Dialect, Refusal, get_dialect
from vendorkit.netaddr import client_address, in_networks, parse_address

log = logging.getLogger("gateway")
access_log = logging.getLogger("gateway.access")

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "trailers", "upgrade"}
)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def _is_hop_by_hop(name: str, listed: frozenset[str]) -> bool:
    lower = name.lower()
    return lower in HOP_BY_HOP or lower.startswith("proxy-") or lower in listed


def _connection_tokens(value: str | None) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in (value or "").split(",") if t.strip())


@dataclass
class RouteRuntime:
    """A configured route with what it needs at request time."""

    route: Route
    dialect: Dialect
    upstreams: UpstreamSet
    overrides: dict[str, Override]


@dataclass
class Reply:
    """What the gateway answers, ready for start_response."""

    status: int
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def of(cls, response: Response) -> Reply:
        return cls(
            response.status_code, response.status, response.headers.to_wsgi_list(), response.get_data()
        )


@dataclass
class Upstreamed:
    """An upstream's answer."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    endpoint: str


class UpstreamFailed(Exception):
    def __init__(self, kind: Refusal, endpoint: str = ""):
        super().__init__(kind.value)
        self.kind = kind
        self.endpoint = endpoint


class Gateway:
    """The WSGI callable."""

    def __init__(self, config: GatewayConfig, *, resolver: Resolver = system_resolver):
        self.config = config
        self.limiter = RateLimiter(config.rate_limit_storage)
        self.metrics = Metrics()
        self.routes: dict[str, RouteRuntime] = {}
        prefixes: list[tuple[str, RouteRuntime]] = []
        for route in config.routes:
            runtime = RouteRuntime(
                route=route,
                dialect=get_dialect(route.dialect),
                upstreams=UpstreamSet(
                    route.upstreams,
                    connect_timeout=route.timeouts.connect,
                    read_timeout=route.timeouts.read,
                    resolve_interval=route.resolve_interval,
                    eject_seconds=route.eject_seconds,
                    resolver=resolver,
                ),
                overrides={o.path: o for o in route.overrides},
            )
            self.routes[route.name] = runtime
            prefixes.extend((prefix, runtime) for prefix in route.prefixes)
        # Longest prefix first, so the first match is the most specific.
        self.prefixes = sorted(prefixes, key=lambda item: len(item[0]), reverse=True)
        self.docs_page = docs.render_page(list(self.routes))

    # -- WSGI ---------------------------------------------------------------

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = logs.request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        peer = environ.get("REMOTE_ADDR", "")
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        client = client_address(peer, [forwarded] if forwarded else [], self.config.trusted_proxies)
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET")

        if path.startswith("/_gateway/"):
            reply = Reply.of(self.own_endpoint(path, environ))
            route_name, upstream = "_gateway", None
        else:
            runtime = self.match(path)
            if runtime is None:
                reply = Reply.of(_json(404, {"message": f"No route for {path}"}))
                route_name, upstream = "", None
            else:
                route_name = runtime.route.name
                reply, upstream = self.handle(runtime, environ, client, request_id)

        reply.headers.append(("X-Request-ID", request_id))
        duration = time.perf_counter() - started
        if route_name != "_gateway":
            label = route_name or "(none)"
            self.metrics.requests.labels(label, str(reply.status)).inc()
            self.metrics.duration.labels(label).observe(duration)
        logs.log_request(
            access_log,
            request_id=request_id,
            route=route_name or None,
            method=method,
            path=path,
            status=reply.status,
            upstream=upstream,
            duration_ms=round(duration * 1000, 3),
            client=client,
        )
        start_response(reply.status_line, reply.headers)
        return [reply.body]

    def match(self, path: str) -> RouteRuntime | None:
        """The route with the longest prefix of ``path``."""
        for prefix, runtime in self.prefixes:
            if path.startswith(prefix):
                return runtime
        return None

    # -- a routed request ---------------------------------------------------

    def handle(self, runtime: RouteRuntime, environ, client: str, request_id: str):
        """Filter, limit and forward one request; returns the reply and the upstream used."""
        route, dialect = runtime.route, runtime.dialect
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")

        def refuse(kind: Refusal, *extra_headers: tuple[str, str]) -> Reply:
            response = dialect.refusal(kind, Request(environ), client_ip=client, method=method)
            reply = Reply.of(response)
            reply.headers.extend(extra_headers)
            return reply

        if route.methods is not None and method not in route.methods:
            return refuse(Refusal.METHOD_NOT_ALLOWED, ("Allow", ", ".join(sorted(route.methods)))), None

        address = parse_address(client)
        if in_networks(address, route.ip_deny) or (
            route.ip_allow and not in_networks(address, route.ip_allow)
        ):
            self.metrics.ip_refusals.labels(route.name).inc()
            return refuse(Refusal.IP_DENIED), None

        override = runtime.overrides.get(path)
        decision = self.rate_limit(runtime, override, environ, client)
        if decision is None:  # storage down and the gateway fails closed
            return refuse(Refusal.STORAGE_UNAVAILABLE), None
        if not decision.allowed:
            self.metrics.ratelimit_refusals.labels(route.name).inc()
            retry = ("Retry-After", str(decision.retry_after or 1))
            return refuse(Refusal.RATE_LIMITED, *decision.headers, retry), None

        body = self.read_body(environ)
        if body is None:
            return refuse(Refusal.BODY_TOO_LARGE, *decision.headers), None

        try:
            answer = self.forward(runtime, environ, body, client, request_id)
        except UpstreamFailed as failure:
            return refuse(failure.kind, *decision.headers), failure.endpoint or None
        headers = answer.headers
        if method != "HEAD" or not any(name == "Content-Length" for name, _ in headers):
            headers.append(("Content-Length", str(len(answer.body))))
        headers.extend(decision.headers)
        status_line = f"{answer.status} {answer.reason or HTTP_STATUS_CODES.get(answer.status, '')}".strip()
        return Reply(answer.status, status_line, headers, answer.body), answer.endpoint

    def rate_limit(
        self, runtime: RouteRuntime, override: Override | None, environ, client: str
    ) -> Decision | None:
        """Count the request; None when the storage is down and the gateway fails closed."""
        route = runtime.route
        items = override.rate_limits if override else route.rate_limits
        if not items:
            return Decision(True)
        scope = f"{route.name}:{override.path}" if override else route.name
        key = client
        header = route.limit_header
        if header:
            value = environ.get("HTTP_" + header.upper().replace("-", "_"))
            key = f"header:{value}" if value else client
        try:
            return self.limiter.check(items, scope, key)
        except StorageUnavailable as exc:
            self.metrics.storage_failures.inc()
            log.warning("rate-limit storage unavailable: %s", exc, extra={"fields": {"route": route.name}})
            if self.config.on_storage_failure == "closed":
                return None
            return Decision(True)

    def read_body(self, environ) -> bytes | None:
        """The request body, or None when it exceeds ``max_body_bytes``."""
        limit = self.config.max_body_bytes
        length_header = environ.get("CONTENT_LENGTH")
        stream = environ.get("wsgi.input")
        if length_header:
            try:
                length = int(length_header)
            except ValueError:
                length = 0
            if length > limit:
                return None
            return stream.read(length) if stream and length > 0 else b""
        if stream is None or not environ.get("wsgi.input_terminated"):
            return b""
        body = stream.read(limit + 1)
        return None if len(body) > limit else body

    def upstream_headers(self, environ, client: str, request_id: str) -> dict[str, str]:
        """The request's headers for the upstream: hop-by-hop dropped, X-Forwarded-* and X-Request-ID set."""
        listed = _connection_tokens(environ.get("HTTP_CONNECTION"))
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").title()
            elif key in ("CONTENT_TYPE",):
                name = "Content-Type"
            else:
                continue
            # The body is already read in full, so an Expect: 100-continue has been answered here.
            if _is_hop_by_hop(name, listed) or name in ("Host", "Content-Length", "Expect") or not value:
                continue
            headers[name] = value
        peer = environ.get("REMOTE_ADDR", "")
        previous = environ.get("HTTP_X_FORWARDED_FOR")
        headers["X-Forwarded-For"] = f"{previous}, {peer}" if previous else peer
        peer_trusted = in_networks(parse_address(peer), self.config.trusted_proxies)
        if not (peer_trusted and environ.get("HTTP_X_FORWARDED_PROTO")):
            headers["X-Forwarded-Proto"] = environ.get("wsgi.url_scheme", "http")
        if not (peer_trusted and environ.get("HTTP_X_FORWARDED_HOST")):
            host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
            if host:
                headers["X-Forwarded-Host"] = host
        headers["X-Request-Id"] = request_id
        return headers

    def forward(
        self, runtime: RouteRuntime, environ, body: bytes, client: str, request_id: str
    ) -> Upstreamed:
        """Send the request to a replica, failing over where that is safe."""
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not target:
            target = urllib.parse.quote(environ.get("PATH_INFO", "") or "/")
            if environ.get("QUERY_STRING"):
                target += "?" + environ["QUERY_STRING"]
        headers = self.upstream_headers(environ, client, request_id)
        route = runtime.route
        failure = Refusal.UPSTREAM_UNAVAILABLE
        last_endpoint = ""
        attempts = runtime.upstreams.attempt_order()
        retried: set[str] = set()
        while attempts:
            endpoint = attempts.pop(0)
            last_endpoint = endpoint.label
            headers["Host"] = endpoint.host_header
            try:
                upstream = endpoint.pool.urlopen(
                    method,
                    target,
                    body=body if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS") else None,
                    headers=headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                )
                try:
                    data = upstream.read(decode_content=False)
                finally:
                    upstream.release_conn()
            except (NewConnectionError, ConnectTimeoutError) as exc:
                # Nothing reached the replica: safe to try another, whatever the method.
                kind = "timeout" if type(exc) is ConnectTimeoutError else "connect"
                self.metrics.upstream_errors.labels(route.name, kind).inc()
                runtime.upstreams.eject(endpoint)
                failure = Refusal.UPSTREAM_UNAVAILABLE
                continue
            except ReadTimeoutError:
                self.metrics.upstream_errors.labels(route.name, "timeout").inc()
                failure = Refusal.UPSTREAM_TIMEOUT
                if method in IDEMPOTENT:
                    continue
                break
            except (HTTPError, OSError):
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
            listed = _connection_tokens(upstream.headers.get("Connection"))
            response_headers = [
                (name, value)
                for name, value in upstream.headers.items()
                if not _is_hop_by_hop(name, listed) and name.lower() not in ("content-length", "x-request-id")
            ]
            if method == "HEAD" and "Content-Length" in upstream.headers:
                response_headers.append(("Content-Length", upstream.headers["Content-Length"]))
            return Upstreamed(upstream.status, upstream.reason or "", response_headers, data, endpoint.label)
        raise UpstreamFailed(failure, last_endpoint)

    # -- the gateway's own endpoints ----------------------------------------

    def own_endpoint(self, path: str, environ) -> Response:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _json(405, {"message": "Method not allowed"}, headers={"Allow": "GET, HEAD"})
        if path == "/_gateway/healthz":
            return _json(200, {"status": "ok"})
        if path == "/_gateway/readyz":
            failing = self.failing_routes()
            if failing:
                return _json(503, {"status": "unavailable", "failing": failing})
            return _json(200, {"status": "ready"})
        if path == "/_gateway/metrics":
            body, content_type = self.metrics.render()
            return Response(body, content_type=content_type)
        if path in ("/_gateway/docs", "/_gateway/docs/"):
            return Response(self.docs_page, content_type="text/html; charset=utf-8")
        if path.startswith("/_gateway/docs/assets/"):
            found = docs.asset(path.rsplit("/", 1)[1])
            if found:
                body, content_type = found
                return Response(body, content_type=content_type, headers={"Cache-Control": "max-age=86400"})
        if path.startswith("/_gateway/docs/specs/") and path.endswith(".json"):
            name = path[len("/_gateway/docs/specs/") : -len(".json")]
            if name in self.routes:
                return self.openapi_document(self.routes[name])
        return _json(404, {"message": f"No route for {path}"})

    def _get(self, runtime: RouteRuntime, path: str) -> urllib3.BaseHTTPResponse | None:
        for endpoint in runtime.upstreams.attempt_order():
            try:
                return endpoint.pool.request(
                    "GET",
                    path,
                    headers={"Host": endpoint.host_header},
                    retries=False,
                    timeout=urllib3.Timeout(connect=1.0, read=2.0),
                )
            except (HTTPError, OSError):
                continue
        return None

    def failing_routes(self) -> list[str]:
        """Names of the routes none of whose replicas answers 200 on /readyz."""

        def ready(runtime: RouteRuntime) -> bool:
            answer = self._get(runtime, "/readyz")
            return answer is not None and answer.status == 200

        with ThreadPoolExecutor(max_workers=len(self.routes)) as pool:
            results = dict(zip(self.routes, pool.map(ready, self.routes.values()), strict=True))
        return [name for name, ok in results.items() if not ok]

    def openapi_document(self, runtime: RouteRuntime) -> Response:
        answer = self._get(runtime, "/openapi.json")
        if answer is None or answer.status != 200:
            return _json(502, {"message": f"The {runtime.route.name} service did not answer"})
        return Response(answer.data, content_type="application/json")


def _json(status: int, payload: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def build_from_environment(resolver: Resolver = system_resolver) -> Gateway:
    """The gateway for GATEWAY_CONFIG (raises ConfigError, naming the field, when the file is wrong)."""
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    return Gateway(load_config(), resolver=resolver)
