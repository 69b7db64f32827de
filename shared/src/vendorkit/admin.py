"""The emulator's state endpoints, on a service's own port: reset to the demo data, read and replace every table.

``ADMIN_API=1`` serves them (otherwise the paths do not exist and answer the
vendor's own 404); with ``ADMIN_TOKEN`` set they need
``Authorization: Bearer <token>``. They are the emulator's paths, not a
vendor's: every answer is JSON and every error is ``{"message": ...}``.

- ``POST /_admin/reset`` replaces every table's rows by the demo data, with
  the ids a fresh start with ``DEMO_DATA=1`` gives them, and ends every
  session issued before: stored tokens go with their rows, and the key that
  signs stateless tokens (see ``signing_secret``) changes.
- ``GET /_admin/state`` is every table of the service, rows in primary-key
  order, values as JSON: date-times in ISO 8601, bytes in base64, decimals as
  strings. Stored hashes stay hashes.
- ``PUT /_admin/state`` with such a document makes the data exactly the
  document's, in one transaction; a document of another service or schema
  revision, or one the database refuses, is a 400 and changes nothing.

The demo loader runs on the first reset after the service starts, and its rows
are kept (as a state document, in the database); later resets, by any worker,
write those very rows again. A reset thus costs milliseconds rather than a
round of password hashing, and every reset leaves the same data, down to the
password hashes and the timestamps the loader takes from the clock.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import logging
import secrets
import threading
import uuid
import zlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    delete,
    event,
    false,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy import types as sa_types
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.orm import Session

from vendorkit import db
from vendorkit.security import constant_time_equals

log = logging.getLogger("vendorkit.admin")

EXTENSION_KEY = "vendorkit.admin"

# The admin API's own table, beside the service's, with one row: the salt of
# the key that signs stateless tokens (replaced by every reset) and the demo
# data as a state document (made by the first reset after the service starts,
# so that every worker and every later reset writes the very same rows). It
# belongs to no service's migrations: it is neither part of the state nor of
# alembic's comparisons.
ADMIN_METADATA = MetaData()
ADMIN_STATE = Table(
    "admin_state",
    ADMIN_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token_salt", String(64)),
    Column("demo_document", Text),
)
NOT_STATE = frozenset({"alembic_version", ADMIN_STATE.name})

# On PostgreSQL every transaction of a service with the admin API shares this
# advisory lock, which a reset or a restore holds alone: it waits for the
# transactions in flight and holds back new ones until it commits. Locking the
# tables themselves instead (TRUNCATE) deadlocks with requests that already
# hold some of them.
RESET_LOCK_KEY = zlib.crc32(b"vendorkit.admin.reset") & 0x7FFFFFFF
EXCLUSIVE_OPTION = "vendorkit_admin_exclusive"

UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
REFUSED_BY_DATABASE = (sa_exc.IntegrityError, sa_exc.DataError)
# PostgreSQL's deadlock and serialization failures: the transaction is safe to run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
ATTEMPTS = 3

# The largest state document PUT takes (the services' server refuses larger bodies anyway).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ROUTES = {"reset": ["POST"], "state": ["GET", "HEAD", "PUT"]}

DemoLoader = Callable[[Session, dict[str, Any]], None]


class StateError(ValueError):
    """A state document that cannot be restored; the message names the part that is wrong."""


@dataclass
class ServiceAdmin:
    """One app's admin API: the service's short name, its demo loader and its reflected tables."""

    service: str
    demo_loader: DemoLoader | None
    # The app's engine, its transactions taking the reset lock alone.
    exclusive_engine: Engine
    tables: list[Table] | None = None
    # The statement that points every PostgreSQL sequence past its column's highest value.
    sequence_moves: Select | None = None
    # The stored demo document last parsed, with the schema revision and the rows it gave.
    demo_cache: tuple[str, str | None, dict[str, list[dict[str, Any]]]] | None = None
    reflect_lock: threading.Lock = field(default_factory=threading.Lock)


def init_app(app: Flask, package: str, demo_loader: DemoLoader | None = None) -> None:
    """Serve ``/_admin/...`` when ``ADMIN_API`` is on, for the service named after ``package`` (svc_wipe: wipe)."""
    if not app.config.get("ADMIN_API"):
        return
    engine = db.engine(app)
    app.extensions[EXTENSION_KEY] = ServiceAdmin(
        package.removeprefix("svc_"), demo_loader, engine.execution_options(**{EXCLUSIVE_OPTION: True})
    )
    with db.exclusive(engine, "admin"), engine.begin() as connection:
        ADMIN_METADATA.create_all(connection)
        # The demo loader may have changed since the document was made.
        connection.execute(update(ADMIN_STATE).values(demo_document=None))
    if engine.dialect.name == "postgresql":
        # Readers too: on PostgreSQL read-only requests have an engine (and pool) of their own.
        for shared in {engine, db.state(app).read_engine}:
            _share_the_reset_lock(shared)
    app.register_blueprint(blueprint)


def _share_the_reset_lock(engine: Engine) -> None:
    # SQLite needs nothing of the kind: a reset's transaction holds its only write lock.
    @event.listens_for(engine, "begin")
    def _take_reset_lock(connection: Connection) -> None:
        alone = connection.get_execution_options().get(EXCLUSIVE_OPTION, False)
        function = "pg_advisory_xact_lock" if alone else "pg_advisory_xact_lock_shared"
        connection.exec_driver_sql(f"SELECT {function}({RESET_LOCK_KEY})")


def include_in_migrations(name: str | None, type_: str, _parent_names: dict) -> bool:
    """alembic's ``include_name`` hook: the admin API's own table is no service's schema."""
    return not (type_ == "table" and name == ADMIN_STATE.name)


