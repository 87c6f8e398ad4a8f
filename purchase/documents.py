"""Goods receipts and purchase invoices (and returns and credit notes) and their postings.

One path for all of them, used by the CSV imports, the UBL import, the CLI and the
tests: a list of documents is validated line by line against the order lines' state
(`LineBook`), every change of state is turned into postings by `purchase.rules`, and
the entries, document rows and new line states are written in batches with Core. The
lines' states are held as the stored integers (`StoredLineState`), as the rows keep them;
the journal lines are posted as the stored integers the rule gives (`StoredLine`); the
documents' own quantities, prices and amounts, and every message, are Decimals.

A receipt or invoice beyond what a line still expects is refused (naming the close-out
that lowered it, if one did); a return or credit note may not bring R below Wu or I
below Wv, nor below zero; a receipt or invoice that writes off as it arrives under a
close-out dated after it is refused (`refuse_written_off_before_closeout`). Any refusal
refuses the whole batch: nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, NamedTuple, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ledger.bulk import insert_returning_ids, insert_rows
from ledger.db import has_json_each, one_of
from ledger.errors import PledgerError
from ledger.progress import QUIET, Progress
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, fits, largest, to_scaled, too_large_to_store
from ledger.money import ZERO, MoneyError, format_quantity as fq, minor_unit, round_money
from ledger.periods import give_date_from
from ledger.posting import EntrySpec, Poster, StoredLine, base_currency
from purchase.csvfile import code_of
from purchase.journal import merge_lines, role_lines
from purchase.lines import LineBook, LineRecord, MasterData
from purchase.lookalike import zeros_dropped
from purchase.models import Invoice, InvoiceLine, PurchaseOrder, Receipt, ReceiptLine, Supplier, invoice_kind, length_of
from purchase.orders import TAKES_DOCUMENTS, not_a_vat_rate, numbers_said, refresh_statuses, undo_commands, undo_it_first
from purchase.rules import amount_of, line_postings, price_of, quantity_of
from purchase.write_offs import (closeouts_lowered, closeouts_written_off, latest_dated, record_write_offs,
                                 standing_closeouts, undos_needed, written_off)
from purchase.settings import INVOICE_JOURNAL, RECEIPT_JOURNAL, role_accounts

BATCH_LINES = 2000
_STORED_INVOICE_LINE = frozenset({"quantity", "amount"})  # an invoice line's values already stored (as its entry's lines have them)


class DocumentError(PledgerError):
    pass


class DocLine(NamedTuple):
    """A receipt or invoice line against an order line; `where` names its source (a CSV row).

    Immutable; a named tuple because an import makes one for every row of its file.
    """

    order: str
    line: int
    quantity: Decimal
    unit_price: Decimal | None = None  # invoices: the invoice's price p'
    vat_rate: Decimal | None = None  # invoices: percent
    amount: Decimal | None = None  # invoices: a net amount stated by the document (UBL)
    where: str = ""
    csv_row: bool = False  # `where` is a CSV file's row: a refusal names the column too (CLI.md)


@dataclass(frozen=True)
class ReceiptDoc:
    number: str
    date: dt.date
    lines: Sequence[DocLine]


@dataclass(frozen=True)
class InvoiceDoc:
    number: str
    supplier_invoice: str
    date: dt.date
    lines: Sequence[DocLine]
    supplier: str | None = None  # when known up front (UBL); else the orders' supplier
    import_id: int | None = None  # its own import (UBL: one a file); else the poster's
    rounding: Decimal = ZERO  # what the document adds to round its payable amount (UBL PayableRoundingAmount)
    where: str = ""  # the file it comes from, as a refusal of the whole document names it (UBL); a CSV's is its lines' row


@dataclass
class Posted:
    """What a batch of documents posted."""

    documents: int = 0
    lines: int = 0
    entries: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # for the person, on stderr (`credit_beside_closeout`)


def _where(doc_kind: str, number: str, line: DocLine, column: str | None = None) -> str:
    """The line named as a refusal names it: its source (a CSV row, with the `column` the
    refusal is about), its document and its order line."""
    source = line.where + (f", column {column}" if column and line.csv_row else "")
    return f"{source + ': ' if source else ''}{doc_kind} {number}, order {line.order} line {line.line}"


def _row_of(docs, number: str, column: str) -> str:
    """Where a refused document stands: its number's row in its CSV file ("path: row 2,
    column receipt: "), else the file it comes from ("invoice-simple.xml: invoice INV-1001: ",
    `InvoiceDoc.where`), or nothing (a command's option): an import checks it first, naming
    its file, but a concurrent import may post the same document between that check and this
    one, and with several files given the refusal must say which."""
    doc = next((d for d in docs if d.number == number), None)
    first = doc.lines[0] if doc is not None and doc.lines else None
    if first is not None and first.where and first.csv_row:
        return f"{first.where}, column {column}: "
    where = getattr(doc, "where", "")
    return f"{where}: " if where else ""


_LARGEST_AMOUNT = largest(AMOUNT_SCALE)
_LARGEST_PRICE = largest(PRICE_SCALE)
_LARGEST_STORED = to_scaled(_LARGEST_AMOUNT, AMOUNT_SCALE)


def _refuse_beyond_an_amount(docs, doc, currency: str, total: int, *parts: int) -> None:
    """Refuse an invoice whose total (or net or VAT, stored integers) is more than an amount
    holds, naming it: each line may fit while the sum does not, and the creditors line then
    failed at the INSERT (SQLite: an internal error; PostgreSQL: "bigint out of range")."""
    if all(abs(v) <= _LARGEST_STORED for v in (total, *parts)):
        return
    where = _row_of(docs, doc.number, "invoice") or (f"{doc.where}: " if getattr(doc, "where", "") else "")
    shown = "its total" if abs(total) > _LARGEST_STORED else "its net or VAT total"
    value = total if abs(total) > _LARGEST_STORED else max(parts, key=abs)
    raise DocumentError(f"{where}invoice {doc.number}: {shown} {amount_of(value, currency)} is more than an amount can hold "
                        f"({_LARGEST_AMOUNT})")


def _refused(kind: str, number: str, line: DocLine, message: str, column: str | None = None) -> DocumentError:
    return DocumentError(f"{_where(kind, number, line, column)}: {message}")  # the line's name is made only for a refusal


def _stored_quantity(kind: str, number: str, line: DocLine, record: LineRecord) -> int:
    """The document line's quantity as a stored integer, once it is one a line can take."""
    if line.quantity == ZERO:
        raise _refused(kind, number, line, "a quantity of 0 changes nothing", "quantity")
    try:  # scaled once: a quantity it takes has no more decimals than it keeps (`fits`), asked only of one it refuses
        stored = to_scaled(line.quantity, QUANTITY_SCALE)
    except MoneyError:
        stored = None
    if stored is None and not fits(line.quantity, QUANTITY_SCALE):
        raise _refused(kind, number, line, f"the quantity {line.quantity:f} has more than {QUANTITY_SCALE} decimals", "quantity")
    if record.order_status not in TAKES_DOCUMENTS:
        hint = f" until it is sent to the supplier ('pledger po order {record.order_number}')" if record.order_status == "new" else ""
        raise _refused(kind, number, line, f"order {record.order_number} is {record.order_status} and takes no {kind}s{hint}",
                       "order")
    if stored is None:  # too large to store: refused naming its line (it named nothing)
        raise _refused(kind, number, line, f"the quantity {line.quantity:f} {too_large_to_store(QUANTITY_SCALE)}",
                       "quantity")
    return stored


def line_can_hold(kind: str, after) -> bool:
    """Whether a receipt (`kind` "receipt") or an invoice may leave an order line in the state
    `after` (stored integers or a `LineState`): nothing expected below zero, what was received
    (invoiced) not below zero nor below the units written off as never to be invoiced
    (received). `_check_quantity` refuses the rest, saying which."""
    if kind == "receipt":
        return after.to_receive >= 0 and after.received >= 0 and after.received >= after.written_off_uninvoiced
    return after.to_invoice >= 0 and after.invoiced >= 0 and after.invoiced >= after.written_off_unreceived


def posting_order(kind: str, changes: Sequence[tuple], states: dict) -> tuple[list[int], bool]:
    """The order in which one document's lines post, where several name one order line: the
    document's, except that a line waits while its order line cannot hold it (`line_can_hold`:
    a price correction invoicing 10 at the new price before crediting 10 at the old one on a
    line fully invoiced; a credit note crediting more than is invoiced before invoicing some
    back) and posts once the others have; with no waiting line that can post, the first goes
    (and is refused, naming it). `changes`: (order line key, quantity) per line, in the
    document's order; `states`: each key's state before the document. Returns the lines'
    indexes in posting order, and whether every line can then be held (the document is taken
    whole). In the document's order when that holds every line: each line posts as soon as it
    can. The one rule for CSV files, commands and UBL documents (`purchase.ubl.importer`)."""
    states = dict(states)
    waiting, order, whole = list(range(len(changes))), [], True
    while waiting:
        i = next((w for w in waiting if line_can_hold(kind, _changed(kind, states[changes[w][0]], changes[w][1]))), None)
        if i is None:
            i, whole = waiting[0], False
        waiting.remove(i)
        key, quantity = changes[i]
        states[key] = _changed(kind, states[key], quantity)
        order.append(i)
    return order, whole


def _changed(kind: str, state, quantity):
    return state.receive(quantity) if kind == "receipt" else state.invoice(quantity)


def _in_posting_order(kind: str, lines: Sequence[DocLine], book: LineBook) -> Sequence[DocLine]:
    """A document's lines as they post (`posting_order`), where several name one order line and
    some order of them lets the line hold every one; else as the document has them (the
    posting refuses the first it cannot take, as before)."""
    if len({(l.order, l.line) for l in lines}) == len(lines):
        return lines  # one line an order line: no order among them matters
    records = [book.get(l.order, l.line) for l in lines]
    if any(r is None for r in records) or any(l.quantity == 0 or not fits(l.quantity, QUANTITY_SCALE) for l in lines):
        return lines  # refused as it is posted, naming the line
    changes = [(r.id, to_scaled(l.quantity, QUANTITY_SCALE)) for r, l in zip(records, lines)]
    order, whole = posting_order(kind, changes, {r.id: r.state for r in reversed(records)})
    return [lines[i] for i in order] if whole else lines


def _check_quantity(kind: str, number: str, line: DocLine, record: LineRecord, after,
                    later: Callable[[], tuple[str, DocLine] | None] | None = None,
                    lowered_by: Callable[[], list[tuple[int, int, int]]] | None = None,
                    written_off_by: Callable[[], list[tuple[int, int, int]]] | None = None) -> None:
    """Refuse a state the document would leave the line in (`after`, stored integers).
    `later`: asked only on such a refusal, a document of the same file further down that adds
    to the line (its number and line), named where this one would take back more than the
    line holds. `lowered_by`: asked only on a refusal naming a close-out, the close-outs
    standing on the line and what each lowered (`closeouts_lowered`), newest first;
    `written_off_by`, likewise, what each wrote off (`closeouts_written_off`)."""
    if line_can_hold(kind, after):
        return
    if kind == "receipt":
        left, label, over = after.to_receive, "to receive", "over-receipt"
        floor, floor_label = after.written_off_uninvoiced, "units written off as never to be invoiced"
        value, name = after.received, "received"
    else:
        left, label, over = after.to_invoice, "to invoice", "over-invoicing"
        floor, floor_label = after.written_off_unreceived, "units written off as never to be received"
        value, name = after.invoiced, "invoiced"
    if left < 0:
        expected = quantity_of(left) + line.quantity
        raise_it = (f"raise the order line first: 'pledger po raise {record.order_number} --line "
                    f"{record.line_no}={fq(quantity_of(after.ordered - left))}'")
        closeout = record.last_closeout_number
        lowered = after.lowered_receive if kind == "receipt" else after.lowered_invoice
        # where a close-out lowered the line, goods (invoices) that come after all are the undo's
        # (Exact: "ongedaan maken, omdat u de goederen toch gaat ontvangen en betalen"): a raise
        # left the line expecting what the close-out wrote off, its write-off standing beside
        # them (audit of 7 December 2026: 10 invoiced, closed out, the goods came, raised to 20
        # and received: GR 1,000.00 in credit, 10 more invoices expected, 1,000.00 on unreceived invoices)
        # what each close-out named lowered on the line, as its close-out line holds it: "lowered
        # what it expects" alone read, on an invoice beyond a line whose to receive alone it lowered,
        # as if it had lowered what is to invoice (7 December 2026). Of several standing, every one
        # whose undo the goods (invoices) need, newest first: close-out 1 lowered to receive and
        # close-out 2 only to invoice, "undo close-out 2 first" alone, followed, was refused again
        # naming close-out 1 (review of 7 December 2026)
        standing = lowered_by() if closeout and lowered_by is not None else []
        undos = undos_needed(standing, 1 if kind == "receipt" else 2, -left) if lowered > 0 else []
        if closeout and lowered > 0 and len(undos) > 1:
            said = {row[0]: _what_lowered((row[1] > 0, row[2] > 0)) for row in standing}
            first, *older = undos
            whats = [f"close-out {first} {said[first]}",
                     *(f"close-out {n} {said[n].removeprefix('lowered what it expects ')}" for n in older)]
            commands = undo_commands(undos, quoted=True)
            advice = (f"; {', '.join(whats[:-1])}, and {whats[-1]}: if they came after all, undo them first, newest first "
                      f"({commands}; each reopens every line it closed); if more came than was ordered, {raise_it}")
        elif closeout and lowered > 0:
            named = undos[0] if undos else closeout
            what = _what_lowered(next(((r[1] > 0, r[2] > 0) for r in standing if r[0] == named), None))
            advice = (f"; close-out {named} {what}: if they came after all, {undo_it_first(named)}; "
                      f"if more came than was ordered, {raise_it}")
        else:
            what = _what_lowered(next(((r[1] > 0, r[2] > 0) for r in standing if r[0] == closeout), None))
            said = f"; close-out {closeout} {what}" if closeout else ""
            advice = f"{said} (if more really came, {raise_it})"
        raise _refused(
            kind, number, line,
            f"{over} refused: the line still expects {fq(expected)} {label}, not {fq(line.quantity)}{advice}", "quantity"
        )
    if value < 0:
        if later is not None and (later := later()) is not None:  # the file's own order: its documents post as they stand in it
            later_number, later_line = later
            row = later_line.where.rpartition(": ")[2]  # "row 7": the refusal names the file already
            hint = (f" ({kind} {later_number} further down the file ({row}) adds to this line: a file's "
                    f"documents are posted in the order they stand in it; put it first)")
        else:  # taken back more than the line holds (the return's quantity, or its line)
            hint = f" (the line has {fq(quantity_of(value) - line.quantity)} {name}; no more can be taken back)"
        raise _refused(kind, number, line, f"{name} would become {fq(quantity_of(value))}, below zero{hint}", "quantity")
    if value < floor:
        # of several close-outs standing, those whose undos give back enough, newest first: the
        # newest alone was named, which followed was refused again where it had written off too
        # little, or nothing (review of 7 December 2026)
        undos = (undos_needed(written_off_by(), 1 if kind == "receipt" else 2, floor - value)
                 if record.last_closeout_number and written_off_by is not None else [])
        if len(undos) > 1:
            by = f" by close-outs {numbers_said(undos)}; undo them first, newest first: {undo_commands(undos)}"
        elif record.last_closeout_number:
            by = f" by close-out {record.last_closeout_number}; undo that close-out first"
        else:
            by = " as they arrived, after a close-out that has since been undone"  # books from before undo refused that
        raise _refused(kind, number, line,
                       f"{name} would become {fq(quantity_of(value))}, below the {fq(quantity_of(floor))} {floor_label}{by}",
                       "quantity")


def _what_lowered(lowered: tuple[bool, bool] | None) -> str:
    """What a close-out did to a line's expected quantities, as a refusal says it after the
    close-out's number: whether it lowered what the line expects to receive, and to invoice
    (`closeouts_lowered`); None (its close-out line not known) says it as before."""
    return {None: "lowered what it expects", (True, True): "lowered what it expects to receive and to invoice",
            (True, False): "lowered what it expects to receive, not to invoice",
            (False, True): "lowered what it expects to invoice, not to receive",
            (False, False): "closed the line without lowering what it expects"}[lowered]


def _later_in_file(batch, number: str, line: DocLine) -> tuple[str, DocLine] | None:
    """The first document after `number` in the batch (a file's documents in the order they
    stand in it) with a line adding to `line`'s order line: a receipt a return takes back
    from, an invoice a credit note credits. Asked only of a refusal."""
    docs = iter(batch)
    for doc in docs:
        if doc.number == number:
            break
    for doc in docs:
        for other in doc.lines:
            if (other.order, other.line) == (line.order, line.line) and other.quantity > 0:
                return doc.number, other
    return None


def keep_written_off(rows: list, record, document: str, before, after, amounts: dict) -> tuple | None:
    """Keep what a receipt or invoice wrote off as it arrived (`purchase.write_offs`), if
    anything, against the newest close-out standing on its line; the row kept, or None."""
    row = written_off(record.id, record.last_closeout_number, document, before, after, amounts)
    if row is not None:
        rows.append(row)
    return row


def refuse_written_off_before_closeout(session: Session, kind: str, arrived: list) -> None:
    """A receipt or invoice that wrote off as it arrived (`purchase.rules._Rule._settle`)
    dated before a close-out standing on its line: refused, as an undo dated before the
    close-out it writes off under is (`matching.closeout`). The write-off is posted on the
    document's date, so as of the days between the ledger would hold the close-out's
    write-off before its date: `report grir --as-of` showed GR (IR) lowered by it on goods
    (invoices) nothing had yet said would never be invoiced (received), and `check`
    passed (audit of 6 December 2026). A back-dated document that writes nothing off
    (a return, a credit note, goods the line still expects the invoice of) is taken.

    Held to the latest date of all the close-outs standing on the line (`latest_dated`),
    not only the newest, which the write-off is recorded under: close-outs may be dated out
    of their run order, and what a line writes off was decided by all that lowered it (a
    receipt of 06-15 writing off what close-out 1 of 06-20 and close-out 2 of 06-10, run
    after it, lowered was taken; audit of 6 December 2026).

    `arrived`: (document number, its date, the document line, the row `keep_written_off`
    kept) for the write-offs under a close-out, in the batch's order. One query a batch,
    and only when something was written off under one: a line no close-out stands on
    never writes off, so the batch imports pay nothing for it."""
    if not arrived:
        return
    standing = standing_closeouts()
    rows = session.execute(standing.where(
        one_of(session, standing.selected_columns.order_line_id, sorted({row[0] for *_, row in arrived})))).all()
    latest = latest_dated(rows)
    for number, date, line, row in arrived:
        if row[0] not in latest:  # no close-out line of the one the line names: damaged books, which `check` names
            continue
        closeout_date, closeout = latest[row[0]]
        if date >= closeout_date:
            continue
        units, never = (row[3], "invoiced") if row[3] else (row[4], "received")
        # every close-out dated after the document goes, and the newer ones standing on the line
        # before them (close-outs of a line are undone newest first): close-out 1 of 06-20 named
        # alone, its undo was refused while close-out 2 of 06-10 stood (review of 7 December 2026)
        on_line = [(n, d) for line_id, n, d in rows if line_id == row[0]]
        oldest = min(n for n, d in on_line if d > date)
        undos = sorted((n for n, _ in on_line if n >= oldest), reverse=True)
        undo = (f"undo close-out {closeout} first" if undos == [closeout] else
                f"undo close-outs {numbers_said(undos)} first, newest first: {undo_commands(undos)}")
        raise _refused(kind, number, line,
                       f"dated {date.isoformat()}, it would write off {fq(quantity_of(units))} units as never to be "
                       f"{never} under close-out {closeout} of {closeout_date.isoformat()}, before that close-out's date: "
                       f"{give_date_from(session, closeout_date, 'give a date of')}, or {undo}", "date")


def credit_beside_closeout(kind: str, number: str, record: LineRecord, before, after, more: int,
                           closeouts: Sequence[tuple[int, int, int]] = ()) -> str:
    """What to say of a document (`kind` "credit note", or an invoice with a credited line)
    that credits an order line whose invoiced units a standing close-out wrote off as never
    to be received (`before`, `after`: the line's stored states around the document; `more`:
    how many more of its order lines are so). It is taken, balanced and tied out, but the
    close-out's write-off stands beside it: 10 invoiced, 6 received, closed fully (4 invoiced
    units written off to unreceived invoices), then a credit note of the 4 left that
    write-off standing and the line expecting 4 invoices again with 400.00 on GR, where the
    user meant to take the close-out back first (audit of 7 December 2026). Said, not
    refused: DOMAIN.md lets a credit note take I down to Wv, and the undo, run after it,
    leaves the books as undo-then-credit would have (the balances are the state's).
    `closeouts`: those standing on the line, newest first, with what each wrote off
    (`closeouts_written_off`): it names those that wrote invoiced units off, and the undos
    down to the oldest of them, a newer one that wrote off nothing included (close-outs of a
    line are undone newest first). Of two (close-out 2 writing off 2 units, close-out 3 two
    more), the note named close-out 3 alone, whose undo left close-out 2's standing; of
    close-out 2 writing off and close-out 3 only lowering what is to invoice, it named the
    undo of 2, refused while 3 stands (reviews of 7 December 2026)."""
    undos = undos_needed(closeouts, 2, sum(row[2] for row in closeouts))
    writers = [row[0] for row in closeouts if row[0] in undos and row[2] > 0] or [record.last_closeout_number]
    undos = undos or writers
    currency = record.currency
    left = []
    if after.to_invoice > 0:
        left.append(f"expects {fq(quantity_of(after.to_invoice))} to invoice again")
    _, _, gr, ir = after.values()
    if gr:
        left.append(f"holds {amount_of(gr, currency)} on goods received (GR)")
    if ir:
        left.append(f"holds {amount_of(ir, currency)} on invoices received (IR)")
    stands = f", and the line now {' and '.join(left)}" if left else ""

    def named(numbers: list[int]) -> str:
        return f"close-out{'s' if len(numbers) > 1 else ''} {numbers_said(numbers)}"

    by, that = named(writers), "that write-off stands" if len(writers) == 1 else "those write-offs stand"
    commands = undo_commands(undos)
    others = [n for n in undos if n not in writers]
    if len(undos) == 1:
        undo = f"undo close-out {undos[0]} first: {commands}"
    elif not others:
        undo = f"undo them first, newest first: {commands}"
    else:
        undo = f"undo {named(others)}, standing on the line since, and {by} first, newest first: {commands}"
    return (f"{kind} {number} credits {record.name}{f' and {more} more' if more else ''}, where {by} "
            f"wrote off {fq(quantity_of(before.written_off_unreceived))} invoiced units as never to be received: {that} "
            f"beside the {kind}{stands}; to book it against the invoices instead, {undo}")


def refuse_unfit_number(value: str, longest: int, what: str) -> None:
    """A document number as a CSV import reads it (`csvfile.code_of`), whatever brought it (a
    command's option, a UBL file): not blank, no spaces around it (a CSV cell is read
    without them), no tab, line break or control character, not beginning as a spreadsheet
    formula, not longer than its column (`length_of`: PostgreSQL would refuse it at the
    INSERT, SQLite keep it). `what` names it: "receipt number"."""
    stripped = value.strip()
    if not stripped:
        raise DocumentError(f"{what} is blank")
    if value != stripped:
        raise DocumentError(f"{what} '{value}' begins or ends with a space")
    try:
        code_of(longest)(value)
    except ValueError as exc:
        raise DocumentError(f"{what} {value} {exc}") from None


class DocumentPoster:
    """Posts receipts and invoices in batches inside the caller's transaction."""

    def __init__(self, session: Session, user: str, *, progress: Progress = QUIET, import_id: int | None = None,
                 numbers_read: bool = False):
        """`numbers_read`: the documents' numbers were read from CSV cells (`csvfile.code_of`),
        which hold them to the rule `refuse_unfit_number` holds a number of any other origin to."""
        self.session = session
        self.user = user
        self.numbers_read = numbers_read
        self.import_id = import_id  # the import posting them (`purchase.import_log`), if one is
        self.poster = Poster(session, user)
        self.accounts = role_accounts(session)
        # a document line's own role lines are netted first where two roles share an account (GR/IR as one):
        # they carry its units once, and the document's lines of one order line add them up
        self.row_merge = merge_lines if len(set(self.accounts.values())) < len(self.accounts) else list
        self.base = base_currency(session)
        self.unit = minor_unit(self.base)
        self.progress = progress

    # -- receipts ---------------------------------------------------------------------

    def post_receipts(self, docs: Sequence[ReceiptDoc]) -> Posted:
        self._refuse_known(Receipt.number, docs, "receipt")
        result = Posted()
        masters = MasterData()  # suppliers and items, read once a call
        for batch in _batches(docs):
            book = LineBook(self.session, stored=True, masters=masters)
            book.load_keys((l.order, l.line) for d in batch for l in d.lines)
            specs, rows, write_offs, arrived = [], [], [], []
            for doc in batch:
                self.poster.check_date(doc.date)
                lines: list[StoredLine] = []
                for line in _in_posting_order("receipt", doc.lines, book):
                    record = self._record(book, "receipt", doc.number, line)
                    before = record.state
                    quantity = _stored_quantity("receipt", doc.number, line, record)
                    after = before.receive(quantity)
                    self._check_quantity(batch, "receipt", doc.number, line, record, after)
                    amounts = line_postings(before, after, stock_role=record.stock_role)  # stored amounts
                    lines += self.row_merge(role_lines(amounts, self.accounts, partner_id=record.supplier_id,
                                                       order_line_id=record.id, document=f"receipt {doc.number}",
                                                       quantity=quantity, form=StoredLine))
                    kept = keep_written_off(write_offs, record, f"receipt {doc.number}", before, after, amounts)
                    if kept is not None and kept[1] is not None:
                        arrived.append((doc.number, doc.date, line, kept))
                    book.set_state(record, after)
                    rows.append((doc.number, record.id, quantity))
                specs.append((doc, EntrySpec(RECEIPT_JOURNAL, doc.date, merge_lines(lines, add_quantities=True), description=f"receipt {doc.number}", source="receipt")))
            refuse_written_off_before_closeout(self.session, "receipt", arrived)
            entry_ids = self._post(specs, result)
            receipt_ids = insert_returning_ids(self.session, Receipt, [
                {"number": d.number, "receipt_date": d.date, "user_name": self.user, "entry_id": entry_ids[d.number],
                 "import_id": self.import_id} for d, _ in specs])
            ids = {d.number: i for (d, _), i in zip(specs, receipt_ids)}
            insert_rows(self.session, ReceiptLine, [(ids[n], o, q) for n, o, q in rows],
                        columns=("receipt_id", "order_line_id", "quantity"), stored=frozenset({"quantity"}))
            record_write_offs(self.session, write_offs)
            self._finish_batch(book, result, len(batch), len(rows))
        return result

    # -- invoices ---------------------------------------------------------------------

    def post_invoices(self, docs: Sequence[InvoiceDoc]) -> Posted:
        self._refuse_known_invoices(docs)
        result = Posted()
        masters = MasterData()  # suppliers and items, read once a call
        for batch in _batches(docs):
            book = LineBook(self.session, stored=True, masters=masters)
            book.load_keys((l.order, l.line) for d in batch for l in d.lines)
            specs, heads, rows, write_offs, arrived = [], [], [], [], []
            for doc in batch:
                self.poster.check_date(doc.date)
                lines: list[StoredLine] = []
                supplier_id = None
                net_by_rate: dict[Decimal, int] = defaultdict(int)  # stored amounts
                credited = None  # credited lines whose invoices a standing close-out wrote off: (record, before, line ids)
                for line in _in_posting_order("invoice", doc.lines, book):
                    record = self._record(book, "invoice", doc.number, line)
                    if supplier_id is None:
                        supplier_id = record.supplier_id
                        if doc.supplier is not None and doc.supplier != record.supplier_code:
                            raise DocumentError(
                                f"{_where('invoice', doc.number, line, 'order')}: the order is from supplier {record.supplier_code}, "
                                f"the invoice from {doc.supplier}"
                            )
                    elif record.supplier_id != supplier_id:
                        raise DocumentError(f"{_where('invoice', doc.number, line, 'order')}: one invoice cannot cover orders of two suppliers")
                    before = record.state
                    quantity = _stored_quantity("invoice", doc.number, line, record)
                    after = before.invoice(quantity)
                    self._check_quantity(batch, "invoice", doc.number, line, record, after)
                    price = line.unit_price if line.unit_price is not None else price_of(record.state.price)
                    if not fits(price, PRICE_SCALE):  # refused here, naming the line, not when its row is written
                        raise _refused("invoice", doc.number, line, f"the price {price:f} has more than {PRICE_SCALE} decimals", "unit_price")
                    if price < ZERO:  # as order lines' prices; a credit note is an invoice of negative quantities
                        raise _refused("invoice", doc.number, line, f"a unit price must not be negative, not {price:f}: "
                                                                    f"credit with a negative quantity", "unit_price")
                    if abs(price) > _LARGEST_PRICE:  # its row holds it
                        raise _refused("invoice", doc.number, line, f"the price {price:f} {too_large_to_store(PRICE_SCALE)}",
                                       "unit_price")
                    amount = line.amount if line.amount is not None else round_money(line.quantity * price, self.base)
                    if abs(amount) > _LARGEST_AMOUNT:  # refused here, naming the line, not when its row is written
                        raise _refused("invoice", doc.number, line, f"its amount {amount} is more than an amount can hold "
                                                                    f"({_LARGEST_AMOUNT})", "unit_price")
                    if amount % self.unit:
                        raise DocumentError(f"{_where('invoice', doc.number, line)}: the amount {amount} is finer than "
                                            f"the {self.base} minor unit {self.unit}")
                    rate = line.vat_rate if line.vat_rate is not None else record.vat_rate
                    if rate < ZERO or rate > 100:
                        raise DocumentError(f"{_where('invoice', doc.number, line, 'vat_rate')}: {not_a_vat_rate(rate)}")
                    stored_amount = to_scaled(amount, AMOUNT_SCALE)
                    amounts = line_postings(before, after, invoice_amount=stored_amount, stock_role=record.stock_role)
                    amounts.pop("creditors", None)
                    lines += self.row_merge(role_lines(amounts, self.accounts, partner_id=record.supplier_id,
                                                       order_line_id=record.id, document=f"invoice {doc.number}",
                                                       quantity=quantity, form=StoredLine))
                    kept = keep_written_off(write_offs, record, f"invoice {doc.number}", before, after, amounts)
                    if kept is not None and kept[1] is not None:
                        arrived.append((doc.number, doc.date, line, kept))
                    net_by_rate[rate] += stored_amount
                    if quantity < 0 and before.written_off_unreceived and record.last_closeout_number is not None:
                        if credited is None:
                            credited = (record, before, set())
                        credited[2].add(record.id)
                    book.set_state(record, after)
                    rows.append((doc.number, record.id, quantity, price, stored_amount, rate))  # quantity and amount stored
                net = sum(net_by_rate.values())
                if credited is not None:  # said once a document, of its first such line (the state it left)
                    first, before_first, ids = credited
                    result.notes.append(credit_beside_closeout(
                        invoice_kind(net), doc.number, first, before_first, first.state, len(ids) - 1,
                        closeouts_written_off(self.session, first.id)))  # one read, where said
                vat_total = 0
                dims = {"partner_id": supplier_id, "document": f"invoice {doc.number}"}
                vat_lines = []  # one a rate, never netted into one line (2.08 at 21 % and 0.90 at 6 % showed as 2.98)
                for rate, taxable in sorted(net_by_rate.items()):  # VAT per rate, on the Decimal net (once an invoice)
                    vat = to_scaled(round_money(amount_of(taxable, self.base) * rate / Decimal(100), self.base), AMOUNT_SCALE)
                    vat_total += vat
                    if vat != 0:
                        vat_lines.append(StoredLine.signed(self.accounts["input_vat"], vat, **dims))
                own: list[StoredLine] = []  # the invoice's rounding and creditors lines
                rounding = 0
                if doc.rounding:  # Dr rounding, Cr creditors: the creditor is owed what the document asks
                    if doc.rounding % self.unit:
                        raise DocumentError(f"{doc.where or 'invoice ' + doc.number}: the rounding {doc.rounding:f} is finer than the "
                                            f"{self.base} minor unit {self.unit}")
                    rounding = to_scaled(doc.rounding, AMOUNT_SCALE)
                    own.append(StoredLine.signed(self.accounts["rounding"], rounding, **dims))
                own.append(StoredLine.signed(self.accounts["creditors"], -(net + vat_total + rounding), **dims))
                _refuse_beyond_an_amount(docs, doc, self.base, net + vat_total + rounding, net, vat_total)
                net, vat_total = amount_of(net, self.base), amount_of(vat_total, self.base)
                entry_lines = merge_lines(lines, add_quantities=True) + vat_lines + merge_lines(own)
                specs.append((doc, EntrySpec(INVOICE_JOURNAL, doc.date, entry_lines, description=f"invoice {doc.number} ({doc.supplier_invoice})", source="invoice")))
                heads.append({"number": doc.number, "supplier_invoice": doc.supplier_invoice, "supplier_id": supplier_id,
                              "invoice_date": doc.date, "currency": self.base, "net_total": net, "vat_total": vat_total,
                              "user_name": self.user,
                              "import_id": doc.import_id if doc.import_id is not None else self.import_id})
            self._refuse_known_supplier_invoices(batch, heads)
            refuse_written_off_before_closeout(self.session, "invoice", arrived)
            entry_ids = self._post(specs, result)
            for head in heads:
                head["entry_id"] = entry_ids[head["number"]]
            invoice_ids = insert_returning_ids(self.session, Invoice, heads)
            ids = {h["number"]: i for h, i in zip(heads, invoice_ids)}
            insert_rows(self.session, InvoiceLine, [(ids[n], o, q, p, a, r) for n, o, q, p, a, r in rows],
                        columns=("invoice_id", "order_line_id", "quantity", "unit_price", "amount", "vat_rate"),
                        stored=_STORED_INVOICE_LINE)
            record_write_offs(self.session, write_offs)
            self._finish_batch(book, result, len(batch), len(rows))
        return result

    # -- shared -----------------------------------------------------------------------

    def _finish_batch(self, book: LineBook, result: Posted, documents: int, lines: int) -> None:
        """Write the lines' new states, move their orders' statuses on, count, report progress."""
        book.flush()
        refresh_statuses(self.session, {r.order_id for r in book.by_id.values()}, known=book.whole_orders())
        result.documents += documents
        result.lines += lines
        self.progress.advance(lines)

    def _record(self, book: LineBook, kind: str, number: str, line: DocLine) -> LineRecord:
        record = book.get(line.order, line.line)
        if record is None:  # which cell is wrong: the order's number, or its line's (only on a refusal: a scan)
            if not any(order == line.order for order, _ in book.by_key):
                hint = zeros_dropped(self.session, PurchaseOrder.number, line.order, "order") or ": see 'pledger po list'"
                raise DocumentError(f"{_where(kind, number, line, 'order')}: no such order{hint}")
            raise DocumentError(f"{_where(kind, number, line, 'line')}: no such order line")
        return record

    def _check_quantity(self, batch, kind: str, number: str, line: DocLine, record: LineRecord, after) -> None:
        """`_check_quantity`; on a refusal, first whether one of the batch's documents was posted
        meanwhile, and if so that. On PostgreSQL another import of the same file passes the
        check of the numbers (not yet committed), posts while this one waits for the lines'
        locks, and leaves them full: the loser said "over-receipt refused ... raise the order
        line first: 'pledger po raise PO-05 --line 1=24'" (audit of 6 December 2026), which
        followed would have received the goods twice. The batch's documents are not written
        yet when a line refuses them."""
        if line_can_hold(kind, after):  # what `_check_quantity` asks first: nothing more is made for a line it takes
            return
        try:
            # the file's later documents are looked for only on a refusal: a scan of the batch
            _check_quantity(kind, number, line, record, after,
                            (lambda: _later_in_file(batch, number, line)) if line.csv_row else None,
                            lambda: closeouts_lowered(self.session, record.id),
                            lambda: closeouts_written_off(self.session, record.id))
        except DocumentError:
            if kind == "receipt":
                self._refuse_known(Receipt.number, batch, "receipt")
            else:
                self._refuse_known_invoices(batch)
            raise

    def _post(self, specs, result: Posted) -> dict[str, int | None]:
        """Post the entries that have lines; a document whose amounts are all zero posts none."""
        postable = [(d, s) for d, s in specs if s.lines]
        posted = self.poster.post([s for _, s in postable])
        result.entries.extend(posted)
        ids: dict[str, int | None] = {d.number: None for d, _ in specs}
        for (d, _), p in zip(postable, posted):
            ids[d.number] = p.id
        return ids

    def _refuse_known(self, column, docs, kind: str) -> None:
        numbers = [d.number for d in docs]
        longest = length_of(column)
        seen = set()
        for number in numbers:
            if not self.numbers_read:
                refuse_unfit_number(number, longest, f"{kind} number")
            if number in seen:
                raise DocumentError(f"{kind} {number} appears twice in one batch")
            seen.add(number)
        for i in range(0, len(numbers), 500):
            known = self.session.scalars(select(column).where(one_of(self.session, column, numbers[i : i + 500]))).first()
            if known is not None:
                raise DocumentError(f"{_row_of(docs, known, kind)}{already_posted(self.session, kind, known)}")

    def _refuse_known_supplier_invoices(self, docs: Sequence[InvoiceDoc], heads: list[dict]) -> None:
        """A supplier's invoice number is taken once (within the batch and in the books); a
        refusal names where the document stands (`_row_of`)."""
        pairs = [(h["supplier_id"], h["supplier_invoice"]) for h in heads]
        counted = defaultdict(int)
        for pair in pairs:
            counted[pair] += 1
            if counted[pair] > 1:
                raise DocumentError(f"supplier invoice {pair[1]} appears twice for one supplier")
        known = known_supplier_invoices(self.session, pairs)
        if known:
            (supplier_id, supplier_invoice), number = min(known.items(), key=lambda kv: kv[1])
            code = self.session.scalar(select(Supplier.code).where(Supplier.id == supplier_id))
            ours = next(h["number"] for h in heads if (h["supplier_id"], h["supplier_invoice"]) == (supplier_id, supplier_invoice))
            raise DocumentError(f"{_row_of(docs, ours, 'supplier_invoice')}"
                                f"{_supplier_invoice_posted(self.session, code, supplier_invoice, number)}")

    def _refuse_known_invoices(self, docs: Sequence[InvoiceDoc]) -> None:
        self._refuse_known(Invoice.number, docs, "invoice")
        longest = length_of(Invoice.supplier_invoice)
        for d in docs if not self.numbers_read else ():
            refuse_unfit_number(d.supplier_invoice, longest, f"invoice {d.number}: the supplier's number")
        pairs = {}
        for d in docs:
            if d.supplier is not None:
                pairs[(d.supplier, d.supplier_invoice)] = d.number
        for (supplier, supplier_invoice), number in pairs.items():
            known = self.session.scalar(
                select(Invoice.number).join(Supplier, Supplier.id == Invoice.supplier_id)
                .where(Supplier.code == supplier, Invoice.supplier_invoice == supplier_invoice)
            )
            if known is not None:
                raise DocumentError(f"{_row_of(docs, number, 'supplier_invoice')}"
                                    f"{_supplier_invoice_posted(self.session, supplier, supplier_invoice, known)}")


def already_posted(session: Session, kind: str, number: str) -> str:
    """The refusal of a receipt or invoice (`kind`) whose `number` the books hold, as the
    posting says it and an import of its row: an invoice named as the books hold it
    (`posted_invoice_kind`), "credit note C-1 was already posted: a document is posted once"."""
    named = posted_invoice_kind(session, number) if kind == "invoice" else kind
    return f"{named} {number} was already posted: a document is posted once"


def _supplier_invoice_posted(session: Session, supplier: str, supplier_invoice: str, number: str) -> str:
    """The refusal of a supplier's invoice number the books hold for that supplier (as our
    invoice `number`): named as the books hold it, before the batch's lines are worked out
    (`_refuse_known_invoices`, by supplier code) and after (`_refuse_known_supplier_invoices`,
    by the orders' supplier)."""
    held = posted_invoice_kind(session, number)
    return f"supplier {supplier}'s {held} {supplier_invoice} was already posted (as {number}): a supplier's {held} is posted once"


def posted_invoice_kind(session: Session, number: str) -> str:
    """What the books' invoice `number` is, as a refusal names it: "credit note" or "invoice"
    (`purchase.models.invoice_kind`, by its net total). Said of a document the batch holds too
    that another import posted meanwhile (its kind is the books' then)."""
    net_total = session.scalar(select(Invoice.net_total).where(Invoice.number == number))
    return "invoice" if net_total is None else invoice_kind(net_total)


def known_supplier_invoices(session: Session, pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], str]:
    """Which (supplier id, supplier's invoice number) pairs the books already hold: pair -> our invoice number.

    Asked 500 pairs at a time, each pair one probe of the unique index (supplier, supplier
    invoice) on both databases, in one statement text whatever the pairs (`_KNOWN_SQL`: the
    pairs as one JSON array on SQLite, two arrays on PostgreSQL, joined to the invoices), so
    nothing is compiled per batch. A row-value IN list is not indexed on PostgreSQL, and an
    IN list of numbers alone scans every invoice (measured: the import of a year's invoices
    slowed as the table grew). A SQLite without json_each: an OR of (supplier = s AND
    number IN (...)), compiled per batch.
    """
    pairs = sorted(set(pairs))
    known: dict[tuple[int, str], str] = {}
    connection = session.connection()
    dialect = connection.dialect.name
    for i in range(0, len(pairs), 500):
        part = pairs[i : i + 500]
        if dialect == "postgresql":
            rows = connection.exec_driver_sql(_KNOWN_SQL[dialect], ([s for s, _ in part], [n for _, n in part]))
        elif has_json_each():
            rows = connection.exec_driver_sql(_KNOWN_SQL[dialect], (json.dumps(part),))
        else:
            numbers_of = defaultdict(list)
            for supplier_id, supplier_invoice in part:
                numbers_of[supplier_id].append(supplier_invoice)
            rows = session.execute(
                select(Invoice.supplier_id, Invoice.supplier_invoice, Invoice.number)
                .where(or_(*(and_(Invoice.supplier_id == supplier_id, Invoice.supplier_invoice.in_(numbers))
                             for supplier_id, numbers in numbers_of.items()))))
        for supplier_id, supplier_invoice, number in rows:
            known[(supplier_id, supplier_invoice)] = number
    return known


