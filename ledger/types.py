"""Exact storage of amounts, prices and quantities on every database.

SQLite stores NUMERIC as a float, so a Decimal column there is silently inexact and SQL
SUM drifts. Every amount, price and quantity column is therefore a scaled integer
(BIGINT holding value x 10^scale) through the one `Scaled` type below, on SQLite and
PostgreSQL alike. A value with more decimals than its column keeps is refused, never
rounded behind the user's back.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from ledger.money import D, MoneyError

AMOUNT_SCALE = 4  # money: covers currencies with 0, 2 and 3 decimals
PRICE_SCALE = 6  # unit prices, rates
QUANTITY_SCALE = 6  # quantities

_MAX = 2**63 - 1


class Scaled(TypeDecorator):
    """A Decimal stored as BIGINT value x 10^scale."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value, dialect):
        return to_scaled(value, self.scale)

    def process_result_value(self, value, dialect):
        return from_scaled(value, self.scale)

    def copy(self, **kw):
        return Scaled(self.scale)


def to_scaled(value, scale: int) -> int | None:
    if value is None:
        return None
    number = value if type(value) is Decimal and value.is_finite() else D(value)
    scaled = number.scaleb(scale)
    result = int(scaled)
    if result != scaled:
        raise MoneyError(f"{number} has more than {scale} decimals")
    if abs(result) > _MAX:
        raise MoneyError(f"{number} is too large to store")
    return result


def fits(value: Decimal, scale: int) -> bool:
    """Whether a column of this scale stores the value exactly (no more decimals than it keeps)."""
    return value.is_finite() and value == value.quantize(Decimal(1).scaleb(-scale))


def from_scaled(value, scale: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).scaleb(-scale)  # the driver gives an int (BIGINT)


def Amount() -> Scaled:
    return Scaled(AMOUNT_SCALE)


def Price() -> Scaled:
    return Scaled(PRICE_SCALE)


def Quantity() -> Scaled:
    return Scaled(QUANTITY_SCALE)
