"""Rules of DOMAIN.md that no other test held on their own: an undo in a locked period, the
close-out number an undo does not take, the order an undo reopens (as it was when it
closed: a confirmed order stays one that cannot be edited), and input VAT rounded half-up
per invoice and rate (a credit note's away from zero); an invoice of a CSV file taken whole,
whichever of its rows comes first."""

from __future__ import annotations

import datetime as dt
import json

from ledger.check import check_ledger
from ledger.types import AMOUNT_SCALE, from_scaled
from purchase.checks import check_tie_out
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc
from tests.builders import GR, PRICE_DIFF, D, balance, invoice, order, receive
from tests.test_closeout import fingerprint_of, run, sound
from tests.test_purchase_postings import acme  # noqa: F401 (a fixture: supplier ACME, item BOLT)

VAT = "411000"


def _closed_once(acme):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "2.50"))
        order(s, "PO-2", ("BOLT", 4, "1.25"))
        receive(s, "PO-1", 1, 6)
        invoice(s, "PO-2", 1, 3)
    return run(acme, "run", "--close-fully", "--date", "2026-06-30")


def _status(acme, number):
    return acme.raw(f"select status from purchase_orders where number = '{number}'").scalar()


def test_an_undo_dated_in_a_locked_period_is_refused_and_writes_nothing(acme):
    """DOMAIN.md: a locked period takes no postings; a run dated in it is refused with a clear error."""
    _closed_once(acme)
    assert acme.cli("period", "lock", "2026-07").exit_code == 0
    before = fingerprint_of(acme)
    for trial in ([], ["--trial"]):
        result = acme.cli("closeout", "undo", "--number", "1", "--date", "2026-07-01", *trial)
        assert (result.exit_code, result.stdout) == (1, ""), result.output
        assert result.stderr == ("pledger: period 2026-07 is locked: 2026-07-01 takes no postings (unlock it with "
                                 "'pledger period unlock 2026-07' or give --date a day of an open period)\n")
    assert fingerprint_of(acme) == before
    assert acme.cli("period", "unlock", "2026-07").exit_code == 0
    assert run(acme, "undo", "--number", "1", "--date", "2026-07-01")["undo_of"] == 1
    sound(acme)


def test_an_undo_takes_no_close_out_number_and_the_next_run_takes_the_next_one(acme):
    """DOMAIN.md: an undo takes no new close-out number; numbers are gapless, never reused."""
    closed = _closed_once(acme)
    assert closed["closeout"] == 1
    counter = acme.raw("select last_number from closeout_counter").scalar()
    undone = run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert (undone["closeout"], undone["undo_of"]) == (None, 1)
    assert acme.raw("select last_number from closeout_counter").scalar() == counter == 1
    assert acme.raw("select count(*) from closeouts").scalar() == 1
    again = run(acme, "run", "--close-fully", "--date", "2026-07-02")
    assert again["closeout"] == 2  # not 1 again: never reused
    sound(acme)


def test_an_undo_that_reopens_its_lines_reopens_their_orders(acme):
    """A close-out that closes every line of an order closes the order; its undo opens the
    lines again, and with them the order, as its lines now say (received in part: partly
    received; invoiced only, nothing received: ordered)."""
    _closed_once(acme)
    assert (_status(acme, "PO-1"), _status(acme, "PO-2")) == ("closed", "closed")
    run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert (_status(acme, "PO-1"), _status(acme, "PO-2")) == ("partly_received", "ordered")
    with acme.session() as s:
        receive(s, "PO-1", 1, 4, date=dt.date(2026, 7, 2))  # takes documents again
    assert _status(acme, "PO-1") == "received"
    sound(acme)


def test_an_order_reopened_with_nothing_received_goes_back_to_what_it_was_when_it_closed(acme):
    """DOMAIN.md: a confirmed order can no longer be edited. Closed by a close-out and
    reopened by its undo, it is confirmed again (it went back to "ordered", which can be
    edited); one on backorder is on backorder again; one only ordered, ordered."""
    with acme.session() as s:
        for number in ("PO-5", "PO-6", "PO-7"):
            order(s, number, ("BOLT", 4, "1.25"))
            invoice(s, number, 1, 3)  # invoiced, nothing received
    for number, action in (("PO-5", "confirm"), ("PO-6", "backorder")):
        assert acme.cli("po", action, number).exit_code == 0
    run(acme, "run", "--close-fully", "--date", "2026-06-30")
    assert {_status(acme, n) for n in ("PO-5", "PO-6", "PO-7")} == {"closed"}
    trial = run(acme, "undo", "--number", "1", "--date", "2026-07-01", "--trial")
    assert trial["undo_of"] == 1 and _status(acme, "PO-5") == "closed"  # a trial changes nothing
    run(acme, "undo", "--number", "1", "--date", "2026-07-01")
    assert (_status(acme, "PO-5"), _status(acme, "PO-6"), _status(acme, "PO-7")) == ("confirmed", "backorder", "ordered")
    shown = json.loads(acme.cli("po", "show", "PO-5", "--format", "json").stdout)
    assert (shown["status"], shown["editable"]) == ("confirmed", False)
    with acme.session() as s:
        invoice(s, "PO-5", 1, 1)  # invoiced 4 of 4: open only for the receipt
        receive(s, "PO-5", 1, 4, date=dt.date(2026, 7, 2))
    assert _status(acme, "PO-5") == "closed"
    with acme.session() as s:  # a credit note reopens it: something received, so as the lines say
        invoice(s, "PO-5", 1, -1, date=dt.date(2026, 7, 3))
    assert _status(acme, "PO-5") == "received"
    sound(acme)


