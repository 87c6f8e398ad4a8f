"""Batch writes straight to the driver's executemany, never the ORM unit of work row by row.

SQLAlchemy Core's executemany still builds and processes a parameter dictionary per row
(measured: about half of a close-out's write time). Here the statement text and each
column's bind processor (the same `Scaled`, date and boolean conversions Core would
apply) are worked out once per table and set of columns, and the rows go to the DBAPI
cursor's `executemany` as plain tuples, inside the session's transaction (on SQLite an INSERT
of 64 rows for each parameter row: `_sqlite_insert`). On PostgreSQL
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

A close-out or undo writes behind (`write_behind`): its batch writes go to a thread of their
own, while the run reads its next chunk ahead (`ReadAhead`) and works it out. SQLite serves
that thread without Python's interpreter lock (the writes go as a few statements of many
rows each), PostgreSQL in its own process. Every other read and statement waits for what
was sent before it.
"""

from __future__ import annotations

import json
import queue
import sqlite3
import sys
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from functools import lru_cache, partial
from itertools import chain
from operator import itemgetter
from typing import Any, Callable, Generic, Iterable, Iterator, NamedTuple, Sequence, TypeVar

from sqlalchemy import Date, DateTime, Table, func
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ledger.types import Scaled, scaled_column

T = TypeVar("T")


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
def _plan(table: Table, dialect, kind: str, columns: tuple[str, ...], stored: frozenset[str] = frozenset(), keys: int = 1):
    """(SQL text, processors per column) for an INSERT, a COPY (PostgreSQL), an UPDATE ... WHERE
    key, (PostgreSQL, many rows) an UPDATE ... FROM unnest() of one array parameter per column,
    or (SQLite writing behind) an INSERT or UPDATE with a place (`{}`) for many VALUES rows.

    `stored` names the scaled columns whose values are already the stored integers; an
    UPDATE's last `keys` columns are the key its rows are found by.
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
        arrays = ", ".join(f"(SELECT %s::{_array_type(table.c[c].type, dialect)})" for c in columns)
        sets = ", ".join(f"{quote(c)} = t.{quote(c)}" for c in columns[:-keys])
        found = " AND ".join(f"{name}.{quote(c)} = t.{quote(c)}" for c in columns[-keys:])
        sql = f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS t({names}) WHERE {found}"
    elif kind == "values_insert":  # SQLite: INSERT ... VALUES of many rows, added by `_sqlite_statements`
        sql = f"INSERT INTO {name} ({names}) VALUES {{}}"
    elif kind == "rows_insert":  # SQLite: INSERT ... VALUES of `SQLITE_ROWS` rows (`_sqlite_insert`)
        row = f"({', '.join(mark for _ in columns)})"
        sql = f"INSERT INTO {name} ({names}) VALUES {', '.join([row] * SQLITE_ROWS)}"
    elif kind == "values_update":  # SQLite: one UPDATE ... FROM (VALUES ...), its rows added by `_sqlite_statements`
        sets = ", ".join(f"{quote(c)} = v.column{i}" for i, c in enumerate(columns[:-keys], 1))
        found = " AND ".join(f"{name}.{quote(c)} = v.column{i}" for i, c in enumerate(columns[-keys:], len(columns) - keys + 1))
        sql = f"UPDATE {name} SET {sets} FROM (VALUES {{}}) AS v WHERE {found}"
    else:
        sets = ", ".join(f"{quote(c)} = {mark}" for c in columns[:-keys])
        found = " AND ".join(f"{quote(c)} = {mark}" for c in columns[-keys:])
        sql = f"UPDATE {name} SET {sets} WHERE {found}"
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
                 stored: frozenset[str] = frozenset(), keys: int = 1) -> None:
    connection = session.connection()
    dialect = connection.dialect
    writer = connection.info.get(WRITER)
    if writer is not None and dialect.name == "sqlite":  # a few statements of many rows each, sent by the writer
        sql, processors = _plan(model.__table__, dialect, f"values_{kind}", columns, stored, keys)
        for statement in _sqlite_statements(sql, len(columns), _tuples(rows, columns, processors)):
            writer.submit(*statement)
        return
    if dialect.name == "sqlite" and kind == "insert" and len(rows) >= SQLITE_ROWS:
        _sqlite_insert(connection, model.__table__, columns, stored, rows)
        return
    if dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        # in the same transaction (psycopg's executemany sends a statement a row)
        kind = {"insert": "copy", "update": "array_update"}[kind]
    sql, processors = _plan(model.__table__, dialect, kind, columns, stored, keys)
    if kind == "array_update":  # one array per column
        how, params = "execute", tuple(map(pg_array, _columns(rows, columns, processors)))
    else:
        how, params = ("copy" if kind == "copy" else "executemany"), _tuples(rows, columns, processors)
    if writer is not None:  # PostgreSQL, writing behind: the writer sends it
        writer.submit(sql, params, how)
    elif how == "copy":
        with _driver_errors(connection, sql, None), connection.connection.driver_connection.cursor() as cursor:
            _copy(cursor, sql, params)
    else:
        connection.exec_driver_sql(sql, params)
    if kind in ("insert", "copy") and dialect.name == "postgresql":
        _keep_statistics(connection, model.__table__, len(rows))


SQLITE_ROWS = 64
"""Rows to one SQLite INSERT statement of the batch writes not written behind (`_sqlite_insert`)."""


def _sqlite_insert(connection, table: Table, columns: tuple[str, ...], stored: frozenset[str], rows: Sequence) -> None:
    """INSERT the rows on SQLite `SQLITE_ROWS` to a statement, the statements one executemany,
    and the rows left over (fewer) one a statement, in a second. SQLite's executemany steps
    its statement once a parameter row: an INSERT of 64 VALUES rows for each step executes
    about a quarter fewer instructions per row than one-row INSERTs (measured: 60,000 lines
    of entries, in batches of 1,500 to 2,500). One statement text each, so SQLite prepares
    them once a call: a statement of all a batch's rows, as long as the batch, was prepared
    anew for every batch, and cost more than it saved."""
    dialect = connection.dialect
    sql, processors = _plan(table, dialect, "rows_insert", columns, stored)
    values = _tuples(rows, columns, processors)
    full = len(values) - len(values) % SQLITE_ROWS
    flat = iter(list(chain.from_iterable(values[:full])))
    connection.exec_driver_sql(sql, list(zip(*[flat] * (SQLITE_ROWS * len(columns)))))  # each statement's values, in C
    if full < len(values):
        connection.exec_driver_sql(_plan(table, dialect, "insert", columns, stored)[0], list(values[full:]))


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
    table owner's rights PostgreSQL skips it with a warning. Writing behind, the writer
    sends these statements after the rows, so that the run does not wait for them.
    """
    name = connection.dialect.identifier_preparer.format_table(table)
    keep = partial(_count_inserted, connection.info, table.name, name, inserted)
    writer = connection.info.get(WRITER)
    if writer is None:
        keep(_sql_rows(connection))
    else:
        writer.call(lambda cursor: keep(_rows_of(cursor)), f"ANALYZE {name}")


