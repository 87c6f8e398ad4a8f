"""DOMAIN.md: "GR and IR may be configured as the same account (the SAP-style single GR/IR
clearing account); everything below must then still hold, and no entry may contain a line
that nets to nothing." And "value(X) = round(X * p) to the currency's minor unit, half-up",
with p "the line's unit price after line discount".

The oracle tests (`test_domain_oracle.py`) hold one line in euros, invoices of one line at
one rate, GR and IR apart. Here, with GR and IR as one account, in books kept in euros,
yen (no decimals) or Bahraini dinar (three), an order of two lines (a stock item at 21 %
with a line discount, a service at 6 %) goes through random receipts, returns, invoices
and credit notes covering both lines at once (at the order's price or another),
close-outs and undos. After every step, worked out from DOMAIN.md's formulas alone (the
line's state read back, the amounts computed here in Decimals):

- every entry has two lines or more and none nets to nothing;
- stock (expense) holds value(R) per line; the one GR/IR account holds IR - GR per line,
  GR = value(R) - value(M + Wu) and IR = value(I) - value(M + Wv), never negative, both zero
  on a line that expects nothing; price differences hold the invoices' amounts round(q x p')
  less value(I);
- each invoice's input VAT is round(sum of its net amounts at a rate x rate / 100) per
  rate, and creditors its net plus VAT;
- a rounding line only on an order line that a close-out touched (DOMAIN.md, rule 3);
- `check` passes (balanced entries, gapless numbers, GR/IR tie-out).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from ledger.check import check_ledger
from ledger.errors import PledgerError
from ledger.models import Account, EntryLine
from matching.closeout import Edit, UndoSelection, run_closeout, undo_closeouts
from matching.selection import Selection
from purchase.checks import check_tie_out
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers
from purchase.models import Invoice, OrderLine, PurchaseOrder
from purchase.settings import role_accounts, set_setting
from purchase.state import line_state

ZERO = Decimal(0)
DAY = dt.date(2026, 5, 4)
UNIT = {"EUR": Decimal("0.01"), "JPY": Decimal("1"), "BHD": Decimal("0.001")}
_numbers = itertools.count(1)


def rounded(x: Decimal, currency: str) -> Decimal:
    """Half-up to the minor unit, ties away from zero for negatives too."""
    return x.quantize(UNIT[currency], rounding=ROUND_HALF_UP)


def books_in(books, currency: str):
    """The test's book kept in `currency`, GR and IR one account; set once, before anything posts."""
    with books.session() as s:
        done = role_accounts(s)["invoices_received"] == role_accounts(s)["goods_received"]
    if done:
        return
    books.raw("UPDATE ledger_settings SET value = :c WHERE key = 'base_currency'", c=currency)
    with books.session() as s:
        if True:
            set_setting(s, "invoices_received", role_accounts(s)["goods_received"])
            upsert_suppliers(s, [SupplierData("ACME", "Acme NV", currency)])
            upsert_items(s, [ItemData("BOLT", "Bolt M8", stock_item=True), ItemData("SVC", "Service", stock_item=False)])


quantities = st.one_of(st.sampled_from(["rest", "half", "back", None]),  # of what the line expects / holds
                       st.integers(-400, 1200).map(lambda n: Decimal(n).scaleb(-2)))  # -4.00 .. 12.00
prices = st.integers(1, 5_000_000).map(lambda n: Decimal(n).scaleb(-4))  # 0.0001 .. 500.0000
step = st.one_of(
    st.tuples(st.just("receive"), quantities, quantities, st.none()),
    st.tuples(st.just("invoice"), quantities, quantities, st.one_of(st.none(), prices)),
    st.tuples(st.just("close"), st.sampled_from([None, 0.0, 0.5]), st.sampled_from([None, 0.0, 0.5]), st.none()),
    st.tuples(st.just("close fully"), st.none(), st.none(), st.none()),
    st.tuples(st.just("undo"), st.none(), st.none(), st.none()),
)


@pytest.mark.parametrize("currency", sorted(UNIT))
@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ordered=st.tuples(st.integers(1, 12), st.integers(1, 12)),
       price=st.tuples(prices, prices), discount=st.sampled_from([Decimal(0), Decimal("2.5"), Decimal("33.33")]),
       steps=st.lists(step, max_size=10))
