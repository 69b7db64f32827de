"""``vendorkit.db.Prepared`` on PostgreSQL, run by libpq: the rows, types and errors SQLAlchemy's own execution gives."""

from __future__ import annotations

import datetime
import uuid

import psycopg
import pytest
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    bindparam,
    column,
    exc,
    literal,
    select,
    table,
    text,
)

from vendorkit import db

ITEMS = table(
    "items",
    column("id", Integer),
    column("name", String),
    column("active", Boolean),
    column("seen", DateTime(timezone=True)),
)
SEEN = datetime.datetime(2026, 12, 2, 17, 0, tzinfo=datetime.UTC)


@pytest.fixture
def url(postgres) -> str:
    return postgres.create_database(f"items_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def connection(url):
    engine = db.make_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(
                "CREATE TABLE items (id integer PRIMARY KEY, name text, active boolean, seen timestamptz);"
                "INSERT INTO items VALUES (1, '100%', true, '2026-12-02 17:00+00'), (2, NULL, false, NULL)"
            )
        )
        yield connection
    engine.dispose()


def test_rows_and_types_are_sqlalchemys_own(connection):
    statement = (
        select(ITEMS.c.id, ITEMS.c.name, ITEMS.c.active, ITEMS.c.seen, literal("a %(b)s $1").label("note"))
        .where(ITEMS.c.id >= bindparam("low"), ITEMS.c.name.like("%\\%") | ITEMS.c.name.is_(None))
        .order_by(ITEMS.c.id)
    )
    rows = db.Prepared(statement).rows(connection, low=1)
    assert rows == [tuple(row) for row in connection.execute(statement, {"low": 1})]
    assert rows == [(1, "100%", True, SEEN, "a %(b)s $1"), (2, None, False, None, "a %(b)s $1")]


def test_a_parameter_is_a_value_never_sql(connection):
    by_name = db.Prepared(select(ITEMS.c.id).where(ITEMS.c.name == bindparam("name")))
    assert by_name.rows(connection, name="100%") == [(1,)]
    assert by_name.rows(connection, name="x' OR '1'='1") == []
    assert by_name.first(connection, name=None) is None


def test_a_refused_statement_is_sqlalchemys_error_and_the_connection_lives_on(connection):
    division = db.Prepared(select(literal(1) / bindparam("zero", type_=Integer)))
    with pytest.raises(exc.DataError) as raised:
        division.rows(connection, zero=0)
    assert isinstance(raised.value.orig, psycopg.errors.DivisionByZero)
    assert not db.is_outage(raised.value)
    assert db.Prepared(select(ITEMS.c.id).where(ITEMS.c.id == 2)).rows(connection) == [(2,)]


def test_a_lost_connection_is_an_outage_and_is_invalidated(connection, url):
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(%s)", (connection.connection.dbapi_connection.info.backend_pid,)
        )
    with pytest.raises(exc.DBAPIError) as raised:
        db.Prepared(select(ITEMS.c.id)).rows(connection)
    assert raised.value.connection_invalidated
    assert db.is_outage(raised.value)
    assert connection.invalidated
