"""Proof of the ledger's promises over the whole database.

`check_ledger` returns a list of breaches (empty when the books are sound), in journal,
year and number order, so the first one names the first broken entry:
every entry has two lines or more and balances; numbers run 1..n without a gap per
journal and fiscal year and end at the counter; each entry's hash is its content chained
to the previous entry's hash, and the counter holds the last hash. An edit or deletion
made behind the database's back (triggers dropped) breaks the chain where it happened.
The rows are streamed entry by entry, never loaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Entry, EntryLine, FiscalYear, Journal, JournalCounter
from ledger.posting import GENESIS_HASH, entry_hash, scaled_line

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


def check_ledger(session: Session, *, chunk: int = 5000) -> list[Breach]:
    breaches: list[Breach] = []
    journals = dict(session.execute(select(Journal.id, Journal.code)).all())
    years = dict(session.execute(select(FiscalYear.id, FiscalYear.year)).all())
    counters = {
        (j, fy): (n, h)
        for j, fy, n, h in session.execute(
            select(JournalCounter.journal_id, JournalCounter.fiscal_year_id, JournalCounter.last_number, JournalCounter.last_hash)
        )
    }
    seen: dict[tuple[int, int], tuple[int, str]] = {}

    entry_cols = [getattr(Entry, c) for c in (
        "id", "journal_id", "fiscal_year_id", "number", "entry_date", "description", "source",
        "user_name", "posted_at", "prev_hash", "hash")]
    line_cols = [EntryLine.entry_id] + [getattr(EntryLine, k) for k in LINE_KEYS]
    stmt = (
        select(*entry_cols, *line_cols[1:])
        .join(EntryLine, EntryLine.entry_id == Entry.id, isouter=True)
        .order_by(Entry.journal_id, Entry.fiscal_year_id, Entry.number, Entry.id, EntryLine.line_no)
        .execution_options(yield_per=chunk)
    )

    current = None
    lines: list[dict] = []

    def finish(head: dict, lines: list[dict]) -> None:
        key = (head["journal_id"], head["fiscal_year_id"])
        name = f"{journals.get(key[0], key[0])} {years.get(key[1], key[1])} entry {head['number']}"
        last_number, last_hash = seen.get(key, (0, GENESIS_HASH))
        if head["number"] != last_number + 1:
            if head["number"] == last_number:
                breaches.append(Breach(f"{name}: number {head['number']} is used twice"))
            else:
                breaches.append(Breach(f"{name}: numbers jump from {last_number} to {head['number']} (a gap)"))
        if head["prev_hash"] != last_hash:
            breaches.append(Breach(f"{name}: hash chain broken (the entry before it was changed or removed)"))
        real = [l for l in lines if l["line_no"] is not None]
        if len(real) < 2:
            breaches.append(Breach(f"{name}: has {len(real)} line(s), an entry needs two or more"))
        debit = sum((l["debit"] for l in real), 0)
        credit = sum((l["credit"] for l in real), 0)
        if debit != credit:
            breaches.append(Breach(f"{name}: does not balance (debit {debit}, credit {credit})"))
        expected = entry_hash(head["prev_hash"], head, [scaled_line(l) for l in real])
        if expected != head["hash"]:
            breaches.append(Breach(f"{name}: content does not match its hash (edited after posting)"))
        seen[key] = (head["number"], head["hash"])

    for row in session.execute(stmt):
        m = row._mapping
        if current is None or current["id"] != m["id"]:
            if current is not None:
                finish(current, lines)
            current = {k: m[k] for k in ("id", "journal_id", "fiscal_year_id", "number", "entry_date",
                                          "description", "source", "user_name", "posted_at", "prev_hash", "hash")}
            lines = []
        lines.append({k: m[k] for k in LINE_KEYS})
    if current is not None:
        finish(current, lines)

    for key in sorted(set(counters) | set(seen)):
        name = f"{journals.get(key[0], key[0])} {years.get(key[1], key[1])}"
        counted = counters.get(key, (0, GENESIS_HASH))
        found = seen.get(key, (0, GENESIS_HASH))
        if counted[0] != found[0]:
            breaches.append(Breach(f"{name}: the counter says {counted[0]} entries were posted, {found[0]} are there"))
        elif counted[1] != found[1]:
            breaches.append(Breach(f"{name}: the last entry's hash differs from the one recorded at posting"))
    return breaches
