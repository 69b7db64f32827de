"""The `make run` stack: memory, start-up time, slow clients, and authenticated reads vs a bare endpoint.

Run with ``make bench-stack`` (needs wrk: ``apt-get install wrk``). Two
stacks are measured side by side, one after the other, on this machine:

- baseline: the services under the process layout they had before, each its
  own gunicorn (gthread, an arbiter and two workers), running today's code,
  with the Procfile's gateway line;
- now: the repository's Procfile as ``make run`` starts it under honcho.

For each: seconds until every process answers, the PSS (proportional set
size, /proc/<pid>/smaps_rollup) of honcho and every process below it, once
ready, after the load and after 16 concurrent logins on svc-emm (argon2id,
19 MiB each); whether a plain request still gets through
while 64 clients trickle request headers one byte a second; and, with wrk on
svc-emm's own port, requests per second of ``GET /healthz`` and of a
token-authenticated read (``GET /mdm-admin/users/count``, Bearer token) on
SQLite. The same two endpoints are then measured on PostgreSQL (a throwaway
cluster) with svc-emm alone under each server (now: on one CPU, SERVE_PIN_CPU=1, as
the Procfile serves it). Printed: each figure, the
now/baseline ratio, and the targets (PSS under 350 MB, ready within 10 s,
authenticated read at least 0.5x the bare endpoint).

Each endpoint is run 5 times, alternating; the medians are printed.
Options: --duration seconds per wrk run (default 3), --connections (default 8),
--skip-baseline (only the stack as it is now), --gateway-line
'gateway: <command>' (the same in both stacks; default: the Procfile's).
The ports of ``make run`` (8080, 8101-8106) must be free.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import descendants, require, wrk

from vendorkit.testing import PostgresServer, free_port, http_request

REPO = Path(__file__).resolve().parents[1]
GATEWAY_PORT = 8080
SERVICE_PORTS = {"wipe": 8101, "bulkuser": 8102, "offboard": 8103, "emm": 8104, "agenda": 8105}
EMM_PORT = SERVICE_PORTS["emm"]
AUTH_READ = "/mdm-admin/users/count"
PSS_TARGET_MB = 350
READY_TARGET_S = 10
RATIO_TARGET = 0.5
SLOW_CLIENTS = 64
ROUNDS = 5  # wrk runs per endpoint, alternating
CONCURRENT_LOGINS = 16  # argon2id verifications at once, 19 MiB each

# How the services ran before: one gunicorn (arbiter + 2 gthread workers) per service.
BASELINE_SERVICE = (
    "{name}: env DATABASE_URL=sqlite:///var/svc-{name}.db .venv/bin/gunicorn -c python:vendorkit.gunicorn_conf "
    "--bind 127.0.0.1:{port} 'svc_{name}:create_app()'"
)
BASELINE_EMM = [
    ".venv/bin/gunicorn", "-c", "python:vendorkit.gunicorn_conf", "--bind", "127.0.0.1:{port}", "svc_emm:create_app()",
]  # fmt: skip
NOW_EMM = [".venv/bin/python", "-m", "vendorkit.serve", "svc_emm:create_app()@127.0.0.1:{port}"]
NOW_EMM_ENV = {"SERVE_PIN_CPU": "1"}  # as the Procfile serves the services


@dataclass
class Figures:
    """What one run measured."""

    label: str
    ready_s: float = 0.0
    pss_mb: float = 0.0
    processes: int = 0
    pss_after_load_mb: float = 0.0
    pss_after_logins_mb: float = 0.0
    slow_clients: str = ""
    rps: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)


def run_wrk(url: str, duration: int, connections: int, header: str | None = None) -> float:
    """Requests per second wrk reaches on ``url`` (non-2xx answers make the run fail)."""
    figures = wrk(url, duration, connections, threads=1, extra=["-H", header] if header else [])
    if figures["non_2xx"]:
        sys.exit(f"wrk saw {figures['non_2xx']:.0f} error answers from {url}")
    return figures["rps"]


def emm_token(port: int) -> str:
    """An access token of svc-emm's demo admin."""
    answer = http_request(
        "POST",
        f"http://127.0.0.1:{port}/oauth2/token",
        body="grant_type=password&username=admin&password=admin-demo",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    return answer.json()["access_token"]


def measure_reads(figures: Figures, prefix: str, port: int, duration: int, connections: int) -> None:
    """wrk on svc-emm's /healthz and on its token-authenticated read, alternating, ROUNDS times each.

    The medians are kept: on a shared machine one run can be slowed by
    something else, and alternating exposes both endpoints to it alike.
    """
    base = f"http://127.0.0.1:{port}"
    header = f"Authorization: Bearer {emm_token(port)}"
    run_wrk(base + AUTH_READ, 1, connections, header)  # warm-up: connections pooled, statements cached
    bare, authenticated = [], []
    for _ in range(ROUNDS):
        bare.append(run_wrk(base + "/healthz", duration, connections))
        authenticated.append(run_wrk(base + AUTH_READ, duration, connections, header))
    figures.rps[f"{prefix} /healthz"] = statistics.median(bare)
    figures.rps[f"{prefix} auth read"] = statistics.median(authenticated)
    figures.ratios[prefix] = statistics.median(a / b for a, b in zip(authenticated, bare, strict=True))


def pss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def tree_pss(root: int) -> tuple[float, int]:
    """The PSS in MB of ``root`` and its descendants, and how many processes they are."""
    pids = descendants(root)
    return sum(pss_kb(pid) for pid in pids) / 1024, len(pids)


def ports_free() -> None:
    for port in (GATEWAY_PORT, *SERVICE_PORTS.values()):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                sys.exit(f"port {port} is in use: stop `make run` (or whatever listens there) first")


def answers(port: int, path: str) -> bool:
    with contextlib.suppress(OSError):
        return http_request("GET", f"http://127.0.0.1:{port}{path}", timeout=2).status == 200
    return False


def slow_client_probe(port: int, seconds: float = 6.0) -> str:
    """Plain requests while SLOW_CLIENTS connections send their headers one byte a second."""
    stop = threading.Event()
    sockets = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        sockets.append(sock)

    def trickle():
        while not stop.wait(1.0):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    latencies, failures = [], 0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = http_request("GET", f"http://127.0.0.1:{port}/healthz", timeout=3).status == 200
            except OSError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures += 1
            time.sleep(0.25)
    finally:
        stop.set()
        thread.join()
        for sock in sockets:
            sock.close()
    worst = f"{max(latencies):.0f} ms" if latencies else "-"
    return f"{len(latencies)} ok, {failures} failed, worst {worst}"


def workspace(procfile: str) -> Path:
    """A directory that looks like the repository (links) with its own var/ and ``procfile``."""
    root = Path(tempfile.mkdtemp(prefix="vk-stack-bench-"))
    for entry in REPO.iterdir():
        if entry.name not in ("var", "Procfile"):
            (root / entry.name).symlink_to(entry)
    (root / "var").mkdir()
    (root / "Procfile").write_text(procfile)
    return root


def procfile(*, baseline: bool, gateway_line: str | None) -> str:
    """The repository's Procfile (its gateway line replaced by ``gateway_line`` if given), or the baseline's."""
    lines = (REPO / "Procfile").read_text().splitlines()
    if gateway_line:
        lines = [gateway_line if line.startswith("gateway:") else line for line in lines]
    if not baseline:
        return "\n".join(lines) + "\n"
    gateway = [line for line in lines if line.startswith("gateway:")]
    services = [BASELINE_SERVICE.format(name=name, port=port) for name, port in SERVICE_PORTS.items()]
    return "\n".join(gateway + services) + "\n"


def run_stack(figures: Figures, procfile: str, args: argparse.Namespace) -> None:
    """Start ``procfile`` under honcho as ``make run`` does, measure, stop."""
    ports_free()
    root = workspace(procfile)
    environment = {
        **os.environ,
        "DEMO_DATA": "1",
        "GATEWAY_CONFIG": str(REPO / "gateway" / "src" / "gateway" / "demo.yaml"),
        "RATELIMIT_STORAGE_URL": "memory://",
        "LOG_LEVEL": "WARNING",
    }
    environment.pop("DATABASE_URL", None)
    log = open(root / "honcho.log", "wb")  # noqa: SIM115 (closed below, after the processes)
    started = time.monotonic()
    honcho = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "honcho"), "-f", "Procfile", "start"],
        cwd=root,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        waiting = {port: "/readyz" for port in SERVICE_PORTS.values()} | {GATEWAY_PORT: "/_gateway/healthz"}
        while waiting:
            if honcho.poll() is not None or time.monotonic() - started > 120:
                tail = (root / "honcho.log").read_text(errors="replace")[-3000:]
                sys.exit(f"{figures.label}: the stack did not come up:\n{tail}")
            waiting = {port: path for port, path in waiting.items() if not answers(port, path)}
            time.sleep(0.05)
        figures.ready_s = time.monotonic() - started
        time.sleep(2)  # let start-up garbage be collected
        figures.pss_mb, figures.processes = tree_pss(honcho.pid)
        figures.slow_clients = slow_client_probe(SERVICE_PORTS["wipe"])
        measure_reads(figures, "SQLite", EMM_PORT, args.duration, args.connections)
        figures.pss_after_load_mb, _ = tree_pss(honcho.pid)
        with ThreadPoolExecutor(CONCURRENT_LOGINS) as pool:
            list(pool.map(lambda _: emm_token(EMM_PORT), range(CONCURRENT_LOGINS * 2)))
        time.sleep(1)
        figures.pss_after_logins_mb, _ = tree_pss(honcho.pid)
    finally:
        honcho.send_signal(signal.SIGINT)
        try:
            honcho.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(5)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def run_emm_on_postgres(
    figures: Figures, command: list[str], url: str, args: argparse.Namespace, env: dict[str, str]
) -> None:
    """svc-emm alone on PostgreSQL under ``command`` with ``env``: its two endpoints' throughput."""
    port = free_port()
    process = subprocess.Popen(
        [part.format(port=port) for part in command],
        cwd=REPO,
        env={**os.environ, **env, "DATABASE_URL": url, "DEMO_DATA": "1", "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not answers(port, "/readyz"):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{figures.label}: svc-emm did not start on PostgreSQL")
            time.sleep(0.1)
        measure_reads(figures, "PostgreSQL", port, args.duration, args.connections)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def ratio(figures: Figures, database: str) -> float:
    """The median over the rounds of authenticated read / bare endpoint."""
    return figures.ratios[database]


def report(runs: list[Figures], args: argparse.Namespace) -> bool:
    """Print the table; whether the current stack meets every target."""
    now = runs[-1]
    baseline = runs[0] if len(runs) > 1 else None
    rows: list[tuple[str, str, str, str]] = []

    def row(name: str, value, base=None, fmt: str = "{:.1f}", target: str = "") -> None:
        shown = fmt.format(value)
        if baseline is None:
            rows.append((name, shown, "", target))
            return
        change = f"{value / base:.2f}x" if base else "-"
        rows.append((name, f"{fmt.format(base)} -> {shown}", change, target))

    b = baseline or now
    row("stack ready (s)", now.ready_s, b.ready_s, target=f"<= {READY_TARGET_S}")
    row("stack PSS, ready (MB)", now.pss_mb, b.pss_mb, "{:.0f}", target=f"< {PSS_TARGET_MB}")
    row("processes", now.processes, b.processes, "{:.0f}")
    row("stack PSS, after load (MB)", now.pss_after_load_mb, b.pss_after_load_mb, "{:.0f}")
    row(
        f"stack PSS, after {CONCURRENT_LOGINS} concurrent logins (MB)",
        now.pss_after_logins_mb,
        b.pss_after_logins_mb,
        "{:.0f}",
    )
    for database in ("SQLite", "PostgreSQL"):
        for endpoint in ("/healthz", "auth read"):
            key = f"{database} {endpoint}"
            row(f"{key} (req/s)", now.rps[key], b.rps[key], "{:.0f}")
        row(
            f"{database} auth read / healthz",
            ratio(now, database),
            ratio(b, database),
            "{:.2f}",
            f">= {RATIO_TARGET}",
        )

    print(
        f"\nwrk over loopback, {ROUNDS} x {args.duration}s per endpoint (medians), {args.connections} connections; svc-emm on its own port"
    )
    print(f"auth read = GET {AUTH_READ} with a Bearer token; PSS from /proc/<pid>/smaps_rollup\n")
    header = ("", "baseline -> now" if baseline else "now", "now/baseline" if baseline else "", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for line in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"\nslow clients ({SLOW_CLIENTS} trickling headers, plain requests to svc-wipe):")
    for figures in runs:
        print(f"  {figures.label}: {figures.slow_clients}")
    met = (
        now.pss_mb < PSS_TARGET_MB
        and now.ready_s <= READY_TARGET_S
        and all(ratio(now, database) >= RATIO_TARGET for database in ("SQLite", "PostgreSQL"))
    )
    print("\ntargets " + ("met" if met else "NOT met"))
    print(json.dumps({f.label: f.__dict__ for f in runs}))
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--gateway-line", help="a Procfile line to start the gateway with instead of the Procfile's"
    )
    args = parser.parse_args()
    require("wrk")

    runs = [] if args.skip_baseline else [Figures("baseline (gunicorn per service)")]
    runs.append(Figures("now (Procfile)"))
    for figures in runs:
        lines = procfile(baseline=figures is not runs[-1], gateway_line=args.gateway_line)
        print(f"{figures.label}: starting the stack", flush=True)
        run_stack(figures, lines, args)

    postgres = PostgresServer().init()
    postgres.start()
    try:
        for index, figures in enumerate(runs):
            command, env = (NOW_EMM, NOW_EMM_ENV) if figures is runs[-1] else (BASELINE_EMM, {})
            print(f"{figures.label}: svc-emm on PostgreSQL", flush=True)
            run_emm_on_postgres(figures, command, postgres.create_database(f"emm_{index}"), args, env)
    finally:
        postgres.destroy()
    sys.exit(0 if report(runs, args) else 1)


if __name__ == "__main__":
    main()
