"""Proof of the ledger's promises over the whole database.

`check_ledger` returns a list of breaches (empty when the books are sound), in journal,
year and number order, so the first one names the first broken entry:
every entry has two lines or more and balances; numbers run 1..n without a gap per
journal and fiscal year and end at the counter; each entry's hash is its content chained
to the previous entry's hash, and the counter holds the last hash; each fiscal year is the
calendar year its number says, and each entry is dated in its own (the hash covers the
year's id, not what the year's row says). An edit or deletion
made behind the database's back (triggers dropped) breaks the chain where it happened.
The rows are streamed entry by entry, never loaded whole.

`check_period_locks` proves each period's recorded lock history (migration 0014) is one
pledger can have written, and its `locked` flag against it: a closed month opened, or a
month closed, around pledger; a row added to the history around pledger.

`check_references` finds rows pointing at nothing (a line of an entry that is not there,
a close-out line of an order line that is not there): what the database refuses (foreign
keys; on PostgreSQL the close-out tables' checks of migration 0005), unless someone
turned that off. The ledger's balances sum lines, so a line outside any entry moves an
account's balance without being in any entry the chain covers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from ledger.clock import local_text
from ledger.models import Entry, EntryLine, FiscalYear, Journal, JournalCounter, Period, PeriodLockChange, Setting
from ledger.money import counted, format_amount, round_money
from ledger.posting import GENESIS_HASH, SCALED_LINE_COLUMNS, entry_hash
from ledger.progress import QUIET, Progress, told
from ledger.types import AMOUNT_SCALE, from_scaled

LINE_KEYS = (
    "line_no",
    "account_id",
    "debit",
    "credit",
    "currency",
    "amount_currency",
    "rate",
    "partner_id",
    "order_line_id",
    "document",
    "quantity",
)


@dataclass(frozen=True)
class Breach:
    what: str

    def __str__(self) -> str:
        return self.what


def check_ledger(session: Session, *, chunk: int = 5000, progress: Progress = QUIET) -> list[Breach]:
    """The breaches of the ledger's promises, `progress` told each row read (an entry's line)."""
    breaches: list[Breach] = []
    journals = dict(session.execute(select(Journal.id, Journal.code)).all())
    spans = {fy_id: (year, start, end) for fy_id, year, start, end in
             session.execute(select(FiscalYear.id, FiscalYear.year, FiscalYear.start_date, FiscalYear.end_date))}
    years = {fy_id: year for fy_id, (year, _, _) in spans.items()}
    for fy_id, (year, start, end) in sorted(spans.items(), key=lambda item: item[1][0]):
        if (start, end) != (dt.date(year, 1, 1), dt.date(year, 12, 31)):  # a calendar year (ledger.periods)
            breaches.append(Breach(f"fiscal year {year} runs from {start} to {end}, not {year}-01-01 to {year}-12-31 "
                                   "(its year or dates were changed)"))
    counters = {
        (j, fy): (n, h)
        for j, fy, n, h in session.execute(
            select(JournalCounter.journal_id, JournalCounter.fiscal_year_id, JournalCounter.last_number, JournalCounter.last_hash)
        )
    }
    seen: dict[tuple[int, int], tuple[int, str]] = {}

    head_keys = ("id", "journal_id", "fiscal_year_id", "number", "entry_date", "description", "source",
                 "user_name", "posted_at", "prev_hash", "hash")
    # the scaled columns as the integers they are stored as: what the hash was computed over
    line_cols = [type_coerce(getattr(EntryLine, k), BigInteger) if k in SCALED_LINE_COLUMNS else getattr(EntryLine, k)
                 for k in LINE_KEYS]
    stmt = (
        select(*[getattr(Entry, c) for c in head_keys], *line_cols)
        .join(EntryLine, EntryLine.entry_id == Entry.id, isouter=True)
        .order_by(Entry.journal_id, Entry.fiscal_year_id, Entry.number, Entry.id, EntryLine.line_no)
        .execution_options(yield_per=chunk)
    )
    split = len(head_keys)
    currency: list[str | None] = []  # the base currency, read at the first amount said

    def money(stored: int) -> str:
        """A stored amount at the base currency's decimals (all of its digits where it is finer)."""
        if not currency:
            currency.append(session.scalar(select(Setting.value).where(Setting.key == "base_currency")))
        amount = from_scaled(stored, AMOUNT_SCALE)
        if currency[0] is None or round_money(amount, currency[0]) != amount:
            return f"{amount.normalize():f}" if amount else "0"
        return format_amount(amount, currency[0])

    def finish(head: dict, real: list[dict]) -> None:
        key = (head["journal_id"], head["fiscal_year_id"])
        name = f"{journals.get(key[0], key[0])} {years.get(key[1], key[1])} entry {head['number']}"
        last_number, last_hash = seen.get(key, (0, GENESIS_HASH))
        if head["number"] != last_number + 1:
            if head["number"] == last_number and key in seen:
                breaches.append(Breach(f"{name}: number {head['number']} is used twice"))
            elif head["number"] < 1:  # the year's first, in number order
                breaches.append(Breach(f"{name}: numbered {head['number']}, and numbers start at 1"))
            else:
                breaches.append(Breach(f"{name}: numbers jump from {last_number} to {head['number']} (a gap)"))
        if head["prev_hash"] != last_hash:
            breaches.append(Breach(f"{name}: hash chain broken (the entry before it was changed or removed)"))
        if len(real) < 2:
            breaches.append(Breach(f"{name}: has {counted(len(real), 'line')}, an entry needs two or more"))
        debit = sum(l["debit"] for l in real)
        credit = sum(l["credit"] for l in real)
        if debit != credit:
            breaches.append(Breach(f"{name}: does not balance (debit {money(debit)}, credit {money(credit)})"))
        if entry_hash(head["prev_hash"], head, real) != head["hash"]:
            breaches.append(Breach(f"{name}: content does not match its hash (edited after posting)"))
        span = spans.get(key[1])
        if span is not None and not span[1] <= head["entry_date"] <= span[2]:
            breaches.append(Breach(f"{name}: dated {head['entry_date']}, outside its fiscal year "
                                   f"({span[1]} to {span[2]})"))
        seen[key] = (head["number"], head["hash"])

    current = None
    lines: list[dict] = []
    for row in told(session.execute(stmt), progress, chunk):
        if current is None or current["id"] != row[0]:
            if current is not None:
                finish(current, lines)
            current = dict(zip(head_keys, row[:split]))
            lines = []
        if row[split] is not None:  # line_no: an entry without lines joins one row of nulls
            lines.append(dict(zip(LINE_KEYS, row[split:])))
    if current is not None:
        finish(current, lines)

    for key in sorted(set(counters) | set(seen)):
        name = f"{journals.get(key[0], key[0])} {years.get(key[1], key[1])}"
        recorded = counters.get(key, (0, GENESIS_HASH))
        found = seen.get(key, (0, GENESIS_HASH))
        if recorded[0] != found[0]:
            breaches.append(Breach(f"{name}: the counter says {counted(recorded[0], 'entry', 'entries')} {'was' if recorded[0] == 1 else 'were'} posted, "
                                   f"{found[0]} {'is' if found[0] == 1 else 'are'} there"))
        elif recorded[1] != found[1]:
            breaches.append(Breach(f"{name}: the last entry's hash differs from the one recorded at posting"))
    return breaches


