"""`pledger po raise`: an order line raised for an over-delivery (DOMAIN.md: "over-delivery
needs the order line raised first"), recorded, append-only, proved by `check`.

The shop is tests/test_views.py's (hand-checked numbers in its docstring):

    PO-1  ACME  1 BOLT   10 x 100.00   received 6, invoiced 4   (to receive 4, to invoice 6; GR 200.00)
                2 NUT     5 x   2.50   nothing yet
    PO-3  ACME  1 WASHER 20 x   0.50   received 20, invoiced 20: closed
    PO-9  BETA  new
"""

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy.exc import DBAPIError

from ledger.reports import account_balance
from purchase.rules import LineState, line_postings
from tests.builders import GR, IR, UNINVOICED, UNRECEIVED
from tests.test_cli_orders import refused, run_json, shop  # noqa: F401  (the fixture)
from tests.test_immutability import drop_triggers


def line(books, number, line_no):
    return next(l for l in run_json(books, "po", "show", number)["lines"] if l["line"] == line_no)


def quantities(books, number, line_no):
    shown = line(books, number, line_no)
    return tuple(shown[k] for k in ("ordered", "received", "invoiced", "to_receive", "to_invoice", "gr_balance", "ir_balance"))


def balances(books):
    with books.session() as s:
        return account_balance(s, GR), account_balance(s, IR)


def passes_check(books):
    result = books.cli("check")
    return result.exit_code == 0 and "raised lines hold their raises" in result.output


def test_an_over_delivery_is_received_once_the_line_is_raised(shop):
    # 12 bolts came in all, 2 more than ordered: the receipt of the last 6 is refused, and says how to raise
    assert refused(shop, "po", "receive", "PO-1", "--receipt", "R-2", "--line", "1=6", "--line", "2=0") == (
        "pledger: receipt R-2, order PO-1 line 1: over-receipt refused: the line still expects 4 to receive, not 6 "
        "(if more really came, raise the order line first: 'pledger po raise PO-1 --line 1=12')")
    before = balances(shop)
    raised = shop.cli("po", "raise", "PO-1", "--line", "1=12", "--reason", "delivery note DN-7: 2 more")
    assert raised.exit_code == 0, raised.output
    assert raised.output.splitlines() == ["order PO-1 line 1: ordered 10 -> 12"]  # the status stays partly_received
    assert quantities(shop, "PO-1", 1) == ("12", "6", "4", "6", "8", "200.00", "0.00")  # posts nothing
    assert balances(shop) == before
    (entry,) = line(shop, "PO-1", 1)["raises"]
    assert {k: entry[k] for k in ("ordered_before", "ordered_after", "reason", "user")} == {
        "ordered_before": "10", "ordered_after": "12", "reason": "delivery note DN-7: 2 more", "user": "ann"}
    received = shop.cli("po", "receive", "PO-1", "--receipt", "R-2", "--line", "1=6", "--line", "2=0")
    assert received.exit_code == 0, received.output
    assert quantities(shop, "PO-1", 1) == ("12", "12", "4", "0", "8", "800.00", "0.00")
    shown = shop.cli("po", "show", "PO-1")
    assert "raise" in shown.output and "ordered 10 -> 12, by ann" in shown.output and "delivery note DN-7" in shown.output
    assert passes_check(shop)


def test_raising_a_closed_order_reopens_it_and_raising_again_follows_on(shop):
    first = shop.cli("po", "raise", "PO-3", "--line", "1=25")
    assert first.output.splitlines() == ["order PO-3 line 1: ordered 20 -> 25", "order PO-3: closed -> partly_received"]
    again = shop.cli("po", "raise", "PO-3", "--line", "1=25.5")
    assert again.output.splitlines() == ["order PO-3 line 1: ordered 25 -> 25.5"]
    assert [(r["ordered_before"], r["ordered_after"]) for r in line(shop, "PO-3", 1)["raises"]] == [("20", "25"), ("25", "25.5")]
    assert quantities(shop, "PO-3", 1)[3:5] == ("5.5", "5.5")
    assert passes_check(shop)


