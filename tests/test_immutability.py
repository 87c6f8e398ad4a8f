"""Posted means immutable: the database refuses edits; check detects edits made around it."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.posting import EntrySpec, LineSpec, Poster


def post_two(books):
    with books.session() as s:
        Poster(s, "ann").post([
            EntrySpec("MEM", dt.date(2026, 4, 1), [LineSpec("604500", debit=Decimal("10.00")), LineSpec("440000", credit=Decimal("10.00"))]),
            EntrySpec("MEM", dt.date(2026, 4, 2), [LineSpec("604500", debit=Decimal("20.00")), LineSpec("440000", credit=Decimal("20.00"))]),
        ])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entry_lines SET debit = debit + 100 WHERE line_no = 1",
        "UPDATE entries SET description = 'edited'",
        "DELETE FROM entry_lines",
        "DELETE FROM entries",
    ],
)
def test_raw_sql_update_and_delete_of_posted_rows_is_refused(books, sql):
    post_two(books)
    with pytest.raises(DBAPIError, match="immutable"):
        books.raw(sql)
    with books.session() as s:
        assert s.execute(text("select count(*) from entries")).scalar() == 2


@pytest.mark.postgresql_only
def test_truncate_is_refused_on_postgresql(books):
    post_two(books)
    with pytest.raises(DBAPIError, match="immutable"):
        books.raw("TRUNCATE entry_lines")


def drop_triggers(books):
    if books.dialect == "postgresql":
        books.raw("DROP FUNCTION pledger_refuse_change() CASCADE")
        books.raw("DROP FUNCTION pledger_refuse_rekey() CASCADE")  # migration 0011's
        books.raw("DROP FUNCTION pledger_refuse_closeout_edit() CASCADE")  # migration 0012's
    else:
        names = [r[0] for r in books.raw("select name from sqlite_master where type='trigger'")]
        for name in names:
            books.raw(f"DROP TRIGGER {name}")


def test_with_the_triggers_dropped_an_edited_amount_is_reported_by_check(books):
    post_two(books)
    assert books.cli("check").exit_code == 0
    drop_triggers(books)
    # edit both lines of entry 1 so that it still balances: only the hash can tell
    books.raw("UPDATE entry_lines SET debit = debit * 2 WHERE debit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    books.raw("UPDATE entry_lines SET credit = credit * 2 WHERE credit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "MEM 2026 entry 1: content does not match its hash" in result.output


def test_with_the_triggers_dropped_a_deleted_entry_is_reported_by_check(books):
    post_two(books)
    drop_triggers(books)
    books.raw("DELETE FROM entry_lines WHERE entry_id = (SELECT max(id) FROM entries)")
    books.raw("DELETE FROM entries WHERE id = (SELECT max(id) FROM entries)")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "the counter says 2 entries were posted, 1 is there" in result.output


def rehash(books):
    """What a forger who knows how entries are hashed does after an edit: every entry's hash
    worked out again over what its rows now hold, chained, and each counter's last hash put
    right. Only the ledger's other proofs are left to find the edit."""
    from sqlalchemy import BigInteger, select, type_coerce, update

    from ledger.check import LINE_KEYS
    from ledger.models import Entry, EntryLine, JournalCounter
    from ledger.posting import GENESIS_HASH, SCALED_LINE_COLUMNS, entry_hash

    columns = [type_coerce(getattr(EntryLine, k), BigInteger) if k in SCALED_LINE_COLUMNS else getattr(EntryLine, k)
               for k in LINE_KEYS]
    head_keys = ("journal_id", "fiscal_year_id", "number", "entry_date", "description", "source", "user_name", "posted_at")
    with books.session() as s:
        last = {}
        heads = s.execute(select(Entry.id, *[getattr(Entry, k) for k in head_keys])
                          .order_by(Entry.journal_id, Entry.fiscal_year_id, Entry.number, Entry.id)).all()
        for entry_id, *values in heads:
            head = dict(zip(head_keys, values))
            lines = [dict(zip(LINE_KEYS, row)) for row in
                     s.execute(select(*columns).where(EntryLine.entry_id == entry_id).order_by(EntryLine.line_no))]
            key = (head["journal_id"], head["fiscal_year_id"])
            prev = last.get(key, GENESIS_HASH)
            last[key] = entry_hash(prev, head, lines)
            s.execute(update(Entry).where(Entry.id == entry_id).values(prev_hash=prev, hash=last[key]))
        for (journal_id, year_id), last_hash in last.items():
            s.execute(update(JournalCounter).where(JournalCounter.journal_id == journal_id,
                                                   JournalCounter.fiscal_year_id == year_id).values(last_hash=last_hash))


