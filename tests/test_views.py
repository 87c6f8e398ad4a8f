"""Looking at orders as data: one order, the order list, GR/IR with its age, backorders.

The shop used throughout (hand-checked; prices in EUR):

    PO-1  ACME  2026-05-04  1 BOLT   10 x 100.00   received 6 (05-06), invoiced 4 (05-12)
                            2 NUT     5 x   2.50   nothing yet
    PO-2  BETA  2026-05-02  1 BOLT    4 x  90.00   invoiced 4 (05-15), nothing received
                            2 WASHER 100 x  0.333  nothing yet
    PO-3  ACME  2026-06-01  1 WASHER 20 x   0.50   received 20 (06-02), invoiced 20 (06-20)

    GR/IR today: PO-1/1 GR 600.00 - 400.00 = 200.00 since 05-06; PO-2/1 IR 360.00 since 05-15.
"""

import datetime as dt

import pytest

from ledger.reports import account_balance
from matching.models import Closeout, CloseoutLine
from matching.order_view import order_view
from purchase.orders import can_edit, get_order
from purchase.settings import set_setting
from purchase.views import backorder_rows, grir_rows, list_orders, order_lines_view
from tests.builders import GR, IR, D, invoice, item, order, receive, supplier

MAY = lambda day: dt.date(2026, 5, day)  # noqa: E731
JUNE = lambda day: dt.date(2026, 6, day)  # noqa: E731


def build_shop(s):
    supplier(s, "ACME", "Acme NV")
    supplier(s, "BETA", "Beta BV")
    item(s, "BOLT", description="Bolt M8")
    item(s, "NUT", description="Nut M8")
    item(s, "WASHER", description="Washer M8")
    order(s, "PO-1", ("BOLT", 10, "100.00"), ("NUT", 5, "2.50"), supplier_code="ACME", date=MAY(4))
    order(s, "PO-2", ("BOLT", 4, "90.00"), ("WASHER", 100, "0.333"), supplier_code="BETA", date=MAY(2))
    order(s, "PO-3", ("WASHER", 20, "0.50"), supplier_code="ACME", date=JUNE(1))
    receive(s, "PO-1", 1, 6, date=MAY(6), number="R-1")
    invoice(s, "PO-1", 1, 4, date=MAY(12), number="I-1")
    invoice(s, "PO-2", 1, 4, date=MAY(15), number="I-2")
    receive(s, "PO-3", 1, 20, date=JUNE(2), number="R-3")
    invoice(s, "PO-3", 1, 20, date=JUNE(20), number="I-3")


@pytest.fixture
def shop(books):
    with books.session() as s:
        build_shop(s)
    return books


# -- one order -----------------------------------------------------------------------------


def test_an_order_with_a_partly_received_and_invoiced_line(shop):
    with shop.session() as s:
        view = order_lines_view(s, "PO-1")
    head = view.header
    assert (head.number, head.supplier, head.supplier_name, head.order_date) == ("PO-1", "ACME", "Acme NV", MAY(4))
    assert head.status == "partly_received"
    assert head.actions == ("backorder",)
    bolt, nut = view.lines
    assert (bolt.line, bolt.item, bolt.description) == (1, "BOLT", "Bolt M8")
    assert (bolt.ordered, bolt.received, bolt.invoiced) == (10, 6, 4)
    assert (bolt.to_receive, bolt.to_invoice) == (4, 6)
    assert str(bolt.gr_balance) == "200.00"  # value(6) - value(4), a credit
    assert bolt.ir_balance == 0
    assert [(r.number, r.date, r.quantity) for r in bolt.receipts] == [("R-1", MAY(6), 6)]
    assert [(i.number, i.supplier_invoice, i.date, i.quantity, str(i.amount)) for i in bolt.invoices] == [
        ("I-1", "S-I-1", MAY(12), 4, "400.00")
    ]
    assert (nut.to_receive, nut.to_invoice, nut.receipts, nut.invoices) == (5, 5, (), ())


def test_only_a_new_or_ordered_order_with_nothing_booked_on_it_is_editable(shop):
    with shop.session() as s:
        order(s, "PO-4", ("NUT", 8, "2.50"), supplier_code="BETA", date=JUNE(1))
        po = get_order(s, "PO-4")
        assert order_lines_view(s, "PO-4").header.editable is True  # ordered, nothing booked
        po.status = "confirmed"
        s.flush()
        assert can_edit(po) == "a confirmed order can no longer be edited"
        assert order_lines_view(s, "PO-4").header.editable is False
        # ordered, and invoiced: it was shown "editable" with an invoice of 360.00 booked on it
        two = get_order(s, "PO-2")
        assert two.status == "ordered" and can_edit(two) == "receipts or invoices are booked on it"
        assert order_lines_view(s, "PO-2").header.editable is False
        # ordered, credited back to nothing: the documents stand
        invoice(s, "PO-2", 1, -4, date=MAY(16), number="C-2")
        assert can_edit(get_order(s, "PO-2")) == "receipts or invoices are booked on it"


