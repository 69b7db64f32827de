"""The per-process caller cache, with two svc-emm processes (replicas) on one PostgreSQL database.

Each process keeps the callers of the tokens it has seen and empties that
cache whenever PostgreSQL announces a change of a token, user or role (the
triggers of migration 0002), whoever made it: the other replica, or a
statement run straight on the database. The process that revokes refuses the
token at once; the other within the announcement's delivery.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import psycopg
import pytest

from vendorkit.testing import PostgresServer, ServerProcess, http_request

LISTENER = "listen svc_emm_callers"  # the application name of each process's listening connection
DELIVERY_SECONDS = 1.0  # generous: announcements arrive within milliseconds
READ = "/mdm-admin/users/count"


@pytest.fixture(scope="module")
def database(postgres: PostgresServer) -> str:
    """A database of this module's own, as a libpq URL."""
    return postgres.create_database("emm_replicas").replace("+psycopg", "")


@pytest.fixture(scope="module")
def replicas(database: str, tmp_path_factory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two svc-emm processes on ``database``, each listening for announcements."""
    logs = tmp_path_factory.mktemp("replicas")
    started: list[ServerProcess] = []
    try:
        for index in range(2):
            environment = {"DATABASE_URL": database, "DEMO_DATA": "1", "LOG_LEVEL": "INFO"}
            started.append(
                ServerProcess(
                    "svc_emm:create_app()", env=environment, log_path=logs / f"emm-{index}.log"
                ).start()
            )
        first, second = started
        token = login(first)
        assert read(first, token).status == read(second, token).status == 200
        wait_for_listeners(database, 2)
        yield first, second
    finally:
        for process in started:
            process.stop()


def post_form(service: ServerProcess, path: str, body: str):
    return http_request(
        "POST", service.url + path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )


def tokens(service: ServerProcess) -> dict:
    """A new token pair of the demo admin."""
    answer = post_form(service, "/oauth2/token", "grant_type=password&username=admin&password=admin-demo")
    assert answer.status == 200, answer.text
    return answer.json()


def login(service: ServerProcess) -> str:
    """An access token of the demo admin."""
    return tokens(service)["access_token"]


def read(service: ServerProcess, token: str, timeout: float = 30):
    return http_request(
        "GET", service.url + READ, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def revoke(service: ServerProcess, token: str) -> None:
    assert post_form(service, "/oauth2/revoke", f"token={token}").status == 200


def answered_soon(service: ServerProcess, token: str, status: int, meanwhile: int = 200) -> None:
    """Wait until ``service`` answers a read with ``token`` with ``status``: ``meanwhile`` until then, for DELIVERY_SECONDS at most."""
    started = time.monotonic()
    while (answer := read(service, token)).status != status:
        assert answer.status == meanwhile, answer.text
        assert time.monotonic() - started < DELIVERY_SECONDS, f"still {answer.status}"
        time.sleep(0.005)


def run_sql(database: str, statement: str) -> None:
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(statement)


def wait_for_listeners(database: str, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database, autocommit=True) as connection:
        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()"
        while connection.execute(query, (LISTENER,)).fetchone()[0] != count:
            assert time.monotonic() < deadline, f"not {count} listening connections"
            time.sleep(0.05)


def test_a_known_caller_is_answered_without_reading_the_token_table(replicas, database):
    first, _second = replicas
    known, unknown = login(first), login(first)
    assert read(first, known).status == 200
    with psycopg.connect(database) as connection:
        # Until this transaction ends, any statement that reads the tokens waits.
        connection.execute("LOCK TABLE emm_tokens IN ACCESS EXCLUSIVE MODE")
        assert read(first, known, timeout=5).status == 200
        with pytest.raises(socket.timeout):
            read(first, unknown, timeout=1)  # not yet known to this process: looked up, so it waits
    assert read(first, unknown).status == 200


def test_the_process_that_revokes_a_token_refuses_it_at_once(replicas):
    first, _second = replicas
    for _ in range(20):
        token = login(first)
        assert read(first, token).status == 200
        revoke(first, token)
        assert read(first, token).status == 401


def test_a_token_revoked_through_one_replica_is_refused_by_the_other(replicas):
    first, second = replicas
    token = login(first)
    assert read(second, token).status == 200
    revoke(first, token)
    answered_soon(second, token, 401)


def test_a_refresh_through_one_replica_ends_the_old_token_on_the_other(replicas):
    first, second = replicas
    answer = tokens(first)
    assert read(second, answer["access_token"]).status == 200
    refreshed = post_form(
        first, "/oauth2/token", f"grant_type=refresh_token&refresh_token={answer['refresh_token']}"
    )
    assert refreshed.status == 200
    answered_soon(second, answer["access_token"], 401)
    assert read(second, refreshed.json()["access_token"]).status == 200


def test_a_change_made_straight_in_the_database_reaches_every_replica(replicas, database):
    first, second = replicas
    token = login(first)
    assert read(first, token).status == read(second, token).status == 200
    run_sql(
        database,
        "DELETE FROM emm_user_roles WHERE (user_id, role_id) IN"
        " (SELECT u.id, r.id FROM emm_users u, emm_roles r WHERE u.username = 'admin' AND lower(r.name) = 'admin')",
    )
    try:
        answered_soon(first, token, 403)  # still a valid token, no longer an admin's
        answered_soon(second, token, 403)
    finally:
        run_sql(
            database,
            "INSERT INTO emm_user_roles (user_id, role_id)"
            " SELECT u.id, r.id FROM emm_users u, emm_roles r WHERE u.username = 'admin' AND lower(r.name) = 'admin'",
        )
    answered_soon(first, token, 200, meanwhile=403)


def test_while_a_replica_cannot_hear_announcements_it_reads_every_caller_from_the_database(
    replicas, database
):
    first, second = replicas
    token = login(first)
    assert read(second, token).status == 200
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (LISTENER,)
        )
    run_sql(database, "UPDATE emm_tokens SET revoked = true WHERE username = 'admin'")
    answered_soon(second, token, 401)
    # Listening again (it reconnects at once), and serving known callers from the cache again.
    wait_for_listeners(database, 2)
    fresh = login(first)
    assert read(second, fresh).status == 200
    with psycopg.connect(database) as connection:
        connection.execute("LOCK TABLE emm_tokens IN ACCESS EXCLUSIVE MODE")
        assert read(second, fresh, timeout=5).status == 200
