"""The reorder proposal (bestelvoorstel): what to order so every item is back at its minimum.

Per item with a minimum stock above zero:

| figure       | how                                                                        |
|--------------|----------------------------------------------------------------------------|
| physical     | received on the item's order lines (returns negative), less issues          |
| reserved     | reservations (`pledger import issues`, kind reservation)                    |
| on order     | to receive (Q - R - Lr, `purchase.state.line_state`) of the item's lines    |
|              | on orders not cancelled, new ones included (a proposal made earlier counts) |
| available    | physical - reserved + on order                                              |
| shortfall    | min_stock - available                                                       |
| quantity     | when shortfall > 0: max(shortfall, min_order_quantity), rounded *up* to a  |
|              | multiple of order_multiple when that is set                                 |

Drop-shipment orders go straight to the customer: they count neither as stock nor as on
order. An item that needs ordering but has no preferred supplier, or is not a stock item,
is refused with the reason instead of guessed. Lines are grouped per preferred supplier,
one order each; `create_proposed_orders` makes them in status `new` through
`purchase.masterdata.create_orders`, numbered `RO-YYYYMMDD-<supplier>` (a suffix -2, -3 ...
keeps numbers unique). The unit price is the item's purchase price, else the last price
ordered from that supplier; the VAT rate is the item's last one ordered (else 0).

`create_reorder` proposes and creates under a lock (`hold_reorders`): two users creating
at once queue, and the second proposes from the orders the first made (on order), so an
item below its minimum is ordered once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from sqlalchemy import func, select, text, type_coerce
from sqlalchemy.orm import Session

from ledger.money import ZERO
from ledger.types import Quantity
from purchase.bounds import code_order
from purchase.masterdata import OrderData, OrderLineData, create_orders
from purchase.models import Item, OrderLine, PurchaseOrder, ReceiptLine, Supplier
from purchase.models_stock import StockIssue
from purchase.state import STATE_COLUMNS, line_state

NUMBER_WIDTH = 32  # purchase_orders.number
REORDERS_HELD = 0x706C6467_726F7264  # the advisory lock of creating proposed orders ("pldg", "rord")


@dataclass(frozen=True)
class ItemNeed:
    """One item's stock figures and the quantity to order (zero when none is needed)."""

    item: str
    description: str
    supplier: str | None
    min_stock: Decimal
    physical: Decimal
    reserved: Decimal
    on_order: Decimal
    min_order_quantity: Decimal
    order_multiple: Decimal
    unit_price: Decimal = ZERO
    vat_rate: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.physical - self.reserved + self.on_order

    @property
    def shortfall(self) -> Decimal:
        return self.min_stock - self.available

    @property
    def quantity(self) -> Decimal:
        return order_quantity(self.shortfall, self.min_order_quantity, self.order_multiple)


@dataclass(frozen=True)
class Refused:
    need: ItemNeed
    reason: str


@dataclass(frozen=True)
class ProposedOrder:
    supplier: str
    supplier_name: str
    lines: tuple[ItemNeed, ...]
    number: str | None = None  # set once created


@dataclass(frozen=True)
class Proposal:
    date: dt.date
    orders: tuple[ProposedOrder, ...]
    refused: tuple[Refused, ...]
    created: bool = False


def order_quantity(shortfall: Decimal, min_order_quantity: Decimal, order_multiple: Decimal) -> Decimal:
    """max(shortfall, minimum order quantity) rounded up to the order multiple; 0 if no shortfall."""
    if shortfall <= ZERO:
        return ZERO
    quantity = max(shortfall, min_order_quantity)
    if order_multiple > ZERO:
        quantity = (quantity / order_multiple).to_integral_value(rounding=ROUND_CEILING) * order_multiple
    return quantity


def _sum(column):
    return type_coerce(func.coalesce(func.sum(column), 0), Quantity())


