"""Batch writes straight to the driver's executemany, never the ORM unit of work row by row.

SQLAlchemy Core's executemany still builds and processes a parameter dictionary per row
(measured: about half of a close-out's write time). Here the statement text and each
column's bind processor (the same `Scaled`, date and boolean conversions Core would
apply) are worked out once per table and set of columns, and the rows go to the DBAPI
cursor's `executemany` as plain tuples, inside the session's transaction. On PostgreSQL
many rows go in one statement each: INSERTs through COPY, UPDATEs by primary key as one
UPDATE ... FROM unnest() of an array per column. (An UPDATE from a temporary table filled
by COPY, as before, was planned as a hash join over a sequential scan of the whole target
table for every chunk: measured at 100,000 order lines, 67 ms of an 80 ms UPDATE of 2,000
rows. So was unnest() of the arrays themselves, whose length the planner reads: 29 ms of
a 47 ms UPDATE of 2,000 order lines in a close-out. Each array is therefore given as a
scalar subquery, `(SELECT %s::bigint[])`, which the planner does not look into: unnest()
is estimated at ten rows, and every row is found through the primary key.)

Batch reads go the same way (`select_in`): a SELECT's text and each column's result
processor are worked out once, and the rows are converted a column at a time.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple, Sequence

from sqlalchemy import Date, DateTime, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger.types import Scaled, scaled_column


def _processor(column_type, dialect, stored: bool):
    """What turns a column of Python values into the driver's values (None: nothing to do)."""
    if isinstance(column_type, Scaled):  # the TypeDecorator's own conversion, a column at a time
        return None if stored else scaled_column(column_type.scale)
    value = column_type._cached_bind_processor(dialect)
    if value is None:
        return None
    if isinstance(column_type, (Date, DateTime)):  # a batch repeats its dates: each one converted once
        def convert(values: list) -> list:
            converted = {v: value(v) for v in set(values)}
            return list(map(converted.__getitem__, values))

        return convert
    return lambda values: list(map(value, values))


@lru_cache(maxsize=256)
def _plan(table: Table, dialect, kind: str, columns: tuple[str, ...], stored: frozenset[str] = frozenset()):
    """(SQL text, processors per column) for an INSERT, a COPY (PostgreSQL), an UPDATE ... WHERE id,
    or (PostgreSQL, many rows) an UPDATE ... FROM unnest() of one array parameter per column.

    `stored` names the scaled columns whose values are already the stored integers.
    """
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    processors = tuple(_processor(table.c[c].type, dialect, c in stored) for c in columns)
    name = dialect.identifier_preparer.format_table(table)
    names = ", ".join(quote(c) for c in columns)
    if kind == "insert":
        sql = f"INSERT INTO {name} ({names}) VALUES ({', '.join(mark for _ in columns)})"
    elif kind == "copy":
        sql = f"COPY {name} ({names}) FROM STDIN"
    elif kind == "array_update":  # PostgreSQL: one UPDATE ... FROM unnest(one array per column)
        key = quote(columns[-1])
        arrays = ", ".join(f"(SELECT %s::{_array_type(table.c[c].type, dialect)})" for c in columns)
        sets = ", ".join(f"{quote(c)} = t.{quote(c)}" for c in columns[:-1])
        sql = f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS t({names}) WHERE {name}.{key} = t.{key}"
    else:
        sets = ", ".join(f"{quote(c)} = {mark}" for c in columns[:-1])
        sql = f"UPDATE {name} SET {sets} WHERE {quote(columns[-1])} = {mark}"
    return sql, processors


_NULL_OR_INT = {int, type(None)}


def pg_array(values: Sequence):
    """One PostgreSQL array parameter of `values`: whole numbers (and NULLs) as the array's
    text, '{1,2,NULL}', made by one join in C, which the statement's cast (`%s::bigint[]`)
    reads; other values as a list, which psycopg dumps. psycopg dumps a list value by value
    in Python: measured, a third of the time of an UPDATE ... FROM unnest() of 60,000 order
    lines was spent dumping its arrays."""
    kinds = set(map(type, values))
    if kinds == {int} or not kinds:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds <= _NULL_OR_INT:
        return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
    return list(values)


def _array_type(column_type, dialect) -> str:
    """The PostgreSQL array type of a column's values as the driver sends them."""
    impl = column_type.impl_instance if isinstance(column_type, Scaled) else column_type
    return f"{impl.compile(dialect=dialect)}[]"


