"""The floor: the raw driver writing rows shaped like journal lines, as fast as it can.

SQLite: the stdlib sqlite3 `executemany` in one transaction, on the same database file
and with the same pragmas (WAL, synchronous=FULL). PostgreSQL: psycopg 3 `COPY` on the
same database. Rows have the shape of an entry line (ids, scaled amounts, texts).
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager

from sqlalchemy import Engine

from purchase.state import STATE_COLUMNS

DDL = ("CREATE TABLE bench_floor (id BIGINT PRIMARY KEY, entry_id BIGINT, line_no INTEGER, account_id INTEGER, "
       "debit BIGINT, credit BIGINT, currency VARCHAR(3), amount_currency BIGINT, rate BIGINT, partner_id INTEGER, "
       "order_line_id INTEGER, document VARCHAR(64), quantity BIGINT)")


def _rows(n: int):
    for i in range(n):
        yield (i + 1, i // 2 + 1, i % 2 + 1, 7, (i % 1000) * 100, 0, "EUR", (i % 1000) * 100, 1000000, i % 25, i, "closeout 1", 40000000)


def floor_seconds(engine: Engine, rows: int) -> float:
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("DROP TABLE IF EXISTS bench_floor")
            cur.execute(DDL)
            start = time.perf_counter()
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany("INSERT INTO bench_floor VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", _rows(rows))
            cur.execute("COMMIT")
            seconds = time.perf_counter() - start
            cur.execute("DROP TABLE bench_floor")
        else:
            cur.execute("DROP TABLE IF EXISTS bench_floor")
            cur.execute(DDL)
            driver.commit()
            start = time.perf_counter()
            with cur.copy("COPY bench_floor FROM STDIN") as copy:
                for row in _rows(rows):
                    copy.write_row(row)
            driver.commit()
            seconds = time.perf_counter() - start
            cur.execute("DROP TABLE bench_floor")
            driver.commit()
        return seconds
    finally:
        raw.close()


# -- the schema floor ---------------------------------------------------------------------

REPLAYED = ("entries", "entry_lines", "closeout_lines", "closeout_entries")
_RUN_ENTRIES = "SELECT entry_id FROM closeout_entries WHERE closeout_id = {c} AND kind = 'closeout'"
_REPLAY = {
    "entries": "SELECT * FROM entries WHERE id IN (" + _RUN_ENTRIES + ")",
    "entry_lines": "SELECT * FROM entry_lines WHERE entry_id IN (" + _RUN_ENTRIES + ")",
    "closeout_lines": "SELECT * FROM closeout_lines WHERE closeout_id = {c}",
    "closeout_entries": "SELECT * FROM closeout_entries WHERE closeout_id = {c} AND kind = 'closeout'",
}
_STATE = (*STATE_COLUMNS, "last_closeout_number")  # what a close-out writes back to a line


def _replay_tables_sqlite(cur) -> None:
    for table in REPLAYED:
        (ddl,) = cur.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        cur.execute(re.sub(rf'^CREATE TABLE "?{table}"?', f"CREATE TABLE bench_replay_{table}", ddl))
        for (index,) in cur.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                                    (table,)).fetchall():
            cur.execute(re.sub(rf'INDEX "?(\w+)"? ON "?{table}"?', rf"INDEX bench_replay_\1 ON bench_replay_{table}", index))


def _replay_tables_postgresql(cur) -> None:
    for table in REPLAYED:
        cur.execute(f"CREATE TABLE bench_replay_{table} (LIKE {table} INCLUDING ALL)")
        keys = cur.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
                           (table,)).fetchall()
        for (key,) in keys:  # the foreign keys, to the same tables the real rows point at
            cur.execute(f"ALTER TABLE bench_replay_{table} ADD {key}")
        checks = cur.execute("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s",
                             (table, f"trg_{table}_references")).fetchall()
        for (check,) in checks:  # the references checked once a statement (migration 0005), the same way
            check = check.replace(f"trg_{table}_references", f"trg_bench_replay_{table}_references")
            cur.execute(re.sub(rf" ON (\w+\.)?{table} ", f" ON bench_replay_{table} ", check))


@contextmanager
def _replay_copies(engine: Engine):
    """(cursor, driver connection, is SQLite) of a raw connection in a transaction that has
    just made empty copies of the `REPLAYED` tables (`bench_replay_*`, the same indexes and
    foreign keys, and on PostgreSQL the reference checks of migration 0005); the caller
    commits. The copies are dropped afterwards."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()
        sqlite = engine.dialect.name == "sqlite"
        _begin(cur, sqlite)
        (_replay_tables_sqlite if sqlite else _replay_tables_postgresql)(cur)
        yield cur, driver, sqlite
        for table in reversed(REPLAYED):
            cur.execute(f"DROP TABLE bench_replay_{table}")
        driver.commit()
    finally:
        raw.close()


