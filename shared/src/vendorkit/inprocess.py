"""The vendors inside the test process, the way moto serves AWS: ``mock_vendors()``.

While a ``mock_vendors()`` block runs, every ``requests`` call to a vendor's
base URL is answered in this process, with no socket and no subprocess:

- ``requests`` is patched at its transport (``HTTPAdapter.send``) by the
  ``responses`` library; calls to any other URL pass through untouched.
- The call becomes the request the gateway's HTTP layer would have read, and
  the gateway's own policy answers it (``gateway.app.Gateway``, the
  ``make run`` configuration): routing, rate limits, the vendors' envelopes
  for refusals, faults and the journal with its redaction, and the admin API
  under ``/_gateway/``. The gateway runs on an event loop in a thread of its
  own, as in the server, so that a ``delay`` fault delays one caller only.
- Where the gateway would open a connection to a service, the request it
  wrote is handed to that service's WSGI app instead (``WsgiReplica``).

The five apps are built once per process, the first time a request needs
one (migrations and demo data on an in-memory SQLite database take a second
or so each). In every later ``mock_vendors()`` block an app is reset to its
demo data, every session ended, as ``POST /_admin/reset`` does, before its
first use (in milliseconds: the data loaded at the start is kept as the
demo document).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import importlib.resources
import io
import json
import logging
import re
import sys
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http.client import RemoteDisconnected
from typing import TYPE_CHECKING, Any

import requests
import responses
import yaml
from sqlalchemy import delete, insert
from sqlalchemy.exc import SAWarning
from urllib3.exceptions import ProtocolError

from vendorkit import admin, db
from vendorkit.pytest_plugin import VENDOR_SERVICES, VendorStack, VendorStackError

if TYPE_CHECKING:
    from flask import Flask

    from gateway.app import Gateway
    from gateway.client import UpstreamResponse
    from gateway.config import Route

GATEWAY_URL = "http://127.0.0.1:8080"
# Each vendor's base URL on the `make run` gateway (svc-leaver's demo configuration names the
# same): its path is what a request's path after a base URL given to mock_vendors() is put under.
# WSO2's API spans /mdm-admin/ and /oauth2/, so its base URL is the server's root.
BASE_PATHS = {
    "wipe": "/api/v1",
    "bulkuser": "/v1",
    "offboard": "/webconsole/api",
    "emm": "",
    "agenda": "/AktionNEXT/API",
}
# responses matches one method per registration; these are the ones HTTP APIs use.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# What the gateway sees as the client: a process on the same machine, as with `make run`.
CLIENT_ADDRESS = "127.0.0.1"
# Settings of the services here; the rest comes from the environment, as for the launched stack.
SERVICE_SETTINGS = {
    "DATABASE_URL": "sqlite://",
    "DEMO_DATA": True,
    "ADMIN_API": True,
    "ADMIN_TOKEN": "",
    "LOG_LEVEL": "WARNING",
    # svc-emm keeps its mail in its outbox table only: no SMTP connection.
    "MAIL_HOST": "",
}
DEFAULT_PORTS = {"http": 80, "https": 443}


# -- the services -------------------------------------------------------------------------------


class ServiceApps:
    """The five services' apps, each built once per process on an in-memory SQLite database."""

    def __init__(self) -> None:
        self._apps: dict[str, Flask] = {}
        # The apps already at their demo data in the current block (built, or reset, in it).
        self._fresh: set[str] = set()
        self._locks = {route: threading.Lock() for route in VENDOR_SERVICES}

    def app(self, route: str) -> Flask:
        """The route's service app: built on first use, reset on its first use in a block."""
        if route in self._fresh:
            return self._apps[route]
        with self._locks[route]:
            if route not in self._apps:
                self._apps[route] = self._build(route)
            elif route not in self._fresh:
                app = self._apps[route]
                with app.app_context():
                    admin.reset(app)
            self._fresh.add(route)
            return self._apps[route]

    @staticmethod
    def _build(route: str) -> Flask:
        module = importlib.import_module(VENDOR_SERVICES[route])
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        try:
            app = module.create_app(dict(SERVICE_SETTINGS))
        finally:
            # The app factory sends the root logger to stdout as JSON; the test process keeps its own logging.
            root.handlers[:] = handlers
            root.setLevel(level)
        with warnings.catch_warnings():
            # The admin API reflects the tables once per process; SQLite's reflection warns that it
            # skips expression indexes (which a state document does not need) in the caller's process.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", SAWarning)
            document = admin.read_state(app)
        # What the app holds now is its demo data, just loaded: keep it as the admin API's demo
        # document (as its first reset would), so that resets write these rows back in milliseconds
        # instead of running the demo loader and its password hashing again.
        with db.engine(app).begin() as connection:
            connection.execute(delete(admin.ADMIN_STATE))
            connection.execute(insert(admin.ADMIN_STATE).values(id=1, demo_document=json.dumps(document)))
        return app

    def start_afresh(self) -> None:
        """Begin a block: each app is reset to its demo data (every session ended) before its first use in it."""
        self._fresh.clear()


