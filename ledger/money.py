"""Exact money: one Decimal constructor, half-up rounding to the currency's minor unit.

py-moneyed is the currency registry (codes, names); Babel knows each currency's minor
unit. Neither does the arithmetic: py-moneyed's round() ignores the currency and lets
floats in. Everything here is plain Decimal, and a float is refused wherever it shows up.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Sequence

import moneyed
from babel.numbers import get_currency_precision

from ledger.errors import PledgerError

ZERO = Decimal(0)


class MoneyError(PledgerError, ValueError):
    """A value that cannot be exact money or an exact quantity."""


def D(value: object) -> Decimal:
    """The one Decimal constructor. Accepts Decimal, int and decimal text; never a float.

    Text may carry surrounding blanks; it must be a plain decimal with a point
    ("1234.56", "-3", "0.333"), not "1,234.56", "1e3", "NaN" or "inf".
    """
    if isinstance(value, bool):
        raise MoneyError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        raise MoneyError(f"floats are never accepted as money or quantity: {value!r}")
    elif isinstance(value, str):
        text = value.strip()
        if not text or not _is_plain_decimal(text):
            raise MoneyError(f"not a decimal number: {value!r}")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - _is_plain_decimal guards it
            raise MoneyError(f"not a decimal number: {value!r}") from exc
    else:
        raise MoneyError(f"not a decimal number: {value!r}")
    if not result.is_finite():
        raise MoneyError(f"not a finite number: {value!r}")
    return result


def _is_plain_decimal(text: str) -> bool:
    body = text[1:] if text[0] in "+-" else text
    if not body or body.count(".") > 1:
        return False
    digits = body.replace(".", "")
    return bool(digits) and digits.isascii() and digits.isdigit()


@lru_cache(maxsize=None)
def currency_code(code: str) -> str:
    """The ISO 4217 code, checked against py-moneyed's registry."""
    normalized = (code or "").strip().upper()
    try:
        moneyed.get_currency(normalized)
    except Exception as exc:
        raise MoneyError(f"unknown currency: {code!r}") from exc
    return normalized


@lru_cache(maxsize=None)
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    digits = get_currency_precision(currency_code(currency))
    return Decimal(1).scaleb(-digits)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up (away from zero for negatives) to the currency's minor unit."""
    if not isinstance(amount, Decimal):
        amount = D(amount)
    return amount.quantize(minor_unit(currency), ROUND_HALF_UP)


def value_of(quantity: Decimal, price: Decimal, currency: str) -> Decimal:
    """value(X) of DOMAIN.md: quantity times price, rounded to the minor unit, half-up.

    `round_money` inlined: the product of two Decimals is a Decimal (a float refuses to
    multiply with one), and this runs a dozen times for every line a batch changes. The
    rounding is passed by position: measured, `quantize(unit, rounding=...)` by keyword
    takes twice as long in CPython's decimal.
    """
    return (quantity * price).quantize(minor_unit(currency), ROUND_HALF_UP)


def is_zero(amount: Decimal, currency: str) -> bool:
    return round_money(amount, currency) == ZERO


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` over `weights` in proportion to the signed weights, by largest remainder.

    Each part is `total * w / sum(weights)` rounded down to a whole minor unit, and the
    units left over go one each to the parts with the largest remainders (ties to the
    earlier weight); so the parts sum to `total` exactly and each is within one minor
    unit of its exact share. Weights may have mixed signs (an invoice with a returned
    line): a 2 % discount of -3.84 over nets 240 and -48 is -4.80 and +0.96. A negative
    total is split as its opposite and negated, so `allocate(-t, w) == -allocate(t, w)`.
    Computed with fractions: no precision is lost however many digits the weights have.
    With the weights summing to zero (all zero, or cancelling out) no share is defined:
    the total goes to the first part.
    """
    total = round_money(total, currency)
    if not weights:
        if total != ZERO:
            raise MoneyError("cannot allocate a non-zero amount over nothing")
        return []
    unit = minor_unit(currency)
    units_total = int(total / unit)
    weight_sum = sum(weights, ZERO)
    if weight_sum == ZERO:
        return [total] + [ZERO * unit] * (len(weights) - 1)
    sign = -1 if units_total < 0 else 1
    units_abs = abs(units_total)
    ratio = Fraction(units_abs) / Fraction(weight_sum)
    exact = [ratio * Fraction(w) for w in weights]
    floors = [math.floor(e) for e in exact]
    left = units_abs - sum(floors)  # 0 <= left < len(weights): each floor lost less than one unit
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(sign * n) * unit for n in floors]


def total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


def format_amount(amount: Decimal, currency: str | None = None) -> str:
    """Plain text of an amount at the currency's minor unit, for JSON and CSV ("1000.00")."""
    if currency is not None:
        amount = round_money(amount, currency)
    return f"{amount:f}"


def amount_formatter(currency: str):
    """`format_amount` for one currency as a one-argument function, for reports that
    format an amount for every line they list: the zero of a journal line's other side
    (the one `ZERO`) is made text once."""
    zero = format_amount(ZERO, currency)

    def text(amount: Decimal) -> str:
        return zero if amount is ZERO else format_amount(amount, currency)

    return text


def format_quantity(quantity: Decimal) -> str:
    """Plain text of a quantity without trailing zeros ("2.5", "10")."""
    text = f"{quantity.normalize():f}" if quantity != ZERO else "0"
    return text


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one: "1 document", "3 documents", "2 entries"."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
