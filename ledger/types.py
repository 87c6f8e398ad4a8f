"""Exact storage of amounts, prices and quantities on every database.

SQLite stores NUMERIC as a float, so a Decimal column there is silently inexact and SQL
SUM drifts. Every amount, price and quantity column is therefore a scaled integer
(BIGINT holding value x 10^scale) through the one `Scaled` type below, on SQLite and
PostgreSQL alike. A value with more decimals than its column keeps is refused, never
rounded behind the user's back.
"""

from __future__ import annotations

from decimal import MAX_PREC, Context, Decimal, Inexact, InvalidOperation
from itertools import repeat

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from ledger.money import D, MoneyError, minor_unit

AMOUNT_SCALE = 4  # money: covers currencies with 0, 2 and 3 decimals
PRICE_SCALE = 6  # unit prices, rates
QUANTITY_SCALE = 6  # quantities

_MAX = 2**63 - 1
_EXACT = Context(prec=MAX_PREC, traps=[Inexact, InvalidOperation])
"""Scaling in this context never rounds: a Decimal of more digits than the default 28
would otherwise be rounded by `scaleb` and pass as exact."""


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

    # The two processors below do what process_bind_param / process_result_value do,
    # without the three Python calls a value that TypeDecorator's wrappers cost (BIGINT
    # needs no driver processing on SQLite or psycopg). Reads go through a bounded cache
    # of the Decimals already made, which is what makes a batch read cheap.

    def bind_processor(self, dialect):
        if self.impl_instance.bind_processor(dialect) is not None:  # pragma: no cover - no such driver in use
            return super().bind_processor(dialect)
        return scaled_writer(self.scale)

    def result_processor(self, dialect, coltype):
        if self.impl_instance.result_processor(dialect, coltype) is not None:  # pragma: no cover
            return super().result_processor(dialect, coltype)
        return _DECIMALS[self.scale].__getitem__

    def copy(self, **kw):
        return Scaled(self.scale)


def to_scaled(value, scale: int) -> int | None:
    if value is None:
        return None
    number = value if type(value) is Decimal and value.is_finite() else D(value)
    try:
        scaled = number.scaleb(scale, _EXACT)
    except Inexact:
        raise MoneyError(f"{number} has more than {scale} decimals") from None
    result = int(scaled)
    if result != scaled:
        raise MoneyError(f"{number} has more than {scale} decimals")
    if abs(result) > _MAX:
        raise MoneyError(f"{number} {too_large_to_store(scale)}")
    return result


def largest(scale: int) -> Decimal:
    """The largest value a column of this scale stores (a BIGINT: 2^63 - 1, scaled)."""
    return Decimal(_MAX).scaleb(-scale)


def too_large_to_store(scale: int) -> str:
    """What a refusal says of a value beyond what a column of this scale stores, with the
    limit, so that the person knows how far off it is: "is too large to store (at most
    9223372036854.775807)"."""
    return f"is too large to store (at most {largest(scale):f})"


def fits(value: Decimal, scale: int) -> bool:
    """Whether a column of this scale stores the value exactly (no more decimals than it keeps)."""
    step = _STEPS.get(scale) or Decimal(1).scaleb(-scale)  # every value an import reads comes here
    if not value.is_finite():
        return False
    try:
        return value == value.quantize(step)
    except InvalidOperation:  # more digits than the default context's 28 (23 digits and 6 decimals): asked again
        return value == value.quantize(step, context=_WIDE)


_WIDE = Context(prec=MAX_PREC)
"""Quantizing in this context never fails for want of digits: a value of 23 digits and 6
decimals is more than the default 28 (InvalidOperation, an internal error); it fits or not,
and `to_scaled` then says it is too large to store. Only for such values: quantizing in it
takes twice as long, and every value an import reads is checked."""


_STEPS = {scale: Decimal(1).scaleb(-scale) for scale in range(13)}


def from_scaled(value, scale: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value).scaleb(-scale)  # the driver gives an int (BIGINT)


class Remembered(dict):
    """`make(value)` per value, remembered (a batch reads and shows the same values again and
    again); emptied when it grows past `LIMIT`, so memory stays bounded. None gives None.
    Look values up with `[]` (or pass `.__getitem__` as the function)."""

    LIMIT = 50_000

    def __init__(self, make):
        super().__init__({None: None})
        self._make = make

    def __missing__(self, value):
        if len(self) > self.LIMIT:
            self.clear()
            self[None] = None
        result = self[value] = self._make(value)
        return result


