"""svc-bulkuser's bulk delete against the same DELETE in raw SQL, on SQLite and on PostgreSQL.

    make bench-bulkuser                  # 1,000,000 users, a 100,000-user slice, 5 rounds
    .venv/bin/python bench/bulkuser_bench.py --rounds 5 --backend sqlite

For each backend: one database of 1,000,000 users is built (the service's own
migrations, then a single INSERT ... SELECT: generate_series on PostgreSQL, a
recursive CTE on SQLite) and copied twice per round (CREATE DATABASE ...
TEMPLATE / a file copy). On one copy, a gunicorn process of the service
answers a real HTTP ``DELETE /v1/user/all`` with a combined filter matching
100,000 users; on the other, the equivalent DELETE runs straight through the
driver. The service's time is the client's wall-clock time of the whole
request; the raw time runs from the statement to its commit. Target: the
service at most 1.5x raw SQL. PostgreSQL is a throwaway cluster started here
(vendorkit.testing.PostgresServer; fsync off, as in the tests).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import insert

from svc_bulkuser.models import User
from vendorkit import migrations
from vendorkit.db import make_engine
from vendorkit.security import hash_secret
from vendorkit.testing import PostgresServer, ServerProcess, http_request

USERS = 1_000_000
SLICE = 100_000
ADMIN, ADMIN_PASSWORD = "bench-admin", "bench-admin-password"

# user n has role n % 10 + 1 and is a client when n is odd, so role 4 (n % 10 == 3)
# is 100,000 clients; every user is active and created after 2020-01-01.
QUERY = "role_id=4&user_type=client&active=true&create_time_gt=2020-01-01T00:00:00Z"
RAW_DELETE = (
    "DELETE FROM users WHERE role_id = {p} AND user_type = {p} AND active = {p} AND create_time > {p}"
)
RAW_PARAMETERS = {
    "sqlite": (4, "client", 1, "2020-01-01 00:00:00.000000"),
    "postgresql": (4, "client", True, datetime(2020, 1, 1)),
}

SEED_COLUMNS = "name, email, user_type, role_id, active, create_time, last_login_time, login_ip"
SEED_VALUES = (
    "'user' || n, 'user' || n || '@example.org', CASE WHEN n % 2 = 1 THEN 'client' ELSE 'agent' END,"
    " n % 10 + 1, {true}, {created}, CASE WHEN n % 3 = 0 THEN NULL ELSE {logged_in} END,"
    " '10.' || (n / 65536) || '.' || (n / 256 % 256) || '.' || (n % 256)"
)
# The seeding statements are assembled from constants only; psycopg wants a literal % doubled.
SEED_POSTGRESQL = (
    f"INSERT INTO users ({SEED_COLUMNS}) SELECT "  # noqa: S608
    + SEED_VALUES.format(
        true="true",
        created="timestamp '2020-01-01' + n * interval '1 second'",
        logged_in="timestamp '2021-01-01' + n * interval '1 second'",
    ).replace("%", "%%")
    + " FROM generate_series(1, %s) AS n"
)
# SQLAlchemy stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text.
SEED_SQLITE = (
    "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?) "  # noqa: S608
    f"INSERT INTO users ({SEED_COLUMNS}) SELECT "
    + SEED_VALUES.format(
        true="1",
        created="strftime('%Y-%m-%d %H:%M:%S.000000', '2020-01-01', '+' || n || ' seconds')",
        logged_in="strftime('%Y-%m-%d %H:%M:%S.000000', '2021-01-01', '+' || n || ' seconds')",
    )
    + " FROM seq"
)


def create_schema_and_admin(url: str) -> None:
    """The service's migrations, then the admin who calls the bulk delete (user 1)."""
    engine = make_engine(url)
    migrations.upgrade(engine, "svc_bulkuser")
    with engine.begin() as connection:
        connection.execute(
            insert(User.__table__).values(
                name=ADMIN,
                email=f"{ADMIN}@example.org",
                password_hash=hash_secret(ADMIN_PASSWORD),
                user_type="admin",
                role_id=1,
                active=True,
                create_time=datetime(2019, 1, 1),
            )
        )
    engine.dispose()