def _count_inserted(info: dict, table: str, name: str, inserted: int, rows_of: Callable) -> None:
    """`_keep_statistics`'s count, its statements sent by `rows_of(sql, params)`."""
    seen = info.setdefault("pledger_inserted", {})
    counts = seen.get(table)
    if counts is None:
        known = rows_of("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass(%s)", (table,))
        counts = seen[table] = [0, int(known[0][0] if known and known[0][0] else 0)]
    counts[0] += inserted
    if counts[0] >= max(ANALYZE_FROM, counts[1]):
        rows_of(f"ANALYZE (SKIP_LOCKED) {name}")
        counts[1] += counts[0]
        counts[0] = 0


def _rows_of(cursor) -> Callable:
    """A function that runs a statement on the driver's `cursor` and gives its rows (none
    for a statement without)."""
    def rows_of(sql: str, params=None) -> list:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
    return rows_of


@contextmanager
def _driver_errors(connection, sql: str, params):
    """Raise what the driver's own cursor raises as SQLAlchemy would have: the same
    `sqlalchemy.exc.DBAPIError` subclasses (`.orig` the driver's error) that callers catch,
    retry on (a deadlock, a serialization failure) or report in one line."""
    try:
        yield
    except connection.dialect.loaded_dbapi.Error as exc:
        _raise_as_sqlalchemy(connection, sql, params, exc)