def test_input_vat_is_rounded_once_per_invoice_and_rate_half_up(acme):
    """Two lines of 0.25 net at 21 %: 0.105 of VAT rounds to 0.11 (each line alone would
    round 0.0525 to 0.05, 0.10 in all). A credit note of the same lines: -0.11, half away
    from zero."""
    with acme.session() as s:
        order(s, "PO-3", ("BOLT", 1, "0.25"), ("BOLT", 1, "0.25"))
        receive(s, "PO-3", 1, 1)
        receive(s, "PO-3", 2, 1)
        poster = DocumentPoster(s, "ann")
        poster.post_invoices([InvoiceDoc("I-1", "S-1", dt.date(2026, 5, 5), [
            DocLine("PO-3", 1, D(1), vat_rate=D(21)), DocLine("PO-3", 2, D(1), vat_rate=D(21))])])
        assert balance(s, VAT) == D("0.11")
        poster.post_invoices([InvoiceDoc("C-1", "S-C1", dt.date(2026, 5, 6), [
            DocLine("PO-3", 1, D(-1), vat_rate=D(21)), DocLine("PO-3", 2, D(-1), vat_rate=D(21))])])
        assert balance(s, VAT) == D("0.00")  # the credit note's VAT: -0.11, not -0.10
        s.commit()
    vat_lines = acme.raw(
        "select e.description, l.debit, l.credit from entry_lines l join entries e on e.id = l.entry_id "
        f"join accounts a on a.id = l.account_id where a.code = '{VAT}' order by e.id").all()
    assert [(d.split(" ")[1], from_scaled(debit, AMOUNT_SCALE), from_scaled(credit, AMOUNT_SCALE))
            for d, debit, credit in vat_lines] == [
        ("I-1", D("0.11"), D("0.00")), ("C-1", D("0.00"), D("0.11"))]
    sound(acme)


def test_an_invoice_at_several_vat_rates_posts_one_input_vat_line_per_rate(acme):
    """docs/accounting.md: input VAT per invoice and rate, one VAT line per rate. Audit of 6
    December 2026: 9.90 at 21 % and 14.93 at 6 % (14.88 + 0.05, 0.8958 rounded once: 0.90)
    were posted as one input VAT line of 2.98, so the journal no longer showed the VAT of
    each rate; a credit line at another rate in the same invoice was netted into it too."""
    with acme.session() as s:
        order(s, "PO-4", ("BOLT", 3, "3.30"), ("BOLT", 12, "1.24"), ("BOLT", 9, "0.0051"), ("BOLT", 2, "1.00"))
        poster = DocumentPoster(s, "ann")
        poster.post_invoices([InvoiceDoc("I-4", "S-4", dt.date(2026, 5, 5), [
            DocLine("PO-4", 1, D(3), vat_rate=D(21)), DocLine("PO-4", 2, D(12), vat_rate=D(6)),
            DocLine("PO-4", 3, D(9), vat_rate=D(6)), DocLine("PO-4", 4, D(2), vat_rate=D(12))])])
        poster.post_invoices([InvoiceDoc("I-5", "S-5", dt.date(2026, 5, 6), [
            DocLine("PO-4", 4, D(-1), vat_rate=D(12)), DocLine("PO-4", 1, D(-1), vat_rate=D(21))])])
        assert balance(s, VAT) == D("2.08") + D("0.90") + D("0.24") - D("0.12") - D("0.69")
        s.commit()
    vat_lines = acme.raw(
        "select e.description, l.debit, l.credit from entry_lines l join entries e on e.id = l.entry_id "
        f"join accounts a on a.id = l.account_id where a.code = '{VAT}' order by e.id, l.line_no").all()
    assert [(d.split(" ")[1], from_scaled(debit, AMOUNT_SCALE), from_scaled(credit, AMOUNT_SCALE))
            for d, debit, credit in vat_lines] == [
        ("I-4", D("0.90"), D("0.00")), ("I-4", D("0.24"), D("0.00")), ("I-4", D("2.08"), D("0.00")),  # 6 %, 12 %, 21 %
        ("I-5", D("0.00"), D("0.12")), ("I-5", D("0.00"), D("0.69"))]  # 12 %: -1.00; 21 %: -3.30
    sound(acme)


def test_a_csv_invoice_correcting_a_price_is_taken_whole_whichever_row_comes_first(acme, tmp_path):
    """DOMAIN.md refuses "a receipt or invoice beyond what the line still expects"; a price
    correction on a line fully invoiced (10 at 26.00 and -10 at 25.00) goes beyond nothing
    taken whole. `import ubl` takes it in either line order (`lines_in_posting_order`, audit
    of 7 December 2026); `import invoices` refused it with the positive row first, as
    over-invoicing, telling the user to raise the order line."""
    with acme.session() as s:
        order(s, "PO-C", ("BOLT", 10, "25.00", 21))
        receive(s, "PO-C", 1, 10)
        invoice(s, "PO-C", 1, 10)
    path = tmp_path / "invoices.csv"
    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "IC-1,SC-1,2026-05-06,PO-C,1,10,26.00,21\nIC-1,SC-1,2026-05-06,PO-C,1,-10,25.00,21\n", encoding="utf-8")
    result = acme.cli("import", "invoices", path)
    assert result.exit_code == 0, result.output
    with acme.session() as s:
        assert balance(s, PRICE_DIFF) == D("10.00")
        assert balance(s, GR) == D("0.00")
        assert check_ledger(s) == [] and check_tie_out(s) == []
    (line,) = json.loads(acme.cli("po", "show", "PO-C", "--format", "json").stdout)["lines"]
    assert (line["invoiced"], line["to_invoice"]) == ("10", "0")
