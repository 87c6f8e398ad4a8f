"""The close-out (afletteren) and its undo (aflettering ongedaan maken).

`run_closeout` lowers what selected lines still expect and posts what DOMAIN.md says, in
the caller's transaction: a trial is this same function in a transaction the caller
rolls back. Lines are processed in chunks that never split an order (one memorial
entry per order), read and locked through `LineBook`, and every amount comes from
`purchase.rules.line_postings`. Both work on the stored scaled integers
(`StoredLineState`): the lines' states are read, changed and written back, and the
close-out lines written, as the rows hold them, and the journal lines are posted as the
stored amounts (`StoredLine`); Decimals are made only where a person types or reads a
number (edits, messages, the trial file's fingerprint).

Numbers: the close-out counter row is locked when a real or trial run starts (so
concurrent close-outs queue instead of deadlocking, and never close a quantity twice);
a number is taken only when the first line is lowered, inside the same transaction as
the postings, so a run that lowers nothing takes none and a rolled-back one gives its
number back.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Callable, NamedTuple, Sequence

from sqlalchemy import and_, func, insert, literal, select, union_all, update
from sqlalchemy.orm import Session, aliased

from ledger.batchmode import batch_collection
from ledger.bulk import ReadAhead, ReadPlan, insert_rows, read_behind, read_plan, select_in, write_behind
from ledger.clock import stored_between, utc_now
from ledger.errors import NotFound, PledgerError
from ledger.models import Account, Entry, EntryLine
from ledger.money import ZERO, counted, format_quantity as fq
from ledger.periods import give_date_from
from ledger.progress import QUIET, Progress
from ledger.types import QUANTITY_SCALE, fits, to_scaled
from ledger.posting import EntrySpec, Numbered, Poster, StoredLine, base_currency
from matching.checks import SIDES, worthless_unrecorded, write_off_differences
from matching.models import Closeout, CloseoutCounter, CloseoutEntry, CloseoutLine
from matching.report import PostingReport
from matching.selection import Selection, chunks_by_order, order_chunks, read_pairs, sorted_orders
from purchase.bounds import code_order
from purchase.journal import UNDO_DOCUMENT, merge_lines, role_lines
from purchase.lines import LineBook, LineRecord, MasterData, read_ahead
from purchase.lookalike import case_differs, other_cases, zeros_dropped
from purchase.models import Invoice, InvoiceLine, OrderLine, PurchaseOrder, Receipt, ReceiptLine, WriteOffOnArrival
from purchase.orders import numbers_said, refresh_statuses, undo_commands
from purchase.rules import ROLES, line_postings, quantity_of
from purchase.settings import CLOSEOUT_JOURNAL, role_account_ids, role_accounts
from purchase.write_offs import (latest_dated, record_write_offs, standing_closeouts, unrecorded_postings, unrecorded_until,
                                  written_off)

CHUNK = 2000
ERRORS_SHOWN = 50
"""The problems a refused close-out names; the rest are counted."""
CLOSEOUT_LINE_COLUMNS = ("closeout_id", "order_line_id", "to_receive_before", "to_receive_after", "to_invoice_before",
                         "to_invoice_after", "uninvoiced_units", "unreceived_units", "uninvoiced_amount", "unreceived_amount")
"""A close-out line's row, as the run builds it."""
_STORED_CLOSEOUT_COLUMNS = frozenset(CLOSEOUT_LINE_COLUMNS[2:])  # given as the stored integers
GR_SIDE = ("goods_received", "uninvoiced_receipts")
IR_SIDE = ("invoices_received", "unreceived_invoices")
LINE_ORDER = {role: n for n, role in enumerate(GR_SIDE + IR_SIDE + tuple(r for r in ROLES if r not in GR_SIDE + IR_SIDE))}
"""The order of an order line's journal lines in a close-out entry: the GR side, the IR side, the rest."""


def side_quantities(uninvoiced_units: int, unreceived_units: int) -> dict[str, int]:
    """The quantity each of a close-out's journal lines carries: the GR side (goods received,
    uninvoiced receipts) the units written off as never invoiced, the IR side (invoices
    received, unreceived invoices) the units never received; a rounding line none. Stored
    integers, as the run keeps them."""
    return {"goods_received": uninvoiced_units, "uninvoiced_receipts": uninvoiced_units,  # GR_SIDE
            "invoices_received": unreceived_units, "unreceived_invoices": unreceived_units}  # IR_SIDE


class CloseoutError(PledgerError):
    pass


@dataclass(frozen=True)
class Edit:
    """New values for a line: None keeps to receive, or lowers to invoice along with it.
    `shown`: what the row shows of the line besides (`SHOWN`, as `closeout propose` wrote
    it), to be compared with the line as it stands."""

    order: str
    line: int
    to_receive: Decimal | None
    to_invoice: Decimal | None
    where: str = ""
    shown: tuple[tuple[str, object], ...] = ()
    as_shown: bool = True
    """Whether the values may be a spreadsheet's display, rounded to the decimals a column
    shows (a CSV file saved from one): then a value that is the line's own rounded is refused
    (`rounded_places`). A workbook's cells hold what was typed whatever they show: False."""


SHOWN = ("supplier", "item", "received", "invoiced")
"""The columns of a proposal row that say which line it is and what it had: checked."""


def rounded_places(given: Decimal, now: Decimal) -> int | None:
    """The decimals at which a spreadsheet showing fewer of them would have made `now` into
    `given` (2.3333 shown as 2.33: 2; rounded half away from zero, as Excel and LibreOffice
    show a number: 3.17 at one decimal is 3.2, so 3.1 is typed); None when `given` is not
    such a rounding. Whole numbers and 0 are not taken for one: lowering 2.3333 to 2, or a
    residue of 0.0033 to 0, is what a user types."""
    places = -given.as_tuple().exponent
    if places < 1 or given == 0 or given == now or -now.normalize().as_tuple().exponent <= places:
        return None
    return places if now.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP) == given else None


def as_many_decimals(given: Decimal, now: Decimal) -> Decimal:
    """`given` written with as many decimals as `now` (12.3 for 12.34: 12.30): the form of a
    lowering that `rounded_places` does not take for a spreadsheet's rounding."""
    return given.quantize(Decimal(1).scaleb(now.normalize().as_tuple().exponent))


def shown_differences(record: LineRecord, edit: Edit) -> str | None:
    """How the line `edit` names differs from what its row shows (supplier, item, received,
    invoiced, where the row gives them), in words; None when it does not."""
    if not edit.shown:
        return None
    book = {"supplier": record.supplier_code, "item": record.item_code,
            "received": quantity_of(record.state.received), "invoiced": quantity_of(record.state.invoiced)}
    differ = [(name, value, book[name]) for name, value in edit.shown if value != book[name]]
    if not differ:
        return None
    def said(value):
        return fq(value) if isinstance(value, Decimal) else value
    row = ", ".join(f"{name} {said(value)}" for name, value, _ in differ)
    held = ", ".join(f"{name} {said(theirs)}" for name, _, theirs in differ)
    if all(isinstance(v, Decimal) and rounded_places(v, b) is not None for _, v, b in differ):
        why = "a spreadsheet rounded the row's numbers: show all their decimals before saving"
    else:
        why = ("a spreadsheet may have changed the order number (00123 saved as 123), or documents came in since the "
               "proposal: propose again")
    return f"the row shows {row}, the line has {held} ({why})"


