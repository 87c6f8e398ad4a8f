"""Fiscal years (boekjaren) and their monthly periods; locking a period.

A fiscal year here is a calendar year of twelve monthly periods. A locked period takes
no postings of any kind; the posting service asks `period_for` on every entry date.
Each lock and unlock is recorded, append-only, with who and when (`PeriodLockChange`,
migration 0014); `ledger.check.check_period_locks` proves the flags agree with it.
"""

from __future__ import annotations

import calendar
import datetime as dt

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ledger.clock import utc_now
from ledger.errors import PeriodError
from ledger.models import FiscalYear, Period, PeriodLockChange

FIRST_YEAR, LAST_YEAR = 1900, 9999
"""The years a fiscal year may be opened for: what a date in the books may be."""


class LockedPeriod(PeriodError):
    """A posting dated in a locked period (een afgesloten periode). Its message ends "or
    choose another date"; a command that takes the date as an option names it instead
    (`naming`: the CLI does, for `--date`)."""

    def __init__(self, date: dt.date):
        self.date = date
        super().__init__(self._said("choose another date"))

    def _said(self, remedy: str) -> str:
        period = f"{self.date.year}-{self.date.month:02d}"
        return (f"period {period} is locked: {self.date.isoformat()} takes no postings "
                f"(unlock it with 'pledger period unlock {period}' or {remedy})")

    def naming(self, option: str) -> str:
        """The refusal of a command whose `option` gives the posting date."""
        return self._said(f"give {option} a day of an open period")

    def instead(self, remedy: str) -> str:
        """The refusal with another way out than another date (`closeout run --from-trial`
        takes the date the trial was reviewed for, and no --date)."""
        return self._said(remedy)


def how_to_open(year: int) -> str:
    """What to do about a date in a year with no fiscal year: open it, where it can be."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return f"open it with 'pledger year open {year}'"
    return f"pledger keeps the years {FIRST_YEAR} to {LAST_YEAR} (a typing mistake?)"


def open_year(session: Session, year: int) -> tuple[FiscalYear, bool]:
    """Open calendar year `year` with twelve periods; returns (year, created)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"cannot open fiscal year {year}: give a year between {FIRST_YEAR} and {LAST_YEAR}")
    existing = session.scalar(select(FiscalYear).where(FiscalYear.year == year))
    if existing is not None:
        return existing, False
    fiscal_year = FiscalYear(year=year, start_date=dt.date(year, 1, 1), end_date=dt.date(year, 12, 31))
    for month in range(1, 13):
        last = calendar.monthrange(year, month)[1]
        fiscal_year.periods.append(
            Period(month=month, start_date=dt.date(year, month, 1), end_date=dt.date(year, month, last), locked=False)
        )
    session.add(fiscal_year)
    session.flush()
    from ledger.accounts import ensure_counters

    ensure_counters(session)
    return fiscal_year, True


def find_period(session: Session, year: int, month: int) -> Period:
    period = session.scalar(
        select(Period).join(FiscalYear).where(FiscalYear.year == year, Period.month == month)
    )
    if period is None:
        raise PeriodError(
            f"period {year:04d}-{month:02d} does not exist: " + (
                f"open its fiscal year first with 'pledger year open {year}'" if FIRST_YEAR <= year <= LAST_YEAR
                else how_to_open(year))
        )
    return period


def first_open_day(session: Session, date: dt.date) -> dt.date | None:
    """The first day on or after `date` that lies in an open period (of a fiscal year of
    the books, not locked); None when no such period exists."""
    start = session.scalar(select(Period.start_date).where(Period.end_date >= date, Period.locked.is_(False))
                           .order_by(Period.start_date).limit(1))
    return None if start is None else max(date, start)


