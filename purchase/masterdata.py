"""Suppliers, items and purchase orders: creating them in batches with Core.

Suppliers and items are master data: importing a code that exists updates it. Orders
are documents: an order number is used once. Orders live in one currency, the books'
base currency, until foreign-currency purchasing is built (the ledger already stores
document currency and rate beside every amount, so that needs no change of history).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ledger.bulk import insert_returning_ids, insert_rows, update_by_id
from ledger.db import one_of
from ledger.errors import PledgerError
from ledger.models import Entry, EntryLine
from ledger.money import ZERO, currency_code
from ledger.periods import hold_periods
from ledger.posting import base_currency
from purchase.bounds import code_order
from purchase.models import Item, OrderLine, PurchaseOrder, ReceiptLine, Supplier
from purchase.models_stock import StockIssue
from purchase.lookalike import zeros_dropped
from purchase.orders import net_price, not_a_vat_rate, unstorable_value
from purchase.settings import role_account_ids
from purchase.state import STATE_COLUMNS, STORED_STATE

CHUNK = 1000


class MasterDataError(PledgerError):
    pass


def foreign_currency(currency: str, base: str) -> str:
    """A supplier's or order's currency other than the books' (`base`), as it is refused here
    and by an import's check of its rows (`purchase.imports`, which names the column)."""
    return f"{currency} differs from the books' {base}; foreign-currency purchasing is not supported yet"


def unknown_supplier(code: str) -> str:
    """A supplier the books do not hold, as an order of it is refused here and an import's
    rows (its orders' supplier, its items' preferred supplier)."""
    return f"unknown supplier '{code}' (import suppliers first)"


def order_exists(number: str) -> str:
    """An order number the books hold already, as the orders are refused here and an import's rows."""
    return f"order {number} already exists: an order number is used once"


@dataclass(frozen=True)
class SupplierData:
    code: str
    name: str
    currency: str
    vat_number: str | None = None
    endpoint_id: str | None = None


@dataclass(frozen=True)
class ItemData:
    code: str
    description: str
    stock_item: bool = True
    unit: str = "C62"
    min_stock: Decimal = ZERO
    min_order_quantity: Decimal = ZERO
    order_multiple: Decimal = ZERO
    preferred_supplier: str | None = None
    purchase_price: Decimal = ZERO


class OrderLineData(NamedTuple):
    """An order line to create; a named tuple because an import makes one for every row of its file."""

    line: int
    item: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal = ZERO
    vat_rate: Decimal = ZERO
    expected_date: dt.date | None = None
    description: str = ""
    where: str = ""


@dataclass(frozen=True)
class OrderData:
    number: str
    supplier: str
    order_date: dt.date
    lines: Sequence[OrderLineData]
    currency: str | None = None
    reference: str = ""
    buyer: str = ""
    drop_shipment: bool = False
    where: str = ""


def _upsert(session: Session, model, rows: list[dict], import_id: int | None) -> tuple[int, int]:
    """Insert new codes, update existing ones, each marked with the import that did it (or
    none: made otherwise); returns (created, updated)."""
    created = updated = 0
    for i in range(0, len(rows), CHUNK):
        part = [{**r, "import_id": import_id} for r in rows[i : i + CHUNK]]
        known = dict(session.execute(select(model.code, model.id).where(model.code.in_([r["code"] for r in part]))).all())
        new = [r for r in part if r["code"] not in known]
        old = [{"id": known[r["code"]], **r} for r in part if r["code"] in known]
        if new:
            insert_rows(session, model, new)
        if old:
            update_by_id(session, model, old)
        created += len(new)
        updated += len(old)
    return created, updated


def upsert_suppliers(session: Session, suppliers: Sequence[SupplierData], *, import_id: int | None = None) -> tuple[int, int]:
    base = base_currency(session)
    rows = []
    for s in suppliers:
        currency = currency_code(s.currency)
        if currency != base:
            raise MasterDataError(f"supplier {s.code}: currency {foreign_currency(currency, base)}")
        rows.append({"code": s.code, "name": s.name, "currency": currency, "vat_number": s.vat_number, "endpoint_id": s.endpoint_id})
    return _upsert(session, Supplier, rows, import_id)


def upsert_items(session: Session, items: Sequence[ItemData], *, import_id: int | None = None) -> tuple[int, int]:
    suppliers = dict(session.execute(select(Supplier.code, Supplier.id)).all())
    rows = []
    for it in items:
        preferred = None
        if it.preferred_supplier:
            if it.preferred_supplier not in suppliers:
                raise MasterDataError(f"item {it.code}: unknown preferred supplier '{it.preferred_supplier}'")
            preferred = suppliers[it.preferred_supplier]
        rows.append({
            "code": it.code, "description": it.description, "stock_item": it.stock_item, "unit": it.unit,
            "min_stock": it.min_stock, "min_order_quantity": it.min_order_quantity, "order_multiple": it.order_multiple,
            "preferred_supplier_id": preferred, "purchase_price": it.purchase_price,
        })
    _refuse_stock_changes_after_receipts(session, items)
    return _upsert(session, Item, rows, import_id)