_services: ServiceApps | None = None
_services_lock = threading.Lock()


def service_apps() -> ServiceApps:
    """The process's service apps (none is built before a request needs it)."""
    global _services
    with _services_lock:
        if _services is None:
            _services = ServiceApps()
        return _services


class WsgiReplica:
    """A route's one replica, the service's WSGI app: the upstream set, its endpoint, pool and connection at once.

    The gateway forwards as it does over a socket (``Gateway.forward``): it
    writes the HTTP/1.1 request, and ``exchange`` reads it back into a WSGI
    environ, runs the app in the services' thread and answers what the app
    answered. An app that runs past the route's read timeout is a read
    timeout; one that raises is a broken connection, as a crashed worker's.
    """

    def __init__(self, route: str, apps: ServiceApps, executor: concurrent.futures.Executor):
        self.route = route
        self.apps = apps
        self.executor = executor
        self.label = f"svc-{route}"  # the journal's "upstream": http://svc-<route>
        self.host_header = self.label
        self.pool = self

    # -- the UpstreamSet face ------------------------------------------------------

    async def attempt_order(self) -> list[WsgiReplica]:
        """The replicas to try: this one."""
        return [self]

    def eject(self, _endpoint: WsgiReplica) -> None:
        """Nothing to eject: the one replica is always there."""

    def close(self) -> None:
        """Nothing to close: no connection was opened."""

    # -- the pool and connection face ----------------------------------------------

    async def acquire(self) -> tuple[WsgiReplica, bool]:
        """A connection to the app: itself."""
        return self, False

    def release(self, _connection: WsgiReplica, _response: UpstreamResponse | None) -> None:
        """Nothing to give back."""

    async def exchange(self, wire: bytes, *, head: bool, read_timeout: float) -> UpstreamResponse:
        """Answer one request, as the gateway wrote it for the wire, with the app."""
        from gateway.client import ConnectionBroken, ReadTimedOut, UpstreamResponse

        environ = wsgi_environ(wire)
        loop = asyncio.get_running_loop()
        try:
            status, headers, body = await asyncio.wait_for(
                loop.run_in_executor(self.executor, self._call, environ), read_timeout
            )
        except TimeoutError:
            raise ReadTimedOut("the service did not answer in time") from None
        except Exception as exc:
            raise ConnectionBroken(f"the service failed: {type(exc).__name__}") from exc
        code, _, reason = status.partition(" ")
        return UpstreamResponse(int(code), reason, headers, b"" if head else body, True)

    def _call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        from werkzeug.test import run_wsgi_app

        chunks, status, headers = run_wsgi_app(self.apps.app(self.route), environ, buffered=True)
        return status, headers.to_wsgi_list(), b"".join(chunks)


class _RequestReader:
    """httptools' callbacks, collecting one request."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)


def wsgi_environ(wire: bytes) -> dict[str, Any]:
    """The WSGI environ a server (gunicorn, waitress) would give the app for this HTTP/1.1 request."""
    import httptools

    reader = _RequestReader()
    parser = httptools.HttpRequestParser(reader)
    parser.feed_data(wire)
    target = reader.url.decode("latin-1")
    path, _, query = target.partition("?")
    body = b"".join(reader.body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": parser.get_method().decode("ascii"),
        "SCRIPT_NAME": "",
        "PATH_INFO": urllib.parse.unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "RAW_URI": target,
        "REQUEST_URI": target,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in reader.headers:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    host, _, port = environ.get("HTTP_HOST", "localhost").partition(":")
    environ["SERVER_NAME"], environ["SERVER_PORT"] = host, port or "80"
    return environ


# -- the base URLs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A URL served here: requests under ``scheme://host:port/path`` go to the gateway under ``gateway_path``."""

    scheme: str
    host: str
    port: int
    path: str
    gateway_path: str
    route: str | None  # None: the gateway's own URL, every path as it is

    def gateway_target(self, path: str, query: str) -> str | None:
        """The request target the gateway gets for ``path``, or None when the path is not under this entry."""
        if self.path and path != self.path and not path.startswith(self.path + "/"):
            return None
        rest = path[len(self.path) :]
        target = (self.gateway_path + rest) or "/"
        return f"{target}?{query}" if query else target


