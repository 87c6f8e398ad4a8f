"""The line-state model of DOMAIN.md, implemented once.

`LineState` holds one order line's quantities; its GR and IR sub-balances follow from
them alone:

    M  = min(R - Wu, I - Wv)                       matched quantity
    GR = value(R) - value(M + Wu)   (credit)        received, not yet invoiced
    IR = value(I) - value(M + Wv)   (debit)         invoiced, not yet received

`line_postings(before, after, ...)` turns any change of state into signed amounts per
posting role (debit positive). Receipts, returns, invoices, credit notes, close-outs,
undos and trials all call it, so partial documents always add up to what one document
of the sum would post, and a fully closed line always ends at GR = IR = 0.

| role                | amount (debit +)                                             |
|---------------------|--------------------------------------------------------------|
| stock (or expense)  | value(R1) - value(R0)                                         |
| goods_received      | -(GR1 - GR0)                                                  |
| invoices_received   | IR1 - IR0                                                     |
| price_differences   | invoice amount - (value(I1) - value(I0))                      |
| creditors           | -invoice amount (the document adds VAT)                       |
| uninvoiced_receipts | -(written-off part of the GR fall), or given (undo)            |
| unreceived_invoices | +(written-off part of the IR fall), or given (undo)            |
| rounding            | what is left to balance: at most one minor unit, only on a    |
|                     | line with write-offs; anything else is a bug and raises        |
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ledger.money import ZERO, minor_unit, value_of

ROLES = (
    "stock",
    "expense",
    "goods_received",
    "invoices_received",
    "price_differences",
    "uninvoiced_receipts",
    "unreceived_invoices",
    "rounding",
    "input_vat",
    "creditors",
)  # also the order in which an entry lists its lines


class RuleError(AssertionError):
    """The model was broken: a bug, never a user error."""


@dataclass(frozen=True)
class LineState:
    """An order line's matching state (DOMAIN.md notation in brackets)."""

    ordered: Decimal  # Q
    price: Decimal  # p, unit price after line discount
    currency: str
    received: Decimal = ZERO  # R
    invoiced: Decimal = ZERO  # I
    lowered_receive: Decimal = ZERO  # Lr
    lowered_invoice: Decimal = ZERO  # Li
    written_off_uninvoiced: Decimal = ZERO  # Wu: received, never to be invoiced
    written_off_unreceived: Decimal = ZERO  # Wv: invoiced, never to be received

    def value(self, quantity: Decimal) -> Decimal:
        return value_of(quantity, self.price, self.currency)

    @property
    def to_receive(self) -> Decimal:
        """AantTeOntv: Q - R - Lr."""
        return self.ordered - self.received - self.lowered_receive

    @property
    def to_invoice(self) -> Decimal:
        """AantTeFact: Q - I - Li."""
        return self.ordered - self.invoiced - self.lowered_invoice

    @property
    def matched(self) -> Decimal:
        """M = min(R - Wu, I - Wv)."""
        return min(self.received - self.written_off_uninvoiced, self.invoiced - self.written_off_unreceived)

    @property
    def gr_balance(self) -> Decimal:
        """Goods received, not invoiced (credit): value(R) - value(M + Wu)."""
        return self.value(self.received) - self.value(self.matched + self.written_off_uninvoiced)

    @property
    def ir_balance(self) -> Decimal:
        """Invoices received, goods not received (debit): value(I) - value(M + Wv)."""
        return self.value(self.invoiced) - self.value(self.matched + self.written_off_unreceived)

    @property
    def has_write_offs(self) -> bool:
        return self.written_off_uninvoiced != ZERO or self.written_off_unreceived != ZERO

    @property
    def is_open(self) -> bool:
        """Expects anything, or holds a GR or IR sub-balance."""
        return (
            self.to_receive != ZERO
            or self.to_invoice != ZERO
            or self.gr_balance != ZERO
            or self.ir_balance != ZERO
        )

    # -- changes of state -------------------------------------------------------------

    def receive(self, quantity: Decimal) -> "LineState":
        """R grows (a return: falls). Goods that a close-out said will never be invoiced are
        written off as they arrive (see `_settle`)."""
        return replace(self, received=self.received + quantity)._settle()

    def invoice(self, quantity: Decimal) -> "LineState":
        """I grows (a credit note: falls); invoiced units whose goods a close-out said will
        never arrive are written off as they are invoiced (see `_settle`)."""
        return replace(self, invoiced=self.invoiced + quantity)._settle()

    def _settle(self) -> "LineState":
        """Keep unmatched received units within what is still to invoice, and vice versa.

        A close-out may lower to invoice below what is still to receive (goods that will
        come but never be invoiced) or the other way round. When such goods (or invoices)
        then arrive, they are written off at once (Wu or Wv grows, posted to uninvoiced
        receipts or unreceived invoices), exactly as a close-out after them would: so a
        line that expects nothing more always holds GR = IR = 0. Lines without close-outs
        never need it (R - M <= Q - I always holds there).
        """
        m = self.matched
        u = max(ZERO, (self.received - self.written_off_uninvoiced - m) - self.to_invoice)
        v = max(ZERO, (self.invoiced - self.written_off_unreceived - m) - self.to_receive)
        if u == ZERO and v == ZERO:
            return self
        return replace(
            self,
            written_off_uninvoiced=self.written_off_uninvoiced + u,
            written_off_unreceived=self.written_off_unreceived + v,
        )

    def close_out(self, to_receive_after: Decimal, to_invoice_after: Decimal) -> "LineState":
        """Lower to receive / to invoice to the given values and write off what will never match.

        u = max(0, (R - Wu - M) - to_invoice_after)   received, now never invoiced
        v = max(0, (I - Wv - M) - to_receive_after)   invoiced, now never received
        """
        m = self.matched
        u = max(ZERO, (self.received - self.written_off_uninvoiced - m) - to_invoice_after)
        v = max(ZERO, (self.invoiced - self.written_off_unreceived - m) - to_receive_after)
        return replace(
            self,
            lowered_receive=self.lowered_receive + (self.to_receive - to_receive_after),
            lowered_invoice=self.lowered_invoice + (self.to_invoice - to_invoice_after),
            written_off_uninvoiced=self.written_off_uninvoiced + u,
            written_off_unreceived=self.written_off_unreceived + v,
        )


