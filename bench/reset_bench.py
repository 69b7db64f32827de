"""The emulator's reset: ``POST /_admin/reset`` of each service, and of all five, on SQLite and PostgreSQL.

For each database it starts the five services (each its own process under the
services' server, demo data, ``ADMIN_API=1``) on fresh databases in a
temporary folder, then times, over HTTP:

- the first reset of each service, which runs its demo loader (password hashing included);
- later resets of each service (best, median and p95), which write the demo rows the first one kept;
- all five reset one after the other, and all five at once from five threads;

against the baseline a test suite has without the admin API: starting the
service afresh (a new process on an empty database, migrated, demo data
loaded, healthy). The aim for the whole demo stack is well under 300 ms.

    .venv/bin/python bench/reset_bench.py [--rounds 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchlib import percentile

from vendorkit.testing import SERVICES, PostgresServer, ServerProcess, http_request


def timed_ms(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def reset(service: ServerProcess) -> None:
    response = http_request("POST", service.url + "/_admin/reset")
    if response.status != 200:
        raise RuntimeError(f"{service.app}: reset answered {response.status}: {response.text}")


def start(name: str, database_url: str, workdir: Path) -> tuple[ServerProcess, float]:
    """Service ``name`` on ``database_url`` (empty), and how long it took to be healthy."""
    process = ServerProcess(
        f"{SERVICES[name]}:create_app()",
        env={
            "DATABASE_URL": database_url,
            "DEMO_DATA": "1",
            "ADMIN_API": "1",
            "LOG_LEVEL": "WARNING",
            "TRUSTED_PROXIES": "127.0.0.1/32",
        },
        log_path=workdir / f"{name}.log",
    )
    started = time.perf_counter()
    process.start()
    return process, (time.perf_counter() - started) * 1000


def bench_backend(backend: str, urls: dict[str, str], workdir: Path, rounds: int) -> None:
    processes: dict[str, ServerProcess] = {}
    fresh_start: dict[str, float] = {}
    try:
        for name in SERVICES:
            processes[name], fresh_start[name] = start(name, urls[name], workdir)

        print(f"\n{backend}: one service ({rounds} resets each after the first)")
        print(
            f"{'service':<10} {'fresh start':>12} {'first reset':>12} {'best':>8} {'reset p50':>10} {'p95':>8} {'start/p50':>10}"
        )
        for name, process in processes.items():
            first = timed_ms(lambda process=process: reset(process))
            samples = [timed_ms(lambda process=process: reset(process)) for _ in range(rounds)]
            p50 = statistics.median(samples)
            print(
                f"{name:<10} {fresh_start[name]:>10.0f}ms {first:>10.1f}ms {min(samples):>6.1f}ms {p50:>8.1f}ms "
                f"{percentile(samples, 0.95):>6.1f}ms {fresh_start[name] / p50:>9.0f}x"
            )

        def in_sequence() -> None:
            for process in processes.values():
                reset(process)

        def at_once() -> None:
            threads = [threading.Thread(target=reset, args=(process,)) for process in processes.values()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        all_fresh = sum(fresh_start.values())
        print(f"\n{backend}: all five ({rounds} rounds)")
        print(f"{'how':<22} {'best':>8} {'p50':>8} {'p95':>8} {'fresh starts/p50':>17}")
        for label, action in (("one after the other", in_sequence), ("at once (5 threads)", at_once)):
            samples = [timed_ms(action) for _ in range(rounds)]
            p50 = statistics.median(samples)
            print(
                f"{label:<22} {min(samples):>6.1f}ms {p50:>6.1f}ms {percentile(samples, 0.95):>6.1f}ms "
                f"{all_fresh / p50:>16.0f}x"
            )
        print(f"(baseline: the five fresh starts one after the other took {all_fresh:.0f} ms)")
    finally:
        for process in processes.values():
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    options = parser.parse_args()
    backends = options.backends.split(",")

    with tempfile.TemporaryDirectory(prefix="reset-bench-") as folder:
        workdir = Path(folder)
        if "sqlite" in backends:
            urls = {name: f"sqlite:///{workdir / f'{name}.db'}" for name in SERVICES}
            bench_backend("SQLite", urls, workdir, options.rounds)
        if "postgresql" in backends:
            postgres = PostgresServer().init()
            postgres.start()
            try:
                urls = {name: postgres.create_database(SERVICES[name]) for name in SERVICES}
                bench_backend("PostgreSQL", urls, workdir, options.rounds)
            finally:
                postgres.destroy()


if __name__ == "__main__":
    main()
