"""svc-emm: latency of the view-users substring search over 100,000 users on PostgreSQL.

Starts a throwaway PostgreSQL cluster, lets svc-emm migrate it (which creates
the pg_trgm GIN index) under gunicorn, seeds 100,000 users with COPY, then
times sequential ``GET /mdm-admin/users/view-users?username=<fragment>``
requests on one keep-alive connection and prints p50/p90/p99.

    .venv/bin/python bench/emm_bench.py [--users 100000] [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import time
import urllib.parse

import psycopg
from benchlib import percentile

from vendorkit.security import hash_secret
from vendorkit.testing import PostgresServer, ServerProcess, http_request

CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


def pronounceable(rng: random.Random, low: int, high: int) -> str:
    """A made-up name part such as ``kelomar``: real user populations have very diverse names."""
    length = rng.randint(low, high)
    start = rng.randint(0, 1)
    return "".join(rng.choice(CONSONANTS if (i + start) % 2 == 0 else VOWELS) for i in range(length))


def seed_users(url: str, count: int, rng: random.Random) -> list[str]:
    """COPY ``count`` users into emm_users; all share one password hash (hashing 100,000 would take hours)."""
    password_hash = hash_secret("bench-password")
    names = []
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY emm_users (username, password_hash, firstname, lastname, email) FROM STDIN"
            ) as copy,
        ):
            taken: set[str] = set()
            while len(names) < count:
                first, last = pronounceable(rng, 3, 7), pronounceable(rng, 4, 9)
                username = f"{first}.{last}"
                if username in taken:
                    continue
                taken.add(username)
                names.append(username)
                copy.write_row(
                    (username, password_hash, first.title(), last.title(), f"{username}@example.com")
                )
        connection.execute("ANALYZE emm_users")
    return names


def explain(url: str, pattern: str) -> str:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        rows = connection.execute(
            "EXPLAIN ANALYZE SELECT * FROM emm_users WHERE lower(username) LIKE %s ESCAPE '\\' ORDER BY lower(username), username",
            (pattern,),
        ).fetchall()
    return "\n".join(row[0] for row in rows)


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes: on a shared machine, what the timings share it with."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--no-index", action="store_true", help="drop the pg_trgm index first, for comparison"
    )
    options = parser.parse_args()
    rng = random.Random(options.seed)
    print(f"{os.cpu_count()} CPUs, load average (1/5/15 min) at the start: {load_average()}")

    postgres = PostgresServer().init()
    postgres.start()
    service = None
    try:
        url = postgres.create_database("emm_bench")
        service = ServerProcess(
            "svc_emm:create_app()",
            env={"DATABASE_URL": url, "DEMO_DATA": "1", "LOG_LEVEL": "WARNING"},
            workers=2,
            threads=4,
        ).start()
        started = time.perf_counter()
        names = seed_users(url, options.users, rng)
        print(f"seeded {len(names):,} users in {time.perf_counter() - started:.1f} s")
        if options.no_index:
            with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
                connection.execute("DROP INDEX ix_emm_users_username_trgm")
            print("pg_trgm index dropped (--no-index)")

        grant = http_request(
            "POST",
            service.url + "/oauth2/token",
            body="grant_type=password&username=admin&password=admin-demo",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        token = grant.json()["access_token"]

        connection = http.client.HTTPConnection(service.host, service.port, timeout=60)
        headers = {"Authorization": f"Bearer {token}"}

        def search(fragment: str, endpoint: str = "view-users") -> tuple[float, int]:
            path = f"/mdm-admin/users/{endpoint}?" + urllib.parse.urlencode({"username": fragment})
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - began) * 1000
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status} {body[:200]!r}")
            content = json.loads(body)["responseContent"]
            return elapsed, len(content) if isinstance(content, list) else 1

        def fragments_of(count: int, low: int, high: int) -> list[str]:
            chosen = []
            for _ in range(count):
                name = rng.choice(names)
                size = rng.randint(low, min(high, len(name)))
                start = rng.randint(0, len(name) - size)
                chosen.append(name[start : start + size])
            return chosen

        def run(label: str, fragments: list[str], endpoint: str = "view-users") -> float:
            for fragment in fragments[:20]:  # warm-up: connections, caches
                search(fragment, endpoint)
            timings, matches = [], []
            for fragment in fragments:
                elapsed, found = search(fragment, endpoint)
                timings.append(elapsed)
                matches.append(found)
            p50 = percentile(timings, 0.50)
            print(
                f"{label}: {len(timings)} requests, matches per search median "
                f"{statistics.median(matches):.0f} (max {max(matches)})\n"
                f"  p50 {p50:.2f} ms  p90 {percentile(timings, 0.90):.2f} ms  "
                f"p99 {percentile(timings, 0.99):.2f} ms  mean {statistics.fmean(timings):.2f} ms"
            )
            return p50

        # The cost of any authenticated call: token check plus one user by primary key.
        run("baseline: view of one user by name", [rng.choice(names) for _ in range(100)], "view")
        # What a person remembers of a name: 4 to 6 characters from somewhere inside it.
        typical = fragments_of(options.requests, 4, 6)
        print(f"plan for {typical[0]!r}:\n" + explain(url, f"%{typical[0]}%"))
        p50 = run(f"view-users over {options.users:,} users, 4-6 character fragments", typical)
        # For scale: two letters match thousands of users, and the answer lists them all.
        run("broad searches, 2 character fragments", fragments_of(max(20, options.requests // 10), 2, 2))
        connection.close()
        print(f"load average (1/5/15 min) at the end: {load_average()}")
        print(f"target p50 <= 20 ms: {'met' if p50 <= 20 else 'NOT met'} ({p50:.2f} ms)")
    finally:
        if service is not None:
            service.stop()
        postgres.destroy()


if __name__ == "__main__":
    main()