def check_period_locks(session: Session) -> list[Breach]:
    """Each period's lock history (`period_lock_changes`, migration 0014) is one pledger can
    have written, and its `locked` flag equals its last change (the newest by id), or is
    unlocked where none is recorded. A period is opened unlocked; `period lock` and `period
    unlock` record only changes, so locks and unlocks alternate and the first is a lock;
    migration 0014 recorded each period it found locked as its first row, `found`. The
    triggers refuse UPDATE and DELETE but take an INSERT: a row added around pledger that
    repeats the flag (a second lock in a row), a history that begins with an unlock, or a
    `found` row after others (or saying unlocked) names the period, the row, who and when.
    A flag changed around pledger (`UPDATE periods SET locked = false`, a posting then let
    into a closed month) names the period. A period's breaches come in id order, its flag's
    last; periods in year and month order. Two queries: the changes (a few a period, read
    in order and walked) and the periods, only those whose flag differs coming back."""
    flagged: dict[tuple[int, int], list[Breach]] = {}
    history = (select(FiscalYear.year, Period.month, PeriodLockChange.id, PeriodLockChange.locked, PeriodLockChange.found,
                      PeriodLockChange.user_name, PeriodLockChange.changed_at)
               .join(Period, Period.id == PeriodLockChange.period_id)
               .join(FiscalYear, FiscalYear.id == Period.fiscal_year_id)
               .order_by(FiscalYear.year, Period.month, PeriodLockChange.id))
    period, first, previous = None, None, None
    for year, month, row_id, locked, found, user, at in session.execute(history):
        if (year, month) != period:  # the period's first change
            period, first, previous = (year, month), row_id, None
        said = _impossible(row_id, locked, found, user, at, first, previous)
        if said:
            flagged.setdefault(period, []).append(Breach(f"period {year}-{month:02d}: {said}: its history was changed around pledger"))
        previous = (row_id, locked, found, user, at)

    newest = (select(PeriodLockChange.period_id, func.max(PeriodLockChange.id).label("id"))
              .group_by(PeriodLockChange.period_id).subquery())
    last = PeriodLockChange.__table__.alias("last_change")
    recorded = func.coalesce(last.c.locked, False)
    stmt = (select(FiscalYear.year, Period.month, Period.locked, last.c.locked, last.c.found, last.c.user_name, last.c.changed_at)
            .join(FiscalYear, FiscalYear.id == Period.fiscal_year_id)
            .outerjoin(newest, newest.c.period_id == Period.id)
            .outerjoin(last, last.c.id == newest.c.id)
            .where(Period.locked != recorded)
            .order_by(FiscalYear.year, Period.month))
    for year, month, locked, last_locked, found, user, at in session.execute(stmt):
        flag = "locked" if locked else "unlocked"
        if last_locked is None:
            said = "no lock of it is recorded"
        elif found:
            said = f"it was found locked when its history began ({local_text(at)}) and no unlock is recorded since"
        else:
            said = f"its last recorded change {'locked' if last_locked else 'unlocked'} it ({user}, {local_text(at)})"
        flagged.setdefault((year, month), []).append(
            Breach(f"period {year}-{month:02d}: {flag}, and {said}: its flag was changed around pledger"))
    return [breach for key in sorted(flagged) for breach in flagged[key]]