def _raise_as_sqlalchemy(connection, sql: str, params, exc: BaseException):
    """Raise the driver's error `exc` as `_driver_errors` does; other exceptions as they are."""
    dbapi = connection.dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        raise exc
    invalidated = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
    if invalidated:
        connection.invalidate(exc)
    raise DBAPIError.instance(sql, params, exc, dbapi.Error, connection_invalidated=invalidated,
                              dialect=connection.dialect) from exc


def _copy(cursor, sql: str, rows: Iterable[tuple]) -> None:
    """COPY the rows (PostgreSQL), on the driver's `cursor`."""
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _send(sql: str, params, how: str, cursor) -> None:
    """Send a batch write on the driver's `cursor` (`how`: "execute"; "executemany", a
    sequence of rows; "copy", PostgreSQL's COPY of rows)."""
    if how == "copy":
        _copy(cursor, sql, params)
    elif how == "executemany":
        cursor.executemany(sql, params)
    else:
        cursor.execute(sql, params)


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
    """Insert rows; their new ids (`new_ids`) in the order of `rows`. The ids are taken first
    and the rows written with them, so the rows go the same fast way as `insert_rows` (no
    RETURNING round trips)."""
    if not rows:
        return []
    ids = new_ids(session, model, len(rows))
    _executemany(session, model, "insert", ("id", *rows[0]), [{"id": i, **row} for i, row in zip(ids, rows)])
    return ids


def new_ids(session: Session, model, count: int) -> list[int]:
    """`count` ids for new rows of the model's table, to be inserted before any other ids are
    taken: on PostgreSQL from the table's own sequence (`nextval`, safe beside other
    writers); on SQLite as max(id) + 1, ..., which is safe because every SQLite write
    transaction holds the write lock from its BEGIN (`ledger.db`: BEGIN IMMEDIATE) and these
    tables never lose rows.

    Writing behind (`write_behind`), the ids are not asked for each time, as asking would
    wait for the writer. On SQLite the next id is kept from one call to the next (the rows
    of the previous call may not be written yet). On PostgreSQL ids are taken from the
    sequence in blocks of at least `ID_BLOCK` and handed out from there. Once fewer are
    kept than a call took, the writer takes the next block, four times what that call took,
    after the writes it was given. The ids of a block not used when the run ends are never
    used: a gap in the ids, as a rolled-back transaction leaves one. (The ids
    are the rows' own keys; the entries' numbers come from the journals' counters, without
    gaps.)
    """
    if not count:
        return []
    connection = session.connection()
    table = model.__table__
    writer = connection.info.get(WRITER)
    if connection.dialect.name == "postgresql":
        if writer is None:
            return _next_values(_sql_rows(connection), table.name, count)
        ids = writer.ids.get(table.name)
        if ids is None:
            ids = writer.ids[table.name] = _Ids()
        if len(ids.kept) < count and ids.coming is not None:
            ids.kept += writer.result(ids.coming)
            ids.coming = None
        if len(ids.kept) < count:
            ids.kept += _next_values(_sql_rows(connection), table.name, max(count - len(ids.kept), ID_BLOCK))
        given, ids.kept = ids.kept[:count], ids.kept[count:]
        if len(ids.kept) < count and ids.coming is None:
            block = max(4 * count, ID_BLOCK)
            ids.coming = writer.call(lambda cursor: _next_values(_rows_of(cursor), table.name, block), "SELECT nextval(...)")
        return given
    first = None if writer is None else writer.next_ids.get(table.name)
    if first is None:  # (a writer behind is drained first, by `ledger.db`'s hook)
        name = connection.dialect.identifier_preparer.format_table(table)
        first = connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) + 1 FROM {name}").scalar()
    if writer is not None:  # the writer's rows are the only ones this transaction adds while it writes
        writer.next_ids[table.name] = first + count
    return list(range(first, first + count))


ID_BLOCK = 1_000
"""The fewest ids `new_ids` takes from a PostgreSQL sequence at once while writing behind."""


