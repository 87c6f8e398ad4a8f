"""`pledger po close` of an order that still expects goods (DOMAIN.md, order lifecycle):
with --not-coming, a close-out of what remains to receive; with --assume-delivered, on an
order with no receipt, a receipt of every open quantity.

The shop is tests/test_views.py's (hand-checked numbers in its docstring):

    PO-1  ACME  1 BOLT   10 x 100.00   received 6, invoiced 4   (to receive 4, to invoice 6; GR 200.00)
                2 NUT     5 x   2.50   nothing yet
    PO-2  BETA  1 BOLT    4 x  90.00   invoiced 4, nothing received (IR 360.00)
                2 WASHER 100 x  0.333  nothing yet
    PO-3  ACME  closed;  PO-9  BETA  new
"""

import json

import pytest
from openpyxl import load_workbook

from ledger.reports import account_balance
from tests.builders import GR, IR, UNINVOICED, UNRECEIVED, D
from tests.test_cli_orders import refused, run_json, shop  # noqa: F401  (the fixture)

END_OF_JUNE = "2026-06-30"


def lines_of(books, number):
    return {l["line"]: (l["received"], l["invoiced"], l["to_receive"], l["to_invoice"], l["gr_balance"], l["ir_balance"])
            for l in run_json(books, "po", "show", number)["lines"]}


def balances(books):
    with books.session() as s:
        return {code: account_balance(s, code) for code in (GR, IR, UNINVOICED, UNRECEIVED)}


def closeout_numbers(books):
    return [c["closeout"] for c in run_json(books, "closeout", "list")]


def statuses(books):
    return {o["order"]: o["status"] for o in run_json(books, "po", "list")}


def passes_check(books):
    result = books.cli("check")
    return result.exit_code == 0 and "check passed" in result.output


def usage_mistake(books, *args):
    result = books.cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


# -- what remains to receive will not come -------------------------------------------------


