"""The posting rules of DOMAIN.md, worked out by an oracle written from its formulas alone,
against what pledger posts.

`check` and the model-based test compare the ledger with the sub-balances the code's own
line rule computes (`LineState.values()`): a formula wrong in that rule would still tie
out. Here nothing of pledger's rule is used. For one order line, random receipts, returns,
invoices and credit notes (at the order's price or another, prices up to 4 decimals),
then one close-out through the CLI (to receive and to invoice lowered as a user would,
with a blank to invoice lowered as CLI.md says), the oracle computes from DOMAIN.md:

    value(X) = round(X * p) half-up; M = min(R - Wu, I - Wv)
    GR = value(R) - value(M + Wu)            IR = value(I) - value(M + Wv)
    u = max(0, (R - Wu - M) - to_invoice_after), v = max(0, (I - Wv - M) - to_receive_after)

and each account the line's journal lines must hold: stock value(R); GR and IR the
balances after the close-out; uninvoiced receipts and unreceived invoices the falls of GR
and IR the close-out posted; price differences the invoices' amounts round(q * p') less
value(I); input VAT round(amount * 21 / 100) per one-line invoice; creditors the invoices'
totals; rounding nothing (no document comes after the close-out).
"""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from ledger.types import AMOUNT_SCALE, from_scaled
from tests.builders import invoice, order, receive
from tests.test_purchase_postings import acme  # noqa: F401 (a fixture: supplier ACME, item BOLT)

ZERO, CENT = Decimal(0), Decimal("0.01")
ACCOUNTS = {"340000": "stock", "444000": "gr", "499100": "ir", "608100": "uninvoiced", "604900": "unreceived",
            "604500": "price_differences", "411000": "vat", "440000": "creditors", "657000": "rounding"}
_orders = itertools.count(1)


def money(x: Decimal) -> Decimal:
    """Rounded to the cent, half-up (ROUND_HALF_UP: ties away from zero, negatives too)."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def quantities(low: int, high: int):
    return st.integers(low * 100, high * 100).map(lambda n: Decimal(n).scaleb(-2))


prices = st.integers(1, 5_000_000).map(lambda n: Decimal(n).scaleb(-4))  # 0.0001 to 500.0000
steps = st.lists(st.tuples(st.sampled_from(["receive", "invoice"]), quantities(-5, 12),
                           st.one_of(st.none(), prices)), max_size=6)


@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ordered=quantities(1, 12), price=prices, documents=steps, lower_receive=st.floats(0, 1),
       lower_invoice=st.one_of(st.none(), st.floats(0, 1)))
def test_a_lines_postings_are_those_domain_md_works_out(acme, tmp_path, ordered, price, documents, lower_receive,
                                                        lower_invoice):
    number = f"PO-O{next(_orders)}"
    value = lambda x: money(x * price)
    R = I = ZERO
    amounts, vat, creditors = ZERO, ZERO, ZERO
    with acme.session() as s:
        order(s, number, ("BOLT", ordered, price))
        for kind, q, invoice_price in documents:
            if q == 0:
                continue
            if kind == "receive":
                if not ZERO <= R + q <= ordered:  # beyond what the line expects, or below zero: refused
                    continue
                receive(s, number, 1, q)
                R += q
            else:
                if not ZERO <= I + q <= ordered:
                    continue
                p = price if invoice_price is None else invoice_price
                invoice(s, number, 1, q, price=invoice_price, vat=21)
                I += q
                amount = money(q * p)
                amounts += amount
                vat += money(amount * 21 / 100)
                creditors += amount + money(amount * 21 / 100)
        s.commit()

    M = min(R, I)
    gr_before, ir_before = value(R) - value(M), value(I) - value(M)
    to_receive, to_invoice = ordered - R, ordered - I
    receive_after = (to_receive * Decimal(str(round(lower_receive, 2)))).quantize(CENT)  # lowered to this
    if lower_invoice is None:  # blank: lowered by as much as to receive is, not below zero
        invoice_after, cell = max(ZERO, to_invoice - (to_receive - receive_after)), ""
    else:
        invoice_after = (to_invoice * Decimal(str(round(lower_invoice, 2)))).quantize(CENT)
        cell = f"{invoice_after}"
    u = max(ZERO, (R - M) - invoice_after)
    v = max(ZERO, (I - M) - receive_after)
    M1 = min(R - u, I - v)
    gr_after, ir_after = value(R) - value(M1 + u), value(I) - value(M1 + v)

    lowers = receive_after < to_receive or invoice_after < to_invoice
    is_open = to_receive > 0 or to_invoice > 0 or gr_before or ir_before
    if lowers and is_open:
        edits = tmp_path / f"{number}.csv"
        edits.write_text(f"order,line,to_receive,to_invoice\n{number},1,{receive_after},{cell}\n", encoding="utf-8")
        result = acme.cli("closeout", "run", "--order", number, "--edits", edits, "--date", "2026-06-30")
        assert result.exit_code == 0, result.output
    else:
        gr_after, ir_after = gr_before, ir_before

    expected = {"stock": value(R), "gr": -gr_after, "ir": ir_after, "uninvoiced": -(gr_before - gr_after),
                "unreceived": ir_before - ir_after, "price_differences": amounts - value(I), "vat": vat,
                "creditors": -creditors, "rounding": ZERO}  # debit - credit
    posted = dict.fromkeys(ACCOUNTS.values(), ZERO)
    for code, net in acme.raw(
            "select a.code, sum(l.debit - l.credit) from entry_lines l join accounts a on a.id = l.account_id "
            "where l.entry_id in (select m.entry_id from entry_lines m join order_lines ol on ol.id = m.order_line_id "
            f"join purchase_orders o on o.id = ol.order_id where o.number = '{number}') group by a.code").all():
        # every line of the line's entries: VAT and creditors are an invoice's, not a line's
        posted[ACCOUNTS[code]] = from_scaled(net, AMOUNT_SCALE)
    assert posted == expected, (ordered, price, documents, receive_after, invoice_after)
    shown = acme.cli("po", "show", number, "--format", "json")
    (line,) = json.loads(shown.stdout)["lines"]
    assert (Decimal(line["gr_balance"]), Decimal(line["ir_balance"])) == (gr_after, ir_after)


def test_the_oracle_rounds_as_domain_md_says():
    """Half-up to the cent, ties away from zero on both sides."""
    assert [money(Decimal(x)) for x in ("0.005", "-0.005", "0.0049", "2.675", "-2.675")] == [
        Decimal("0.01"), Decimal("-0.01"), Decimal("0.00"), Decimal("2.68"), Decimal("-2.68")]