@contextlib.contextmanager
def running_service(url: str) -> Iterator[Callable[[], float]]:
    """A gunicorn process of the service on ``url``, logged in; yields the timed bulk delete."""
    service = ServerProcess(
        "svc_bulkuser:create_app()",
        env={
            "DATABASE_URL": url,
            "DEMO_DATA": "0",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "LOG_LEVEL": "WARNING",
        },
        workers=1,
    ).start()
    try:
        login = http_request(
            "POST", service.url + "/v1/auth", json_body={"email_or_name": ADMIN, "password": ADMIN_PASSWORD}
        )
        headers = {"X-Auth-Token": login.json()["payload"]["token"]}

        def timed_delete() -> float:
            started = time.perf_counter()
            response = http_request(
                "DELETE", f"{service.url}/v1/user/all?{QUERY}", headers=headers, timeout=600
            )
            elapsed = time.perf_counter() - started
            if response.status != 200 or response.json()["payload"]["deleted"] != SLICE:
                raise SystemExit(f"unexpected answer: {response.status} {response.text}")
            return elapsed

        yield timed_delete
    finally:
        service.stop()


def in_alternating_order(
    number: int, service: Callable[[], float], raw: Callable[[], float], settle
) -> tuple:
    """Both timings, the service first in odd rounds, so neither always meets the other's leftovers."""
    settle()
    if number % 2:
        service_seconds = service()
        settle()
        raw_seconds = raw()
    else:
        raw_seconds = raw()
        settle()
        service_seconds = service()
    return service_seconds, raw_seconds


# SQLite