def _refuse_stock_changes_after_receipts(session: Session, items: Sequence[ItemData]) -> None:
    """An item's receipts were booked to stock or to expense as it was then (`stock_item`),
    and its returns reverse them on the account the item names when they are posted: an
    item with receipts keeps what it is, or a return would credit an account its goods
    never went to (and leave them on the other). The GR/IR accounts are held the same way
    (`purchase.settings.set_setting`). A change that makes the item name the account its
    receipts were booked to is taken: a book an earlier pledger let change after receipts
    is put right that way."""
    asked = {it.code: it.stock_item for it in items}
    for i in range(0, len(items), CHUNK):
        codes = [it.code for it in items[i : i + CHUNK]]
        stored = session.execute(select(Item.id, Item.code, Item.stock_item).where(one_of(session, Item.code, codes))).all()
        changed = {item_id: (code, was) for item_id, code, was in stored if asked[code] != was}
        if not changed:
            continue
        # as a setting is held (`set_setting`): the receipts and stock issues under way
        # (`purchase.stock.import_issues`) are in before they are looked for, and those begun
        # meanwhile read the item as changed (PostgreSQL; audit of 6 December 2026: BOLT made
        # a service while its first receipt posted to stock, whose return then credited
        # expenses, 6.66 left on each)
        hold_periods(session, exclusive=True)
        unstocked = [item_id for item_id, (_, was) in changed.items() if was]
        if unstocked:  # a stock item with issues or reservations keeps stock: it stays one
            moved = session.execute(
                select(StockIssue.item_id, StockIssue.number, StockIssue.kind)
                .where(one_of(session, StockIssue.item_id, unstocked))
                .order_by(code_order(StockIssue.number), StockIssue.line_no)).all()
            if moved:
                first_moved: dict[int, tuple] = {}
                for row in moved:
                    first_moved.setdefault(row.item_id, row)
                item_id, row = min(first_moved.items(), key=lambda kv: changed[kv[0]][0])
                raise MasterDataError(
                    f"item {changed[item_id][0]}: stock_item cannot change from true to false: stock issues or reservations "
                    f"stand on it ({row.kind} {row.number}); give what is bought as expense from now on a new item code")
        received = session.execute(
            select(OrderLine.item_id, PurchaseOrder.number, OrderLine.line_no)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .where(one_of(session, OrderLine.item_id, list(changed)),
                   select(ReceiptLine.id).where(ReceiptLine.order_line_id == OrderLine.id).exists())
            .order_by(code_order(PurchaseOrder.number), OrderLine.line_no)).all()
        first: dict[int, tuple] = {}
        for row in received:  # an item's first received line, in code order
            first.setdefault(row.item_id, row)
        for item_id, line in sorted(first.items(), key=lambda kv: changed[kv[0]][0]):
            code, was = changed[item_id]
            booked = _receipts_booked_to(session, item_id)
            if booked == {"stock" if not was else "expense"}:
                continue  # the item now names the account its receipts went to
            booked_to = " and ".join(sorted(booked)) if booked else ("stock" if was else "expense")
            other = "expense" if was else "stock"
            raise MasterDataError(
                f"item {code}: stock_item cannot change from {str(was).lower()} to {str(not was).lower()}: its receipts "
                f"(order {line.number} line {line.line_no}) were booked to {booked_to}, and a return must reverse "
                f"them there; give what is bought as {other} from now on a new item code")


def _receipts_booked_to(session: Session, item_id: int) -> set[str]:
    """Where the receipts of an item's order lines were booked, as the ledger holds them:
    "stock", "expense" or both (the accounts the purchase settings name now). Read only
    for a refusal."""
    ids = role_account_ids(session)
    roles = {ids["stock"]: "stock", ids["expense"]: "expense"}
    lines = select(OrderLine.id).where(OrderLine.item_id == item_id)
    accounts = session.scalars(
        select(EntryLine.account_id).distinct().join(Entry, Entry.id == EntryLine.entry_id)
        .where(Entry.source == "receipt", EntryLine.order_line_id.in_(lines), EntryLine.account_id.in_(list(roles)))).all()
    return {roles[a] for a in accounts}


