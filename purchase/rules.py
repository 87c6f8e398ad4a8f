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

from decimal import Decimal
from typing import NamedTuple

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


class LineState(NamedTuple):
    """An order line's matching state (DOMAIN.md notation in brackets).

    Immutable; every change of state returns a new one. A named tuple rather than a
    dataclass: a close-out of a million lines makes a few million of them.
    """

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

    def values(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(value(R), value(I), GR, IR) in one pass: what every posting needs of a state.

        GR = value(R) - value(M + Wu) (credit), IR = value(I) - value(M + Wv) (debit).
        """
        _, p, c, r, i, _, _, wu, wv = self
        m = min(r - wu, i - wv)
        vr, vi = value_of(r, p, c), value_of(i, p, c)
        return vr, vi, vr - value_of(m + wu, p, c), vi - value_of(m + wv, p, c)

    @property
    def gr_balance(self) -> Decimal:
        """Goods received, not invoiced (credit): value(R) - value(M + Wu)."""
        return self.values()[2]

    @property
    def ir_balance(self) -> Decimal:
        """Invoices received, goods not received (debit): value(I) - value(M + Wv)."""
        return self.values()[3]

    @property
    def has_write_offs(self) -> bool:
        return self.written_off_uninvoiced != ZERO or self.written_off_unreceived != ZERO

    @property
    def is_open(self) -> bool:
        """Expects anything, or holds a GR or IR sub-balance."""
        if self.to_receive != ZERO or self.to_invoice != ZERO:
            return True
        if self.received - self.written_off_uninvoiced == self.invoiced - self.written_off_unreceived:
            return False  # M + Wu = R and M + Wv = I: both sub-balances are zero
        _, _, gr, ir = self.values()
        return gr != ZERO or ir != ZERO

    # -- changes of state -------------------------------------------------------------

    def receive(self, quantity: Decimal) -> "LineState":
        """R grows (a return: falls). Goods that a close-out said will never be invoiced are
        written off as they arrive (see `_settle`)."""
        return self._replace(received=self.received + quantity)._settle()

    def invoice(self, quantity: Decimal) -> "LineState":
        """I grows (a credit note: falls); invoiced units whose goods a close-out said will
        never arrive are written off as they are invoiced (see `_settle`)."""
        return self._replace(invoiced=self.invoiced + quantity)._settle()

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
        return self._replace(
            written_off_uninvoiced=self.written_off_uninvoiced + u,
            written_off_unreceived=self.written_off_unreceived + v,
        )

    def close_out(self, to_receive_after: Decimal, to_invoice_after: Decimal) -> "LineState":
        """Lower to receive / to invoice to the given values and write off what will never match.

        u = max(0, (R - Wu - M) - to_invoice_after)   received, now never invoiced
        v = max(0, (I - Wv - M) - to_receive_after)   invoiced, now never received
        """
        q, r, i = self.ordered, self.received, self.invoiced
        lr, li, wu, wv = self.lowered_receive, self.lowered_invoice, self.written_off_uninvoiced, self.written_off_unreceived
        m = min(r - wu, i - wv)
        u = max(ZERO, (r - wu - m) - to_invoice_after)
        v = max(ZERO, (i - wv - m) - to_receive_after)
        return LineState(q, self.price, self.currency, r, i,
                         lr + ((q - r - lr) - to_receive_after), li + ((q - i - li) - to_invoice_after), wu + u, wv + v)


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
    value_received_0, value_invoiced_0, gr_0, ir_0 = before.values()
    value_received_1, value_invoiced_1, gr_1, ir_1 = after.values()
    out: dict[str, Decimal] = {
        stock_role: value_received_1 - value_received_0,
        "goods_received": gr_0 - gr_1,  # -(GR1 - GR0): a rise of the credit balance is a credit
        "invoices_received": ir_1 - ir_0,
    }
    invoiced_value = value_invoiced_1 - value_invoiced_0
    if invoice_amount is not None:
        out["price_differences"] = invoice_amount - invoiced_value
        out["creditors"] = -invoice_amount
    elif invoiced_value != ZERO:
        raise RuleError("an invoiced quantity changed without an invoice amount")

    # the value of the units written off now, taken at the matched level after the change
    # (a close-out leaves M as it is; a document that writes off as it arrives moves M too)
    _, p, currency, r, i, _, _, wu, wv = after
    wu_before, wv_before = before.written_off_uninvoiced, before.written_off_unreceived
    m = min(r - wu, i - wv)
    if uninvoiced_amount is None and wu != wu_before:
        uninvoiced_amount = value_of(m + wu, p, currency) - value_of(m + wu_before, p, currency)
    if unreceived_amount is None and wv != wv_before:
        unreceived_amount = value_of(m + wv, p, currency) - value_of(m + wv_before, p, currency)
    if uninvoiced_amount is not None:
        out["uninvoiced_receipts"] = -uninvoiced_amount
    if unreceived_amount is not None:
        out["unreceived_invoices"] = unreceived_amount

    rest = sum(out.values(), ZERO)
    if rest:
        if abs(rest) > minor_unit(currency) or not (before.has_write_offs or after.has_write_offs):
            raise RuleError(f"line postings do not balance by {rest}: {before} -> {after}")
        out["rounding"] = -rest
    return {role: amount for role, amount in out.items() if amount != ZERO}
