"""Clock times as the books store them: UTC, without a zone (a naive `datetime`).

Entries' posting times, a close-out's run and undo, an import's time are stored so; people
read them, and name the days they mean, in the machine's local time (`TZ`).
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now, as stored."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def local_text(stored: dt.datetime) -> str:
    """A stored time in local time, ISO 8601 to the second with its offset (2026-12-05T14:09:56+01:00)."""
    return stored.replace(tzinfo=dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def _stored(day: dt.date) -> dt.datetime:
    """Local midnight at the start of `day`, as stored."""
    return dt.datetime.combine(day, dt.time()).astimezone().astimezone(dt.timezone.utc).replace(tzinfo=None)


def stored_between(low: dt.date | None, high: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The local days `low` to `high` (both included; either open) as stored times [start, end).
    An end at the calendar's edge (0001-01-01, 9999-12-31), whose stored time lies beyond
    what a datetime holds in this time zone, is left open: nothing is stored beyond it."""
    def stored_or_open(day: dt.date) -> dt.datetime | None:
        try:
            return _stored(day)
        except (OverflowError, ValueError):
            return None
    return (None if low is None else stored_or_open(low),
            None if high is None or high == dt.date.max else stored_or_open(high + dt.timedelta(days=1)))
