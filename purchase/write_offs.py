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

from sqlalchemy import Date, DateTime, Integer, Select, and_, column, select, table
from sqlalchemy.orm import Session

from ledger.bulk import insert_rows
from ledger.models import Entry, EntryLine, Setting
from purchase.models import WriteOffOnArrival
from purchase.settings import WRITE_OFF_KEYS

WRITE_OFF_COLUMNS = ("order_line_id", "closeout_number", "document", "uninvoiced_units", "unreceived_units",
                     "uninvoiced_amount", "unreceived_amount")
"""A write-off's row, as `written_off` builds it."""
_STORED = frozenset(WRITE_OFF_COLUMNS[3:])  # given as the stored integers
UNRECORDED_UNTIL = "write_offs_recorded_after_entry"  # a ledger setting, written by migration 0006


_CLOSEOUTS = table("closeouts", column("id", Integer), column("number", Integer), column("closeout_date", Date),
                   column("undone_at", DateTime))
_CLOSEOUT_LINES = table("closeout_lines", column("closeout_id", Integer), column("order_line_id", Integer))
"""The close-outs and their lines, as `matching.models.Closeout` and `CloseoutLine` keep
them: read here, where purchase may not import matching."""


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
