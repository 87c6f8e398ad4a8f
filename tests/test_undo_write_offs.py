"""Undoing a close-out after documents wrote units off as they arrived.

A close-out may lower to invoice below what is still to receive (goods that will come
but never be invoiced), or the other way round. When those goods (or invoices) arrive,
their receipt (or invoice) writes them off at once (`purchase.rules._Rule._settle`). Each
such write-off is recorded against the close-out that caused it
(`purchase.models.WriteOffOnArrival`), and undoing the close-out gives it back exactly,
with the close-out's own: the line again expects the goods' invoice (or the invoice's
goods), and the document that brings it posts to the interim account, as on a line no
close-out ever touched. Where an older close-out still stands, the line is settled again
under it.
"""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from purchase.models import WriteOffOnArrival
from purchase.rules import quantity_of
from tests.builders import D, GR, IR, ROUNDING, UNINVOICED, UNRECEIVED, balance, invoice, receive
from tests.test_closeout import CLOSED_OUT, acme, edits_file, entry_lines, order, refused, run, sound  # noqa: F401 (acme: a fixture)


def line_state(books, number, line=1):
    row = books.raw("select lowered_receive, lowered_invoice, written_off_uninvoiced, written_off_unreceived, "
                    "last_closeout_number from order_lines l join purchase_orders o on o.id = l.order_id "
                    "where o.number = :n and l.line_no = :l", n=number, l=line).one()
    *quantities, last = row
    return (*(quantity_of(q) for q in quantities), last)  # the columns hold scaled integers


def recorded(books):
    with books.session() as s:
        return [(w.closeout_number, w.document, w.uninvoiced_units, w.unreceived_units, w.uninvoiced_amount, w.unreceived_amount)
                for w in s.scalars(select(WriteOffOnArrival).order_by(WriteOffOnArrival.id))]


def test_goods_written_off_as_they_arrived_are_given_back_by_the_undo(acme, tmp_path):
    """10 at 5.00, closed out to invoice 0 while all 10 are still to receive; the 10 then
    arrive and are written off as they come (Cr uninvoiced receipts 50.00). The undo gives
    them back: Dr uninvoiced receipts 50.00 / Cr goods received 50.00, the mirror of what a
    close-out after the receipt would have posted. The invoice that then comes clears goods
    received, and nothing is left on either account."""
    with acme.session() as s:
        order(s, "PO-30", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-30,1,,0"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-30", 1, 10, number="R-30", date=CLOSED_OUT)
        assert balance(s, UNINVOICED) == D("-50.00") and balance(s, GR) == 0
    assert recorded(acme) == [(1, "receipt R-30", D(10), D(0), D("50.00"), D(0))]

    trial = run(acme, "undo", "--number", "1", "--date", "2026-07-01", "--trial")
    report = run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert entry_lines(report) == entry_lines(trial) == [(GR, "0.00", "50.00", "PO-30", 1), (UNINVOICED, "50.00", "0.00", "PO-30", 1)]
    assert [(l["order"], l["uninvoiced"], l["uninvoiced_amount"], l["to_invoice_after"]) for l in report["lines"]] == [
        ("PO-30", "-10", "-50.00", "10")]
    assert line_state(acme, "PO-30") == (0, 0, 0, 0, None)
    with acme.session() as s:
        assert balance(s, UNINVOICED) == 0 and balance(s, GR) == D("-50.00")
        invoice(s, "PO-30", 1, 10)
        assert balance(s, GR) == 0 and balance(s, UNRECEIVED) == 0 and balance(s, IR) == 0
    sound(acme)


