"""One SELECT run by libpq's PQexecParams, its values and rows converted by psycopg's own adapters.

What psycopg's cursor does for one query, without its per-query objects (the
cursor, its adapters map, the query parser, the prepared-statement
bookkeeping): about half of the client's CPU per statement, which for the
hottest reads (``vendorkit.db.Prepared``) is as much as the query itself.
The connection must be one thread's alone, as a pooled one is; the call
waits for the server without holding the interpreter lock, as psycopg's does.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer


def rows(connection: psycopg.Connection, sql: str, values: tuple) -> list[tuple]:
    """The rows of ``sql`` (``$1``, ``$2``... placeholders) with ``values``, as psycopg's cursor would load them."""
    transformer = Transformer(connection)
    parameters: Any = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
    result = connection.pgconn.exec_params(sql.encode(), parameters, transformer.types, transformer.formats)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise errors.error_from_result(result, encoding=connection.info.encoding)
    transformer.set_pgresult(result)
    return transformer.load_rows(0, result.ntuples, tuple)