_NOTHING_YET = (0,) * len(STATE_COLUMNS)  # a new line's state, as the stored integers: nothing received, ...
_LINE_COLUMNS = ("order_id", "line_no", "item_id", "description", "quantity", "unit_price", "discount_pct", "net_price",
                 "vat_rate", "expected_date", *STATE_COLUMNS)
"""The columns `create_orders` writes of an order line, in the order of its rows' values (tuples: no dict a line)."""


def _line_name(order: OrderData, line: OrderLineData, column: str) -> str:
    """An order line as a refusal names it (made only for a refusal): with a file's row, the
    column too (CLI.md: the error names the row and column)."""
    return f"{line.where + f', column {column}: ' if line.where else ''}order {order.number} line {line.line}"


def create_orders(session: Session, orders: Sequence[OrderData], *, status: str = "ordered",
                  import_id: int | None = None) -> int:
    """Create orders with their lines (marked with the import that made them, if one did);
    refuses an order number that exists. Returns lines made."""
    base = base_currency(session)
    seen: set[str] = set()
    for o in orders:
        if o.number in seen:
            raise MasterDataError(f"{o.where + ': ' if o.where else ''}order {o.number} appears twice")
        seen.add(o.number)
    made = 0
    for i in range(0, len(orders), CHUNK):
        part = orders[i : i + CHUNK]
        known = session.scalars(select(PurchaseOrder.number).where(one_of(session, PurchaseOrder.number, [o.number for o in part]))).first()
        if known is not None:
            raise MasterDataError(order_exists(known))
        supplier_codes = {o.supplier for o in part}
        item_codes = {l.item for o in part for l in o.lines}
        suppliers = {code: (sid, cur) for code, sid, cur in session.execute(
            select(Supplier.code, Supplier.id, Supplier.currency).where(one_of(session, Supplier.code, supplier_codes)))}
        items = dict(session.execute(select(Item.code, Item.id).where(one_of(session, Item.code, item_codes))).all())
        heads, line_rows = [], []
        for o in part:
            where = f"{o.where + ': ' if o.where else ''}order {o.number}"
            if o.supplier not in suppliers:
                raise MasterDataError(f"{where}: {unknown_supplier(o.supplier)}")
            supplier_id, supplier_currency = suppliers[o.supplier]
            currency = currency_code(o.currency) if o.currency else supplier_currency
            if currency != base:
                raise MasterDataError(f"{where}: currency {foreign_currency(currency, base)}")
            if not o.lines:
                raise MasterDataError(f"{where}: an order needs at least one line")
            numbers = set()
            for l in o.lines:
                if l.line in numbers:
                    raise MasterDataError(f"{_line_name(o, l, 'line')}: line number used twice")
                numbers.add(l.line)
                if l.line < 1:
                    raise MasterDataError(f"{_line_name(o, l, 'line')}: line numbers start at 1")
                if l.item not in items:
                    raise MasterDataError(f"{_line_name(o, l, 'item')}: unknown item '{l.item}'"
                                          f"{zeros_dropped(session, Item.code, l.item, 'item') or ' (import items first)'}")
                if l.quantity <= ZERO:
                    raise MasterDataError(f"{_line_name(o, l, 'quantity')}: an ordered quantity must be above zero, not {l.quantity}")
                if l.unit_price < ZERO:
                    raise MasterDataError(f"{_line_name(o, l, 'unit_price')}: a unit price must not be negative, not {l.unit_price}")
                if l.vat_rate < ZERO or l.vat_rate > 100:
                    raise MasterDataError(f"{_line_name(o, l, 'vat_rate')}: {not_a_vat_rate(l.vat_rate)}")
                try:
                    price = net_price(l.unit_price, l.discount_pct)
                except PledgerError as exc:
                    raise MasterDataError(f"{_line_name(o, l, 'discount_pct')}: {exc}") from None
                if (why := unstorable_value(l.quantity, price, currency)) is not None:
                    raise MasterDataError(f"{_line_name(o, l, 'quantity')}: {why}")
                line_rows.append((o.number, (l.line, items[l.item], l.description, l.quantity, l.unit_price,
                                             l.discount_pct, price, l.vat_rate, l.expected_date)))  # `_LINE_COLUMNS`' after the order
            heads.append({"number": o.number, "supplier_id": supplier_id, "order_date": o.order_date, "reference": o.reference,
                          "buyer": o.buyer, "currency": currency, "status": status, "drop_shipment": o.drop_shipment,
                          "import_id": import_id})
        ids = insert_returning_ids(session, PurchaseOrder, heads)
        by_number = {h["number"]: i for h, i in zip(heads, ids)}
        insert_rows(session, OrderLine, [(by_number[number], *row, *_NOTHING_YET) for number, row in line_rows],
                    columns=_LINE_COLUMNS, stored=STORED_STATE)
        made += len(line_rows)
    return made
