"""Choosing order lines: by order number, supplier and order date, each a value or a range.

A bound is a (low, high) pair; either end None is open. Codes compare as text, dates as
dates. `select_open_lines` streams the lines that may be open in the chosen sort order,
ordered so that one order's lines are always together (one entry per order).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from array import array
from dataclasses import dataclass
from typing import Iterable, Iterator, NamedTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ledger.text import first_control
from purchase.bounds import bound_condition, code_number, code_order, within
from purchase.lookalike import other_cases, zeros_dropped
from purchase.models import Item, OrderLine, PurchaseOrder, Supplier
from purchase.orders import TAKES_DOCUMENTS

SORTS = {"order": "order", "supplier": "supplier", "date": "date"}


def one_line(value) -> bool:
    """Whether `value` is text of one line, with no control character: what a selection's
    bound may hold (the options refuse any other, `cli.params.not_one_line`), and what a
    saved trial may say, as both are printed to a terminal."""
    return isinstance(value, str) and first_control(value) is None


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

    def in_words(self) -> str:
        """The selection as the options that made it: "supplier ACME, order date
        ..2026-06-30; sorted by date"; "every open line" when nothing narrows it."""
        def shown(v) -> str:
            return "" if v is None else (v.isoformat() if isinstance(v, dt.date) else str(v))

        said = []
        for label, bound in (("order", self.order), ("supplier", self.supplier), ("order date", self.order_date)):
            if bound is None or bound == (None, None):
                continue
            low, high = bound
            said.append(f"{label} {shown(low)}" if low == high else f"{label} {shown(low)}..{shown(high)}")
        return (", ".join(said) or "every open line") + f"; sorted by {self.sort}"

    @staticmethod
    def from_stored(stored: str | None) -> "Selection | None":
        """A close-out's stored selection (`to_json`) read back; None when none is stored or
        the text is not such JSON (rows written by hand or by an older pledger)."""
        try:
            return Selection.from_dict(json.loads(stored or ""))
        except (ValueError, TypeError, AttributeError, IndexError):
            return None

    @staticmethod
    def from_dict(data: dict) -> "Selection":
        """`describe`'s shape read back: each bound None or a pair of texts (or None) of one
        line (`one_line`, as the options take them), the dates ISO, the sort one of `SORTS`. Any other shape (a saved trial edited by hand) is
        a ValueError, not a selection made of it: a pair of one value was an IndexError, a
        sort no one can ask for was stored on the close-out."""
        if not isinstance(data, dict):
            raise ValueError("a selection is an object")

        def bound(b, dates=False):
            if b is None:
                return None
            if not isinstance(b, list) or len(b) != 2 or not all(v is None or one_line(v) for v in b):
                raise ValueError("a bound is a pair of texts, each one line")
            conv = (lambda v: None if v is None else dt.date.fromisoformat(v)) if dates else (lambda v: v)
            return (conv(b[0]), conv(b[1]))

        sort = data.get("sort", "order")
        if sort not in SORTS:
            raise ValueError(f"no sort {sort!r}")
        return Selection(bound(data.get("order")), bound(data.get("supplier")), bound(data.get("order_date"), True), sort)

    def contains(self, order_number: str, supplier_code: str, order_date: dt.date) -> bool:
        return within(self.order, order_number) and within(self.supplier, supplier_code) and within(self.order_date, order_date)


def unknown_value_notes(session: Session, selection: Selection, *, item: tuple | None = None) -> list[str]:
    """A note for each single order number or supplier code the selection names that the
    books do not hold: the selection then holds no line, which "0 open lines" alone does
    not tell from an order with nothing open. Codes compare exactly (CLI.md: as text), so
    `--supplier boltex` finds nothing beside BOLTEX, and a list (`--order A,B`) is one code:
    said, with the code that differs only in case where there is one. `item`: an item code's
    bound too (`report backorders --item`)."""
    notes = []
    for label, column, bound in (("order", PurchaseOrder.number, selection.order), ("supplier", Supplier.code, selection.supplier),
                                 ("item", Item.code, item)):
        if bound is None or bound[0] is None or bound[0] != bound[1]:
            continue
        value = bound[0]
        if session.scalar(select(column).where(column == value).limit(1)) is not None:
            continue
        cased = other_cases(session, column, value)
        if cased:
            hint = f"; codes compare exactly, case and all: did you mean {' or '.join(cased)}?"
        elif zeros := zeros_dropped(session, column, value, label):
            hint = zeros.replace(" (", "; ", 1).rstrip(")")
        elif "," in value or ";" in value:
            hint = "; a list is not taken: give a range A..B, or name the lines in an --edits file"
        else:
            hint = ""
        notes.append(f"no {label} {value} in the books, so the selection holds no line{hint}")
    return notes


