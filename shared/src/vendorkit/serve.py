"""Serve the services' WSGI apps with waitress: one process per service, or several forked from one.

``python -m vendorkit.serve 'svc_wipe:create_app()@127.0.0.1:8101'`` serves one
app in this process. Given several ``APP@HOST:PORT`` arguments, it imports
what the apps share once, then forks one process per app: each service keeps
a process of its own (its own port, database and crash domain), while the
libraries' code and data are shared copy-on-write instead of loaded once per
service. ``make run`` starts the services this way.

Why waitress: its I/O thread reads each request completely before a worker
thread sees it, so clients that send slowly (or stall) hold a socket, never a
worker thread; and it is one process, with no arbiter beside the worker. What
it refuses at the HTTP layer (oversized headers, a bad Content-Length or
Transfer-Encoding) is answered here in the app's vendor envelope.

Settings (environment): SERVE_APP (the app when none is given, as in a container),
SERVE_BIND (the address of a single app given
without one, e.g. ``0.0.0.0:8000`` in a container), SERVE_THREADS (default 4), SERVE_CONNECTION_LIMIT (1000),
SERVE_CHANNEL_TIMEOUT (seconds a connection may idle, 60),
SERVE_MAX_HEADER_BYTES (65536), SERVE_MAX_BODY_BYTES (10 MiB + 64 KiB: the
app refuses anything over its own MAX_CONTENT_LENGTH in its envelope first),
SERVE_PIN_CPU (``1``: each app's process, all its threads, runs on one CPU,
the n-th app on the n-th CPU this process may use, round robin; off by default).

Why pin: an app's threads take turns on one interpreter lock, so the process
uses one CPU's worth of Python at a time anyway, and every hand-over between
its threads across two CPUs costs a cross-CPU wake-up. On one CPU, svc-emm
served about 1.6 times the requests per second (wrk, on this project's 2-vCPU
development machine). It is for
a machine the stack has to itself (``make run``), not for a container, whose
CPUs the orchestrator shares out.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("vendorkit.serve")

APP_SPEC = re.compile(r"^(?P<module>[\w.]+):(?P<attribute>\w+)(?P<call>\(\))?$")
# The apps' common libraries: imported before forking, so their memory is shared.
SHARED_MODULES = (
    "vendorkit.config",
    "vendorkit.factory",
    "vendorkit.xmlsafe",
    "vendorkit.security",
    "vendorkit.migrations",
    "vendorkit.dialects.aktion",
    "vendorkit.dialects.commvault",
    "vendorkit.dialects.dnl",
    "vendorkit.dialects.grommunio",
    "vendorkit.dialects.wso2",
    "sqlite3",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.dialects.postgresql.psycopg",
    "jwt",
    "waitress.server",
)

DIALECT_KEY = "vendorkit.dialect"
# Request threads: a thread holds the GIL to run Python, so more threads than
# this only contend for it (measured with make bench-stack: 8 threads served
# both a bare endpoint and an authenticated read more slowly than 4), while 4
# still leave threads free beside two password hashes or a slow query.
DEFAULT_THREADS = 4
# At most this many reads (64 KiB each) are discarded when a connection closes.
DRAIN_READS = 16

# (status, message) -> the headers and body of the refusal
Refuser = Callable[[int, str], tuple[list[tuple[str, str]], bytes]]


def release_free_memory() -> None:
    """Hand the C allocator's free memory back to the system (glibc; elsewhere a no-op)."""
    from vendorkit.security import malloc_trim

    malloc_trim()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}: expected an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Target:
    """One app to serve: its ``module:factory()`` spec and the address to listen on."""

    app: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, default_bind: str | None = None) -> Target:
        """``module:create_app()@host:port`` (or without ``@...`` when ``default_bind`` gives the address)."""
        app, _, bind = text.rpartition("@") if "@" in text else (text, "", default_bind or "")
        if not APP_SPEC.fullmatch(app):
            raise ValueError(f"{text!r}: expected module:attribute or module:factory()")
        host, _, port = bind.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{text!r}: expected an address host:port (after @ or by --bind)")
        return cls(app, host.strip("[]"), int(port))


def load_app(spec: str) -> Callable:
    """The WSGI app a ``module:attribute`` or ``module:factory()`` spec names."""
    match = APP_SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(f"{spec!r}: expected module:attribute or module:factory()")
    found = getattr(importlib.import_module(match["module"]), match["attribute"])
    return found() if match["call"] else found


def _refuser_for(app: Any) -> Refuser:
    """How ``app`` words an error: its vendor dialect's envelope, else a plain JSON object."""
    extensions = getattr(app, "extensions", {})
    dialect = extensions.get(DIALECT_KEY) if isinstance(extensions, dict) else None

    def refuse(status: int, message: str) -> tuple[list[tuple[str, str]], bytes]:
        if dialect is not None:
            response = dialect.generic_error(status, message)
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            return headers, response.get_data()
        body = json.dumps({"status": status, "message": message}).encode()
        return [("Content-Type", "application/json")], body

    return refuse


def guarded(app: Callable, refuse: Refuser) -> Callable:
    """``app``, answering in JSON whatever escapes it, and never logging the query string."""

    def application(environ, start_response):
        try:
            return app(environ, start_response)
        except Exception:
            log.exception("unhandled error", extra={"fields": {"path": environ.get("PATH_INFO")}})
            headers, body = refuse(500, "Internal server error")
            start_response("500 Internal Server Error", headers, sys.exc_info())
            return [body]

    return application