def signing_secret(secret: str) -> str:
    """The key that signs and verifies the current app's stateless tokens: ``secret``, changed by each reset."""
    if not current_app.config.get("ADMIN_API"):
        return secret
    # The request's own session: on SQLite a second connection would wait for its write lock.
    salt = db.session().scalar(select(ADMIN_STATE.c.token_salt))
    return secret if salt is None else f"{secret}.{salt}"


# -- the state of the database ----------------------------------------------------------------


def _admin(app: Flask | None = None) -> ServiceAdmin:
    return (app or current_app).extensions[EXTENSION_KEY]


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _tables(admin: ServiceAdmin, connection: Connection) -> list[Table]:
    """The service's tables in dependency order, reflected once per process."""
    with admin.reflect_lock:
        if admin.tables is None:
            metadata = MetaData()
            metadata.reflect(connection, only=lambda name, _metadata: name not in NOT_STATE)
            tables = list(metadata.sorted_tables)
            for table in tables:
                for column in table.columns:
                    if isinstance(column.type, sa_types.JSON):
                        # A null read from the database goes back as SQL NULL, not as the JSON text null.
                        column.type.none_as_null = True
            admin.sequence_moves = _sequence_moves(connection, tables) if _is_postgresql(connection) else None
            admin.tables = tables
        return admin.tables


def _sequence_moves(connection: Connection, tables: list[Table]) -> Select | None:
    moves = []
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sa_types.Integer):
                continue
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": _quoted(connection, table), "column": column.name},
            )
            if sequence is not None:
                moves.append(
                    func.setval(
                        cast(literal(sequence), REGCLASS),
                        func.greatest(func.coalesce(select(func.max(column)).scalar_subquery(), 0) + 1, 1),
                        false(),
                    )
                )
    return select(*moves) if moves else None


def _quoted(connection: Connection, table: Table) -> str:
    return connection.dialect.identifier_preparer.format_table(table)


def _revision(connection: Connection) -> str | None:
    """The alembic revision the database is at (None when it was never migrated)."""
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    versions = connection.scalars(text("SELECT version_num FROM alembic_version")).all()
    return ",".join(sorted(versions)) or None


def _ordered(table: Table):
    return select(table).order_by(*(table.primary_key.columns or table.columns))


def read_state(app: Flask | None = None) -> dict[str, Any]:
    """The service's state document: its name, schema revision and every table's rows as JSON."""
    admin = _admin(app)
    with db.engine(app).connect() as connection:
        if _is_postgresql(connection):
            # One snapshot for every table, as a single SQLite transaction gives.
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        return _document(connection, admin.service, _tables(admin, connection))