class _Ids:
    """A PostgreSQL table's ids taken ahead by a run writing behind (`new_ids`)."""

    def __init__(self) -> None:
        self.kept: list[int] = []  # taken, not yet given, in increasing order
        self.coming: Future[list[int]] | None = None  # the next block, asked of the writer


def _next_values(rows_of: Callable, table: str, count: int) -> list[int]:
    """`count` new values of the PostgreSQL table's id sequence, in increasing order.

    The sequence is looked up once a statement (the CTE), not once a value: called per row,
    `pg_get_serial_sequence` parses the table's name each time, and took 4 to 6 microseconds
    of the server's a value where the values alone take about 1."""
    return sorted(i for i, in rows_of(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
        "SELECT nextval(s.seq) FROM s, generate_series(1, %s)", (table, count)))


def _sql_rows(connection) -> Callable:
    """As `_rows_of`, through the SQLAlchemy `connection` (its events, its errors)."""
    def rows_of(sql: str, params=None) -> list:
        result = connection.exec_driver_sql(sql, params)
        return result.all() if result.returns_rows else []
    return rows_of


def update_by_id(session: Session, model, rows: Sequence[dict] | Sequence[tuple], *,
                 columns: tuple[str, ...] | None = None, stored: frozenset[str] = frozenset()) -> None:
    """UPDATE ... WHERE id = ? for each row (one executemany; on PostgreSQL, from `COPY_FROM`
    rows, one UPDATE ... FROM unnest(); on SQLite writing behind, UPDATE ... FROM (VALUES
    ...)); rows share their keys, or are tuples of the values of `columns` in that order,
    the last of them "id". Values of the `Scaled` columns named in `stored` are already the
    stored integers."""
    if rows:
        if columns is None:
            columns = tuple(k for k in rows[0] if k != "id") + ("id",)
        elif columns[-1] != "id":
            raise ValueError("update_by_id: the last column is the id")
        _executemany(session, model, "update", columns, rows, stored)


def update_by_key(session: Session, model, rows: Sequence[tuple], *, columns: tuple[str, ...], keys: int) -> None:
    """As `update_by_id`, for a table whose rows are found by the last `keys` of `columns`
    (a composite primary key); rows are tuples in the order of `columns`."""
    if rows:
        if not 0 < keys < len(columns):
            raise ValueError("update_by_key: the key is some of the columns, not all")
        _executemany(session, model, "update", columns, rows, keys=keys)


# -- batch reads ----------------------------------------------------------------------------


class ReadPlan(NamedTuple):
    """A batch SELECT worked out once: `stmt WHERE column IN (...) ORDER BY ... [FOR UPDATE OF ...]`."""

    base: str  # the SELECT up to its WHERE
    key: str  # the key column
    condition: str | None  # PostgreSQL: `key = ANY ((SELECT %s::type[])::type[])`; SQLite: None, an IN list of marks
    tail: str  # ORDER BY, and the lock
    processors: tuple  # per selected column, its result processor or None
    as_json: str | None = None  # SQLite: the same SELECT as one JSON text of its rows, for `read_behind`


def read_plan(stmt, column, order_by, dialect, *, lock_of: Table | None = None) -> ReadPlan:
    """The plan of `select_in` for a SELECT without WHERE, its key column and its order, on one
    dialect. `lock_of`: a table whose rows are locked (FOR UPDATE OF) on PostgreSQL; SQLite's
    writers are serialised by BEGIN IMMEDIATE. Callers keep their plans (building one compiles
    the statement)."""
    tail = f" ORDER BY {order_by.compile(dialect=dialect)}"
    condition = None
    if dialect.name == "postgresql":  # one array parameter: one statement text, as ledger.db.one_of
        array = f"{column.type.compile(dialect=dialect)}[]"  # a scalar subquery: see ledger.db.one_of
        condition = f"{column.compile(dialect=dialect)} = ANY ((SELECT %s::{array})::{array})"
        if lock_of is not None:
            tail += f" FOR UPDATE OF {dialect.identifier_preparer.format_table(lock_of)}"
    processors = tuple(c.type._cached_result_processor(dialect, None) for c in stmt.selected_columns)
    as_json = None
    if dialect.name == "sqlite":
        rows = func.json_group_array(func.json_array(*stmt.selected_columns))
        as_json = str(stmt.with_only_columns(rows, maintain_column_froms=True).compile(dialect=dialect))
    return ReadPlan(str(stmt.compile(dialect=dialect)), str(column.compile(dialect=dialect)), condition, tail, processors,
                    as_json)


