"""SQLAlchemy engine and sessions per app: SQLite by default, PostgreSQL by ``DATABASE_URL``."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Connection, Engine, Executable, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

log = logging.getLogger("vendorkit.db")

EXTENSION_KEY = "vendorkit.db"

# An execution option: SQLite statements of a read-only request run without BEGIN.
READER_OPTION = "vendorkit_sqlite_reader"
READ_METHODS = frozenset({"GET", "HEAD"})
# The app setting by which a service declares that its GET and HEAD requests
# write nothing (or call ``for_writes`` first); their sessions then read cheaply.
READ_ONLY_GETS = "READ_ONLY_GETS"
# A pooled PostgreSQL connection unused for this long is pinged before use.
IDLE_PING_SECONDS = 1.0
CHECKED_IN_AT = "vendorkit_checked_in_at"

# What a database that is down, restarting, locked or unreachable raises: the
# request is answered 503 and the client may try again.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # no pooled connection within pool_timeout
    sa_exc.DisconnectionError,
    sa_exc.PendingRollbackError,  # a session whose connection died earlier in the request
)


# SQLite reports a missing table or a syntax error as an OperationalError too;
# that is a bug (500), not an outage.
SQLITE_STATEMENT_ERRORS = frozenset({"SQLITE_ERROR"})


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database is unavailable rather than a bug or a refused statement."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OUTAGE_ERRORS):
        return False
    original = getattr(error, "orig", None)
    return getattr(original, "sqlite_errorname", None) not in SQLITE_STATEMENT_ERRORS


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(normalize_url(engine_or_url))
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, **options) -> Engine:
    """An engine tuned for this project: WAL and write-locking transactions on SQLite, idle connections pinged on PostgreSQL."""
    url = normalize_url(url)
    parsed = make_url(url)
    # Statement parameters can be token digests or password hashes: keep them out of error texts and logs.
    options.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if in_memory:
            options.setdefault("poolclass", StaticPool)
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            # As below: an overflow connection would run its four PRAGMAs per request.
            options.setdefault("pool_size", request_threads())
        options.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **options)
        _make_sqlite_transactional(engine, wal=not in_memory)
        return engine
    # One pooled connection per request thread: with fewer, every request
    # beyond the pool opens an overflow connection and closes it again (a
    # PostgreSQL backend forked per request under full load).
    options.setdefault("pool_size", request_threads())
    options.setdefault("max_overflow", 10)
    # The most recently used connection first: busy connections stay warm
    # (their statements prepared), idle ones stay idle and are pinged.
    options.setdefault("pool_use_lifo", True)
    options.setdefault("pool_timeout", 10)
    options.setdefault("connect_args", {"connect_timeout": 5})
    engine = create_engine(url, **options)
    if not options.get("pool_pre_ping"):
        _ping_idle_connections(engine)
    return engine


def request_threads() -> int:
    """How many request threads this process serves with: SERVE_THREADS (waitress) or GUNICORN_THREADS.

    Where both are set (an image's environment names both servers' settings),
    the larger. Where neither is, 8: gunicorn's threads by default here;
    vendorkit.serve runs fewer, and a pool opens only the connections its
    threads take.
    """
    counts = [
        int(value)
        for name in ("SERVE_THREADS", "GUNICORN_THREADS")
        if (value := os.environ.get(name, "")).isdigit()
    ]
    return max((count for count in counts if count > 0), default=8)


def _ping_idle_connections(engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    # pool_pre_ping costs a round trip on every checkout. A connection in
    # steady use needs none: if its server went away, the statement fails,
    # SQLAlchemy recognises the disconnect and recycles the whole pool, and the
    # request is answered 503. Only a connection that sat idle (the database
    # may have restarted meanwhile) is pinged before use.
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info[CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        checked_in = record.info.get(CHECKED_IN_AT)
        if checked_in is None or time.monotonic() - checked_in < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and checks out (or opens) another.
            raise sa_exc.DisconnectionError(type(error).__name__) from error


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

    # Read-only requests, though, take no lock at all: each of their statements
    # reads a consistent snapshot of its own (WAL) beside any writer, as under
    # PostgreSQL's READ COMMITTED, instead of queueing behind the writer.
    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not connection.get_execution_options().get(READER_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # errors wrapped as SQLAlchemy's


class KeptReader:
    """One thread's read connection on PostgreSQL, kept from one of its requests to the next.

    When the thread ends, the connection goes back to the pool as any
    connection dropped unclosed does (SQLAlchemy's garbage-collection cleanup).
    """

    __slots__ = ("__weakref__", "connection", "generation", "last_used")

    def __init__(self, connection: Connection, generation: int):
        self.connection = connection
        self.generation = generation
        self.last_used = time.monotonic()


class DatabaseState:
    """The engine and session factory of one app, and the engine read-only requests read on.

    On PostgreSQL each request thread keeps one read connection across its
    requests, as Django's persistent connections do: checking one out of the
    pool and back in per request cost a busy service about a tenth of a read. A
    connection idle for over IDLE_PING_SECONDS is pinged before use, and every
    kept connection is replaced once any read connection is found dead or the
    engine is disposed.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        # A reader runs in autocommit: under READ COMMITTED (PostgreSQL's
        # default) every statement takes its own snapshot anyway, so BEGIN and
        # ROLLBACK would be round trips (and, on SQLite, a wait for the write
        # lock) that change nothing.
        self.keeps_readers = not is_sqlite(engine)
        if not self.keeps_readers:
            self.read_engine = engine.execution_options(**{READER_OPTION: True})
        else:
            # A pool of its own, whose connections stay in autocommit: on the
            # writers' pool every read would switch its connection to autocommit
            # and back, and roll back on its return.
            self.read_engine = make_engine(
                engine.url.render_as_string(hide_password=False),
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,
            )
            event.listen(engine, "engine_disposed", lambda _engine: self.read_engine.dispose())
            event.listen(self.read_engine, "invalidate", self._on_invalidate)
            event.listen(self.read_engine, "engine_disposed", self._on_disposed)
        self.sessionmaker = sessionmaker(engine, expire_on_commit=False)
        self._readers = threading.local()
        self._kept: weakref.WeakSet[KeptReader] = weakref.WeakSet()
        self._kept_lock = threading.Lock()
        # Bumped when kept read connections must not be used again.
        self._generation = 0

    def read_connection(self) -> Connection:
        """A connection to read on: this thread's kept one (PostgreSQL), or one checked out for the request."""
        if not self.keeps_readers:
            return self.read_engine.connect()
        # One request at a time per thread: a request served inside another
        # of the same app shares its app context, and so its connection.
        kept: KeptReader | None = getattr(self._readers, "kept", None)
        if kept is None:
            kept = KeptReader(self.read_engine.connect(), self._generation)
            self._readers.kept = kept
            with self._kept_lock:
                self._kept.add(kept)
        elif kept.generation != self._generation:
            # Another read connection was found dead: this one likely is too.
            # Closed (not handed back to the pool); its next use opens a fresh one.
            kept.connection.invalidate()
            kept.generation = self._generation
        elif time.monotonic() - kept.last_used > IDLE_PING_SECONDS:
            self._ping(kept.connection)
        return kept.connection

    def release(self, connection: Connection) -> None:
        """End the request's use of ``connection``: a kept one stays open (its transaction ended), others close."""
        kept: KeptReader | None = getattr(self._readers, "kept", None)
        if kept is None or kept.connection is not connection:
            discard(connection)
            return
        try:
            if connection.in_transaction():
                connection.rollback()
            kept.last_used = time.monotonic()
        except Exception as error:
            log.warning("dropping a read connection that failed: %s", type(error).__name__)
            self._readers.kept = None
            discard(connection)

    def _ping(self, connection: Connection) -> None:
        # The pool pings a connection idle this long at checkout; a kept one is pinged here.
        try:
            self.read_engine.dialect.do_ping(connection.connection.dbapi_connection)
        except Exception as error:
            # Dropped; the connection takes a fresh one from the pool on its next use.
            connection.invalidate(error)

    def _on_invalidate(self, _dbapi_connection, _record, exception) -> None:
        if exception is not None:  # found dead: the database restarted or ended its backends
            self._generation += 1

    def _on_disposed(self, _engine: Engine) -> None:
        # Tests and tools dispose an idle engine: close what every thread keeps, now.
        self._generation += 1
        with self._kept_lock:
            kept = list(self._kept)
        for reader in kept:
            with contextlib.suppress(Exception):
                reader.connection.invalidate()


def init_app(app: Flask) -> DatabaseState:
    """Create the app's engine (never at import time) and close each request's session."""
    state = DatabaseState(make_engine(app.config["DATABASE_URL"]))
    app.extensions[EXTENSION_KEY] = state

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("_db_session", None)
        if session is not None:
            discard(session)
        connection = g.pop("_db_connection", None)
        if connection is not None:
            state.release(connection)

    return state


def discard(session: Session | Connection) -> None:
    """Roll back and close ``session`` (or a connection), never raising: a dead connection is dropped from the pool instead.

    The response is already made when a request's session is discarded, so a
    database that died meanwhile must not turn it into a server error page.
    """
    try:
        session.close()  # rolls back whatever is still open
    except Exception as error:
        log.warning("discarding a session whose connection failed: %s", type(error).__name__)
        with contextlib.suppress(Exception):
            session.invalidate()


def state(app: Flask | None = None) -> DatabaseState:
    """The database state of ``app`` (the current app by default)."""
    return (app or current_app).extensions[EXTENSION_KEY]


def engine(app: Flask | None = None) -> Engine:
    """The current app's engine."""
    return state(app).engine


def session() -> Session:
    """The request's session; a view's writes run in ``with session.begin():`` or end in commit().

    In an app whose ``READ_ONLY_GETS`` setting is on, the session of a GET or
    HEAD request reads in autocommit, each statement on its own snapshot; such
    a request calls ``for_writes`` before it writes.
    """
    if "_db_session" not in g:
        current = state()
        # A read runs on the request's read connection if a check already opened one: one per request.
        bind = (g.get("_db_connection") or current.read_engine) if _reading() else current.engine
        g._db_session = current.sessionmaker(bind=bind)
    return g._db_session


def _reading() -> bool:
    """Whether this is a GET or HEAD request of an app whose GET and HEAD requests write nothing."""
    return bool(
        current_app.config.get(READ_ONLY_GETS, False)
        and has_request_context()
        and request.method in READ_METHODS
    )


def connection() -> Connection:
    """The Core connection the request reads on, without an ORM session.

    In a GET or HEAD of a ``READ_ONLY_GETS`` app: a connection of the read
    engine, the same for the whole request (the request's session, if it
    needs one, runs on it too; see ``DatabaseState.read_connection``).
    Otherwise the session's own, inside its (writer's) transaction.
    """
    opened = g.get("_db_connection")
    if opened is not None:
        return opened
    if not _reading():
        return session().connection()
    if "_db_session" in g:
        return g._db_session.connection()
    opened = g._db_connection = state().read_connection()
    return opened


class _Compiled(NamedTuple):
    sql: str
    defaults: dict[str, Any]  # the values the statement holds (its literals)
    positions: tuple[str, ...] | None  # positional parameters' names, in order
    run: Callable[[Any, str, Any], list[tuple]]  # (DBAPI connection, SQL, values) -> rows


class Prepared:
    """A Core SELECT compiled once per dialect and run by the driver, below SQLAlchemy's execution machinery.

    For the hottest reads (an access token's lookup, a count):
    SQLAlchemy's per-execution machinery (execution context, result object,
    events) costs several times the query itself, and so, on PostgreSQL,
    does psycopg's cursor; there the statement goes to libpq's PQexecParams
    with its values and rows converted by psycopg's own adapters. The
    statement is still SQLAlchemy's, rendered by its compiler for the
    connection's dialect, and a driver error is raised as SQLAlchemy's (a
    lost connection invalidated), so outages are answered as everywhere
    else. Rows are the driver's tuples: use it for columns of plain types (no
    result or bind processing).
    """

    def __init__(self, statement: Executable):
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}  # by dialect name

    def _compile(self, dialect: Any) -> _Compiled:
        run = _cursor_rows
        if dialect.driver == "psycopg":
            from vendorkit import libpq  # psycopg itself, imported only where it is the driver

            run = libpq.rows
            dialect = type(dialect)(paramstyle="numeric_dollar")  # libpq's own placeholders: $1, $2, ...
        compiled = self.statement.compile(dialect=dialect)
        positions = tuple(compiled.positiontup) if compiled.positional else None
        # The caller's parameters are left empty until run.
        placeholders = {name: None for name, bind in compiled.binds.items() if bind.required}
        return _Compiled(compiled.string, compiled.construct_params(placeholders), positions, run)

    def rows(self, connection: Connection, **params: Any) -> list[tuple]:
        """Every row of the statement with ``params`` bound."""
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self._compile(dialect)
        values: Any = {**compiled.defaults, **params}
        if compiled.positions is not None:
            values = tuple(values[name] for name in compiled.positions)
        dbapi_connection = connection.connection.dbapi_connection
        try:
            return compiled.run(dbapi_connection, compiled.sql, values)
        except dialect.loaded_dbapi.Error as error:
            invalidated = dialect.is_disconnect(error, dbapi_connection, None)
            if invalidated:
                connection.invalidate(error)
            raise sa_exc.DBAPIError.instance(
                compiled.sql,
                None,
                error,
                dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=invalidated,
                dialect=dialect,
            ) from error

    def first(self, connection: Connection, **params: Any) -> tuple | None:
        """The first row, or None."""
        rows = self.rows(connection, **params)
        return rows[0] if rows else None


def _cursor_rows(dbapi_connection: Any, sql: str, values: Any) -> list[tuple]:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, values)
        return cursor.fetchall()
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


def for_writes(session: Session) -> Session:
    """Make ``session``'s next transaction a writer's (SQLite: BEGIN IMMEDIATE); ends any open one first.

    A read-only request's statements commit one by one and, on SQLite, take
    no lock; a writer's transaction is atomic and queues for the write lock.
    """
    engine = state().engine
    if session.get_bind() is not engine:
        if session.in_transaction():
            session.commit()
        session.bind = engine
    return session


@contextlib.contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's session as one writer's transaction: committed when the block ends, rolled back if it raises.

    Whatever the request's checks already read (the caller's token, say) is
    part of the same transaction, so a view's writes and the checks' writes
    commit together or not at all; nothing in between commits.
    """
    current = for_writes(session())
    with current.get_transaction() or current.begin():
        yield current


def ping(app: Flask | None = None) -> bool:
    """Whether the database answers (as a reader: on SQLite it waits for no writer)."""
    try:
        with state(app).read_engine.connect() as connection:
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