def standing_closeout_hint(record: LineRecord) -> str:
    """Where a close-out stands on the line, its number: an edits file proposed before it ran
    gives the line's quantities as they were, and an edit that "raises" or names a line "not
    open" is then one that close-out already lowered (audit of 6 December 2026: the refusal
    did not say so, and the user had raised nothing)."""
    number = record.last_closeout_number
    return (f" (close-out {number} lowered what the line expects: if the file was proposed before it, propose again)"
            if number else "")


def _targets(record: LineRecord, edit: Edit) -> tuple[int, int, list[str]]:
    """The new to receive / to invoice of an edited line (stored integers, as its state), and
    what is wrong with them."""
    errors = []
    where = f"{edit.where + ': ' if edit.where else ''}{record.name}"
    now_to_receive, now_to_invoice = quantity_of(record.state.to_receive), quantity_of(record.state.to_invoice)
    to_receive = now_to_receive if edit.to_receive is None else edit.to_receive
    if edit.to_invoice is None:
        lowered = now_to_receive - to_receive
        to_invoice = max(ZERO, now_to_invoice - lowered)
    else:
        to_invoice = edit.to_invoice
    for label, new, old in (("to_receive", to_receive, now_to_receive), ("to_invoice", to_invoice, now_to_invoice)):
        if errors and edit.to_invoice is None:
            break  # to_invoice follows to_receive: one error says it
        given = getattr(edit, label)
        if given is not None and edit.as_shown and (places := rounded_places(given, old)) is not None:
            errors.append(f"{where}: {label} {given:f} is {fq(old)} rounded to {counted(places, 'decimal')}, as a spreadsheet "
                          f"showing fewer decimals saves it: write {fq(old)} (or leave it blank) to keep it"
                          + (f"; to lower it to {given:f}, write {as_many_decimals(given, old):f}" if given < old else ", or the value it is to have"))
        elif not fits(new, QUANTITY_SCALE):
            errors.append(f"{where}: {label} {new:f} has more than {QUANTITY_SCALE} decimals")
        elif new < ZERO:
            errors.append(f"{where}: {label} {fq(new)} is below zero")
        elif new > old:
            errors.append(f"{where}: {label} {fq(new)} would raise it from {fq(old)}; a close-out only lowers"
                          f"{standing_closeout_hint(record)}")
    if errors:
        return 0, 0, errors
    return to_scaled(to_receive, QUANTITY_SCALE), to_scaled(to_invoice, QUANTITY_SCALE), errors


class _Run:
    """State shared by a close-out or undo run: poster, accounts, counter, report."""

    def __init__(self, session: Session, user: str, date: dt.date, report: PostingReport):
        self.session = session
        self.user = user
        self.date = date
        self.report = report
        self.poster = Poster(session, user, hold_counters=True)  # one transaction
        self.accounts = role_accounts(session)
        self.account_names = dict(session.execute(select(Account.code, Account.name)).all())
        posted_to = [self.accounts[role] for role in ROLES if role in self.accounts]
        # An entry's lines share a key (account, supplier, order line, document) only where two
        # roles of one order line post to one account: with every role on an account of its
        # own there is nothing to net, and the lines go as the rule gives them.
        self.merge = merge_lines if len(set(posted_to)) < len(posted_to) else list

    def number_orders(self, per_order: "OrderedDict[str, list[tuple[LineRecord, dict, dict]]]", description: str,
                      document: str) -> Numbered:
        """One memorial entry per order: lines from each line's role amounts and side
        quantities, as the stored integers the rule gives (`StoredLine`s); checked, numbered,
        hashed and counted into the posting report, not yet written (`Poster.write`)."""
        specs, order_of = [], []
        for order_number, items in per_order.items():
            lines: list[StoredLine] = []
            for record, amounts, quantities in items:
                lines += role_lines(amounts, self.accounts, partner_id=record.supplier_id, order_line_id=record.id,
                                    document=document, quantity=None, quantities=quantities, order=LINE_ORDER,
                                    form=StoredLine)
            merged = self.merge(lines)
            if merged:
                specs.append(EntrySpec(CLOSEOUT_JOURNAL, self.date, merged, description=f"{description}, order {order_number}", source="closeout"))
                order_of.append(items)
        numbered = self.poster.number(specs)
        self.report.add_entries(numbered.entries(), self.account_names,
                                lambda: {r.id: (r.order_number, r.line_no, r.supplier_code, r.item_code)
                                         for items in order_of for r, _, _ in items})
        return numbered

    def post_chunk(self, chunks: ReadAhead, book: LineBook, order_ids, per_order, report_rows: list[tuple],
                   description: str, document: str, closeout_id: int, kind: str,
                   closeout_rows: Sequence[tuple] = (), write_offs: Sequence[tuple] = ()) -> None:
        """Post a worked-out chunk of a close-out (`kind` "closeout") or an undo ("undo"): its
        lines and entries counted into the report and its entries numbered, then the chunk's
        reads (the next chunk, the orders' statuses), then its writes (entries, close-out
        lines, links, what an undo wrote off settling lines again, line states). On SQLite
        the writes are written while the next chunk is worked out, as nothing reads again
        until that is done (`write_behind`)."""
        session = self.session
        self.report.add_lines(report_rows)
        numbered = self.number_orders(per_order, description, document)
        chunks.read_next()
        refresh_statuses(session, order_ids, known=book.whole_orders(), statuses=book.statuses, reopens_as=book.reopens_as)
        posted = self.poster.write(numbered)
        insert_rows(session, CloseoutLine, closeout_rows, columns=CLOSEOUT_LINE_COLUMNS, stored=_STORED_CLOSEOUT_COLUMNS)
        insert_rows(session, CloseoutEntry, [{"closeout_id": closeout_id, "entry_id": p.id, "kind": kind} for p in posted])
        record_write_offs(session, write_offs)
        book.flush()


def _lock_counter(session: Session) -> None:
    row = session.execute(select(CloseoutCounter.last_number).where(CloseoutCounter.id == 1).with_for_update()).first()
    if row is None:
        session.execute(insert(CloseoutCounter).values(id=1, last_number=0))


def _take_number(session: Session) -> int:
    number = session.execute(select(CloseoutCounter.last_number).where(CloseoutCounter.id == 1).with_for_update()).scalar_one() + 1
    session.execute(update(CloseoutCounter).where(CloseoutCounter.id == 1).values(last_number=number))
    return number