def test_an_ordered_order_a_close_out_stands_on_is_not_editable(shop, tmp_path):
    with shop.session() as s:
        order(s, "PO-4", ("NUT", 8, "2.50"), supplier_code="BETA", date=JUNE(1))
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-4,1,5,\n")  # 3 will not come
    result = shop.cli("closeout", "run", "--order", "PO-4", "--edits", edits, "--date", "2026-06-30")
    assert result.exit_code == 0, result.output
    with shop.session() as s:
        assert get_order(s, "PO-4").status == "ordered"
    with shop.session() as s:
        assert can_edit(get_order(s, "PO-4")) == "close-out 1 stands on it"
    assert shop.cli("closeout", "undo", "--number", "1", "--date", "2026-06-30").exit_code == 0
    with shop.session() as s:
        po = get_order(s, "PO-4")
        assert po.status == "ordered" and can_edit(po) is None


def test_order_view_without_closeouts_has_none(shop):
    with shop.session() as s:
        view = order_view(s, "PO-1")
    assert [view.closeouts_of(l) for l in view.lines] == [(), ()]


def test_order_view_shows_the_closeouts_that_touched_a_line(shop):
    with shop.session() as s:
        bolt = get_order(s, "PO-1").lines[0]
        first = Closeout(number=7, closeout_date=JUNE(30), user_name="ann", run_at=dt.datetime(2026, 6, 30, 9, 0),
                         undone_by="bob", undone_at=dt.datetime(2026, 7, 1, 9, 0), undo_date=dt.date(2026, 7, 1))
        second = Closeout(number=8, closeout_date=dt.date(2026, 7, 2), user_name="ann", run_at=dt.datetime(2026, 7, 2, 9, 0))
        s.add_all([first, second])
        s.flush()
        for closeout in (first, second):
            s.add(CloseoutLine(closeout_id=closeout.id, order_line_id=bolt.id,
                               to_receive_before=D(4), to_receive_after=D(0), to_invoice_before=D(6), to_invoice_after=D(2),
                               uninvoiced_units=D(0), unreceived_units=D(0), uninvoiced_amount=D(0), unreceived_amount=D(0)))
        s.flush()
        view = order_view(s, "PO-1")
    bolt_view, nut_view = view.lines
    refs = view.closeouts_of(bolt_view)
    assert [(c.number, c.date, c.user, c.undone, c.undo_date) for c in refs] == [
        (7, JUNE(30), "ann", True, dt.date(2026, 7, 1)),
        (8, dt.date(2026, 7, 2), "ann", False, None),
    ]
    assert (refs[0].to_receive_before, refs[0].to_receive_after, refs[0].to_invoice_before, refs[0].to_invoice_after) == (4, 0, 6, 2)
    assert view.closeouts_of(nut_view) == ()


# -- the order list --------------------------------------------------------------------------


def test_list_orders_with_counts_and_filters(shop):
    with shop.session() as s:
        every = list_orders(s)
        assert [(o.number, o.supplier, o.status, o.lines, o.open_lines, str(o.amount)) for o in every] == [
            ("PO-1", "ACME", "partly_received", 2, 2, "1012.50"),
            ("PO-2", "BETA", "ordered", 2, 2, "393.30"),
            ("PO-3", "ACME", "closed", 1, 0, "10.00"),
        ]
        assert [o.number for o in list_orders(s, supplier=("ACME", "ACME"))] == ["PO-1", "PO-3"]
        assert [o.number for o in list_orders(s, supplier=("B", None))] == ["PO-2"]
        assert [o.number for o in list_orders(s, order_date=(MAY(3), JUNE(1)))] == ["PO-1", "PO-3"]
        assert [o.number for o in list_orders(s, order_date=(None, MAY(3)))] == ["PO-2"]
        assert [o.number for o in list_orders(s, status="closed")] == ["PO-3"]
        assert [o.number for o in list_orders(s, open_only=True)] == ["PO-1", "PO-2"]
        assert [o.number for o in list_orders(s, supplier=("ACME", "ACME"), open_only=True)] == ["PO-1"]


# -- GR/IR ---------------------------------------------------------------------------------------


