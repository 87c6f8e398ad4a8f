"""The lean bound: what closing out a book costs with the least Python, on SQLite.

`python -m bench lean BOOK.db [--rounds 3]`, on a book made by `python -m bench book`.
Each round closes every open line fully three ways, each on a fresh copy of the book, and
then times the issue's floor (the raw driver writing as many rows as pledger's run wrote):

- **lean**: the raw sqlite3 driver in one transaction; the rows read (ids first, then
  chunks of whole orders, as pledger reads them) and written as tuples; the line rule's
  arithmetic for a full close-out done on the stored (scaled) integers, a second
  implementation of that arithmetic kept here for this measurement only; one memorial
  entry per order, numbered and hashed by pledger's own `entry_hash`;
- **lean, pledger's rule**: the same, but every line's postings computed by pledger's rule
  as the close-out runs it (`purchase.rules.StoredLineState`, on the stored integers; until
  `9002ffc` the close-out ran it on Decimals, the stored integers converted to and from them);
- **pledger**: `run_closeout(close_fully=True)` keeping the posting report's details, as
  the bench's run phase.

The lean ways write the same entries, entry lines, close-out lines and line states, and
nothing else: no posting report, no order statuses, none of the posting service's checks.
They are a measurement, not a second close-out: nothing but this bench calls them; each
round refuses to report unless all three closed the same lines into the same number of
entries with the same debit and credit per account, and tests/test_bench_lean.py holds
them to pledger's line states and to `check`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import statistics
import tempfile
import time
from array import array
from pathlib import Path

from ledger.money import minor_unit
from ledger.posting import GENESIS_HASH, entry_hash
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE
from purchase.rules import StoredLineState, line_postings

USER = "bench"
CHUNK = 2000  # lines, as the close-out's chunks
_MAYBE_OPEN = (  # as matching.selection reads them: the lines that may be open, orders together
    "SELECT l.id, o.number FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id "
    "WHERE o.status NOT IN ('new', 'cancelled') AND (l.quantity - l.received - l.lowered_receive != 0 "
    "OR l.quantity - l.invoiced - l.lowered_invoice != 0 "
    "OR l.received - l.written_off_uninvoiced != l.invoiced - l.written_off_unreceived) ORDER BY o.number, l.line_no"
)
_LINES = (
    "SELECT l.id, l.quantity, l.net_price, l.received, l.invoiced, l.lowered_receive, l.lowered_invoice, "
    "l.written_off_uninvoiced, l.written_off_unreceived, o.number, o.supplier_id "
    "FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE l.id IN ({}) ORDER BY o.number, l.line_no"
)
_SIDES = (("goods_received", "uninvoiced_receipts"), ("invoices_received", "unreceived_invoices"), ("rounding",))


def _integer_value(currency: str):
    """value(X) = round(X x p) half-up to the minor unit, on the stored integers:
    quantity (scale 6) x price (scale 6) to an amount (scale 4)."""
    digits = -minor_unit(currency).as_tuple().exponent
    divisor = 10 ** (QUANTITY_SCALE + PRICE_SCALE - digits)
    half, unit = divisor // 2, 10 ** (AMOUNT_SCALE - digits)

    def value(quantity: int, price: int) -> int:
        x = quantity * price
        return ((x + half) // divisor if x >= 0 else -((half - x) // divisor)) * unit

    return value


def _integer_postings(value, q, p, r, i, lr, li, wu, wv):
    """A full close-out of one line on the stored integers: (new state, units written off
    (u, v), signed amounts per role), or None for a line that is not open."""
    m = min(r - wu, i - wv)
    to_receive, to_invoice = q - r - lr, q - i - li
    u, v = r - wu - m, i - wv - m  # what can never match any more; M stays
    gr0, ir0 = value(r, p) - value(m + wu, p), value(i, p) - value(m + wv, p)
    if not (to_receive or to_invoice or gr0 or ir0):
        return None
    # after it M + Wu = R and M + Wv = I: GR and IR fall to zero, all of it written off,
    # so the entry balances with no rounding line
    amounts = {"goods_received": gr0, "invoices_received": -ir0, "uninvoiced_receipts": -gr0, "unreceived_invoices": ir0}
    return (lr + to_receive, li + to_invoice, wu + u, wv + v), (u, v), (to_receive, to_invoice), amounts


def _rule_postings(currency: str):
    """The same from pledger's rule, on the stored integers as the close-out runs it
    (`StoredLineState`, `line_postings`)."""

    def postings(_value, q, p, r, i, lr, li, wu, wv):
        before = StoredLineState(q, p, currency, r, i, lr, li, wu, wv)
        if not before.is_open:
            return None
        after = before.close_out(0, 0)
        amounts = line_postings(before, after)
        state = (after.lowered_receive, after.lowered_invoice, after.written_off_uninvoiced, after.written_off_unreceived)
        return state, (state[2] - wu, state[3] - wv), (before.to_receive, before.to_invoice), amounts

    return postings


def lean_closeout(path: Path, *, rule: bool, date: dt.date) -> dict:
    """Close every open line of the book at `path` fully, the lean way; seconds and what it posted."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
        start = time.perf_counter()
        con.execute("BEGIN IMMEDIATE")
        (currency,) = con.execute("SELECT value FROM ledger_settings WHERE key = 'base_currency'").fetchone()
        value = _integer_value(currency)
        postings = _rule_postings(currency) if rule else _integer_postings
        accounts = dict(con.execute("SELECT key, account_id FROM purchase_settings"))
        (journal_id,) = con.execute("SELECT id FROM journals WHERE code = 'MEM'").fetchone()
        (fiscal_year_id,) = con.execute("SELECT id FROM fiscal_years WHERE start_date <= ? AND end_date >= ?",
                                        (date.isoformat(), date.isoformat())).fetchone()
        number, prev_hash = con.execute("SELECT last_number, last_hash FROM journal_counters WHERE journal_id = ? "
                                        "AND fiscal_year_id = ?", (journal_id, fiscal_year_id)).fetchone() or (0, GENESIS_HASH)
        (closeout_number,) = con.execute("SELECT last_number + 1 FROM closeout_counter WHERE id = 1").fetchone()
        con.execute("UPDATE closeout_counter SET last_number = ? WHERE id = 1", (closeout_number,))
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        (closeout_id,) = con.execute(
            "INSERT INTO closeouts (number, closeout_date, user_name, run_at, selection) VALUES (?, ?, ?, ?, '{}') RETURNING id",
            (closeout_number, date.isoformat(), USER, now.isoformat(sep=" "))).fetchone()
        (entry_id,) = con.execute("SELECT coalesce(max(id), 0) + 1 FROM entries").fetchone()
        document, stamp = f"closeout {closeout_number}", now.isoformat(sep=" ", timespec="microseconds")
        closed = 0

        def close_chunk(chunk: list) -> None:
            """Post, record and write back the lines of whole orders."""
            nonlocal number, prev_hash, entry_id, closed
            heads, lines, closeout_lines, states, links = [], [], [], [], []
            order, order_lines = None, []

            def post_entry() -> None:
                nonlocal number, prev_hash, entry_id
                if not order_lines:
                    return
                number += 1
                head = {"journal_id": journal_id, "fiscal_year_id": fiscal_year_id, "number": number, "entry_date": date,
                        "description": f"close-out {closeout_number}, order {order}", "source": "closeout",
                        "user_name": USER, "posted_at": now}
                stored = [{"line_no": n, "account_id": a, "debit": d, "credit": c, "currency": currency,
                           "amount_currency": d - c, "rate": 10 ** PRICE_SCALE, "partner_id": s, "order_line_id": o,
                           "document": document, "quantity": q} for n, (a, d, c, s, o, q) in enumerate(order_lines, 1)]
                hash_ = entry_hash(prev_hash, head, stored)
                heads.append((entry_id, journal_id, fiscal_year_id, number, date.isoformat(), head["description"],
                              "closeout", USER, stamp, prev_hash, hash_))
                lines.extend((entry_id, *line.values()) for line in stored)
                links.append((closeout_id, entry_id, "closeout"))
                prev_hash, entry_id = hash_, entry_id + 1

            for line_id, q, p, r, i, lr, li, wu, wv, order_number, supplier_id in chunk:
                done = postings(value, q, p, r, i, lr, li, wu, wv)
                if done is None:
                    continue
                state, (u, v), (to_receive, to_invoice), amounts = done
                if order_number != order:
                    post_entry()
                    order, order_lines = order_number, []
                for roles, units in zip(_SIDES, (u, v, None)):
                    for role in roles:
                        amount = amounts.get(role, 0)
                        if amount:
                            order_lines.append((accounts[role], max(amount, 0), max(-amount, 0), supplier_id, line_id, units))
                states.append((*state, closeout_number, line_id))
                closeout_lines.append((closeout_id, line_id, to_receive, 0, to_invoice, 0, u, v,
                                       -amounts.get("uninvoiced_receipts", 0), amounts.get("unreceived_invoices", 0)))
                closed += 1
            post_entry()
            con.executemany("INSERT INTO entries (id, journal_id, fiscal_year_id, number, entry_date, description, source, "
                            "user_name, posted_at, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)", heads)
            con.executemany("INSERT INTO entry_lines (entry_id, line_no, account_id, debit, credit, currency, amount_currency, "
                            "rate, partner_id, order_line_id, document, quantity) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", lines)
            con.executemany("INSERT INTO closeout_lines (closeout_id, order_line_id, to_receive_before, to_receive_after, "
                            "to_invoice_before, to_invoice_after, uninvoiced_units, unreceived_units, uninvoiced_amount, "
                            "unreceived_amount) VALUES (?,?,?,?,?,?,?,?,?,?)", closeout_lines)
            con.executemany("INSERT INTO closeout_entries (closeout_id, entry_id, kind) VALUES (?,?,?)", links)
            con.executemany("UPDATE order_lines SET lowered_receive = ?, lowered_invoice = ?, written_off_uninvoiced = ?, "
                            "written_off_unreceived = ?, last_closeout_number = ? WHERE id = ?", states)

        # the ids first (no cursor open while the chunks write), then chunks of whole orders, as pledger reads them
        selected, starts, order = array("q"), array("b"), None
        for line_id, order_number in con.execute(_MAYBE_OPEN):
            selected.append(line_id)
            starts.append(order_number != order)
            order = order_number
        ids = []
        for line_id, new_order in zip(selected, starts):
            if new_order and len(ids) >= CHUNK:
                close_chunk(con.execute(_LINES.format(",".join("?" * len(ids))), ids).fetchall())
                ids = []
            ids.append(line_id)
        if ids:
            close_chunk(con.execute(_LINES.format(",".join("?" * len(ids))), ids).fetchall())
        con.execute("UPDATE journal_counters SET last_number = ?, last_hash = ? WHERE journal_id = ? AND fiscal_year_id = ?",
                    (number, prev_hash, journal_id, fiscal_year_id))
        con.execute("COMMIT")
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "lines": closed, **posted(con, closeout_number)}
    finally:
        con.close()