def select_in(session: Session, plan: ReadPlan, values: Sequence) -> list[tuple]:
    """The plan's rows whose key is one of `values`, as plain tuples in the statement's column
    order, converted as Core converts them (the same `Scaled`, date and boolean result
    processors) but a column at a time: Core's per-row processing was about half the time of
    reading a chunk of order lines. Read through the driver's cursor, in the session's
    transaction, as the batch writes are. Asked in one statement: callers keep `values` to a
    few thousand (SQLite takes at most 32,766 parameters)."""
    if not values:
        return []
    sql, params = _in_statement(plan, values)
    connection = session.connection()
    before_statement(connection, sql)  # what this transaction wrote behind is read back as written
    cursor = connection.connection.driver_connection.cursor()
    try:  # the driver's own rows (tuples): no result object and row wrapper per row
        with _driver_errors(connection, sql, params):
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    finally:
        cursor.close()
    return _converted(rows, plan.processors)


def _in_statement(plan: ReadPlan, values: Sequence) -> tuple[str, tuple]:
    """`select_in`'s statement and parameters: an IN list of marks (SQLite), one array (PostgreSQL)."""
    if plan.condition is None:
        return f"{plan.base} WHERE {plan.key} IN ({', '.join('?' for _ in values)}){plan.tail}", tuple(values)
    return f"{plan.base} WHERE {plan.condition}{plan.tail}", (pg_array(values),)


def _converted(rows: list, processors: tuple) -> list[tuple]:
    """Rows converted by their columns' result processors, a column at a time; as tuples."""
    if not rows or not any(processors):
        return rows if not rows or type(rows[0]) is tuple else list(map(tuple, rows))
    columns = list(zip(*rows))
    for i, convert in enumerate(processors):
        if convert is not None:
            columns[i] = list(map(convert, columns[i]))
    return list(zip(*columns))


def read_behind(session: Session, plan: ReadPlan, values: Sequence) -> Callable[[], list[tuple]] | None:
    """`select_in`'s rows (on SQLite in no particular order), read by the run's writer
    (`write_behind`) after the writes it was given, while the run goes on; the function
    returned waits for them and gives them. None where there is no writer: read them with
    `select_in` when they are needed.

    On PostgreSQL the writer sends `select_in`'s own statement (its locks included) on the
    run's connection, in its transaction: the server reads while the run works, instead of
    the run waiting first for the writes before the read and then for the read.

    On SQLite a driver's read gives up the interpreter lock for every row it steps to and
    takes it back, so a read beside the run's busy thread would wait at every row. Here
    SQLite makes the rows into one JSON text (`json_group_array`) in one step, without the
    lock, and the writer decodes it (`json.loads`, which needs the lock about as long as
    making the rows would). SQLite's part of the read then runs beside the run's work.

    Only for rows that the writes given before cannot have changed: a run reads its next
    chunk's lines, which no earlier chunk touches."""
    connection = session.connection()
    writer = connection.info.get(WRITER)
    if writer is None or not values:
        return None
    values = tuple(values)
    if plan.condition is not None:  # PostgreSQL: one array parameter, any number of values
        statements = [_in_statement(plan, values)]
    elif plan.as_json is not None and SQLITE_JSON:
        statements = [(f"{plan.as_json} WHERE {plan.key} IN ({', '.join('?' * len(part))})", part)
                      for part in (values[i : i + SQLITE_VARIABLES] for i in range(0, len(values), SQLITE_VARIABLES))]
    else:
        return None
    as_json = plan.condition is None
    processors = plan.processors

    def read(cursor) -> list[tuple]:
        rows: list = []
        for sql, params in statements:
            cursor.execute(sql, params)
            rows += json.loads(cursor.fetchone()[0]) if as_json else cursor.fetchall()
        return _converted(rows, processors)

    future = writer.call(read, statements[0][0])
    return partial(writer.result, future)