def _columns(rows: Sequence[dict] | Sequence[tuple], columns: tuple[str, ...], processors) -> list[list]:
    """Each column's values, converted where the column needs it (a C-level pass over each
    column instead of a Python call per value); rows are dicts, or tuples in column order."""
    if type(rows[0]) is tuple:
        values = list(map(list, zip(*rows)))
    else:
        values = [list(map(itemgetter(c), rows)) for c in columns]
    for i, convert in enumerate(processors):
        if convert is not None:
            values[i] = convert(values[i])
    return values


def _tuples(rows: Sequence[dict] | Sequence[tuple], columns: tuple[str, ...], processors) -> list:
    """Each row's values in column order, converted where the column needs it (`_columns`,
    zipped back into rows); rows are dicts, or tuples already in column order."""
    if not any(processors):
        if type(rows[0]) is tuple:
            return rows
        get = itemgetter(*columns)
        if len(columns) == 1:
            return [(get(r),) for r in rows]  # itemgetter of one key gives the bare value
        return list(map(get, rows))
    return list(zip(*_columns(rows, columns, processors)))


COPY_FROM = 100  # rows; below this a PostgreSQL executemany costs less than a COPY or an array UPDATE


def _executemany(session: Session, model, kind: str, columns: tuple[str, ...], rows: Sequence[dict],
                 stored: frozenset[str] = frozenset()) -> None:
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        # in the same transaction (psycopg's executemany sends a statement a row)
        kind = {"insert": "copy", "update": "array_update"}[kind]
    sql, processors = _plan(model.__table__, dialect, kind, columns, stored)
    if kind == "array_update":  # one array per column
        connection.exec_driver_sql(sql, tuple(map(pg_array, _columns(rows, columns, processors))))
    elif kind == "copy":
        _copy(connection, sql, _tuples(rows, columns, processors))
    else:
        connection.exec_driver_sql(sql, _tuples(rows, columns, processors))
    if kind in ("insert", "copy") and dialect.name == "postgresql":
        _keep_statistics(connection, model.__table__, len(rows))


ANALYZE_FROM = 10_000  # rows a session has inserted into a table before its statistics are refreshed


def _keep_statistics(connection, table: Table, inserted: int) -> None:
    """Refresh a PostgreSQL table's planner statistics each time this connection's inserts
    have doubled it (and at least every `ANALYZE_FROM` rows): O(log n) ANALYZEs.

    PostgreSQL plans from statistics that autovacuum refreshes only after commits (and
    never where it is off); a batch that grows a table inside one transaction, such as a
    year's import, was otherwise planned as if the table were still empty: measured, a
    sequential scan of a million order lines for every batch of 100 orders. ANALYZE inside
    the transaction sees the transaction's own rows. SKIP_LOCKED: never wait behind
    another session's ANALYZE (the lock it takes is then held to the commit); without the
    table owner's rights PostgreSQL skips it with a warning.
    """
    seen = connection.info.setdefault("pledger_inserted", {})
    counts = seen.get(table.name)
    if counts is None:
        known = connection.exec_driver_sql(
            "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass(%s)", (table.name,)).scalar()
        counts = seen[table.name] = [0, int(known or 0)]
    counts[0] += inserted
    if counts[0] >= max(ANALYZE_FROM, counts[1]):
        connection.exec_driver_sql(f"ANALYZE (SKIP_LOCKED) {connection.dialect.identifier_preparer.format_table(table)}")
        counts[1] += counts[0]
        counts[0] = 0