def posted(con: sqlite3.Connection, closeout_number: int) -> dict:
    """What a close-out posted: its entries, and debit and credit per account (stored integers)."""
    (closeout_id,) = con.execute("SELECT id FROM closeouts WHERE number = ?", (closeout_number,)).fetchone()
    entries = "SELECT entry_id FROM closeout_entries WHERE closeout_id = ? AND kind = 'closeout'"
    (count,) = con.execute(f"SELECT count(*) FROM ({entries})", (closeout_id,)).fetchone()
    totals = con.execute(f"SELECT account_id, sum(debit), sum(credit) FROM entry_lines WHERE entry_id IN ({entries}) "
                         "GROUP BY account_id ORDER BY account_id", (closeout_id,)).fetchall()
    return {"entries": count, "totals": [tuple(t) for t in totals]}


def pledger_closeout(path: Path, *, date: dt.date) -> dict:
    """`run_closeout` over everything, keeping the report's details, as the bench's run phase."""
    from ledger.db import make_engine, make_sessionmaker
    from matching.closeout import run_closeout
    from matching.selection import Selection

    engine = make_engine(f"sqlite:///{path}")
    try:
        with make_sessionmaker(engine)() as session:
            start = time.perf_counter()
            report = run_closeout(session, Selection(), user=USER, date=date, close_fully=True, keep_details=True)
            session.commit()
            seconds = time.perf_counter() - start
    finally:
        engine.dispose()
    con = sqlite3.connect(path)
    try:
        return {"seconds": seconds, "lines": report.line_count, **posted(con, report.closeout)}
    finally:
        con.close()