def _decimals(scale: int) -> Remembered:
    """Stored integer -> Decimal of one scale, remembered."""
    return Remembered(lambda value: from_scaled(value, scale))


_DECIMALS = {scale: _decimals(scale) for scale in (AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE)}
_scaleb = Decimal.scaleb


def scaled_writer(scale: int):
    """`to_scaled` for one scale as a one-argument function.

    Computed, not looked up in a cache: a batch writes values it has just computed, and
    hashing a new Decimal to find it costs twice what the conversion does (measured)."""

    def write(value):
        return to_scaled(value, scale)

    return write


_DECIMAL_OR_NONE = frozenset((Decimal, type(None)))


def scaled_column(scale: int):
    """`to_scaled` over a whole column of values at once (a batch write's column).

    When every value is a Decimal (or None), the column is scaled, made integers and
    checked exact and in range in C-level passes over the whole column. Anything else,
    or a column that fails a check, goes value by value through `scaled_writer`, which
    refuses what is not money and says why.
    """
    write = scaled_writer(scale)
    factors, exact = repeat(scale), repeat(_EXACT)

    def convert(values: list) -> list:
        kinds = set(map(type, values))
        if kinds <= _DECIMAL_OR_NONE:
            try:
                if len(kinds) == 1 and Decimal in kinds:
                    scaled = list(map(_scaleb, values, factors, exact))
                    result = list(map(int, scaled))
                    inside = not result or (max(result) <= _MAX and min(result) >= -_MAX)
                else:
                    scaled = [None if v is None else v.scaleb(scale, _EXACT) for v in values]
                    result = [None if v is None else int(v) for v in scaled]
                    inside = all(-_MAX <= v <= _MAX for v in result if v is not None)
            except (ArithmeticError, ValueError):  # NaN, infinity
                pass
            else:
                if inside and result == scaled:
                    return result
        return list(map(write, values))

    return convert


def scaled_reader(scale: int):
    """`from_scaled` for one scale as a one-argument function (a cached lookup)."""
    return _DECIMALS[scale].__getitem__


def stored_amount_text(currency: str):
    """A one-argument function: a stored amount (x 10^AMOUNT_SCALE) of whole minor units of
    `currency` as the text `ledger.money.format_amount` gives for it ("1000.00", "-0.05",
    "12" for JPY), made from the integer and remembered (`Remembered`): reports list two
    amounts for every line, most of them zero or seen before."""
    digits = -minor_unit(currency).as_tuple().exponent
    unit = 10 ** (AMOUNT_SCALE - digits)
    cents = 10**digits

    def text(stored: int) -> str:
        whole, rest = divmod(abs(stored), unit)
        if rest:
            raise MoneyError(f"{from_scaled(stored, AMOUNT_SCALE).normalize():f} is finer than the {currency} minor unit")
        sign = "-" if stored < 0 else ""
        if not digits:
            return f"{sign}{whole}"
        units, minor = divmod(whole, cents)
        return f"{sign}{units}.{minor:0{digits}d}"

    return Remembered(text).__getitem__


def _quantity_text(stored: int) -> str:
    """A stored quantity (x 10^QUANTITY_SCALE) as the text `ledger.money.format_quantity`
    gives for it ("2.5", "10", "0"), made from the integer (`stored_quantity_text` remembers it)."""
    whole, fraction = divmod(abs(stored), _QUANTITY_ONE)
    sign = "-" if stored < 0 else ""
    if not fraction:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{QUANTITY_SCALE}d}".rstrip("0")


_QUANTITY_ONE = 10**QUANTITY_SCALE
stored_quantity_text = Remembered(_quantity_text).__getitem__
"""A stored quantity as its text (`_quantity_text`), remembered: a report repeats its quantities."""


def Amount() -> Scaled:
    return Scaled(AMOUNT_SCALE)


def Price() -> Scaled:
    return Scaled(PRICE_SCALE)


def Quantity() -> Scaled:
    return Scaled(QUANTITY_SCALE)
