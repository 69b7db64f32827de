"""Gateway benchmark: the same upstream reached directly, through nginx, through the gateway and its prototypes.

Run with ``make bench-gateway`` (needs wrk and nginx: ``apt-get install wrk nginx-light``).

Every target is measured in one run, on this machine, with wrk over loopback:
after a warm-up, ``--rounds`` rounds in which each target in turn gets
``--duration`` seconds at ``--connections`` connections (throughput, latency
percentiles), then each in turn ``--duration`` seconds at one connection
(median latency). The table shows each figure's median over the rounds; the
ratios pair each Python server with nginx round by round (nginx runs just
before the gateway) and take the median, so that load from elsewhere on the
machine, which drifts during a run, weighs on both sides of a comparison. nginx gets the same
rate limit (limit_req, per client address), the same IP filter (allow/deny)
and an access log line per request, and keeps upstream connections alive, as
the gateway does. The gateway runs with its whole policy on: route match, IP
filter, a rate limit counted per client (generous, so that every request pays
for the counting and none is refused), X-Forwarded-*, request id, the JSON
access line and metrics. The prototypes run that same policy under other
servers (bench/gateway_prototypes.py).

Printed: a table of the targets, then for each Python server its throughput
against nginx's, its median added latency at one connection against nginx's,
and the resident memory of each worker after the load.
Options: --duration seconds (default 4), --rounds (default 5), --connections
(default 32), --workers (gateway and nginx worker processes, default 1), --no-prototypes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from benchlib import children, descendants, require, wrk

from vendorkit.testing import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
# Generous enough never to refuse in the benchmark, so every request pays for the counting.
RATE_PER_SECOND = 100000

NGINX_CONF = """
worker_processes {workers};
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    # One access-log line per request, as the gateway writes one JSON line per request.
    access_log {prefix}/access.log;
    limit_req_zone $binary_remote_addr zone=perclient:10m rate={rate}r/s;
    upstream echo {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location /api/v1/ {{
            allow 127.0.0.0/8;
            deny all;
            limit_req zone=perclient burst={rate} nodelay;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_pass http://echo;
        }}
    }}
}}
"""


def median_of(runs: list[dict]) -> dict:
    """Each figure's median over the rounds."""
    return {
        kind: {key: statistics.median(run[kind][key] for run in runs) for key in runs[0][kind]}
        for kind in ("load", "single")
    }


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def worker_rss(process: subprocess.Popen) -> list[float]:
    """The resident memory of each serving process (the workers, or the process itself when it serves alone)."""
    pids = descendants(process.pid)
    serving = [pid for pid in pids if not children(pid)] or pids
    return [rss_mb(pid) for pid in serving]


