"""The emulator's cost: gateway throughput with the request journal on against off, and a whole-stack reset.

    .venv/bin/python bench/journal_bench.py [--duration 4] [--rounds 5] [--connections 32] [--resets 20] [--shared]

Part 1 runs two gateway processes side by side, identical but for
``journal.capacity`` (0 against 1000), before the benchmark's minimal upstream
(bench/echo_upstream.py under gunicorn), and loads them in turn with wrk, round
by round, so that drift on the machine weighs on both. Two request kinds: a
plain GET, and a POST of a small JSON login body holding a password (whose
entry must be parsed and redacted). Printed: each target's median throughput,
p99 and the gateway's CPU time per request, and per kind the ratios
journal-on / journal-off of throughput and of requests served per CPU second
(the aim: at least 0.90 for both, i.e. under 10 % lost). On a busy machine the
CPU ratio is the steadier of the two, since other processes' load does not
enter it.

With ``--shared``, the same comparison runs again with two workers per gateway
(``--workers 2``), where the journal and faults are one state for both: counting
in memory (the workers share the state keeper's state) against the same two
workers with the emulator off (admin and journal), and on Redis against Redis
with the emulator off.
The CPU figures then add up the gateway's whole process tree (workers and
keeper; Redis's own CPU is not counted).

Part 2 starts the five vendor services (``ADMIN_API=1``, SQLite in a temporary
folder, demo data) behind a gateway with the admin API on, and times
``POST /_gateway/reset`` of the five routes (median and p95 over ``--resets``),
against the baseline of the five services' ``POST /_admin/reset`` called one
after the other directly. The aim for the whole stack is under 300 ms.

Needs wrk (``apt-get install -y wrk``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from benchlib import descendants, percentile, require, wrk
from gateway_bench import HERE, Target
from reset_bench import start

from vendorkit.testing import RedisServer, ServerProcess, free_port, http_request

ROUTES = {
    "wipe": ("/api/v1/", "grommunio"),
    "bulkuser": ("/v1/", "dnl"),
    "offboard": ("/webconsole/api/", "commvault"),
    "emm": ("/mdm-admin/", "wso2"),
    "agenda": ("/AktionNEXT/API/", "aktion"),
}
LOGIN_BODY = '{"username": "kim", "password": "hunter2-bench", "remember": true}'
POST_SCRIPT = f"""
wrk.method = "POST"
wrk.body = '{LOGIN_BODY}'
wrk.headers["Content-Type"] = "application/json"
"""


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process and its living descendants (workers, state keeper) have used so far."""
    total = 0.0
    for process in descendants(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def loaded(target: Target, duration: int, connections: int, extra: list[str]) -> dict[str, float]:
    """wrk's figures for ``target``, plus the gateway's CPU microseconds per request (robust to a busy machine)."""
    before = cpu_seconds(target.process.pid)
    figures = wrk(target.url, duration, connections, extra=extra)
    spent = cpu_seconds(target.process.pid) - before
    figures["cpu_us"] = spent / max(figures["rps"] * duration, 1) * 1e6
    return figures


def gateway_config(upstream_port: int, capacity: int, storage: str = "memory://", admin: bool = True) -> dict:
    return {
        "trusted_proxies": ["127.0.0.1/32"],
        "rate_limit_storage": storage,
        "admin": {"enabled": admin, "allow": ["127.0.0.1/32"]},
        "journal": {"capacity": capacity},
        "routes": [
            {
                "name": "bench",
                "prefixes": ["/api/v1/"],
                "dialect": "grommunio",
                "upstreams": [f"http://127.0.0.1:{upstream_port}"],
                "rate_limits": ["100000/second"],
            }
        ],
    }


def gateway_target(label: str, config: dict, workdir: Path, workers: int = 1) -> Target:
    path = workdir / f"{label}.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    command = [sys.executable, "-m", "gateway", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    return Target(label, command, port, {"GATEWAY_CONFIG": str(path), "LOG_LEVEL": "WARNING"})


def throughput(args: argparse.Namespace, workdir: Path) -> None:
    """Part 1: journal on against off (and with ``--shared``, two workers sharing the state)."""
    upstream_port = free_port()
    upstream = Target(
        "upstream",
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{upstream_port}", "--workers", "2",
         "--threads", "8", "--worker-class", "gthread", "--no-control-socket", "echo_upstream:app"],
        upstream_port,
        {"PYTHONPATH": str(HERE)},
    )  # fmt: skip
    upstream.start(workdir / "upstream.log")
    try:
        targets = [
            gateway_target("journal-off", gateway_config(upstream_port, 0), workdir),
            gateway_target("journal-on", gateway_config(upstream_port, 1000), workdir),
        ]
        compare(args, workdir, targets, [("journal-on", "journal-off")])
        if not args.shared:
            return
        redis = RedisServer()
        redis.start()
        try:
            targets = [
                gateway_target("2w-off", gateway_config(upstream_port, 0, admin=False), workdir, 2),
                gateway_target("2w-keeper", gateway_config(upstream_port, 1000), workdir, 2),
                gateway_target(
                    "2w-redis-off", gateway_config(upstream_port, 0, redis.url, admin=False), workdir, 2
                ),
                gateway_target("2w-redis-on", gateway_config(upstream_port, 1000, redis.url), workdir, 2),
            ]
            compare(args, workdir, targets, [("2w-keeper", "2w-off"), ("2w-redis-on", "2w-redis-off")])
        finally:
            redis.stop()
    finally:
        upstream.stop()