def line_postings(
    before: LineState,
    after: LineState,
    *,
    invoice_amount: Decimal | None = None,
    uninvoiced_amount: Decimal | None = None,
    unreceived_amount: Decimal | None = None,
    stock_role: str = "stock",
) -> dict[str, Decimal]:
    """Signed amounts per role (debit +) for a change of one line's state; zeros left out.

    `invoice_amount` is the invoice line's own net amount (round(q x p')) when I changes.
    `uninvoiced_amount` / `unreceived_amount` are what the uninvoiced-receipts and
    unreceived-invoices accounts receive (positive = as a close-out puts it there);
    by default the written-off part of the GR / IR fall, which is what a close-out posts;
    an undo passes the negated amounts its close-out recorded.
    """
    out: dict[str, Decimal] = {}
    gr_change = after.gr_balance - before.gr_balance
    ir_change = after.ir_balance - before.ir_balance
    out[stock_role] = after.value(after.received) - before.value(before.received)
    out["goods_received"] = -gr_change
    out["invoices_received"] = ir_change

    invoiced_value = after.value(after.invoiced) - before.value(before.invoiced)
    if invoice_amount is not None:
        out["price_differences"] = invoice_amount - invoiced_value
        out["creditors"] = -invoice_amount
    elif invoiced_value != ZERO:
        raise RuleError("an invoiced quantity changed without an invoice amount")

    wu_changed = after.written_off_uninvoiced != before.written_off_uninvoiced
    wv_changed = after.written_off_unreceived != before.written_off_unreceived
    # the value of the units written off now, taken at the matched level after the change
    # (a close-out leaves M as it is; a document that writes off as it arrives moves M too)
    if uninvoiced_amount is None and wu_changed:
        m = after.matched
        uninvoiced_amount = after.value(m + after.written_off_uninvoiced) - after.value(m + before.written_off_uninvoiced)
    if unreceived_amount is None and wv_changed:
        m = after.matched
        unreceived_amount = after.value(m + after.written_off_unreceived) - after.value(m + before.written_off_unreceived)
    if uninvoiced_amount is not None:
        out["uninvoiced_receipts"] = -uninvoiced_amount
    if unreceived_amount is not None:
        out["unreceived_invoices"] = unreceived_amount

    rest = sum(out.values(), ZERO)
    if rest != ZERO:
        if abs(rest) > minor_unit(after.currency) or not (before.has_write_offs or after.has_write_offs):
            raise RuleError(f"line postings do not balance by {rest}: {before} -> {after}")
        out["rounding"] = -rest
    return {role: amount for role, amount in out.items() if amount != ZERO}
