"""The money module: one Decimal constructor, half-up rounding, exact allocation."""

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from ledger.money import ZERO, D, MoneyError, allocate, amount_formatter, format_amount, minor_unit, round_money, value_of


@pytest.mark.parametrize("bad", [1.5, float("nan"), "NaN", "inf", "-Infinity", "1e3", "1,234.56", "1.234,56", "", " ", "12a", "--1", "1..2", True, None])
def test_the_decimal_constructor_refuses_what_is_not_plain_exact_decimal(bad):
    with pytest.raises(MoneyError):
        D(bad)


def test_the_decimal_constructor_takes_text_ints_and_decimals():
    assert D(" 1234.56 ") == Decimal("1234.56")
    assert D(-3) == Decimal(-3)
    assert D("+0.333") == Decimal("0.333")
    assert D(Decimal("2.5")) == Decimal("2.5")


def test_minor_units_come_from_babel():
    assert minor_unit("EUR") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal("1")
    assert minor_unit("BHD") == Decimal("0.001")


def test_half_up_rounding_goes_away_from_zero_for_negatives():
    assert round_money(Decimal("0.005"), "EUR") == Decimal("0.01")
    assert round_money(Decimal("-0.005"), "EUR") == Decimal("-0.01")
    assert round_money(Decimal("0.0049"), "EUR") == Decimal("0.00")
    assert value_of(Decimal("1"), Decimal("0.333"), "EUR") == Decimal("0.33")
    assert value_of(Decimal("2"), Decimal("0.333"), "EUR") == Decimal("0.67")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")


def test_unknown_currency_is_refused():
    with pytest.raises(MoneyError, match="unknown currency"):
        minor_unit("XYZ1")


def test_allocation_by_largest_remainder():
    assert allocate(Decimal("10.00"), [Decimal(1)] * 3, "EUR") == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert allocate(Decimal("-10.00"), [Decimal(1)] * 3, "EUR") == [Decimal("-3.34"), Decimal("-3.33"), Decimal("-3.33")]
    assert allocate(Decimal("1.00"), [Decimal("0.7"), Decimal("0.2"), Decimal("0.1")], "EUR") == [
        Decimal("0.70"), Decimal("0.20"), Decimal("0.10")]


amounts = st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
weights = st.lists(st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False), min_size=1, max_size=12)


@given(amounts, weights)
def test_allocated_parts_sum_exactly_and_stay_within_a_unit_of_their_share(total, ws):
    parts = allocate(total, ws, "EUR")
    assert sum(parts, Decimal(0)) == total
    assert all(p == round_money(p, "EUR") for p in parts)
    weight_sum = sum(ws, Decimal(0))
    if weight_sum:
        for p, w in zip(parts, ws):
            assert abs(p - total * w / weight_sum) < Decimal("0.01")


def test_allocation_with_mixed_signs_and_with_weights_that_cancel_out():
    """The docstring's own figures: 2 % of -3.84 over nets 240 and -48 is -4.80 and +0.96;
    0.01 over -1, -1 and 4 (shares -0.005, -0.005, 0.02) is 0.00, -0.01, 0.02, the unit left
    over going to the earlier of the two equal remainders. Weights summing to zero define no
    share: the whole total goes to the first part."""
    assert allocate(Decimal("-3.84"), [Decimal(240), Decimal(-48)], "EUR") == [Decimal("-4.80"), Decimal("0.96")]
    assert allocate(Decimal("0.01"), [Decimal(-1), Decimal(-1), Decimal(4)], "EUR") == [
        Decimal("0.00"), Decimal("-0.01"), Decimal("0.02")]
    assert allocate(Decimal("5.00"), [Decimal(3), Decimal(-3), Decimal(0)], "EUR") == [
        Decimal("5.00"), Decimal("0.00"), Decimal("0.00")]


@given(st.one_of(st.just(ZERO), st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-10**12, max_value=10**12)),
       st.sampled_from(["EUR", "JPY", "BHD"]))
def test_a_reports_amount_formatter_writes_what_format_amount_writes(amount, currency):
    assert amount_formatter(currency)(amount) == format_amount(amount, currency)


@pytest.mark.parametrize("currency", ["EUR", "JPY", "KWD"])
@given(st.integers(min_value=-(10**14), max_value=10**14))
def test_a_stored_amount_reads_as_its_decimal_does(currency, minor_units):
    from ledger.money import format_amount, minor_unit
    from ledger.types import AMOUNT_SCALE, stored_amount_text, to_scaled

    amount = minor_units * minor_unit(currency)
    assert stored_amount_text(currency)(to_scaled(amount, AMOUNT_SCALE)) == format_amount(amount, currency)


def test_a_stored_amount_finer_than_the_minor_unit_is_refused():
    from ledger.types import stored_amount_text

    with pytest.raises(MoneyError, match="0.001 is finer than the EUR minor unit"):
        stored_amount_text("EUR")(10)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_stored_quantity_reads_as_its_decimal_does(stored):
    from ledger.money import format_quantity
    from ledger.types import QUANTITY_SCALE, from_scaled, stored_quantity_text

    assert stored_quantity_text(stored) == format_quantity(from_scaled(stored, QUANTITY_SCALE))


def test_remembered_values_are_made_once_and_memory_stays_bounded(monkeypatch):
    """How reports remember the texts of their amounts and quantities (and batches their Decimals)."""
    from ledger.types import Remembered, stored_amount_text

    made = []
    texts = Remembered(lambda value: made.append(value) or f"<{value}>")
    monkeypatch.setattr(texts, "LIMIT", 3)
    assert [texts[v] for v in (1, 2, 1, 2, None)] == ["<1>", "<2>", "<1>", "<2>", None]
    assert made == [1, 2]  # each value made once; None is None without asking
    for v in (3, 4, 5, 6):
        texts[v]
    assert len(texts) <= texts.LIMIT + 1 and texts[1] == "<1>" and made[-1] == 1  # emptied, then made again
    amount = stored_amount_text("EUR")
    for _ in range(2):  # a refusal is never remembered as a text
        with pytest.raises(MoneyError, match="finer than the EUR minor unit"):
            amount(10)


def test_a_count_says_its_noun_in_the_singular_for_one_only():
    from ledger.money import counted

    assert [counted(n, "document") for n in (0, 1, 2)] == ["0 documents", "1 document", "2 documents"]
    assert [counted(n, "entry", "entries") for n in (1, 12)] == ["1 entry", "12 entries"]
