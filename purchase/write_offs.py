"""Write-offs on arrival: what a change of a line's state wrote off as it went, recorded
against the close-out it belongs to (`purchase.models.WriteOffOnArrival`).

Receipts and invoices record the units their arrival wrote off (`purchase.rules._Rule._settle`)
against the newest close-out standing on the line; an undo records what settling a line
again under an older close-out writes off. The undo of a close-out gives back its own
write-offs (its close-out lines) and these (`matching.closeout.undo_one`).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from sqlalchemy import Date, DateTime, Integer, Select, and_, column, or_, select, table, union_all
from sqlalchemy.orm import Session

from ledger.bulk import insert_rows
from ledger.models import Entry, EntryLine, Setting
from purchase.models import Invoice, InvoiceLine, Receipt, ReceiptLine, WriteOffOnArrival
from purchase.rules import stored_value
from purchase.settings import WRITE_OFF_KEYS

WRITE_OFF_COLUMNS = ("order_line_id", "closeout_number", "document", "uninvoiced_units", "unreceived_units",
                     "uninvoiced_amount", "unreceived_amount")
"""A write-off's row, as `written_off` builds it."""
_STORED = frozenset(WRITE_OFF_COLUMNS[3:])  # given as the stored integers
UNRECORDED_UNTIL = "write_offs_recorded_after_entry"  # a ledger setting, written by migration 0006


_CLOSEOUTS = table("closeouts", column("id", Integer), column("number", Integer), column("closeout_date", Date),
                   column("undone_at", DateTime))
_CLOSEOUT_LINES = table("closeout_lines", column("closeout_id", Integer), column("order_line_id", Integer),
                        *(column(f"to_{what}_{when}", Integer) for what in ("receive", "invoice") for when in ("before", "after")),
                        column("uninvoiced_units", Integer), column("unreceived_units", Integer))
_WRITE_OFFS_ON_ARRIVAL = table("write_offs_on_arrival", column("order_line_id", Integer), column("closeout_number", Integer),
                               column("uninvoiced_units", Integer), column("unreceived_units", Integer))
"""The close-outs and their lines, as `matching.models.Closeout` and `CloseoutLine` keep
them: read here, where purchase may not import matching; and the write-offs on arrival, as
stored integers (`WriteOffOnArrival`)."""


def standing_closeouts() -> Select:
    """A SELECT of the close-outs standing on order lines: (order line, close-out number, its
    date), one row a close-out line of a close-out not undone. The one definition of a
    close-out standing on a line, for the documents' refusal of a write-off dated before its
    close-out (`purchase.documents`) and the undo's (`matching.closeout`). Without a WHERE
    (a read plan adds its own, `ledger.bulk.read_plan`): narrow it by its `order_line_id`
    column, with a WHERE or a join."""
    lines = _CLOSEOUT_LINES.alias("standing_lines")
    return (select(lines.c.order_line_id, _CLOSEOUTS.c.number, _CLOSEOUTS.c.closeout_date)
            .join_from(lines, _CLOSEOUTS, and_(_CLOSEOUTS.c.id == lines.c.closeout_id, _CLOSEOUTS.c.undone_at.is_(None))))


def closeouts_lowered(session: Session, order_line_id: int) -> list[tuple[int, int, int]]:
    """The close-outs standing on an order line, newest first, each as (number, what it lowered
    to receive, what it lowered to invoice), stored integers, as its close-out line holds them
    (before less after): what its undo gives back. Asked only by a refusal naming them
    (`purchase.documents`), never on a document's way in."""
    lines = _CLOSEOUT_LINES
    rows = session.execute(
        select(_CLOSEOUTS.c.number, lines.c.to_receive_before - lines.c.to_receive_after,
               lines.c.to_invoice_before - lines.c.to_invoice_after)
        .join_from(lines, _CLOSEOUTS, _CLOSEOUTS.c.id == lines.c.closeout_id)
        .where(lines.c.order_line_id == order_line_id, _CLOSEOUTS.c.undone_at.is_(None))
        .order_by(_CLOSEOUTS.c.number.desc())).all()
    return [tuple(row) for row in rows]


def closeouts_written_off(session: Session, order_line_id: int) -> list[tuple[int, int, int]]:
    """The close-outs standing on an order line, newest first, each as (number, received units
    it wrote off as never to be invoiced, invoiced units as never to be received), stored
    integers: its own line's and those recorded under it as documents arrived
    (`WriteOffOnArrival`), what its undo gives back. One statement, asked only where a
    refusal or note names them (`purchase.documents`)."""
    lines, arrived = _CLOSEOUT_LINES, _WRITE_OFFS_ON_ARRIVAL
    standing = _CLOSEOUTS.c.undone_at.is_(None)
    own = (select(_CLOSEOUTS.c.number, lines.c.uninvoiced_units, lines.c.unreceived_units)
           .join_from(lines, _CLOSEOUTS, _CLOSEOUTS.c.id == lines.c.closeout_id)
           .where(lines.c.order_line_id == order_line_id, standing))
    recorded = (select(_CLOSEOUTS.c.number, arrived.c.uninvoiced_units, arrived.c.unreceived_units)
                .join_from(arrived, _CLOSEOUTS, _CLOSEOUTS.c.number == arrived.c.closeout_number)
                .where(arrived.c.order_line_id == order_line_id, standing))
    units: dict[int, list[int]] = {}
    for number, uninvoiced, unreceived in session.execute(union_all(own, recorded)):
        sums = units.setdefault(number, [0, 0])
        sums[0] += uninvoiced
        sums[1] += unreceived
    return [(number, *units[number]) for number in sorted(units, reverse=True)]