@contextmanager
def _driver_errors(connection, sql: str, params):
    """Raise what the driver's own cursor raises as SQLAlchemy would have: the same
    `sqlalchemy.exc.DBAPIError` subclasses (`.orig` the driver's error) that callers catch,
    retry on (a deadlock, a serialization failure) or report in one line."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        invalidated = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
        if invalidated:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=invalidated,
                                  dialect=connection.dialect) from exc


def _copy(connection, sql: str, values: list) -> None:
    with _driver_errors(connection, sql, None), connection.connection.driver_connection.cursor().copy(sql) as copy:
        for row in values:
            copy.write_row(row)


def insert_rows(session: Session, model, rows: Sequence[dict], *, stored: frozenset[str] = frozenset(),
                columns: tuple[str, ...] | None = None) -> None:
    """INSERT the rows (one executemany); rows share their keys, or are tuples of the
    values of `columns` in that order.

    Values of the `Scaled` columns named in `stored` are already the stored integers
    (`ledger.types.to_scaled`), as the posting service has them for the hash.
    """
    if rows:
        _executemany(session, model, "insert", columns or tuple(rows[0]), rows, stored)


def insert_returning_ids(session: Session, model, rows: Sequence[dict]) -> list[int]:
    """Insert rows; their new ids in the order of `rows`.

    The ids are taken first and the rows written with them, so the rows go the same
    fast way as `insert_rows` (no RETURNING round trips): on PostgreSQL from the table's
    own sequence (`nextval`, safe beside other writers); on SQLite as max(id) + 1, ...,
    which is safe because every SQLite write transaction holds the write lock from its
    BEGIN (`ledger.db`: BEGIN IMMEDIATE) and these tables never lose rows.
    """
    if not rows:
        return []
    connection = session.connection()
    table = model.__table__
    if connection.dialect.name == "postgresql":
        ids = [i for i, in connection.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table.name, len(rows)))]
    else:
        name = connection.dialect.identifier_preparer.format_table(table)
        first = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {name}").scalar()
        ids = list(range(first, first + len(rows)))
    _executemany(session, model, "insert", ("id", *rows[0]), [{"id": i, **row} for i, row in zip(ids, rows)])
    return ids


def update_by_id(session: Session, model, rows: Sequence[dict] | Sequence[tuple], *,
                 columns: tuple[str, ...] | None = None, stored: frozenset[str] = frozenset()) -> None:
    """UPDATE ... WHERE id = ? for each row (one executemany; on PostgreSQL, from `COPY_FROM`
    rows, one UPDATE ... FROM unnest()); rows share their keys, or are tuples of the values
    of `columns` in that order, the last of them "id". Values of the `Scaled` columns named
    in `stored` are already the stored integers."""
    if rows:
        if columns is None:
            columns = tuple(k for k in rows[0] if k != "id") + ("id",)
        elif columns[-1] != "id":
            raise ValueError("update_by_id: the last column is the id")
        _executemany(session, model, "update", columns, rows, stored)


# -- batch reads ----------------------------------------------------------------------------


class ReadPlan(NamedTuple):
    """A batch SELECT worked out once: `stmt WHERE column IN (...) ORDER BY ... [FOR UPDATE OF ...]`."""

    base: str  # the SELECT up to its WHERE
    key: str  # the key column
    condition: str | None  # PostgreSQL: `key = ANY (%s::type[])`; SQLite: None, an IN list of marks
    tail: str  # ORDER BY, and the lock
    processors: tuple  # per selected column, its result processor or None


def read_plan(stmt, column, order_by, dialect, *, lock_of: Table | None = None) -> ReadPlan:
    """The plan of `select_in` for a SELECT without WHERE, its key column and its order, on one
    dialect. `lock_of`: a table whose rows are locked (FOR UPDATE OF) on PostgreSQL; SQLite's
    writers are serialised by BEGIN IMMEDIATE. Callers keep their plans (building one compiles
    the statement)."""
    tail = f" ORDER BY {order_by.compile(dialect=dialect)}"
    condition = None
    if dialect.name == "postgresql":  # one array parameter: one statement text, as ledger.db.one_of
        condition = f"{column.compile(dialect=dialect)} = ANY (%s::{column.type.compile(dialect=dialect)}[])"
        if lock_of is not None:
            tail += f" FOR UPDATE OF {dialect.identifier_preparer.format_table(lock_of)}"
    processors = tuple(c.type._cached_result_processor(dialect, None) for c in stmt.selected_columns)
    return ReadPlan(str(stmt.compile(dialect=dialect)), str(column.compile(dialect=dialect)), condition, tail, processors)


def select_in(session: Session, plan: ReadPlan, values: Sequence) -> list[tuple]:
    """The plan's rows whose key is one of `values`, as plain tuples in the statement's column
    order, converted as Core converts them (the same `Scaled`, date and boolean result
    processors) but a column at a time: Core's per-row processing was about half the time of
    reading a chunk of order lines. Read through the driver's cursor, in the session's
    transaction, as the batch writes are. Asked in one statement: callers keep `values` to a
    few thousand (SQLite takes at most 32,766 parameters)."""
    if not values:
        return []
    if plan.condition is None:
        sql = f"{plan.base} WHERE {plan.key} IN ({', '.join('?' for _ in values)}){plan.tail}"
        params = tuple(values)
    else:
        sql = f"{plan.base} WHERE {plan.condition}{plan.tail}"
        params = (pg_array(values),)
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()
    try:  # the driver's own rows (tuples): no result object and row wrapper per row
        with _driver_errors(connection, sql, params):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows or not any(plan.processors):
        return rows
    columns = list(zip(*rows))
    for i, convert in enumerate(plan.processors):
        if convert is not None:
            columns[i] = list(map(convert, columns[i]))
    return list(zip(*columns))