def test_every_refusal_says_why_and_raises_nothing(shop):
    before = (run_json(shop, "po", "show", "PO-1"), balances(shop))
    assert refused(shop, "po", "raise", "PO-1", "--line", "1=10") == (
        "pledger: nothing raised: order PO-1 line 1: ordered 10 is not above the 10 ordered; a raise only raises "
        "(a close-out lowers what a line expects)")
    assert refused(shop, "po", "raise", "PO-1", "--line", "1=12", "--line", "2=4", "--line", "7=1") == (
        "pledger: nothing raised: order PO-1 line 2: ordered 4 is not above the 5 ordered; a raise only raises "
        "(a close-out lowers what a line expects); order PO-1 line 7: no such line")
    assert refused(shop, "po", "raise", "PO-1", "--line", "1=12.0000001") == (
        "pledger: nothing raised: order PO-1 line 1: 12.0000001 has more than 6 decimals")
    assert refused(shop, "po", "raise", "PO-1", "--line", "1=99999999999999") == (
        "pledger: nothing raised: order PO-1 line 1: 99999999999999 is too large to store (at most 9223372036854.775807)")
    assert refused(shop, "po", "raise", "PO-9", "--line", "1=60") == (
        "pledger: order PO-9 is new: cannot raise it (only an order that takes receipts and invoices is raised, for an "
        "over-delivery); allowed now: order, cancel")
    assert refused(shop, "po", "raise", "PO-404", "--line", "1=60") == "pledger: no purchase order 'PO-404': see 'pledger po list'"
    assert (run_json(shop, "po", "show", "PO-1"), balances(shop)) == before