def test_grir_today_from_the_line_states_ties_to_the_ledger(shop):
    with shop.session() as s:
        report = grir_rows(s, today=JUNE(30))
        assert [(r.supplier, r.order, r.line, r.item, str(r.gr_balance), str(r.ir_balance), r.since, r.age_days)
                for r in report.rows] == [
            ("ACME", "PO-1", 1, "BOLT", "200.00", "0.00", MAY(6), 55),
            ("BETA", "PO-2", 1, "BOLT", "0.00", "360.00", MAY(15), 46),
        ]
        assert (str(report.gr_total), str(report.ir_total)) == ("200.00", "360.00")
        assert report.ledger_gr == -account_balance(s, GR) == D("200.00")
        assert report.ledger_ir == account_balance(s, IR) == D("360.00")
        assert report.ties


def test_grir_as_of_past_dates_from_the_ledger(shop):
    with shop.session() as s:
        early = grir_rows(s, MAY(10))
        assert [(r.order, r.line, str(r.gr_balance), str(r.ir_balance), r.since, r.age_days) for r in early.rows] == [
            ("PO-1", 1, "600.00", "0.00", MAY(6), 4),
        ]
        assert (early.gr_total, early.ir_total) == (D("600.00"), D(0))
        assert early.ties and early.ledger_gr == -account_balance(s, GR, MAY(10))

        mid_june = grir_rows(s, JUNE(10))
        assert [(r.order, str(r.gr_balance), str(r.ir_balance)) for r in mid_june.rows] == [
            ("PO-1", "200.00", "0.00"), ("PO-3", "10.00", "0.00"), ("PO-2", "0.00", "360.00"),
        ]
        assert mid_june.ties and (mid_june.gr_total, mid_june.ir_total) == (D("210.00"), D("360.00"))

        before_anything = grir_rows(s, MAY(1))
        assert list(before_anything.rows) == [] and before_anything.ties


def test_grir_from_the_ledger_and_from_the_states_agree_today(shop):
    with shop.session() as s:
        from_states = grir_rows(s, today=dt.date(2026, 12, 31))
        from_ledger = grir_rows(s, dt.date(2026, 12, 31))
    assert list(from_states.rows) == list(from_ledger.rows)
    assert (from_states.gr_total, from_states.ir_total) == (from_ledger.gr_total, from_ledger.ir_total)


def test_grir_age_restarts_when_a_line_was_cleared_in_between(books):
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-7", ("BOLT", 3, "10.00"))
        receive(s, "PO-7", 1, 1, date=MAY(4))  # GR 10.00 from May 4th
        invoice(s, "PO-7", 1, 1, date=MAY(10))  # cleared
        receive(s, "PO-7", 1, 2, date=MAY(20))  # GR 20.00 again, from May 20th
        (row,) = grir_rows(s, MAY(31)).rows
        assert (str(row.gr_balance), row.since, row.age_days) == ("20.00", MAY(20), 11)
        (row,) = grir_rows(s, MAY(5)).rows
        assert (str(row.gr_balance), row.since, row.age_days) == ("10.00", MAY(4), 1)
        assert list(grir_rows(s, MAY(12)).rows) == []


def test_grir_age_survives_a_close_out_that_was_undone(books):
    """A close-out clears the line, its undo gives the balance back: with its age, not as a
    balance new on the undo's date (an auditor would read stale GR as fresh). A balance that
    a document cleared and a later one opened still starts again (the test above)."""
    from matching.closeout import UndoSelection, run_closeout, undo_closeouts
    from matching.selection import Selection

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-7", ("BOLT", 3, "10.00"))
        receive(s, "PO-7", 1, 1, date=MAY(4))  # GR 10.00 from May 4th
        run_closeout(s, Selection(order=("PO-7", "PO-7")), user="ann", date=JUNE(30), close_fully=True)
        undo_closeouts(s, UndoSelection(numbers=(1, 1)), user="ann", date=dt.date(2026, 7, 15))
        (row,) = grir_rows(s, dt.date(2026, 7, 31)).rows
        assert (str(row.gr_balance), row.since, row.age_days) == ("10.00", MAY(4), 88)
        (row,) = grir_rows(s, today=dt.date(2026, 7, 31)).rows  # from the states, the age from the ledger
        assert (str(row.gr_balance), row.since) == ("10.00", MAY(4))
        assert list(grir_rows(s, dt.date(2026, 7, 1)).rows) == []  # between the close-out and its undo: cleared
        receive(s, "PO-7", 1, 2, date=dt.date(2026, 8, 3))  # more on the same balance: it keeps its age
        (row,) = grir_rows(s, dt.date(2026, 8, 31)).rows
        assert (str(row.gr_balance), row.since) == ("30.00", MAY(4))


def test_grir_with_one_gr_ir_clearing_account(books):
    with books.session() as s:
        set_setting(s, "invoices_received", GR)
        build_shop(s)
        today = grir_rows(s, today=JUNE(30))
        assert today.one_account and today.ties
        assert [(r.order, str(r.gr_balance), str(r.ir_balance)) for r in today.rows] == [
            ("PO-1", "200.00", "0.00"), ("PO-2", "0.00", "360.00"),
        ]
        assert account_balance(s, GR) == D("160.00")  # 360.00 debit - 200.00 credit
        past = grir_rows(s, JUNE(30))
        assert list(past.rows) == list(today.rows)


