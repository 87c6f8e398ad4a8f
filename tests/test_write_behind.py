"""Writing behind (`ledger.bulk.write_behind`), on SQLite and on PostgreSQL: a run's batch
writes sent by a thread of their own while the run works out its next chunk. Nothing may
differ from writing in line: the same rows, every read seeing what was written before it,
the database's errors raised in the run as SQLAlchemy raises them, nothing written after a
failure."""

from __future__ import annotations

import datetime as dt
import json
import sys
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

import ledger.bulk as bulk
from ledger.bulk import ReadAhead, insert_returning_ids, insert_rows, update_by_id, update_by_key, write_behind
from ledger.models import JournalCounter
from matching.checks import check_books
from purchase.lines import _item_plan
from purchase.models import Item
from tests.builders import invoice, item, order, receive, supplier
from tests.conftest import Books


def items(prefix: str, count: int) -> list[dict]:
    return [{"code": f"{prefix}{n:05d}", "description": "bolt", "stock_item": True, "unit": "C62", "min_stock": Decimal(0),
             "min_order_quantity": Decimal(0), "order_multiple": Decimal(0), "purchase_price": Decimal("1.5")}
            for n in range(count)]


class Counted:
    """Counts the statements the writer is given."""

    def __init__(self, monkeypatch):
        self.statements = 0
        submit = bulk.WriteBehind.submit

        def counted(writer, sql, params, how="execute"):
            self.statements += 1
            submit(writer, sql, params, how)

        monkeypatch.setattr(bulk.WriteBehind, "submit", counted)


def test_rows_written_behind_are_read_back_by_every_read_that_follows(books, monkeypatch):
    monkeypatch.setattr(bulk, "SQLITE_VARIABLES", 40)  # SQLite: 4 item rows (9 columns, with the id) a statement
    monkeypatch.setattr(bulk, "COPY_FROM", 20)  # PostgreSQL: 23 rows by COPY, 7 by executemany
    counted = Counted(monkeypatch)
    with books.session() as s:
        with write_behind(s):
            ids = insert_returning_ids(s, Item, items("W", 23))
            more = insert_returning_ids(s, Item, items("X", 7))  # its ids follow, the first rows not yet read back
            assert more == list(range(ids[-1] + 1, ids[-1] + 8))
            # a batch read, and any statement through SQLAlchemy, sees every row sent before it
            assert [r[0] for r in bulk.select_in(s, _item_plan(s.get_bind().dialect), ids + more)] == ids + more
            update_by_id(s, Item, [(f"nut {i}", Decimal(i) / 8, i) for i in ids[::2]], columns=("description", "min_stock", "id"))
            assert s.scalar(select(func.count()).select_from(Item).where(Item.description.like("nut %"))) == 12
        # SQLite: 23 rows, 7 rows, and 12 rows updated by 3 parameters each; PostgreSQL: a statement each
        assert counted.statements == (6 + 2 + 1 if books.dialect == "sqlite" else 3)
    with books.session() as s:
        stored = s.execute(select(Item.id, Item.description, Item.min_stock).where(Item.code.like("W%")).order_by(Item.id)).all()
    assert stored == [(i, f"nut {i}", Decimal(i) / 8) if n % 2 == 0 else (i, "bolt", Decimal(0)) for n, i in enumerate(ids)]


DUPLICATE_CODE = {"sqlite": "UNIQUE constraint failed: items.code",
                  "postgresql": 'duplicate key value violates unique constraint "uq_items_code"'}


@pytest.mark.parametrize("copy_from", [2, 100], ids=["copy", "executemany"])  # (PostgreSQL's two ways of inserting)
def test_a_database_error_in_the_writer_is_raised_in_the_run_as_sqlalchemys_and_nothing_is_written(books, monkeypatch, copy_from):
    monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
    with books.session() as s:
        before = s.scalar(select(func.count()).select_from(Item))
    with pytest.raises(IntegrityError, match=DUPLICATE_CODE[books.dialect]):
        with books.session() as s:
            with write_behind(s):
                insert_rows(s, Item, items("D", 3) + items("D", 1))  # D00000 twice
                s.execute(text("SELECT 1"))  # the statement after waits for the writer, and raises its error
    with pytest.raises(IntegrityError, match=DUPLICATE_CODE[books.dialect]):
        with books.session() as s:
            with write_behind(s):
                insert_rows(s, Item, items("E", 2) * 2)  # raised when the run leaves: every write is awaited
    with books.session() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == before


