"""`pledger po ...`, `report grir` and `report backorders` as a user runs them.

The shop is the one of tests/test_views.py (hand-checked numbers in its docstring).
"""

import json
import re

import pytest
from openpyxl import load_workbook

from purchase.orders import get_order
from tests.builders import item, order, supplier
from tests.conftest import a_day_that_lasts
from tests.test_views import MAY, build_shop


@pytest.fixture
def shop(books):
    with books.session() as s:
        build_shop(s)
        order(s, "PO-9", ("NUT", 50, "2.40"), supplier_code="BETA", date=MAY(20))
        get_order(s, "PO-9").status = "new"
    return books


def run_json(books, *args):
    result = books.cli(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def refused(books, *args):
    result = books.cli(*args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    return result.output.strip()


# -- po show -------------------------------------------------------------------------------


def test_po_show_json_of_a_partly_received_and_invoiced_order(shop):
    shown = run_json(shop, "po", "show", "PO-1")
    assert {k: shown[k] for k in ("number", "supplier", "supplier_name", "order_date", "status", "currency", "editable", "actions")} == {
        "number": "PO-1", "supplier": "ACME", "supplier_name": "Acme NV", "order_date": "2026-05-04",
        "status": "partly_received", "currency": "EUR", "editable": False, "actions": ["backorder"],
    }
    bolt, nut = shown["lines"]
    assert bolt == {
        "line": 1, "item": "BOLT", "description": "Bolt M8", "unit_price": "100.00",
        "list_price": "100.00", "discount_pct": "0", "vat_rate": "21", "expected_date": None,
        "ordered": "10", "received": "6", "invoiced": "4", "to_receive": "4", "to_invoice": "6",
        "gr_balance": "200.00", "ir_balance": "0.00", "open": True,
        "receipts": [{"number": "R-1", "date": "2026-05-06", "quantity": "6", "user": "ann", "import": None}],
        "invoices": [{"number": "I-1", "supplier_invoice": "S-I-1", "date": "2026-05-12", "quantity": "4", "amount": "400.00",
                      "user": "ann", "import": None}],
        "closeouts": [],
        "raises": [],  # tests/test_order_raise.py
    }
    assert (nut["line"], nut["unit_price"], nut["to_receive"], nut["gr_balance"], nut["receipts"]) == (2, "2.50", "5", "0.00", [])


def test_po_show_json_gives_the_price_as_ordered_the_discount_the_vat_rate_and_the_expected_date(books):
    """`unit_price` is the net price the books keep; `list_price` and `discount_pct` what the
    order was imported with (100 less 10 %: 90.00)."""
    import datetime as dt

    from purchase.masterdata import OrderData, OrderLineData, create_orders
    from tests.builders import D

    with books.session() as s:
        supplier(s)
        item(s, "WID")
        create_orders(s, [OrderData("PO-L", "ACME", dt.date(2026, 5, 4), [
            OrderLineData(1, "WID", D(3), D(100), discount_pct=D(10), vat_rate=D(6), expected_date=dt.date(2026, 5, 20))])])
    (line,) = run_json(books, "po", "show", "PO-L")["lines"]
    assert {k: line[k] for k in ("unit_price", "list_price", "discount_pct", "vat_rate", "expected_date")} == {
        "unit_price": "90.00", "list_price": "100.00", "discount_pct": "10", "vat_rate": "6", "expected_date": "2026-05-20"}


def test_po_show_says_documents_still_move_an_order_no_status_command_moves(shop):
    closed = shop.cli("po", "show", "PO-3")
    assert closed.exit_code == 0, closed.output
    assert "allowed now:   no status command: its receipts, invoices and close-outs move it" in closed.output
    assert shop.cli("po", "cancel", "PO-9").exit_code == 0
    assert "allowed now:   none\n" in shop.cli("po", "show", "PO-9").output  # a cancelled order takes nothing


def test_po_show_lists_a_days_documents_in_the_order_they_were_posted_not_by_their_numbers_text(books):
    """R-9 received 5 and R-10 returned 2 the same day: as text R-10 sorts before R-9, which
    would show the return before the receipt it returns from."""
    from tests.builders import invoice, receive

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-T", ("BOLT", 10, "10.00"))
        receive(s, "PO-T", 1, 5, number="R-9")
        receive(s, "PO-T", 1, -2, number="R-10")
        invoice(s, "PO-T", 1, 3, number="I-9")
        invoice(s, "PO-T", 1, -1, number="I-10")
    (line,) = run_json(books, "po", "show", "PO-T")["lines"]
    assert [(r["number"], r["quantity"]) for r in line["receipts"]] == [("R-9", "5"), ("R-10", "-2")]
    assert [(i["number"], i["quantity"]) for i in line["invoices"]] == [("I-9", "3"), ("I-10", "-1")]


def test_po_show_calls_a_document_a_credit_note_when_it_gives_back_on_the_whole_not_for_one_line(books):
    """An invoice that credits one line beside a larger charge on another is an invoice; it
    was listed as 'credit note I-3' on the credited line."""
    from tests.builders import DAY, D, DocLine, DocumentPoster, InvoiceDoc

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-T", ("BOLT", 10, "10.00"), ("BOLT", 10, "2.00"))
        poster = DocumentPoster(s, "ann")
        poster.post_invoices([InvoiceDoc("I-2", "S-2", DAY, [DocLine("PO-T", 2, D(5))])])
        poster.post_invoices([InvoiceDoc("I-3", "S-3", DAY, [DocLine("PO-T", 1, D(4)), DocLine("PO-T", 2, D(-1))])])
        poster.post_invoices([InvoiceDoc("I-4", "S-4", DAY, [DocLine("PO-T", 1, D(-1))])])
    result = books.cli("po", "show", "PO-T")
    assert result.exit_code == 0, result.output
    found = (re.match(r"\s*(\d+)\s+(invoice|credit note)\s+(I-\d)\s", row) for row in result.output.splitlines())
    kinds = {(m[1], m[3]): m[2] for m in found if m and m[3] != "I-2"}
    assert kinds == {("1", "I-3"): "invoice", ("2", "I-3"): "invoice", ("1", "I-4"): "credit note"}


def test_po_show_for_people_and_as_csv(shop):
    table = shop.cli("po", "show", "PO-1")
    assert table.exit_code == 0, table.output
    assert "Order PO-1  (partly_received)" in table.output
    assert "allowed now:   backorder" in table.output
    assert "R-1" in table.output and "supplier's number S-I-1" in table.output
    csv = shop.cli("po", "show", "PO-1", "--format", "csv")
    lines = csv.output.splitlines()
    assert lines[0] == "line,item,description,unit_price,ordered,received,invoiced,to_receive,to_invoice,gr_balance,ir_balance"
    assert lines[1] == "1,BOLT,Bolt M8,100.00,10,6,4,4,6,200.00,0.00"


def test_po_show_of_an_unknown_order_is_refused(shop):
    assert refused(shop, "po", "show", "PO-404") == "pledger: no purchase order 'PO-404': see 'pledger po list'"


# -- po list ---------------------------------------------------------------------------------


def orders_of(books, *args):
    return [o["order"] for o in run_json(books, "po", "list", *args)]


def test_po_list_and_its_filters(shop):
    every = run_json(shop, "po", "list")
    assert every[0] == {"order": "PO-1", "supplier": "ACME", "supplier_name": "Acme NV", "order_date": "2026-05-04",
                        "status": "partly_received", "currency": "EUR", "lines": 2, "open_lines": 2, "amount": "1012.50"}
    assert [o["order"] for o in every] == ["PO-1", "PO-2", "PO-3", "PO-9"]
    assert orders_of(shop, "--supplier", "ACME") == ["PO-1", "PO-3"]
    assert orders_of(shop, "--supplier", "B..") == ["PO-2", "PO-9"]
    assert orders_of(shop, "--order-date", "2026-05-03..2026-05-31") == ["PO-1", "PO-9"]
    assert orders_of(shop, "--order-date", "..2026-05-03") == ["PO-2"]
    assert orders_of(shop, "--status", "closed") == ["PO-3"]
    assert orders_of(shop, "--status", "new") == ["PO-9"]
    assert orders_of(shop, "--open") == ["PO-1", "PO-2", "PO-9"]
    assert orders_of(shop, "--open", "--supplier", "ACME") == ["PO-1"]


def test_po_list_usage_mistakes_exit_2(shop):
    bad_date = shop.cli("po", "list", "--order-date", "2026-13-45")
    assert bad_date.exit_code == 2 and "is not a date" in bad_date.output
    bad_status = shop.cli("po", "list", "--status", "finished")
    assert bad_status.exit_code == 2


# -- the lifecycle -------------------------------------------------------------------------------


def test_a_new_order_is_sent_confirmed_and_then_no_longer_editable(shop):
    assert run_json(shop, "po", "show", "PO-9")["editable"] is True
    sent = shop.cli("po", "order", "PO-9")
    assert sent.exit_code == 0 and sent.output.strip() == "order PO-9: new -> ordered"
    assert shop.cli("po", "confirm", "PO-9").output.strip() == "order PO-9: ordered -> confirmed"
    shown = run_json(shop, "po", "show", "PO-9")
    assert (shown["status"], shown["editable"]) == ("confirmed", False)
    assert shown["actions"] == ["backorder", "cancel"]
    assert shop.cli("po", "backorder", "PO-9").output.strip() == "order PO-9: confirmed -> backorder"
    assert shop.cli("po", "cancel", "PO-9").output.strip() == "order PO-9: backorder -> cancelled"


def test_the_lifecycle_commands_take_format_as_every_command_that_prints_data(shop):
    """CLI.md: --format on every command that prints data. `po order`, `po confirm`,
    `po backorder`, `po ship` and `po cancel` had none ('No such option', exit 2), and
    `pledger --format json po confirm` printed a sentence; `po close` gave JSON already."""
    assert run_json(shop, "po", "order", "PO-9") == {"order": "PO-9", "before": "new", "after": "ordered"}
    confirmed = shop.cli("--format", "csv", "po", "confirm", "PO-9")
    assert (confirmed.exit_code, confirmed.output) == (0, "order,before,after\nPO-9,ordered,confirmed\n")
    assert run_json(shop, "po", "backorder", "PO-9") == {"order": "PO-9", "before": "confirmed", "after": "backorder"}
    assert shop.cli("po", "cancel", "PO-9", "--format", "table").output == "order PO-9: backorder -> cancelled\n"


def test_every_lifecycle_refusal_says_why_and_what_is_allowed(shop):
    assert refused(shop, "po", "confirm", "PO-9") == (
        "pledger: order PO-9 is new: cannot confirm it (only an ordered order is confirmed); allowed now: order, cancel")
    assert refused(shop, "po", "backorder", "PO-9") == (
        "pledger: order PO-9 is new: cannot backorder it (only an ordered, confirmed or partly received order goes on "
        "backorder); allowed now: order, cancel")
    assert refused(shop, "po", "close", "PO-9") == (
        "pledger: order PO-9 is new: cannot close it (only an order under way is closed); allowed now: order, cancel")
    assert refused(shop, "po", "order", "PO-1") == (
        "pledger: order PO-1 is partly_received: cannot order it (only a new order is sent to the supplier); "
        "allowed now: backorder")
    assert refused(shop, "po", "cancel", "PO-1") == (
        "pledger: order PO-1 is partly_received: cannot cancel it (it has receipts or invoices: close it out instead ('pledger closeout run --order PO-1 --close-fully')); "
        "allowed now: backorder")
    assert refused(shop, "po", "cancel", "PO-2").endswith("cannot cancel it (it has receipts or invoices: close it out instead ('pledger closeout run --order PO-2 --close-fully')); allowed now: confirm, backorder")
    assert refused(shop, "po", "ship", "PO-1") == (
        "pledger: order PO-1 is partly_received: cannot ship it (only a drop-shipment order is shipped); allowed now: backorder")
    assert refused(shop, "po", "close", "PO-1") == (  # what --not-coming and --assume-delivered do: tests/test_order_close.py
        "pledger: order PO-1 is partly_received: cannot close it (lines still expect goods: if they will not come, "
        "'pledger po close PO-1 --not-coming' closes them out; an order with no receipt is taken as delivered in full "
        "with --assume-delivered --receipt R); allowed now: backorder")
    assert refused(shop, "po", "cancel", "PO-3") == (
        "pledger: order PO-3 is closed: cannot cancel it (a closed or cancelled order stays as it is); allowed now: no status command: its receipts, invoices and close-outs move it")
    assert refused(shop, "po", "confirm", "PO-404") == "pledger: no purchase order 'PO-404': see 'pledger po list'"
    # nothing changed
    assert [o["status"] for o in run_json(shop, "po", "list")] == ["partly_received", "ordered", "closed", "new"]


def test_a_cancelled_order_stays_cancelled(shop):
    assert shop.cli("po", "cancel", "PO-9").exit_code == 0
    assert refused(shop, "po", "cancel", "PO-9") == (
        "pledger: order PO-9 is cancelled: cannot cancel it (a closed or cancelled order stays as it is); allowed now: none")
    assert refused(shop, "po", "order", "PO-9").startswith("pledger: order PO-9 is cancelled: cannot order it")


def test_check_names_a_cancelled_order_that_holds_receipts_or_invoices(shop):
    """A cancelled order with goods received sits in GR for good (no close-out selects it);
    a cancel racing a receipt could leave one so before the status commands locked the
    lines, and `check` passed. Made here behind pledger's back: PO-1 has a receipt and an
    invoice on line 1, PO-2 an invoice, PO-9 nothing."""
    assert shop.cli("check").exit_code == 0
    with shop.session() as s:
        for number in ("PO-1", "PO-2", "PO-9"):
            get_order(s, number).status = "cancelled"
    result = shop.cli("check")
    assert result.exit_code == 1, result.output
    assert "order PO-1 is cancelled, and receipts or invoices were posted on 1 line of it" in result.output
    assert "order PO-2 is cancelled, and receipts or invoices were posted on 1 line of it" in result.output
    assert "PO-9" not in result.output


@pytest.mark.postgresql_only
@pytest.mark.parametrize("document", ["receipt", "invoice"])
def test_an_order_cancelled_while_a_document_posts_to_it_is_refused_once_it_is_in(shop, document):
    """`po cancel` while a clerk's receipt (or invoice) of the order was being posted: on
    PostgreSQL the cancel found no document (not committed yet), waited for the order row,
    and cancelled the order once the receipt was in: a cancelled order with 2 received and a
    GR balance no close-out reaches. It now takes the order's lines and the order first and
    finds the document."""

    from ledger.errors import PledgerError
    from purchase.orders import apply
    from tests.builders import invoice, receive

    with shop.session() as s:
        order(s, "PO-8", ("NUT", 10, "2.40"), supplier_code="BETA", date=MAY(20))
    cancelled: list = []

    def other_user():
        try:
            with shop.session() as s:
                cancelled.append(apply(s, "PO-8", "cancel").status)
        except PledgerError as exc:
            cancelled.append(str(exc))

    with shop.session() as clerk:
        (receive if document == "receipt" else invoice)(clerk, "PO-8", 1, 2, date=MAY(21))  # posted, not committed
        thread = shop.start_waiting(other_user, "the cancel")
    thread.join(timeout=30)
    assert len(cancelled) == 1 and "cannot cancel it (it has receipts or invoices" in cancelled[0], cancelled
    assert shop.raw("SELECT status FROM purchase_orders WHERE number = 'PO-8'").scalar() != "cancelled"


# -- report grir -------------------------------------------------------------------------------------


def trial_balance(books, *args):
    return {r["account"]: r["balance"] for r in run_json(books, "report", "trial-balance", *args)}


def test_report_grir_ties_to_the_trial_balance(shop):
    grir = run_json(shop, "report", "grir")
    assert [(r["order"], r["line"], r["gr_balance"], r["ir_balance"], r["since"]) for r in grir["rows"]] == [
        ("PO-1", 1, "200.00", "0.00", "2026-05-06"),
        ("PO-2", 1, "0.00", "360.00", "2026-05-15"),
    ]
    assert grir["totals"] == {"gr_balance": "200.00", "ir_balance": "360.00"}
    balances = trial_balance(shop)
    assert balances["444000"] == "-200.00" and balances["499100"] == "360.00"
    assert grir["ledger"] == {"goods_received": {"account": "444000", "balance": "200.00"},
                              "invoices_received": {"account": "499100", "balance": "360.00"}}
    assert grir["ties"] is True


def test_report_grir_as_of_a_past_date(shop):
    grir = run_json(shop, "report", "grir", "--as-of", "2026-05-10")
    assert grir["as_of"] == "2026-05-10"
    assert grir["rows"] == [{"supplier": "ACME", "order": "PO-1", "line": 1, "item": "BOLT", "gr_balance": "600.00",
                             "ir_balance": "0.00", "since": "2026-05-06", "age_days": 4}]
    assert grir["totals"] == {"gr_balance": "600.00", "ir_balance": "0.00"}
    assert trial_balance(shop, "--as-of", "2026-05-10")["444000"] == "-600.00"
    assert grir["ledger"]["goods_received"]["balance"] == "600.00" and grir["ties"] is True


def test_report_grir_for_people(shop):
    result = shop.cli("report", "grir", "--as-of", "2026-06-10")
    assert result.exit_code == 0, result.output
    assert "GR/IR sub-balances as of 2026-06-10" in result.output
    assert "ties out with the lines" in result.output
    assert result.output.splitlines()[-1].split() == ["Total", "210.00", "360.00"]


# -- report backorders ---------------------------------------------------------------------------------


def backorders(books, *args):
    return [(r["order"], r["line"]) for r in run_json(books, "report", "backorders", *args)]


def test_report_backorders_rows_as_json(shop):
    rows = run_json(shop, "report", "backorders")
    assert rows[0] == {
        "supplier": "ACME", "supplier_name": "Acme NV", "order": "PO-1", "line": 1, "order_date": "2026-05-04",
        "expected_date": None, "item": "BOLT", "description": "Bolt M8", "unit_price": "100.00", "ordered": "10",
        "received": "6", "in_backorder": "4", "backorder_amount": "400.00",
    }
    assert [(r["order"], r["line"], r["unit_price"], r["backorder_amount"]) for r in rows] == [
        ("PO-1", 1, "100.00", "400.00"), ("PO-2", 1, "90.00", "360.00"),
        ("PO-1", 2, "2.50", "12.50"), ("PO-2", 2, "0.333", "33.30"),
    ]  # PO-9 is new: not ordered yet, so not in backorder


def test_report_backorders_filters_and_sorts(shop):
    assert backorders(shop, "--supplier", "BETA") == [("PO-2", 1), ("PO-2", 2)]
    assert backorders(shop, "--item", "BOLT..NUT") == [("PO-1", 1), ("PO-2", 1), ("PO-1", 2)]
    assert backorders(shop, "--order-date", "2026-05-03..") == [("PO-1", 1), ("PO-1", 2)]
    assert backorders(shop, "--sort", "supplier") == [("PO-1", 1), ("PO-1", 2), ("PO-2", 1), ("PO-2", 2)]
    assert backorders(shop, "--sort", "order") == [("PO-1", 1), ("PO-1", 2), ("PO-2", 1), ("PO-2", 2)]
    assert backorders(shop, "--sort", "date") == [("PO-2", 1), ("PO-2", 2), ("PO-1", 1), ("PO-1", 2)]
    assert backorders(shop, "--sort", "amount") == [("PO-1", 1), ("PO-2", 1), ("PO-2", 2), ("PO-1", 2)]


def test_backorders_and_po_list_say_a_supplier_or_item_the_books_do_not_hold(shop):
    """Audit of 6 December 2026: `report backorders --supplier acme` (the book's code is ACME)
    printed "0 lines" and `po list --supplier acme` "(nothing)", without a word, as if ACME had
    nothing in backorder and no orders, where `closeout propose` and `run` with the same option
    say that no supplier acme is in the books. Codes still compare exactly (CLI.md), the output
    stays as it was and exits 0; stderr says why nothing was selected, as the close-out's does."""
    acme = "note: no supplier acme in the books, so the selection holds no line; codes compare exactly, case and all: did you mean ACME?"
    bolt = "note: no item bolt in the books, so the selection holds no line; codes compare exactly, case and all: did you mean BOLT?"
    for args, notes in (
        (("report", "backorders", "--supplier", "acme"), [acme]),
        (("report", "backorders", "--supplier", "acme", "--item", "bolt"), [acme, bolt]),
        (("report", "backorders", "--item", "bolt", "--format", "json"), [bolt]),
        (("report", "backorders", "--item", "SCREW"), ["note: no item SCREW in the books, so the selection holds no line"]),
        (("report", "backorders", "--item", "WASHER"), []),  # in the books, nothing in backorder: nothing to say
        (("po", "list", "--supplier", "acme"), [acme]),
        (("report", "backorders", "--supplier", "ACME", "--item", "BOLT"), []),  # known codes: nothing to say
        (("report", "backorders", "--supplier", "A..B"), []),  # a range names no one code
    ):
        result = shop.cli(*args)
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == notes, args
    assert json.loads(shop.cli("report", "backorders", "--item", "bolt", "--format", "json").stdout) == []
    assert shop.cli("report", "backorders", "--sort", "price").exit_code == 2


def test_report_backorders_for_people_has_a_total(shop):
    result = shop.cli("report", "backorders", "--supplier", "ACME")
    assert result.exit_code == 0, result.output
    assert "supplier ACME; sorted by item; 2 lines; open on " in result.output and "; amounts in EUR" in result.output
    assert result.output.splitlines()[-1].split() == ["Total", "412.50"]


def test_report_backorders_says_it_counts_documents_dated_after_today(shop):
    """The subtitle said "open on <today>" while the report counts every receipt and close-out
    booked, those dated after today too: a receipt dated next month made it show a backorder
    smaller than the one open today. It now says so and names the latest date; what it counts,
    and its JSON, are as before."""
    import datetime as dt

    from tests.builders import receive

    today = a_day_that_lasts()
    later, latest = today + dt.timedelta(days=40), today + dt.timedelta(days=45)
    for year in {later.year, latest.year}:
        assert shop.cli("year", "open", str(year)).exit_code == 0
    subtitle = lambda: shop.cli("report", "backorders", "--supplier", "ACME").output.splitlines()[1]
    assert subtitle() == f"supplier ACME; sorted by item; 2 lines; open on {today.isoformat()}; amounts in EUR"
    with shop.session() as s:
        receive(s, "PO-1", 1, 3, date=later, number="R-LATE")
    assert subtitle() == (f"supplier ACME; sorted by item; 2 lines; open after every receipt and close-out booked "
                          f"(the latest dated {later.isoformat()}, after today {today.isoformat()}); amounts in EUR")
    rows = run_json(shop, "report", "backorders", "--supplier", "ACME")
    assert [(r["order"], r["line"], r["received"], r["in_backorder"], r["backorder_amount"]) for r in rows] == [
        ("PO-1", 1, "9", "1", "100.00"), ("PO-1", 2, "0", "5", "12.50")]  # R-LATE counted, as before
    assert set(rows[0]) == {"supplier", "supplier_name", "order", "line", "order_date", "expected_date", "item", "description",
                            "unit_price", "ordered", "received", "in_backorder", "backorder_amount"}
    # a close-out dated later still is the latest (another supplier's: the whole book is counted)
    closed = shop.cli("closeout", "run", "--order", "PO-2", "--close-fully", "--date", latest.isoformat())
    assert closed.exit_code == 0, closed.output
    assert subtitle() == (f"supplier ACME; sorted by item; 2 lines; open after every receipt and close-out booked "
                          f"(the latest dated {latest.isoformat()}, after today {today.isoformat()}); amounts in EUR")


def test_report_backorders_as_xlsx(shop, tmp_path):
    path = tmp_path / "backorders.xlsx"
    result = shop.cli("report", "backorders", "-o", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {path}: 4 lines"
    book = load_workbook(path)
    assert book.sheetnames == ["Backorders"]
    sheet = book["Backorders"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Backorders"
    header = values[3]
    assert header == ["supplier", "name", "order", "line", "order date", "expected", "item", "description",
                      "unit price", "ordered", "received", "in backorder", "backorder amount"]
    first = dict(zip(header, values[4]))
    assert (first["supplier"], first["order"], first["line"], first["item"]) == ("ACME", "PO-1", 1, "BOLT")
    assert (first["ordered"], first["received"], first["in backorder"], first["backorder amount"]) == (10, 6, 4, 400)
    assert first["order date"].date().isoformat() == "2026-05-04"
    washer = next(row for row in sheet.iter_rows() if row[6].value == "WASHER")  # 0.333 a unit: not shown as 0.33
    assert (washer[8].value, washer[8].number_format) == (0.333, "#,##0.000")
    totals = dict(zip(header, values[-1]))
    assert totals["supplier"] == "Total" and totals["backorder amount"] == pytest.approx(805.80)


def test_report_backorders_as_pdf_and_csv(shop, tmp_path):
    pdf = tmp_path / "backorders.pdf"
    assert shop.cli("report", "backorders", "-o", pdf).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    csv = tmp_path / "backorders.csv"
    assert shop.cli("report", "backorders", "--supplier", "BETA", "-o", csv).exit_code == 0
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("supplier,supplier_name,order,line,order_date")
    assert lines[-1].endswith(",393.30")


def test_report_backorders_refuses_an_unknown_file_type(shop, tmp_path):
    result = shop.cli("report", "backorders", "-o", tmp_path / "backorders.txt")
    assert result.exit_code == 2
    assert "is not a .pdf, .xlsx or .csv file" in result.output
    assert not (tmp_path / "backorders.txt").exists()


@pytest.mark.parametrize("report", ["backorders", "grir"])
@pytest.mark.parametrize("name", [".pdf", ".XLSX", ".csv"])
def test_a_report_file_named_only_by_its_type_is_a_usage_mistake(shop, tmp_path, report, name):
    """-o "$NAME.pdf" with NAME unset: a file name that is only a type. It was taken by the
    check of the type, then refused by the writer, exit 1, as "report file '.pdf' has no
    file type: use .csv, .xlsx, .pdf or .json" (it has that type, and .json is not one
    these reports write)."""
    path = tmp_path / name
    result = shop.cli("report", report, "-o", path)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"pledger: Invalid value for '-o': '{path}' names only a file type: give the file a name, "
                             f"such as {tmp_path / ('report' + name.lower())} (see 'pledger report {report} --help')\n")
    assert not path.exists()


def test_a_long_backorder_list_pages_in_the_pdf(books, tmp_path):
    with books.session() as s:
        for n in range(1, 6):
            supplier(s, f"SUP{n}", f"Supplier number {n} NV")
        for code in ("BOLT", "NUT", "WASHER", "SCREW"):
            item(s, code, description=f"{code.title()} M8, zinc plated, box of 100")
        for n in range(1, 13):
            order(s, f"PO-{n:03d}", ("BOLT", 10 + n, "12.50"), ("NUT", 5 * n, "0.333"), ("WASHER", 100, "0.04"),
                  ("SCREW", n, "1234.56"), supplier_code=f"SUP{n % 5 + 1}", date=MAY(n))
    pdf = tmp_path / "long.pdf"
    assert books.cli("report", "backorders", "-o", pdf).output.strip() == f"wrote {pdf}: 48 lines"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")


def _two_line_order(books, number: str) -> None:
    from tests.builders import item, order, supplier

    with books.session() as s:
        supplier(s)
        item(s)
        order(s, number, ("BOLT", 10, "2.00"), ("BOLT", 4, "3.00"))


def test_receive_and_invoice_an_orders_open_lines_as_proposed(books):
    _two_line_order(books, "PO-P")
    first = books.cli("po", "receive", "PO-P", "--receipt", "RP1", "--date", "2026-05-10", "--line", "1=6", "--line", "2=0")
    assert first.exit_code == 0, first.output
    rest = books.cli("po", "receive", "PO-P", "--receipt", "RP2", "--date", "2026-05-11")
    assert "order PO-P line 1: 4 received" in rest.output and "order PO-P line 2: 4 received" in rest.output
    inv = books.cli("po", "invoice", "PO-P", "--invoice", "IP1", "--supplier-invoice", "F1", "--date", "2026-05-12", "--line", "2=4@3.10")
    assert inv.exit_code == 0, inv.output
    shown = json.loads(books.cli("po", "show", "PO-P", "--format", "json").stdout)
    assert [(l["to_receive"], l["to_invoice"]) for l in shown["lines"]] == [("0", "0"), ("0", "0")]
    done = books.cli("po", "receive", "PO-P", "--receipt", "RP3")
    assert done.exit_code == 1 and "order PO-P expects nothing more to receive" in done.stderr
    bad = books.cli("po", "invoice", "PO-P", "--invoice", "X", "--supplier-invoice", "F", "--line", "1=x")
    assert bad.exit_code == 2 and "'1=x' is not N=QUANTITY[@PRICE]" in bad.output
    twice = books.cli("po", "invoice", "PO-P", "--invoice", "X", "--supplier-invoice", "F", "--line", "1=1@2", "--line", "1=1@3")
    assert twice.exit_code == 2 and "line 1 is given twice ('1=1@3'): give each line once" in twice.output


def test_a_receipt_whose_every_open_line_is_left_out_says_so(books):
    """N=0 leaves a line out; leaving out every open one was told as "expects nothing more"."""
    _two_line_order(books, "PO-Q")
    left_out = books.cli("po", "receive", "PO-Q", "--receipt", "RQ", "--date", "2026-05-10", "--line", "1=0", "--line", "2=0")
    assert (left_out.exit_code, left_out.stderr) == (
        1, "pledger: order PO-Q: every line it expects more on was left out (N=0): nothing to receive\n")
    assert books.raw("select count(*) from receipts").scalar() == 0


def test_the_commands_that_post_documents_print_json_and_csv_for_scripts(books, tmp_path):
    """CLI.md: --format is an option of every command that prints data. The imports, `po
    receive`, `po invoice`, `po raise` and `po close --assume-delivered` printed their
    sentences whatever was asked."""
    orders = tmp_path / "orders.csv"
    orders.write_text("order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
                      "PO-J,ACME,2026-05-01,1,BOLT,10,2.00,21\nPO-J,ACME,2026-05-01,2,BOLT,4,3.00,21\n"
                      "PO-K,ACME,2026-05-01,1,BOLT,5,1.00,21\n")
    with books.session() as s:
        supplier(s)
        item(s)
    assert json.loads(books.cli("import", "orders", orders, "--format", "json").stdout) == {
        "file": str(orders), "kind": "orders", "rows": 3, "documents": 2, "created": 2, "updated": 0, "entries": 0}
    received = books.cli("po", "receive", "PO-J", "--receipt", "RJ", "--date", "2026-05-10", "--line", "2=0", "--format", "json")
    assert json.loads(received.stdout) == {"receipt": "RJ", "date": "2026-05-10", "order": "PO-J",
                                           "lines": [{"line": 1, "quantity": "10"}]}
    invoiced = books.cli("po", "invoice", "PO-J", "--invoice", "IJ", "--supplier-invoice", "F-J", "--date", "2026-05-11",
                         "--line", "1=10@2.10", "--line", "2=0", "--format", "csv")
    assert invoiced.stdout.splitlines() == ["order,line,quantity,unit_price", "PO-J,1,10,2.10"]
    raised = books.cli("po", "raise", "PO-J", "--line", "2=6", "--format", "json")
    assert json.loads(raised.stdout) == {"order": "PO-J", "reason": "", "status_before": "partly_received",
                                         "status_after": "partly_received",
                                         "raised": [{"line": 2, "ordered_before": "4", "ordered_after": "6"}]}
    closed = books.cli("po", "close", "PO-K", "--assume-delivered", "--receipt", "RK", "--date", "2026-05-12", "--format", "json")
    assert json.loads(closed.stdout) == {"order": "PO-K", "before": "ordered", "after": "received", "trial": False,
                                         "receipt": "RK", "received": [{"line": 1, "quantity": "5"}], "still_to_invoice": "5",
                                         "still_to_invoice_by_line": [{"line": 1, "quantity": "5"}]}
    assert closed.stderr == "order PO-K: ordered -> received; still to invoice: 5 on line 1\n"  # for the person
    assert books.cli("check").exit_code == 0


# -- an order's life: statuses that follow its documents -----------------------------------


@pytest.fixture
def confirmed(books):
    """PO-Q: 2 WID at 10.00, confirmed with the supplier."""
    with books.session() as s:
        supplier(s)
        item(s, "WID")
        order(s, "PO-Q", ("WID", 2, "10.00"), ("WID", 3, "10.00"))
    assert books.cli("po", "confirm", "PO-Q").exit_code == 0
    return books


def status(books, number="PO-Q"):
    return books.raw("select status from purchase_orders where number = :n", n=number).scalar()


def test_a_confirmed_order_received_closed_and_returned_is_confirmed_again_and_cannot_be_cancelled(confirmed):
    """Received and invoiced in full it closes; everything returned and credited, it expects
    the goods again: confirmed, as it was (it became an editable "ordered", and could then
    be cancelled with its receipt, invoice, return and credit note standing)."""
    for args in (("receive", "PO-Q", "--receipt", "RQ"), ("invoice", "PO-Q", "--invoice", "IQ", "--supplier-invoice", "AQ")):
        assert confirmed.cli("po", *args).exit_code == 0
    assert status(confirmed) == "closed"
    for args in (("receive", "PO-Q", "--receipt", "RQ2", "--line", "1=-2", "--line", "2=-3"),
                 ("invoice", "PO-Q", "--invoice", "CQ", "--supplier-invoice", "ACQ", "--line", "1=-2", "--line", "2=-3")):
        assert confirmed.cli("po", *args).exit_code == 0
    assert status(confirmed) == "confirmed"
    assert refused(confirmed, "po", "cancel", "PO-Q") == (
        "pledger: order PO-Q is confirmed: cannot cancel it (it has receipts or invoices: close it out instead ('pledger closeout run --order PO-Q --close-fully')); "
        "allowed now: backorder")
    # what the refusal says to do, done as it says it, closes the order
    assert confirmed.cli("closeout", "run", "--order", "PO-Q", "--close-fully").exit_code == 0
    assert status(confirmed) == "closed"
    assert confirmed.cli("check").exit_code == 0


def test_a_receipt_returned_in_full_leaves_a_confirmed_order_confirmed(confirmed):
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ", "--line", "1=2", "--line", "2=0").exit_code == 0
    assert status(confirmed) == "partly_received"
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ2", "--line", "1=-2", "--line", "2=0").exit_code == 0
    assert status(confirmed) == "confirmed"


def test_an_order_that_expects_no_goods_does_not_go_on_backorder(confirmed, tmp_path):
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ").exit_code == 0
    assert refused(confirmed, "po", "backorder", "PO-Q") == (
        "pledger: order PO-Q is received: cannot backorder it (only an ordered, confirmed or partly received order goes "
        "on backorder); allowed now: no status command: its receipts, invoices and close-outs move it")
    # PO-F: 2 of 3 invoiced, none received; a close-out leaves nothing to receive, 1 to invoice
    with confirmed.session() as s:
        order(s, "PO-F", ("WID", 3, "10.00"))
    assert confirmed.cli("po", "invoice", "PO-F", "--invoice", "IF", "--supplier-invoice", "AF", "--line", "1=2").exit_code == 0
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-F,1,0,1\n", encoding="utf-8")
    closed = confirmed.cli("closeout", "run", "--edits", edits, "--date", "2026-06-30")
    assert closed.exit_code == 0, closed.output
    assert status(confirmed, "PO-F") == "ordered"
    assert refused(confirmed, "po", "backorder", "PO-F") == (
        "pledger: order PO-F is ordered: cannot backorder it (no line expects goods); allowed now: confirm")


def test_a_cancelled_order_has_no_open_line(shop):
    assert shop.cli("po", "cancel", "PO-9").exit_code == 0
    listed = run_json(shop, "po", "list", "--open")
    assert "PO-9" not in [o["order"] for o in listed]
    shown = run_json(shop, "po", "show", "PO-9")
    assert [l["open"] for l in shown["lines"]] == [False]


def test_a_price_left_out_after_the_at_sign_is_a_usage_mistake(confirmed):
    result = confirmed.cli("po", "invoice", "PO-Q", "--invoice", "I-1", "--supplier-invoice", "S-1", "--line", "1=1@")
    assert (result.exit_code, result.stderr) == (
        2, "pledger: Invalid value for --line: '1=1@' is not N=QUANTITY[@PRICE] (see 'pledger po invoice --help')\n")


def test_lines_taken_besides_those_named_are_said(confirmed):
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ").exit_code == 0
    result = confirmed.cli("po", "invoice", "PO-Q", "--invoice", "I-1", "--supplier-invoice", "S-1", "--line", "1=2")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: line 2, not named with --line, was invoiced in full (what they expected); "
                             "give N=0 to leave a line out\n")
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ2", "--line", "1=-1", "--line", "2=-1").stderr == ""


def test_a_return_or_credit_note_takes_only_the_lines_it_names(confirmed):
    """Found auditing credit notes: `po invoice PO-3 --line 3=-0.25` also invoiced the other
    lines' open quantities in full, so a supplier's credit note of -8.33 net was booked as a
    debit of 3.99 to creditors. A line given back (negative) makes the document a return or
    a credit note, which holds the lines it names and no other."""
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "R-1", "--line", "1=2", "--line", "2=1").exit_code == 0
    assert confirmed.cli("po", "invoice", "PO-Q", "--invoice", "I-1", "--supplier-invoice", "S-1", "--line", "1=2",
                         "--line", "2=0").exit_code == 0
    returned = confirmed.cli("po", "receive", "PO-Q", "--receipt", "R-2", "--line", "1=-1", "--format", "json")
    assert returned.exit_code == 0, returned.output
    assert [(l["line"], l["quantity"]) for l in json.loads(returned.stdout)["lines"]] == [(1, "-1")]
    assert returned.stderr == ""
    credited = confirmed.cli("po", "invoice", "PO-Q", "--invoice", "C-1", "--supplier-invoice", "S-C1", "--line", "1=-1",
                             "--format", "json")
    assert credited.exit_code == 0, credited.output
    assert [(l["line"], l["quantity"]) for l in json.loads(credited.stdout)["lines"]] == [(1, "-1")]
    lines = run_json(confirmed, "po", "show", "PO-Q")["lines"]
    assert [(l["received"], l["invoiced"], l["to_receive"], l["to_invoice"]) for l in lines] == [
        ("1", "1", "1", "1"), ("1", "0", "2", "3")]  # line 2 neither received nor invoiced by the return and the credit note


def test_invoicing_a_line_the_order_gives_no_vat_rate_says_so(books):
    with books.session() as s:
        supplier(s)
        item(s, "WID")
        order(s, "PO-G", ("WID", 2, "100.00", 0), ("WID", 1, "5.00", 21))
    assert books.cli("po", "receive", "PO-G", "--receipt", "RG").exit_code == 0
    result = books.cli("po", "invoice", "PO-G", "--invoice", "IG", "--supplier-invoice", "AG-1")
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: line 1 invoiced at 0 % VAT, the order line's rate: an invoice that charges VAT is "
                             "imported with its rate ('pledger import invoices' or 'import ubl')\n")