class Target:
    """A server under test: its command line, or none for the upstream itself."""

    def __init__(self, label: str, command: list[str] | None, port: int, env: dict[str, str] | None = None):
        self.label = label
        self.command = command
        self.port = port
        self.env = env or {}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/bench"

    def start(self, log: Path) -> None:
        if self.command is None:
            return
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                self.command,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port("127.0.0.1", self.port, process=self.process)
        time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-prototypes", action="store_true")
    args = parser.parse_args()
    require("wrk")
    nginx = require("nginx")

    workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    upstream_port = free_port()
    upstream = Target(
        "direct",
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{upstream_port}",
            "--workers",
            "2",
            "--threads",
            "8",
            "--worker-class",
            "gthread",
            "--no-control-socket",
            "echo_upstream:app",
        ],
        upstream_port,
        {"PYTHONPATH": str(HERE)},
    )
    upstream.start(workdir / "upstream.log")

    config = {
        "trusted_proxies": ["127.0.0.1/32"],
        "rate_limit_storage": "memory://",
        "routes": [
            {
                "name": "bench",
                "prefixes": ["/api/v1/"],
                "dialect": "grommunio",
                "upstreams": [f"http://127.0.0.1:{upstream_port}"],
                "rate_limits": [f"{RATE_PER_SECOND}/second"],
                "ip_allow": ["127.0.0.0/8"],
            }
        ],
    }
    (workdir / "gateway.yaml").write_text(yaml.safe_dump(config))
    gateway_env = {"GATEWAY_CONFIG": str(workdir / "gateway.yaml"), "LOG_LEVEL": "INFO"}

    nginx_port = free_port()
    (workdir / "nginx.conf").write_text(
        NGINX_CONF.format(
            workers=args.workers,
            prefix=workdir,
            rate=RATE_PER_SECOND,
            upstream_port=upstream_port,
            port=nginx_port,
        )
    )
    targets = [
        Target("direct", None, upstream_port),
        Target(
            "nginx",
            [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
            nginx_port,
        ),
    ]
    port = free_port()
    targets.append(
        Target(
            "gateway",
            [sys.executable, "-m", "gateway", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
            port,
            gateway_env,
        )
    )
    if not args.no_prototypes:
        for server in ("uvicorn", "granian"):
            port = free_port()
            targets.append(
                Target(
                    server,
                    [
                        sys.executable,
                        str(HERE / "gateway_prototypes.py"),
                        server,
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(args.workers),
                    ],
                    port,
                    gateway_env,
                )
            )

    rounds: dict[str, list[dict]] = {target.label: [] for target in targets}
    rss: dict[str, list[float]] = {}
    try:
        for target in targets:
            target.start(workdir / f"{target.label}.log")
            wrk(target.url, 2, args.connections)  # warm-up: pools filled, code paths hot
        # Round after round, every target in turn (nginx just before the gateway): load
        # from elsewhere on the machine drifts during a run, and figures taken moments
        # apart, compared round by round, feel the same load.
        for _round in range(args.rounds):
            loads = {}
            for target in targets:
                wrk(target.url, 1, args.connections)
                loads[target.label] = wrk(target.url, args.duration, args.connections)
                if target.process is not None and target.label != "nginx":
                    rss[target.label] = worker_rss(target.process)
            for target in targets:
                single = wrk(target.url, args.duration, 1, threads=1)
                rounds[target.label].append({"load": loads[target.label], "single": single})
    finally:
        for target in targets:
            target.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    results = {label: median_of(runs) | {"rss": rss.get(label, [])} for label, runs in rounds.items()}

    print(
        f"\nwrk over loopback, {args.duration}s per run, medians of {args.rounds} rounds; load = "
        f"{args.connections} connections, single = 1 connection; {args.workers} worker(s) for nginx "
        "and every Python server"
    )
    print(
        f"{'target':<9}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>9}"
        f"{'1-conn p50 ms':>15}{'RSS/worker MB':>16}"
    )
    for label, figures in results.items():
        load, single = figures["load"], figures["single"]
        rss = "/".join(f"{mb:.0f}" for mb in figures["rss"]) or "-"
        print(
            f"{label:<9}{load['rps']:>10.0f}{load['p50']:>9.2f}{load['p90']:>9.2f}{load['p99']:>9.2f}"
            f"{load['errors']:>9.0f}{single['p50']:>15.3f}{rss:>16}"
        )
    direct, ng = results["direct"], results["nginx"]
    added_nginx = ng["single"]["p50"] - direct["single"]["p50"]
    print(
        f"\nnginx: throughput {ng['load']['rps'] / direct['load']['rps']:.2f}x direct, "
        f"median added latency {added_nginx:.3f} ms"
    )
    print("Paired with nginx round by round (medians; each round's figure in brackets):")
    for label in results:
        if label in ("direct", "nginx"):
            continue
        pairs = list(zip(rounds[label], rounds["nginx"], strict=True))
        ratios = [run["load"]["rps"] / nginx_run["load"]["rps"] for run, nginx_run in pairs]
        # The added latencies' difference: the direct figure cancels out.
        over = [run["single"]["p50"] - nginx_run["single"]["p50"] for run, nginx_run in pairs]
        rss = max(results[label]["rss"], default=0.0)
        marker = " (chosen)" if label == "gateway" else ""
        print(
            f"{label + marker:<19} throughput {statistics.median(ratios):.2f}x nginx "
            f"[{', '.join(f'{r:.2f}' for r in ratios)}] (bar >= 0.50x, aim 0.80x); "
            f"median latency at 1 connection {statistics.median(over):+.3f} ms over nginx's "
            f"[{', '.join(f'{o:+.3f}' for o in over)}] (bar <= 0.5 ms); "
            f"RSS/worker {rss:.0f} MB (bar < 60 MB)"
        )


if __name__ == "__main__":
    main()