def test_leaving_on_an_error_drops_what_waits_and_gives_python_back_its_switch_interval(books):
    interval = sys.getswitchinterval()
    with books.session() as s:
        with pytest.raises(RuntimeError, match="the run failed"):
            with write_behind(s):
                assert sys.getswitchinterval() == pytest.approx(min(interval, bulk.SWITCH_INTERVAL))
                insert_rows(s, Item, items("F", 3))
                raise RuntimeError("the run failed")
        assert bulk.WRITER not in s.connection().info
        assert sys.getswitchinterval() == interval
        s.rollback()
        assert s.scalar(select(func.count()).select_from(Item).where(Item.code.like("F%"))) == 0


def test_a_commit_inside_waits_for_the_writer(books):
    with books.session() as s:
        with write_behind(s):
            insert_rows(s, Item, items("C", 4))
            s.commit()
    with books.session() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.code.like("C%"))) == 4


@pytest.mark.postgresql_only
def test_postgresql_ids_are_taken_ahead_by_the_writer_and_its_error_is_raised_where_they_are_awaited(books, monkeypatch):
    monkeypatch.setattr(bulk, "ID_BLOCK", 4)
    with books.session() as s:
        with write_behind(s):
            writer = s.connection().info[bulk.WRITER]
            first = bulk.new_ids(s, Item, 3)  # a block of 4 taken at once; the next asked of the writer (1 kept < 3)
            assert writer.ids["items"].coming is not None
            taken = [first] + [bulk.new_ids(s, Item, 3) for _ in range(5)]
            ids = [i for block in taken for i in block]
            assert ids == sorted(set(ids)) and len(ids) == 18
            insert_rows(s, Item, [{"id": i, **row} for i, row in zip(ids, items("A", 18))])
        assert s.scalars(select(Item.id).where(Item.code.like("A%")).order_by(Item.id)).all() == ids
        s.rollback()
    with pytest.raises(IntegrityError, match=DUPLICATE_CODE["postgresql"]):
        with books.session() as s:
            with write_behind(s):
                bulk.new_ids(s, Item, 3)  # the next block asked of the writer, after what it was given
                insert_rows(s, Item, items("B", 2) * 2)
                bulk.new_ids(s, Item, 3)  # needs that block: the writer failed before it, and its error is raised


def test_update_by_key_finds_rows_by_a_composite_key_and_refuses_a_key_of_no_or_all_columns(books):
    with books.session() as s:
        journals = s.execute(text("SELECT id FROM journals ORDER BY id")).scalars().all()[:2]
        year = s.execute(text("SELECT id FROM fiscal_years ORDER BY id")).scalar()
        have = set(s.execute(select(JournalCounter.journal_id).where(JournalCounter.fiscal_year_id == year)).scalars())
        s.add_all(JournalCounter(journal_id=j, fiscal_year_id=year) for j in journals if j not in have)
        s.flush()
        s.execute(text("UPDATE journal_counters SET last_number = 0, last_hash = '0'"))
        columns = ("last_number", "last_hash", "journal_id", "fiscal_year_id")
        update_by_key(s, JournalCounter, [(7, "seven", journals[1], year)], columns=columns, keys=2)
        for keys in (0, 4):
            with pytest.raises(ValueError, match="the key is some of the columns"):
                update_by_key(s, JournalCounter, [(1, "x", journals[0], year)], columns=columns, keys=keys)
        stored = s.execute(select(JournalCounter.journal_id, JournalCounter.last_number, JournalCounter.last_hash)
                           .where(JournalCounter.journal_id.in_(journals)).order_by(JournalCounter.journal_id)).all()
    assert stored == [(journals[0], 0, "0"), (journals[1], 7, "seven")]


