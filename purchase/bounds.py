"""Selections by a value or a range: a bound is (low, high), either end None is open.

Codes compare as text, dates as dates. `None` as the bound selects everything.
"""

from __future__ import annotations

from sqlalchemy import and_

Bound = tuple | None


def bound_condition(column, bound: Bound):
    """The SQL condition of a bound on `column`, or None for no condition."""
    if bound is None:
        return None
    low, high = bound
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