def sqlite_connect(path: Path) -> sqlite3.Connection:
    """A connection set up as vendorkit sets up the service's (WAL, synchronous NORMAL)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def sqlite_template(workdir: Path, users: int) -> Path:
    path = workdir / "template.db"
    create_schema_and_admin(f"sqlite:///{path}")
    connection = sqlite_connect(path)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute(SEED_SQLITE, (users,))
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


def sqlite_round(template: Path, workdir: Path, number: int) -> tuple[float, float]:
    service_copy, raw_copy = workdir / "service.db", workdir / "raw.db"
    for copy in (service_copy, raw_copy):
        shutil.copyfile(template, copy)
        with contextlib.closing(sqlite3.connect(copy)) as warm:
            warm.execute("SELECT count(*) FROM users").fetchone()

    connection = sqlite_connect(raw_copy)

    def raw() -> float:
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        deleted = connection.execute(RAW_DELETE.format(p="?"), RAW_PARAMETERS["sqlite"]).rowcount
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        assert deleted == SLICE, deleted
        return elapsed

    with running_service(f"sqlite:///{service_copy}") as service:
        timings = in_alternating_order(number, service, raw, settle=lambda: None)
    connection.close()
    for copy in (service_copy, raw_copy):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return timings


def sqlite_plan(template: Path) -> str:
    connection = sqlite3.connect(template)
    rows = connection.execute("EXPLAIN QUERY PLAN " + RAW_DELETE.format(p="?"), RAW_PARAMETERS["sqlite"])
    plan = "; ".join(row[-1] for row in rows)
    connection.close()
    return plan


# PostgreSQL


def pg_dsn(server: PostgresServer, name: str) -> str:
    return server.url(name).replace("postgresql+psycopg://", "postgresql://")


def postgres_template(server: PostgresServer, users: int) -> str:
    create_schema_and_admin(server.create_database("bench_template"))
    with psycopg.connect(pg_dsn(server, "bench_template"), autocommit=True) as connection:
        connection.execute(SEED_POSTGRESQL, (users,))
        connection.execute("VACUUM ANALYZE users")
    return "bench_template"


def postgres_round(server: PostgresServer, template: str, number: int) -> tuple[float, float]:
    with psycopg.connect(pg_dsn(server, "postgres"), autocommit=True) as admin:
        for name in ("bench_service", "bench_raw"):
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
            with psycopg.connect(pg_dsn(server, name)) as warm:
                warm.execute("SELECT count(*) FROM users").fetchone()

        with psycopg.connect(pg_dsn(server, "bench_raw")) as connection:
            connection.execute("SELECT 1").fetchone()
            connection.commit()

            def raw() -> float:
                started = time.perf_counter()
                deleted = connection.execute(RAW_DELETE.format(p="%s"), RAW_PARAMETERS["postgresql"]).rowcount
                connection.commit()
                elapsed = time.perf_counter() - started
                assert deleted == SLICE, deleted
                return elapsed

            with running_service(server.url("bench_service")) as service:
                # Flush what the copies and the other delete dirtied before each timing.
                return in_alternating_order(number, service, raw, settle=lambda: admin.execute("CHECKPOINT"))


def postgres_plan(server: PostgresServer, template: str) -> str:
    with psycopg.connect(pg_dsn(server, template)) as connection:
        rows = connection.execute("EXPLAIN " + RAW_DELETE.format(p="%s"), RAW_PARAMETERS["postgresql"])
        return "; ".join(row[0].strip() for row in rows)


# Driver


def run(
    name: str, seed: Callable[[], object], one_round: Callable[[int], tuple[float, float]], plan, rounds: int
):
    started = time.perf_counter()
    seed()
    print(f"\n{name}: seeded in {time.perf_counter() - started:.1f} s; plan of the raw DELETE: {plan()}")
    print(f"{'round':>7} {'service (s)':>12} {'raw SQL (s)':>12} {'ratio':>7}")
    results = []
    for number in range(1, rounds + 1):
        service_seconds, raw_seconds = one_round(number)
        results.append((service_seconds, raw_seconds))
        print(
            f"{number:>7} {service_seconds:>12.3f} {raw_seconds:>12.3f} {service_seconds / raw_seconds:>6.2f}x"
        )
    service_median = statistics.median(result[0] for result in results)
    raw_median = statistics.median(result[1] for result in results)
    # The two timings of a round run back to back, so their ratio is the
    # least disturbed by whatever else the machine does meanwhile.
    ratio = statistics.median(service / raw for service, raw in results)
    print(f"{'median':>7} {service_median:>12.3f} {raw_median:>12.3f} {ratio:>6.2f}x   (target <= 1.50x)")
    return service_median, raw_median, ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    print(f"svc-bulkuser bulk delete of {SLICE:,} of {USERS + 1:,} users: DELETE /v1/user/all?{QUERY}")
    summary = {}
    workdir = Path(tempfile.mkdtemp(prefix="bulkuser-bench-"))
    try:
        if args.backend in ("sqlite", "both"):
            template = workdir / "template.db"
            summary["SQLite"] = run(
                "SQLite",
                lambda: sqlite_template(workdir, USERS),
                lambda number: sqlite_round(template, workdir, number),
                lambda: sqlite_plan(template),
                args.rounds,
            )
        if args.backend in ("postgresql", "both"):
            server = PostgresServer().init()
            server.start()
            try:
                summary["PostgreSQL"] = run(
                    "PostgreSQL",
                    lambda: postgres_template(server, USERS),
                    lambda number: postgres_round(server, "bench_template", number),
                    lambda: postgres_plan(server, "bench_template"),
                    args.rounds,
                )
            finally:
                server.destroy()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nsummary (medians; ratio = median of the per-round ratios):")
    for name, (service_seconds, raw_seconds, ratio) in summary.items():
        print(
            f"  {name:<10} service {service_seconds:.3f} s, raw SQL {raw_seconds:.3f} s, ratio {ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