def test_read_ahead_reads_one_chunk_early_only_when_asked():
    read = []

    def chunks():
        for n in range(3):
            read.append(n)
            yield n

    ahead = ReadAhead(chunks())
    assert next(ahead) == 0 and read == [0]
    ahead.read_next()
    ahead.read_next()  # once
    assert read == [0, 1]
    assert next(ahead) == 1 and read == [0, 1]
    assert next(ahead) == 2
    ahead.read_next()  # at the end: nothing to read
    assert list(ahead) == [] and read == [0, 1, 2]


# -- a close-out and its undo, written behind and in line ---------------------------------

DAY = dt.date(2026, 5, 4)


def small_book(books: Books) -> None:
    """Twelve orders of two lines, received and invoiced in every mix, two suppliers."""
    with books.session() as s:
        supplier(s)
        supplier(s, "BETA", "Beta BV")
        item(s)
        item(s, "SERVICE", stock=False, description="Service")
    for n in range(12):
        number = f"PO-{n:02d}"
        with books.session() as s:
            order(s, number, ("BOLT", 10, "2.5037"), ("SERVICE", 3, "19.99"), supplier_code="BETA" if n % 3 else "ACME")
            if n % 4 != 3:
                receive(s, number, 1, 6 + n % 3, number=f"R{n}-1")
            if n % 2:
                invoice(s, number, 1, 4, price="2.51" if n % 5 else None, number=f"I{n}-1")
            if n % 3 == 1:
                invoice(s, number, 2, 3, number=f"I{n}-2")
            if n % 3 == 2:
                receive(s, number, 2, 1, number=f"R{n}-2")


def book_rows(books: Books) -> dict:
    """Every row a close-out and an undo write or change, without the time of posting and
    the hashes made from it, and with each entry known by its journal and number, not its
    id (on PostgreSQL a run writing behind takes ids ahead, and leaves the ones it did not
    use)."""
    entry = "(SELECT j.code || ' ' || e.number FROM entries e JOIN journals j ON j.id = e.journal_id WHERE e.id = {})"
    queries = {
        "entries": "SELECT j.code, e.number, e.entry_date, e.description, e.source FROM entries e "
                   "JOIN journals j ON j.id = e.journal_id ORDER BY j.code, e.number",
        "entry_lines": f"SELECT {entry.format('l.entry_id')} AS entry, l.line_no, l.account_id, l.debit, l.credit, l.currency, "
                       "l.amount_currency, l.rate, l.partner_id, l.order_line_id, l.document, l.quantity "
                       "FROM entry_lines l ORDER BY 1, 2",
        "closeout_lines": "SELECT * FROM closeout_lines ORDER BY id",
        "closeout_entries": f"SELECT c.closeout_id, {entry.format('c.entry_id')} AS entry, c.kind FROM closeout_entries c ORDER BY 1, 2, 3",
        "order_lines": "SELECT * FROM order_lines ORDER BY id",
        "orders": "SELECT id, number, status FROM purchase_orders ORDER BY id",
        "counters": "SELECT journal_id, fiscal_year_id, last_number FROM journal_counters ORDER BY 1, 2",
    }
    with books.session() as s:
        return {name: [tuple(r) for r in s.execute(text(sql))] for name, sql in queries.items()}


