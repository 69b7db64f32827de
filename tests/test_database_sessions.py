"""How the services use their database: cheap reads beside a writer, outages answered 503, safe teardown."""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from vendorkit import db
from vendorkit.testing import free_port, quick_password_hashing


@pytest.fixture(autouse=True, scope="module")
def _quick_hashing():
    with quick_password_hashing():
        yield


@pytest.fixture
def emm(tmp_path):
    from svc_emm import create_app

    path = tmp_path / "emm.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "DEMO_DATA": True})
    client = app.test_client()
    token = client.post(
        "/oauth2/token", data={"grant_type": "password", "username": "admin", "password": "admin-demo"}
    ).json["access_token"]
    return app, client, {"Authorization": f"Bearer {token}"}, path


def unreachable_postgres() -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing"


def test_a_read_is_served_while_another_connection_holds_the_write_lock(emm):
    _app, client, headers, path = emm
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.perf_counter()
        response = client.get("/mdm-admin/users/count", headers=headers)
        assert response.status_code == 200 and response.json >= 1
        assert time.perf_counter() - started < 2  # a writer's transaction would wait for the lock
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_write_queues_behind_the_write_lock_instead_of_failing(emm):
    _app, client, headers, path = emm
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, lambda: writer.execute("ROLLBACK"))
    released.start()
    try:
        response = client.post(
            "/mdm-admin/users", json={"username": "queued", "emailAddress": "q@example.com"}, headers=headers
        )
    finally:
        released.join()
        writer.close()
    assert response.status_code == 201, response.json


def test_a_failing_rollback_at_teardown_does_not_spoil_the_answer(emm, monkeypatch):
    _app, client, headers, _path = emm

    def connection_lost(self):
        raise sa_exc.OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "rollback", connection_lost)
    response = client.get("/mdm-admin/users/count", headers=headers)
    assert response.status_code == 200 and isinstance(response.json, int)


def test_emm_answers_an_unreachable_database_503_with_the_endpoints_fault_text():
    from svc_emm import create_app

    app = create_app({"DATABASE_URL": unreachable_postgres(), "RUN_MIGRATIONS": False})
    response = app.test_client().get(
        "/mdm-admin/users/count", headers={"Authorization": "Bearer " + "a" * 32}
    )
    assert response.status_code == 503
    assert set(response.json) == {"errorMessage"}
    assert app.test_client().get("/readyz").status_code == 503


def test_agenda_answers_an_unreachable_database_with_its_db_failure_code():
    from svc_agenda import create_app

    app = create_app({"DATABASE_URL": unreachable_postgres(), "RUN_MIGRATIONS": False})
    token = "0f8fad5b-d9cb-469f-a165-70867728950e"
    response = app.test_client().get(f"/AktionNEXT/API/user/getAll?Token={token}")
    assert response.status_code == 403
    assert response.json["Result"]["Code"] == 7


def test_bulkuser_answers_an_unreachable_database_503_in_dnls_envelope():
    from svc_bulkuser import create_app

    app = create_app(
        {"DATABASE_URL": unreachable_postgres(), "RUN_MIGRATIONS": False, "SECRET_KEY": "a-key-of-this-test"}
    )
    response = app.test_client().post("/v1/auth", json={"email_or_name": "admin", "password": "admin-demo"})
    assert response.status_code == 503
    assert response.json["success"] is False and response.json["error"]["code"] == 503


def test_a_missing_table_is_a_bug_not_an_outage():
    missing = sqlite3.OperationalError("no such table: users")
    missing.sqlite_errorname = "SQLITE_ERROR"
    assert not db.is_outage(sa_exc.OperationalError("SELECT", {}, missing))
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorname = "SQLITE_BUSY"
    assert db.is_outage(sa_exc.OperationalError("SELECT", {}, locked))
    assert db.is_outage(sa_exc.InterfaceError("SELECT", {}, Exception("connection already closed")))
    assert not db.is_outage(sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")))


def test_concurrent_reads_on_sqlite_reuse_the_pooled_connections(emm):
    # As many concurrent requests as the server has threads: each holds a connection, and a pool
    # smaller than that opened one per request beyond it (four PRAGMAs each).
    app, _client, headers, _path = emm
    threads = db.request_threads()
    engine = db.engine(app)
    held = [engine.connect() for _ in range(threads)]  # the pool filled
    for connection in held:
        connection.close()
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    barrier = threading.Barrier(threads)

    def read(_):
        client = app.test_client()
        barrier.wait()
        return [client.get("/mdm-admin/users/count", headers=headers).status_code for _ in range(20)]

    with ThreadPoolExecutor(threads) as pool:
        statuses = [status for answers in pool.map(read, range(threads)) for status in answers]
    assert statuses == [200] * threads * 20
    assert opened == []


def test_the_pool_holds_a_connection_per_request_thread(monkeypatch, tmp_path):
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    monkeypatch.setenv("SERVE_THREADS", "12")
    assert db.make_engine(f"sqlite:///{tmp_path / 'x.db'}").pool.size() == 12
    assert db.make_engine("postgresql+psycopg://nobody@127.0.0.1/nothing").pool.size() == 12
    monkeypatch.setenv("GUNICORN_THREADS", "16")  # both servers' settings in one environment: the larger
    assert db.make_engine("postgresql+psycopg://nobody@127.0.0.1/nothing").pool.size() == 16