def propose(session: Session, date: dt.date) -> Proposal:
    """The proposal for the current state of the books; writes nothing."""
    items = session.execute(
        select(Item, Supplier.code, Supplier.name)
        .join(Supplier, Supplier.id == Item.preferred_supplier_id, isouter=True)
        .where(Item.min_stock > 0)
        .order_by(code_order(Item.code))
    ).all()
    if not items:
        return Proposal(date, (), ())
    ids = [it.id for it, _, _ in items]

    received = dict(session.execute(
        select(OrderLine.item_id, _sum(ReceiptLine.quantity))
        .join(OrderLine, OrderLine.id == ReceiptLine.order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(OrderLine.item_id.in_(ids), PurchaseOrder.drop_shipment.is_(False))
        .group_by(OrderLine.item_id)
    ).all())
    moved: dict[tuple[int, str], Decimal] = {
        (item_id, kind): qty for item_id, kind, qty in session.execute(
            select(StockIssue.item_id, StockIssue.kind, _sum(StockIssue.quantity))
            .where(StockIssue.item_id.in_(ids))
            .group_by(StockIssue.item_id, StockIssue.kind)
        )
    }
    on_order: dict[int, Decimal] = {}
    last_price: dict[tuple[int, int], Decimal] = {}
    last_vat: dict[int, Decimal] = {}
    columns = [OrderLine.item_id, OrderLine.quantity, OrderLine.net_price, OrderLine.unit_price, OrderLine.vat_rate,
               *[getattr(OrderLine, c) for c in STATE_COLUMNS], PurchaseOrder.currency, PurchaseOrder.status,
               PurchaseOrder.drop_shipment, PurchaseOrder.supplier_id]
    for row in session.execute(
        select(*columns).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(OrderLine.item_id.in_(ids))
        .order_by(PurchaseOrder.order_date, OrderLine.id)
    ):
        last_price[(row.item_id, row.supplier_id)] = row.unit_price
        last_vat[row.item_id] = row.vat_rate
        if row.status == "cancelled" or row.drop_shipment:
            continue
        to_receive = line_state(row, row.currency).to_receive
        if to_receive > ZERO:
            on_order[row.item_id] = on_order.get(row.item_id, ZERO) + to_receive

    per_supplier: dict[str, list[ItemNeed]] = {}
    names: dict[str, str] = {}
    refused: list[Refused] = []
    for it, supplier_code, supplier_name in items:
        price = it.purchase_price
        if price == ZERO and it.preferred_supplier_id is not None:
            price = last_price.get((it.id, it.preferred_supplier_id), ZERO)
        need = ItemNeed(
            item=it.code, description=it.description, supplier=supplier_code, min_stock=it.min_stock,
            physical=received.get(it.id, ZERO) - moved.get((it.id, "issue"), ZERO),
            reserved=moved.get((it.id, "reservation"), ZERO), on_order=on_order.get(it.id, ZERO),
            min_order_quantity=it.min_order_quantity, order_multiple=it.order_multiple,
            unit_price=price, vat_rate=last_vat.get(it.id, ZERO),
        )
        if need.quantity == ZERO:
            continue
        if not it.stock_item:
            refused.append(Refused(need, "not a stock item: a service keeps no stock, clear its min_stock"))
        elif supplier_code is None:
            refused.append(Refused(need, "no preferred supplier: set preferred_supplier with 'pledger import items'"))
        else:
            per_supplier.setdefault(supplier_code, []).append(need)
            names[supplier_code] = supplier_name
    orders = tuple(ProposedOrder(code, names[code], tuple(lines)) for code, lines in sorted(per_supplier.items()))
    return Proposal(date, orders, tuple(refused))


def order_number(session: Session, supplier: str, date: dt.date, taken: set[str]) -> str:
    """`RO-YYYYMMDD-<supplier>`, with -2, -3 ... when taken; at most 32 characters."""
    stem = f"RO-{date:%Y%m%d}-{supplier}"
    like = session.scalars(select(PurchaseOrder.number).where(PurchaseOrder.number.like(f"RO-{date:%Y%m%d}-%"))).all()
    used = set(like) | taken
    n = 1
    while True:
        suffix = "" if n == 1 else f"-{n}"
        number = stem[: NUMBER_WIDTH - len(suffix)] + suffix
        if number not in used:
            return number
        n += 1


def hold_reorders(session: Session) -> None:
    """PostgreSQL: a creating reorder holds the others off until it ends (a transaction-level
    advisory lock, taken before it reads the stock): read committed would let two read the
    same shortfall, neither seeing the other's new orders, and both order it (audit of
    6 December 2026: two `reorder propose --create` at once ordered NUT twice, 200 on order
    for a minimum of 100, or the second failed on "duplicate key ... uq_purchase_orders_number"
    when both numbered for the same day). SQLite needs none: one writer at a time
    (BEGIN IMMEDIATE) reads and creates in order."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": REORDERS_HELD})


def create_reorder(session: Session, date: dt.date, *, buyer: str = "") -> Proposal:
    """The proposal of the books as they stand once no other reorder is creating
    (`hold_reorders`), its orders created; writes nothing when there is nothing to order."""
    hold_reorders(session)
    proposal = propose(session, date)
    if not proposal.orders:
        return proposal
    return create_proposed_orders(session, proposal, buyer=buyer)


def create_proposed_orders(session: Session, proposal: Proposal, *, buyer: str = "") -> Proposal:
    """Create the proposed orders in status new; returns the proposal with their numbers."""
    taken: set[str] = set()
    made = []
    for order in proposal.orders:
        number = order_number(session, order.supplier, proposal.date, taken)
        taken.add(number)
        made.append(replace(order, number=number))
    create_orders(session, [
        OrderData(
            o.number, o.supplier, proposal.date,
            [OrderLineData(n, need.item, need.quantity, need.unit_price, vat_rate=need.vat_rate, description=need.description)
             for n, need in enumerate(o.lines, 1)],
            reference="reorder proposal", buyer=buyer,
        )
        for o in made
    ], status="new")
    return replace(proposal, orders=tuple(made), created=True)
