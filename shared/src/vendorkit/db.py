"""SQLAlchemy engine and sessions per app: SQLite by default, PostgreSQL by ``DATABASE_URL``."""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

EXTENSION_KEY = "vendorkit.db"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(normalize_url(engine_or_url))
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, **options) -> Engine:
    """An engine tuned for this project: WAL and write-locking transactions on SQLite, pre-ping on PostgreSQL."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if in_memory:
            options.setdefault("poolclass", StaticPool)
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **options)
        _make_sqlite_transactional(engine, wal=not in_memory)
        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 5)
    options.setdefault("max_overflow", 10)
    options.setdefault("pool_timeout", 10)
    options.setdefault("connect_args", {"connect_timeout": 5})
    return create_engine(url, **options)


def _make_sqlite_transactional(engine: Engine, *, wal: bool) -> None:
    # pysqlite's own transaction handling starts transactions late and as
    # readers, so two writers deadlock on the upgrade to a write lock. Take the
    # write lock up front (BEGIN IMMEDIATE): concurrent writers then queue on
    # the busy timeout instead of failing.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class DatabaseState:
    """The engine and session factory of one app."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)


def init_app(app: Flask) -> DatabaseState:
    """Create the app's engine (never at import time) and close each request's session."""
    state = DatabaseState(make_engine(app.config["DATABASE_URL"]))
    app.extensions[EXTENSION_KEY] = state

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("_db_session", None)
        if session is not None:
            # Whatever a request did not commit itself is discarded.
            session.rollback()
            session.close()

    return state


def state(app: Flask | None = None) -> DatabaseState:
    return (app or current_app).extensions[EXTENSION_KEY]


def engine(app: Flask | None = None) -> Engine:
    """The current app's engine."""
    return state(app).engine


def session() -> Session:
    """The request's session; a view's writes run in ``with session.begin():`` or end in commit()."""
    if "_db_session" not in g:
        g._db_session = state().sessionmaker()
    return g._db_session


def ping(app: Flask | None = None) -> bool:
    """Whether the database answers."""
    try:
        with engine(app).connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@contextlib.contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold a lock named ``name`` across processes: an advisory lock on PostgreSQL, a file lock on SQLite."""
    if engine.url.get_backend_name() == "postgresql":
        key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        yield
        return
    lock_path = Path(database).with_suffix(Path(database).suffix + f".{name}.lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