def test_a_close_out_and_its_undo_write_the_same_rows_written_behind_as_in_line(templates, db_kind, monkeypatch):
    import matching.closeout as closeout_module

    monkeypatch.setattr(closeout_module, "CHUNK", 5)  # orders of two lines: several chunks, one read ahead of each
    monkeypatch.setattr(bulk, "SQLITE_VARIABLES", 40)  # SQLite: a few rows a statement
    monkeypatch.setattr(bulk, "COPY_FROM", 4)  # PostgreSQL: COPYs and array UPDATEs as well as executemany
    monkeypatch.setattr(bulk, "ID_BLOCK", 2)  # PostgreSQL: blocks of ids taken ahead by the writer
    counted = Counted(monkeypatch)
    read_ahead = []
    real_read_behind = bulk.read_behind

    def read_behind(session, plan, values):
        given = real_read_behind(session, plan, values)
        read_ahead.append(given is not None)
        return given

    monkeypatch.setattr("purchase.lines.read_behind", read_behind)
    seen = {}
    for way in ("behind", "in line"):
        monkeypatch.setattr(bulk, "WRITE_BEHIND", way == "behind")
        books = Books(url=templates.sqlite() if db_kind == "sqlite" else templates.postgresql(), dialect=db_kind)
        try:
            small_book(books)
            counted.statements = 0
            closed = books.cli("closeout", "run", "--close-fully", "--date", "2026-06-30", "--format", "json")
            assert closed.exit_code == 0, closed.output
            undone = books.cli("closeout", "undo", "--number", "1", "--date", "2026-07-01", "--format", "json")
            assert undone.exit_code == 0, undone.output
            assert (counted.statements > 0) == (way == "behind")
            # the writer reads (on PostgreSQL, and locks) each next chunk's lines too
            assert any(read_ahead) == (way == "behind")
            read_ahead.clear()
            with books.session() as s:
                assert check_books(s) == []
            seen[way] = (book_rows(books), json.loads(closed.stdout), json.loads(undone.stdout))
        finally:
            books.engine.dispose()
    rows, closed, undone = seen["behind"]
    assert len(rows["closeout_lines"]) == 24 and closed["entry_count"] == undone["entry_count"] == 12
    assert seen["behind"] == seen["in line"]


def test_rows_read_behind_are_those_select_in_reads_and_are_read_after_the_writes_given_before(books, monkeypatch):
    """`read_behind` (SQLite: the writer reads them as one JSON text per statement;
    PostgreSQL: `select_in`'s statement, sent by the writer) gives `select_in`'s rows,
    converted alike: texts with quotes and accents, None, dates, the stored rate as its
    Decimal; on SQLite over several statements when the values are many."""
    from ledger.bulk import read_behind
    from purchase.lines import _orders_plan, _plan
    from purchase.models import OrderLine, PurchaseOrder
    from tests.builders import D

    monkeypatch.setattr(bulk, "SQLITE_VARIABLES", 2)
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, 'PO-"ü" 1', ("BOLT", D("10"), D("2.5")), ("BOLT", D("4.125"), D("1.234567")))
        order(s, "PO-2", ("BOLT", D("3"), D("0.0001")))
        order(s, "PO-3", ("BOLT", D("1"), D("7")))
        dialect = s.get_bind().dialect
        order_ids = sorted(s.scalars(select(PurchaseOrder.id)))
        line_ids = sorted(s.scalars(select(OrderLine.id)))
        expected = bulk.select_in(s, _plan("id", dialect, True), line_ids), bulk.select_in(s, _orders_plan("id", dialect), order_ids)
        assert read_behind(s, _plan("order_id", dialect, True), order_ids) is None  # no writer: nothing read ahead
        with write_behind(s):
            given = [read_behind(s, plan, order_ids) for plan in (_plan("order_id", dialect, True), _orders_plan("id", dialect))]
            update_by_id(s, OrderLine, [(7, i) for i in line_ids], columns=("last_closeout_number", "id"))
            after = read_behind(s, _plan("order_id", dialect, True), order_ids)  # given after the update: reads it
            lines, orders = (sorted(read()) for read in given)
            assert (lines, orders) == expected and len(lines) == 4  # read before the update given after them
            assert [r[7] for r in lines] == [None] * 4 and [r[7] for r in after()] == [7] * 4
        assert {o[1] for o in orders} == {'PO-"ü" 1', "PO-2", "PO-3"} and all(type(o[5]) is dt.date for o in orders)
        assert {type(r[6]) for r in lines} == {Decimal} and all(type(r) is tuple for r in lines + orders)