def _begin(cur, sqlite: bool) -> None:
    if sqlite:  # the connection leaves BEGIN to us (ledger.db); commit() ends what it opens
        cur.execute("BEGIN IMMEDIATE")


def _rewrite_closed_lines(cur, closeout_id: int) -> int:
    """Write the state of every line the close-out closed again, in place, as it is; how many."""
    sets = ", ".join(f"{c} = {c}" for c in _STATE)
    cur.execute(f"UPDATE order_lines SET {sets} WHERE id IN (SELECT order_line_id FROM closeout_lines WHERE closeout_id = {int(closeout_id)})")
    return cur.rowcount


def schema_floor(engine: Engine, closeout_id: int) -> dict:
    """The database alone doing the real run's writes: the rows the close-out inserted
    (its entries, their lines, its close-out lines and entry links), copied by INSERT ...
    SELECT into empty copies of their tables with the same indexes and reference checks, and
    the state of every line it closed written again in place, in one committed
    transaction. No client work and no rows sent: a lower bound for what any program
    writing these rows into this schema takes. The copies are dropped afterwards; the
    order lines keep their values.
    """
    with _replay_copies(engine) as (cur, driver, sqlite):
        driver.commit()
        _begin(cur, sqlite)
        rows = 0
        start = time.perf_counter()
        for table in REPLAYED:
            cur.execute(f"INSERT INTO bench_replay_{table} " + _REPLAY[table].format(c=int(closeout_id)))
            rows += cur.rowcount
        updated = _rewrite_closed_lines(cur, closeout_id)
        driver.commit()
        seconds = time.perf_counter() - start
    return {"rows": rows, "updated": updated, "seconds": round(seconds, 3)}


def driver_floor(engine: Engine, closeout_id: int) -> dict:
    """The same writes as `schema_floor`, with the rows sent as a program must send them: the
    rows the close-out inserted, read back into Python first (not timed), then written by
    the raw driver (executemany on SQLite, COPY on PostgreSQL) into copies of their tables
    that already hold the rest of the book's rows, as the real tables did when the run
    wrote them; then the closed lines' state rewritten in place, as `schema_floor` does.
    What the database and its driver need for the run's writes on this book, before any
    of pledger's own work. The copies are dropped afterwards; the books stay as they were.
    """
    with _replay_copies(engine) as (cur, driver, sqlite):
        sent, held = {}, 0
        for table in REPLAYED:
            run_rows = _REPLAY[table].format(c=int(closeout_id))
            # the book as the run found it, then the run's rows, read into Python
            cur.execute(f"INSERT INTO bench_replay_{table} SELECT * FROM {table} EXCEPT {run_rows} ORDER BY 1, 2")
            held += cur.rowcount
            sent[table] = cur.execute(f"SELECT * FROM ({run_rows}) AS run ORDER BY 1, 2").fetchall()
        if not sqlite:
            for table in REPLAYED:
                cur.execute(f"ANALYZE bench_replay_{table}")
        driver.commit()
        _begin(cur, sqlite)
        start = time.perf_counter()
        for table, rows in sent.items():
            if not rows:
                continue
            if sqlite:
                cur.executemany(f"INSERT INTO bench_replay_{table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
            else:
                with cur.copy(f"COPY bench_replay_{table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        updated = _rewrite_closed_lines(cur, closeout_id)
        driver.commit()
        seconds = time.perf_counter() - start
    return {"rows": sum(len(r) for r in sent.values()), "updated": updated, "held": held, "seconds": round(seconds, 3)}


# -- the floor with references --------------------------------------------------------------


def references_floor(engine: Engine, rows: int) -> dict:
    """The raw driver writing about `rows` rows as two-line journal entries (a third of them
    entries, the rest their lines) into tables of the journal's columns with primary keys
    and ordinary foreign keys: the lines to their entry and account, the entries to their
    journal and fiscal year (`bench.scale`, way `keys`). Of the tables tried, the one kind
    that reproduces the issue's PostgreSQL figure for its floor (COPY 3.9 s for 300,000
    such rows; 0.50 s into tables with a primary key only: `docs/benchmarks.md`, "The
    issue's own scale figures"). The tables are dropped afterwards."""
    from bench.scale import _KEYS, _book, _raw, rows as journal_rows

    entries = max(1, round(rows / 3))
    with engine.connect() as conn:
        heads, lines = journal_rows(entries, *_book(conn))
    tables = ("scale_entries", "scale_entry_lines")
    try:
        seconds = _raw(engine, tables, heads, lines, _KEYS)
    finally:
        with engine.begin() as conn:
            for table in reversed(tables):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    return {"rows": len(heads) + len(lines), "seconds": round(seconds, 3)}
