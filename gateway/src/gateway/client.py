"""A pooled HTTP/1.1 client for the upstreams, on asyncio and httptools.

The gateway sends every request with its whole body (it has already read it)
and reads every answer whole, so the client needs no streaming: one request
written, one response parsed, the connection back in the pool if both sides
keep it alive. Failures are told apart by whether the request could have
reached the upstream, because only that decides whether it may be retried.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import time

import httptools


class UpstreamError(Exception):
    """An exchange with an upstream failed."""


class ConnectFailed(UpstreamError):
    """No connection could be made: the request never reached the upstream."""

    def __init__(self, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class ReadTimedOut(UpstreamError):
    """The upstream took longer than the read timeout to answer."""


class ConnectionBroken(UpstreamError):
    """The connection closed or sent something that is not HTTP before the answer was complete."""


class UpstreamResponse:
    """An upstream's complete answer."""

    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(
        self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes, keep_alive: bool
    ):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class UpstreamConnection(asyncio.Protocol):
    """One kept-alive connection to an upstream, carrying one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.last_used = time.monotonic()
        self._waiter: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reset()

    def _reset(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._reason = ""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._framed = False  # the body's end is known (Content-Length or chunked)
        self._head = False

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: the connection is unusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionBroken(f"invalid response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and not self._framed:
                self._finish(keep_alive=False)  # the body ran until the connection closed
            else:
                self._fail(ConnectionBroken("the upstream closed the connection"))

    # -- httptools callbacks --------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self._reason += reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == "content-length" or (lowered == "transfer-encoding" and "chunked" in value.lower()):
                self._framed = True
        status = self._parser.get_status_code()
        if status in (204, 304) or 100 <= status < 200:
            self._framed = True
        if self._head:
            # httptools cannot be told that a HEAD answer has no body; stop here and
            # drop the connection, so that no body bytes are mistaken for the next answer.
            self._finish(keep_alive=False)
            self.close()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._finish(keep_alive=self._parser.should_keep_alive())

    # -- the exchange ---------------------------------------------------------

    def _finish(self, *, keep_alive: bool) -> None:
        response = UpstreamResponse(
            self._parser.get_status_code(), self._reason, self._headers, b"".join(self._body), keep_alive
        )
        self._waiter.set_result(response)

    def _fail(self, error: UpstreamError) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)

    def _timed_out(self) -> None:
        self._fail(ReadTimedOut("the upstream did not answer in time"))
        self.close()

    async def exchange(self, request: bytes, *, head: bool, read_timeout: float) -> UpstreamResponse:
        """Send one serialized request and wait for the complete response."""
        self._reset()
        self._head = head
        self._waiter = self.loop.create_future()
        self._timer = self.loop.call_later(read_timeout, self._timed_out)
        try:
            self.transport.write(request)
            return await self._waiter
        finally:
            self._timer.cancel()
            self._waiter = None
            self.last_used = time.monotonic()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class ConnectionPool:
    """Kept-alive connections to one upstream address, reused most-recent first."""

    def __init__(
        self,
        address: str,
        port: int,
        *,
        connect_timeout: float,
        tls_hostname: str | None = None,
        max_idle: int = 64,
        max_idle_seconds=lambda: 1.0,
    ):
        self.address = address
        self.port = port
        self.connect_timeout = connect_timeout
        self.tls_hostname = tls_hostname
        self.max_idle = max_idle
        self.max_idle_seconds = max_idle_seconds
        self._idle: collections.deque[UpstreamConnection] = collections.deque()

    async def acquire(self) -> tuple[UpstreamConnection, bool]:
        """A connection and whether it is new; ConnectFailed when none can be made."""
        idle_limit = self.max_idle_seconds()
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.closed:
                continue
            if now - connection.last_used > idle_limit:
                connection.close()
                continue
            return connection, False
        return await self._connect(), True

    async def _connect(self) -> UpstreamConnection:
        loop = asyncio.get_running_loop()
        tls = None
        if self.tls_hostname is not None:
            tls = ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _transport, connection = await loop.create_connection(
                    lambda: UpstreamConnection(loop),
                    self.address,
                    self.port,
                    ssl=tls,
                    server_hostname=self.tls_hostname if tls else None,
                )
        except TimeoutError:
            raise ConnectFailed("connect timed out", timed_out=True) from None
        except OSError as exc:
            raise ConnectFailed(f"connect failed: {exc.strerror or exc}") from None
        return connection

    def release(self, connection: UpstreamConnection, response: UpstreamResponse | None) -> None:
        """Give a connection back after a complete exchange, or close it."""
        if (
            response is None
            or not response.keep_alive
            or connection.closed
            or len(self._idle) >= self.max_idle
        ):
            connection.close()
            return
        self._idle.append(connection)

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()
