"""Order lines loaded for change: locked, read in chunks, written back in one batch.

`LineBook` is how every batch path (receipts, invoices, close-outs, undo) reads and
writes order-line state: rows are read in chunks through `ledger.bulk.select_in` (the
statement worked out once, the rows converted a column at a time; `FOR UPDATE` on
PostgreSQL, so two writers never change the same line at once; SQLite's BEGIN IMMEDIATE
already serialises writers), changed in memory as `LineState`s, and written back with
one executemany UPDATE by primary key.

A book holds `LineState`s (Decimals), or with `stored=True` `StoredLineState`s: the
stored scaled integers as the rows hold them, read and written back without a Decimal
made per value (the close-out and its undo, which change whole chunks of lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import attrgetter
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.bulk import ReadPlan, read_plan, select_in, update_by_id
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier
from purchase.rules import LineState, StoredLineState
from purchase.state import STATE_COLUMNS, STORED_STATE

CHUNK = 500
_STORED_STATE = attrgetter(*STATE_COLUMNS)  # a state's values of the stored state columns
_WRITTEN = ("last_closeout_number", *STATE_COLUMNS, "id")  # what `flush` writes back, as its rows' values


@dataclass(slots=True)
class LineRecord:
    """An order line with what postings need to know about it."""

    id: int
    order_id: int
    order_number: str
    order_status: str
    line_no: int
    supplier_id: int
    supplier_code: str
    order_date: object
    item_code: str
    stock_item: bool
    currency: str
    vat_rate: object
    last_closeout_number: int | None
    state: LineState | StoredLineState

    @property
    def name(self) -> str:
        return f"order {self.order_number} line {self.line_no}"

    @property
    def stock_role(self) -> str:
        return "stock" if self.stock_item else "expense"


def _select():
    return (
        select(
            OrderLine.id,
            OrderLine.order_id,
            OrderLine.line_no,
            OrderLine.quantity,
            OrderLine.net_price,
            OrderLine.vat_rate,
            OrderLine.last_closeout_number,
            OrderLine.received,
            OrderLine.invoiced,
            OrderLine.lowered_receive,
            OrderLine.lowered_invoice,
            OrderLine.written_off_uninvoiced,
            OrderLine.written_off_unreceived,
            PurchaseOrder.number,
            PurchaseOrder.status,
            PurchaseOrder.supplier_id,
            PurchaseOrder.currency,
            PurchaseOrder.order_date,
            Supplier.code.label("supplier_code"),
            Item.code.label("item_code"),
            Item.stock_item,
        )
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Item, Item.id == OrderLine.item_id)
    )


_LINES = _select()
_KEYS = {"number": PurchaseOrder.number, "id": OrderLine.id, "order_id": OrderLine.order_id}


_STATE_READ = frozenset(("quantity", "net_price", *STATE_COLUMNS))  # the columns a state is made of


@lru_cache(maxsize=16)
def _plan(key: str, dialect, stored: bool = False) -> ReadPlan:
    """How `LineBook` reads lines by order number, line id or order id, locking them on
    PostgreSQL; `stored`: the state's columns as the stored integers."""
    plan = read_plan(_LINES, _KEYS[key], OrderLine.id, dialect, lock_of=OrderLine.__table__)
    if not stored:
        return plan
    return plan._replace(processors=tuple(None if c.name in _STATE_READ else p
                                          for c, p in zip(_LINES.selected_columns, plan.processors)))


def _record(row, state_type=LineState) -> LineRecord:
    (id_, order_id, line_no, quantity, net_price, vat_rate, last_closeout_number, received, invoiced, lowered_receive,
     lowered_invoice, written_off_uninvoiced, written_off_unreceived, number, status, supplier_id, currency, order_date,
     supplier_code, item_code, stock_item) = row  # the columns of `_select`, in its order
    state = state_type(quantity, net_price, currency, received, invoiced, lowered_receive, lowered_invoice,
                       written_off_uninvoiced, written_off_unreceived)
    return LineRecord(id_, order_id, number, status, line_no, supplier_id, supplier_code, order_date, item_code,
                      stock_item, currency, vat_rate, last_closeout_number, state)


class LineBook:
    def __init__(self, session: Session, *, stored: bool = False):
        self.session = session
        self.stored = stored
        self.by_key: dict[tuple[str, int], LineRecord] = {}
        self.by_id: dict[int, LineRecord] = {}
        self.dirty: dict[int, LineRecord] = {}
        self.whole: set[int] = set()  # orders of which every line is loaded

    def _run(self, key: str, values: list) -> list[LineRecord]:
        """Read (and on PostgreSQL lock) the lines whose `key` is one of `values`: plain
        column rows, not ORM identities, so nothing is tracked by the unit of work."""
        rows = select_in(self.session, _plan(key, self.session.get_bind().dialect, self.stored), values)
        state_type = StoredLineState if self.stored else LineState
        records = [_record(r, state_type) for r in rows]
        for record in records:
            self.by_key[(record.order_number, record.line_no)] = record
            self.by_id[record.id] = record
        return records

    def load_keys(self, keys: Iterable[tuple[str, int]]) -> None:
        """Load the lines of the orders of these (order number, line number) pairs, in chunks.

        Selected by order number (a unique index on both databases; a row-value IN list is
        not indexed on PostgreSQL), so every line of those orders is read and locked.
        """
        orders = sorted({order for order, line in keys if (order, line) not in self.by_key})
        for i in range(0, len(orders), CHUNK // 5):
            part = orders[i : i + CHUNK // 5]
            self.whole.update(r.order_id for r in self._run("number", part))

    def load_ids(self, ids: Iterable[int]) -> None:
        wanted = sorted({i for i in ids if i not in self.by_id})
        for i in range(0, len(wanted), CHUNK):
            self._run("id", wanted[i : i + CHUNK])

    def load_orders(self, order_ids: Iterable[int]) -> None:
        """Load (and lock) every line of these orders, in chunks.

        A batch that changes lines then holds whole orders, and their statuses follow from
        what it holds (`whole_orders`) without reading the lines a second time.
        """
        orders = sorted(set(order_ids) - self.whole)
        for i in range(0, len(orders), CHUNK):
            self._run("order_id", orders[i : i + CHUNK])
        self.whole.update(orders)

    def whole_orders(self) -> dict[int, list]:
        """Per order loaded whole (by `load_keys` or `load_orders`), the current states of all its lines."""
        out: dict[int, list] = {}
        for record in self.by_id.values():
            if record.order_id in self.whole:
                out.setdefault(record.order_id, []).append(record.state)
        return out

    def get(self, order: str, line: int) -> LineRecord | None:
        return self.by_key.get((order, line))

    def set_state(self, record: LineRecord, state, *, closeout_number: int | None | bool = False) -> None:
        if type(state) is not type(record.state):
            raise TypeError(f"{record.name}: a {type(state).__name__} in a book of {type(record.state).__name__}s")
        record.state = state
        if closeout_number is not False:
            record.last_closeout_number = closeout_number
        self.dirty[record.id] = record

    def flush(self) -> None:
        """Write the changed lines back: one executemany UPDATE by primary key."""
        if not self.dirty:
            return
        rows = [(r.last_closeout_number, *_STORED_STATE(r.state), r.id) for r in self.dirty.values()]
        update_by_id(self.session, OrderLine, rows, columns=_WRITTEN, stored=STORED_STATE if self.stored else frozenset())
        self.dirty.clear()

    def forget(self) -> None:
        """Drop everything loaded (after a flush), so a long batch does not grow in memory."""
        self.by_key.clear()
        self.by_id.clear()
