"""Edges of DOMAIN.md's rules that the rest of the suite let through: each test here was
written against a hand-made mutant of the accounting core (a term dropped, a comparison
moved by one, a rounding changed) that every other test passed, and fails on it.

Figures are worked out by hand in each test's docstring, from DOMAIN.md alone."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ledger.posting import EntrySpec, LineSpec, Poster
from ledger.types import AMOUNT_SCALE, from_scaled
from purchase.documents import DocLine, DocumentError, DocumentPoster, InvoiceDoc
from tests.builders import CREDITORS, D, GR, IR, PRICE_DIFF, UNRECEIVED, VAT, balance, invoice, order, receive
from tests.test_closeout import acme, edits_file, run, sound  # noqa: F401 (acme: a fixture)


def _status(books, number):
    return books.raw(f"select status from purchase_orders where number = '{number}'").scalar()


def test_a_line_that_expects_only_invoices_is_open_and_keeps_its_order_from_closing(acme, tmp_path):
    """DOMAIN.md: a line is open while it expects anything. 10 ordered at 2.50, 5 received,
    5 invoiced; a close-out sets to receive 0 and gives to invoice 5 as it was: the line
    expects nothing more to come but 5 to invoice, with GR = IR = 0. It is open (the order is
    received, not closed, and a close-out may still take it); the invoice of the 5 is written
    off as it arrives (Dr unreceived invoices 12.50) and only then is the order closed."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "2.50"))
        receive(s, "PO-1", 1, 5)
        invoice(s, "PO-1", 1, 5)
    report = run(acme, "run", "--edits", edits_file(tmp_path, "PO-1,1,0,5"), "--date", "2026-06-30")
    assert report["closeout"] == 1 and report["entries"] == []  # nothing matched is written off
    assert _status(acme, "PO-1") == "received"
    shown = json.loads(acme.cli("po", "show", "PO-1", "--format", "json").stdout)
    (line,) = shown["lines"]
    assert (D(line["to_receive"]), D(line["to_invoice"])) == (D(0), D(5))
    assert acme.cli("po", "list", "--open", "--format", "json").stdout.count('"PO-1"') == 1
    with acme.session() as s:
        invoice(s, "PO-1", 1, 5, date=dt.date(2026, 6, 30))  # on the close-out's date: it writes off under it
        assert (balance(s, GR), balance(s, IR), balance(s, UNRECEIVED)) == (D(0), D(0), D("12.50"))
    assert _status(acme, "PO-1") == "closed"
    sound(acme)


def test_an_edit_raising_what_a_line_expects_by_less_than_one_unit_is_refused(acme, tmp_path):
    """DOMAIN.md: a close-out never raises to receive or to invoice. 8 left to receive (10
    ordered, 2 received): 8.5 raises it by half a unit and is refused as 9 is; so is a to
    invoice of 10.25 against 10. Nothing is written, no number taken."""
    with acme.session() as s:
        order(s, "PO-2", ("BOLT", 10, "10.00"))
        receive(s, "PO-2", 1, 2)
    result = acme.cli("closeout", "run", "--edits", edits_file(tmp_path, "PO-2,1,8.5,"), "--date", "2026-06-30")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "order PO-2 line 1: to_receive 8.5 would raise it from 8; a close-out only lowers" in result.stderr
    result = acme.cli("closeout", "run", "--edits", edits_file(tmp_path, "PO-2,1,8,10.25"), "--date", "2026-06-30")
    assert result.exit_code == 1
    assert "order PO-2 line 1: to_invoice 10.25 would raise it from 10; a close-out only lowers" in result.stderr
    assert acme.raw("select count(*) from closeouts").scalar() == 0
    sound(acme)


def test_an_undo_records_and_shows_the_date_it_posted_at_not_the_close_outs(acme):
    """DOMAIN.md: the undo is dated at the undo date and marks the close-out undone; a close-out
    of 30 June undone on 15 July says 'undone on 2026-07-15' (list, and the refusal of a
    second undo), and its entries carry that date."""
    with acme.session() as s:
        order(s, "PO-3", ("BOLT", 4, "5.00"))
        receive(s, "PO-3", 1, 1)
    run(acme, "run", "--close-fully", "--date", "2026-06-30")
    undone = run(acme, "undo", "--number", "1", "--date", "2026-07-15")
    assert {e["date"] for e in undone["entries"]} == {"2026-07-15"}
    listed = json.loads(acme.cli("closeout", "list", "--format", "json").stdout)
    assert [(c["closeout"], c["undone_by"], c["undo_date"]) for c in listed] == [(1, "ann", "2026-07-15")]
    again = acme.cli("closeout", "undo", "--number", "1", "--date", "2026-07-16")
    assert again.exit_code == 1
    # and, as the refusal of a range all undone does, that nothing is left to do, and where to read it
    # (audit of 7 December 2026: it said only who undid it and when)
    assert again.stderr == ("pledger: close-out 1 was already undone by ann on 2026-07-15: nothing to undo "
                            "(see 'pledger closeout show 1')\n")


