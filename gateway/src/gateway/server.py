"""The gateway's HTTP/1.1 server: an asyncio protocol on httptools (llhttp), one per client connection.

Written for the gateway rather than taken from a general server, because the
gateway must answer what the HTTP layer refuses in the vendor's JSON envelope
(a general server answers those itself, in its own text or HTML), and must
bound how long a client may take to send its headers and body, so that slow
or stalled clients cost the others nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from email.utils import formatdate

import httptools

from gateway.app import (
    UPSTREAM_MAX_REQUEST_LINE,
    Gateway,
    GatewayRequest,
    Reply,
    reason_phrase,
)

log = logging.getLogger("gateway.server")

# Limits of the HTTP layer, within what the services' servers accept (gateway.app's
# UPSTREAM_* limits), so that what the gateway reads it can also forward: a request
# line of 8,190 bytes, 100 headers of at most 8,190 bytes, 48 KiB of headers in all
# (the services take 64 KiB, and the gateway adds X-Forwarded-* and X-Request-ID).
MAX_HEADERS = 100
MAX_HEADER_LINE = 8190
MAX_HEADER_BYTES = 48 * 1024

# Seconds a client may take to send a request's headers, in all.
HEADER_TIMEOUT = 5.0
# Seconds a client may stay silent while sending a body.
BODY_TIMEOUT = 5.0
# Seconds an idle kept-alive connection stays open between requests.
KEEPALIVE_TIMEOUT = 30.0
# Seconds a stopping gateway waits for the requests in flight to be answered.
GRACEFUL_TIMEOUT = 10.0
# How often the connections' deadlines are checked. One sweep over every connection
# costs less than a timer armed and cancelled on each of them for every request.
SWEEP_SECONDS = 0.25
# Pipelined requests read ahead of the one being answered before reading pauses.
MAX_PIPELINED = 16
NO_DEADLINE = float("inf")


class Refused(Exception):
    """The HTTP layer refuses the request: answer ``status`` with ``message`` and close."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _parser_refusal(exc: httptools.HttpParserError) -> Refused:
    text = str(exc) or "malformed request"
    if isinstance(exc, httptools.HttpParserInvalidMethodError):
        return Refused(400, "Invalid HTTP method")
    if isinstance(exc, httptools.HttpParserInvalidURLError):
        return Refused(400, f"Invalid request target: {text}")
    return Refused(400, f"Malformed request: {text}")