def fingerprint_line(record: LineRecord) -> str:
    s = record.state.as_decimals()  # the close-out's books hold stored integers; the fingerprint is of the Decimals read
    return "|".join(str(x) for x in (record.order_number, record.line_no, s.ordered, s.price, s.received, s.invoiced,
                                      s.lowered_receive, s.lowered_invoice, s.written_off_uninvoiced, s.written_off_unreceived))


@batch_collection()
def run_closeout(
    session: Session,
    selection: Selection,
    *,
    user: str,
    date: dt.date,
    edits: Sequence[Edit] | None = None,
    close_fully: bool = False,
    trial: bool = False,
    keep_details: bool = True,
    progress: Progress = QUIET,
    on_read: Callable[[LineRecord], None] | None = None,
    lowered: str | None = None,
) -> PostingReport:
    """Close out the selected lines; returns the posting report. Never commits.

    `lowered` says in words where the new quantities come from (an edits file's name, a
    saved trial), for the report; by default "closed fully" or "as edited"."""
    if not close_fully and edits is None:
        raise CloseoutError("nothing to do: give --edits FILE with the new quantities, or --close-fully")
    report = PostingReport(trial=trial, date=date, user=user, currency=base_currency(session), keep_details=keep_details,
                           selection=selection.describe(), selection_in_words=selection.in_words(),
                           lowered=lowered or ("closed fully" if close_fully else "as edited, line by line"))
    run = _Run(session, user, date, report)
    run.poster.check_date(date)
    _lock_counter(session)
    tick = progress.advance
    closeout_id: int | None = None
    errors: list[tuple[int, str]] = []  # (the edit's place in the file, the problem): listed in the file's order
    place = {id(e): i for i, e in enumerate(edits or ())}
    kept_to_invoice: list[str] = []

    def ensure_closeout() -> int:
        nonlocal closeout_id
        if closeout_id is None:
            report.closeout = _take_number(session)
            closeout_id = session.scalar(insert(Closeout).returning(Closeout.id).values(
                number=report.closeout, closeout_date=date, user_name=user,
                run_at=utc_now(), selection=selection.to_json()))
        return closeout_id

    with write_behind(session):  # on SQLite a chunk is written while the next is worked out
        chunks = ReadAhead(_chunks(session, selection, edits, errors, progress))
        for book, chunk in chunks:
            per_order: OrderedDict[str, list] = OrderedDict()
            closeout_rows, report_rows = [], []
            for record, edit in chunk:
                if on_read is not None:
                    on_read(record)
                if close_fully:
                    to_receive = to_invoice = 0
                else:
                    to_receive, to_invoice, wrong = _targets(record, edit)
                    if wrong:
                        errors.extend((place[id(edit)], problem) for problem in wrong)
                        continue
                before = record.state
                to_receive_before, to_invoice_before = before.to_receive, before.to_invoice
                if to_receive == to_receive_before and to_invoice == to_invoice_before:
                    continue
                if (edit is not None and edit.to_invoice is not None and to_invoice == to_invoice_before > 0
                        and to_receive < to_receive_before):
                    kept_to_invoice.append(record.name)  # lowered to receive only: `kept_to_invoice_note`
                if errors:
                    continue  # keep reading to list every error; nothing will be written
                after = before.close_out(to_receive, to_invoice)
                amounts = line_postings(before, after, stock_role=record.stock_role)  # stored amounts
                u = after.written_off_uninvoiced - before.written_off_uninvoiced
                v = after.written_off_unreceived - before.written_off_unreceived
                uninvoiced_amount = -amounts.get("uninvoiced_receipts", 0)
                unreceived_amount = amounts.get("unreceived_invoices", 0)
                number_id = closeout_id if closeout_id is not None else ensure_closeout()
                per_order.setdefault(record.order_number, []).append((record, amounts, side_quantities(u, v)))
                book.set_state(record, after, closeout_number=report.closeout)
                closeout_rows.append((number_id, record.id, to_receive_before, to_receive, to_invoice_before, to_invoice,
                                      u, v, uninvoiced_amount, unreceived_amount))  # CLOSEOUT_LINE_COLUMNS, stored
                report_rows.append(_report_row(record, to_receive_before, to_receive, to_invoice_before, to_invoice, u, v,
                                               uninvoiced_amount, unreceived_amount))
            if errors or not closeout_rows:
                tick(len(chunk))
                continue
            run.post_chunk(chunks, book, {r.order_id for r, _ in chunk}, per_order, report_rows, f"close-out {report.closeout}",
                           f"closeout {report.closeout}", closeout_id, "closeout", closeout_rows)
            tick(len(chunk))
    if errors:
        # in the order of the file's rows, as a spreadsheet user reads them (they were found
        # in the selection's sort, the lines a chunk reads first: "row 3; row 2")
        errors = [problem for _, problem in sorted(errors, key=lambda found: found[0])]
        shown = errors[:ERRORS_SHOWN] + ([f"... and {len(errors) - ERRORS_SHOWN} more"] if len(errors) > ERRORS_SHOWN else [])
        raise CloseoutError(f"close-out refused, nothing written ({counted(len(errors), 'problem')}): " + "; ".join(shown))
    _refuse_dated_while_undone_closeout_stood(session, closeout_id, date)
    if kept_to_invoice:
        report.notes.append(kept_to_invoice_note(kept_to_invoice))
    return report


