"""The edges of the reports' dates and sorts (mutation testing, second round).

`--as-of D` holds every entry dated on D itself; a backorder list sorted by date is in
order-date order, not in order-number order. The shop is tests/test_views.py's:

    PO-1  ACME  2026-05-04  1 BOLT   10 x 100.00   received 6 (05-06), invoiced 4 (05-12)
                            2 NUT     5 x   2.50   nothing yet
    PO-2  BETA  2026-05-02  1 BOLT    4 x  90.00   invoiced 4 (05-15), nothing received
                            2 WASHER 100 x  0.333  nothing yet
    PO-3  ACME  2026-06-01  1 WASHER 20 x   0.50   received 20 (06-02), invoiced 20 (06-20)
"""

import csv
import datetime as dt
import io

from ledger.periods import open_year
from ledger.posting import EntrySpec, LineSpec, Poster
from ledger.reports import trial_balance
from purchase.masterdata import OrderData, OrderLineData, create_orders
from purchase.orders import get_order, mark_as_shipped
from purchase.views import backorder_rows, grir_rows
from tests.builders import CREDITORS, D, GR, IR, STOCK, invoice, item, order, receive, supplier
from tests.test_views import MAY, JUNE, shop  # noqa: F401 (the fixture)


def test_grir_as_of_the_day_of_a_posting_holds_it_in_the_lines_and_in_the_ledger(shop):
    with shop.session() as s:
        on_the_day = grir_rows(s, MAY(6))  # R-1 posted on 05-06: GR 600.00
        the_day_before = grir_rows(s, MAY(5))
    assert [(r.order, r.line, r.gr_balance, r.ir_balance, r.since, r.age_days) for r in on_the_day.rows] == [
        ("PO-1", 1, D("600.00"), 0, MAY(6), 0)]
    assert (on_the_day.gr_total, on_the_day.ledger_gr, on_the_day.ties) == (D("600.00"), D("600.00"), True)
    assert (list(the_day_before.rows), the_day_before.ledger_gr, the_day_before.ties) == ([], 0, True)


def test_the_trial_balance_as_of_a_day_holds_that_days_entries(shop):
    with shop.session() as s:
        on_the_day = {b.account: (b.debit, b.credit) for b in trial_balance(s, MAY(6))}
        the_day_before = trial_balance(s, MAY(5))
    assert on_the_day == {STOCK: (D("600.00"), 0), GR: (0, D("600.00"))}
    assert the_day_before == []


def test_backorders_by_date_come_in_order_date_order_and_by_supplier_in_date_order_within_one(shop):
    """PO-2 (05-02) before PO-1 (05-04) by date, though its number sorts after; by supplier
    ACME's PO-1 (05-04) and PO-3 (06-01, nothing left: not listed) before BETA's PO-2."""
    with shop.session() as s:
        by_date = [(r.order, r.line) for r in backorder_rows(s, sort="date").rows]
        order(s, "PO-0", ("NUT", 1, "2.50"), supplier_code="ACME", date=JUNE(5))  # a number before PO-1, a later date
        by_supplier = [(r.order, r.line) for r in backorder_rows(s, sort="supplier").rows]
    assert by_date == [("PO-2", 1), ("PO-2", 2), ("PO-1", 1), ("PO-1", 2)]
    assert by_supplier == [("PO-1", 1), ("PO-1", 2), ("PO-0", 1), ("PO-2", 1), ("PO-2", 2)]


def test_a_shipped_drop_shipment_order_is_no_backorder(shop):
    """DOMAIN.md: drop-shipment orders end at shipped; the goods went to the customer."""
    with shop.session() as s:
        create_orders(s, [OrderData("PO-9", "ACME", MAY(3), [OrderLineData(1, "NUT", D(7), D("2.50"), vat_rate=D(21))],
                                    drop_shipment=True)])
        assert ("PO-9", 1) in [(r.order, r.line) for r in backorder_rows(s, sort="order").rows]
        mark_as_shipped(get_order(s, "PO-9"))
        s.flush()
        assert "PO-9" not in [r.order for r in backorder_rows(s, sort="order").rows]


