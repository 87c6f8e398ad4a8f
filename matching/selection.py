"""Choosing order lines: by order number, supplier and order date, each a value or a range.

A bound is a (low, high) pair; either end None is open. Codes compare as text, dates as
dates. `select_open_lines` streams the lines that may be open in the chosen sort order,
ordered so that one order's lines are always together (one entry per order).
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from dataclasses import asdict, dataclass
from typing import Iterator, NamedTuple

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from purchase.bounds import bound_condition, within
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier
from purchase.orders import TAKES_DOCUMENTS

SORTS = {"order": "order", "supplier": "supplier", "date": "date"}


@dataclass(frozen=True)
class Selection:
    order: tuple | None = None
    supplier: tuple | None = None
    order_date: tuple | None = None
    sort: str = "order"

    def describe(self) -> dict:
        def bound(b):
            if b is None:
                return None
            low, high = b
            fmt = lambda v: v.isoformat() if isinstance(v, dt.date) else v
            return [fmt(low), fmt(high)]

        return {"order": bound(self.order), "supplier": bound(self.supplier), "order_date": bound(self.order_date), "sort": self.sort}

    def to_json(self) -> str:
        return json.dumps(self.describe(), sort_keys=True)

    @staticmethod
    def from_dict(data: dict) -> "Selection":
        def bound(b, dates=False):
            if b is None:
                return None
            conv = (lambda v: None if v is None else dt.date.fromisoformat(v)) if dates else (lambda v: v)
            return (conv(b[0]), conv(b[1]))

        return Selection(bound(data.get("order")), bound(data.get("supplier")), bound(data.get("order_date"), True), data.get("sort", "order"))

    def contains(self, order_number: str, supplier_code: str, order_date: dt.date) -> bool:
        return within(self.order, order_number) and within(self.supplier, supplier_code) and within(self.order_date, order_date)


def maybe_open():
    """SQL pre-filter: lines expecting something or holding unmatched quantities.

    Works on the stored scaled integers, so it is exact; `LineState.is_open` decides.
    """
    return or_(
        OrderLine.quantity - OrderLine.received - OrderLine.lowered_receive != 0,
        OrderLine.quantity - OrderLine.invoiced - OrderLine.lowered_invoice != 0,
        OrderLine.received - OrderLine.written_off_uninvoiced != OrderLine.invoiced - OrderLine.written_off_unreceived,
    )


def selected_ids(selection: Selection) -> Select:
    """Ids of the selected, possibly open lines and of their orders, in the chosen order
    (orders kept together)."""
    stmt = (
        select(OrderLine.id, OrderLine.order_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .where(PurchaseOrder.status.in_(TAKES_DOCUMENTS), maybe_open())
    )
    for column, bound in ((PurchaseOrder.number, selection.order), (Supplier.code, selection.supplier), (PurchaseOrder.order_date, selection.order_date)):
        clause = bound_condition(column, bound)
        if clause is not None:
            stmt = stmt.where(clause)
    if selection.sort == "supplier":
        stmt = stmt.order_by(Supplier.code, PurchaseOrder.number, OrderLine.line_no)
    elif selection.sort == "date":
        stmt = stmt.order_by(PurchaseOrder.order_date, PurchaseOrder.number, OrderLine.line_no)
    else:
        stmt = stmt.order_by(PurchaseOrder.number, OrderLine.line_no)
    return stmt


class Chunk(NamedTuple):
    """Some selected lines, whole orders of them: their ids, and their orders' ids once each."""

    line_ids: list[int]
    order_ids: list[int]


def chunks_by_order(session: Session, selection: Selection, size: int, on_total=None) -> Iterator[Chunk]:
    """The selected lines in chunks of about `size`, never splitting one order's lines.

    The ids are read first into compact arrays (16 bytes a line), so no cursor stays open
    while the run writes, and a million lines cost a few megabytes, not the rows.
    `on_total(n)` is told how many lines were selected before the first chunk.
    """
    ids = array("q")
    orders = array("q")  # per line, its order's id
    for line_id, order_id in session.connection().execute(selected_ids(selection).execution_options(yield_per=10_000)):
        ids.append(line_id)
        orders.append(order_id)
    if on_total is not None:
        on_total(len(ids))
    chunk = Chunk([], [])
    last_order = None
    for line_id, order_id in zip(ids, orders):
        if order_id != last_order:
            if len(chunk.line_ids) >= size:
                yield chunk
                chunk = Chunk([], [])
            chunk.order_ids.append(order_id)
            last_order = order_id
        chunk.line_ids.append(line_id)
    if chunk.line_ids:
        yield chunk