def numeric_reading_notes(session: Session, selection: Selection, *, shown: int = 3) -> list[str]:
    """A note for each order or supplier range whose ends are numbers in digits (`--order
    1..2`) where comparing as text, as the selection does (CLI.md: codes compare as text),
    takes lines a reading as numbers would not, or leaves some out: with orders 1, 2, 10 and
    100, `1..2` takes all four ("10" sorts between "1" and "2"). Only codes in digits count,
    and only those of orders with lines that may be open under the selection's other bounds.
    Exact's order numbers are numbers ("een traject van bestelnummers"): an accountant reads
    `1..2` so, and a close-out run on it would close out orders nobody meant to. Each
    note names up to `shown` such codes, fewest digits first. Reads only."""
    notes = []
    for label, option, column, bound, field in (("order", "--order", PurchaseOrder.number, selection.order, "order"),
                                                ("supplier", "--supplier", Supplier.code, selection.supplier, "supplier")):
        if bound is None or bound[0] == bound[1]:
            continue
        low, high = bound
        ends = [end for end in (low, high) if end is not None]
        if not ends or any(code_number(end) is None for end in ends):
            continue
        first, last = (None if low is None else int(low)), (None if high is None else int(high))
        others = dataclasses.replace(selection, **{field: None})  # the codes either reading could take
        codes = selected_ids(others).with_only_columns(column).distinct().order_by(None)
        taken, left_out = [], []
        for (code,) in session.execute(codes):
            number = code_number(code)
            if number is None:
                continue
            by_number = (first is None or number >= first) and (last is None or number <= last)
            if within(bound, code) != by_number:
                (left_out if by_number else taken).append(code)
        if not taken and not left_out:
            continue
        as_numbers = f"{'' if first is None else first}..{'' if last is None else last}"
        typed = f"{option} {'' if low is None else low}..{'' if high is None else high}"
        said = [f"{typed} compares codes as text, not as numbers"]
        if taken:
            said.append(f"it also takes {_codes(label, taken, shown)}, outside {as_numbers} as numbers")
        if left_out:
            said.append(f"it leaves out {_codes(label, left_out, shown)}, inside {as_numbers} as numbers")
        notes.append(": ".join(said[:2]) + "".join(f"; {part}" for part in said[2:])
                     + f"; to go by number, give each {label} on its own ({option} CODE) or name the lines in an --edits file")
    return notes


def _codes(label: str, codes: list[str], shown: int) -> str:
    codes = sorted(codes, key=lambda code: (len(code), code))
    named = ", ".join(codes[:shown])
    more = f" and {len(codes) - shown} more" if len(codes) > shown else ""
    return f"{label}{'s' if len(codes) > 1 else ''} {named}{more}"


def count_selected(session: Session, selection: Selection) -> int:
    """How many lines the selection takes that may be open (`maybe_open`): what a run would read."""
    return session.scalar(select(func.count()).select_from(selected_ids(selection).order_by(None).subquery())) or 0


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
    number = code_order(PurchaseOrder.number)  # codes by code point on both databases, as the ranges
    if selection.sort == "supplier":
        stmt = stmt.order_by(code_order(Supplier.code), number, OrderLine.line_no)
    elif selection.sort == "date":
        stmt = stmt.order_by(PurchaseOrder.order_date, number, OrderLine.line_no)
    else:
        stmt = stmt.order_by(number, OrderLine.line_no)
    return stmt


def sorted_orders(session: Session, numbers: list[str], sort: str) -> list[str]:
    """Order numbers (an edits file's, each once) in the selection's sort, as `selected_ids`
    orders the lines of a whole selection: by number, by supplier then number, or by order
    date then number (codes by code point). By supplier or date, numbers of no order come
    last, in the order given (each is refused by its row)."""
    if sort not in ("supplier", "date"):
        return sorted(numbers)
    column = Supplier.code if sort == "supplier" else PurchaseOrder.order_date
    keys: dict[str, tuple] = {}
    for i in range(0, len(numbers), 500):
        rows = session.execute(select(PurchaseOrder.number, column).join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
                               .where(PurchaseOrder.number.in_(numbers[i : i + 500])))
        keys.update((number, (key, number)) for number, key in rows)
    return sorted((n for n in numbers if n in keys), key=keys.__getitem__) + [n for n in numbers if n not in keys]


class Chunk(NamedTuple):
    """Whole orders' worth of ids (order lines of a selection, or close-out lines of an undo),
    and those orders' ids, once each, in the order they come."""

    ids: list[int]
    order_ids: list[int]


def order_chunks(ids: Iterable[int], order_ids: Iterable[int], size: int) -> Iterator[Chunk]:
    """Ids in chunks of about `size` that never split one order's run of ids; `order_ids`
    gives each id's order."""
    chunk = Chunk([], [])
    last_order = None
    for id_, order_id in zip(ids, order_ids):
        if order_id != last_order:
            if len(chunk.ids) >= size:
                yield chunk
                chunk = Chunk([], [])
            chunk.order_ids.append(order_id)
            last_order = order_id
        chunk.ids.append(id_)
    if chunk.ids:
        yield chunk


def read_pairs(session: Session, stmt: Select) -> tuple[array, array]:
    """The (id, order id) rows of `stmt` as two compact arrays (16 bytes a row), read whole
    first, so no cursor stays open while a run writes."""
    ids, orders = array("q"), array("q")
    for id_, order_id in session.connection().execute(stmt.execution_options(yield_per=10_000)):
        ids.append(id_)
        orders.append(order_id)
    return ids, orders


def chunks_by_order(session: Session, selection: Selection, size: int, on_total=None) -> Iterator[Chunk]:
    """The selected lines in chunks of about `size`, never splitting one order's lines.

    A million lines cost a few megabytes, not the rows (`read_pairs`). `on_total(n)` is
    told how many lines were selected before the first chunk.
    """
    ids, orders = read_pairs(session, selected_ids(selection))
    if on_total is not None:
        on_total(len(ids))
    yield from order_chunks(ids, orders, size)