# -- writing behind, reading ahead -----------------------------------------------------

WRITER = "pledger_writer"
"""Key, in the connection's `info`, of the `WriteBehind` writing for it."""


def _sqlite_json() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT value FROM json_each(json_array(1))").fetchall()
    except sqlite3.OperationalError:  # a SQLite built without JSON
        return False
    return True


SQLITE_JSON = _sqlite_json()
"""Whether this Python's SQLite has the JSON functions (`json_each`, `json_group_array`, ...)."""

SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
"""The most parameters one SQLite statement takes (SQLITE_MAX_VARIABLE_NUMBER's default)."""

WRITE_BEHIND = True
"""Whether a run writes behind (`write_behind`); tests turn it off to compare."""

SQLITE_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33)
"""Whether this SQLite can write behind: its updates need UPDATE ... FROM (3.33)."""

SWITCH_INTERVAL = 0.0002
"""Seconds Python lets one thread run before another that waits gets the interpreter, while
a run writes behind (Python's default: 0.005). The writer needs the interpreter for a
moment before and after each statement; at the default it waited up to 5 ms each time,
fell behind the run and the run waited for it (measured, 100,000 lines: the run took
about as long as writing in line; at 0.0002 s, about 10 % less)."""


def _sqlite_statements(sql: str, width: int, rows: Sequence[tuple]) -> Iterator[tuple[str, tuple]]:
    """The rows as a few SQLite statements of many rows each, `_plan`'s "values_insert" or
    "values_update" with their VALUES filled in, as many rows to a statement as its
    parameters allow; (SQL, parameters) each."""
    per = max(1, SQLITE_VARIABLES // width)
    group = "(" + ",".join("?" * width) + ")"
    for i in range(0, len(rows), per):
        part = rows[i : i + per]
        yield sql.format(",".join([group] * len(part))), tuple(chain.from_iterable(part))


class WriteBehind:
    """A run's batch writes, sent by a thread of their own (schrijven op de achtergrond) while
    the run works out its next chunk, on the same connection and so in the same transaction.

    SQLite does a statement's work without Python's global interpreter lock, so its writing
    and the run's Python work can go on two cores at once. A statement a row (executemany)
    would take the lock back after every row and wait for it each time, so the writer sends
    each batch as a few statements of many rows (`_sqlite_statements`). PostgreSQL does it in
    its own process: the writer sends the COPYs and array UPDATEs the run would have sent,
    and waits for the server while the run goes on. Everything else the
    transaction does waits until the writer is done with what it was given (`drain`): every
    batch read (`select_in`), and every other statement, by `ledger.db`'s hook, so nothing
    reads the tables before the rows sent to them are written, and statements keep their
    order. A writer's error is raised in the run's own thread at its next write or drain,
    as the driver's error would have been (`_driver_errors`); the run then fails and its
    transaction is rolled back, so nothing is half-written. At most `DEPTH` statements wait
    to be written: a run that works faster than the disk waits for it. The writer also
    reads what the run asks of it ahead of time (`read_behind`), in the same order.
    """

    DEPTH = 32

    def __init__(self, connection) -> None:
        self._connection = connection  # the SQLAlchemy Connection, to raise errors as it does
        self._driver = connection.connection.driver_connection
        self._pending: queue.Queue = queue.Queue(maxsize=self.DEPTH)
        self._failed: tuple[str, BaseException] | None = None
        self._cancelled = False
        self.next_ids: dict[str, int] = {}  # SQLite: per table, the next id `new_ids` gives
        self.ids: dict[str, _Ids] = {}  # PostgreSQL: per table, the ids taken ahead
        self._thread = threading.Thread(target=self._write, name="pledger-writer", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        cursor = self._driver.cursor()
        try:
            while True:
                work = self._pending.get()
                try:
                    if work is None:
                        return
                    task, what, future = work
                    if self._failed is not None or self._cancelled:
                        future.cancel()
                        continue
                    try:
                        future.set_result(task(cursor))
                    except BaseException as exc:  # handed to the run's thread
                        self._failed = (what, exc)
                        future.set_exception(exc)
                finally:
                    self._pending.task_done()
        finally:
            cursor.close()

    def _raise_failure(self) -> None:
        if self._failed is not None:
            sql, exc = self._failed
            _raise_as_sqlalchemy(self._connection, sql[:500], None, exc)

    def submit(self, sql: str, params, how: str = "execute") -> None:
        """Have the writer send `sql` with `params` (`how`: as `_send`)."""
        self.call(partial(_send, sql, params, how), sql)

    def call(self, task: Callable[[Any], T], what: str) -> Future[T]:
        """Have the writer run `task` on its driver cursor, after everything given before;
        `what`: the SQL it sends, for its error. Its result: `result`."""
        self._raise_failure()
        future: Future[T] = Future()
        self._pending.put((task, what, future))
        return future

    def result(self, future: Future[T]) -> T:
        """What a `call` gave, once the writer has run it (its error, or an earlier one,
        raised as `drain` raises it)."""
        try:
            return future.result()
        except BaseException:
            self._raise_failure()
            raise

    def drain(self) -> None:
        """Wait until everything given is written; raise the writer's error, if any."""
        self._pending.join()
        self._raise_failure()

    def stop(self, *, cancel: bool) -> None:
        """End the thread, after writing what waits (or, `cancel`, skipping it)."""
        self._cancelled = self._cancelled or cancel
        if self._thread.is_alive():
            self._pending.put(None)
            self._thread.join()


@contextmanager
def write_behind(session: Session):
    """Inside: the session's batch writes (`insert_rows`, `insert_returning_ids`,
    `update_by_id`, `update_by_key`) are written by a `WriteBehind`; on a SQLite older than
    3.33 they are written as they come. On leaving, every
    write is done (or on an exception, what waits is dropped: the caller rolls back). A
    commit or rollback inside ends the writer first (`ledger.db`'s hooks): the writes
    given before a commit are in it, and none waits to be written after a rollback.

    The run inside overlaps its work with the writer's by reading ahead (`ReadAhead`): it
    reads its next chunk before it sends the writes of the current one, so that the reads
    need not wait for the writer.
    """
    connection = session.connection()
    info = connection.info  # the DBAPI connection's, as the hooks see it
    if not WRITE_BEHIND or (connection.dialect.name == "sqlite" and not SQLITE_UPDATE_FROM) or WRITER in info:
        yield
        return
    writer = info[WRITER] = WriteBehind(connection)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
    try:
        yield
    except BaseException:
        end_writer(info, cancel=True)
        raise
    else:
        end_writer(info, cancel=False)
    finally:
        sys.setswitchinterval(interval)


def end_writer(info: dict, *, cancel: bool) -> None:
    """Stop the connection's writer, if it has one: after writing what waits (raising its
    error, if any), or (`cancel`) dropping it."""
    writer = info.pop(WRITER, None)
    if writer is not None:
        try:
            if not cancel:
                writer.drain()
        finally:
            writer.stop(cancel=True)


def before_statement(connection, statement: str) -> None:
    """What a statement outside the writer waits for (`ledger.db` calls this before every
    statement SQLAlchemy sends): everything given to the writer is written first.
    A statement that may add rows also ends what the writer knows of the tables' next ids."""
    writer = connection.info.get(WRITER)
    if writer is not None:
        writer.drain()
        if statement.lstrip()[:6].upper() != "SELECT":
            writer.next_ids.clear()


_UNREAD = object()
_END = object()


class ReadAhead(Generic[T]):
    """An iterator of chunks that can read its next chunk early (`read_next`), so that a run
    reads it before sending the current chunk's writes (`write_behind`)."""

    def __init__(self, chunks: Iterable[T]) -> None:
        self._chunks = iter(chunks)
        self._next = _UNREAD

    def __iter__(self) -> "ReadAhead[T]":
        return self

    def __next__(self) -> T:
        if self._next is _UNREAD:
            return next(self._chunks)
        chunk, self._next = self._next, _UNREAD
        if chunk is _END:
            raise StopIteration
        return chunk

    def read_next(self) -> None:
        """Read the next chunk now (once): `next()` then gives it."""
        if self._next is _UNREAD:
            self._next = next(self._chunks, _END)
