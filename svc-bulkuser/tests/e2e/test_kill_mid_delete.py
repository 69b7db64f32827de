"""A large bulk delete whose service process is killed mid-statement removes all of its slice or none."""

import contextlib
import threading
import time

import psycopg
import pytest

from vendorkit.testing import ServerProcess, http_request

SLICE = 200_000
ROLE = 77


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError("condition not met")


@pytest.fixture
def killable(postgres):
    """svc-bulkuser on a database of its own, with the slice seeded in one INSERT ... SELECT."""
    url = postgres.create_database("bulkuser_kill")
    service = ServerProcess(
        "svc_bulkuser:create_app()",
        env={"DATABASE_URL": url, "DEMO_DATA": "1", "LOG_LEVEL": "WARNING"},
    ).start()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (name, email, user_type, role_id, active, create_time)"
            " SELECT 'bulk' || n, 'bulk' || n || '@example.org', 'client', %s, true, now()"
            " FROM generate_series(1, %s) AS n",
            (ROLE, SLICE),
        )
        connection.execute("ANALYZE users")
    yield service, dsn
    service.stop()


def test_killing_the_service_mid_delete_leaves_all_or_none(killable):
    service, dsn = killable
    login = http_request(
        "POST", service.url + "/v1/auth", json_body={"email_or_name": "admin", "password": "admin-demo"}
    )
    token = login.json()["payload"]["token"]
    with psycopg.connect(dsn, autocommit=True) as observer, psycopg.connect(dsn) as blocker:
        # Lock a row in the middle of the slice: the DELETE removes the rows
        # before it, then waits there, so the kill lands mid-statement for sure.
        middle = observer.execute(
            "SELECT user_id FROM users WHERE role_id = %s ORDER BY user_id OFFSET %s LIMIT 1",
            (ROLE, SLICE // 2),
        ).fetchone()[0]
        blocker.execute("SELECT 1 FROM users WHERE user_id = %s FOR UPDATE", (middle,))

        def send_delete():
            with contextlib.suppress(OSError):
                http_request(
                    "DELETE", f"{service.url}/v1/user/all?role_id={ROLE}", headers={"X-Auth-Token": token}
                )

        request = threading.Thread(target=send_delete)
        request.start()
        running = "SELECT pid FROM pg_stat_activity WHERE query LIKE 'DELETE FROM users%%' AND wait_event_type = 'Lock'"
        backend = wait_for(lambda: observer.execute(running).fetchone())[0]

        service.kill()
        blocker.rollback()  # let the orphaned DELETE run on to its end
        request.join(10)
        wait_for(
            lambda: (
                observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()
                is None
            )
        )
        remaining = observer.execute("SELECT count(*) FROM users WHERE role_id = %s", (ROLE,)).fetchone()[0]
    assert remaining in (0, SLICE)
    # Killed before it could commit: the whole slice is still there.
    assert remaining == SLICE
