"""The ``gateway`` command: ``gateway --bind HOST:PORT [--bind ...] [--workers N]``.

Reads GATEWAY_CONFIG (and RATELIMIT_STORAGE_URL, LOG_LEVEL), validates it
whole, binds every address, then serves on uvloop: in this process with one
worker, or in N forked worker processes sharing the listening sockets. With
several workers the metrics are added up over the workers (prometheus-client's
multiprocess mode, in a directory the command makes and removes); rate-limit
counters are shared through the configured storage (Redis; ``memory://``
counts per worker). The emulator's journal and faults are one state for all
workers: in Redis when the rate-limit storage is Redis (gateway.state), else,
with several workers, in a state keeper process of the command's own
(gateway.keeper). SIGTERM or SIGINT stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

from gateway.config import ConfigError, load_config
from gateway.state import redis_url

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Seconds the supervisor waits for workers to finish before killing them.
GRACEFUL_SECONDS = 10.0


def parse_bind(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a (host, port) pair."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gateway", description="The API gateway.")
    parser.add_argument(
        "--bind",
        action="append",
        type=parse_bind,
        metavar="HOST:PORT",
        help="address to listen on (repeatable; default 127.0.0.1:8080)",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    args.bind = args.bind or [("127.0.0.1", 8080)]
    return args


def run_worker(sockets: list[socket.socket]) -> None:
    """Serve on ``sockets`` in this process until SIGTERM or SIGINT."""
    import uvloop

    from gateway.app import build_from_environment
    from gateway.server import serve

    gateway = build_from_environment()
    # What start-up built lives as long as the process: set it aside from the cyclic
    # collector, so that its full collections (made more frequent by the request
    # journal's entries, which outlive their request) need not walk it each time.
    gc.collect()
    gc.freeze()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        serving = asyncio.ensure_future(serve(gateway, sockets))
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, serving.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serving

    uvloop.run(main())


KEEPER = -1  # the state keeper's number among the children


def supervise(sockets: list[socket.socket], workers: int, keeper=None) -> int:
    """Fork the workers (and the state keeper, run by ``keeper``), restart any that dies, stop all on SIGTERM/SIGINT."""
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def spawn(number: int) -> None:
        pid = os.fork()
        if pid == 0:
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            code = 0
            try:
                if number == KEEPER:
                    keeper()
                else:
                    run_worker(sockets)
            except BaseException:  # the worker's own log has said why
                code = 1
            finally:
                os._exit(code)
        children[pid] = number

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    if keeper is not None:
        spawn(KEEPER)  # first, so that it is listening (its socket is) before any worker asks
    for number in range(workers):
        spawn(number)

    deadline = None
    while children:
        if stopping and deadline is None:
            deadline = time.monotonic() + GRACEFUL_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.1)
            continue
        number = children.pop(pid, None)
        if number is not None and not stopping:
            print(
                f"gateway: worker {pid} exited ({os.waitstatus_to_exitcode(status)}); starting another",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(0.5)  # a worker that dies at once must not spin the supervisor
            spawn(number)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the gateway in the foreground."""
    args = arguments(argv)
    try:
        config = load_config()  # the whole file is checked before anything listens
    except ConfigError as exc:
        print(f"gateway: invalid configuration: {exc}", file=sys.stderr)
        return 2
    try:
        sockets = [listen(host, port) for host, port in args.bind]
    except OSError as exc:
        print(f"gateway: cannot listen: {exc}", file=sys.stderr)
        return 1
    if args.workers == 1:
        run_worker(sockets)
        return 0
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before any worker imports prometheus_client, which reads it at import time.
        metrics_dir = tempfile.mkdtemp(prefix="gateway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    state_dir = keeper_main = None
    if (config.admin.enabled or config.journal.capacity > 0) and redis_url(config.rate_limit_storage) is None:
        # No Redis to share the emulator's state through: the workers share a keeper's.
        from gateway import keeper

        state_dir = Path(tempfile.mkdtemp(prefix="gateway-state-"))
        listener = keeper.prepare(state_dir)
        os.environ[keeper.ENVIRONMENT] = str(state_dir)
        flags, capacity = state_dir / keeper.FLAGS_NAME, config.journal.capacity

        def keeper_main() -> None:
            for sock in sockets:
                sock.close()  # the keeper serves no HTTP
            keeper.serve(listener, flags, capacity)

    try:
        return supervise(sockets, args.workers, keeper_main)
    finally:
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        if state_dir:
            shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
