"""One order as `pledger po show` shows it: purchase's view plus the close-outs per line.

`purchase.views.order_lines_view` knows the order, its lines, receipts and invoices;
close-outs live in this package, so they are added here, read from `closeout_lines`
and `closeouts` (empty until a close-out runs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching.models import Closeout, CloseoutLine
from purchase.views import LineView, OrderView, order_lines_view


@dataclass(frozen=True)
class CloseoutRef:
    """A close-out that touched one order line, and what it did to it."""

    number: int
    date: dt.date
    user: str
    to_receive_before: Decimal
    to_receive_after: Decimal
    to_invoice_before: Decimal
    to_invoice_after: Decimal
    undone: bool
    undo_date: dt.date | None
    undone_by: str | None


@dataclass(frozen=True)
class OrderWithCloseouts:
    order: OrderView
    closeouts: dict[int, tuple[CloseoutRef, ...]]  # by order line id

    @property
    def header(self):
        return self.order.header

    @property
    def lines(self) -> tuple[LineView, ...]:
        return self.order.lines

    def closeouts_of(self, line: LineView) -> tuple[CloseoutRef, ...]:
        return self.closeouts.get(line.id, ())


def order_view(session: Session, number: str) -> OrderWithCloseouts:
    """The order (NotFound when unknown) with, per line, its close-outs by number."""
    view = order_lines_view(session, number)
    ids = [line.id for line in view.lines]
    found: dict[int, list[CloseoutRef]] = {i: [] for i in ids}
    if ids:
        stmt = (
            select(CloseoutLine, Closeout)
            .join(Closeout, Closeout.id == CloseoutLine.closeout_id)
            .where(CloseoutLine.order_line_id.in_(ids))
            .order_by(Closeout.number, CloseoutLine.id)
        )
        for line, closeout in session.execute(stmt):
            found[line.order_line_id].append(
                CloseoutRef(
                    number=closeout.number,
                    date=closeout.closeout_date,
                    user=closeout.user_name,
                    to_receive_before=line.to_receive_before,
                    to_receive_after=line.to_receive_after,
                    to_invoice_before=line.to_invoice_before,
                    to_invoice_after=line.to_invoice_after,
                    undone=closeout.undone_at is not None or closeout.undo_date is not None,
                    undo_date=closeout.undo_date,
                    undone_by=closeout.undone_by,
                )
            )
    return OrderWithCloseouts(view, {i: tuple(refs) for i, refs in found.items()})
