"""The line-state model of DOMAIN.md, implemented once.

A line state holds one order line's quantities; its GR and IR sub-balances follow from
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
| rounding            | what is left to balance: at most one minor unit (an undo: one |
|                     | more per write-off it gives back), only on a line with        |
|                     | write-offs; anything else is a bug and raises                 |

The state comes in two forms with one implementation (`_Rule`): `LineState` in Decimals,
for documents, views and messages, and `StoredLineState` in the stored scaled integers,
for the batch paths (receipts, invoices, close-out, undo) that read lines from their rows
and write them back. Only value(X) differs in form: `value_of` on Decimals, `stored_value`
on the integers, both half-up to the currency's minor unit (tests/test_stored_rule.py
holds the two forms to the same states and postings).
"""

from __future__ import annotations

from collections import namedtuple
from decimal import Decimal

from ledger.money import ZERO, minor_unit, value_of
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, scaled_reader

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


class _Minor(dict):
    """Per currency: (its decimals, the divisor, half of it, its minor unit as a stored amount).

    value(X) on the stored integers is round(q x p / divisor) half-up, in minor units, times
    that unit. A dict, not a cached function: it is looked up for every value computed."""

    def __missing__(self, currency: str) -> tuple[int, int, int, int]:
        digits = -minor_unit(currency).as_tuple().exponent
        if digits > AMOUNT_SCALE:
            raise RuleError(f"{currency} has {digits} decimals; amounts are stored with {AMOUNT_SCALE}")
        divisor = 10 ** (QUANTITY_SCALE + PRICE_SCALE - digits)
        self[currency] = result = (digits, divisor, divisor // 2, 10 ** (AMOUNT_SCALE - digits))
        return result


_MINOR = _Minor()


def stored_value(quantity: int, price: int, currency: str) -> int:
    """value(X) of DOMAIN.md on the stored integers: quantity (x 10^6) times price (x 10^6),
    rounded half-up (away from zero on a tie, as ROUND_HALF_UP) to the currency's minor
    unit, as a stored amount (x 10^4)."""
    _, divisor, half, unit = _MINOR[currency]
    x = quantity * price
    return ((x + half) // divisor if x >= 0 else -((half - x) // divisor)) * unit


quantity_of = scaled_reader(QUANTITY_SCALE)  # a stored quantity as the Decimal its column reads (remembered)
price_of = scaled_reader(PRICE_SCALE)  # a stored price, the same way


def amount_of(stored: int, currency: str) -> Decimal:
    """A stored amount of whole minor units as the Decimal `value_of` gives for it: at the
    currency's minor unit (12.34, not 12.3400), so both forms of the rule post the same."""
    digits, _, _, unit = _MINOR[currency]
    whole, rest = divmod(stored, unit)
    if rest:
        raise RuleError(f"{stored} is not a whole number of {currency} minor units (x 10^{AMOUNT_SCALE})")
    return Decimal(whole).scaleb(-digits)


_new_tuple = tuple.__new__


class _Rule:
    """The line-state model's arithmetic, written once for both ways a state is held.

    `LineState` holds Decimals, as documents, views and users see them; `StoredLineState`
    holds the stored scaled integers (quantities x 10^6, the price x 10^6, amounts x 10^4),
    as the database keeps them, for the batch paths that read and write whole chunks of
    lines (close-out and undo) and never need a Decimal per value. Every rule below uses
    only addition, subtraction, min, max, comparison and `_value` (value(X), rounded
    half-up to the currency's minor unit in the state's own representation), so the two
    are one implementation: tests hold them to the same results.
    """

    __slots__ = ()

    def value(self, quantity):
        return self._value(quantity, self.price, self.currency)

    @property
    def to_receive(self):
        """AantTeOntv: Q - R - Lr."""
        return self.ordered - self.received - self.lowered_receive

    @property
    def to_invoice(self):
        """AantTeFact: Q - I - Li."""
        return self.ordered - self.invoiced - self.lowered_invoice

    @property
    def matched(self):
        """M = min(R - Wu, I - Wv)."""
        return min(self.received - self.written_off_uninvoiced, self.invoiced - self.written_off_unreceived)

    def values(self):
        """(value(R), value(I), GR, IR) in one pass: a state's sub-balances and what they are
        made of (`line_postings` works them out the same way for both sides of a change).

        GR = value(R) - value(M + Wu) (credit), IR = value(I) - value(M + Wv) (debit).
        """
        _, p, c, r, i, _, _, wu, wv = self
        value = self._value
        m = min(r - wu, i - wv)
        vr, vi = value(r, p, c), value(i, p, c)
        return vr, vi, vr - value(m + wu, p, c), vi - value(m + wv, p, c)

    @property
    def gr_balance(self):
        """Goods received, not invoiced (credit): value(R) - value(M + Wu)."""
        return self.values()[2]

    @property
    def ir_balance(self):
        """Invoices received, goods not received (debit): value(I) - value(M + Wv)."""
        return self.values()[3]

    @property
    def has_write_offs(self) -> bool:
        return self.written_off_uninvoiced != 0 or self.written_off_unreceived != 0

    @property
    def is_open(self) -> bool:
        """Expects anything, or holds a GR or IR sub-balance."""
        q, _, _, r, i, lr, li, wu, wv = self  # unpacked once: asked of every line a batch reads
        if q - r - lr != 0 or q - i - li != 0:  # to receive, to invoice
            return True
        if r - wu == i - wv:
            return False  # M + Wu = R and M + Wv = I: both sub-balances are zero
        _, _, gr, ir = self.values()
        return gr != 0 or ir != 0

    # -- changes of state -------------------------------------------------------------

    def receive(self, quantity):
        """R grows (a return: falls). Goods that a close-out said will never be invoiced are
        written off as they arrive (see `_settle`)."""
        q, p, c, r, i, lr, li, wu, wv = self
        return self._settled(q, p, c, r + quantity, i, lr, li, wu, wv)

    def invoice(self, quantity):
        """I grows (a credit note: falls); invoiced units whose goods a close-out said will
        never arrive are written off as they are invoiced (see `_settle`)."""
        q, p, c, r, i, lr, li, wu, wv = self
        return self._settled(q, p, c, r, i + quantity, lr, li, wu, wv)

    def _settle(self):
        """Keep unmatched received units within what is still to invoice, and vice versa.

        A close-out may lower to invoice below what is still to receive (goods that will
        come but never be invoiced) or the other way round. When such goods (or invoices)
        then arrive, they are written off at once (Wu or Wv grows, posted to uninvoiced
        receipts or unreceived invoices), exactly as a close-out after them would: so a
        line that expects nothing more always holds GR = IR = 0. Lines without close-outs
        never need it (R - M <= Q - I always holds there).
        """
        settled = self._settled(*self)
        return self if settled == self else settled

    @classmethod
    def _settled(cls, q, p, c, r, i, lr, li, wu, wv):
        """`_settle` of the state of these values, made once (a receipt or invoice changes a
        state for every line it posts: no state made first and then replaced)."""
        m = min(r - wu, i - wv)
        zero = cls._zero
        u = max(zero, (r - wu - m) - (q - i - li))  # received, unmatched, beyond what is to invoice
        v = max(zero, (i - wv - m) - (q - r - lr))  # invoiced, unmatched, beyond what is to receive
        if u == 0 and v == 0:
            return _new_tuple(cls, (q, p, c, r, i, lr, li, wu, wv))
        return _new_tuple(cls, (q, p, c, r, i, lr, li, wu + u, wv + v))

    def close_out(self, to_receive_after, to_invoice_after):
        """Lower to receive / to invoice to the given values and write off what will never match.

        u = max(0, (R - Wu - M) - to_invoice_after)   received, now never invoiced
        v = max(0, (I - Wv - M) - to_receive_after)   invoiced, now never received
        """
        q, p, c, r, i, lr, li, wu, wv = self
        zero = self._zero
        m = min(r - wu, i - wv)
        u = max(zero, (r - wu - m) - to_invoice_after)
        v = max(zero, (i - wv - m) - to_receive_after)
        return type(self)(q, p, c, r, i, lr + ((q - r - lr) - to_receive_after), li + ((q - i - li) - to_invoice_after),
                          wu + u, wv + v)


_FIELDS = ("ordered", "price", "currency", "received", "invoiced", "lowered_receive", "lowered_invoice",
           "written_off_uninvoiced", "written_off_unreceived")


class LineState(_Rule, namedtuple("LineState", _FIELDS, defaults=(ZERO,) * 6)):
    """An order line's matching state, in Decimals (DOMAIN.md notation in brackets):

    ordered (Q), price (p, the unit price after line discount), currency, received (R),
    invoiced (I), lowered_receive (Lr), lowered_invoice (Li), written_off_uninvoiced (Wu:
    received, never to be invoiced), written_off_unreceived (Wv: invoiced, never to be
    received).

    Immutable; every change of state returns a new one. A named tuple rather than a
    dataclass: a close-out of a million lines makes a few million of them.
    """

    __slots__ = ()
    _zero = ZERO
    _value = staticmethod(value_of)

    @staticmethod
    def unit(currency: str) -> Decimal:
        """The currency's minor unit, as this state's amounts are written."""
        return minor_unit(currency)


class StoredLineState(_Rule, namedtuple("StoredLineState", _FIELDS, defaults=(0,) * 6)):
    """`LineState` on the stored scaled integers: quantities x 10^QUANTITY_SCALE, the price x
    10^PRICE_SCALE; amounts it computes are x 10^AMOUNT_SCALE. What the close-out and its
    undo work on: read from the rows and written back as they are, with no Decimal made."""

    __slots__ = ()
    _zero = 0
    _value = staticmethod(stored_value)

    @staticmethod
    def unit(currency: str) -> int:
        """The currency's minor unit as a stored amount (100 for EUR)."""
        return _MINOR[currency][3]

    def as_decimals(self) -> LineState:
        """The same state in Decimals, as the database's columns read."""
        q, p, c, r, i, lr, li, wu, wv = self
        return LineState(quantity_of(q), price_of(p), c, quantity_of(r), quantity_of(i),
                         quantity_of(lr), quantity_of(li), quantity_of(wu), quantity_of(wv))


def line_postings(
    before,
    after,
    *,
    invoice_amount=None,
    uninvoiced_amount=None,
    unreceived_amount=None,
    stock_role: str = "stock",
    rounding_units: int = 1,
) -> dict:
    """Signed amounts per role (debit +) for a change of one line's state; zeros left out.

    `before` and `after` are both `LineState`s (the amounts are then Decimals) or both
    `StoredLineState`s (stored integers, x 10^AMOUNT_SCALE); the amounts given are in the
    same form. `invoice_amount` is the invoice line's own net amount (round(q x p')) when I
    changes. `uninvoiced_amount` / `unreceived_amount` are what the uninvoiced-receipts and
    unreceived-invoices accounts receive (positive = as a close-out puts it there);
    by default the written-off part of the GR / IR fall, which is what a close-out posts;
    an undo passes the negated amounts its close-out recorded.

    What is left to balance goes to rounding, and may be at most `rounding_units` minor
    units (anything more is a bug and raises). One unit holds for every change the rule
    computes alone. An amount given (an undo's) is a sum of K write-offs each posted as a
    difference of two rounded values, value(a) - value(b); the GR and IR changes are two
    such differences more. Every rounded value is within half a unit of p x its quantity,
    and the quantities add up to the same on both sides, so what is left is under
    (2K + 4) / 2 units: at most K + 1. An undo passes that bound (`matching.closeout`).
    """
    if type(before) is not type(after):
        raise RuleError(f"a change of state from {type(before).__name__} to {type(after).__name__}")
    _, p_0, currency_0, r_0, i_0, _, _, wu_0, wv_0 = before
    _, p, currency, r, i, _, _, wu, wv = after
    value = after._value
    m_0, m = min(r_0 - wu_0, i_0 - wv_0), min(r - wu, i - wv)
    # value(R), value(I), value(M + Wu) and value(M + Wv): what GR and IR are made of (`values`),
    # before and after the change. After it, each is the one before where its quantity and
    # the price are the same: a change moves few of them, a close-out none of R, I and M.
    value_received_0, value_invoiced_0 = value(r_0, p_0, currency_0), value(i_0, p_0, currency_0)
    value_matched_u_0, value_matched_v_0 = value(m_0 + wu_0, p_0, currency_0), value(m_0 + wv_0, p_0, currency_0)
    same_price = p == p_0 and currency == currency_0
    value_received_1 = value_received_0 if same_price and r == r_0 else value(r, p, currency)
    value_invoiced_1 = value_invoiced_0 if same_price and i == i_0 else value(i, p, currency)
    value_matched_u_1 = value_matched_u_0 if same_price and m + wu == m_0 + wu_0 else value(m + wu, p, currency)
    value_matched_v_1 = value_matched_v_0 if same_price and m + wv == m_0 + wv_0 else value(m + wv, p, currency)
    gr_0, ir_0 = value_received_0 - value_matched_u_0, value_invoiced_0 - value_matched_v_0
    gr_1, ir_1 = value_received_1 - value_matched_u_1, value_invoiced_1 - value_matched_v_1
    out: dict = {
        stock_role: value_received_1 - value_received_0,
        "goods_received": gr_0 - gr_1,  # -(GR1 - GR0): a rise of the credit balance is a credit
        "invoices_received": ir_1 - ir_0,
    }
    invoiced_value = value_invoiced_1 - value_invoiced_0
    if invoice_amount is not None:
        out["price_differences"] = invoice_amount - invoiced_value
        out["creditors"] = -invoice_amount
    elif invoiced_value != 0:
        raise RuleError("an invoiced quantity changed without an invoice amount")

    # the value of the units written off now, taken at the matched level after the change
    # (a close-out leaves M as it is; a document that writes off as it arrives moves M too)
    if uninvoiced_amount is None and wu != wu_0:
        uninvoiced_amount = value_matched_u_1 - (value_matched_u_0 if same_price and m == m_0 else value(m + wu_0, p, currency))
    if unreceived_amount is None and wv != wv_0:
        unreceived_amount = value_matched_v_1 - (value_matched_v_0 if same_price and m == m_0 else value(m + wv_0, p, currency))
    if uninvoiced_amount is not None:
        out["uninvoiced_receipts"] = -uninvoiced_amount
    if unreceived_amount is not None:
        out["unreceived_invoices"] = unreceived_amount

    rest = sum(out.values(), after._zero)
    if rest:
        if abs(rest) > rounding_units * after.unit(currency) or not (before.has_write_offs or after.has_write_offs):
            raise RuleError(f"line postings do not balance by {rest}: {before} -> {after}")
        out["rounding"] = -rest
    return {role: amount for role, amount in out.items() if amount != 0}