def test_edits_over_many_chunks_close_every_edited_line_once(acme, tmp_path, monkeypatch):
    """Edited lines are read a part of the orders at a time (`CHUNK // 10` orders, here 2):
    five orders edited in one file close five lines, each once, at 4 x 2.50 = 10.00 apiece,
    whatever the parts' boundaries."""
    import matching.closeout as closeout_module

    monkeypatch.setattr(closeout_module, "CHUNK", 20)
    with acme.session() as s:
        for n in range(1, 6):
            order(s, f"PO-E{n}", ("BOLT", 10, "2.50"))
            receive(s, f"PO-E{n}", 1, 4)
    edits = edits_file(tmp_path, *(f"PO-E{n},1,0,0" for n in range(1, 6)))
    report = run(acme, "run", "--edits", edits, "--date", "2026-06-30")
    assert sorted((l["order"], l["line"]) for l in report["lines"]) == [(f"PO-E{n}", 1) for n in range(1, 6)]
    assert sorted(e["lines"][0]["order"] for e in report["entries"]) == [f"PO-E{n}" for n in range(1, 6)]
    with acme.session() as s:
        assert balance(s, GR) == D(0)
    sound(acme)


def test_documents_are_held_to_what_a_line_expects_to_the_last_millionth(acme):
    """A receipt or invoice beyond what the line still expects is refused, and a return or
    credit note below what close-outs wrote off, at the exact boundary: 10 ordered at 1.00,
    exactly 10 may be received and invoiced, 10.000001 may not. With 4 invoiced and the
    line closed fully (6 received, never invoiced, written off), a return may bring received
    down to exactly 6, not to 5.999999; the mirror holds for a credit note against invoices
    written off as never received."""
    with acme.session() as s:
        order(s, "PO-B", ("BOLT", 10, "1.00"))
        order(s, "PO-C", ("BOLT", 10, "1.00"))
    for kind, build in (("receipt", receive), ("invoice", invoice)):
        with acme.session() as s, pytest.raises(DocumentError, match="the line still expects 10 to"):
            build(s, "PO-B", 1, D("10.000001"))
        with acme.session() as s:
            build(s, "PO-B", 1, 10)
    with acme.session() as s:
        receive(s, "PO-C", 1, 10)
        invoice(s, "PO-C", 1, 4)
    run(acme, "run", "--order", "PO-C", "--close-fully", "--date", "2026-06-30")
    with acme.session() as s, pytest.raises(DocumentError, match="received would become 5.999999, below the 6 units"):
        receive(s, "PO-C", 1, D("-4.000001"))
    with acme.session() as s:
        receive(s, "PO-C", 1, -4)
    with acme.session() as s:
        order(s, "PO-D", ("BOLT", 10, "1.00"))
        invoice(s, "PO-D", 1, 10)
        receive(s, "PO-D", 1, 4)
    run(acme, "run", "--order", "PO-D", "--close-fully", "--date", "2026-06-30")
    with acme.session() as s, pytest.raises(DocumentError, match="invoiced would become 5.999999, below the 6 units"):
        invoice(s, "PO-D", 1, D("-4.000001"))
    with acme.session() as s:
        invoice(s, "PO-D", 1, -4)
    sound(acme)


def _check(books):
    result = books.cli("check")
    return result.exit_code, result.output


def test_check_ties_out_gr_and_ir_kept_as_one_account_with_balances_open(acme):
    """DOMAIN.md: GR and IR may be one GR/IR clearing account, and everything must still hold.
    10 at 100.00, 6 received, 4 invoiced (at another order's line, 3 invoiced, none
    received): the one account holds 200.00 credit for PO-G (600.00 received less 400.00
    invoiced) and 300.00 debit for PO-H, 100.00 debit in all, and `check` proves it line by
    line and in total."""
    assert acme.cli("settings", "set", "invoices_received", GR).exit_code == 0
    with acme.session() as s:
        order(s, "PO-G", ("BOLT", 10, "100.00"))
        order(s, "PO-H", ("BOLT", 5, "100.00"))
        receive(s, "PO-G", 1, 6)
        invoice(s, "PO-G", 1, 4)
        invoice(s, "PO-H", 1, 3)
        assert balance(s, GR) == D("100.00")
    assert _check(acme)[0] == 0
    sound(acme)


