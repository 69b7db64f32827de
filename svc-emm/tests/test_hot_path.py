"""The token-authenticated read: its caller checked on every request, one connection (a thread's kept one on PostgreSQL), database failures in the envelope."""

from __future__ import annotations

import gc
import queue
import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import event, text

from svc_emm import create_app
from svc_emm.auth import issue_tokens
from vendorkit import db
from vendorkit.testing import ServerProcess, http_request, quick_password_hashing

COUNT = "/mdm-admin/users/count"
LIST_FAULT = {"errorMessage": "Error occurred while retrieving the list of users"}


def test_a_token_revoked_or_expired_through_another_process_is_refused_at_once(
    app, client, token_for, expire_tokens
):
    served = ServerProcess(
        "svc_emm:create_app()",
        env={"DATABASE_URL": app.config["DATABASE_URL"], "RUN_MIGRATIONS": "0", "LOG_LEVEL": "WARNING"},
    ).start()
    try:
        revoked, expired = token_for("admin"), token_for("admin")

        def count(pair) -> int:
            headers = {"Authorization": "Bearer " + pair["access_token"]}
            return http_request("GET", served.url + COUNT, headers=headers).status

        assert (count(revoked), count(expired)) == (200, 200)
        assert client.post("/oauth2/revoke", data={"token": revoked["refresh_token"]}).status_code == 200
        assert count(revoked) == 401
        assert count(expired) == 200
        expire_tokens()
        assert count(expired) == 401
    finally:
        served.stop()


@pytest.mark.parametrize(
    "path", [COUNT, "/mdm-admin/users/view?username=kim", "/mdm-admin/users/devices?username=kim"]
)
def test_a_read_checks_its_token_and_answers_on_one_pooled_connection(app, client, admin_headers, path):
    checkouts = []
    event.listen(db.engine(app), "checkout", lambda *_args: checkouts.append(1))
    response = client.get(path, headers=admin_headers)
    assert response.status_code == 200
    assert len(checkouts) == 1


def test_a_failing_token_lookup_is_the_endpoints_server_fault(app, client, admin_headers):
    with app.app_context(), db.unit_of_work() as session:
        session.execute(text("ALTER TABLE emm_tokens RENAME TO emm_tokens_gone"))
    response = client.get(COUNT, headers=admin_headers)
    assert response.status_code == 500  # a missing table is a bug, not an outage
    assert response.json == LIST_FAULT


def test_a_connection_lost_under_the_read_is_a_503_and_the_next_read_reconnects(postgres):
    url = postgres.create_database("emm_hot_path")
    with quick_password_hashing():
        app = create_app({"DATABASE_URL": url, "DEMO_DATA": True, "LOG_LEVEL": "WARNING"})
    client = app.test_client()
    try:
        with app.app_context(), db.unit_of_work() as session:
            headers = {
                "Authorization": "Bearer " + issue_tokens(session, app.config, "admin")["access_token"]
            }
        assert client.get(COUNT, headers=headers).json == 5
        # Kill the pooled connection's backend; the next read uses it within the idle-ping
        # interval, so the driver's error itself must be recognised as an outage.
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        time.sleep(0.1)
        lost = client.get(COUNT, headers=headers)
        assert (lost.status_code, lost.json) == (503, LIST_FAULT)
        assert client.get(COUNT, headers=headers).json == 5
    finally:
        db.engine(app).dispose()


# --- a request thread keeps its read connection (PostgreSQL) ---------------------------------


@pytest.fixture
def emm_on_postgres(postgres):
    """svc-emm on a database of its own, with an admin's Bearer headers, disposed afterwards."""
    url = postgres.create_database(f"emm_kept_{uuid.uuid4().hex[:12]}")
    with quick_password_hashing():
        app = create_app({"DATABASE_URL": url, "DEMO_DATA": True, "LOG_LEVEL": "WARNING"})
    with app.app_context(), db.unit_of_work() as session:
        headers = {"Authorization": "Bearer " + issue_tokens(session, app.config, "admin")["access_token"]}
    try:
        yield app, url, headers
    finally:
        db.engine(app).dispose()


def read_in_thread(app, headers) -> int:
    """The status of one authenticated read made by a thread of its own, which then ends."""
    statuses: list[int] = []
    thread = threading.Thread(
        target=lambda: statuses.append(app.test_client().get(COUNT, headers=headers).status_code)
    )
    thread.start()
    thread.join(10)
    return statuses[0]


def backends(url: str) -> list[int]:
    """The process ids of the client connections to ``url``'s database, the listener's aside."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND application_name NOT LIKE 'listen %'"
        ).fetchall()
    return sorted(pid for (pid,) in rows)


def terminate_backends(url: str) -> None:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def test_a_thread_reads_on_the_same_connection_from_one_request_to_the_next(emm_on_postgres):
    app, _url, headers = emm_on_postgres
    checkouts = []
    event.listen(db.state(app).read_engine, "checkout", lambda *_args: checkouts.append(1))
    client = app.test_client()
    assert [client.get(COUNT, headers=headers).json for _ in range(5)] == [5] * 5
    assert len(checkouts) == 1


def test_a_kept_connection_that_died_while_idle_is_replaced_before_the_read(emm_on_postgres):
    app, url, headers = emm_on_postgres
    client = app.test_client()
    assert client.get(COUNT, headers=headers).status_code == 200
    terminate_backends(url)
    time.sleep(db.IDLE_PING_SECONDS + 0.2)  # idle long enough to be pinged first
    assert client.get(COUNT, headers=headers).json == 5


def test_once_one_thread_finds_its_connection_dead_the_others_replace_theirs(emm_on_postgres):
    app, url, headers = emm_on_postgres
    first, second = app.test_client(), app.test_client()
    jobs: queue.Queue = queue.Queue()
    answers: queue.Queue = queue.Queue()

    def other_thread():  # the second client's requests, all from one thread that keeps its connection
        while jobs.get() is not None:
            answers.put(second.get(COUNT, headers=headers).status_code)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        assert first.get(COUNT, headers=headers).status_code == 200
        jobs.put(1)
        assert answers.get(timeout=10) == 200
        terminate_backends(url)
        time.sleep(0.1)  # within the idle-ping interval: the dead connection is used
        lost = first.get(COUNT, headers=headers)
        assert (lost.status_code, lost.json) == (503, LIST_FAULT)
        jobs.put(1)
        assert answers.get(timeout=10) == 200  # replaced before use, though it was not idle
    finally:
        jobs.put(None)
        worker.join(10)


def test_a_thread_that_ends_gives_its_connection_back(emm_on_postgres):
    app, _url, headers = emm_on_postgres
    assert [read_in_thread(app, headers) for _ in range(3)] == [200] * 3
    gc.collect()
    pool = db.state(app).read_engine.pool
    # Back in the pool for the next thread, not dropped by the garbage collector.
    assert pool.checkedout() == 0
    assert pool.checkedin() >= 1


def test_disposing_the_engine_closes_every_kept_connection(emm_on_postgres):
    app, url, headers = emm_on_postgres
    assert app.test_client().get(COUNT, headers=headers).status_code == 200
    assert backends(url)
    db.engine(app).dispose()
    deadline = time.monotonic() + 5
    while backends(url):
        assert time.monotonic() < deadline, "a kept read connection outlived the engine's disposal"
        time.sleep(0.05)
    assert app.test_client().get(COUNT, headers=headers).json == 5