def test_grir_does_not_tie_when_the_invoices_received_account_holds_what_no_line_explains(shop):
    """An entry on IR without an order line (made around pledger): the lines' IR no longer
    adds up to the ledger's, and the report says so, though GR still ties."""
    with shop.session() as s:
        Poster(s, "ann").post([EntrySpec("MEM", JUNE(30), [LineSpec(IR, debit=D("1.00")), LineSpec(CREDITORS, credit=D("1.00"))],
                                         description="by hand")])
        report = grir_rows(s, today=JUNE(30))
    assert report.ledger_gr == report.gr_total
    assert report.ledger_ir == report.ir_total + D("1.00")
    assert report.ties is False


def test_the_trial_balances_totals_row_adds_up_each_column(shop):
    result = shop.cli("report", "trial-balance", "--as-of", "2026-05-12", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["account", "name", "debit", "credit", "balance"]
    # Dr stock 600 / Cr GR 600; I-1: Dr GR 400, Dr VAT 84 / Cr creditors 484
    assert rows[-1] == ["Total", "", "1084.00", "1084.00", "0.00"]
    assert [r[0] for r in rows[1:-1]] == sorted(r[0] for r in rows[1:-1])


def test_grir_age_after_an_undo_is_that_of_the_balance_the_close_out_took_not_an_older_one(books):
    """docs/accounting.md: the undo gives back the balance with the date it was open from
    before the close-out. A GR balance opened on 05-01 and cleared by an invoice on 05-05 is
    over; the one opened on 05-10, closed out on 05-20 and given back on 05-25 is open
    since 05-10."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "10.00"), date=MAY(1))
        receive(s, "PO-1", 1, 2, date=MAY(1))
        invoice(s, "PO-1", 1, 2, date=MAY(5))
        receive(s, "PO-1", 1, 3, date=MAY(10))
    assert books.cli("closeout", "run", "--close-fully", "--date", "2026-05-20").exit_code == 0
    assert books.cli("closeout", "undo", "--number", "1", "--date", "2026-05-25").exit_code == 0
    with books.session() as s:
        rows = [(r.gr_balance, r.since, r.age_days) for r in grir_rows(s, MAY(31)).rows]
    assert rows == [(D("30.00"), MAY(10), 21)]


def test_grir_age_after_an_undo_of_a_close_out_dated_the_day_its_balance_opened_is_from_that_day(books):
    """A year-end (audit of 7 December 2026): 6 received and 4 invoiced on 31 December, the 2
    left closed out the same day, the goods come after all and the close-out is undone on
    5 January. The undo gives back GR 20.00 open since 31 December: as of 10 January it is
    10 days old, not opened on 5 January (the day's postings netting to zero hid that the
    balance had been open on it)."""
    with books.session() as s:
        open_year(s, 2027)
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "10.00"), date=dt.date(2026, 11, 15))
        receive(s, "PO-1", 1, 6, date=dt.date(2026, 12, 31))
        invoice(s, "PO-1", 1, 4, date=dt.date(2026, 12, 31))
    assert books.cli("closeout", "run", "--close-fully", "--date", "2026-12-31").exit_code == 0
    assert books.cli("closeout", "undo", "--number", "1", "--date", "2027-01-05").exit_code == 0
    with books.session() as s:
        rows = [(r.gr_balance, r.since, r.age_days) for r in grir_rows(s, dt.date(2027, 1, 10)).rows]
        today = [(r.gr_balance, r.since) for r in grir_rows(s, today=dt.date(2027, 1, 10)).rows]
    assert rows == [(D("20.00"), dt.date(2026, 12, 31), 10)]
    assert today == [(D("20.00"), dt.date(2026, 12, 31))]


def test_the_grir_workbook_as_of_a_day_names_its_sheet_with_the_whole_date(shop, tmp_path):
    """A worksheet's name holds 31 characters: "GR/IR sub-balances as of 2026-06-30" was cut
    to "GR IR sub-balances as of 2026-0", a tab that names no day (audit of 6 December 2026)."""
    import openpyxl

    path = tmp_path / "grir.xlsx"
    result = shop.cli("report", "grir", "--as-of", "2026-06-30", "-o", path)
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert sheet.title == "GR IR as of 2026-06-30"
    assert sheet["A1"].value == "GR/IR sub-balances as of 2026-06-30"  # the title in the sheet stays whole
    path = tmp_path / "today.xlsx"
    assert shop.cli("report", "grir", "-o", path).exit_code == 0
    assert openpyxl.load_workbook(path).worksheets[0].title == "GR IR sub-balances"  # as it was


def _ledger_per_line(s, as_of):
    """(order, line) -> (GR credit, IR debit) summed from the journal lines dated on or before
    `as_of`, one by one: what the ledger holds for each order line, read apart from the report."""
    from sqlalchemy import select
    from ledger.models import Account, Entry, EntryLine
    from purchase.models import OrderLine, PurchaseOrder

    held: dict = {}
    for number, line, code, debit, credit in s.execute(
            select(PurchaseOrder.number, OrderLine.line_no, Account.code, EntryLine.debit, EntryLine.credit)
            .join(Entry, Entry.id == EntryLine.entry_id).join(Account, Account.id == EntryLine.account_id)
            .join(OrderLine, OrderLine.id == EntryLine.order_line_id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .where(Entry.entry_date <= as_of, Account.code.in_([GR, IR]))):
        gr, ir = held.get((number, line), (D(0), D(0)))
        held[(number, line)] = (gr + credit - debit, ir) if code == GR else (gr, ir + debit - credit)
    return {key: sub for key, sub in held.items() if sub != (D(0), D(0))}


def test_grir_as_of_any_day_ties_line_by_line_to_the_ledger_with_documents_dated_before_ones_posted_earlier(books):
    """Documents posted in one order and dated in another (audit of 7 December 2026):
    PO-1 received 10 on 05-10, then invoiced 10 dated 05-05; PO-2 received 10 on 05-10 and
    invoiced on 05-11, then 3 returned dated 05-09 and 3 credited dated 05-06; PO-3 received
    6 on 05-10, invoiced 4 dated 05-05 and closed out fully on 05-08, between the two. As of
    every day of May each line's GR and IR in `report grir` are what the ledger's GR and IR
    accounts hold for it, and the lines add up to `report trial-balance` of both accounts.
    (As of 05-05..05-09 PO-1's goods received is a debit, -100.00: the invoice cleared GR
    when it was posted, the receipt being in; the ledger says so, and the report with it.)"""
    with books.session() as s:
        supplier(s)
        item(s)
        for number in ("PO-1", "PO-2", "PO-3"):
            order(s, number, ("BOLT", 10, "10.00"), date=MAY(1))
        receive(s, "PO-1", 1, 10, date=MAY(10))
        invoice(s, "PO-1", 1, 10, date=MAY(5))
        receive(s, "PO-2", 1, 10, date=MAY(10))
        invoice(s, "PO-2", 1, 10, date=MAY(11))
        receive(s, "PO-2", 1, -3, date=MAY(9))
        invoice(s, "PO-2", 1, -3, date=MAY(6))
        receive(s, "PO-3", 1, 6, date=MAY(10))
        invoice(s, "PO-3", 1, 4, date=MAY(5))
    assert books.cli("closeout", "run", "--order", "PO-3", "--close-fully", "--date", "2026-05-08").exit_code == 0
    with books.session() as s:
        for day in range(1, 32):
            report = grir_rows(s, MAY(day))
            shown = {(r.order, r.line): (r.gr_balance, r.ir_balance) for r in report.rows}
            assert shown == _ledger_per_line(s, MAY(day)), day
            ledger = {b.account: b.debit - b.credit for b in trial_balance(s, MAY(day))}
            assert (report.gr_total, report.ir_total) == (-ledger.get(GR, D(0)), ledger.get(IR, D(0))), day
            assert report.ties, day
        assert {(r.order, r.gr_balance, r.ir_balance) for r in grir_rows(s, MAY(7)).rows} == {
            ("PO-1", D("-100.00"), 0), ("PO-2", 0, D("-30.00")), ("PO-3", D("-40.00"), 0)}
