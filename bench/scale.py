"""`python -m bench scale`: the performance issue's own scale figures, measured again here.

The issue sets its scale with "100,000 two-line journal entries (300,000 rows)": into a
SQLite file, stdlib `sqlite3` executemany 1.0 s ("the floor"), SQLAlchemy Core 1.2 to
2.0 s, the ORM's `add_all` 40 s; on PostgreSQL, COPY 3.9 s, Core executemany 6.7 s, the
ORM 50 s. It does not say which tables. This writes the same 100,000 entries and 200,000
lines several ways, each into a fresh migrated database (`pledger init`'s schema and
defaults), so the issue's figures can be set beside tables of known shape:

- `bare`: the raw driver into two tables of the journal's columns with a primary key
  and nothing else (the bench's floor: `bench.floor`, rows shaped like entry lines);
- `keys`: the same with the references a journal has, as ordinary foreign keys (the
  lines to their entry and account, the entries to their journal and fiscal year);
- `journal`: the raw driver into pledger's own `entries` and `entry_lines`, as migrated
  (their unique key, indexes and reference checks);
- `core`: SQLAlchemy Core `insert()` executemany into pledger's tables;
- `orm` (with `--orm`): mapped `Entry` and `EntryLine` objects, `add_all` and one commit.

Each is timed from its first statement to its commit; rounds alternate the ways.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, text

from bench.database import drop_database, fresh_database
from ledger.db import make_engine, make_sessionmaker

ISSUE = {  # the issue's figures for 300,000 rows: seconds, as it gives them (low, high)
    "sqlite": {"bare": (1.0, 1.0), "core": (1.2, 2.0), "orm": (40.0, 40.0)},
    "postgresql": {"bare": (3.9, 3.9), "core": (6.7, 6.7), "orm": (50.0, 50.0)},
}

ENTRY_COLUMNS = ("id", "journal_id", "fiscal_year_id", "number", "entry_date", "description", "source", "user_name",
                 "posted_at", "prev_hash", "hash")
LINE_COLUMNS = ("id", "entry_id", "line_no", "account_id", "debit", "credit", "currency", "amount_currency", "rate",
                "partner_id", "order_line_id", "document", "quantity")

_BARE = {
    "entries": "id BIGINT PRIMARY KEY, journal_id INTEGER, fiscal_year_id INTEGER, number INTEGER, entry_date DATE, "
               "description VARCHAR(255), source VARCHAR(32), user_name VARCHAR(128), posted_at TIMESTAMP, "
               "prev_hash VARCHAR(64), hash VARCHAR(64)",
    "entry_lines": "id BIGINT PRIMARY KEY, entry_id BIGINT, line_no INTEGER, account_id INTEGER, debit BIGINT, "
                   "credit BIGINT, currency VARCHAR(3), amount_currency BIGINT, rate BIGINT, partner_id INTEGER, "
                   "order_line_id INTEGER, document VARCHAR(64), quantity BIGINT",
}
_KEYS = {
    "entries": _BARE["entries"].replace("journal_id INTEGER", "journal_id INTEGER REFERENCES journals (id)")
                               .replace("fiscal_year_id INTEGER", "fiscal_year_id INTEGER REFERENCES fiscal_years (id)"),
    "entry_lines": _BARE["entry_lines"].replace("entry_id BIGINT", "entry_id BIGINT REFERENCES scale_entries (id)")
                                       .replace("account_id INTEGER", "account_id INTEGER REFERENCES accounts (id)"),
}
WAYS = ("bare", "keys", "journal", "core", "orm")


def _book(session) -> tuple[int, int, list[int]]:
    """(journal id, fiscal year id, account ids) of the fresh database's defaults."""
    journal = session.execute(text("SELECT id FROM journals ORDER BY id")).scalars().first()
    year = session.execute(text("SELECT id FROM fiscal_years ORDER BY id")).scalars().first()
    accounts = session.execute(text("SELECT id FROM accounts ORDER BY id")).scalars().all()[:8]
    return journal, year, accounts


def rows(entries: int, journal: int, year: int, accounts: list[int]):
    """(entry rows, line rows) of `entries` two-line entries, amounts as the stored integers."""
    day, at = dt.date(2026, 6, 30), dt.datetime(2026, 6, 30, 12, 0)
    heads, lines = [], []
    for i in range(1, entries + 1):
        heads.append((i, journal, year, i, day, f"entry {i}", "scale", "bench", at, f"{i - 1:064x}", f"{i:064x}"))
        amount = (i % 997 + 1) * 100
        account = accounts[i % len(accounts)]
        lines.append((2 * i - 1, i, 1, account, amount, 0, "EUR", amount, 1000000, i % 25, i, f"document {i}", 40000000))
        lines.append((2 * i, i, 2, accounts[0], 0, amount, "EUR", -amount, 1000000, i % 25, i, f"document {i}", -40000000))
    return heads, lines