def undos_needed(standing: Sequence[tuple[int, int, int]], side: int, short: int) -> list[int]:
    """The close-outs to undo, newest first, so that a line gets back `short` units of what
    they lowered on `side` (1: to receive, 2: to invoice), of `standing` (`closeouts_lowered`):
    close-outs of a line are undone newest first, so a newer one that lowered only the other
    side is undone too (close-out 1 lowered to receive, close-out 2 only to invoice: goods
    that came after all need both, 2 then 1; review of 7 December 2026). Where all of them
    give back less than `short`, down to the oldest that lowered `side`; none where none did."""
    needed, back = [], 0
    for row in standing:
        needed.append(row)
        back += row[side]
        if back >= short and back > 0:
            break
    while needed and needed[-1][side] <= 0:
        needed.pop()
    return [row[0] for row in needed]


def latest_dated(rows: Iterable[tuple], *, older_than: int | None = None) -> dict[int, tuple[dt.date, int]]:
    """Per order line, the (date, number) of the latest-dated close-out among `rows` of
    `standing_closeouts` (of one date, the newest), those numbered `older_than` or above left
    out. Close-outs may be dated out of their run order (a year-end close-out run before one
    of the new year's dates): what a line writes off under the newest may have been decided
    by an older one dated later, and a write-off is held to the dates of all of them."""
    out: dict[int, tuple[dt.date, int]] = {}
    for line_id, number, closeout_date in rows:
        if (older_than is None or number < older_than) and (closeout_date, number) > out.get(line_id, (dt.date.min, 0)):
            out[line_id] = (closeout_date, number)
    return out


def unrecorded_until(session: Session) -> int:
    """The id of the last entry posted before write-offs on arrival were recorded (migration
    0006 kept it): such a write-off posted by an entry up to it has no record. 0 for books
    begun since, where every one has."""
    return int(session.scalar(select(Setting.value).where(Setting.key == UNRECORDED_UNTIL)) or 0)


def written_off(order_line_id: int, closeout_number: int | None, document: str, before, after, amounts: dict) -> tuple | None:
    """The row recording what the change `before` -> `after` of a line's state (stored
    integers, `StoredLineState`) wrote off, with `amounts` its role amounts as
    `line_postings` gave them; None when it wrote nothing off. Amounts are positive as a
    close-out puts them on the uninvoiced-receipts and unreceived-invoices accounts."""
    units_uninvoiced = after.written_off_uninvoiced - before.written_off_uninvoiced
    units_unreceived = after.written_off_unreceived - before.written_off_unreceived
    if not units_uninvoiced and not units_unreceived:
        return None
    return (order_line_id, closeout_number, document, units_uninvoiced, units_unreceived,
            -amounts.get("uninvoiced_receipts", 0), amounts.get("unreceived_invoices", 0))


def record_write_offs(session: Session, rows: Sequence[tuple]) -> None:
    """Write the rows `written_off` made (one executemany; none, nothing)."""
    insert_rows(session, WriteOffOnArrival, rows, columns=WRITE_OFF_COLUMNS, stored=_STORED)


def unrecorded_postings(*columns, accounts: dict[str, int], until: int):
    """A SELECT of `columns` over the ledger lines receipts and invoices posted to the
    write-off accounts (`accounts`: `role_account_ids`) up to entry `until`
    (`unrecorded_until`): write-offs on arrival no record holds."""
    return (select(*columns).select_from(EntryLine).join(Entry, Entry.id == EntryLine.entry_id)
            .where(EntryLine.account_id.in_([accounts[key] for key in WRITE_OFF_KEYS]), EntryLine.entry_id <= until,
                   Entry.source.in_(("receipt", "invoice"))))


def worth_nothing(units: int, price: int, currency: str) -> bool:
    """Whether units written off (stored, more than none) at a line's price (stored, its net
    price) are worth 0.00 by value(X) of the rule (`purchase.rules.stored_value`): a write-off
    on arrival of them posted no ledger line, so before 0006 nothing showed it (audit of
    7 December 2026). `check` counts them as explained, and the undo refuses, only on a line
    that holds documents from before the write-offs were recorded (`unrecorded_documents`)."""
    return units > 0 and stored_value(units, price, currency) == 0


def unrecorded_documents(order_line_id: int, side: str, *, until: int, since: dt.datetime | None = None) -> Select:
    """A SELECT of the numbers of the receipts (`side` "uninvoiced": what writes off units
    received, never to be invoiced) or invoices ("unreceived") on an order line that a
    pledger from before 0006 may have posted, oldest first: posted by an entry up to `until`
    (`unrecorded_until`), or by none (worth nothing, so not dated against it); with `since`,
    those of them posted since then or by no entry."""
    document, line, key = ((Receipt, ReceiptLine, ReceiptLine.receipt_id) if side == "uninvoiced"
                           else (Invoice, InvoiceLine, InvoiceLine.invoice_id))
    posted = or_(document.entry_id.is_(None), document.entry_id <= until)
    stmt = (select(document.number).select_from(line).join(document, document.id == key)
            .outerjoin(Entry, Entry.id == document.entry_id)
            .where(line.order_line_id == order_line_id, posted).order_by(document.id))
    if since is not None:
        stmt = stmt.where(or_(document.entry_id.is_(None), Entry.posted_at >= since))
    return stmt
