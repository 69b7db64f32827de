"""vendorkit.changes.ChangeCache: served only while PostgreSQL's announcements are heard."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from vendorkit import db
from vendorkit.changes import ChangeCache

CHANNEL = "vendorkit_test_changes"


def until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def database(postgres) -> str:
    return postgres.create_database("vendorkit_changes")


@pytest.fixture
def cache(database):
    engine = db.make_engine(database)
    cache = ChangeCache(engine, CHANNEL)
    until(lambda: cache.enabled)
    yield cache
    engine.dispose()


def announce(database: str) -> None:
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(f"NOTIFY {CHANNEL}")


def test_on_sqlite_nothing_is_kept(tmp_path):
    cache = ChangeCache(db.make_engine(f"sqlite:///{tmp_path / 'x.db'}"), CHANNEL)
    cache.put("key", "row", cache.generation())
    assert not cache.enabled
    assert cache.get("key") is None


def test_an_announcement_empties_the_cache(cache, database):
    cache.put("key", "row", cache.generation())
    assert cache.get("key") == "row"
    announce(database)
    until(lambda: cache.get("key") is None)


def test_a_row_read_before_an_announcement_is_not_kept(cache, database):
    read_at = cache.generation()  # a look-up starts ...
    announce(database)  # ... a change is announced while it runs ...
    until(lambda: cache.generation() != read_at)
    cache.put("key", "stale row", read_at)  # ... and what it read is refused
    assert cache.get("key") is None


def test_a_commit_in_this_process_empties_it_before_the_writer_goes_on(cache, tmp_path):
    cache.put("key", "row", cache.generation())
    with Session(db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")) as session, session.begin():
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    assert cache.get("key") is None


def test_while_the_listening_connection_is_down_nothing_is_served(cache, database):
    cache.put("key", "row", cache.generation())
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (f"listen {CHANNEL}",),
        )
    until(lambda: cache.get("key") is None)
    until(lambda: cache.enabled)  # listening again, and empty
    assert cache.get("key") is None
