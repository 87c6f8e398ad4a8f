"""Tampering behind the program's back is found by `pledger check`, at the entry it happened.

A book with receipts, invoices, a credit note, a close-out and its undo is built once; each
tampering then runs on a fresh copy of it (the SQLite file copied; on PostgreSQL CREATE
DATABASE ... TEMPLATE), so that every detection stands on its own. On the copy the
immutability triggers are dropped (as tests/test_immutability.py does), foreign keys are
bypassed where a deletion needs it, and one random change is made to posted rows: an
amount (unbalanced, or on both sides so the entry still balances), an account, a date, a
description, a user, the posting time (one microsecond), a dimension (supplier, order
line, document, quantity, currency), line numbers swapped, a line moved to another entry,
a line added, a line or a whole entry deleted, two entries' numbers swapped, an entry
moved to another journal, a stored hash rewritten; or a row made to point at nothing: a
line of an entry that is not there, a close-out line of an order line that is not there,
an order line deleted from under its receipts, invoices and postings; or the close-out counter moved on
with no close-out (a gap in the gapless close-out numbers); an entry taken out of those its
close-out lists; an order line made to name no close-out; a period's locked flag changed
around pledger, a change taken out of its lock history, or a row added to that history that pledger
could not have written (a lock repeated, a history that begins with an unlock, a "found" row that
is not its period's first); a line's only raise, or its oldest, deleted, or a raise inserted on
a line never raised (migration 0015). `pledger check` must exit 1 and name,
as the first breach, the first entry the change broke.

Short form: each kind once per database (PLEDGER_TAMPER_COUNT; past the kinds, random ones). `-m long`: 1,000
(PLEDGER_TAMPER_LONG_COUNT).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import shutil
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from matching.closeout import Edit, UndoSelection, run_closeout, undo_closeouts
from matching.selection import Selection
from tests.builders import DAY, invoice, item, order, receive, supplier

KINDS = [
    "debit", "credit", "balanced", "account", "date", "description", "user", "posted_at", "partner", "order_line",
    "document", "quantity", "currency", "swap_line_no", "move_line", "add_line", "delete_line", "delete_entry",
    "swap_numbers", "other_journal", "hash", "prev_hash", "orphan_line", "closeout_line", "delete_order_line",
    "lowered", "undone", "written_off", "raised_quantity", "raise_edited", "raise_deleted", "received_millionths",
    "closeout_number", "closeout_link", "last_closeout", "period_unlocked", "period_locked", "lock_change_deleted",
    "lock_change_repeated", "lock_history_unlock_first", "lock_found_late", "raise_only_deleted", "raise_oldest_deleted",
    "raise_inserted",
]
RAISED = "order PO-3 line 2"  # raised twice by `build`: 4 -> 5 -> 6
RAISED_ONCE = "order PO-7 line 1"  # raised once by `build`: 10 -> 11
ORDER_LINE_REFERENCES = {"closeout_lines.order_line_id", "entry_lines.order_line_id", "invoice_lines.order_line_id",
                         "receipt_lines.order_line_id"}


def build(books) -> None:
    with books.session() as s:
        supplier(s)
        supplier(s, "BETA", "Beta BV")
        item(s)
        item(s, "SERV", stock=False, description="Service")
        for n in range(1, 9):
            number = f"PO-{n}"
            order(s, number, ("BOLT", 10, "3.33"), ("SERV", 4, "12.50"), ("BOLT", 3, "0.37"), supplier_code="ACME" if n % 2 else "BETA")
            receive(s, number, 1, 4, date=DAY + dt.timedelta(days=n))
            invoice(s, number, 2, 3, date=DAY + dt.timedelta(days=n))
            receive(s, number, 3, 2, date=DAY + dt.timedelta(days=n))
            invoice(s, number, 3, 3, price="0.41", date=DAY + dt.timedelta(days=n))
        invoice(s, "PO-1", 2, -1, date=DAY + dt.timedelta(days=20))  # a credit note
    with books.session() as s:
        run_closeout(s, Selection(order=("PO-1", "PO-4")), user="ann", date=dt.date(2026, 6, 30), close_fully=True)
    with books.session() as s:
        run_closeout(s, Selection(order=("PO-5", "PO-8")), user="bob", date=dt.date(2026, 6, 30),
                     edits=[Edit("PO-5", 1, dt_zero(), None), Edit("PO-6", 2, None, dt_zero())])
    with books.session() as s:
        undo_closeouts(s, UndoSelection(numbers=(2, 2)), user="ann", date=dt.date(2026, 7, 1))
    for quantity in ("5", "6"):
        assert books.cli("po", "raise", "PO-3", "--line", f"2={quantity}").exit_code == 0
    assert books.cli("po", "raise", "PO-7", "--line", "1=11").exit_code == 0
    for args in (("lock", "2026-11"), ("unlock", "2026-11"), ("lock", "2026-12")):  # the history of period locks
        assert books.cli("period", *args).exit_code == 0
    assert books.cli("check").exit_code == 0


def dt_zero():
    from decimal import Decimal

    return Decimal(0)


@dataclass
class Entry:
    id: int
    journal_id: int
    journal: str
    year: int
    number: int
    line_ids: list[int]

    @property
    def name(self) -> str:
        return f"{self.journal} {self.year} entry {self.number}"


class Copier:
    def __init__(self, books, tmp_path: Path, templates):
        self.books = books
        self.kind = books.dialect
        self.tmp = tmp_path
        books.engine.dispose()
        if self.kind == "sqlite":
            self.source = Path(make_url(books.url).database)
            engine = create_engine(books.url)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()
        else:
            self.templates = templates
            self.source = make_url(books.url).database

    def copy(self) -> str:
        if self.kind == "sqlite":
            target = self.tmp / f"tamper-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(self.source, target)
            return str(target)
        name = f"pledger_tamper_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.templates.pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.source}"'))
        admin.dispose()
        self.templates.created_pg.append(name)
        return name

    def connect(self, target: str):
        """A raw connection of someone working around the program: no triggers, no foreign keys."""
        if self.kind == "sqlite":
            conn = sqlite3.connect(target, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = OFF")
            for (name,) in conn.execute("select name from sqlite_master where type = 'trigger'").fetchall():
                conn.execute(f'DROP TRIGGER "{name}"')
            return conn
        url = make_url(self.templates.pg_admin).set(database=target)
        conn = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=target, autocommit=True)
        conn.execute("DROP FUNCTION pledger_refuse_change() CASCADE")
        conn.execute("SET session_replication_role = replica")  # foreign keys are triggers too: bypassed
        return conn

    def url(self, target: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{target}"
        return make_url(self.templates.pg_admin).set(database=target).render_as_string(hide_password=False)

    def drop(self, target: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            return
        admin = create_engine(self.templates.pg_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        admin.dispose()


def q(conn, sql: str, *params):
    """Run SQL with positional parameters on either driver ('?' placeholders)."""
    if isinstance(conn, sqlite3.Connection):
        return conn.execute(sql, params).fetchall() if sql.lstrip().upper().startswith("SELECT") else conn.execute(sql, params)
    cur = conn.execute(sql.replace("?", "%s"), params)
    return cur.fetchall() if sql.lstrip().upper().startswith("SELECT") else cur


def entries_of(conn) -> list[Entry]:
    rows = q(conn, "SELECT e.id, e.journal_id, j.code, f.year, e.number FROM entries e JOIN journals j ON j.id = e.journal_id "
                   "JOIN fiscal_years f ON f.id = e.fiscal_year_id ORDER BY e.journal_id, e.number")
    lines: dict[int, list[int]] = {}
    for entry_id, line_id in q(conn, "SELECT entry_id, id FROM entry_lines ORDER BY entry_id, line_no"):
        lines.setdefault(entry_id, []).append(line_id)
    return [Entry(i, j, code, y, n, lines.get(i, [])) for i, j, code, y, n in rows]


def tamper(conn, rng: random.Random, kind: str) -> tuple[str, set[str]]:
    """Make one change; returns (what was done, the names the first breach may carry)."""
    entries = entries_of(conn)
    by_journal: dict[int, list[Entry]] = {}
    for e in entries:
        by_journal.setdefault(e.journal_id, []).append(e)
    e = rng.choice(entries)
    same = by_journal[e.journal_id]
    line = rng.choice(e.line_ids)
    first = {e.name}

    def value(column: str, line_id: int):
        return q(conn, f"SELECT {column} FROM entry_lines WHERE id = ?", line_id)[0][0]

    if kind in ("debit", "credit"):
        side = kind if value(kind, line) != 0 else ("credit" if kind == "debit" else "debit")
        q(conn, f"UPDATE entry_lines SET {side} = {side} + ? WHERE id = ?", rng.choice([1, 100, 10_000, -100]), line)
        return f"{side} of a line of {e.name} changed", first
    if kind == "balanced":
        debit = next(l for l in e.line_ids if value("debit", l) != 0)
        credit = next(l for l in e.line_ids if value("credit", l) != 0)
        delta = rng.choice([100, 10_000])
        q(conn, "UPDATE entry_lines SET debit = debit + ?, amount_currency = amount_currency + ? WHERE id = ?", delta, delta, debit)
        q(conn, "UPDATE entry_lines SET credit = credit + ?, amount_currency = amount_currency - ? WHERE id = ?", delta, delta, credit)
        return f"both sides of {e.name} raised (it still balances)", first
    if kind == "account":
        accounts = [a for (a,) in q(conn, "SELECT id FROM accounts ORDER BY id") if a != value("account_id", line)]
        q(conn, "UPDATE entry_lines SET account_id = ? WHERE id = ?", rng.choice(accounts), line)
        return f"account of a line of {e.name} changed", first
    if kind == "date":
        (old,) = q(conn, "SELECT entry_date FROM entries WHERE id = ?", e.id)[0]
        old = dt.date.fromisoformat(old) if isinstance(old, str) else old
        q(conn, "UPDATE entries SET entry_date = ? WHERE id = ?", (old + dt.timedelta(days=rng.choice([-1, 1, 30]))).isoformat(), e.id)
        return f"date of {e.name} changed", first
    if kind == "description":
        q(conn, "UPDATE entries SET description = ? WHERE id = ?", rng.choice(["", "x", "corrected"]), e.id)
        return f"description of {e.name} changed", first
    if kind == "user":
        q(conn, "UPDATE entries SET user_name = ? WHERE id = ?", "mallory", e.id)
        return f"user of {e.name} changed", first
    if kind == "posted_at":
        (old,) = q(conn, "SELECT posted_at FROM entries WHERE id = ?", e.id)[0]
        old = dt.datetime.fromisoformat(old) if isinstance(old, str) else old
        new = old + dt.timedelta(microseconds=1)
        q(conn, "UPDATE entries SET posted_at = ? WHERE id = ?", new.isoformat(sep=" ") if isinstance(conn, sqlite3.Connection) else new, e.id)
        return f"posting time of {e.name} moved by a microsecond", first
    if kind == "partner":
        partners = [p for (p,) in q(conn, "SELECT id FROM suppliers")] + [None]
        old = value("partner_id", line)
        q(conn, "UPDATE entry_lines SET partner_id = ? WHERE id = ?", rng.choice([p for p in partners if p != old]), line)
        return f"supplier of a line of {e.name} changed", first
    if kind == "order_line":
        ids = [p for (p,) in q(conn, "SELECT id FROM order_lines")] + [None]
        old = value("order_line_id", line)
        q(conn, "UPDATE entry_lines SET order_line_id = ? WHERE id = ?", rng.choice([p for p in ids if p != old]), line)
        return f"order line of a line of {e.name} changed", first
    if kind == "document":
        old = value("document", line)
        q(conn, "UPDATE entry_lines SET document = ? WHERE id = ?", rng.choice([d for d in ("receipt R99999", None, "x") if d != old]), line)
        return f"document of a line of {e.name} changed", first
    if kind == "quantity":
        q(conn, "UPDATE entry_lines SET quantity = coalesce(quantity, 0) + ? WHERE id = ?", rng.choice([1, 1_000_000]), line)
        return f"quantity of a line of {e.name} changed", first
    if kind == "currency":
        q(conn, "UPDATE entry_lines SET currency = ? WHERE id = ?", "USD", line)
        return f"currency of a line of {e.name} changed", first
    if kind == "swap_line_no":
        if len(e.line_ids) < 2 or value("debit", e.line_ids[0]) == value("debit", e.line_ids[1]) and \
                value("account_id", e.line_ids[0]) == value("account_id", e.line_ids[1]):
            return tamper(conn, rng, "debit")
        a, b = e.line_ids[0], e.line_ids[1]
        na, nb = value("line_no", a), value("line_no", b)
        q(conn, "UPDATE entry_lines SET line_no = ? WHERE id = ?", -1, a)
        q(conn, "UPDATE entry_lines SET line_no = ? WHERE id = ?", na, b)
        q(conn, "UPDATE entry_lines SET line_no = ? WHERE id = ?", nb, a)
        return f"two lines of {e.name} swapped", first
    if kind == "move_line":
        other = rng.choice([x for x in entries if x.id != e.id])
        q(conn, "UPDATE entry_lines SET entry_id = ?, line_no = ? WHERE id = ?", other.id, 100, line)
        return f"a line of {e.name} moved to {other.name}", {e.name, other.name}
    if kind == "add_line":
        cols = "entry_id, line_no, account_id, debit, credit, currency, amount_currency, rate, partner_id, order_line_id, document, quantity"
        row = q(conn, f"SELECT {cols} FROM entry_lines WHERE id = ?", line)[0]
        q(conn, f"INSERT INTO entry_lines ({cols}) VALUES ({', '.join('?' * 12)})", row[0], 100, *row[2:])
        return f"a line added to {e.name}", first
    if kind == "delete_line":
        q(conn, "DELETE FROM entry_lines WHERE id = ?", line)
        return f"a line of {e.name} deleted", first
    if kind == "delete_entry":
        q(conn, "DELETE FROM entry_lines WHERE entry_id = ?", e.id)
        q(conn, "DELETE FROM entries WHERE id = ?", e.id)
        after = [x for x in same if x.number > e.number]
        names = {after[0].name} if after else {f"{e.journal} {e.year}: the counter says"}
        return f"{e.name} deleted", names
    if kind == "orphan_line":  # no entry holds it: only the references show it
        cols = "line_no, account_id, debit, credit, currency, amount_currency, rate, partner_id, order_line_id, document, quantity"
        row = q(conn, f"SELECT {cols} FROM entry_lines WHERE id = ?", line)[0]
        (nowhere,) = q(conn, "SELECT max(id) + 1000 FROM entries")[0]
        q(conn, f"INSERT INTO entry_lines (entry_id, {cols}) VALUES ({', '.join('?' * 12)})", nowhere, *row)
        return f"a copy of a line of {e.name} added to entry id {nowhere}, which is not there", {"entry_lines.entry_id"}
    if kind == "closeout_line":
        (nowhere,) = q(conn, "SELECT max(id) + 1000 FROM order_lines")[0]
        q(conn, "UPDATE closeout_lines SET order_line_id = ? WHERE id = (SELECT min(id) FROM closeout_lines)", nowhere)
        return f"a close-out line pointed at order line id {nowhere}, which is not there", {"closeout_lines.order_line_id"}
    if kind == "delete_order_line":
        q(conn, "DELETE FROM order_lines WHERE id = (SELECT min(order_line_id) FROM receipt_lines)")
        return "an order line with receipts deleted", ORDER_LINE_REFERENCES
    if kind in ("lowered", "undone", "written_off"):  # no entry touched: only the write-offs' tie-out shows them
        column = "uninvoiced_units" if kind == "written_off" else "to_receive_before - to_receive_after"
        line_id, number, line_no = q(conn, "SELECT l.id, o.number, l.line_no FROM closeout_lines c "
                                           "JOIN closeouts k ON k.id = c.closeout_id JOIN order_lines l ON l.id = c.order_line_id "
                                           f"JOIN purchase_orders o ON o.id = l.order_id WHERE k.number = 1 AND {column} > 0 "
                                           "ORDER BY l.id LIMIT 1")[0]
        if kind == "lowered":  # a unit less lowered: one more to receive, no balance moved
            q(conn, "UPDATE order_lines SET lowered_receive = lowered_receive - 1000000 WHERE id = ?", line_id)
            return f"order {number} line {line_no}: a unit less lowered", {f"order {number} line {line_no}"}
        if kind == "undone":  # marked undone, with no undo posted
            q(conn, "UPDATE closeouts SET undone_by = 'mallory', undone_at = '2026-07-01 00:00:00', undo_date = closeout_date "
                    "WHERE number = 1")
            return "close-out 1 marked undone with no undo posted", {f"order {number} line {line_no}"}
        q(conn, "UPDATE closeout_lines SET uninvoiced_units = uninvoiced_units + 1 WHERE order_line_id = ? AND closeout_id = "
                "(SELECT id FROM closeouts WHERE number = 1)", line_id)
        return f"order {number} line {line_no}: its close-out line's units written off raised", {f"order {number} line {line_no}"}
    if kind == "closeout_number":  # a number taken with no close-out: a gap in the gapless numbers, no entry touched
        q(conn, "UPDATE closeout_counter SET last_number = last_number + 1")
        return "the close-out counter moved on with no close-out", {"close-out numbers"}
    if kind == "closeout_link":  # a close-out's entry no longer listed: `closeout show` said it posted nothing
        code, year, number = q(conn, "SELECT j.code, f.year, e.number FROM closeout_entries c JOIN entries e ON e.id = c.entry_id "
                                     "JOIN journals j ON j.id = e.journal_id JOIN fiscal_years f ON f.id = e.fiscal_year_id "
                                     "ORDER BY e.number LIMIT 1")[0]
        q(conn, "DELETE FROM closeout_entries WHERE entry_id = (SELECT e.id FROM entries e JOIN journals j "
                "ON j.id = e.journal_id WHERE j.code = ? AND e.number = ?)", code, number)
        return f"the close-out's link to {code} {year} entry {number} deleted", {f"{code} {year} entry {number}"}
    if kind == "last_closeout":  # no entry touched: a write-off on arrival would be recorded under no close-out
        line_id, number, line_no = q(conn, "SELECT l.id, o.number, l.line_no FROM order_lines l JOIN purchase_orders o "
                                           "ON o.id = l.order_id WHERE l.last_closeout_number IS NOT NULL ORDER BY l.id LIMIT 1")[0]
        q(conn, "UPDATE order_lines SET last_closeout_number = NULL WHERE id = ?", line_id)
        return f"order {number} line {line_no}: names no close-out", {f"order {number} line {line_no}"}
    if kind == "received_millionths":  # a few millionths more received: no balance moves by a cent
        line_id, number, line_no = q(conn, "SELECT l.id, o.number, l.line_no FROM order_lines l JOIN purchase_orders o "
                                           "ON o.id = l.order_id WHERE l.received > 0 ORDER BY l.id LIMIT 1")[0]
        q(conn, "UPDATE order_lines SET received = received + ? WHERE id = ?", rng.choice([1, 3, 999]), line_id)
        return f"order {number} line {line_no}: a few millionths more received than its receipts", {f"order {number} line {line_no}"}
    if kind in ("raised_quantity", "raise_edited", "raise_deleted"):  # no entry touched: only the raises show them
        raised = ("SELECT l.id FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id "
                  "WHERE o.number = 'PO-3' AND l.line_no = 2")
        if kind == "raised_quantity":
            q(conn, f"UPDATE order_lines SET quantity = quantity + 1000000 WHERE id = ({raised})")
            return f"{RAISED}: a unit more ordered than its raises left", {RAISED}
        newest = f"(SELECT max(id) FROM order_line_raises WHERE order_line_id = ({raised}))"
        if kind == "raise_edited":
            q(conn, f"UPDATE order_line_raises SET ordered_before = ordered_before - 1000000 WHERE id = {newest}")
            return f"{RAISED}: its newest raise made to start from a unit less", {RAISED}
        q(conn, f"DELETE FROM order_line_raises WHERE id = {newest}")
        return f"{RAISED}: its newest raise deleted", {RAISED}
    if kind == "raise_inserted":  # the INSERT the triggers allow: a raise from a unit less to what a line never raised holds
        q(conn, "INSERT INTO order_line_raises (order_line_id, ordered_before, ordered_after, reason, user_name, raised_at) "
                "SELECT l.id, l.quantity - 1000000, l.quantity, ?, ?, (SELECT max(raised_at) FROM order_line_raises) "
                "FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id WHERE o.number = 'PO-7' AND l.line_no = 2",
          "", "mallory")
        return "order PO-7 line 2: a raise it never had recorded", {"order PO-7 line 2"}
    if kind in ("raise_only_deleted", "raise_oldest_deleted"):  # the chain holds; order_lines.raised does not (0015)
        name, number, line_no = (RAISED_ONCE, "PO-7", 1) if kind == "raise_only_deleted" else (RAISED, "PO-3", 2)
        q(conn, "DELETE FROM order_line_raises WHERE id = (SELECT min(r.id) FROM order_line_raises r JOIN order_lines l "
                "ON l.id = r.order_line_id JOIN purchase_orders o ON o.id = l.order_id WHERE o.number = ? AND l.line_no = ?)",
          number, line_no)
        return f"{name}: its {'only' if kind == 'raise_only_deleted' else 'oldest'} raise deleted", {name}
    if kind in ("lock_change_repeated", "lock_history_unlock_first", "lock_found_late"):  # the INSERT the triggers allow
        december = "(SELECT id FROM periods WHERE month = 12)"  # locked, its last change a lock
        if kind == "lock_change_repeated":  # the flag equals the newest change: only the history's order shows it
            q(conn, f"INSERT INTO period_lock_changes (period_id, locked, user_name, changed_at, found) "
                    f"SELECT period_id, locked, ?, changed_at, found FROM period_lock_changes WHERE id = "
                    f"(SELECT max(id) FROM period_lock_changes WHERE period_id = {december})", "mallory")
            return "period 2026-12: its lock recorded again", {"period 2026-12"}
        if kind == "lock_history_unlock_first":  # a month never locked: unlocked, as its forged last change says
            q(conn, "INSERT INTO period_lock_changes (period_id, locked, user_name, changed_at, found) "
                    "SELECT id, ?, ?, (SELECT max(changed_at) FROM period_lock_changes), ? FROM periods WHERE month = 8",
              False, "mallory", False)
            return "period 2026-08: an unlock recorded with no lock before it", {"period 2026-08"}
        q(conn, f"INSERT INTO period_lock_changes (period_id, locked, user_name, changed_at, found) "
                f"SELECT period_id, ?, NULL, changed_at, ? FROM period_lock_changes WHERE id = "
                f"(SELECT max(id) FROM period_lock_changes WHERE period_id = {december})", True, True)
        return "period 2026-12: said found locked after its lock", {"period 2026-12"}
    if kind in ("period_unlocked", "period_locked", "lock_change_deleted"):  # no entry touched: only the lock history shows them
        if kind == "period_unlocked":  # the locked December opened, a posting let into it
            q(conn, "UPDATE periods SET locked = ? WHERE month = 12", False)
            return "period 2026-12 unlocked around pledger", {"period 2026-12"}
        if kind == "period_locked":  # a month never locked, locked with no record
            q(conn, "UPDATE periods SET locked = ? WHERE month = 9", True)
            return "period 2026-09 locked around pledger", {"period 2026-09"}
        q(conn, "DELETE FROM period_lock_changes WHERE id = (SELECT max(c.id) FROM period_lock_changes c JOIN periods p "
                "ON p.id = c.period_id WHERE p.month = 11)")  # its unlock: the lock before it is its last change then
        return "period 2026-11: its unlock taken out of its history", {"period 2026-11"}
    if kind == "swap_numbers":
        if len(same) < 2:
            return tamper(conn, rng, "description")
        a, b = rng.sample(same, 2)
        q(conn, "UPDATE entries SET number = ? WHERE id = ?", -1, a.id)
        q(conn, "UPDATE entries SET number = ? WHERE id = ?", a.number, b.id)
        q(conn, "UPDATE entries SET number = ? WHERE id = ?", b.number, a.id)
        low = min(a, b, key=lambda x: x.number)
        return f"numbers of {a.name} and {b.name} swapped", {low.name}
    if kind == "other_journal":
        others = [j for j in by_journal if j != e.journal_id]
        target = rng.choice(others)
        number = max(x.number for x in by_journal[target]) + 1  # appended to the other journal
        q(conn, "UPDATE entries SET journal_id = ?, number = ? WHERE id = ?", target, number, e.id)
        code = by_journal[target][0].journal
        after = [x for x in same if x.number > e.number]
        names = {f"{code} {e.year} entry {number}", f"{code} {e.year}: the counter says"}
        names |= {after[0].name} if after else {f"{e.journal} {e.year}: the counter says"}
        return f"{e.name} moved to journal {code}", names
    if kind == "hash":
        q(conn, "UPDATE entries SET hash = ? WHERE id = ?", "f" * 64, e.id)
        return f"stored hash of {e.name} rewritten", first
    assert kind == "prev_hash"
    q(conn, "UPDATE entries SET prev_hash = ? WHERE id = ?", "0" * 64, e.id)
    if e.number == 1:  # the genesis value: rewrite it to something else
        q(conn, "UPDATE entries SET prev_hash = ? WHERE id = ?", "1" * 64, e.id)
    return f"previous hash of {e.name} rewritten", first


def run_tamperings(books, tmp_path, templates, count: int, seed: int = 7) -> Counter:
    build(books)
    copier = Copier(books, tmp_path, templates)
    rng = random.Random(seed)
    tally: Counter = Counter()
    for n in range(count):
        kind = KINDS[n % len(KINDS)] if n < len(KINDS) else rng.choice(KINDS)
        assert detected(books, copier, rng, kind)
        tally[kind] += 1
    return tally


def detected(books, copier: Copier, rng: random.Random, kind: str) -> bool:
    """Tamper with a fresh copy of the book; True once `check` exits 1 naming, first, what was
    changed (an assertion says how it did not)."""
    target = copier.copy()
    conn = copier.connect(target)
    try:
        what, names = tamper(conn, rng, kind)
    finally:
        conn.close()
    copy = books.__class__(url=copier.url(target), dialect=books.dialect)
    result = copy.cli("check")
    copy.engine.dispose()
    assert result.exit_code == 1, f"{what}: not detected\n{result.output}"
    first = re.search(r"the first: (.*)$", result.stderr.strip())
    assert first, f"{what}: {result.stderr}"
    assert any(first.group(1).startswith(name + (":" if "entry" in name else "")) for name in names), \
        f"{what}: the first breach named is '{first.group(1)}', expected one of {sorted(names)}"
    copier.drop(target)
    return True


def test_tampering_is_detected_short(books, tmp_path, templates):
    tally = run_tamperings(books, tmp_path, templates, int(os.environ.get("PLEDGER_TAMPER_COUNT", len(KINDS))))
    assert set(tally) == set(KINDS)



@pytest.mark.long
def test_tampering_is_detected_long(books, tmp_path, templates):
    count = int(os.environ.get("PLEDGER_TAMPER_LONG_COUNT", 1000))
    tally = run_tamperings(books, tmp_path, templates, count, seed=11)
    print(f"\n{books.dialect}: {count} tamperings detected, by kind: {dict(sorted(tally.items()))}")