def give_date_from(session: Session, date: dt.date, give: str = "give --date") -> str:
    """The advice of a refusal that needs a date on or after `date` ("give --date D or
    later"), with a D the user can post on: the first day from `date` in an open period
    (`first_open_day`). Where `date`'s period is locked or not opened, says so; where no
    period from it is open, what to do first: unlock the period, or open a later year
    (audit of 7 December 2026: an undo dated before its close-out of 31 December was told
    "give --date 2026-12-31 or later" with December locked, and refused again). `give`: how
    the command takes the date ("give a date of" for a document's own)."""
    period = f"{date.year}-{date.month:02d}"
    state = session.scalar(select(Period.locked).join(FiscalYear)
                           .where(FiscalYear.year == date.year, Period.month == date.month))
    if state is False:
        return f"{give} {date.isoformat()} or later"
    shut = f"period {period} is locked" if state else f"{date.isoformat()} lies outside every fiscal year"
    day = first_open_day(session, date)
    if day is not None:  # the start of a later period: `date`'s own is shut
        return f"{give} {day.isoformat()} or later, the first day of an open period ({shut})"
    last = session.scalar(select(FiscalYear.year).order_by(FiscalYear.year.desc()).limit(1))
    year = max(date.year + 1, (last or 0) + 1)
    later = (f" (or open year {year} with 'pledger year open {year}' and {give} {year}-01-01 or later)"
             if state and FIRST_YEAR <= year <= LAST_YEAR else "")
    first = f"unlock it with 'pledger period unlock {period}'" if state else how_to_open(date.year)
    return f"{shut} and no later period is open: {first}, then {give} {date.isoformat()} or later{later}"


PERIODS_HELD = 0x706C6467_70657264  # the advisory lock of the periods' locked flags ("pldg", "perd")


def hold_periods(session: Session, *, exclusive: bool = False) -> None:
    """PostgreSQL: a posting holds the periods as it read them until it ends (a shared
    transaction-level advisory lock, taken before it reads them); locking or unlocking a
    period takes the lock exclusively. So a period lock waits for the postings under way,
    which post as if before it, and a posting that starts after waits for the lock, then
    reads the period locked: none posts into a period locked while it ran (read committed
    would let it, having read the flag before the lock). SQLite needs none: one writer at a
    time (BEGIN IMMEDIATE) does both in order."""
    if session.get_bind().dialect.name == "postgresql":
        function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        session.execute(text(f"SELECT {function}(:key)"), {"key": PERIODS_HELD})


def set_locked(session: Session, year: int, month: int, locked: bool, *, user: str) -> tuple[Period, bool]:
    """Lock or unlock a period as `user`; returns (period, changed). A change is recorded
    (`PeriodLockChange`: who, when) in the same transaction; none when nothing changes.
    Waits for the postings under way (`hold_periods`), so the changes of one period are
    recorded in the order they were made: the last by id is the flag's."""
    hold_periods(session, exclusive=True)
    period = find_period(session, year, month)
    if period.locked == locked:
        return period, False
    period.locked = locked
    session.add(PeriodLockChange(period_id=period.id, locked=locked, user_name=user, changed_at=utc_now(), found=False))
    session.flush()
    return period, True


def lock_history(session: Session, year: int | None = None, month: int | None = None
                 ) -> list[tuple[int, int, PeriodLockChange]]:
    """The changes of every period's lock, or of period `year`-`month` (refused where it
    does not exist), oldest first: (year, month, change)."""
    stmt = (select(FiscalYear.year, Period.month, PeriodLockChange)
            .join(Period, Period.id == PeriodLockChange.period_id).join(FiscalYear, FiscalYear.id == Period.fiscal_year_id)
            .order_by(PeriodLockChange.id))
    if year is not None:
        stmt = stmt.where(PeriodLockChange.period_id == find_period(session, year, month).id)
    return [tuple(row) for row in session.execute(stmt)]


def list_periods(session: Session) -> list[tuple[FiscalYear, Period]]:
    rows = session.execute(
        select(FiscalYear, Period).join(Period.fiscal_year).order_by(FiscalYear.year, Period.month)
    ).all()
    return [(fy, p) for fy, p in rows]


class PeriodMap:
    """All periods read once, for checking many entry dates in a batch."""

    def __init__(self, session: Session):
        hold_periods(session)
        rows = session.execute(select(FiscalYear.id, FiscalYear.year, Period.month, Period.locked).join(Period)).all()
        self._periods = {(year, month): (fy_id, locked) for fy_id, year, month, locked in rows}

    def fiscal_year_for(self, date: dt.date) -> int:
        """The fiscal year id for a posting date; refuses a locked period or no year."""
        found = self._periods.get((date.year, date.month))
        if found is None:
            raise PeriodError(
                f"{date.isoformat()} lies outside every fiscal year: {how_to_open(date.year)}"
            )
        fy_id, locked = found
        if locked:
            raise LockedPeriod(date)
        return fy_id

    def known(self, date: dt.date) -> bool:
        """Whether the date lies in a fiscal year of the books."""
        return (date.year, date.month) in self._periods

    def is_locked(self, date: dt.date) -> bool:
        found = self._periods.get((date.year, date.month))
        return found is None or found[1]