def test_gr_and_ir_as_one_account_post_what_domain_md_works_out(books, currency, ordered, price, discount, steps):
    books_in(books, currency)
    number = f"PO-G{next(_numbers)}"
    with books.session() as s:
        create_orders(s, [OrderData(number, "ACME", DAY, [
            OrderLineData(1, "BOLT", Decimal(ordered[0]), price[0], discount_pct=discount, vat_rate=Decimal(21)),
            OrderLineData(2, "SVC", Decimal(ordered[1]), price[1], vat_rate=Decimal(6))])])
    invoiced_amounts = defaultdict(lambda: ZERO)  # per line: the invoices' amounts round(q x p')
    closed_out: set[int] = set()  # lines a close-out touched (rounding may then post)
    for kind, a, b, other_price in steps:
        docs = next(_numbers)
        if kind in ("receive", "invoice"):
            with books.session() as s:
                a, b = (_quantity(kind, state, q) for state, q in zip(_states(s, number).values(), (a, b)))
        try:
            with books.session() as s:
                if kind == "receive":
                    lines = [DocLine(number, n, q) for n, q in ((1, a), (2, b)) if q != 0]
                    if lines:
                        DocumentPoster(s, "ann").post_receipts([ReceiptDoc(f"R{docs}", DAY, lines)])
                elif kind == "invoice":
                    lines = [DocLine(number, n, q, unit_price=other_price) for n, q in ((1, a), (2, b)) if q != 0]
                    if lines:
                        states = _states(s, number)
                        DocumentPoster(s, "ann").post_invoices([InvoiceDoc(f"I{docs}", f"S{docs}", DAY, lines)])
                        for line in lines:
                            p = states[line.line].price if other_price is None else other_price
                            invoiced_amounts[line.line] += rounded(line.quantity * p, currency)
                elif kind == "close fully":
                    report = run_closeout(s, Selection(order=(number, number)), user="ann", date=DAY, close_fully=True)
                    closed_out.update(row["line"] for row in report.to_json()["lines"])
                elif kind == "close":
                    edits = []
                    for n, state in _states(s, number).items():
                        if state.is_open:
                            edits.append(Edit(number, n, None if a is None else (state.to_receive * Decimal(str(a))).quantize(Decimal("0.01")),
                                              None if b is None else (state.to_invoice * Decimal(str(b))).quantize(Decimal("0.01"))))
                    if edits:
                        report = run_closeout(s, Selection(order=(number, number)), user="ann", date=DAY, edits=edits)
                        closed_out.update(row["line"] for row in report.to_json()["lines"])
                else:
                    undo_closeouts(s, UndoSelection(numbers=(None, None), line=(number, 1)), user="ann", date=DAY)
        except PledgerError:
            continue  # refused as DOMAIN.md says (beyond what a line expects, below a write-off, nothing to undo): nothing written
        _assert_domain(books, number, currency, invoiced_amounts, closed_out)


def _quantity(kind, state, q):
    """A document's quantity for a line: as drawn, or what the line expects ("rest"), half
    of it, or half of what it holds back (a return, a credit note)."""
    expects, holds = (state.to_receive, state.received) if kind == "receive" else (state.to_invoice, state.invoiced)
    if q is None:
        return ZERO
    if q == "rest":
        return expects
    if q == "half":
        return (expects / 2).quantize(Decimal("0.01"))
    if q == "back":
        return -(holds / 2).quantize(Decimal("0.01"))
    return q


def _states(s, number):
    rows = s.execute(select(OrderLine).join(PurchaseOrder).where(PurchaseOrder.number == number)).scalars()
    return {l.line_no: line_state(l, s.scalar(select(PurchaseOrder.currency).where(PurchaseOrder.number == number)))
            for l in rows}


def _assert_domain(books, number, currency, invoiced_amounts, closed_out):
    with books.session() as s:
        assert check_ledger(s) == [] and check_tie_out(s) == []
        accounts = role_accounts(s)
        code_of = dict(s.execute(select(Account.id, Account.code)).all())
        ids = {l.id: l.line_no for l in s.execute(select(OrderLine).join(PurchaseOrder)
                                                    .where(PurchaseOrder.number == number)).scalars()}
        entry_ids = set(s.scalars(select(EntryLine.entry_id).where(EntryLine.order_line_id.in_(ids))))
        lines = s.execute(select(EntryLine).where(EntryLine.entry_id.in_(entry_ids))).scalars().all()
        per_entry = defaultdict(list)
        for line in lines:
            per_entry[line.entry_id].append(line)
        held = defaultdict(lambda: ZERO)  # (account, order line number or None) -> debit - credit
        for entry_id, its in per_entry.items():
            assert len(its) >= 2, f"entry {entry_id} has {len(its)} line"
            for line in its:
                assert line.debit != 0 or line.credit != 0, f"entry {entry_id} has a line that nets to nothing"
                held[(code_of[line.account_id], ids.get(line.order_line_id))] += line.debit - line.credit
                if code_of[line.account_id] == accounts["rounding"] and line.order_line_id is not None:
                    assert ids[line.order_line_id] in closed_out, "a rounding line on a line no close-out touched"
        for n, state in _states(s, number).items():
            p = state.price
            value = lambda x: rounded(x * p, currency)
            m = min(state.received - state.written_off_uninvoiced, state.invoiced - state.written_off_unreceived)
            gr = value(state.received) - value(m + state.written_off_uninvoiced)
            ir = value(state.invoiced) - value(m + state.written_off_unreceived)
            assert gr >= 0 and ir >= 0
            if state.to_receive == 0 and state.to_invoice == 0:
                assert gr == ir == 0
            stock = accounts["stock"] if n == 1 else accounts["expense"]
            assert held[(stock, n)] == value(state.received)
            assert held[(accounts["goods_received"], n)] == ir - gr
            assert held[(accounts["price_differences"], n)] == invoiced_amounts[n] - value(state.invoiced)
        for invoice in s.execute(select(Invoice).where(Invoice.entry_id.in_(entry_ids))).scalars():
            nets = defaultdict(lambda: ZERO)
            for line in invoice.lines:
                nets[line.vat_rate] += line.amount
            vat = sum((rounded(net * rate / 100, currency) for rate, net in nets.items()), ZERO)
            its = per_entry[invoice.entry_id]
            assert sum((l.debit - l.credit for l in its if code_of[l.account_id] == accounts["input_vat"]), ZERO) == vat
            assert sum((l.debit - l.credit for l in its if code_of[l.account_id] == accounts["creditors"]), ZERO) == \
                -(sum(nets.values(), ZERO) + vat)