def test_not_coming_closes_out_what_remains_to_receive_and_invoices_still_come(shop):
    before = balances(shop)
    result = shop.cli("po", "close", "PO-1", "--not-coming", "--date", END_OF_JUNE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Posting report - Close-out 1\n")
    assert result.stdout.rstrip().endswith("order PO-1: partly_received -> received; still to invoice: 2 on line 1")
    # BOLT: the 4 missing will not come, so 4 fewer to invoice; the 2 received and not yet
    # invoiced still are; NUT: nothing came, nothing will. Nothing is written off: no entry.
    assert lines_of(shop, "PO-1") == {1: ("6", "4", "0", "2", "200.00", "0.00"), 2: ("0", "0", "0", "0", "0.00", "0.00")}
    assert balances(shop) == before
    shown = run_json(shop, "closeout", "show", "1")
    assert [(l["order"], l["line"], l["to_receive_before"], l["to_receive_after"], l["to_invoice_before"], l["to_invoice_after"])
            for l in shown["lines"]] == [("PO-1", 1, "4", "0", "6", "2"), ("PO-1", 2, "5", "0", "5", "0")]
    assert shown["entries"] == []
    assert passes_check(shop)
    # the last invoice closes the order
    invoiced = shop.cli("po", "invoice", "PO-1", "--invoice", "I-9", "--supplier-invoice", "S-I-9", "--date", END_OF_JUNE)
    assert invoiced.exit_code == 0, invoiced.output
    assert statuses(shop)["PO-1"] == "closed"
    assert passes_check(shop)


def test_not_coming_writes_off_invoices_whose_goods_will_never_arrive_and_undo_reopens(shop):
    result = shop.cli("po", "close", "PO-2", "--not-coming", "--date", END_OF_JUNE, "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["entries"]
    assert sorted((l["account"], l["debit"], l["credit"], l["line"], l["quantity"]) for l in entry["lines"]) == [
        (IR, "0.00", "360.00", 1, "4"), (UNRECEIVED, "360.00", "0.00", 1, "4")]
    assert statuses(shop)["PO-2"] == "closed"
    assert balances(shop)[IR] == 0 and balances(shop)[UNRECEIVED] == D("360.00")
    assert passes_check(shop)
    undone = shop.cli("closeout", "undo", "--number", "1", "--date", END_OF_JUNE)
    assert undone.exit_code == 0, undone.output
    assert statuses(shop)["PO-2"] == "ordered"  # as it was when it closed: nothing was received
    assert balances(shop)[IR] == D("360.00") and balances(shop)[UNRECEIVED] == 0
    assert passes_check(shop)


def test_the_json_report_is_all_that_stdout_holds_and_the_status_goes_to_stderr(shop):
    result = shop.cli("po", "close", "PO-1", "--not-coming", "--date", END_OF_JUNE, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["closeout"] == 1
    assert result.stderr.strip() == "order PO-1: partly_received -> received; still to invoice: 2 on line 1"


def test_a_trial_reports_the_close_out_and_writes_nothing(shop):
    before = (lines_of(shop, "PO-2"), balances(shop), statuses(shop))
    result = shop.cli("po", "close", "PO-2", "--not-coming", "--trial", "--date", END_OF_JUNE)
    assert result.exit_code == 0, result.output
    assert "TRIAL, nothing posted" in result.stdout
    assert "unreceived" in result.stdout.lower() or UNRECEIVED in result.stdout
    assert result.stdout.rstrip().endswith("order PO-2: ordered -> closed (trial: nothing written)")
    assert (lines_of(shop, "PO-2"), balances(shop), statuses(shop)) == before
    assert closeout_numbers(shop) == []


def test_the_posting_report_is_written_to_a_file_too(shop, tmp_path):
    path = tmp_path / "close-po-2.xlsx"
    result = shop.cli("po", "close", "PO-2", "--not-coming", "--date", END_OF_JUNE, "--report", str(path))
    assert result.exit_code == 0, result.output
    cells = [c for row in load_workbook(path).active.iter_rows(values_only=True) for c in row if c is not None]
    assert UNRECEIVED in cells and "PO-2" in cells


# -- no receipt: delivered in full --------------------------------------------------------


def test_assume_delivered_receives_every_open_quantity_of_an_order_with_no_receipt(shop):
    result = shop.cli("po", "close", "PO-2", "--assume-delivered", "--receipt", "R-9", "--date", END_OF_JUNE)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "receipt R-9: order PO-2 line 1: 4 received",
        "receipt R-9: order PO-2 line 2: 100 received",
        "order PO-2: ordered -> received; still to invoice: 100 on line 2",
    ]
    # BOLT: the 4 invoiced now received, matched; WASHER: 100 x 0.333 = 33.30 waits for its invoice
    assert lines_of(shop, "PO-2") == {1: ("4", "4", "0", "0", "0.00", "0.00"), 2: ("100", "0", "0", "100", "33.30", "0.00")}
    assert balances(shop)[IR] == 0 and balances(shop)[GR] == D("-233.30")  # with PO-1's 200.00 (credits)
    assert [r["number"] for r in run_json(shop, "po", "show", "PO-2")["lines"][1]["receipts"]] == ["R-9"]
    assert closeout_numbers(shop) == []
    assert passes_check(shop)


def test_assume_delivered_as_a_trial_shows_the_receipt_and_writes_nothing(shop):
    before = (lines_of(shop, "PO-2"), balances(shop), statuses(shop))
    trial = shop.cli("po", "close", "PO-2", "--assume-delivered", "--receipt", "R-9", "--date", END_OF_JUNE, "--trial")
    assert trial.exit_code == 0, trial.output
    assert trial.output.splitlines() == [
        "receipt R-9: order PO-2 line 1: 4 would be received",
        "receipt R-9: order PO-2 line 2: 100 would be received",
        "order PO-2: ordered -> received; still to invoice: 100 on line 2 (trial: nothing written)",
    ]
    assert (lines_of(shop, "PO-2"), balances(shop), statuses(shop)) == before
    assert shop.raw("select count(*) from receipts where number = 'R-9'").scalar() == 0
    real = shop.cli("po", "close", "PO-2", "--assume-delivered", "--receipt", "R-9", "--date", END_OF_JUNE)
    assert real.output.splitlines() == [line.replace("would be received", "received").replace(" (trial: nothing written)", "")
                                        for line in trial.output.splitlines()]
    assert passes_check(shop)


# -- refusals: a message, exit 1, nothing written --------------------------------------------


def test_every_refusal_says_why_and_writes_nothing(shop):
    before = (lines_of(shop, "PO-1"), lines_of(shop, "PO-2"), balances(shop), statuses(shop))
    assert refused(shop, "po", "close", "PO-1") == (
        "pledger: order PO-1 is partly_received: cannot close it (lines still expect goods: if they will not come, "
        "'pledger po close PO-1 --not-coming' closes them out; an order with no receipt is taken as delivered in full "
        "with --assume-delivered --receipt R); allowed now: backorder")
    assert refused(shop, "po", "close", "PO-1", "--assume-delivered", "--receipt", "R-9") == (
        "pledger: order PO-1 has receipts: full delivery is assumed only of an order with none; receive the rest with "
        "'pledger po receive PO-1', or close what will not come with 'pledger po close PO-1 --not-coming'")
    assert refused(shop, "po", "close", "PO-9", "--not-coming") == (
        "pledger: order PO-9 is new: cannot close it (only an order under way is closed); allowed now: order, cancel")
    assert refused(shop, "po", "close", "PO-3", "--assume-delivered", "--receipt", "R-9") == (
        "pledger: order PO-3 is closed: cannot close it (only an order under way is closed); allowed now: no status command: its receipts, invoices and close-outs move it")
    assert refused(shop, "po", "close", "PO-2", "--assume-delivered", "--receipt", "R-1").startswith(
        "pledger: receipt R-1 ")  # the receipt's own refusal: that number is taken
    assert refused(shop, "po", "close", "PO-404", "--not-coming") == "pledger: no purchase order 'PO-404': see 'pledger po list'"
    assert (lines_of(shop, "PO-1"), lines_of(shop, "PO-2"), balances(shop), statuses(shop)) == before
    assert closeout_numbers(shop) == []


def test_an_order_that_waits_only_for_invoices_is_not_closed_by_not_coming(shop):
    assert shop.cli("po", "close", "PO-1", "--not-coming", "--date", END_OF_JUNE).exit_code == 0
    assert refused(shop, "po", "close", "PO-1", "--not-coming") == (
        "pledger: order PO-1 expects nothing more to receive: it stays open for invoices or GR/IR balances on line 1, "
        "which close as the invoices come; or close them out with 'pledger closeout run --order PO-1 --edits FILE' "
        "(or --close-fully)")
    assert refused(shop, "po", "close", "PO-1") == (
        "pledger: order PO-1 is received: cannot close it (lines still expect invoices or hold a GR/IR balance: close them "
        "out first with 'pledger closeout run --order PO-1 --close-fully'); allowed now: no status command: its receipts, invoices and close-outs move it")
    assert closeout_numbers(shop) == [1]


@pytest.mark.parametrize("args, message", [
    (("--not-coming", "--assume-delivered", "--receipt", "R-9"), "give --not-coming or --assume-delivered, not both"),
    (("--assume-delivered",), "--assume-delivered posts a receipt: give its number with --receipt"),
    (("--receipt", "R-9"), "--receipt names the receipt of --assume-delivered: give that too"),
    (("--trial",), "--trial goes with --not-coming or --assume-delivered (closing the status alone posts nothing)"),
    # a date for closing the status alone was dropped without a word, as a --trial beside it is refused
    (("--date", "2026-06-30"), "--date dates what --not-coming or --assume-delivered posts (closing the status alone posts nothing)"),
    (("--assume-delivered", "--receipt", "R-9", "--report", "x.xlsx"), "--report goes with --not-coming"),
    (("--report", "x.xlsx"), "--report goes with --not-coming"),
    (("--not-coming", "--report", "x.txt"), "--report"),
])
def test_usage_mistakes_exit_2_and_write_nothing(shop, args, message):
    before = (lines_of(shop, "PO-2"), statuses(shop))
    assert message in usage_mistake(shop, "po", "close", "PO-2", *args)
    assert (lines_of(shop, "PO-2"), statuses(shop)) == before


def test_a_locked_period_takes_neither_and_nothing_is_written(shop):
    assert shop.cli("period", "lock", "2026-06").exit_code == 0
    before = (lines_of(shop, "PO-1"), lines_of(shop, "PO-2"), balances(shop), statuses(shop))
    not_coming = refused(shop, "po", "close", "PO-1", "--not-coming", "--date", END_OF_JUNE)
    delivered = refused(shop, "po", "close", "PO-2", "--assume-delivered", "--receipt", "R-9", "--date", END_OF_JUNE)
    for message in (not_coming, delivered):
        assert message.startswith("pledger: ") and "2026-06" in message and "locked" in message, message
    assert (lines_of(shop, "PO-1"), lines_of(shop, "PO-2"), balances(shop), statuses(shop)) == before
    assert closeout_numbers(shop) == []
    assert run_json(shop, "po", "show", "PO-2")["lines"][0]["receipts"] == []


def test_what_is_still_to_invoice_is_said_line_by_line_as_units_of_different_items_do_not_add_up():
    from matching.order_close import ClosedOrder, describe

    two = ClosedOrder("PO-7", "partly_received", "received", to_invoice_by_line=((1, D("4")), (3, D("2.5"))))
    assert describe(two) == "order PO-7: partly_received -> received; still to invoice: 4 on line 1, 2.5 on line 3"
    assert two.still_to_invoice == D("6.5")  # JSON still_to_invoice, as before
    many = ClosedOrder("PO-8", "ordered", "received", to_invoice_by_line=tuple((n, D(1)) for n in range(1, 8)))
    assert describe(many) == "order PO-8: ordered -> received; 7 lines still to invoice ('pledger po show PO-8' lists them)"
    assert describe(ClosedOrder("PO-9", "received", "closed")) == "order PO-9: received -> closed"


def _close_while_another_user_holds_the_order(shop, holder, *args):
    """`po close PO-8 ARGS` run by a second user while `holder(session)`'s change of PO-8 (10
    NUT from BETA, ordered) is posted and not committed (PostgreSQL): the close waits for it."""
    from tests.builders import order
    from tests.test_views import MAY

    with shop.session() as s:
        order(s, "PO-8", ("NUT", 10, "2.40"), supplier_code="BETA", date=MAY(20))
    closed: list = []
    with shop.session() as other:
        holder(other)
        thread = shop.start_waiting(lambda: closed.append(shop.cli("po", "close", "PO-8", *args, "--date", END_OF_JUNE)),
                                    "the close")
    thread.join(timeout=30)
    assert len(closed) == 1
    return closed[0]


@pytest.mark.postgresql_only
def test_the_status_before_is_the_one_the_close_found_once_the_order_was_its_own(shop):
    """The order confirmed by another user while `po close --not-coming` starts: the close read
    the status before it waited for the order ("ordered"), and said "order PO-8: ordered ->
    closed" of an order that was confirmed when it closed it. It now takes the order's lines
    and the order first, as the status commands do, and reads the status under that lock."""
    from purchase.orders import apply

    result = _close_while_another_user_holds_the_order(shop, lambda s: apply(s, "PO-8", "confirm"), "--not-coming")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("order PO-8: confirmed -> closed")
    assert statuses(shop)["PO-8"] == "closed"

