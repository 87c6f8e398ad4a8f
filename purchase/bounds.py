"""Selections by a value or a range: a bound is (low, high), either end None is open.

Codes compare as text, dates as dates. `None` as the bound selects everything.

Text compares by code point everywhere, so that the database and Python (`within`) agree
on what a range holds: SQLite compares UTF-8 bytes (BINARY), which is code-point order;
PostgreSQL compares by the database's collation, which in most locales is not ("Pa1" <=
"PB1" in en_US, not in C), so there a code range or a code sort says COLLATE "C"
(`bytewise`), byte order of UTF-8 being code-point order.
"""

from __future__ import annotations

import re

from sqlalchemy import String, and_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

Bound = tuple | None


class bytewise(FunctionElement):
    """`column` compared and sorted by code point: `column COLLATE "C"` on PostgreSQL, the
    column itself elsewhere (SQLite's BINARY already is)."""

    name = "bytewise"
    inherit_cache = True
    type = String()


@compiles(bytewise)
def _bytewise_plain(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


@compiles(bytewise, "postgresql")
def _bytewise_postgresql(element, compiler, **kw):
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def code_order(column):
    """`column` as an ORDER BY key: by code point when it holds text."""
    return bytewise(column) if isinstance(column.type, String) else column


def bound_condition(column, bound: Bound):
    """The SQL condition of a bound on `column`, or None for no condition."""
    if bound is None:
        return None
    low, high = bound
    column = code_order(column)
    parts = []
    if low is not None:
        parts.append(column >= low)
    if high is not None:
        parts.append(column <= high)
    return and_(*parts) if parts else None


def within(bound: Bound, value) -> bool:
    """The same test in Python."""
    if bound is None:
        return True
    low, high = bound
    return (low is None or value >= low) and (high is None or value <= high)


_DIGITS = re.compile(r"[0-9]+")


def code_number(code) -> int | None:
    """A code written in digits alone ("10", "0042") as the whole number it reads as; None
    for any other code. Ranges still compare codes as text; this says where a reading as
    numbers would differ (`matching.selection.numeric_reading_notes`)."""
    return int(code) if isinstance(code, str) and _DIGITS.fullmatch(code) else None
