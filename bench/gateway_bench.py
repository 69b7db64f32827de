"""Gateway benchmark: the same upstream reached directly, through the gateway, and through nginx.

Run with ``make bench-gateway`` (needs wrk and nginx: ``apt-get install wrk nginx-light``).
All three targets are measured in one run, on this machine, with wrk over
loopback. nginx gets the same rate limit (limit_req, per client address) and the
same IP filter (allow/deny) as the gateway's route, and keeps connections to
the upstream alive, as the gateway does. Printed: requests per second and
latency percentiles per target, then gateway/direct and gateway/nginx ratios.
Options: --duration seconds (default 10), --connections (default 32),
--gateway-workers (default 2), --threads (default 8).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from vendorkit.testing import ServerProcess, free_port, wait_for_port

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


def require(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists() else None)
    if not path:
        sys.exit(f"{binary} not found: apt-get install -y wrk nginx-light")
    return path


def run_wrk(url: str, duration: int, connections: int, threads: int = 2) -> dict[str, float]:
    """wrk's throughput and latency percentiles (milliseconds) for ``url``."""
    output = subprocess.run(
        [require("wrk"), f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        figures[f"p{percentile}"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["errors"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    require("wrk")
    nginx = require("nginx")

    workdir = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    upstream = ServerProcess("echo_upstream:app", workers=2, threads=8, log_path=workdir / "upstream.log")
    upstream.env = {"PYTHONPATH": str(HERE)}
    upstream.wait_healthy = lambda timeout: wait_for_port("127.0.0.1", upstream.port, timeout)  # no /healthz
    upstream.start()

    config = {
        "trusted_proxies": ["127.0.0.1/32"],
        "rate_limit_storage": "memory://",
        "routes": [
            {
                "name": "bench",
                "prefixes": ["/api/v1/"],
                "dialect": "grommunio",
                "upstreams": [upstream.url],
                "rate_limits": [f"{RATE_PER_SECOND}/second"],
                "ip_allow": ["127.0.0.0/8"],
            }
        ],
    }
    (workdir / "gateway.yaml").write_text(yaml.safe_dump(config))
    gateway = ServerProcess(
        "gateway:create_app()",
        env={"GATEWAY_CONFIG": str(workdir / "gateway.yaml"), "LOG_LEVEL": "INFO"},
        workers=args.gateway_workers,
        threads=args.threads,
        log_path=workdir / "gateway.log",
    ).start()

    nginx_port = free_port()
    (workdir / "nginx.conf").write_text(
        NGINX_CONF.format(
            workers=args.gateway_workers,
            prefix=workdir,
            rate=RATE_PER_SECOND,
            upstream_port=upstream.port,
            port=nginx_port,
        )
    )
    nginx_process = subprocess.Popen(
        [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.DEVNULL,
    )
    wait_for_port("127.0.0.1", nginx_port, process=nginx_process)

    targets = {
        "direct": f"{upstream.url}/api/v1/bench",
        "gateway": f"{gateway.url}/api/v1/bench",
        "nginx": f"http://127.0.0.1:{nginx_port}/api/v1/bench",
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for label, url in targets.items():
            run_wrk(url, 2, args.connections)  # warm-up: pools filled, code paths hot
            results[label] = {
                "load": run_wrk(url, args.duration, args.connections),
                "single": run_wrk(url, args.duration, 1, threads=1),
            }
            time.sleep(1)
    finally:
        nginx_process.terminate()
        gateway.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(
        f"\nwrk over loopback, {args.duration}s per run; load = {args.connections} connections, single = 1 connection"
    )
    print(
        f"{'target':<9}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'non-2xx':>9}   {'1-conn p50 ms':>14}"
    )
    for label, figures in results.items():
        load, single = figures["load"], figures["single"]
        print(
            f"{label:<9}{load['rps']:>10.0f}{load['p50']:>9.2f}{load['p90']:>9.2f}{load['p99']:>9.2f}"
            f"{load['errors']:>9.0f}   {single['p50']:>14.3f}"
        )
    gw, direct, ng = results["gateway"], results["direct"], results["nginx"]
    print()
    print(f"throughput gateway/direct: {gw['load']['rps'] / direct['load']['rps']:.2f}x")
    print(f"throughput gateway/nginx:  {gw['load']['rps'] / ng['load']['rps']:.2f}x   (target >= 0.80x)")
    added_gateway = gw["single"]["p50"] - direct["single"]["p50"]
    added_nginx = ng["single"]["p50"] - direct["single"]["p50"]
    print(f"median added latency, 1 connection: gateway {added_gateway:.3f} ms, nginx {added_nginx:.3f} ms")
    print(f"gateway minus nginx: {added_gateway - added_nginx:.3f} ms   (target <= 0.5 ms)")


if __name__ == "__main__":
    main()