@pytest.mark.parametrize("report", ["backorders", "grir"])
def test_a_report_file_and_a_format_besides_are_a_usage_mistake(shop, tmp_path, report):
    """-o names the file's type; a --format given besides was dropped without a word."""
    path = tmp_path / "r.csv"
    result = shop.cli("report", report, "-o", path, "--format", "json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"pledger: give -o {path} (its type from its name) or --format json, not both "
                             f"(see 'pledger report {report} --help')\n")
    assert not path.exists()


def test_a_partial_backorder_with_every_receipt_returned_is_a_backorder(confirmed):
    for args in (("receive", "PO-Q", "--receipt", "RQ", "--line", "1=2", "--line", "2=0"), ("backorder", "PO-Q")):
        assert confirmed.cli("po", *args).exit_code == 0
    assert status(confirmed) == "partial_backorder"
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ2", "--line", "1=-2", "--line", "2=0").exit_code == 0
    assert status(confirmed) == "backorder"  # it stayed a partial backorder with nothing received


def test_a_partial_backorder_stays_one_through_an_invoice_a_raise_and_a_receipt_while_goods_are_to_come(confirmed):
    """Found auditing the lifecycle: PO-Q partly received, then put on partial backorder by
    the supplier, went to partly_received on its next invoice (no goods came) or raise, so
    the supplier's backorder no longer showed. It stays a partial backorder while goods are
    still to come, and is received when the last of them come."""
    for args in (("receive", "PO-Q", "--receipt", "RQ", "--line", "1=1", "--line", "2=0"), ("backorder", "PO-Q")):
        assert confirmed.cli("po", *args).exit_code == 0
    assert status(confirmed) == "partial_backorder"
    steps = [
        ("invoice", "PO-Q", "--invoice", "IQ", "--supplier-invoice", "AQ", "--line", "1=1", "--line", "2=0"),
        ("raise", "PO-Q", "--line", "2=4"),
        ("receive", "PO-Q", "--receipt", "RQ2", "--line", "1=1", "--line", "2=1"),
    ]
    for args in steps:
        assert confirmed.cli("po", *args).exit_code == 0
        assert status(confirmed) == "partial_backorder", args
    assert confirmed.cli("po", "receive", "PO-Q", "--receipt", "RQ3").exit_code == 0
    assert status(confirmed) == "received"
    assert confirmed.cli("check").exit_code == 0