def post_three(books):
    post_two(books)
    with books.session() as s:
        Poster(s, "ann").post([EntrySpec("MEM", dt.date(2026, 4, 3), [
            LineSpec("604500", debit=Decimal("30.00")), LineSpec("440000", credit=Decimal("30.00"))])])


def test_with_the_chain_hashed_again_an_unbalanced_entry_is_still_reported(books):
    """The debit of entry 1 raised by 1.00 (11.00 against 10.00), every hash worked out
    again: `check` still says entry 1 does not balance."""
    post_three(books)
    drop_triggers(books)
    books.raw("UPDATE entry_lines SET debit = debit + 10000 WHERE debit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    rehash(books)
    result = books.cli("check")
    assert result.exit_code == 1
    assert "check failed: 1 breach; the first: MEM 2026 entry 1: does not balance (debit 11." in result.output


def test_an_unbalanced_entry_is_reported_in_the_base_currencys_decimals(books):
    """`check` said "does not balance (debit 11.0000, credit 10.0000)": the stored scale, four
    decimals, where every other report shows the base currency's (EUR 2). It now says
    "debit 11.00, credit 10.00"; a difference finer than the minor unit is shown whole."""
    post_three(books)
    drop_triggers(books)
    books.raw("UPDATE entry_lines SET debit = debit + 10000 WHERE debit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    books.raw("UPDATE entry_lines SET debit = debit + 1 WHERE debit > 0 AND entry_id = (SELECT max(id) FROM entries)")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "breach: MEM 2026 entry 1: does not balance (debit 11.00, credit 10.00)\n" in result.stdout
    assert "breach: MEM 2026 entry 3: does not balance (debit 30.0001, credit 30.00)\n" in result.stdout


def test_with_the_chain_hashed_again_a_deleted_entry_leaves_a_gap_that_is_reported(books):
    """Entry 2 of 3 deleted, every hash worked out again (the counter still says 3, and 3 is
    the last number): `check` names the gap from 1 to 3."""
    post_three(books)
    drop_triggers(books)
    books.raw("DELETE FROM entry_lines WHERE entry_id = (SELECT id FROM entries WHERE number = 2)")
    books.raw("DELETE FROM entries WHERE number = 2")
    rehash(books)
    result = books.cli("check")
    assert result.exit_code == 1
    assert "MEM 2026 entry 3: numbers jump from 1 to 3 (a gap)" in result.output


def test_with_the_chain_hashed_again_an_entry_of_one_line_is_reported(books):
    """Entry 1 made one line of nothing (its credit line deleted, its debit line set to 0),
    which balances, every hash worked out again: `check` says it needs two lines or more."""
    post_three(books)
    drop_triggers(books)
    books.raw("DELETE FROM entry_lines WHERE credit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    books.raw("UPDATE entry_lines SET debit = 0 WHERE entry_id = (SELECT min(id) FROM entries)")
    rehash(books)
    result = books.cli("check")
    assert result.exit_code == 1
    assert "MEM 2026 entry 1: has 1 line, an entry needs two or more" in result.output


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accounts SET code = '999999' WHERE code = '340000'",
        "UPDATE accounts SET kind = 'expense' WHERE code = '340000'",
        "UPDATE journals SET code = 'XXX' WHERE code = 'MEM'",
        "UPDATE fiscal_years SET year = 2023",
        "UPDATE fiscal_years SET end_date = start_date",
        "UPDATE periods SET end_date = start_date WHERE month = 2",
        "UPDATE periods SET month = 13 WHERE month = 12",
    ],
)
def test_what_posted_entries_point_at_keeps_its_meaning(books, sql):
    """A posted line names its account, and an entry its journal and fiscal year, by id, and
    the hash covers the ids. Before migration 0011 a plain UPDATE (no trigger in the way) gave
    the stock account another code, or 2026 the year 2023, and `check` passed: the entries had
    not changed, only what they point at. Now the database refuses it, on both databases."""
    post_two(books)
    with pytest.raises(DBAPIError, match="keeps its meaning"):
        books.raw(sql)
    assert books.cli("check").exit_code == 0
    tb = books.cli("report", "trial-balance", "--format", "csv").output.splitlines()
    assert [line.split(",")[0] for line in tb[1:]] == ["440000", "604500", "Total"]


def test_an_account_name_and_a_period_lock_still_change(books):
    post_two(books)
    books.raw("UPDATE accounts SET name = 'Leveranciers' WHERE code = '440000'")
    assert books.cli("period", "lock", "2026-04").exit_code == 0
    assert books.cli("period", "unlock", "2026-04").exit_code == 0
    assert "Leveranciers," in books.cli("report", "trial-balance", "--format", "csv").output


def test_with_the_triggers_dropped_a_year_given_another_number_is_reported_by_check(books):
    """Around migration 0011's triggers, 2026 renamed 2025 (its dates with it) showed the
    year's entries under 2025 in `journal show` and `check` passed: the hash covers the
    year's id. `check` now proves each year is the calendar year its number says and holds
    only entries dated in it."""
    post_two(books)
    drop_triggers(books)
    books.raw("UPDATE fiscal_years SET year = 2025, start_date = '2025-01-01', end_date = '2025-12-31' WHERE year = 2026")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "breach: MEM 2025 entry 1: dated 2026-04-01, outside its fiscal year (2025-01-01 to 2025-12-31)" in result.output
    books.raw("UPDATE fiscal_years SET start_date = '2026-01-01', end_date = '2026-12-31' WHERE year = 2025")
    result = books.cli("check")
    assert result.exit_code == 1
    assert result.stderr == ("pledger: check failed: 1 breach; the first: fiscal year 2025 runs from 2026-01-01 to "
                             "2026-12-31, not 2025-01-01 to 2025-12-31 (its year or dates were changed)\n")


def closed_out_twice_and_undone_once(books):
    """PO-1 closed out (close-out 1) and undone; PO-2 closed out (close-out 2), standing."""
    from matching.closeout import UndoSelection, run_closeout, undo_closeouts
    from matching.selection import Selection
    from tests.builders import invoice, item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        for number in ("PO-1", "PO-2"):
            order(s, number, ("BOLT", 10, "3.33"))
            receive(s, number, 1, 4)
            invoice(s, number, 1, 3)
    for number in ("PO-1", "PO-2"):
        with books.session() as s:
            run_closeout(s, Selection(order=(number, number)), user="ann", date=dt.date(2026, 6, 30), close_fully=True)
    with books.session() as s:
        undo_closeouts(s, UndoSelection(numbers=(1, 1)), user="ann", date=dt.date(2026, 7, 1))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE closeouts SET user_name = 'mallory' WHERE number = 2",
        "UPDATE closeouts SET closeout_date = '2026-01-01' WHERE number = 2",
        "UPDATE closeouts SET run_at = '2026-01-01 00:00:00' WHERE number = 2",
        "UPDATE closeouts SET selection = '{}' WHERE number = 2",
        "UPDATE closeouts SET number = 9 WHERE number = 2",
        "UPDATE closeouts SET undone_by = 'mallory' WHERE number = 1",
        "UPDATE closeouts SET undo_date = '2026-12-31' WHERE number = 1",
        "UPDATE closeouts SET undone_by = NULL, undone_at = NULL, undo_date = NULL WHERE number = 1",
        "DELETE FROM closeouts WHERE number = 2",
    ],
)
def test_a_close_outs_record_stays_as_it_ran_and_its_undo_as_it_was_made(books, sql):
    """Who ran a close-out, when, at which date and on what selection, and who undid it and
    when, are what `closeout list` and `show` give an auditor; the hash chain does not cover
    them. Before migration 0012 a plain UPDATE (no trigger in the way) rewrote them and
    `check` passed; now the database refuses it, on both databases. The undo still marks a
    standing close-out undone."""
    closed_out_twice_and_undone_once(books)
    before = [tuple(r) for r in books.raw("SELECT * FROM closeouts ORDER BY number")]
    with pytest.raises(DBAPIError, match="stays as it ran"):
        books.raw(sql)
    assert [tuple(r) for r in books.raw("SELECT * FROM closeouts ORDER BY number")] == before
    assert books.cli("closeout", "undo", "--number", "2", "--date", "2026-07-01").exit_code == 0
    assert [tuple(r) for r in books.raw("SELECT number, undone_by FROM closeouts ORDER BY number")] == [(1, "ann"), (2, "ann")]
    assert books.cli("check").exit_code == 0