def _refuse_dated_while_undone_closeout_stood(session: Session, closeout_id: int | None, date: dt.date, *,
                                              undo_of: int | None = None) -> None:
    """A close-out writing off on a line, or the undo of one giving back there (`undo_of`:
    its number), dated before the undo that gave back another close-out's write-offs there
    (and that undo dated after its close-out): the one place of the rule for both.

    A close-out so dated: as of the days from the later of the two close-outs' dates to the
    undo's, the ledger would hold both write-offs of the same units (IR in credit on the
    line, unreceived invoices twice what was invoiced; audit of 6 December 2026). Refused as
    an undo dated before its close-out is: the run writes off what the undo gave back. A
    lowering that posts nothing on the line is left alone.

    An undo so dated (of close-out 1, dated before the undo of close-out 2 that stood on top
    of it): as of the days between, close-out 2 would stand on a line close-out 1 no longer
    held, the close-outs of the line undone oldest first, which `undo_one` refuses while
    close-out 2 stands (audit of 6 December 2026). Called once the undo has posted, before
    it is marked undone; a line it posted nothing back on is left alone.

    One look at the close-outs first, so that a book with no such undo pays nothing more."""
    if closeout_id is None:
        return
    # both stand as of the days from the later of the two close-outs' dates to the undo's
    spans = (Closeout.undone_at.is_not(None), Closeout.undo_date > date, Closeout.undo_date > Closeout.closeout_date)
    if session.scalar(select(Closeout.id).where(*spans).limit(1)) is None:
        return
    mine, theirs = aliased(CloseoutLine), aliased(CloseoutLine)

    def given_back(closeout):  # the undo of `closeout` posted on the order line
        return (select(EntryLine.id).join(CloseoutEntry, CloseoutEntry.entry_id == EntryLine.entry_id)
                .where(CloseoutEntry.closeout_id == closeout, CloseoutEntry.kind == "undo",
                       EntryLine.order_line_id == mine.order_line_id).exists())

    posts = ((mine.uninvoiced_amount != 0) | (mine.unreceived_amount != 0) if undo_of is None
             else given_back(mine.closeout_id))
    found = session.execute(
        select(PurchaseOrder.number, OrderLine.line_no, Closeout.number, Closeout.undo_date)
        .select_from(mine)
        .join(theirs, and_(theirs.order_line_id == mine.order_line_id, theirs.closeout_id != mine.closeout_id))
        .join(Closeout, Closeout.id == theirs.closeout_id)
        .join(OrderLine, OrderLine.id == mine.order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(mine.closeout_id == closeout_id, *spans, given_back(theirs.closeout_id), posts)
        .order_by(Closeout.undo_date.desc(), Closeout.number.desc(), PurchaseOrder.number, OrderLine.line_no)
        .limit(1)).first()
    if found is None:
        return
    order_number, line_no, number, undo_date = found
    if undo_of is None:
        raise CloseoutError(f"close-out refused, nothing written: on order {order_number} line {line_no} the write-offs of "
                            f"close-out {number} stood until its undo of {undo_date.isoformat()}; dated {date.isoformat()}, "
                            f"this close-out would write them off again beside them: {give_date_from(session, undo_date)}")
    raise CloseoutError(f"undo of close-out {undo_of} refused, nothing written: on order {order_number} line {line_no} "
                        f"close-out {number} stood on it until its undo of {undo_date.isoformat()}; dated {date.isoformat()}, "
                        f"this undo would give back close-out {undo_of} while close-out {number} still stood (close-outs "
                        f"of a line are undone newest first): {give_date_from(session, undo_date)}")


def _refuse_settled_before_closeout(session: Session, closeout: Closeout, date: dt.date,
                                    settled: dict[int, tuple[dt.date, LineRecord]]) -> None:
    """An undo that settled lines again under the older close-outs still standing (`undo_line`;
    `settled`: per the latest-dated of those on a line (`latest_dated`), its date and the
    first such line, in the undo's order), dated before that close-out: it writes off under
    them as of its own date, so as of the days between the ledger would hold that
    close-out's write-offs before its date, with no close-out dated by then standing on the
    line (a close-out run after another but dated before it, undone dated between the two;
    audit of 6 December 2026). Held to the latest date of them all, not only the newest's,
    which the write-off is recorded under, as documents are (`purchase.documents`): what is
    written off again may have been decided by an older close-out dated later. Refused as an
    undo dated before its own close-out is. Nothing read: the dates came with the lines."""
    later = [(closeout_date, number) for number, (closeout_date, _) in settled.items() if closeout_date > date]
    if not later:
        return
    closeout_date, number = max(later)
    record = settled[number][1]
    raise CloseoutError(f"undo of close-out {closeout.number} refused, nothing written: on order {record.order_number} line "
                        f"{record.line_no} it would write off again under close-out {number}, dated "
                        f"{closeout_date.isoformat()}; dated {date.isoformat()}, the ledger would hold close-out {number}'s "
                        f"write-offs before its date: {give_date_from(session, closeout_date)}")


def kept_to_invoice_note(names: Sequence[str]) -> str:
    """The edits that lowered to receive and gave to invoice as it was: CLI.md keeps a value
    given, so it did not follow; DOMAIN.md lowers it along unless the user sets it. A file
    `closeout propose` wrote holds every line's to invoice: lowering only to receive there
    keeps it, which the user may not have meant."""
    first = names[0] + (f" and {len(names) - 1} more" if len(names) > 1 else "")
    return (f"{counted(len(names), 'edited line')} lower to_receive and give to_invoice as it was, so it stays ({first}); "
            f"leave to_invoice blank to lower it along with to_receive")


def later_documents_note(session: Session, report: PostingReport) -> str | None:
    """A close-out, or the undo of one, dated before receipts or invoices on its lines (a
    year-end close-out run after the new year's documents; an undo dated back to before the
    invoices whose write-offs on arrival it gives back): as of its date the ledger holds
    what the documents after it did (`report grir --as-of` and the trial balance between the
    dates show balances the documents up to then do not explain). Said, not refused: the
    date is the accountant's to choose."""
    number = report.closeout if report.closeout is not None else report.undo_of
    if number is None:
        return None
    lines = (select(CloseoutLine.order_line_id).join(Closeout, Closeout.id == CloseoutLine.closeout_id)
             .where(Closeout.number == number).scalar_subquery())
    later = union_all(*(
        select(line_table.order_line_id.label("line"), literal(kind).label("kind"), doc.number.label("number"),
               date_column.label("date"), doc.entry_id.label("entry"))
        .join(doc, doc.id == key).where(line_table.order_line_id.in_(lines), date_column > report.date)
        for kind, line_table, doc, date_column, key in (
            ("receipt", ReceiptLine, Receipt, Receipt.receipt_date, ReceiptLine.receipt_id),
            ("invoice", InvoiceLine, Invoice, Invoice.invoice_date, InvoiceLine.invoice_id)))).subquery()
    found = session.scalar(select(func.count(func.distinct(later.c.line))))
    if not found:
        return None
    kind, number, date = session.execute(select(later.c.kind, later.c.number, later.c.date)
                                         .order_by(later.c.date.desc(), later.c.entry.desc().nulls_last(),
                                                   later.c.number.desc()).limit(1)).one()  # a day's last posted
    latest = f"before documents on {found} of its lines (the latest: {kind} {number} of {date.isoformat()})"
    if report.undo_of is not None:
        which = f"the undo of close-out {report.undo_of}" + (" tried" if report.trial else "")
        return f"{which} is dated {report.date.isoformat()}, {latest}: as of its date the ledger holds the lines as those documents left them"
    which = "the close-out tried" if report.trial else f"close-out {report.closeout}"
    return (f"{which} is dated {report.date.isoformat()}, {latest}: as of its date the ledger holds its write-offs before "
            f"the documents they settle")


def _chunks(session: Session, selection: Selection, edits: Sequence[Edit] | None, errors: list[tuple[int, str]],
            progress: Progress):
    """(LineBook, [(record, edit)]) per chunk: the whole selection, or only the edited lines,
    in the selection's sort either way."""
    masters = MasterData()  # suppliers and items, read once a run
    if edits is None:
        # Each chunk's lines are read a chunk early, by the writer where there is one
        # (`read_ahead`): no earlier chunk touches them, as every order is in one chunk.
        chunks = chunks_by_order(session, selection, CHUNK, on_total=progress.start)
        chunk = next(chunks, None)
        ahead = read_ahead(session, chunk.order_ids, stored=True) if chunk is not None else None
        while chunk is not None:
            book = LineBook(session, stored=True, masters=masters)
            book.load_orders(chunk.order_ids, ahead=ahead)  # a read of new suppliers or items waits for the writer
            following = next(chunks, None)  # its read given after that, to go on beside the work on this chunk
            ahead = read_ahead(session, following.order_ids, stored=True) if following is not None else None
            yield book, [(book.by_id[i], None) for i in chunk.ids if book.by_id[i].state.is_open]
            chunk = following
        return
    progress.start(len(edits))
    place = {id(e): i for i, e in enumerate(edits)}
    seen = {}
    for e in edits:
        key = (e.order, e.line)
        if key in seen:
            errors.append((place[id(e)], f"{e.where + ': ' if e.where else ''}order {e.order} line {e.line} is edited twice "
                                         f"(also {seen[key] or 'above'})"))
        seen[key] = e.where
    by_order: dict[str, list[Edit]] = {}
    for e in edits:
        by_order.setdefault(e.order, []).append(e)
    for order_edits in by_order.values():
        order_edits.sort(key=lambda e: e.line)
    orders = sorted_orders(session, list(by_order), selection.sort)  # worked in the selection's sort, as a whole one
    for i in range(0, len(orders), max(1, CHUNK // 10)):
        part = [e for o in orders[i : i + max(1, CHUNK // 10)] for e in by_order[o]]
        book = LineBook(session, stored=True, masters=masters)
        book.load_keys((e.order, e.line) for e in part)
        chunk = []
        for e in part:
            record = book.get(e.order, e.line)
            where = f"{e.where + ': ' if e.where else ''}order {e.order} line {e.line}"
            if record is None:
                # the order it may be: looked up for the problems a refusal shows (a scan each), not for all
                hint = ((zeros_dropped(session, PurchaseOrder.number, e.order, "order")
                         or case_differs(session, PurchaseOrder.number, e.order, "order")) if len(errors) < ERRORS_SHOWN else "")
                errors.append((place[id(e)], f"{where}: no such order line{hint}"))
            elif (differs := shown_differences(record, e)) is not None:
                errors.append((place[id(e)], f"{where}: {differs}"))
            elif not selection.contains(record.order_number, record.supplier_code, record.order_date):
                errors.append((place[id(e)], f"{where}: not in the selection"))
            elif record.order_status in ("new", "cancelled") or not record.state.is_open:
                errors.append((place[id(e)], f"{where}: not open (nothing to receive or invoice, no GR/IR balance)"
                                              f"{standing_closeout_hint(record)}"))
            else:
                chunk.append((record, e))
        yield book, chunk


# -- undo -----------------------------------------------------------------------------


@dataclass(frozen=True)
class UndoSelection:
    """Which close-outs to undo (aflettering ongedaan maken): by number or range, by the user
    who ran them, by the date or dates they ran, or by naming a line of one (DOMAIN.md: naming
    any line of a close-out undoes the whole close-out; of a line's close-outs, the newest
    still standing, as they are undone newest first). Given together, all must hold.

    `on` is the days they were run on (Exact: "de datum of de data waarop de afletteringen
    zijn uitgevoerd"), local days, from and to (either open; one day: both the same), not
    the date they posted at."""

    numbers: tuple[int | None, int | None] | None = None
    by: str | None = None
    on: tuple[dt.date | None, dt.date | None] | None = None
    line: tuple[str, int] | None = None  # (order number, line number)


def find_closeouts(session: Session, which: UndoSelection) -> list[Closeout]:
    stmt = select(Closeout).order_by(Closeout.number.desc())
    if which.numbers is not None:
        low, high = which.numbers
        if low is not None:
            stmt = stmt.where(Closeout.number >= low)
        if high is not None:
            stmt = stmt.where(Closeout.number <= high)
    if which.by is not None:
        stmt = stmt.where(Closeout.user_name == which.by)
    if which.on is not None:
        start, end = stored_between(*which.on)
        if start is not None:
            stmt = stmt.where(Closeout.run_at >= start)
        if end is not None:
            stmt = stmt.where(Closeout.run_at < end)
    if which.line is not None:
        order_number, line_no = which.line
        holding = (select(CloseoutLine.closeout_id).join(OrderLine, OrderLine.id == CloseoutLine.order_line_id)
                   .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
                   .where(PurchaseOrder.number == order_number, OrderLine.line_no == line_no))
        found = session.scalars(stmt.where(Closeout.id.in_(holding), Closeout.undone_at.is_(None)).limit(1)).all()
        if not found:
            _refuse_a_line_that_is_not(session, order_number, line_no)
            also = _besides_the_line(which)
            raise NotFound(f"no close-out that still stands holds order {order_number} line {line_no}"
                           f"{' among those asked for (' + also + ')' if also else ''}: see 'pledger closeout list'")
        return list(found)
    return list(session.scalars(stmt))


def _refuse_a_line_that_is_not(session: Session, order_number: str, line_no: int) -> None:
    """`--line` naming an order or line that does not exist is told so, as `po show` tells it:
    "no close-out ... holds order PO-9 line 1" read as a line nothing closed out, and the list
    of close-outs it pointed to names no lines (audit of 7 December 2026)."""
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.number == order_number))
    if order is None:  # as `po show` says it, and the order meant where only the case differs
        raise NotFound(f"no purchase order '{order_number}'{case_differs(session, PurchaseOrder.number, order_number, 'order')}: "
                       f"see 'pledger po list'")
    if session.scalar(select(OrderLine.id).where(OrderLine.order_id == order.id, OrderLine.line_no == line_no)) is None:
        raise NotFound(f"order {order_number} has no line {line_no}: see 'pledger po show {order_number}'")


def _besides_the_line(which: UndoSelection) -> str:
    """What an undo asked of the close-outs besides a line ("close-out 1; run by ann"), for a
    refusal that must not read as if only the line had been asked for, or as if nothing
    had been asked ("no close-out matches", audit of 6 December 2026)."""
    def span(low, high, one, many):
        if low is not None and low == high:
            return f"{one} {low}"
        return f"{many} {'' if low is None else low}..{'' if high is None else high}"

    asked = []
    if which.numbers is not None:
        asked.append(span(*which.numbers, "close-out", "close-outs"))
    if which.by is not None:
        asked.append(f"run by {which.by}")
    if which.on is not None:
        asked.append(span(*which.on, "run on", "run on"))
    return "; ".join(asked)


@batch_collection()
def undo_closeouts(
    session: Session,
    which: UndoSelection,
    *,
    user: str,
    date: dt.date,
    trial: bool = False,
    keep_details: bool = True,
    progress: Progress = QUIET,
) -> list[PostingReport]:
    """Undo the chosen close-outs, newest first, all in the caller's transaction."""
    _lock_counter(session)
    found = find_closeouts(session, which)
    if not found:
        asked = _besides_the_line(which)  # the line is none of it here: no --line was given, or it was found
        if which.by is not None and (others := other_cases(session, Closeout.user_name, which.by)):
            # `--by Ann` for ann's close-outs read as if Ann had run none (audit of 7 December 2026)
            asked += f"; close-outs were run by {' and '.join(others)}: names compare exactly, case and all"
        raise NotFound(f"no close-out matches{' (' + asked + ')' if asked else ''}: see 'pledger closeout list'")
    if which.numbers is not None and which.numbers[0] is not None and which.numbers[0] == which.numbers[1]:  # one number
        number = which.numbers[0]
        if found[0].undone_at is not None:
            raise CloseoutError(f"close-out {number} was already undone by {found[0].undone_by} on {found[0].undo_date}: "
                                f"nothing to undo (see 'pledger closeout show {number}')")
    standing = [c for c in found if c.undone_at is None]
    if not standing:  # which ones, and by whom (it said only "every matching close-out")
        asked = _besides_the_line(which)
        raise CloseoutError(f"every close-out matching{f' ({asked})' if asked else ''} was already undone: "
                            f"{_undone_in_words(found)}; nothing to undo")
    left_out = _left_out_note([c for c in found if c.undone_at is not None])  # before the undo marks these
    try:
        reports = [undo_one(session, c, user=user, date=date, trial=trial, keep_details=keep_details, progress=progress)
                   for c in standing]
    except CloseoutError as exc:
        if len(standing) == 1:
            raise
        # those undone before it are rolled back with it: said, or they read as undone (audit of 7 December 2026)
        raise CloseoutError(f"{exc}; nothing undone: the {len(standing)} close-outs asked for are undone together "
                            f"or not at all") from None
    if left_out is not None:
        reports[0].notes.append(left_out)
    return reports


def _left_out_note(undone: list[Closeout]) -> str | None:
    """The close-outs a range, user or day took that were already undone, and so left out of
    the undo (newest first, as the reports): said, or a range of three printing two reports
    read as one overlooked (audit of 7 December 2026)."""
    if not undone:
        return None
    return f"left out, as already undone: close-out{'s' if len(undone) > 1 else ''} {_undone_in_words(undone)}"


def _undone_in_words(undone: list[Closeout]) -> str:
    """Undone close-outs, each with who undid it and the undo's date, the first five named:
    "3 (by carol on 2026-12-05), 1 (by ann on 2026-07-01)"."""
    told = [f"{c.number} (by {c.undone_by} on {c.undo_date})" for c in undone[:5]]
    return ", ".join(told) + (f" and {len(undone) - 5} more" if len(undone) > 5 else "")


class WriteOffs(NamedTuple):
    """What an undo gives back on a line: units and amounts (stored integers as the undo reads
    them, or Decimals beside a `LineState`; positive as a close-out puts them on uninvoiced
    receipts and unreceived invoices), and how many write-offs they add up (each posted as
    a difference of two rounded values: the rounding the undo may post grows by one minor
    unit with each, `line_postings`)."""

    uninvoiced_units: int
    unreceived_units: int
    uninvoiced_amount: int
    unreceived_amount: int
    postings: int

    @classmethod
    def of(cls, uninvoiced_units: int, unreceived_units: int, uninvoiced_amount: int, unreceived_amount: int) -> "WriteOffs":
        return cls(uninvoiced_units, unreceived_units, uninvoiced_amount, unreceived_amount,
                   (uninvoiced_units != 0 or uninvoiced_amount != 0) + (unreceived_units != 0 or unreceived_amount != 0))

    def plus(self, other: "WriteOffs | None") -> "WriteOffs":
        return self if other is None else WriteOffs(*(a + b for a, b in zip(self, other)))


def undo_line(before, lowered_receive, lowered_invoice, given: WriteOffs, *, stock_role: str = "stock"):
    """What undoing a close-out does to one of its lines (DOMAIN.md, Undo), on either form of
    a line state: `(given_back, after, amounts, again)`.

    The close-out's lowering (`lowered_receive`, `lowered_invoice`: what it took off to
    receive and to invoice) is added back, and the write-offs `given` (its own, and those
    documents made under it as they arrived) are taken back: `given_back`, posted with the
    uninvoiced-receipts and unreceived-invoices accounts getting back exactly the amounts
    given, the cents between them and the change of GR and IR on rounding (at most one
    minor unit more than the write-offs given back, `line_postings`). Where an older
    close-out still stands, the line is then settled again under it (`_settle`: what it
    still says will never be invoiced, or never received, is written off anew, as a
    document arriving would): `after`, with `again` the role amounts of that step (None
    when there is none). `amounts` are the undo's role amounts for the line, both steps.
    """
    given_back = before._replace(
        lowered_receive=before.lowered_receive - lowered_receive,
        lowered_invoice=before.lowered_invoice - lowered_invoice,
        written_off_uninvoiced=before.written_off_uninvoiced - given.uninvoiced_units,
        written_off_unreceived=before.written_off_unreceived - given.unreceived_units,
    )
    amounts = line_postings(before, given_back, uninvoiced_amount=-given.uninvoiced_amount,
                            unreceived_amount=-given.unreceived_amount, stock_role=stock_role,
                            rounding_units=1 + given.postings)
    after = given_back._settle()
    if after is given_back:
        return given_back, after, amounts, None
    again = line_postings(given_back, after, stock_role=stock_role)
    return given_back, after, _summed(amounts, again), again


def _summed(amounts: dict, more: dict) -> dict:
    """Two changes' role amounts as one (zeros left out, as `line_postings` leaves them)."""
    out = dict(amounts)
    for role, amount in more.items():
        out[role] = out.get(role, 0) + amount
    return {role: amount for role, amount in out.items() if amount != 0}


def _undos_first(session: Session, number: int) -> list[int]:
    """The standing close-outs to undo before close-out `number`, newest first: each newer one
    on its lines, and in turn each newer than one of those on that one's lines (close-outs of
    a line are undone newest first). Of three on one line, the refusal named the newest
    alone, and followed, refused again naming the middle one (review of 7 December 2026).
    Asked only by that refusal."""
    found, todo = set(), [number]
    while todo:
        current = todo.pop()
        lines = select(CloseoutLine.order_line_id).join(Closeout, Closeout.id == CloseoutLine.closeout_id).where(
            Closeout.number == current)
        for newer in session.scalars(
                select(Closeout.number).distinct().join(CloseoutLine, CloseoutLine.closeout_id == Closeout.id)
                .where(Closeout.number > current, Closeout.undone_at.is_(None), CloseoutLine.order_line_id.in_(lines))):
            if newer not in found:
                found.add(newer)
                todo.append(newer)
    return sorted(found, reverse=True)


def undo_one(session: Session, closeout: Closeout, *, user: str, date: dt.date, trial: bool, keep_details: bool = True,
             progress: Progress = QUIET) -> PostingReport:
    if date < closeout.closeout_date:
        raise CloseoutError(f"close-out {closeout.number} posted on {closeout.closeout_date}: its undo cannot be dated "
                            f"before it ({date}); {give_date_from(session, closeout.closeout_date)}")
    report = PostingReport(trial=trial, date=date, user=user, currency=base_currency(session), undo_of=closeout.number,
                           keep_details=keep_details, **_stored_selection(closeout.selection),
                           lowered=f"what close-out {closeout.number} of {closeout.closeout_date.isoformat()} "
                                   f"by {closeout.user_name} lowered, given back")
    newer = session.execute(
        select(Closeout.number)
        .join(CloseoutLine, CloseoutLine.closeout_id == Closeout.id)
        .where(
            Closeout.number > closeout.number,
            Closeout.undone_at.is_(None),
            CloseoutLine.order_line_id.in_(select(CloseoutLine.order_line_id).where(CloseoutLine.closeout_id == closeout.id)),
        )
        .order_by(Closeout.number.desc())
        .limit(1)
    ).scalar()
    if newer is not None:
        first = _undos_first(session, closeout.number)
        if len(first) == 1:
            raise CloseoutError(f"close-out {closeout.number} cannot be undone while the newer close-out {newer} on the same "
                                f"lines stands: undo {newer} first")
        raise CloseoutError(f"close-out {closeout.number} cannot be undone while the newer close-outs {numbers_said(first)} "
                            f"stand on its lines (or on the lines of one of them): undo them first, newest first: "
                            f"{undo_commands(first)}")
    _refuse_write_offs_on_arrival(session, closeout)
    run = _Run(session, user, date, report)
    run.poster.check_date(date)
    ids, orders = read_pairs(session, select(CloseoutLine.id, OrderLine.order_id)
                             .join(OrderLine, OrderLine.id == CloseoutLine.order_line_id)
                             .where(CloseoutLine.closeout_id == closeout.id).order_by(CloseoutLine.id))
    progress.start(len(ids))
    tick = progress.advance
    document = f"{UNDO_DOCUMENT}{closeout.number}"
    settled: dict[int, tuple] = {}  # per latest-dated older close-out on lines settled again: its date, the first line
    with write_behind(session):  # on SQLite a chunk is written while the next is worked out
        chunks = ReadAhead(_undo_chunks(session, closeout, ids, orders))
        for rows, book, previous, latest, arrived in chunks:
            per_order: OrderedDict[str, list] = OrderedDict()
            report_rows, write_offs = [], []
            for (line_id, to_receive_before, to_receive_after, to_invoice_before, to_invoice_after,
                 uninvoiced_units, unreceived_units, uninvoiced_amount, unreceived_amount) in sorted(
                    rows, key=lambda r: (book.by_id[r[0]].order_number, book.by_id[r[0]].line_no)):
                record = book.by_id[line_id]
                before = record.state
                # what the close-out wrote off itself, and what documents wrote off under it as they arrived
                given = WriteOffs.of(uninvoiced_units, unreceived_units, uninvoiced_amount, unreceived_amount).plus(
                    arrived.get(line_id))
                given_back, after, amounts, again = undo_line(before, to_receive_before - to_receive_after,
                                                              to_invoice_before - to_invoice_after, given,
                                                              stock_role=record.stock_role)  # stored amounts
                if again is not None:  # settled again under an older close-out still standing
                    write_offs.append(written_off(record.id, previous.get(record.id), document, given_back, after, again))
                    if record.id in latest:
                        closeout_date, number = latest[record.id]
                        settled.setdefault(number, (closeout_date, record))
                uninvoiced = after.written_off_uninvoiced - before.written_off_uninvoiced
                unreceived = after.written_off_unreceived - before.written_off_unreceived
                per_order.setdefault(record.order_number, []).append((record, amounts, side_quantities(uninvoiced, unreceived)))
                book.set_state(record, after, closeout_number=previous.get(record.id))
                report_rows.append(_report_row(record, before.to_receive, after.to_receive, before.to_invoice, after.to_invoice,
                                               uninvoiced, unreceived, -amounts.get("uninvoiced_receipts", 0),
                                               amounts.get("unreceived_invoices", 0)))
            run.post_chunk(chunks, book, book.whole, per_order, report_rows, f"undo of close-out {closeout.number}",
                           document, closeout.id, "undo", write_offs=write_offs)
            tick(len(rows))
    _refuse_settled_before_closeout(session, closeout, date, settled)
    _refuse_dated_while_undone_closeout_stood(session, closeout.id, date, undo_of=closeout.number)
    session.execute(update(Closeout).where(Closeout.id == closeout.id).values(
        undone_by=user, undone_at=utc_now(), undo_date=date))
    return report


def _stored_selection(stored: str | None) -> dict:
    """A close-out's stored selection as the report's `selection` and `selection_in_words`;
    none stored: nothing; text that is not a stored selection: said as it is."""
    if stored is None:
        return {}
    selection = Selection.from_stored(stored)
    if selection is None:
        return {"selection_in_words": stored}
    return {"selection": selection.describe(), "selection_in_words": selection.in_words()}


def _refuse_write_offs_on_arrival(session: Session, closeout: Closeout) -> None:
    """Refuse the undo of a close-out one of whose lines a receipt or invoice wrote units off
    as they arrived before such write-offs were recorded (migration 0006, up to the entry it
    kept, `unrecorded_until`): the undo gives back what the close-out wrote off and what is
    recorded under it (`WriteOffOnArrival`); such a write-off would stay on a line that
    expects its goods or invoice again, and the line's next document would post to the
    wrong interim account. Found by looking for postings of documents on the write-off
    accounts for the close-out's lines up to that entry, posted since the close-out ran
    (one posted before it is an older close-out's, which this undo gives nothing of back):
    one indexed probe a line (`ix_entry_lines_order_line_account`); books begun since 0006
    have none to look for."""
    until = unrecorded_until(session)
    if not until:
        return
    found = (
        unrecorded_postings(PurchaseOrder.number, OrderLine.line_no, EntryLine.document, accounts=role_account_ids(session),
                            until=until)
        .join(CloseoutLine, CloseoutLine.order_line_id == EntryLine.order_line_id)
        .join(OrderLine, OrderLine.id == CloseoutLine.order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(CloseoutLine.closeout_id == closeout.id, Entry.posted_at >= closeout.run_at)
    )
    first = session.execute(found.order_by(code_order(PurchaseOrder.number), OrderLine.line_no, Entry.id).limit(1)).first()
    if first is None:
        first, lines = _worthless_write_offs(session, closeout, until)
        if first is None:
            return
    else:
        lines = session.scalar(select(func.count()).select_from(found.with_only_columns(OrderLine.id).distinct().subquery()))
    number, line_no, document = first
    raise CloseoutError(
        f"close-out {closeout.number} cannot be undone: {document} wrote off units of order {number} line {line_no} as "
        f"they arrived, before pledger recorded which close-out such write-offs belong to ({counted(lines, 'line')} in all); "
        f"an undo cannot give them back, and would leave them written off on a line that expects them again")


def _worthless_write_offs(session: Session, closeout: Closeout, until: int) -> tuple[tuple | None, int]:
    """(order, line, document) of the first of the close-out's lines holding units written
    off on arrival before 0006 that were worth 0.00 (no ledger line shows them: `check`
    counts them as explained, `matching.checks.worthless_unrecorded`) by a receipt or
    invoice posted since the close-out ran, and the number of such lines. Only lines whose
    write-offs differ from what explains them are read (few)."""
    found = []
    for row in session.execute(write_off_differences(session, role_account_ids(session), closeout_id=closeout.id)).all():
        number, line_no, _, _, wu, wv, _, _, e_wu, e_wv, _, _, _, _, unrecorded_here = row[:15]
        if unrecorded_here:
            continue  # its write-off postings are found by `_refuse_write_offs_on_arrival`
        for (side, _), held, by in zip(SIDES, (wu, wv), (e_wu, e_wv)):
            document = held != by and worthless_unrecorded(session, row, side, held, by, until=until, since=closeout.run_at)
            if document:
                found.append((number, line_no, f"{'receipt' if side == 'uninvoiced' else 'invoice'} {document}"))
                break
    if not found:
        return None, 0
    return min(found), len(found)  # by order number as text (code points, as `code_order`) and line


def _undo_chunks(session: Session, closeout: Closeout, ids, orders):
    """Per chunk of whole orders (one entry per order, as the close-out posted): the
    close-out's lines (`_undo_plan`, in no particular order), a `LineBook` holding those
    orders, per line the close-out that changed it before this one
    (`_previous_closeouts`) and the (date, number) of the latest-dated of the older
    close-outs standing on it (`latest_dated`), and per line what documents wrote off
    under this close-out as they arrived (`_arrived`). Each chunk's lines and what earlier close-outs did to them are
    read a chunk early, by the writer where there is one: no earlier chunk touches them, as
    every order is in one chunk, and the undo marks its close-out undone only at its end."""
    dialect = session.get_bind().dialect
    plan, previous_plan, arrived_plan = _undo_plan(dialect), _previous_plan(dialect), _arrived_plan(dialect)
    masters = MasterData()

    def read_early(chunk):  # by the writer where there is one (`read_behind`, `read_ahead`)
        return (read_behind(session, plan, chunk.ids), read_ahead(session, chunk.order_ids, stored=True),
                read_behind(session, previous_plan, chunk.ids), read_behind(session, arrived_plan, chunk.ids))

    def read(early, plan, ids):
        return early() if early is not None else select_in(session, plan, ids)

    chunks = order_chunks(ids, orders, CHUNK)
    chunk = next(chunks, None)
    early = read_early(chunk) if chunk is not None else None
    while chunk is not None:
        rows_early, orders_early, previous_early, arrived_early = early
        rows = read(rows_early, plan, chunk.ids)
        book = LineBook(session, stored=True, masters=masters)
        book.load_orders(chunk.order_ids, ahead=orders_early)
        standing = read(previous_early, previous_plan, chunk.ids)
        previous = _previous_closeouts(standing, closeout.number)
        latest = latest_dated(standing, older_than=closeout.number)
        arrived = _arrived(read(arrived_early, arrived_plan, chunk.ids))
        following = next(chunks, None)
        early = read_early(following) if following is not None else None
        yield rows, book, previous, latest, arrived
        chunk = following


@lru_cache(maxsize=4)
def _undo_plan(dialect) -> ReadPlan:
    """How an undo reads the close-out lines of a chunk by their ids: the line, and what the
    close-out changed and posted on it, as the stored integers."""
    c = CloseoutLine
    plan = read_plan(select(c.order_line_id, c.to_receive_before, c.to_receive_after, c.to_invoice_before, c.to_invoice_after,
                            c.uninvoiced_units, c.unreceived_units, c.uninvoiced_amount, c.unreceived_amount),
                     c.id, c.id, dialect)
    return plan._replace(processors=(None,) * len(plan.processors))


@lru_cache(maxsize=4)
def _arrived_plan(dialect) -> ReadPlan:
    """How an undo reads, by the ids of its close-out's lines, what was written off on those
    order lines under this close-out as documents arrived (`WriteOffOnArrival`): the order
    line and the units and amounts, as the stored integers. One indexed probe a line
    (`ix_write_offs_on_arrival_order_line`); most find nothing."""
    mine, w = CloseoutLine, WriteOffOnArrival
    stmt = (select(mine.order_line_id, w.uninvoiced_units, w.unreceived_units, w.uninvoiced_amount, w.unreceived_amount)
            .select_from(mine).join(Closeout, Closeout.id == mine.closeout_id)
            .join(w, and_(w.order_line_id == mine.order_line_id, w.closeout_number == Closeout.number)))
    plan = read_plan(stmt, mine.id, mine.id, dialect)
    return plan._replace(processors=(None,) * len(plan.processors))


def _arrived(rows: Sequence[tuple]) -> dict[int, WriteOffs]:
    """Per order line, the write-offs on arrival of `_arrived_plan`'s rows added up."""
    out: dict[int, WriteOffs] = {}
    for line_id, units_u, units_v, amount_u, amount_v in rows:
        out[line_id] = WriteOffs.of(units_u, units_v, amount_u, amount_v).plus(out.get(line_id))
    return out


def _report_row(record: LineRecord, to_receive_before: int, to_receive_after: int, to_invoice_before: int,
                to_invoice_after: int, uninvoiced: int, unreceived: int, uninvoiced_amount: int, unreceived_amount: int) -> tuple:
    """A changed line as the posting report keeps it, the stored integers
    (`matching.report.REPORT_LINE_FIELDS`; `PostingReport.add_lines`)."""
    return (record.order_number, record.line_no, to_receive_before, to_receive_after, to_invoice_before, to_invoice_after,
            uninvoiced, unreceived, uninvoiced_amount, unreceived_amount)


@lru_cache(maxsize=4)
def _previous_plan(dialect) -> ReadPlan:
    """How an undo reads, by the ids of its close-out's lines, the close-outs standing on the
    same order lines (its own included; `purchase.write_offs.standing_closeouts`): the order
    line, the close-out's number and its date."""
    mine = aliased(CloseoutLine)
    stmt = standing_closeouts()
    stmt = stmt.join(mine, mine.order_line_id == stmt.selected_columns.order_line_id)
    return read_plan(stmt, mine.id, mine.id, dialect)


def _previous_closeouts(rows: Sequence[tuple], number: int) -> dict[int, int]:
    """Per order line, the newest standing close-out older than `number`, from the rows of
    `_previous_plan` (for the lines' last close-out number, and refusal messages)."""
    out: dict[int, int] = {}
    for line_id, n, _ in rows:
        if n < number and n > out.get(line_id, 0):
            out[line_id] = n
    return out
