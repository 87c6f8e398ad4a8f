"""The undo's rule on one line, as a property over random histories (no database).

A line goes through random receipts, returns, invoices, credit notes, close-outs and
undos of its newest close-out (they are undone newest first). Write-offs made as
documents arrive are kept against the newest close-out standing, as
`purchase.write_offs` records them, and every undo goes through `matching.closeout.undo_line`,
as the real undo does. After every step:

- every change posts a balanced set of amounts (`line_postings` raises otherwise, and
  holds an undo's rounding to one minor unit more than the write-offs it gives back);
- the goods-received and invoices-received accounts hold exactly the line's GR and IR
  sub-balances (the tie-out), never negative; nothing expected is negative;
- a line that expects nothing holds GR = IR = 0;
- with no close-out standing, nothing is lowered or written off, and the uninvoiced-receipts
  and unreceived-invoices accounts hold nothing for the line: the undos gave back exactly
  what was put there.

Quantities of two decimals and prices of four make the roundings that matter: this is
where an undo's rounding of two cents was found (5 December 2026), which the one-cent
limit then refused with an internal error.
"""

from __future__ import annotations

import os
from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from matching.closeout import WriteOffs, undo_line
from purchase.rules import LineState, line_postings

ZERO = Decimal(0)
CENT = Decimal("0.01")
STEPS = st.lists(st.tuples(st.sampled_from(["receive", "invoice", "close", "undo"]), st.integers(0, 4), st.integers(0, 4),
                           st.booleans()), min_size=1, max_size=40)


def _part(whole: Decimal, pick: int) -> Decimal:
    """One of a few quantities up to `whole`: all, none, a third, a half, a quarter unit."""
    choices = [whole, ZERO, (whole / 3).quantize(CENT), (whole / 2).quantize(CENT), min(whole, Decimal("0.25"))]
    return max(ZERO, min(whole, choices[pick]))


class Line:
    def __init__(self, ordered: Decimal, price: Decimal):
        self.state = LineState(ordered, price, "EUR")
        self.standing: list[dict] = []  # the close-outs standing on the line, oldest first
        self.accounts: dict[str, Decimal] = {}

    def post(self, amounts: dict) -> None:
        assert sum(amounts.values(), ZERO) == 0, amounts
        for role, amount in amounts.items():
            self.accounts[role] = self.accounts.get(role, ZERO) + amount

    def keep(self, before, after, amounts: dict) -> None:
        """A write-off made as a document arrived (or an undo settled the line again),
        against the newest close-out standing, as `purchase.write_offs.written_off` keeps it."""
        u = after.written_off_uninvoiced - before.written_off_uninvoiced
        v = after.written_off_unreceived - before.written_off_unreceived
        if u or v:
            assert self.standing, f"written off with no close-out standing: {before} -> {after}"
            top = self.standing[-1]
            top["given"] = top["given"].plus(WriteOffs.of(u, v, -amounts.get("uninvoiced_receipts", ZERO),
                                                          amounts.get("unreceived_invoices", ZERO)))

    def document(self, kind: str, pick: int, back: bool, price_up: bool) -> None:
        s = self.state
        if kind == "receive":
            quantity = -_part(s.received - s.written_off_uninvoiced, pick) if back else _part(s.to_receive, pick)
        else:
            quantity = -_part(s.invoiced - s.written_off_unreceived, pick) if back else _part(s.to_invoice, pick)
        if quantity == 0:
            return
        if kind == "receive":
            after = s.receive(quantity)
            amounts = line_postings(s, after)
        else:
            after = s.invoice(quantity)
            price = s.price * (Decimal("1.05") if price_up else 1)
            amounts = line_postings(s, after, invoice_amount=(quantity * price).quantize(CENT))
        self.post(amounts)
        self.keep(s, after, amounts)
        self.state = after

    def close(self, pick_receive: int, pick_invoice: int, follow: bool) -> None:
        s = self.state
        if not s.is_open:
            return
        to_receive = _part(s.to_receive, pick_receive)
        to_invoice = max(ZERO, s.to_invoice - (s.to_receive - to_receive)) if follow else _part(s.to_invoice, pick_invoice)
        self.close_to(to_receive, to_invoice)

    def close_to(self, to_receive: Decimal, to_invoice: Decimal) -> None:
        s = self.state
        after = s.close_out(to_receive, to_invoice)
        lowered = (after.lowered_receive - s.lowered_receive, after.lowered_invoice - s.lowered_invoice)
        if lowered == (0, 0):
            return  # lowers nothing: takes no number
        amounts = line_postings(s, after)
        self.post(amounts)
        own = WriteOffs.of(after.written_off_uninvoiced - s.written_off_uninvoiced,
                           after.written_off_unreceived - s.written_off_unreceived,
                           -amounts.get("uninvoiced_receipts", ZERO), amounts.get("unreceived_invoices", ZERO))
        self.standing.append({"lowered": lowered, "given": own})
        self.state = after

    def undo(self) -> None:
        if not self.standing:
            return
        closeout = self.standing.pop()
        before = self.state
        given_back, after, amounts, again = undo_line(before, *closeout["lowered"], closeout["given"])
        self.post(amounts)
        if again is not None:
            self.keep(given_back, after, again)
        self.state = after

    def holds(self) -> None:
        s = self.state
        assert s.to_receive >= 0 and s.to_invoice >= 0, s
        assert s.received >= s.written_off_uninvoiced >= 0 and s.invoiced >= s.written_off_unreceived >= 0, s
        gr, ir = s.gr_balance, s.ir_balance
        assert gr >= 0 and ir >= 0, s
        assert -self.accounts.get("goods_received", ZERO) == gr and self.accounts.get("invoices_received", ZERO) == ir, (
            s, self.accounts)
        if s.to_receive == 0 and s.to_invoice == 0:
            assert gr == 0 and ir == 0, s
        if not self.standing:
            assert (s.lowered_receive, s.lowered_invoice, s.written_off_uninvoiced, s.written_off_unreceived) == (0, 0, 0, 0), s
            held = (self.accounts.get("uninvoiced_receipts", ZERO), self.accounts.get("unreceived_invoices", ZERO))
            assert held == (0, 0), f"{held} left on the write-off accounts with no close-out standing: {s}"