def _origin(url: str, where: str) -> tuple[str, str, int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{where}: expected an http:// or https:// URL, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{where}: a base URL has no query or fragment, got {url!r}")
    return parts.scheme, parts.hostname.lower(), parts.port or DEFAULT_PORTS[parts.scheme], parts.path


def served_entries(base_urls: dict[str, str], prefixes: dict[str, list[str]]) -> list[Entry]:
    """The URLs served: the gateway's (every path) and each route's base URL, longest path first.

    A path after a base URL goes under the route's `make run` base path, or
    under the base URL's own path when that is one of the route's prefixes
    (Commvault's /commandcenter/api beside /webconsole/api).
    """
    scheme, host, port, _ = _origin(GATEWAY_URL, "gateway")
    entries = [Entry(scheme, host, port, "", "", None)]
    for route, url in base_urls.items():
        scheme, host, port, path = _origin(url, route)
        path = path.rstrip("/")
        gateway_path = path if path + "/" in prefixes[route] else BASE_PATHS[route]
        entries.append(Entry(scheme, host, port, path, gateway_path, route))
    return sorted(entries, key=lambda entry: len(entry.path), reverse=True)


# -- mock_vendors() -----------------------------------------------------------------------------

_active = threading.Lock()


class MockVendors(VendorStack, contextlib.ContextDecorator):
    """The vendors in this process while the block (or the decorated function) runs; see ``mock_vendors``."""

    def __init__(self, **base_urls: str):
        unknown = sorted(set(base_urls) - set(VENDOR_SERVICES))
        if unknown:
            raise TypeError(
                f"mock_vendors() got an unexpected keyword argument {unknown[0]!r}; "
                f"the routes are {', '.join(VENDOR_SERVICES)}"
            )
        super().__init__(GATEWAY_URL)
        for route, url in base_urls.items():
            _origin(url, route)
        self._given = dict(base_urls)
        # Each route's base URL: the one given, or the route's on the `make run` gateway.
        self.base_urls = {
            route: base_urls.get(route, GATEWAY_URL + BASE_PATHS[route]) for route in VENDOR_SERVICES
        }
        self.entries: list[Entry] = []
        self.gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._mock: responses.RequestsMock | None = None

    # -- the block --------------------------------------------------------------------

    def __enter__(self) -> MockVendors:
        if not _active.acquire(blocking=False):
            raise VendorStackError("mock_vendors() is already active in this process; blocks do not nest")
        try:
            self._start()
        except BaseException:
            self._stop()
            _active.release()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self._stop()
        finally:
            _active.release()

    def _start(self) -> None:
        from gateway.app import Gateway
        from gateway.config import parse_config

        apps = service_apps()
        apps.start_afresh()
        # One thread for the services: on SQLite in memory they share one connection.
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mock-vendors-service")
        executor = self._executor

        def replica(route: Route) -> WsgiReplica:
            return WsgiReplica(route.name, apps, executor)

        config = gateway_config()
        prefixes = {route["name"]: route["prefixes"] for route in config["routes"]}
        self.entries = served_entries(self._given, prefixes)
        self.gateway = Gateway(parse_config(config, environ={}), upstreams=replica)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mock-vendors-gateway", daemon=True
        )
        self._thread.start()
        # Passing through to the adapter's send of the moment keeps a caller's own mock of requests working.
        self._mock = responses.RequestsMock(
            assert_all_requests_are_fired=False, real_adapter_send=requests.adapters.HTTPAdapter.send
        )
        for method in METHODS:
            self._mock.add(
                responses.CallbackResponse(
                    method, re.compile(".*"), self._answer, content_type=None, match=[self._is_served]
                )
            )
        self._mock.add_passthru(re.compile(".*"))
        self._mock.start()

    def _stop(self) -> None:
        if self._mock is not None:
            self._mock.stop(allow_assert=False)
            self._mock = None
        if self._loop is not None:
            if self._thread is not None and self._thread.is_alive():
                asyncio.run_coroutine_threadsafe(self._wind_down(), self._loop).result(30)
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(10)
            self._loop.close()
            self._loop = self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.gateway = None
        self.close()

    async def _wind_down(self) -> None:
        # Requests still waiting (a delay or timeout fault whose caller gave up) end with the block.
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.gateway is not None:
            await self.gateway.close()

    def _call(self, method: str, path: str, **options: Any) -> Any:
        if self.gateway is None:
            raise VendorStackError(f"{method} {path}: no mock_vendors() block is running for this object")
        return super()._call(method, path, **options)

    # -- one call of requests --------------------------------------------------------------

    def _target(self, url: str) -> tuple[str, str] | None:
        """The gateway's request target and scheme for ``url``, or None when it is not served here."""
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS or not parts.hostname:
            return None
        host, port = parts.hostname.lower(), parts.port or DEFAULT_PORTS[scheme]
        path = parts.path or "/"
        for entry in self.entries:
            if (entry.scheme, entry.host, entry.port) == (scheme, host, port):
                target = entry.gateway_target(path, parts.query)
                if target is not None:
                    return target, scheme
        return None

    def _is_served(self, request: requests.PreparedRequest) -> tuple[bool, str]:
        # A matcher of responses: only the vendors' URLs are answered here, the rest passes through.
        if self._target(request.url) is None:
            return False, "not a vendor URL"
        return True, ""

    def _answer(self, request: requests.PreparedRequest) -> Any:
        """Answer one call of requests through the gateway; requests' exceptions where the real stack gives them."""
        from gateway.app import GatewayRequest

        target, scheme = self._target(request.url)  # _is_served matched it
        body = _body_bytes(request.body)
        headers = list(request.headers.items())
        names = {name.lower() for name, _ in headers}
        if "host" not in names:  # http.client adds it on the wire
            headers.insert(0, ("Host", urllib.parse.urlsplit(request.url).netloc))
        if body and "content-length" not in names and "transfer-encoding" not in names:
            headers.append(("Content-Length", str(len(body))))
        gateway = self.gateway
        call = GatewayRequest(
            request.method,
            target,
            headers,
            CLIENT_ADDRESS,
            body=None if len(body) > gateway.config.max_body_bytes else body,
            scheme=scheme,
        )
        # Services are built before the caller's timeout starts counting.
        for route in self._routes_for(call.path):
            service_apps().app(route)
        read_timeout = _read_timeout(request.req_kwargs.get("timeout"))
        future = asyncio.run_coroutine_threadsafe(gateway.respond(call), self._loop)
        try:
            reply = future.result(read_timeout)
        except TimeoutError:
            parts = urllib.parse.urlsplit(request.url)
            pool = "HTTPSConnectionPool" if parts.scheme == "https" else "HTTPConnectionPool"
            port = parts.port or DEFAULT_PORTS[parts.scheme]
            return requests.exceptions.ReadTimeout(
                f"{pool}(host={parts.hostname!r}, port={port}): Read timed out. (read timeout={read_timeout})",
                request=request,
            )
        if reply.abort:  # a reset fault: the connection closed without an answer
            return requests.exceptions.ConnectionError(
                ProtocolError(
                    "Connection aborted.", RemoteDisconnected("Remote end closed connection without response")
                ),
                request=request,
            )
        return reply.status, [*reply.headers, ("Date", formatdate(usegmt=True))], reply.body

    def _routes_for(self, path: str) -> Iterable[str]:
        """The routes whose services answering ``path`` needs."""
        if path.startswith(("/_gateway/reset", "/_gateway/state", "/_gateway/readyz")):
            return VENDOR_SERVICES
        if path.startswith("/_gateway/docs/specs/"):
            name = path.rsplit("/", 1)[1].removesuffix(".json")
            return [name] if name in VENDOR_SERVICES else []
        runtime = self.gateway.match(path)
        return [runtime.route.name] if runtime is not None and runtime.route.name in VENDOR_SERVICES else []


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    # A generator of chunks (a chunked upload): the gateway reads the whole body first anyway.
    return b"".join(chunk.encode("utf-8") if isinstance(chunk, str) else chunk for chunk in body)


def _read_timeout(timeout: Any) -> float | None:
    """The read timeout of requests' ``timeout`` (a number, a (connect, read) pair, or urllib3's Timeout)."""
    if isinstance(timeout, tuple):
        return timeout[1]
    read = getattr(timeout, "read_timeout", timeout)
    return read if isinstance(read, int | float) else None


def gateway_config() -> dict[str, Any]:
    """The gateway's `make run` configuration, its five vendor routes forwarding to the apps of this process."""
    config = yaml.safe_load(importlib.resources.files("gateway").joinpath("demo.yaml").read_text())
    config["routes"] = [route for route in config["routes"] if route["name"] in VENDOR_SERVICES]
    for route in config["routes"]:
        route["upstreams"] = [f"http://svc-{route['name']}"]
    config["rate_limit_storage"] = "memory://"
    config["admin"] = {"enabled": True, "token": None, "allow": ["127.0.0.1/32", "::1/128"]}
    return config


def mock_vendors(function: Callable | None = None, /, **base_urls: str) -> Any:
    """The vendors in this process for a ``with`` block or a decorated function; keywords give routes' base URLs."""
    if function is not None:  # used as @mock_vendors, without parentheses
        return MockVendors()(function)
    return MockVendors(**base_urls)