def _impossible(row_id: int, locked: bool, found: bool, user: str | None, at: dt.datetime, first: int,
                previous: tuple | None) -> str | None:
    """What is wrong with change `row_id` of a period's lock history, in id order after
    `previous` (id, locked, found, user, at; None for the period's first, `first`), or None
    where pledger can have written it."""
    state = "locked" if locked else "unlocked"
    if found:
        if previous is not None:
            return (f"row {row_id} of its lock history says it was found {state} when its history began ({_who(user, at, found)}), "
                    f"yet row {first} came before it")
        if not locked:
            return (f"row {row_id} of its lock history says it was found unlocked when its history began ({_who(user, at, found)}), "
                    "and only periods found locked were recorded")
        return None
    if previous is None:
        if locked:
            return None
        return f"its lock history begins with an unlock (row {row_id}: {_who(user, at)}), and a period is opened unlocked"
    before_id, before_locked, before_found, before_user, before_at = previous
    if before_locked != locked:
        return None
    if before_found:
        since = f"it was found locked when its history began (row {before_id}: {_who(before_user, before_at, before_found)})"
    else:
        since = f"row {before_id} {state} it ({_who(before_user, before_at)})"
    return (f"row {row_id} of its lock history {'locks' if locked else 'unlocks'} it again ({_who(user, at)}), "
            f"with no {'unlock' if locked else 'lock'} since {since}")


def _who(user: str | None, at: dt.datetime, found: bool = False) -> str:
    """Who made a change and when, in local time: a row found at migration 0014 has no user."""
    if found and user is None:
        return local_text(at)
    return f"{user or 'no user'}, {local_text(at)}"


Reference = tuple[Column, Column]
"""(the column that points, the column it points at), e.g. (entry_lines.entry_id, entries.id)."""

EXAMPLES = 3  # rows named in a breach; the count says how many there are


def foreign_keys(metadata: MetaData) -> list[Reference]:
    """Every foreign key of the tables in `metadata`, in table order."""
    return [(fk.parent, fk.column) for table in metadata.sorted_tables
            for fk in sorted(table.foreign_keys, key=lambda fk: fk.parent.name)]


def check_references(session: Session, references: Iterable[Reference]) -> list[Breach]:
    """One breach for each reference that rows use to point at nothing: how many rows, and
    the first few of them (their key, and the value that finds no row). One count a
    reference (an anti-join the database does), the rows themselves read only when found."""
    breaches: list[Breach] = []
    for column, target in references:
        table = column.table
        missing = (column.is_not(None), ~exists().where(target == column))
        count = session.scalar(select(func.count()).select_from(table).where(*missing))
        if not count:
            continue
        keys = list(table.primary_key.columns)
        rows = session.execute(select(*keys, column).where(*missing).order_by(*keys).limit(EXAMPLES)).all()
        named = ", ".join(f"{_key(row[:-1])} points at {row[-1]}" for row in rows)
        more = f", and {count - len(rows)} more" if count > len(rows) else ""
        breaches.append(Breach(f"{table.name}.{column.name}: {counted(count, 'row')} {'points' if count == 1 else 'point'} at no row of {target.table.name} "
                               f"({named}{more})"))
    return breaches


def _key(values: tuple) -> str:
    return f"row {values[0]}" if len(values) == 1 else "row (" + ", ".join(map(str, values)) + ")"