@pytest.mark.parametrize("args, message", [
    ((), "Missing option '--line'"),
    (("--line", "1:12"), "'1:12' is not N=QUANTITY"),
    (("--line", "1=12@3"), "'1=12@3' is not N=QUANTITY"),
    (("--line", "1=12", "--reason", "x" * 256), "at most 255 characters"),
    (("--line", "1=12", "--reason", "DN-7\x1b[2J"), "holds a control character (U+001B): a reason is one line of text"),
    (("--line", "1=12", "--reason", "DN-7\nDN-8"), "holds a line break: a reason is one line of text"),
    (("--line", "1=12", "--line", "1=15"), "line 1 is given twice ('1=15'): give each line once"),
])
def test_usage_mistakes_exit_2(shop, args, message):
    result = shop.cli("po", "raise", "PO-1", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert line(shop, "PO-1", 1)["ordered"] == "10"


@pytest.mark.parametrize("sql", ["UPDATE order_line_raises SET ordered_after = 99", "DELETE FROM order_line_raises"])
def test_a_raise_is_append_only(shop, sql):
    assert shop.cli("po", "raise", "PO-1", "--line", "1=12").exit_code == 0
    with pytest.raises(DBAPIError, match="immutable"):
        shop.raw(sql)
    assert [(r["ordered_before"], r["ordered_after"]) for r in line(shop, "PO-1", 1)["raises"]] == [("10", "12")]


def test_check_finds_a_raised_quantity_edited_around_its_raise(shop):
    assert shop.cli("po", "raise", "PO-1", "--line", "1=12").exit_code == 0
    assert passes_check(shop)
    shop.raw("UPDATE order_lines SET quantity = quantity + 1000000 WHERE line_no = 1 "  # + 1 unit: 6 decimals stored
             "AND order_id = (SELECT id FROM purchase_orders WHERE number = 'PO-1')")
    result = shop.cli("check")
    assert result.exit_code == 1
    assert "order PO-1 line 1: 13 ordered, but its newest raise left 12" in result.output



@pytest.mark.parametrize("raises", [("12",), ("12", "15")], ids=["only", "oldest"])
def test_check_finds_a_line_s_first_raise_deleted(shop, raises):
    for quantity in raises:
        assert shop.cli("po", "raise", "PO-1", "--line", f"1={quantity}").exit_code == 0
    assert passes_check(shop)
    drop_triggers(shop)
    shop.raw("DELETE FROM order_line_raises WHERE id = (SELECT min(id) FROM order_line_raises)")
    result = shop.cli("check")
    assert result.exit_code == 1, result.output  # before 0015: 0, "check passed: ..."
    assert "the first: order PO-1 line 1: " in result.stderr, result.stderr


def test_check_finds_a_raise_inserted_on_a_line_never_raised(shop):
    """The INSERT the triggers allow: a raise from 4 to the 5 a line was ordered, which never
    happened, follows on from nothing and left what the line holds; `po show` lists it."""
    shop.raw("INSERT INTO order_line_raises (order_line_id, ordered_before, ordered_after, reason, user_name, raised_at) "
             "SELECT l.id, 4000000, l.quantity, 'DN-9', 'mallory', CURRENT_TIMESTAMP FROM order_lines l "  # 6 decimals stored
             "JOIN purchase_orders o ON o.id = l.order_id WHERE o.number = 'PO-1' AND l.line_no = 2")
    assert [(r["ordered_before"], r["ordered_after"], r["user"]) for r in line(shop, "PO-1", 2)["raises"]] == [("4", "5", "mallory")]
    result = shop.cli("check")
    assert result.exit_code == 1, result.output  # before 0015: 0
    assert "the first: order PO-1 line 2: " in result.stderr, result.stderr


# -- the rule: a raise posts nothing ------------------------------------------------------

STEPS = st.lists(st.tuples(st.sampled_from(["receive", "invoice", "close"]), st.integers(0, 4), st.integers(0, 4)), max_size=8)


@settings(max_examples=300, deadline=None)
@given(ordered=st.integers(1, 8), price=st.sampled_from(["0.333", "2.50", "100", "0.017"]), steps=STEPS,
       raise_by=st.sampled_from(["1", "0.5", "3", "0.000001"]))
def test_a_raise_leaves_the_balances_and_adds_to_what_is_expected(ordered, price, steps, raise_by):
    """From any state the rule reaches (receipts, invoices and close-outs within what the
    line expects), raising Q posts nothing, needs no write-off, and adds the raise to both
    to receive and to invoice."""
    state = LineState(Decimal(ordered), Decimal(price), "EUR")
    for kind, a, b in steps:
        if kind == "receive" and a <= state.to_receive:
            state = state.receive(Decimal(a))
        elif kind == "invoice" and a <= state.to_invoice:
            state = state.invoice(Decimal(a))
        elif kind == "close":
            state = state.close_out(min(Decimal(a), state.to_receive), min(Decimal(b), state.to_invoice))
    raised = state._replace(ordered=state.ordered + Decimal(raise_by))
    assert line_postings(state, raised) == {}
    assert raised._settle() == raised
    assert (raised.gr_balance, raised.ir_balance) == (state.gr_balance, state.ir_balance)
    assert (raised.to_receive - state.to_receive, raised.to_invoice - state.to_invoice) == (Decimal(raise_by),) * 2


@pytest.mark.postgresql_only
def test_a_raise_while_the_order_is_cancelled_waits_for_it_and_is_refused(shop):
    """`po raise PO-8 --line 1=60` while another user cancels PO-8: on PostgreSQL the raise
    read the order as ordered, waited for its lines, and raised a cancelled order, saying
    "order PO-8: ordered -> cancelled" as if the raise had cancelled it. It now takes the order
    as it stands once the cancel is in, and is refused as on a cancelled order."""

    from ledger.errors import PledgerError
    from purchase.orders import apply, raise_lines
    from tests.builders import order

    with shop.session() as s:
        order(s, "PO-8", ("NUT", 50, "2.40"), supplier_code="BETA")
    raised: list = []

    def other_user():
        try:
            with shop.session() as s:
                raised.append(raise_lines(s, "PO-8", {1: Decimal(60)}, user="bob"))
        except PledgerError as exc:
            raised.append(str(exc))

    with shop.session() as s:
        apply(s, "PO-8", "cancel")  # not committed yet
        thread = shop.start_waiting(other_user, "the raise")
    thread.join(timeout=30)
    assert raised == ["order PO-8 is cancelled: cannot raise it (only an order that takes receipts and invoices is raised, "
                      "for an over-delivery); allowed now: none"]
    assert quantities(shop, "PO-8", 1)[0] == "50"


def test_a_raise_on_a_line_a_close_out_lowered_is_taken_and_points_to_the_undo(shop):
    """PO-1 closed out fully (close-out 1 lowers line 1's 4 to receive and 6 to invoice, line
    2's 5): raising line 1 was taken without a word (audit of 7 December 2026), though goods
    that come after all are the undo's (DOMAIN.md; the receipt's refusal says so): a raise
    leaves the close-out's write-off standing beside them. Still taken, stdout as before (a
    script's JSON too), with one note on stderr naming the undo; none for a line no close-out
    lowered (PO-3)."""
    assert shop.cli("closeout", "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-30").exit_code == 0
    note = ("note: close-out 1 lowered what order PO-1 line 1 expects: if the goods or invoices come after all, undo it "
            "first ('pledger closeout undo --number 1', which reopens every line it closed), not a raise\n")
    raised = shop.cli("po", "raise", "PO-1", "--line", "1=12")
    assert (raised.exit_code, raised.stdout, raised.stderr) == (
        0, "order PO-1 line 1: ordered 10 -> 12\norder PO-1: closed -> partly_received\n", note)
    assert quantities(shop, "PO-1", 1)[3:5] == ("2", "2")
    raised = shop.cli("po", "raise", "PO-1", "--line", "1=13", "--format", "json")
    assert (raised.exit_code, raised.stderr) == (0, note)
    assert json.loads(raised.stdout) == {
        "order": "PO-1", "reason": "", "status_before": "partly_received", "status_after": "partly_received",
        "raised": [{"line": 1, "ordered_before": "12", "ordered_after": "13"}]}
    raised = shop.cli("po", "raise", "PO-3", "--line", "1=25")
    assert (raised.exit_code, raised.stderr) == (0, "")
    assert passes_check(shop)


def test_a_raise_on_a_line_two_close_outs_lowered_names_both_undos_newest_first(shop, tmp_path):
    """Review of 7 December 2026: PO-1 line 1 (6 received, 4 invoiced); close-out 1 lowers to
    receive to 0 alone (to invoice stays 6), close-out 2 to invoice to 0 alone (2 received
    units never to be invoiced: 200.00 on uninvoiced receipts). A raise said "close-out 2
    lowered what order PO-1 line 1 expects: ... undo it first", whose undo gives back none of
    the 4 goods close-out 1 said would never come. The note names both undos, newest first;
    followed, the 4 goods and 6 invoices leave GR, IR and both write-off accounts at zero."""
    with shop.session() as s:  # the shop's other orders hold IR: PO-1's 200.00 on GR goes once its goods are invoiced
        start = [account_balance(s, code) for code in (GR, IR, UNINVOICED, UNRECEIVED)]
    assert start[0] == Decimal("-200.00") and start[2:] == [Decimal("0")] * 2
    edits = tmp_path / "edits.csv"
    for row in ("PO-1,1,0,6", "PO-1,1,,0"):
        edits.write_text(f"order,line,to_receive,to_invoice\n{row}\n")
        assert shop.cli("closeout", "run", "--order", "PO-1", "--edits", str(edits), "--date", "2026-06-30").exit_code == 0
    with shop.session() as s:
        assert (account_balance(s, GR), account_balance(s, UNINVOICED)) == (Decimal("0.00"), Decimal("-200.00"))
    raised = shop.cli("po", "raise", "PO-1", "--line", "1=12")
    assert (raised.exit_code, raised.stderr) == (0, (
        "note: close-outs 2 and 1 lowered what order PO-1 line 1 expects: if the goods or invoices come after all, undo "
        "them first, newest first ('pledger closeout undo --number 2', then 'pledger closeout undo --number 1'; each "
        "reopens every line it closed), not a raise\n"))
    for number in ("2", "1"):
        assert shop.cli("closeout", "undo", "--number", number, "--date", "2026-07-01").exit_code == 0
    result = shop.cli("po", "receive", "PO-1", "--receipt", "RC-9", "--line", "1=4", "--line", "2=0", "--date", "2026-07-01")
    assert result.exit_code == 0, result.output
    assert shop.cli("po", "invoice", "PO-1", "--invoice", "IN-9", "--supplier-invoice", "S-9", "--line", "1=6", "--line", "2=0",
                    "--date", "2026-07-01").exit_code == 0
    with shop.session() as s:
        assert [account_balance(s, code) for code in (GR, IR, UNINVOICED, UNRECEIVED)] == [Decimal("0"), *start[1:]]
    assert quantities(shop, "PO-1", 1)[3:] == ("2", "2", "0.00", "0.00")  # the raise's 2 are still expected
    assert passes_check(shop)