def _document(connection: Connection, service: str, tables: list[Table]) -> dict[str, Any]:
    return {
        "service": service,
        "schema": _revision(connection),
        "tables": {
            table.name: [
                {name: encode_value(value) for name, value in row._mapping.items()}
                for row in connection.execute(_ordered(table))
            ]
            for table in tables
        },
    }


def encode_value(value: Any) -> Any:
    """A column value as JSON: ISO 8601 for dates and times, base64 for bytes, strings for decimals and UUIDs."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def decode_value(column: Column, value: Any, where: str) -> Any:
    """The Python value ``column`` stores for the JSON ``value``; StateError naming ``where`` if it cannot."""
    if value is None:
        if not column.nullable:
            raise StateError(f"{where}: must not be null")
        return None
    kind = column.type
    try:
        if isinstance(kind, sa_types.JSON):
            return value
        if isinstance(kind, sa_types.Boolean):
            return _expect(value, bool, "a boolean")
        if isinstance(kind, sa_types.Integer):
            if isinstance(value, bool):
                raise StateError("expected an integer")
            return _expect(value, int, "an integer")
        if isinstance(kind, sa_types.Float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StateError("expected a number")
            return value
        if isinstance(kind, sa_types.Numeric):
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise StateError("expected a decimal number or its text")
            return decimal.Decimal(str(value))
        if isinstance(kind, sa_types.DateTime):
            return dt.datetime.fromisoformat(_expect(value, str, "an ISO 8601 date-time"))
        if isinstance(kind, sa_types.Date):
            return dt.date.fromisoformat(_expect(value, str, "an ISO 8601 date"))
        if isinstance(kind, sa_types.Time):
            return dt.time.fromisoformat(_expect(value, str, "an ISO 8601 time"))
        if isinstance(kind, sa_types.LargeBinary):
            return base64.b64decode(_expect(value, str, "base64 text"), validate=True)
        if isinstance(kind, sa_types.Uuid):
            parsed = uuid.UUID(_expect(value, str, "a UUID"))
            return parsed if kind.as_uuid else str(parsed)
        if isinstance(kind, sa_types.String):
            _expect(value, str, "a string")
            if kind.length is not None and len(value) > kind.length:
                raise StateError(f"expected at most {kind.length} characters")
            return value
    except StateError as error:
        raise StateError(f"{where}: {error}") from None
    except (ValueError, decimal.InvalidOperation, binascii.Error):
        raise StateError(f"{where}: {value!r} is not a valid {column.type}") from None
    return value


def _expect(value: Any, kind: type, description: str) -> Any:
    if not isinstance(value, kind):
        raise StateError(f"expected {description}")
    return value


def parse_document(
    document: Any, service: str, revision: str | None, tables: list[Table]
) -> dict[str, list[dict[str, Any]]]:
    """The rows of a state document, checked against this service, revision and tables."""
    if not isinstance(document, dict):
        raise StateError("expected a JSON object with service, schema and tables")
    unknown = set(document) - {"service", "schema", "tables"}
    if unknown:
        raise StateError(f"unknown field {sorted(unknown)[0]!r}")
    if document.get("service") != service:
        raise StateError(f"service: this is {service!r}, the document is of {document.get('service')!r}")
    if document.get("schema") != revision:
        raise StateError(
            f"schema: the database is at revision {revision!r}, the document at {document.get('schema')!r}"
        )
    given = document.get("tables")
    if not isinstance(given, dict):
        raise StateError("tables: expected an object of table names to lists of rows")
    by_name = {table.name: table for table in tables}
    _require_exactly(given, by_name, "tables", "table")
    return {name: _parse_rows(by_name[name], given[name]) for name in by_name}


def _require_exactly(given: Collection[str], expected: Collection[str], where: str, kind: str) -> None:
    """StateError at ``where`` for the first name ``given`` but not ``expected``, then the first one missing."""
    for name in given:
        if name not in expected:
            raise StateError(f"{where}: unknown {kind} {name!r}")
    for name in expected:
        if name not in given:
            raise StateError(f"{where}: {kind} {name!r} is missing")


def _parse_rows(table: Table, rows: Any) -> list[dict[str, Any]]:
    if not isinstance(rows, list):
        raise StateError(f"tables.{table.name}: expected a list of rows")
    names = set(table.columns.keys())
    parsed = []
    for index, row in enumerate(rows):
        where = f"tables.{table.name}[{index}]"
        if not isinstance(row, dict):
            raise StateError(f"{where}: expected an object of column values")
        _require_exactly(row, names, where, "column")
        parsed.append(
            {
                column.name: decode_value(column, row[column.name], f"{where}.{column.name}")
                for column in table.columns
            }
        )
    return parsed


def _clear(connection: Connection, tables: list[Table]) -> None:
    """Delete every row of ``tables``, and on SQLite their AUTOINCREMENT counters (sequences: ``_move_sequences``)."""
    postgresql = _is_postgresql(connection)
    if not postgresql:
        # Rows come back in any order; foreign keys are checked when the transaction commits.
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    # DELETE, not PostgreSQL's TRUNCATE: no other transaction runs meanwhile (the reset lock),
    # and TRUNCATE, which makes every table and index anew, costs ten times as much on demo-sized tables.
    for table in reversed(tables):
        connection.execute(delete(table))
    if not postgresql and tables and connection.dialect.has_table(connection, "sqlite_sequence"):
        connection.execute(
            text("DELETE FROM sqlite_sequence WHERE name IN :names").bindparams(
                bindparam("names", expanding=True)
            ),
            {"names": [table.name for table in tables]},
        )


# Bind parameters PostgreSQL takes in one statement.
MAX_PARAMETERS = 65535


def _insert(connection: Connection, tables: list[Table], rows: dict[str, list[dict[str, Any]]]) -> None:
    for table in tables:
        table_rows = rows.get(table.name)
        if not table_rows:
            continue
        if _is_postgresql(connection) and _refers_forward(table, table_rows):
            # PostgreSQL checks foreign keys after each statement: rows that refer to rows
            # further down the list go in one statement (SQLite defers the checks to the commit).
            per_statement = max(1, MAX_PARAMETERS // len(table.columns))
            for start in range(0, len(table_rows), per_statement):
                connection.execute(insert(table).values(table_rows[start : start + per_statement]))
        else:
            connection.execute(insert(table), table_rows)


def _refers_forward(table: Table, rows: list[dict[str, Any]]) -> bool:
    """Whether a row refers to a row of its own table that comes later in ``rows`` (or not at all)."""
    references = [
        (key.parent.name, key.column.name) for key in table.foreign_keys if key.column.table is table
    ]
    if not references:
        return False
    seen: dict[str, set] = {target: set() for _source, target in references}
    for row in rows:
        for target, values in seen.items():
            values.add(row[target])
        if any(row[source] is not None and row[source] not in seen[target] for source, target in references):
            return True
    return False


def _move_sequences(connection: Connection, admin: ServiceAdmin) -> None:
    """Point each PostgreSQL sequence past its column's highest value (SQLite's rowids follow by themselves)."""
    if admin.sequence_moves is not None:
        connection.execute(admin.sequence_moves)


def _stored_demo(
    connection: Connection, admin: ServiceAdmin, tables: list[Table]
) -> tuple[str | None, dict[str, list[dict[str, Any]]] | None]:
    """The stored demo document and its rows; rows None when there is none for this schema."""
    stored = connection.scalar(select(ADMIN_STATE.c.demo_document))
    if stored is None:
        return None, None
    revision = _revision(connection)
    cached = admin.demo_cache
    if cached is not None and cached[:2] == (stored, revision):
        return stored, cached[2]
    try:
        rows = parse_document(json.loads(stored), admin.service, revision, tables)
    except (StateError, ValueError):
        return None, None
    admin.demo_cache = (stored, revision, rows)
    return stored, rows


@contextmanager
def _transaction(admin: ServiceAdmin) -> Iterator[Session]:
    """One session in one transaction that no other transaction runs beside (see ``RESET_LOCK_KEY``)."""
    with Session(admin.exclusive_engine, expire_on_commit=False) as session, session.begin():
        yield session


def _retrying(work: Callable[[], Any]) -> Any:
    """Run ``work``, again when PostgreSQL chose its transaction as a deadlock's victim."""
    attempt = 1
    while True:
        try:
            return work()
        except sa_exc.OperationalError as error:
            sqlstate = getattr(error.orig, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt >= ATTEMPTS:
                raise
            log.warning("admin transaction retried after %s", sqlstate)
            attempt += 1


def reset(app: Flask | None = None) -> None:
    """Replace every table's rows by the demo data and end every session issued before."""
    admin = _admin(app)
    config = (app or current_app).config

    def run() -> None:
        with _transaction(admin) as session:
            connection = session.connection()
            tables = _tables(admin, connection)
            _clear(connection, tables)
            stored, demo_rows = _stored_demo(connection, admin, tables)
            if demo_rows is None:
                # Counters from the start, so that the loader's rows get the ids of a fresh start.
                _move_sequences(connection, admin)
                if admin.demo_loader is not None:
                    admin.demo_loader(session, config)
                    session.flush()
                stored = json.dumps(_document(connection, admin.service, tables))
            else:
                _insert(connection, tables, demo_rows)
            _move_sequences(connection, admin)
            connection.execute(delete(ADMIN_STATE))
            connection.execute(
                insert(ADMIN_STATE).values(id=1, token_salt=secrets.token_hex(16), demo_document=stored)
            )

    _retrying(run)


def restore_state(document: Any, app: Flask | None = None) -> None:
    """Make the service's data exactly ``document``'s (StateError, and nothing changed, when it cannot be)."""
    admin = _admin(app)

    def run() -> None:
        with _transaction(admin) as session:
            connection = session.connection()
            tables = _tables(admin, connection)
            rows = parse_document(document, admin.service, _revision(connection), tables)
            _clear(connection, tables)
            _insert(connection, tables, rows)
            _move_sequences(connection, admin)

    try:
        _retrying(run)
    except REFUSED_BY_DATABASE as error:
        raise StateError(f"the database refuses the document: {_first_line(error)}") from None


def _first_line(error: sa_exc.DBAPIError) -> str:
    return " ".join(str(error.orig).split())[:500]


# -- the HTTP endpoints ------------------------------------------------------------------------

blueprint = Blueprint("vendorkit_admin", __name__, url_prefix="/_admin")


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(message=message)
    response.status_code = status
    response.headers.update(headers or {})
    return response


@blueprint.before_request
def _require_admin_token() -> Response | None:
    expected = current_app.config.get("ADMIN_TOKEN")
    if not expected:
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(given.strip(), expected):
        return _message(401, "Admin token required", {"WWW-Authenticate": "Bearer"})
    return None


def _database_unavailable(error: Exception) -> Response:
    log.error("admin request failed: database unavailable (%s)", type(error).__name__)
    return _message(503, "The database is unavailable; try again")


for _error_class in UNAVAILABLE:
    blueprint.register_error_handler(_error_class, _database_unavailable)


@blueprint.post("/reset")
def reset_view() -> Response:
    """Put the service back to its demo data; every earlier session and token stops working."""
    reset()
    log.info("service reset to its demo data")
    return jsonify(service=_admin().service, reset=True)


@blueprint.get("/state")
def state_view() -> Response:
    """Every table of the service, rows in primary-key order."""
    return jsonify(read_state())


@blueprint.put("/state")
def restore_view() -> Response:
    """Replace the service's data by the document's, in one transaction; 400 and no change when it is invalid."""
    # A state document outgrows a vendor's own body limit (64 KiB for some) long before it is large.
    request.max_content_length = MAX_DOCUMENT_BYTES
    document = request.get_json(force=True, silent=True)
    if document is None:
        return _message(400, "expected a JSON state document as the body")
    try:
        restore_state(document)
    except StateError as error:
        return _message(400, str(error))
    log.info("service state restored from a document")
    return jsonify(service=_admin().service, restored=True)


@blueprint.route("/<path:rest>", methods=ALL_METHODS)
def other_view(rest: str) -> Response:
    """Unknown admin paths, and known ones with another method."""
    allowed = ROUTES.get(rest)
    if allowed is None:
        return _message(404, f"No route for {request.path}")
    return _message(
        405, f"Method {request.method} not allowed on {request.path}", {"Allow": ", ".join(allowed)}
    )