def _fresh_copy(book: Path, folder: Path) -> Path:
    copy = folder / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(book)
    try:  # the book as committed, WAL included
        target = sqlite3.connect(copy)
        source.backup(target)
        target.close()
    finally:
        source.close()
    return copy


WAYS = ("lean", "lean_rule", "pledger")


def lean_bench(book: Path, rounds: int = 3, date: dt.date | None = None) -> dict:
    """Medians over `rounds` rounds of the floor and the three ways, each on a fresh copy."""
    from bench.floor import floor_seconds
    from ledger.db import make_engine

    date = date or dt.date(dt.date.today().year, 12, 31)
    con = sqlite3.connect(f"file:{book}?mode=ro", uri=True)
    try:
        con.execute("SELECT 1 FROM order_lines, closeout_counter LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise SystemExit(f"{book} is not a pledger book ({exc}): make one with `python -m bench book`") from None
    finally:
        con.close()
    seconds: dict[str, list[float]] = {w: [] for w in ("floor", *WAYS)}
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="pledger-lean-") as folder:
        for _ in range(rounds):
            done = {}
            for way in WAYS:
                copy = _fresh_copy(book, Path(folder))
                if way == "pledger":
                    done[way] = pledger_closeout(copy, date=date)
                else:
                    done[way] = lean_closeout(copy, rule=way == "lean_rule", date=date)
                seconds[way].append(done[way]["seconds"])
            rows = _rows_written(copy)
            engine = make_engine(f"sqlite:///{copy}")
            try:
                seconds["floor"].append(floor_seconds(engine, rows))
            finally:
                engine.dispose()
            shape = {way: (d["lines"], d["entries"], d["totals"]) for way, d in done.items()}
            if len(set(map(repr, shape.values()))) != 1:
                raise SystemExit(f"the ways posted differently: { {w: s[:2] for w, s in shape.items()} }")
            result = {"lines": done["pledger"]["lines"], "entries": done["pledger"]["entries"], "rows": rows}
    floor = statistics.median(seconds["floor"])
    result["floor_seconds"] = round(floor, 3)
    result["ways"] = {w: {"seconds": round(statistics.median(seconds[w]), 3), "ratio": round(statistics.median(seconds[w]) / floor, 2),
                          "all": [round(s, 3) for s in seconds[w]]} for w in WAYS}
    result["rounds"] = rounds
    return result


