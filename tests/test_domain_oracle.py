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

The second test runs whole histories of one line through the CLI: documents after
close-outs and after their undos, close-outs on close-outs, raises. There, beside the same
accounts, an undo with nothing in between must be the exact mirror of its close-out, and a
line with no close-out standing holds nothing on the write-off accounts.
"""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings, strategies as st

from ledger.check import check_ledger
from ledger.types import AMOUNT_SCALE, from_scaled
from purchase.checks import check_tie_out
from purchase.documents import DocumentError
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
    posted = _posted(acme, number)  # every line of the line's entries: VAT and creditors are an invoice's, not a line's
    assert posted == expected, (ordered, price, documents, receive_after, invoice_after)
    shown = acme.cli("po", "show", number, "--format", "json")
    (line,) = json.loads(shown.stdout)["lines"]
    assert (Decimal(line["gr_balance"]), Decimal(line["ir_balance"])) == (gr_after, ir_after)


def test_the_oracle_rounds_as_domain_md_says():
    """Half-up to the cent, ties away from zero on both sides."""
    assert [money(Decimal(x)) for x in ("0.005", "-0.005", "0.0049", "2.675", "-2.675")] == [
        Decimal("0.01"), Decimal("-0.01"), Decimal("0.00"), Decimal("2.68"), Decimal("-2.68")]


# -- whole histories: documents after close-outs, undos, raises -------------------------------

document_quantities = st.one_of(quantities(-5, 12), st.sampled_from(["rest", "half back"]))  # what the line expects; half of it back
fractions = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1))  # of to receive / to invoice, kept after a close-out
history = st.lists(st.one_of(
    st.tuples(st.just("receive"), document_quantities, st.none()),
    st.tuples(st.just("invoice"), document_quantities, st.one_of(st.none(), prices)),
    st.tuples(st.just("close"), fractions, st.one_of(st.none(), fractions)),  # blank to invoice: None
    st.tuples(st.just("close fully"), st.none(), st.none()),
    st.tuples(st.just("undo"), st.none(), st.none()),  # the newest close-out standing on the line
    st.tuples(st.just("raise"), quantities(0, 3), st.none()),
), max_size=14)


def _line(books, number) -> dict:
    (line,) = json.loads(books.cli("po", "show", number, "--format", "json").stdout)["lines"]
    return line


def _posted(books, number) -> dict:
    """Debit - credit per account role over every journal line of the entries touching the order."""
    posted = dict.fromkeys(ACCOUNTS.values(), ZERO)
    for code, net in books.raw(
            "select a.code, sum(l.debit - l.credit) from entry_lines l join accounts a on a.id = l.account_id "
            "where l.entry_id in (select m.entry_id from entry_lines m join order_lines ol on ol.id = m.order_line_id "
            f"join purchase_orders o on o.id = ol.order_id where o.number = '{number}') group by a.code").all():
        posted[ACCOUNTS[code]] = from_scaled(net, AMOUNT_SCALE)
    return posted


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ordered=quantities(1, 12), price=prices, steps=history)
def test_documents_close_outs_undos_and_raises_in_any_order_post_what_domain_md_works_out(acme, tmp_path, ordered, price,
                                                                                          steps):
    """Any history of one line through the CLI: receipts and returns, invoices and credit
    notes (at the order's price or another), close-outs (lowered, to invoice left blank or
    set, or closed fully), undos of the newest one, raises; documents after close-outs and
    after their undos. After every step, against the oracle of DOMAIN.md (no rule of
    pledger's): stock holds value(R), price differences the invoices' amounts less value(I),
    input VAT and creditors what the one-line invoices add up to; goods received and
    invoices received the line's GR and IR as `po show` gives them, never negative, and zero
    on a line that expects nothing; `check` passes; a trial equals its real run; what a
    close-out's report says it wrote off is what its entries put on the write-off accounts;
    an undo with no document or raise since its close-out gives back the line's quantities
    and every account exactly (the mirror of the close-out); and a line with no close-out
    standing holds nothing on the write-off accounts."""
    number = f"PO-H{next(_orders)}"
    value = lambda x: money(x * price)
    R = I = ZERO
    amounts = vat = ZERO
    standing: list[tuple[int, dict, dict, bool]] = []  # (number, account sums before, line before, touched since)
    with acme.session() as s:
        order(s, number, ("BOLT", ordered, price))
    for kind, a, b in steps:
        if kind in ("receive", "invoice", "raise"):
            if kind == "raise":
                result = acme.cli("po", "raise", number, "--line", f"1={Decimal(_line(acme, number)['ordered']) + a}")
                if result.exit_code != 0:
                    assert a == 0, result.output
                    continue
            else:
                if isinstance(a, str):
                    line = _line(acme, number)
                    a = (Decimal(line["to_receive" if kind == "receive" else "to_invoice"]) if a == "rest" else
                         -(Decimal(line["received" if kind == "receive" else "invoiced"]) / 2).quantize(CENT))
                if a == 0:
                    continue
                try:
                    with acme.session() as s:
                        if kind == "receive":
                            receive(s, number, 1, a)
                        else:
                            invoice(s, number, 1, a, price=b, vat=21)
                except DocumentError:
                    continue  # beyond what the line expects, or below a write-off: refused, nothing written
                if kind == "receive":
                    R += a
                else:
                    I += a
                    amount = money(a * (price if b is None else b))
                    amounts, vat = amounts + amount, vat + money(amount * 21 / 100)
            standing = [(n, sums, line, True) for n, sums, line, _ in standing]
        else:
            before_line, before_sums = _line(acme, number), _posted(acme, number)
            if kind == "undo":
                if not standing:
                    continue
                args = ["closeout", "undo", "--line", f"{number}:1"]
            elif kind == "close fully":
                args = ["closeout", "run", "--order", number, "--close-fully"]
            else:
                to_receive, to_invoice = Decimal(before_line["to_receive"]), Decimal(before_line["to_invoice"])
                cell = "" if b is None else f"{(to_invoice * Decimal(str(round(b, 2)))).quantize(CENT)}"
                edits = tmp_path / f"{number}.csv"
                edits.write_text(f"order,line,to_receive,to_invoice\n{number},1,"
                                 f"{(to_receive * Decimal(str(round(a, 2)))).quantize(CENT)},{cell}\n", encoding="utf-8")
                args = ["closeout", "run", "--order", number, "--edits", edits]
            args += ["--date", "2026-06-30", "--format", "json"]
            trial, real = acme.cli(*args, "--trial"), acme.cli(*args)
            if kind == "close" and not before_line["open"]:  # an edit naming a line that is not open: refused
                assert trial.exit_code == real.exit_code == 1, real.output
                continue
            assert trial.exit_code == real.exit_code == 0, real.output
            trial, real = json.loads(trial.stdout), json.loads(real.stdout)
            strip = lambda r: {**r, "closeout": None, "trial": None, "entries": [{**e, "number": None} for e in r["entries"]]}
            assert strip(trial) == strip(real)
            net = {}
            for entry in real["entries"]:
                for line in entry["lines"]:
                    net[line["account"]] = net.get(line["account"], ZERO) + Decimal(line["debit"]) - Decimal(line["credit"])
            assert -net.get("608100", ZERO) == sum((Decimal(l["uninvoiced_amount"]) for l in real["lines"]), ZERO)
            assert net.get("604900", ZERO) == sum((Decimal(l["unreceived_amount"]) for l in real["lines"]), ZERO)
            if kind == "undo":
                undone, sums, line, touched = standing.pop()
                assert real["undo_of"] == undone
                if not touched:  # the exact mirror: the line and its accounts as they were before the close-out
                    assert _posted(acme, number) == sums
                    assert _line(acme, number) | {"closeouts": None} == line | {"closeouts": None}
            elif real["closeout"] is not None:
                standing.append((real["closeout"], before_sums, before_line, False))

        with acme.session() as s:
            assert check_ledger(s) == [] and check_tie_out(s) == []
        line, posted = _line(acme, number), _posted(acme, number)
        gr, ir = Decimal(line["gr_balance"]), Decimal(line["ir_balance"])
        assert (Decimal(line["received"]), Decimal(line["invoiced"])) == (R, I)
        assert gr >= 0 and ir >= 0
        if Decimal(line["to_receive"]) == 0 and Decimal(line["to_invoice"]) == 0:
            assert gr == ir == 0
        assert (posted["stock"], posted["gr"], posted["ir"]) == (value(R), -gr, ir)
        assert (posted["price_differences"], posted["vat"]) == (amounts - value(I), vat)
        assert posted["creditors"] == -(amounts + vat)
        if not standing:
            assert posted["uninvoiced"] == posted["unreceived"] == ZERO
