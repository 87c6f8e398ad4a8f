"""A close-out's posting report rebuilt from the books (`pledger closeout show N --report FILE`).

The run fills its `PostingReport` while it posts; a controller who did not keep the file
gets it back from what the books hold: the close-out's row (date, user, selection), its
stored lines (`closeout_lines`: before and after to receive and to invoice, what was
written off, in the order the run wrote them: the order its report lists them), and the
entries it posted (`closeout_entries` of kind "closeout"; their lines in entry and line
order, each with its order line, the order's supplier and the item), counted into a
`PostingReport` through the same `add_lines` and `add_entries` the run calls. So the
writers get the same data and write the same tables.

Both are read as the stored integers, each in one ordered query streamed CHUNK rows at a
time (`yield_per`: a server-side cursor on PostgreSQL), and the report keeps them in its spills as the run does:
a million-line close-out holds one chunk in memory.

What the books do not hold, the reprint cannot say (docs/accounting.md): how the
quantities were lowered (closed fully, which edits file, a saved trial; `lowered` is
None), and the notes the run printed beside the report. It says instead that it is a
reprint, of which day (`reprinted`), and, for a close-out undone since, by whom and when
(`undone`).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterator

from sqlalchemy import BigInteger, select, type_coerce
from sqlalchemy.orm import Session

from ledger.clock import local_text
from ledger.errors import NotFound
from ledger.models import Account, Entry, EntryLine, Journal
from ledger.posting import StoredLine, base_currency
from ledger.progress import QUIET, Progress
from matching.models import Closeout, CloseoutEntry, CloseoutLine
from matching.report import PostingReport
from matching.selection import Selection
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier

CHUNK = 2000
"""Rows read at a time, of the close-out's lines and of its entries' lines."""


def _stored(column):
    """A scaled column as the stored integer (no Decimal made), as the run holds it."""
    return type_coerce(column, BigInteger)


def reprint_closeout(session: Session, number: int, *, on: dt.date, progress: Progress = QUIET) -> PostingReport:
    """The posting report close-out `number`'s run gave, rebuilt from the books on day `on`.

    Raises NotFound for a number no close-out has (a trial's was never stored)."""
    closeout = session.scalar(select(Closeout).where(Closeout.number == number))
    if closeout is None:
        raise NotFound(f"no close-out {number}: see 'pledger closeout list'")
    selection = Selection.from_stored(closeout.selection)
    about = ({"selection_in_words": closeout.selection} if selection is None
             else {"selection": selection.describe(), "selection_in_words": selection.in_words()})
    report = PostingReport(trial=False, date=closeout.closeout_date, user=closeout.user_name, currency=base_currency(session),
                           closeout=closeout.number, lowered=None, reprinted=on, **about)
    if closeout.undone_by is not None:
        report.undone = {"by": closeout.undone_by, "date": closeout.undo_date.isoformat(),
                         "at": local_text(closeout.undone_at)}
    for rows in _line_chunks(session, closeout.id):
        report.add_lines(rows)
        progress.advance(len(rows))
    names = dict(session.execute(select(Account.code, Account.name)).all())
    for entries, shown in _entry_chunks(session, closeout.id):
        report.add_entries(entries, names, lambda: shown)
        progress.advance(sum(len(lines) for *_, lines in entries))
    return report


def _line_chunks(session: Session, closeout_id: int) -> Iterator[list[tuple]]:
    """The close-out's lines as `REPORT_LINE_FIELDS` tuples, CHUNK at a time, in the order the
    run wrote them (its report's order: the selection's sort)."""
    cl = CloseoutLine.__table__.c
    stmt = (select(PurchaseOrder.number, OrderLine.line_no,
                   *(_stored(c) for c in (cl.to_receive_before, cl.to_receive_after, cl.to_invoice_before, cl.to_invoice_after,
                                          cl.uninvoiced_units, cl.unreceived_units, cl.uninvoiced_amount, cl.unreceived_amount)))
            .join(OrderLine, OrderLine.id == cl.order_line_id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .where(cl.closeout_id == closeout_id).order_by(cl.id))
    for rows in session.execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        yield [tuple(row) for row in rows]


def _entry_chunks(session: Session, closeout_id: int) -> Iterator[tuple[list[tuple], dict]]:
    """The close-out's own entries as `PostingReport.add_entries` takes them, (journal,
    number, date, `StoredLine`s), with their order lines' (order, line, supplier, item) by
    id: the entries whose lines end in a chunk of CHUNK entry lines, an entry never split
    (its lines read in one chunk are kept for the next)."""
    el = EntryLine.__table__.c
    stmt = (select(el.entry_id, Journal.code, Entry.number, Entry.entry_date, Account.code,
                   _stored(el.debit), _stored(el.credit), _stored(el.quantity), el.order_line_id,
                   PurchaseOrder.number, OrderLine.line_no, Supplier.code, Item.code)
            .select_from(CloseoutEntry).join(Entry, Entry.id == CloseoutEntry.entry_id)
            .join(Journal, Journal.id == Entry.journal_id).join(EntryLine, EntryLine.entry_id == Entry.id)
            .join(Account, Account.id == el.account_id)
            .outerjoin(OrderLine, OrderLine.id == el.order_line_id)
            .outerjoin(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .outerjoin(Supplier, Supplier.id == PurchaseOrder.supplier_id).outerjoin(Item, Item.id == OrderLine.item_id)
            .where(CloseoutEntry.closeout_id == closeout_id, CloseoutEntry.kind == "closeout")
            .order_by(el.entry_id, el.line_no))
    current = None  # the entry being read: [id, journal, number, date, lines]
    shown: dict = {}
    for rows in session.execute(stmt.execution_options(yield_per=CHUNK)).partitions():
        done = []
        for (entry_id, journal, number, date, account, debit, credit, quantity, order_line_id,
             order, line, supplier, item) in rows:
            if current is None or current[0] != entry_id:
                if current is not None:
                    done.append(tuple(current[1:]))
                current = [entry_id, journal, number, date, []]
            current[4].append(StoredLine(account, debit, credit, order_line_id=order_line_id, quantity=quantity))
            shown[order_line_id] = (order, line, supplier, item)
        if done:
            yield done, shown
            shown = {l.order_line_id: shown[l.order_line_id] for l in current[4]}  # the entry still being read
    if current is not None:
        yield [tuple(current[1:])], shown