ENTRY_OF = "(SELECT e.id FROM entries e JOIN journals j ON j.id = e.journal_id WHERE j.code = '{}' AND e.number = {})"
CLOSEOUT = "(SELECT id FROM closeouts WHERE number = {})"


@pytest.mark.parametrize(
    "sql, first",
    [
        (f"DELETE FROM closeout_entries WHERE entry_id = {ENTRY_OF.format('MEM', 3)}",
         "MEM 2026 entry 3: posted by a close-out or its undo (undo of close-out 1, order PO-1), and no close-out lists it"),
        ("UPDATE closeouts SET user_name = 'mallory', closeout_date = '2026-06-29' WHERE number = 2",
         "close-out 2 of 2026-06-29 by mallory: MEM 2026 entry 2, posted by it, is dated 2026-06-30 by ann"),
        ("UPDATE closeouts SET undone_by = 'mallory' WHERE number = 1",
         "close-out 1, undone at 2026-07-01 by mallory: MEM 2026 entry 3, posted by its undo, is dated 2026-07-01 by ann"),
        (f"UPDATE closeout_entries SET closeout_id = {CLOSEOUT.format(2)} WHERE entry_id = {ENTRY_OF.format('MEM', 3)}",
         "close-out 2 is not marked undone, and lists MEM 2026 entry 3 as posted by its undo"),
        (f"INSERT INTO closeout_entries (closeout_id, entry_id, kind) VALUES ({CLOSEOUT.format(2)}, {ENTRY_OF.format('PUR', 1)}, 'closeout')",
         "close-out 2 lists PUR 2026 entry 1 as posted by it, an entry no close-out posted (invoice)"),
        (f"INSERT INTO closeout_entries (closeout_id, entry_id, kind) VALUES ({CLOSEOUT.format(2)}, {ENTRY_OF.format('MEM', 1)}, 'closeout')",
         "MEM 2026 entry 1: listed by close-outs 1 and 2, posted by one"),
    ],
)
def test_with_the_triggers_dropped_a_close_outs_record_or_its_entries_edited_is_reported_by_check(books, sql, first):
    """`closeout show` lists a close-out's entries and its undo's from `closeout_entries`, and
    says who ran and undid it, when, from the close-out's row; the hash chain covers neither.
    Around the triggers, a link deleted made `show` say its undo posted nothing, a close-out
    given another user or date read as such, and `check` passed. The entries prove them:
    each is dated at the close-out's date (or its undo's) by who ran (or undid) it."""
    closed_out_twice_and_undone_once(books)
    assert books.cli("check").exit_code == 0
    drop_triggers(books)
    books.raw(sql)
    result = books.cli("check")
    assert result.exit_code == 1
    assert result.stderr == f"pledger: check failed: 1 breach; the first: {first}\n"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE journal_counters SET last_number = 0",
        "UPDATE journal_counters SET last_number = last_number - 1 WHERE last_number > 0",
        "DELETE FROM journal_counters",
        "UPDATE journal_counters SET fiscal_year_id = fiscal_year_id + 100",
        "UPDATE closeout_counter SET last_number = 0",
        "DELETE FROM closeout_counter",
    ],
)
def test_a_counter_only_goes_forward(books, sql):
    """Before migration 0013 a plain UPDATE or DELETE (no trigger in the way) set a counter
    back, and the next posting took a number already given: refused by the unique key, on
    PostgreSQL after five tries as 'other writers kept the database busy'. Now the database
    refuses setting it back; the program still moves it on."""
    closed_out_twice_and_undone_once(books)
    with pytest.raises(DBAPIError, match="never given twice"):
        books.raw(sql)
    assert books.cli("closeout", "undo", "--number", "2", "--date", "2026-07-01").exit_code == 0
    assert [r[0] for r in books.raw("SELECT number FROM entries e JOIN journals j ON j.id = e.journal_id "
                                    "WHERE j.code = 'MEM' ORDER BY number")] == [1, 2, 3, 4]
    assert books.cli("check").exit_code == 0


