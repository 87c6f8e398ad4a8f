"""Click parameter types: dates, months, decimals and ranges that fail as usage errors (exit 2)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

import click

from ledger.db import SQLITE_COMPANIONS, sqlite_file
from ledger.files import same_file
from ledger.money import D, MoneyError, currency_code
from ledger.text import control_named, first_control
from purchase.bounds import code_number
from purchase.settings import unknown_setting


EMPTY_SELECTS_NOTHING = "an empty value selects nothing: leave the option out instead"
"""A selecting option given as '' (a script's unset variable): a usage mistake, not an empty selection."""


def refuse_blank(value, ctx, param, give: str):
    """`value` as given, unless it is blank: an empty value or one of only spaces names
    nothing (a script's unset variable: `--receipt "$R"`, `--db "$BOOKS"`, `import ubl
    "$FILE"`), a usage mistake (exit 2) found before the command runs, said naming the option
    (Click does), the variable it came from if it did, and what to `give` instead. An
    argument of several values (`nargs=-1`) is refused for any blank one."""
    if isinstance(value, tuple):
        for one in value:
            refuse_blank(one, ctx, param, give)
        return value
    if value is None or value.strip():
        return value
    raise click.BadParameter(f"'{value}'{from_variable(ctx, param)} is blank: {give}", ctx=ctx, param=param)


def from_variable(ctx, param) -> str:
    """" (from PLEDGER_USER)" where the option's value came from its environment variable,
    else "": a refusal of the value names where it came from (a script's variable)."""
    source = ctx.get_parameter_source(param.name) is click.core.ParameterSource.ENVIRONMENT
    return f" (from {param.envvar})" if source and isinstance(param.envvar, str) else ""


def not_blank(give: str):
    """A Click callback for an option that names something (a document's number): a blank
    value is a usage mistake (`refuse_blank`), as an empty --db or --user is."""
    return lambda ctx, param, value: refuse_blank(value, ctx, param, give)


ORDER_NUMBER = not_blank("give the order's number")
"""The ORDER argument of the `po` commands: `po receive "$ORDER"` with ORDER unset looked
for an order numbered '' (exit 1, "no purchase order ''")."""


class DateType(click.ParamType):
    name = "date"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return parse_date(value)
        except ValueError:
            self.fail(f"'{value}' is not a date: write YYYY-MM-DD, e.g. 2026-11-30", param, ctx)


def parse_date(text: str) -> dt.date:
    text = (text or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return dt.date.fromisoformat(text)


class MonthType(click.ParamType):
    """YYYY-MM in ASCII digits, as a date's (`\\d` took '２０２６-０３' as 2026-03)."""

    name = "YYYY-MM"

    def convert(self, value, param, ctx):
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", (value or "").strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            self.fail(f"'{value}' is not a month: write YYYY-MM, e.g. 2026-11", param, ctx)
        return int(match.group(1)), int(match.group(2))


class CurrencyType(click.ParamType):
    """An ISO 4217 currency code py-moneyed knows, upper-cased."""

    name = "currency"

    def convert(self, value, param, ctx):
        try:
            return currency_code(value)
        except MoneyError:
            self.fail(f"'{value}' is not an ISO 4217 currency code, e.g. EUR", param, ctx)


class SettingKeyType(click.Choice):
    """A purchase setting's key (`settings set KEY`): one of a fixed list, so an unknown one
    is a usage mistake (exit 2), as an unknown --sort is, said in the accountant's words."""

    def convert(self, value, param, ctx):
        if value in self.choices:
            return value
        self.fail(unknown_setting(value, self.choices), param, ctx)


class DecimalType(click.ParamType):
    name = "decimal"

    def convert(self, value, param, ctx):
        if isinstance(value, Decimal):
            return value
        try:
            return D(value)
        except MoneyError:
            self.fail(f"'{value}' is not a decimal number (use a point: 1234.56)", param, ctx)


@dataclass(frozen=True)
class Range:
    """A single value or a range A..B with either end open; None = unbounded.

    `typed_range` says the value was typed as a range (with `..`), even `5..5`: a command
    whose output has another shape for one value than for a range (`closeout undo --number`
    prints one report or a list) goes by what was typed, so that a script giving `$A..$B`
    gets a list also when A = B. Two ranges of the same ends are equal however typed."""

    low: object = None
    high: object = None
    typed_range: bool = field(default=False, compare=False)

    def describe(self) -> str:
        if self.low == self.high and self.low is not None:
            return str(self.low)
        return f"{'' if self.low is None else self.low}..{'' if self.high is None else self.high}"


def _numbers_in_order(chosen: Range) -> bool:
    """Both ends codes in digits, in order as numbers (though not as text)."""
    low, high = code_number(chosen.low), code_number(chosen.high)
    return low is not None and high is not None and low <= high


class RangeType(click.ParamType):
    """`A`, `A..B`, `A..` or `..B`; for dates each end is a date."""

    def __init__(self, dates: bool = False, integers: bool = False):
        self.dates = dates
        self.integers = integers
        self.name = "date range" if dates else "range"

    def convert(self, value, param, ctx):
        if isinstance(value, Range):
            return value
        text = (value or "").strip()
        if not (self.dates or self.integers) and (what := not_one_line(text)) is not None:
            # no code holds one (imports refuse it): kept in a close-out's selection, it went to
            # the terminal that showed it (`closeout show`, the posting report's subtitle)
            self.fail(f"'{value}' holds {what}: a code is one line of text", param, ctx)
        typed_range = ".." in text
        if typed_range:
            low, high = text.split("..", 1)
        else:
            low = high = text
            if not text:
                self.fail(EMPTY_SELECTS_NOTHING, param, ctx)
        try:
            chosen = Range(self._end(low), self._end(high), typed_range=typed_range)
        except ValueError:
            kind = "a date (YYYY-MM-DD)" if self.dates else ("a whole number" if self.integers else "a value")
            self.fail(f"'{value}' is not {kind} or a range A..B of them", param, ctx)
        if chosen.low is not None and chosen.high is not None and chosen.low > chosen.high:
            # codes compare by code point, as the selection does (`purchase.bounds`): a range that
            # runs backwards selects nothing, which a swapped pair of ends was told as "nothing to do"
            if _numbers_in_order(chosen):  # `--order 9..10`: "10..9" would take 100, 2, 3 ... as text
                option = param.opts[0] if param is not None and param.opts else "the option"
                self.fail(f"'{value}' selects nothing: codes compare as text, not as numbers, and {chosen.high} sorts "
                          f"before {chosen.low}; give each code on its own ({option} {chosen.low}) or name the lines in "
                          "an --edits file", param, ctx)
            self.fail(f"'{value}' runs backwards: it selects nothing; write {chosen.high}..{chosen.low}", param, ctx)
        return chosen

    def _end(self, text: str):
        text = text.strip()
        if not text:
            return None
        if self.dates:
            return parse_date(text)
        if self.integers:
            return whole_number(text)
        return text


def whole_number(text: str) -> int:
    """A whole number typed in ASCII digits (str.isdigit() takes '１' and '²'), at most 9 of
    them; ValueError otherwise."""
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise ValueError(text)
    return int(text)


class WholeNumberType(click.ParamType):
    """A number such as a close-out's (`whole_number`): one that no column can hold is a
    usage mistake, as in `closeout undo --number`, on both databases. (Click's int took
    99999999999, and PostgreSQL then refused it as "integer out of range", exit 1, where
    SQLite said there was no such close-out.)"""

    name = "integer"

    def __init__(self, numbered: str | None = None, listed_by: str | None = None):
        self.numbered = numbered  # what the number is of ("close-out"), to say so of a negative one
        self.listed_by = listed_by  # the command listing them

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return whole_number(str(value).strip())
        except ValueError:
            if self.numbered is not None and re.fullmatch(r"-[0-9]+", str(value).strip()):
                # `closeout show -1`, as one asks for the last of a list (audit of 7 December 2026)
                self.fail(f"'{value}' is not a {self.numbered} number: they count up from 1, the newest last in "
                          f"'{self.listed_by}'", param, ctx)
            self.fail(f"'{value}' is not a whole number (at most 9 digits)", param, ctx)


class OrderLineType(click.ParamType):
    """ORDER:LINE, e.g. PO-17:1: an order number (which may itself hold ':') and a line number
    after the last ':'; (order number, line number)."""

    name = "order:line"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        order, colon, line = (value or "").strip().rpartition(":")
        try:
            if not colon or not order.strip():
                raise ValueError(value)
            return order.strip(), whole_number(line.strip())
        except ValueError:
            self.fail(f"'{value}' is not ORDER:LINE, e.g. PO-17:1", param, ctx)


def not_one_line(value: str) -> str | None:
    """What keeps `value` from being one line of text (a line break, another control
    character, as "a control character (U+001B)"), or None: a name or reason printed in a
    table, one per line, and never an escape sequence for the terminal that shows it."""
    control = first_control(value)
    return None if control is None else control_named(control)


DATE = DateType()
MONTH = MonthType()
ORDER_LINE = OrderLineType()
DECIMAL = DecimalType()
TEXT_RANGE = RangeType()
DATE_RANGE = RangeType(dates=True)
NUMBER_RANGE = RangeType(integers=True)
WHOLE_NUMBER = WholeNumberType()
CLOSEOUT_NUMBER = WholeNumberType("close-out", "pledger closeout list")


def refuse_the_books(db_url: str, path, option: str) -> None:
    """A file a command is to write (`path`, given as `option`) that is the SQLite books or a
    journal file of theirs is a usage mistake: it was written over them (`closeout run
    --trial --save pledger.db`, `po export -o pledger.db --format pdf`), and every command
    after said the file was not a SQLite database (audit of 7 December 2026)."""
    books = sqlite_file(db_url)
    if path and books is not None and any(same_file(path, f"{books}{end}") for end in SQLITE_COMPANIONS):
        raise click.BadParameter("it names the books (--db): they would be overwritten; give another file name",
                                 param_hint=f"'{option}'")