# -- backorders ------------------------------------------------------------------------------------


def backorder_keys(report):
    return [(r.order, r.line) for r in report.rows]


def test_backorder_rows_and_their_amounts(shop):
    with shop.session() as s:
        report = backorder_rows(s)
    assert [(r.supplier, r.order, r.line, r.order_date, r.item, r.unit_price, r.ordered, r.received,
             r.in_backorder, str(r.backorder_amount)) for r in report.rows] == [
        ("ACME", "PO-1", 1, MAY(4), "BOLT", 100, 10, 6, 4, "400.00"),
        ("BETA", "PO-2", 1, MAY(2), "BOLT", 90, 4, 0, 4, "360.00"),
        ("ACME", "PO-1", 2, MAY(4), "NUT", D("2.5"), 5, 0, 5, "12.50"),
        ("BETA", "PO-2", 2, MAY(2), "WASHER", D("0.333"), 100, 0, 100, "33.30"),
    ]
    assert (len(report.rows), report.currencies, str(report.amount_total), report.expected_dates) == (
        4, {"EUR"}, "805.80", False)


def test_backorders_know_whether_a_line_has_an_expected_date(shop):
    with shop.session() as s:
        get_order(s, "PO-2").lines[1].expected_date = JUNE(15)
        s.flush()
        assert backorder_rows(s).expected_dates
        assert not backorder_rows(s, supplier=("ACME", "ACME")).expected_dates
        nothing = backorder_rows(s, supplier=("ACME", "ACME"), item=("WASHER", "WASHER"))
        assert (len(nothing.rows), nothing.currencies, nothing.amount_total, nothing.expected_dates) == (0, frozenset(), 0, False)


def test_backorder_sorts(shop):
    with shop.session() as s:
        assert backorder_keys(backorder_rows(s, sort="supplier")) == [("PO-1", 1), ("PO-1", 2), ("PO-2", 1), ("PO-2", 2)]
        assert backorder_keys(backorder_rows(s, sort="order")) == [("PO-1", 1), ("PO-1", 2), ("PO-2", 1), ("PO-2", 2)]
        assert backorder_keys(backorder_rows(s, sort="date")) == [("PO-2", 1), ("PO-2", 2), ("PO-1", 1), ("PO-1", 2)]
        assert backorder_keys(backorder_rows(s, sort="amount")) == [("PO-1", 1), ("PO-2", 1), ("PO-2", 2), ("PO-1", 2)]


def test_backorder_filters(shop):
    with shop.session() as s:
        assert backorder_keys(backorder_rows(s, supplier=("BETA", "BETA"))) == [("PO-2", 1), ("PO-2", 2)]
        assert backorder_keys(backorder_rows(s, item=("BOLT", "NUT"))) == [("PO-1", 1), ("PO-2", 1), ("PO-1", 2)]
        assert backorder_keys(backorder_rows(s, item=("W", None))) == [("PO-2", 2)]
        assert backorder_keys(backorder_rows(s, order_date=(MAY(3), None))) == [("PO-1", 1), ("PO-1", 2)]
        assert list(backorder_rows(s, supplier=("ACME", "ACME"), item=("WASHER", "WASHER")).rows) == []


def test_cancelled_and_new_orders_are_not_in_backorder(shop):
    with shop.session() as s:
        get_order(s, "PO-2").status = "cancelled"
        s.flush()
        assert backorder_keys(backorder_rows(s)) == [("PO-1", 1), ("PO-1", 2)]


def test_grir_age_of_a_balance_posted_after_today_is_zero_not_negative(books):
    """Without --as-of the report holds every posting, a receipt dated ahead of today too:
    that balance has been open no day yet."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-8", ("BOLT", 3, "10.00"))
        receive(s, "PO-8", 1, 2, date=MAY(4))
        receive(s, "PO-8", 1, 1, date=JUNE(30))  # ahead of the report's today below
        (row,) = grir_rows(s, today=JUNE(1)).rows
        assert (str(row.gr_balance), row.since, row.age_days) == ("30.00", MAY(4), 28)
        order(s, "PO-9", ("BOLT", 3, "10.00"))
        receive(s, "PO-9", 1, 1, date=JUNE(30))
        rows = {r.order: r for r in grir_rows(s, today=JUNE(1)).rows}
        assert (str(rows["PO-9"].gr_balance), rows["PO-9"].since, rows["PO-9"].age_days) == ("10.00", JUNE(30), 0)