def compare(
    args: argparse.Namespace, workdir: Path, targets: list[Target], pairs: list[tuple[str, str]]
) -> None:
    """Load ``targets`` in turn, round by round; print their figures and the on / off ratio of each pair."""
    script = workdir / "post.lua"
    script.write_text(POST_SCRIPT)
    try:
        for target in targets:
            target.start(workdir / f"{target.label}.log")
        kinds = {"GET": [], "POST login": ["-s", str(script)]}
        results: dict[tuple[str, str], list[dict]] = {(t.label, k): [] for t in targets for k in kinds}
        for target in targets:  # warm-up
            wrk(target.url, 1, args.connections)
        for _round in range(args.rounds):
            for kind, extra in kinds.items():
                for target in targets:
                    results[(target.label, kind)].append(
                        loaded(target, args.duration, args.connections, extra)
                    )
        for on, _off in pairs:
            port = next(t.port for t in targets if t.label == on)
            journal = http_request("GET", f"http://127.0.0.1:{port}/_gateway/requests?limit=1")
            assert journal.json()["count"] == 1, f"{on}: nothing in the journal"
            assert "hunter2-bench" not in journal.text, "a password reached the journal"
        print(
            f"\nThroughput, {args.rounds} rounds x {args.duration} s at {args.connections} connections (medians)"
        )
        print(f"{'target':<14}{'kind':<12}{'req/s':>10}{'p99 ms':>10}{'CPU us/req':>12}{'errors':>8}")
        for (label, kind), runs in results.items():
            rps = statistics.median(r["rps"] for r in runs)
            p99 = statistics.median(r["p99"] for r in runs)
            cpu = statistics.median(r["cpu_us"] for r in runs)
            errors = sum(r["errors"] for r in runs)
            print(f"{label:<14}{kind:<12}{rps:>10.0f}{p99:>10.2f}{cpu:>12.1f}{errors:>8.0f}")
        for on_label, off_label in pairs:
            for kind in kinds:
                rounds = list(zip(results[(on_label, kind)], results[(off_label, kind)], strict=True))
                throughput_ratio = statistics.median(on["rps"] / off["rps"] for on, off in rounds)
                cpu_ratio = statistics.median(off["cpu_us"] / on["cpu_us"] for on, off in rounds)
                print(
                    f"{on_label} / {off_label}, {kind}: throughput {throughput_ratio:.3f}, "
                    f"requests per CPU second {cpu_ratio:.3f} (medians of per-round ratios)"
                )
    finally:
        for target in targets:
            target.stop()


def whole_stack_reset(args: argparse.Namespace, workdir: Path) -> None:
    """Part 2: POST /_gateway/reset of the five routes against the five direct resets."""
    services: dict[str, ServerProcess] = {}
    gateway = None
    try:
        for name in ROUTES:
            services[name], _started_ms = start(name, f"sqlite:///{workdir / f'{name}.db'}", workdir)
        config = gateway_config(free_port(), 0)
        config["routes"] = [
            {"name": name, "prefixes": [prefix], "dialect": dialect, "upstreams": [services[name].url]}
            for name, (prefix, dialect) in ROUTES.items()
        ]
        path = workdir / "stack-gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        gateway = ServerProcess(
            "gateway:create_app()", env={"GATEWAY_CONFIG": str(path)}, log_path=workdir / "stack-gateway.log"
        ).start()
        for service in services.values():  # the first reset runs the demo loader: not timed
            http_request("POST", service.url + "/_admin/reset")

        def through_gateway() -> None:
            response = http_request(
                "POST", gateway.url + "/_gateway/reset", json_body={"routes": list(ROUTES)}
            )
            if response.status != 200:
                raise RuntimeError(f"/_gateway/reset answered {response.status}: {response.text}")

        def one_after_another() -> None:
            for service in services.values():
                if http_request("POST", service.url + "/_admin/reset").status != 200:
                    raise RuntimeError(f"{service.app}: reset failed")

        timings: dict[str, list[float]] = {"gateway /_gateway/reset": [], "five direct resets, in turn": []}
        for _ in range(args.resets):
            for label, action in zip(timings, (through_gateway, one_after_another), strict=True):
                started = time.perf_counter()
                action()
                timings[label].append((time.perf_counter() - started) * 1000)
        print(f"\nWhole-stack reset (five services, SQLite), {args.resets} times each")
        print(f"{'':<30}{'median ms':>10}{'p95 ms':>10}")
        for label, samples in timings.items():
            print(f"{label:<30}{statistics.median(samples):>10.1f}{percentile(samples, 0.95):>10.1f}")
        ratio = statistics.median(timings["gateway /_gateway/reset"]) / statistics.median(
            timings["five direct resets, in turn"]
        )
        print(f"gateway / direct in turn: {ratio:.2f} (the gateway resets the five at once)")
    finally:
        if gateway is not None:
            gateway.stop()
        for service in services.values():
            service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument(
        "--shared", action="store_true", help="also measure two workers sharing the state (keeper, Redis)"
    )
    args = parser.parse_args()
    require("wrk")
    with tempfile.TemporaryDirectory(prefix="journal-bench-") as folder:
        throughput(args, Path(folder))
        whole_stack_reset(args, Path(folder))


if __name__ == "__main__":
    main()