_KNOWN_SQL = {
    "sqlite": "SELECT i.supplier_id, i.supplier_invoice, i.number FROM json_each(?) AS j JOIN invoices AS i "
              "ON i.supplier_id = json_extract(j.value, '$[0]') AND i.supplier_invoice = json_extract(j.value, '$[1]')",
    "postgresql": "SELECT i.supplier_id, i.supplier_invoice, i.number "
                  "FROM unnest((SELECT %s::integer[]), (SELECT %s::text[])) AS j(supplier_id, supplier_invoice) JOIN invoices AS i "
                  "ON i.supplier_id = j.supplier_id AND i.supplier_invoice = j.supplier_invoice",
}
"""`known_supplier_invoices`' statement per database: the asked pairs joined to the invoices
(on PostgreSQL through their index: the arrays as scalar subqueries, as `ledger.db.one_of`)."""


def _batches(docs: Sequence, limit: int = BATCH_LINES):
    batch, size = [], 0
    for doc in docs:
        batch.append(doc)
        size += len(doc.lines)
        if size >= limit:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def proposed_lines(session: Session, order_number: str, kind: str) -> list[DocLine]:
    """The "read in the previous document" step: an order's open quantities, line by line.

    For a receipt, every line's to receive; for an invoice, every line's to invoice at the
    order price. Lines that expect nothing are left out.
    """
    from purchase.orders import get_order

    order = get_order(session, order_number)
    book = LineBook(session)
    book.load_keys((order.number, l.line_no) for l in order.lines)
    out = []
    for line in order.lines:
        state = book.get(order.number, line.line_no).state
        open_quantity = state.to_receive if kind == "receipt" else state.to_invoice
        if open_quantity > ZERO:
            out.append(DocLine(order.number, line.line_no, open_quantity))
    return out
