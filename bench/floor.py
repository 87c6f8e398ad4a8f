"""The floor: the raw driver writing rows shaped like journal lines, as fast as it can.

SQLite: the stdlib sqlite3 `executemany` in one transaction, on the same database file
and with the same pragmas (WAL, synchronous=FULL). PostgreSQL: psycopg 3 `COPY` on the
same database. Rows have the shape of an entry line (ids, scaled amounts, texts).
"""

from __future__ import annotations

import time

from sqlalchemy import Engine

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