@settings(max_examples=int(os.environ.get("PLEDGER_UNDO_RULE_EXAMPLES", 3000)), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck), database=None)
@given(ordered=st.integers(1, 1000).map(lambda n: Decimal(n) / 100), price=st.integers(1, 2_000_000).map(lambda n: Decimal(n).scaleb(-4)),
       steps=STEPS)
def test_undos_give_back_exactly_what_was_written_off_and_the_books_tie_out(ordered, price, steps):
    line = Line(ordered, price)
    for kind, a, b, flag in steps:
        if kind in ("receive", "invoice"):
            line.document(kind, a, a % 2 == 1 and b == 0, flag)
        elif kind == "close":
            line.close(a, b, flag)
        else:
            line.undo()
        line.holds()


def test_the_two_cent_undo_is_within_its_limit():
    """The history of `tests/test_undo_write_offs.py`'s two-cent undo, on the rule alone: 4 at
    1.8319 received, closed out to invoice 2 then 1, 1 invoiced, 0.33 returned; the undo of
    the second close-out gives back its 1.84 exactly and puts 2 cents on rounding."""
    line = Line(Decimal(4), Decimal("1.8319"))
    line.document("receive", 0, False, False)  # all 4
    line.close_to(ZERO, Decimal(2))
    line.close_to(ZERO, Decimal(1))
    assert [c["given"].uninvoiced_amount for c in line.standing] == [Decimal("3.66"), Decimal("1.84")]
    for step in (lambda s: s.invoice(Decimal(1)), lambda s: s.receive(Decimal("-0.33"))):
        before, line.state = line.state, step(line.state)
        line.post(line_postings(before, line.state, invoice_amount=Decimal("1.83") if line.state.invoiced != before.invoiced else None))
    closeout = line.standing.pop()
    _, after, amounts, again = undo_line(line.state, *closeout["lowered"], closeout["given"])
    assert again is None and amounts == {"goods_received": Decimal("-1.22"), "invoices_received": Decimal("-0.60"),
                                         "uninvoiced_receipts": Decimal("1.84"), "rounding": Decimal("-0.02")}


def test_the_two_cent_undo_on_the_invoices_side_is_within_its_limit():
    """The mirror of the two-cent undo: 4 at 1.8319 invoiced, closed out to receive 2 then 1
    (unreceived invoices 3.66, then 1.84), 1 received, 0.33 credited; undoing the second
    close-out gives back its 1.84 of unreceived invoices exactly, invoices received rising
    by 1.22 and goods received falling by 0.60: 2 cents on rounding, within the limit of one
    cent more than the one write-off it gives back (an unreceived-invoices write-off counts
    as an uninvoiced-receipts one does)."""
    line = Line(Decimal(4), Decimal("1.8319"))
    line.document("invoice", 0, False, False)  # all 4
    line.close_to(Decimal(2), ZERO)
    line.close_to(Decimal(1), ZERO)
    assert [c["given"].unreceived_amount for c in line.standing] == [Decimal("3.66"), Decimal("1.84")]
    for step in (lambda s: s.receive(Decimal(1)), lambda s: s.invoice(Decimal("-0.33"))):
        before, line.state = line.state, step(line.state)
        line.post(line_postings(before, line.state, invoice_amount=Decimal("-0.60") if line.state.invoiced != before.invoiced else None))
    closeout = line.standing.pop()
    _, after, amounts, again = undo_line(line.state, *closeout["lowered"], closeout["given"])
    assert again is None and amounts == {"goods_received": Decimal("0.60"), "invoices_received": Decimal("1.22"),
                                         "unreceived_invoices": Decimal("-1.84"), "rounding": Decimal("0.02")}