def test_a_partial_backorder_closed_as_not_coming_and_undone_is_a_partial_backorder_again(confirmed):
    """The undo of `po close --not-coming` says the goods are coming after all: the order
    goes back to what it was, a partial backorder (it came back as partly_received)."""
    for args in (("receive", "PO-Q", "--receipt", "RQ", "--line", "1=1", "--line", "2=0"), ("backorder", "PO-Q"),
                 ("close", "PO-Q", "--not-coming", "--date", "2026-06-30")):
        assert confirmed.cli("po", *args).exit_code == 0
    assert status(confirmed) == "received"
    assert confirmed.cli("closeout", "undo", "--number", "1", "--date", "2026-06-30").exit_code == 0
    assert status(confirmed) == "partial_backorder"
    assert confirmed.cli("check").exit_code == 0


def test_a_cancel_held_back_by_two_close_outs_names_both_undos_newest_first(confirmed, tmp_path):
    """Review of 7 December 2026: PO-Q on backorder, close-out 1 lowers line 1 to 0 to receive
    (to invoice 2 kept), close-out 2 line 1's to invoice to 1 and line 2's to receive to 0.
    The cancel said "close-out 2 stands on it: undo it first"; followed, it was refused again
    naming close-out 1. It names both undos, newest first; followed, the order is cancelled
    and posts nothing."""
    assert confirmed.cli("po", "backorder", "PO-Q").exit_code == 0
    edits = tmp_path / "edits.csv"
    for rows in ("PO-Q,1,0,2\n", "PO-Q,1,,1\nPO-Q,2,0,3\n"):
        edits.write_text("order,line,to_receive,to_invoice\n" + rows, encoding="utf-8")
        closed = confirmed.cli("closeout", "run", "--edits", edits, "--date", "2026-06-30")
        assert closed.exit_code == 0, closed.output
    assert refused(confirmed, "po", "cancel", "PO-Q") == (
        "pledger: order PO-Q is confirmed: cannot cancel it (close-outs 2 and 1 stand on it: undo them first, newest "
        "first ('pledger closeout undo --number 2', then 'pledger closeout undo --number 1')); allowed now: no status command: its receipts, invoices and close-outs move it")
    for number in ("2", "1"):
        assert confirmed.cli("closeout", "undo", "--number", number, "--date", "2026-06-30").exit_code == 0
    assert confirmed.cli("po", "cancel", "PO-Q").exit_code == 0
    assert status(confirmed) == "cancelled"
    assert confirmed.raw("select count(*) from entry_lines").scalar() == 0
    assert confirmed.cli("check").exit_code == 0


def test_a_backorder_that_a_close_out_leaves_expecting_no_goods_is_confirmed_and_cannot_be_cancelled(confirmed, tmp_path):
    assert confirmed.cli("po", "backorder", "PO-Q").exit_code == 0
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-Q,1,0,2\nPO-Q,2,0,3\n", encoding="utf-8")
    closed = confirmed.cli("closeout", "run", "--edits", edits, "--date", "2026-06-30")
    assert closed.exit_code == 0, closed.output
    assert status(confirmed) == "confirmed"  # it stayed on backorder, expecting nothing
    assert refused(confirmed, "po", "cancel", "PO-Q") == (
        "pledger: order PO-Q is confirmed: cannot cancel it (close-out 1 stands on it: undo it first "
        "('pledger closeout undo --number 1')); allowed now: no status command: its receipts, invoices and close-outs move it")
    assert confirmed.cli("closeout", "undo", "--number", "1", "--date", "2026-06-30").exit_code == 0
    assert status(confirmed) == "confirmed"
    assert confirmed.cli("po", "cancel", "PO-Q").exit_code == 0