def _raw(engine, tables: tuple[str, str], heads, lines, ddl: dict | None) -> float:
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        cur = driver.cursor()
        sqlite = engine.dialect.name == "sqlite"
        if ddl is not None:
            for name, table in zip(("entries", "entry_lines"), tables):
                cur.execute(f"CREATE TABLE {table} ({ddl[name]})")
            driver.commit()
        start = time.perf_counter()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(f"INSERT INTO {tables[0]} ({', '.join(ENTRY_COLUMNS)}) VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})",
                            [(*h[:4], h[4].isoformat(), *h[5:8], h[8].isoformat(sep=" "), *h[9:]) for h in heads])
            cur.executemany(f"INSERT INTO {tables[1]} ({', '.join(LINE_COLUMNS)}) VALUES ({', '.join('?' * len(LINE_COLUMNS))})", lines)
            cur.execute("COMMIT")
        else:
            for table, columns, data in ((tables[0], ENTRY_COLUMNS, heads), (tables[1], LINE_COLUMNS, lines)):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            driver.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def _as_given(line: tuple) -> dict:
    """A line row as a program gives it to SQLAlchemy: its amounts, rate and quantity as Decimals."""
    from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, from_scaled

    values = dict(zip(LINE_COLUMNS, line))
    for column, scale in (("debit", AMOUNT_SCALE), ("credit", AMOUNT_SCALE), ("amount_currency", AMOUNT_SCALE),
                          ("rate", PRICE_SCALE), ("quantity", QUANTITY_SCALE)):
        values[column] = from_scaled(values[column], scale)
    return values


def _core(engine, heads, lines) -> float:
    from ledger.models import Entry, EntryLine

    heads, lines = [dict(zip(ENTRY_COLUMNS, h)) for h in heads], [_as_given(l) for l in lines]
    with engine.connect() as conn:
        start = time.perf_counter()
        conn.execute(insert(Entry.__table__), heads)
        conn.execute(insert(EntryLine.__table__), lines)
        conn.commit()
        return time.perf_counter() - start


def _orm(engine, heads, lines) -> float:
    from ledger.models import Entry, EntryLine

    heads, lines = [dict(zip(ENTRY_COLUMNS, h)) for h in heads], [_as_given(l) for l in lines]
    with make_sessionmaker(engine)() as session:
        start = time.perf_counter()
        session.add_all([Entry(**h) for h in heads])
        session.add_all([EntryLine(**l) for l in lines])
        session.commit()
        return time.perf_counter() - start


def one(way: str, db: str | None, workdir: Path, entries: int) -> float:
    """Seconds for one way, on a database of its own (dropped again)."""
    from migrations import runner
    from purchase.settings import install_defaults

    url = fresh_database(db, workdir, name=f"scale_{way}")
    engine = make_engine(url)
    try:
        runner.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            install_defaults(session, "EUR", dt.date(2026, 6, 30))
            session.commit()
            heads, lines = rows(entries, *_book(session))
        tables = ("scale_entries", "scale_entry_lines") if way in ("bare", "keys") else ("entries", "entry_lines")
        if way in ("bare", "keys"):
            seconds = _raw(engine, tables, heads, lines, _BARE if way == "bare" else _KEYS)
        elif way == "journal":
            seconds = _raw(engine, tables, heads, lines, None)
        else:
            seconds = (_core if way == "core" else _orm)(engine, heads, lines)
        with engine.connect() as conn:  # every row is there, and nothing else
            found = [conn.execute(text(f"SELECT count(*), sum(id) FROM {t}")).one() for t in tables]
        expected = [(n, n * (n + 1) // 2) for n in (entries, 2 * entries)]  # ids 1..n: entries, and two lines each
        if [tuple(f) for f in found] != expected:
            raise RuntimeError(f"{way}: {found} rows in {tables}, expected {expected}")
        return seconds
    finally:
        engine.dispose()
        drop_database(url)


def scale_bench(db: str | None, entries: int = 100_000, rounds: int = 3, orm: bool = False,
                workdir: Path | None = None) -> dict:
    """Each way `rounds` times into fresh databases; without `workdir`, SQLite's files go to a
    temporary folder removed at the end."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="pledger-scale-") as tmp:
            return scale_bench(db, entries, rounds, orm, Path(tmp))
    workdir.mkdir(parents=True, exist_ok=True)
    ways = [w for w in WAYS if orm or w != "orm"]
    seconds: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(rounds):
        for way in ways:
            seconds[way].append(round(one(way, db, workdir, entries), 3))
    name = "sqlite" if db is None or db.startswith("sqlite") else "postgresql"
    return {"db": name, "entries": entries, "rows": 3 * entries, "rounds": rounds, "seconds": seconds,
            "median": {w: statistics.median(s) for w, s in seconds.items()},
            "issue": ISSUE[name], "at": dt.datetime.now().isoformat(timespec="seconds")}


def print_scale(result: dict) -> None:
    bare = result["median"]["bare"]
    print(f"{result['entries']} two-line entries ({result['rows']} rows) on {result['db']}, medians of {result['rounds']}:")
    print(f"{'way':<8} {'seconds':>8} {'x bare':>7} {'us/row':>7}  runs; the issue's figure for 300,000 rows")
    for way, median in result["median"].items():
        issue = result["issue"].get(way)
        said = "" if issue is None else (f"; issue {issue[0]}" + (f" to {issue[1]}" if issue[1] != issue[0] else "")
                                         + f" s ({issue[0] / 0.3:.2f}" + (f" to {issue[1] / 0.3:.2f}" if issue[1] != issue[0] else "")
                                         + " us/row)")
        runs = ", ".join(f"{s:.3f}" for s in result["seconds"][way])
        print(f"{way:<8} {median:>8.3f} {median / bare:>7.2f} {median / result['rows'] * 1e6:>7.2f}  {runs}{said}")