def test_invoices_written_off_as_they_arrived_are_given_back_by_the_undo(acme, tmp_path):
    """The other side: closed out to receive 0 while all 10 are still to invoice; the
    invoice of 10 is written off as it comes (Dr unreceived invoices 50.00); the undo gives
    it back to invoices received, and the goods that then arrive clear it."""
    with acme.session() as s:
        order(s, "PO-32", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-32,1,0,10"), "--date", "2026-06-30")
    with acme.session() as s:
        invoice(s, "PO-32", 1, 10, number="I-32", date=CLOSED_OUT)
        assert balance(s, UNRECEIVED) == D("50.00") and balance(s, IR) == 0
    assert recorded(acme) == [(1, "invoice I-32", D(0), D(10), D(0), D("50.00"))]
    report = run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert entry_lines(report) == [(IR, "50.00", "0.00", "PO-32", 1), (UNRECEIVED, "0.00", "50.00", "PO-32", 1)]
    with acme.session() as s:
        assert balance(s, UNRECEIVED) == 0 and balance(s, IR) == D("50.00")
        receive(s, "PO-32", 1, 10)
        assert balance(s, IR) == 0 and balance(s, GR) == 0 and balance(s, UNINVOICED) == 0
    sound(acme)


def test_an_undo_settles_the_line_again_under_the_older_close_out_still_standing(acme, tmp_path):
    """Close-out 1 lowers to invoice from 10 to 7, close-out 2 from 7 to 4; the 10 then
    arrive and 6 are written off (under close-out 2, the newest standing). Undoing 2 gives
    back those 6 and its lowering; close-out 1 still says 3 will never be invoiced, so 3
    are written off again, now under close-out 1 (net: 3 back, 15.00). Undoing 1 then
    gives back those 3: the line is as if neither had run."""
    with acme.session() as s:
        order(s, "PO-34", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-34,1,,7"), "--date", "2026-06-30")
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-34,1,,4", name="e2.csv"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-34", 1, 10, number="R-34", date=CLOSED_OUT)
        assert balance(s, UNINVOICED) == D("-30.00") and balance(s, GR) == D("-20.00")
    assert line_state(acme, "PO-34") == (0, 6, 6, 0, 2)

    report = run(acme, "undo", "--number", "2", "--date", "2026-07-01")
    assert entry_lines(report) == [(GR, "0.00", "15.00", "PO-34", 1), (UNINVOICED, "15.00", "0.00", "PO-34", 1)]
    assert [(l["uninvoiced"], l["uninvoiced_amount"], l["to_invoice_before"], l["to_invoice_after"]) for l in report["lines"]] == [
        ("-3", "-15.00", "4", "7")]
    assert line_state(acme, "PO-34") == (0, 3, 3, 0, 1)
    assert recorded(acme)[1:] == [(1, "undo closeout 2", D(3), D(0), D("15.00"), D(0))]
    sound(acme)

    report = run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert entry_lines(report) == [(GR, "0.00", "15.00", "PO-34", 1), (UNINVOICED, "15.00", "0.00", "PO-34", 1)]
    assert line_state(acme, "PO-34") == (0, 0, 0, 0, None)
    with acme.session() as s:
        assert balance(s, UNINVOICED) == 0 and balance(s, GR) == D("-50.00")
    sound(acme)


def test_an_undo_after_a_return_moved_the_matched_quantity_puts_two_cents_on_rounding(acme, tmp_path):
    """4 at 1.8319 received; close-out 1 lowers to invoice to 2 (writes off 2: 3.66), close-out
    2 to 1 (writes off 1 more: value(3) - value(2) = 5.50 - 3.66 = 1.84); 1 is invoiced and
    0.33 returned. Undoing close-out 2 gives back exactly its 1.84, while goods received
    rises by 1.22 (value(3.67) - value(3)) and invoices received falls by 0.60 (value(1) -
    value(0.67)): 2 cents apart, the sum of the roundings of the values in between, and
    they go to rounding. It failed with an internal error before: an undo's rounding was
    held to one cent."""
    with acme.session() as s:
        order(s, "PO-36", ("BOLT", 4, "1.8319"))
        receive(s, "PO-36", 1, 4)
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-36,1,0,2"), "--date", "2026-06-30")
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-36,1,0,1", name="e2.csv"), "--date", "2026-06-30")
    with acme.session() as s:
        invoice(s, "PO-36", 1, 1, price="1.83")
        receive(s, "PO-36", 1, D("-0.33"))
    report = run(acme, "undo", "--number", "2", "--date", "2026-07-01")
    assert entry_lines(report) == [
        (GR, "0.00", "1.22", "PO-36", 1),
        (IR, "0.00", "0.60", "PO-36", 1),
        (UNINVOICED, "1.84", "0.00", "PO-36", 1),
        (ROUNDING, "0.00", "0.02", "PO-36", 1),
    ]
    assert report["totals"]["balanced"] is True
    sound(acme)


def forget_write_off_records(acme) -> None:
    """Delete every record of write-offs on arrival, around the database's refusal: what a
    book from before migration 0006 never had."""
    if acme.dialect == "postgresql":
        acme.raw("ALTER TABLE write_offs_on_arrival DISABLE TRIGGER USER")
        acme.raw("DELETE FROM write_offs_on_arrival")
        acme.raw("ALTER TABLE write_offs_on_arrival ENABLE TRIGGER USER")
    else:
        acme.raw("DROP TRIGGER trg_write_offs_on_arrival_no_delete")
        acme.raw("DELETE FROM write_offs_on_arrival")


def test_an_undo_is_refused_where_a_write_off_on_arrival_was_not_recorded(acme, tmp_path):
    """Books from before write-offs on arrival were recorded (migration 0006) may hold one
    that no row records: the undo cannot give it back, and is refused, trial or not,
    naming the document and the line, writing nothing; `check` does not ask a record of
    write-offs posted before 0006. Such books are made here by deleting the record around
    the database's refusal and moving the entry 0006 kept to the last one."""
    with acme.session() as s:
        order(s, "PO-38", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-38,1,,0"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-38", 1, 10, number="R-38", date=CLOSED_OUT)
    forget_write_off_records(acme)
    # in books begun with recorded write-offs, a missing record is a breach `check` names
    result = acme.cli("check")
    assert result.exit_code == 1 and ("order PO-38 line 1: written off as never to be invoiced 10, the close-outs standing "
                                      "on it and the write-offs recorded under them explain 0") in result.output
    # books from before 0006: write-offs on arrival up to its entry were never recorded
    acme.raw("UPDATE ledger_settings SET value = (SELECT CAST(max(id) AS VARCHAR(255)) FROM entries) "
             "WHERE key = 'write_offs_recorded_after_entry'")
    assert acme.cli("check").exit_code == 0
    for trial in ([], ["--trial"]):
        out = refused(acme, "undo", "--number", "1", "--date", "2026-07-01", *trial)
        assert out == ("pledger: close-out 1 cannot be undone: receipt R-38 wrote off units of order PO-38 line 1 as they "
                       "arrived, before pledger recorded which close-out such write-offs belong to (1 line in all); an "
                       "undo cannot give them back, and would leave them written off on a line that expects them again\n")
    assert acme.raw("select undone_by from closeouts where number = 1").scalar() is None
    with acme.session() as s:
        assert balance(s, UNINVOICED) == D("-50.00")


def test_a_later_close_out_on_a_line_with_an_unrecorded_write_off_can_be_undone(acme, tmp_path):
    """A book upgraded from before 0006 holds a write-off on arrival no row records (receipt
    R-44, under close-out 1). Close-out 2, run on the same line after it, was refused its
    undo, naming R-44: "an undo cannot give them back". A write-off posted before a
    close-out ran is not one it made, and its undo gives nothing of it back (close-out 1,
    still standing, keeps it), as on a book begun since 0006: that undo goes through and the
    books hold; close-out 1's undo is still refused."""
    with acme.session() as s:
        order(s, "PO-44", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-44,1,,0"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-44", 1, 6, number="R-44", date=CLOSED_OUT)  # 6 written off as they arrive
    forget_write_off_records(acme)
    acme.raw("UPDATE ledger_settings SET value = (SELECT CAST(max(id) AS VARCHAR(255)) FROM entries) "
             "WHERE key = 'write_offs_recorded_after_entry'")  # as 0006 kept it on a book upgraded now
    run(acme, "run", "--order", "PO-44", "--close-fully", "--date", "2026-07-01")  # the 4 still to receive: not coming
    assert line_state(acme, "PO-44")[:2] == (D(4), D(10))  # lowered to receive and to invoice
    run(acme, "undo", "--number", "2", "--date", "2026-07-02")
    assert line_state(acme, "PO-44")[:2] == (D(0), D(10))
    with acme.session() as s:
        assert balance(s, UNINVOICED) == D("-30.00")  # R-44's write-off stays, under close-out 1
    assert acme.cli("check").exit_code == 0
    assert "receipt R-44 wrote off units of order PO-44 line 1" in refused(acme, "undo", "--number", "1", "--date", "2026-07-02")


def upgraded_from_before_0006(acme) -> None:
    """The book as a pledger from before 0006 left it, upgraded now (its records forgotten
    first, `forget_write_off_records`): every entry up to the last one posted before
    write-offs on arrival were recorded."""
    acme.raw("UPDATE ledger_settings SET value = (SELECT CAST(max(id) AS VARCHAR(255)) FROM entries) "
             "WHERE key = 'write_offs_recorded_after_entry'")


def test_a_write_off_on_arrival_worth_nothing_before_0006_passes_check_and_refuses_its_undo(acme, tmp_path):
    """2 at 0.004, to invoice lowered to 1 while both are still to receive; the 2 arrive and
    1 is written off as it comes, worth value(1) = 0.00: no ledger line on uninvoiced
    receipts, so before 0006 nothing showed it. After the upgrade `check` reported "written
    off as never to be invoiced 1, ... explain 0" on this correct book, and the close-out's
    undo went through, leaving the unit written off on a line that expects its invoice
    again. Units whose write-off is worth 0.00 at the line's price (`purchase.rules`'s value)
    need no ledger line: on a line with a document from before the boundary and a close-out
    standing, `check` counts them as explained, and the undo is refused as for any write-off
    on arrival that was not recorded. A write-off worth more, or on a book begun since 0006,
    is still a breach."""
    with acme.session() as s:
        order(s, "PO-60", ("BOLT", 2, "0.004"))
        order(s, "PO-61", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-60,1,,1", "PO-61,1,,6"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-60", 1, 2, number="R-60", date=CLOSED_OUT)
        receive(s, "PO-61", 1, 4, number="R-61", date=CLOSED_OUT)
        assert balance(s, UNINVOICED) == 0
    assert line_state(acme, "PO-60") == (0, 1, 1, 0, 1)
    assert recorded(acme) == [(1, "receipt R-60", D(1), D(0), D(0), D(0))]
    forget_write_off_records(acme)
    breach = ("order PO-60 line 1: written off as never to be invoiced 1, the close-outs standing on it and the "
              "write-offs recorded under them explain 0")
    result = acme.cli("check")  # a book begun with recorded write-offs: a missing record is a breach, worth nothing or not
    assert result.exit_code == 1 and breach in result.output

    upgraded_from_before_0006(acme)
    result = acme.cli("check")
    assert result.exit_code == 0, result.output
    for trial in ([], ["--trial"]):
        out = refused(acme, "undo", "--number", "1", "--date", "2026-07-01", *trial)
        assert out == ("pledger: close-out 1 cannot be undone: receipt R-60 wrote off units of order PO-60 line 1 as they "
                       "arrived, before pledger recorded which close-out such write-offs belong to (1 line in all); an "
                       "undo cannot give them back, and would leave them written off on a line that expects them again\n")
    assert acme.raw("select undone_by from closeouts where number = 1").scalar() is None

    # tampered: units written off around the program are still named where they are worth something
    acme.raw("UPDATE order_lines SET written_off_uninvoiced = written_off_uninvoiced + 1000000 "
             "WHERE order_id = (SELECT id FROM purchase_orders WHERE number = 'PO-61')")  # 1 unit at 5.00, none written off
    acme.raw("UPDATE order_lines SET written_off_uninvoiced = written_off_uninvoiced + 1000000 "
             "WHERE order_id = (SELECT id FROM purchase_orders WHERE number = 'PO-60')")  # 2 units at 0.004: 0.01
    result = acme.cli("check")
    assert result.exit_code == 1
    assert ("order PO-60 line 1: written off as never to be invoiced 2, the close-outs standing on it and the "
            "write-offs recorded under them explain 0") in result.output
    assert ("order PO-61 line 1: written off as never to be invoiced 1, the close-outs standing on it and the "
            "write-offs recorded under them explain 0") in result.output


def test_a_book_at_0005_with_a_write_off_worth_nothing_passes_check_once_init_upgrades_it(acme, tmp_path):
    """The same book taken down to 0005 (the records go with 0006's table) and upgraded by
    `pledger init`, as a user upgrades: `check` passes; before, it exited 1 ("written off as
    never to be invoiced 1, ... explain 0")."""
    from migrations import runner

    with acme.session() as s:
        order(s, "PO-62", ("BOLT", 1, "0.004"))
        order(s, "PO-63", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-62,1,,0"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-62", 1, 1, number="R-62", date=CLOSED_OUT)  # written off as it arrives, worth 0.00: no entry at all
        receive(s, "PO-63", 1, 4, number="R-63", date=CLOSED_OUT)  # an entry 0006 keeps as the last before it
    assert line_state(acme, "PO-62") == (0, 1, 1, 0, 1)
    runner.downgrade(acme.engine, "0005")
    result = acme.cli("init")
    assert result.exit_code == 0 and "from migration 0005" in result.output, result.output
    result = acme.cli("check")
    assert result.exit_code == 0, result.output
    assert "receipt R-62 wrote off units of order PO-62 line 1" in refused(acme, "undo", "--number", "1", "--date", "2026-07-01")


@pytest.mark.parametrize("units, price, currency, nothing", [
    ("1", "0.004", "EUR", True), ("1", "0.005", "EUR", False), ("2", "0.004", "EUR", False),
    ("1", "0.07", "JPY", True), ("7", "0.07", "JPY", True), ("8", "0.07", "JPY", False), ("0", "0.004", "EUR", False),
])
def test_which_write_offs_are_worth_nothing_is_the_rules_value(units, price, currency, nothing):
    """value(X) of the rule, half-up to the currency's minor unit (JPY has none): a write-off
    of units worth 0.00 (0 yen) at the line's price posts no ledger line."""
    from ledger.types import PRICE_SCALE, QUANTITY_SCALE, to_scaled
    from purchase.write_offs import worth_nothing

    assert worth_nothing(to_scaled(D(units), QUANTITY_SCALE), to_scaled(D(price), PRICE_SCALE), currency) is nothing


def test_the_records_are_append_only(acme, tmp_path):
    """The database refuses to change or delete a recorded write-off, as it refuses the
    entries it was posted with."""
    with acme.session() as s:
        order(s, "PO-39", ("BOLT", 10, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-39,1,,0"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-39", 1, 10, date=CLOSED_OUT)
    for sql in ("UPDATE write_offs_on_arrival SET uninvoiced_units = 0", "DELETE FROM write_offs_on_arrival"):
        with pytest.raises(DBAPIError, match="immutable"):
            acme.raw(sql)
    assert len(recorded(acme)) == 1


def test_a_write_off_account_cannot_move_once_it_holds_order_lines_write_offs(acme, tmp_path):
    """An undo gives back to the account set when it runs: were the uninvoiced-receipts
    account moved after a close-out wrote off to it, the undo would leave the old account
    holding the write-off and the new one its reversal. So, as goods received and invoices
    received, it cannot move once it holds order lines' postings; an account nothing was
    posted to yet still can."""
    with acme.session() as s:
        order(s, "PO-40", ("BOLT", 10, "5.00"))
        receive(s, "PO-40", 1, 10)
    assert acme.cli("settings", "set", "unreceived_invoices", "604500").exit_code == 0  # nothing posted to it yet
    run(acme, "run", "--close-fully", "--date", "2026-06-30")
    result = acme.cli("settings", "set", "uninvoiced_receipts", "604500")
    assert (result.exit_code, result.stderr) == (1, (
        "pledger: cannot move uninvoiced_receipts from 608100 to 604500: 608100 already holds order lines' write-offs, "
        "which an undo gives back to the account it is set to then; change it in a new book or before the first posting\n"))
    sound(acme)


def test_the_two_write_off_accounts_as_one_still_tie_out(acme, tmp_path):
    """With uninvoiced receipts and unreceived invoices set to one account, `check` ties its
    balance per line to both sides of what the close-outs standing and the records explain,
    through close-outs, write-offs on arrival and an undo."""
    assert acme.cli("settings", "set", "unreceived_invoices", "608100").exit_code == 0
    with acme.session() as s:
        order(s, "PO-42", ("BOLT", 10, "5.00"))
        order(s, "PO-43", ("BOLT", 10, "5.00"))
        receive(s, "PO-42", 1, 4)
        invoice(s, "PO-43", 1, 6)
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-42,1,,0", "PO-43,1,0,4"), "--date", "2026-06-30")
    with acme.session() as s:
        receive(s, "PO-42", 1, 6, date=CLOSED_OUT)  # written off as it arrives
        invoice(s, "PO-43", 1, 4, date=CLOSED_OUT)  # likewise
    sound(acme)
    run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    with acme.session() as s:
        assert balance(s, UNINVOICED) == 0
    sound(acme)


@pytest.mark.parametrize("last, first", [
    ("NULL", "order PO-30 line 1: close-out 1 stands on it, and the line names no close-out as its last"),
    ("2", "order PO-30 line 1: names close-out 2 as its last, and the newest standing on it is 1"),
])
def test_a_line_naming_another_close_out_than_the_one_standing_is_reported_by_check(acme, tmp_path, last, first):
    """A line names the newest close-out standing on it, and what a document writes off as it
    arrives is recorded under that one, for its undo to give back. The column is the
    program's to update (no trigger), and `check` did not prove it: cleared by a plain
    UPDATE, the receipt's write-off of 10 (50.00) was recorded under no close-out, the undo
    of close-out 1 left it behind (the line expecting its invoice again, goods received
    holding nothing for the 10 received) and `check` passed before and after."""
    with acme.session() as s:
        order(s, "PO-30", ("BOLT", 10, "5.00"))
        order(s, "PO-31", ("BOLT", 1, "5.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-30,1,,0"), "--date", "2026-06-30")
    run(acme, "run", "--order", "PO-31", "--close-fully", "--date", "2026-06-30")
    sound(acme)
    acme.raw(f"UPDATE order_lines SET last_closeout_number = {last} WHERE order_id = "
             "(SELECT id FROM purchase_orders WHERE number = 'PO-30')")
    result = acme.cli("check")
    assert result.exit_code == 1
    assert result.stderr == f"pledger: check failed: 1 breach; the first: {first}\n"