class DateCache:
    """The Date header, formatted once a second rather than once a response."""

    def __init__(self) -> None:
        self.second = 0
        self.value = b""

    def header(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.value = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.value


DATE = DateCache()


class HttpConnection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order, enforce the HTTP layer's limits."""

    def __init__(self, gateway: Gateway, connections: set[HttpConnection], scheme: str = "http"):
        self.gateway = gateway
        self.connections = connections
        self.draining = False
        self.scheme = scheme
        self.max_body = gateway.config.max_body_bytes
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.parser = httptools.HttpRequestParser(self)
        self.pending: deque[tuple[GatewayRequest, bool]] = deque()
        self.task: asyncio.Task | None = None
        # When the connection's current wait runs out (the loop's clock); see expire().
        self.deadline = NO_DEADLINE
        self.reading_paused = False
        self.closing = False
        self._new_message()

    def _new_message(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.header_bytes = 0  # of the headers parsed so far
        self.raw_header_bytes = 0  # received while the headers were incomplete
        self.in_headers = False  # a request has begun and its headers are not complete
        self.in_body = False
        self.body: list[bytes] | None = []
        self.body_size = 0
        self.request: GatewayRequest | None = None

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.connections.add(self)
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        self.deadline = self.loop.time() + HEADER_TIMEOUT

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.closing = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        try:
            self.parser.feed_data(data)
        except Refused as refused:
            self.refuse(refused.status, refused.message)
            return
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, Refused):
                self.refuse(cause.status, cause.message)
            else:
                log.exception("HTTP parsing failed")
                self.refuse(400, "Malformed request")
            return
        except httptools.HttpParserUpgrade:
            # Upgrades are not proxied: the request is answered as a plain one (Upgrade is
            # hop-by-hop and dropped), and the connection closes after the answer.
            if self.pending:
                request, _keep = self.pending[-1]
                self.pending[-1] = (request, False)
        except httptools.HttpParserError as exc:
            refused = _parser_refusal(exc)
            self.refuse(refused.status, refused.message)
            return
        if self.in_headers:
            # Counted after parsing, so that the chunk that began the request counts too.
            self.raw_header_bytes += len(data)
            if self.raw_header_bytes > MAX_HEADER_BYTES:
                self.refuse(431, "Request header fields too large")
                return
        self._next()

    # -- httptools callbacks ---------------------------------------------------

    def on_message_begin(self) -> None:
        self._new_message()
        self.in_headers = True
        self.deadline = self.loop.time() + HEADER_TIMEOUT

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) + 20 > UPSTREAM_MAX_REQUEST_LINE:
            raise Refused(414, "Request-URI too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            raise Refused(431, f"Too many request headers (at most {MAX_HEADERS})")
        line = len(name) + len(value) + 4
        if line > MAX_HEADER_LINE:
            raise Refused(431, "Request header field too large")
        self.header_bytes += line
        if self.header_bytes > MAX_HEADER_BYTES:
            raise Refused(431, "Request header fields too large")
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.in_headers = False
        method = self.parser.get_method().decode("ascii")
        target = self.url.decode("latin-1")
        if not target.startswith("/"):
            # An absolute-form or asterisk target: only origin-form is forwarded.
            if target.startswith(("http://", "https://")):
                target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
            else:
                self.request = GatewayRequest(method, "/", self.headers, self.peer, scheme=self.scheme)
                raise Refused(400, "Invalid request target")
        self.request = GatewayRequest(method, target, self.headers, self.peer, scheme=self.scheme)
        length = self.request.header("content-length")
        declared = int(length) if length and length.isdigit() else None
        chunked = "chunked" in (self.request.header("transfer-encoding") or "").lower()
        if declared is not None and declared > self.max_body:
            self.body = None  # refused whole; the rest of the body is not read
        elif declared or chunked:
            self.in_body = True
            self.deadline = self.loop.time() + BODY_TIMEOUT
            if (self.request.header("expect") or "").lower() == "100-continue":
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        else:
            self.deadline = NO_DEADLINE

    def on_body(self, body: bytes) -> None:
        self.deadline = self.loop.time() + BODY_TIMEOUT
        if self.body is None:
            return
        self.body_size += len(body)
        if self.body_size > self.max_body:
            self.body = None
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_body = False
        self.deadline = NO_DEADLINE
        request = self.request
        request.body = None if self.body is None else b"".join(self.body)
        self.pending.append((request, self.parser.should_keep_alive()))
        if self.body is None:
            # A body over the limit is not drained: answer, then close.
            self.pending[-1] = (request, False)

    # -- deadlines ----------------------------------------------------------------

    def expire(self) -> None:
        """The deadline passed: a client too slow with its headers or body gets 408, an idle one is closed."""
        self.deadline = NO_DEADLINE
        if self.closing or self.task is not None:
            return  # answering: the wait for the next request starts afterwards
        if self.in_headers:
            self.refuse(408, "Request header timeout: the headers took too long to arrive")
        elif self.in_body:
            self.refuse(408, "Request body timeout: the body stopped arriving")
        elif not self.pending:
            self.closing = True
            self.transport.close()  # idle between requests, or connected and silent

    # -- answering ----------------------------------------------------------------

    def _next(self) -> None:
        if self.task is None and self.pending and not self.closing:
            request, keep_alive = self.pending.popleft()
            self.task = self.loop.create_task(self._answer(request, keep_alive))
        # Requests are answered one at a time; a client far ahead waits to be read.
        if len(self.pending) >= MAX_PIPELINED and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    async def _answer(self, request: GatewayRequest, keep_alive: bool) -> None:
        try:
            reply = await self.gateway.respond(request)
        except asyncio.CancelledError:
            return
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.path)
            reply = self.gateway.http_error(500, "Internal gateway error", None)
            keep_alive = False
        if self.closing:
            return
        if reply.abort:
            # A "reset" fault: the client sees its connection cut, with no answer at all.
            self.closing = True
            self.transport.abort()
            return
        self.write(reply, keep_alive and not self.draining, head=request.method == "HEAD")
        self.task = None
        if not keep_alive or self.draining:
            self.closing = True
            self.transport.close()
            return
        if self.reading_paused:
            self.reading_paused = False
            self.transport.resume_reading()
        if self.pending:
            self._next()
        elif self.in_headers or self.in_body:  # the next request is arriving
            self.deadline = self.loop.time() + (HEADER_TIMEOUT if self.in_headers else BODY_TIMEOUT)
        else:
            self.deadline = self.loop.time() + KEEPALIVE_TIMEOUT

    def drain(self) -> None:
        """Stop taking requests: close now if idle, else after the answer in flight."""
        self.draining = True
        if self.task is None and not self.closing:
            self.closing = True
            self.transport.close()

    def write(self, reply: Reply, keep_alive: bool, *, head: bool = False) -> None:
        """Serialize ``reply`` onto the connection."""
        reason = reply.reason or reason_phrase(reply.status)
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        lines.extend(f"{name}: {value}" for name, value in reply.headers)
        if not keep_alive:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n").encode("latin-1") + DATE.header() + b"\r\n"
        self.transport.write(head_bytes if head else head_bytes + reply.body)

    def refuse(self, status: int, message: str) -> None:
        """Answer a refusal of the HTTP layer in JSON, then close the connection."""
        if self.closing:
            return
        self.closing = True
        self.deadline = NO_DEADLINE
        request = self.request
        if request is None and self.url:
            # The path was read: the refusal can speak the route's dialect.
            target = self.url.decode("latin-1")
            if target.startswith("/"):
                request = GatewayRequest("GET", target, self.headers, self.peer, scheme=self.scheme)
        if self.task is None:
            reply = self.gateway.refused_below_http(status, message, request)
            self.write(reply, keep_alive=False)
        self.transport.close()


async def serve(gateway: Gateway, sockets, *, ready: asyncio.Event | None = None) -> None:
    """Serve ``gateway`` on already-bound listening ``sockets`` until cancelled."""
    loop = asyncio.get_running_loop()
    connections: set[HttpConnection] = set()
    servers = [
        await loop.create_server(lambda: HttpConnection(gateway, connections), sock=sock, backlog=2048)
        for sock in sockets
    ]
    if ready is not None:
        ready.set()
    try:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = loop.time()
            for connection in [c for c in connections if c.deadline <= now]:
                connection.expire()
    finally:
        # Stop accepting, let the requests in flight be answered, then close.
        for server in servers:
            server.close()
        for connection in list(connections):
            connection.drain()
        deadline = loop.time() + GRACEFUL_TIMEOUT
        while connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(connections):
            connection.transport.abort()
        await gateway.close()