def _rows_written(path: Path) -> int:
    """The rows the last close-out inserted (its entries, lines, close-out lines, links and itself),
    as the bench counts the run's rows."""
    con = sqlite3.connect(path)
    try:
        (closeout_id,) = con.execute("SELECT max(id) FROM closeouts").fetchone()
        entries = "SELECT entry_id FROM closeout_entries WHERE closeout_id = ?"
        counts = [con.execute(sql, (closeout_id,)).fetchone()[0] for sql in (
            f"SELECT count(*) FROM ({entries})",
            f"SELECT count(*) FROM entry_lines WHERE entry_id IN ({entries})",
            "SELECT count(*) FROM closeout_lines WHERE closeout_id = ?",
            "SELECT count(*) FROM closeout_entries WHERE closeout_id = ?",
        )]
        return sum(counts) + 1  # and the close-out itself
    finally:
        con.close()


def print_lean(result: dict) -> None:
    print(f"{result['lines']} lines closed, {result['entries']} memorial entries, {result['rows']} rows; "
          f"floor {result['floor_seconds']} s (median of {result['rounds']})")
    print(f"{'way':<12}{'seconds':>9}{'ratio':>8}  all")
    for way, w in result["ways"].items():
        print(f"{way:<12}{w['seconds']:>9}{w['ratio']:>8}  {w['all']}")
