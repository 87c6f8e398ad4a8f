"""`purchase.journal.merge_lines`: lines on one account and the same dimensions net into one,
what nets to zero goes, and a line alone on its key is kept as it is."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from ledger.money import ZERO
from ledger.posting import LineSpec, StoredLine
from ledger.types import to_scaled
from purchase.journal import merge_lines

D = Decimal


def netted(lines):
    """The rule written out plainly: per (account, dimensions), the sum, as `LineSpec.signed` builds it."""
    sums, quantities = {}, {}
    for line in lines:
        key = (line.account, line.partner_id, line.order_line_id, line.document)
        sums[key] = sums.get(key, ZERO) + line.debit - line.credit
        if quantities.get(key) is None:
            quantities[key] = line.quantity
    return [LineSpec.signed(a, amount, partner_id=p, order_line_id=o, document=d, quantity=quantities[(a, p, o, d)])
            for (a, p, o, d), amount in sums.items() if amount != ZERO]


amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
lines = st.builds(
    lambda account, amount, partner, order_line, quantity, raw_debit: (
        LineSpec(account, amount, ZERO, partner, order_line, "receipt R-1", quantity) if raw_debit else
        LineSpec.signed(account, amount, partner_id=partner, order_line_id=order_line, document="receipt R-1", quantity=quantity)),
    st.sampled_from(["444000", "340000", "499100"]), amounts, st.sampled_from([1, 2]), st.sampled_from([None, 7, 8]),
    st.sampled_from([None, D("2"), D("0.5")]), st.booleans())


@given(st.lists(lines, max_size=8))
def test_merged_lines_are_the_netted_sums(given_lines):
    assert merge_lines(given_lines) == netted(given_lines)


def test_a_line_alone_on_its_key_is_the_same_object():
    alone = LineSpec.signed("340000", D("12.50"), partner_id=1, order_line_id=7, document="receipt R-1", quantity=D(5))
    twice = [LineSpec.signed("444000", D("-10.00"), partner_id=1, order_line_id=7, document="receipt R-1"),
             LineSpec.signed("444000", D("-2.50"), partner_id=1, order_line_id=7, document="receipt R-1", quantity=D(5))]
    merged = merge_lines([alone, *twice])
    assert merged[0] is alone
    assert merged[1] == LineSpec("444000", ZERO, D("12.50"), 1, 7, "receipt R-1", D(5))


def test_a_negative_debit_alone_is_rebuilt_as_a_credit():
    odd = LineSpec("444000", D("-3.00"), ZERO, 1, 7, "receipt R-1")
    assert merge_lines([odd]) == [LineSpec("444000", ZERO, D("3.00"), 1, 7, "receipt R-1")]


def _stored(line: LineSpec) -> StoredLine:
    """A Decimal line as the stored integers (amounts x 10^4, quantity x 10^6)."""
    return StoredLine(line.account, to_scaled(line.debit, 4), to_scaled(line.credit, 4), line.partner_id, line.order_line_id,
                      line.document, to_scaled(line.quantity, 6))


@given(st.lists(lines, max_size=8))
def test_stored_lines_merge_as_their_decimals_do(given_lines):
    merged = merge_lines([_stored(l) for l in given_lines])
    assert all(type(l) is StoredLine for l in merged)
    assert merged == [_stored(l) for l in merge_lines(given_lines)]