def test_check_names_a_negative_to_receive_when_the_ordered_quantity_was_edited_below_what_came(acme):
    """An ordered quantity lowered behind the program's back below what was received (4
    received of 10, the 10 made 3.5) moves no balance, so no tie-out shows it: `check`
    says to receive is negative, by half a unit."""
    with acme.session() as s:
        order(s, "PO-Q", ("BOLT", 10, "2.00"))
        receive(s, "PO-Q", 1, 4)
    acme.raw("update order_lines set quantity = 3500000")
    code, output = _check(acme)
    assert code == 1 and "order PO-Q line 1: to receive is negative (-0.5" in output, output


def test_check_finds_an_entry_on_the_interim_accounts_that_names_no_order_line(acme):
    """DOMAIN.md rule 5: the ledger balance of GR and of IR equals the sum of the lines'
    sub-balances. A memorial entry put on the invoices-received account without an order
    line (Dr IR 5.00 / Cr creditors 5.00) is in no line's sub-balance: `check` says the
    account holds 5.00 more than the lines; the same on goods received."""
    with acme.session() as s:
        order(s, "PO-M", ("BOLT", 2, "10.00"))
        receive(s, "PO-M", 1, 1)
        invoice(s, "PO-M", 1, 2)
    sound(acme)
    for account, shown in ((IR, "invoices-received account 499100 holds 15.00 (debit), the lines hold 10.00"),
                           (GR, "goods-received account 444000 holds -5.00 (credit), the lines hold 0.00")):
        with acme.session() as s:
            Poster(s, "ann").post([EntrySpec("MEM", dt.date(2026, 6, 30), [
                LineSpec(account, debit=D("5.00")), LineSpec("440000", credit=D("5.00"))], description="by hand")])
        code, output = _check(acme)
        assert code == 1 and shown in output, output



def test_an_order_is_received_only_when_every_line_has_all_its_goods(acme, tmp_path):
    """Order statuses over two lines: line 1 received in full (4 of 4), line 2 in part (1 of
    3) leaves the order partly received, not received; on an order on backorder, a close-out
    that stops the goods of line 1 only (to receive 0) leaves it on backorder, as line 2 still
    expects its 3, not confirmed."""
    with acme.session() as s:
        order(s, "PO-S", ("BOLT", 4, "1.00"), ("BOLT", 3, "1.00"))
        order(s, "PO-T", ("BOLT", 4, "1.00"), ("BOLT", 3, "1.00"))
        receive(s, "PO-S", 1, 4)
        receive(s, "PO-S", 2, 1)
    assert _status(acme, "PO-S") == "partly_received"
    assert acme.cli("po", "backorder", "PO-T").exit_code == 0
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-T,1,0,0"), "--date", "2026-06-30")
    assert _status(acme, "PO-T") == "backorder"
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-T,2,0,0", name="e2.csv"), "--date", "2026-06-30")
    assert _status(acme, "PO-T") == "closed"
    sound(acme)


def test_an_invoice_whose_price_differences_on_one_line_cancel_out_posts_no_line_for_them(acme):
    """An order line of 4 at 2.50, received; the supplier invoices it in two lines, 2 at
    3.00 and 2 at 2.00: price differences +1.00 and -1.00 on the same order line net to
    nothing, and the entry has no line for them (DOMAIN.md: no entry may contain a line
    that nets to nothing): Dr GR 10.00, Dr input VAT 2.10, Cr creditors 12.10."""
    with acme.session() as s:
        order(s, "PO-P", ("BOLT", 4, "2.50"))
        receive(s, "PO-P", 1, 4)
        DocumentPoster(s, "ann").post_invoices([InvoiceDoc("I-P", "S-P", dt.date(2026, 5, 5), [
            DocLine("PO-P", 1, D(2), unit_price=D("3.00")), DocLine("PO-P", 1, D(2), unit_price=D("2.00"))])])
    lines = acme.raw(
        "select a.code, l.debit, l.credit from entry_lines l join accounts a on a.id = l.account_id "
        "join entries e on e.id = l.entry_id where e.description like 'invoice I-P%' order by a.code").all()
    assert sorted((code, from_scaled(d, AMOUNT_SCALE), from_scaled(c, AMOUNT_SCALE)) for code, d, c in lines) == sorted([
        (GR, D("10.00"), D(0)), (VAT, D("2.10"), D(0)), (CREDITORS, D(0), D("12.10"))])
    assert PRICE_DIFF not in {code for code, _, _ in lines}
    sound(acme)
