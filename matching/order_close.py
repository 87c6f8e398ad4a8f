"""Closing an order that still expects goods (bestelling afsluiten), as DOMAIN.md's order
lifecycle has it: "Closing an order with receipts means what is missing will not come (a
close-out of what remains to receive); closing one with no receipt at all may, on request,
assume full delivery." (Vendisto's "Sluiten": with receipts, the missing articles will not
be delivered later; with none, the order is taken as delivered in full.)

Both are asked for explicitly (`po close --not-coming`, `po close --assume-delivered`),
as either posts: the first is a close-out of the order (numbered, with its posting
report and trial, undone by its number like any other), the second a goods receipt of
every line's open quantity (reversed, like any receipt, by a return). Neither is a rule
of its own: the close-out lowers each line's to receive to zero and lets to invoice
follow (`closeout.Edit` with no to invoice), the receipt is `po receive`'s. The order's
status then follows from its lines, as after any document: closed when no line is open,
else (for example) received while invoices are still expected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.money import ZERO, format_quantity as fq
from matching.closeout import Edit, later_documents_note, run_closeout
from matching.report import PostingReport
from matching.selection import Selection
from purchase.documents import DocLine, DocumentPoster, ReceiptDoc
from purchase.lines import LineBook
from purchase.models import OrderLine, ReceiptLine
from purchase.orders import OrderError, apply, get_order, status_of

NOT_UNDER_WAY = ("new", "closed", "cancelled")


@dataclass(frozen=True)
class ClosedOrder:
    """What closing an order did: its status before and after, and the close-out's report
    (`not_coming`) or the receipt's lines (`assume_delivered`), if it posted anything."""

    order: str
    before: str
    after: str
    report: PostingReport | None = None
    received: tuple[DocLine, ...] = ()
    to_invoice_by_line: tuple[tuple[int, Decimal], ...] = ()  # (line, units) of the lines still expecting invoices

    @property
    def still_to_invoice(self) -> Decimal:
        """The units of all its lines still to invoice (JSON `still_to_invoice`; lines of
        different items add up to no quantity a person reads: `describe` gives them line by line)."""
        return sum((units for _, units in self.to_invoice_by_line), ZERO)


def close_order(session: Session, number: str, *, user: str, date: dt.date, not_coming: bool = False,
                assume_delivered: str | None = None, trial: bool = False) -> ClosedOrder:
    """Close order `number` in the caller's transaction (a trial: the caller rolls it back).

    Its lines all closed: the status only, as ever (`purchase.orders`). Lines still
    expecting goods: with `not_coming`, a close-out of what remains to receive; with
    `assume_delivered` (the receipt's number), on an order with no receipt, a receipt of
    every line's open quantity. Anything else is refused with what may be done instead.

    The order's lines and the order are locked before its status is read, as the status
    commands lock them (`get_order(lock=True)`): read before (PostgreSQL), a status another
    user changed meanwhile ("ordered" of an order confirmed while the close waited) was the
    `before` the close reported."""
    order = get_order(session, number, lock=True)  # its lines and it ours first: `before` as it stands once ours to change
    before = order.status
    book = LineBook(session)
    book.load_keys((order.number, line.line_no) for line in order.lines)
    states = {line.line_no: book.get(order.number, line.line_no).state for line in order.lines}
    to_receive = {n: s.to_receive for n, s in states.items() if s.to_receive > ZERO}
    if not_coming and assume_delivered is not None:
        raise ValueError("close_order: not_coming or assume_delivered, not both")  # the CLI refuses it as a usage mistake
    if before in NOT_UNDER_WAY or not any(s.is_open for s in states.values()) or not (not_coming or assume_delivered):
        apply(session, number, "close")  # the status alone, or the lifecycle's own refusal (`can_close`)
        return ClosedOrder(number, before, "closed")
    if not to_receive:
        raise OrderError(
            f"order {number} expects nothing more to receive: it stays open for invoices or GR/IR balances on "
            f"{_open_lines(states)}, which close as the invoices come; or close them out with "
            f"'pledger closeout run --order {number} --edits FILE' (or --close-fully)")
    if not_coming:
        edits = [Edit(number, line_no, ZERO, None, where="po close --not-coming") for line_no in sorted(to_receive)]
        report = run_closeout(session, Selection(order=(number, number)), user=user, date=date, edits=edits, trial=trial,
                              lowered="not coming (po close --not-coming): to receive to zero, to invoice with it")
        if (note := later_documents_note(session, report)) is not None:
            report.notes.append(note)
        return ClosedOrder(number, before, status_of(session, number), report=report,
                           to_invoice_by_line=_to_invoice_by_line(session, number, states))
    receipts = session.scalar(select(ReceiptLine.id).join(OrderLine, OrderLine.id == ReceiptLine.order_line_id)
                              .where(OrderLine.order_id == order.id).limit(1))
    if receipts is not None:
        raise OrderError(
            f"order {number} has receipts: full delivery is assumed only of an order with none; receive the rest with "
            f"'pledger po receive {number}', or close what will not come with 'pledger po close {number} --not-coming'")
    lines = tuple(DocLine(number, line_no, quantity) for line_no, quantity in sorted(to_receive.items()))
    DocumentPoster(session, user).post_receipts([ReceiptDoc(assume_delivered, date, lines)])
    return ClosedOrder(number, before, status_of(session, number), received=lines,
                       to_invoice_by_line=_to_invoice_by_line(session, number, states))


def _open_lines(states: dict) -> str:
    """"line 2" or "lines 1, 2": the open ones."""
    return lines_named([n for n, s in sorted(states.items()) if s.is_open])


def lines_named(numbers) -> str:
    """"line 3" or "lines 1, 3": lines a message names (an order's; a UBL invoice's skipped text lines, `import ubl`)."""
    return ("line " if len(numbers) == 1 else "lines ") + ", ".join(map(str, numbers))


def _to_invoice_by_line(session: Session, number: str, line_nos) -> tuple[tuple[int, Decimal], ...]:
    """(line, units) of the order's lines that still expect invoices, as they stand now."""
    book = LineBook(session)
    book.load_keys((number, line_no) for line_no in line_nos)
    units = ((line_no, book.get(number, line_no).state.to_invoice) for line_no in sorted(line_nos))
    return tuple((line_no, quantity) for line_no, quantity in units if quantity > ZERO)


_LINES_NAMED = 5  # more lines still to invoice than this are counted, not listed


def describe(closed: ClosedOrder) -> str:
    """One line for the person who closed it: its status, and what its lines still expect
    invoices for, line by line (lines of different items do not add up)."""
    text = f"order {closed.order}: {closed.before} -> {closed.after}"
    open_lines = closed.to_invoice_by_line
    if closed.after == "closed" or not open_lines:
        return text
    if len(open_lines) > _LINES_NAMED:
        return text + f"; {len(open_lines)} lines still to invoice ('pledger po show {closed.order}' lists them)"
    return text + "; still to invoice: " + ", ".join(f"{fq(units)} on line {line_no}" for line_no, units in open_lines)