def _error_task_class(refuse: Refuser):
    from waitress.task import ErrorTask

    class JsonErrorTask(ErrorTask):
        """waitress's own refusals (bad framing, oversized headers or body) in the app's envelope."""

        def execute(self):
            error = self.request.error
            headers, body = refuse(error.code, error.reason)
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend(headers)
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    return JsonErrorTask


def create_server(app: Callable, host: str, port: int):
    """A waitress server for ``app`` on ``host:port`` (listening, not yet running)."""
    from waitress.channel import HTTPChannel
    from waitress.server import create_server as waitress_server

    refuse = _refuser_for(app)

    class Channel(HTTPChannel):
        error_task_class = _error_task_class(refuse)

        def handle_close(self):
            # Closing a socket with unread input resets the connection, and
            # the client may lose the refusal it was just sent: discard what
            # already arrived (without blocking) before closing.
            sock = self.socket
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setblocking(False)
                    for _ in range(DRAIN_READS):
                        if not sock.recv(65536):
                            break
            super().handle_close()

    server = waitress_server(
        guarded(app, refuse),
        host=host,
        port=port,
        threads=_env_int("SERVE_THREADS", DEFAULT_THREADS),
        connection_limit=_env_int("SERVE_CONNECTION_LIMIT", 1000),
        channel_timeout=_env_int("SERVE_CHANNEL_TIMEOUT", 60),
        max_request_header_size=_env_int("SERVE_MAX_HEADER_BYTES", 65536),
        max_request_body_size=_env_int("SERVE_MAX_BODY_BYTES", 10 * 1024 * 1024 + 65536),
        asyncore_use_poll=True,  # select() stops at 1024 descriptors
        # X-Forwarded-For and friends reach the app untouched: each service
        # decides itself which peers it believes (TRUSTED_PROXIES).
        clear_untrusted_proxy_headers=False,
        ident="",
        expose_tracebacks=False,
    )
    server.channel_class = Channel
    return server


def pin_to_one_cpu(position: int) -> None:
    """Run this thread, and the threads it starts, on one of the CPUs it may use, chosen by ``position``."""
    if not hasattr(os, "sched_setaffinity"):
        return  # not Linux: the setting does nothing
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {allowed[position % len(allowed)]})


def serve(target: Target, position: int = 0) -> None:
    """Build ``target``'s app and serve it in this process until SIGTERM or SIGINT; ``position``: its place among the apps."""
    from vendorkit import logs

    if _env_int("SERVE_PIN_CPU", 0):
        pin_to_one_cpu(position)  # before the app and the server start any thread

    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    # waitress warns whenever a request waits for a free thread: under load
    # that is every request, and says nothing the request log does not.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = load_app(target.app)
    server = create_server(app, target.host, target.port)
    # Building the app (migrations, demo data, the OpenAPI document) leaves
    # garbage behind; give its memory back before serving.
    gc.collect()
    release_free_memory()

    def stop(_signum, _frame):
        server.close()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving", extra={"fields": {"app": target.app, "address": f"{target.host}:{target.port}"}})
    server.run()


def serve_forked(targets: Iterable[Target]) -> int:
    """Fork one process per target after importing their shared libraries once; stop all when one ends."""
    from vendorkit import logs

    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    # Each service's own modules are imported by its own process, in
    # parallel with the others: no other process would share them.
    for module in SHARED_MODULES:
        importlib.import_module(module)
    # Objects that exist now are shared with every child; keep the collector
    # from touching (and so copying) their pages.
    gc.collect()
    gc.freeze()

    children: dict[int, Target] = {}
    for position, target in enumerate(targets):
        pid = os.fork()
        if pid == 0:
            _run_child(target, position)
        children[pid] = target

    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while children:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            break
        target = children.pop(pid, None)
        if target is None:
            continue
        code = os.waitstatus_to_exitcode(wait_status)
        if not stopping:
            log.error(
                "service exited; stopping the others", extra={"fields": {"app": target.app, "code": code}}
            )
            status = 1
            stop(signal.SIGTERM, None)
    return status


def _run_child(target: Target, position: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards Ctrl-C as SIGTERM
        serve(target, position)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0
    except BaseException:
        log.exception("service failed", extra={"fields": {"app": target.app}})
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m vendorkit.serve [--bind HOST:PORT] APP[@HOST:PORT] ...``."""
    parser = argparse.ArgumentParser(prog="python -m vendorkit.serve", description=__doc__.splitlines()[0])
    parser.add_argument(
        "apps",
        nargs="*",
        metavar="APP[@HOST:PORT]",
        help="e.g. 'svc_wipe:create_app()@127.0.0.1:8101' (default: SERVE_APP)",
    )
    parser.add_argument(
        "--bind",
        default=os.environ.get("SERVE_BIND"),
        help="the address of a single APP given without @HOST:PORT (default: SERVE_BIND)",
    )
    options = parser.parse_args(argv)
    # A container image names its one app in SERVE_APP, so that its command needs no shell.
    apps = options.apps or os.environ.get("SERVE_APP", "").split()
    if not apps:
        parser.error("name the app to serve (APP[@HOST:PORT] arguments, or SERVE_APP)")
    try:
        targets = [Target.parse(text, options.bind) for text in apps]
    except ValueError as error:
        parser.error(str(error))
    if len(targets) == 1:
        serve(targets[0])
        return 0
    started = time.monotonic()
    status = serve_forked(targets)
    log.info("stopped", extra={"fields": {"seconds": round(time.monotonic() - started, 1)}})
    return status


if __name__ == "__main__":
    sys.exit(main())