@pytest.mark.parametrize("number", [0, -1])
def test_with_the_triggers_dropped_an_entry_numbered_below_one_is_reported_as_such(books, number):
    """Entry 1 renumbered 0 was reported as 'number 0 is used twice': no other entry has it."""
    post_two(books)
    drop_triggers(books)
    books.raw(f"UPDATE entries SET number = {number} WHERE number = 1")
    result = books.cli("check")
    assert result.exit_code == 1
    assert f"the first: MEM 2026 entry {number}: numbered {number}, and numbers start at 1\n" in result.stderr
    assert "used twice" not in result.output


def test_an_orders_supplier_changed_after_its_postings_is_reported_by_check(books):
    """Every journal line posted on an order line names the order's supplier (DOMAIN.md: the
    supplier, the order line and the document). An order moved to another supplier after its
    receipt and invoice posted (an UPDATE the triggers let through, and which the accountant
    role may make on PostgreSQL) left those lines naming ACME on an order of BETA's: `journal
    show` and `po show` disagreed, and `check` passed. It now names the order and a line."""
    from tests.builders import invoice, item, order, receive, supplier

    with books.session() as s:
        supplier(s)
        supplier(s, "BETA", "Beta BV")
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "5.00"))
        receive(s, "PO-1", 1, 4, number="R-1")
        invoice(s, "PO-1", 1, 3)
    assert books.cli("check").exit_code == 0
    books.raw("UPDATE purchase_orders SET supplier_id = (SELECT id FROM suppliers WHERE code = 'BETA') WHERE number = 'PO-1'")
    result = books.cli("check")
    assert result.exit_code == 1, result.output
    assert ("breach: order PO-1 is BETA's, and 3 journal lines posted on it name another supplier "
            "(the first: REC 2026 entry 1 names ACME): its supplier was changed after posting\n") in result.stdout
