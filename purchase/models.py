"""Purchase tables: suppliers, items, settings, orders and lines, receipts, invoices.

An order line carries its matching state (DOMAIN.md): ordered Q, received R, invoiced I,
what close-outs lowered (Lr, Li) and wrote off (Wu, Wv). Its GR and IR sub-balances are
not stored: `purchase.rules.LineState` derives them from these quantities, and
`pledger check` proves the ledger agrees.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.models import Base, length_of  # noqa: F401  (length_of: used with these models by imports and documents)
from ledger.types import Amount, Price, Quantity


class Import(Base):
    """One import of a file (inlezen): what, from which file, by whom, when.

    Written first by every `pledger import`, in its transaction, so a refused import
    leaves none; the suppliers and items it creates or changes and the orders, receipts,
    invoices and stock issues it creates point at it (`import_id`). `source` is the file's
    absolute path (a UBL import logs each of its files), `sha256` the hash of its bytes
    (empty only on imports logged before every file had one), the time in UTC. Append-only, as the documents.
    """

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_name: Mapped[str] = mapped_column(String(128))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)


def _import_id() -> Mapped[int | None]:
    """The import that made the row (last changed it, for suppliers and items); empty for rows made otherwise."""
    return mapped_column(ForeignKey("imports.id"), nullable=True)


class Supplier(Base):
    """A supplier (leverancier, crediteur)."""

    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    vat_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    endpoint_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    import_id: Mapped[int | None] = _import_id()


class Item(Base):
    """An item (artikel): a stock item or a service."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255))
    stock_item: Mapped[bool] = mapped_column(Boolean, default=True)
    unit: Mapped[str] = mapped_column(String(8), default="C62")
    min_stock: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    min_order_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    order_multiple: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    preferred_supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), nullable=True)
    purchase_price: Mapped[Decimal] = mapped_column(Price(), default=0)
    import_id: Mapped[int | None] = _import_id()


class PurchaseSetting(Base):
    """Purchase settings (inkoopinstellingen): which account each posting role uses."""

    __tablename__ = "purchase_settings"
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))


class PurchaseOrder(Base):
    """A purchase order (bestelling)."""

    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    order_date: Mapped[dt.date] = mapped_column(Date, index=True)
    reference: Mapped[str] = mapped_column(String(100), default="")
    buyer: Mapped[str] = mapped_column(String(100), default="")
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="new")
    reopens_as: Mapped[str | None] = mapped_column(String(20), nullable=True)  # its status when it closed (migration 0008)
    drop_shipment: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int | None] = _import_id()
    supplier: Mapped[Supplier] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.line_no")


class OrderLine(Base):
    """An order line (bestelregel) and its matching state."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    description: Mapped[str] = mapped_column(String(255), default="")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Price())
    discount_pct: Mapped[Decimal] = mapped_column(Price(), default=0)
    net_price: Mapped[Decimal] = mapped_column(Price())
    vat_rate: Mapped[Decimal] = mapped_column(Price(), default=0)
    expected_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    received: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    invoiced: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    lowered_receive: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    lowered_invoice: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    written_off_uninvoiced: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    written_off_unreceived: Mapped[Decimal] = mapped_column(Quantity(), default=0)
    last_closeout_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raised: Mapped[Decimal] = mapped_column(Quantity(), default=0, server_default="0")
    """What the line's raises added to its ordered quantity (migration 0015), written with each
    raise: `check` ties it to `order_line_raises`, so a raise deleted or INSERTed around
    pledger shows even where it was the line's first."""
    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()


class OrderLineRaise(Base):
    """An order line raised (bestelregel verhoogd): its ordered quantity Q made larger, by
    whom and when, for an over-delivery (DOMAIN.md: "over-delivery needs the order line
    raised first"; `pledger po raise`). A raise posts nothing: the GR and IR sub-balances
    do not depend on Q; to receive and to invoice grow by the raise. Append-only: each
    raise's `ordered_before` is the `ordered_after` of the one before, and the newest's
    `ordered_after` the line's quantity (`pledger check`). The time in UTC."""

    __tablename__ = "order_line_raises"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    ordered_before: Mapped[Decimal] = mapped_column(Quantity())
    ordered_after: Mapped[Decimal] = mapped_column(Quantity())
    reason: Mapped[str] = mapped_column(String(255), default="")
    user_name: Mapped[str] = mapped_column(String(128))
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime)


class WriteOffOnArrival(Base):
    """Units written off as a document arrived, and the close-out they belong to.

    A close-out may lower to invoice below what is still to receive (goods that will come
    but never be invoiced), or the other way round; when those goods (or invoices) arrive,
    the receipt (or invoice) writes them off at once (`purchase.rules._Rule._settle`:
    Wu or Wv grows, posted to uninvoiced receipts or unreceived invoices). Each such
    write-off is recorded here against the close-out that caused it, the newest standing
    on the line (`OrderLine.last_closeout_number`), so that undoing that close-out gives
    back exactly these units and amounts as well as its own. An undo that leaves an older
    close-out standing settles the line again under it, and records what that writes off
    here too (document "undo closeout N"). Append-only, as the entries they were posted
    with. `closeout_number` is empty only for units written off while no close-out stood
    on the line: books where a close-out was undone before such write-offs were recorded.
    Amounts are positive as a close-out puts them on those accounts.
    """

    __tablename__ = "write_offs_on_arrival"
    __table_args__ = (Index("ix_write_offs_on_arrival_order_line", "order_line_id", "closeout_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    closeout_number: Mapped[int | None] = mapped_column(ForeignKey("closeouts.number"), nullable=True)
    document: Mapped[str] = mapped_column(String(64))  # as its entry lines name it: "receipt R-5", "undo closeout 4"
    uninvoiced_units: Mapped[Decimal] = mapped_column(Quantity())
    unreceived_units: Mapped[Decimal] = mapped_column(Quantity())
    uninvoiced_amount: Mapped[Decimal] = mapped_column(Amount())
    unreceived_amount: Mapped[Decimal] = mapped_column(Amount())


class Receipt(Base):
    """A goods receipt (ontvangst); negative quantities are a return."""

    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    receipt_date: Mapped[dt.date] = mapped_column(Date)
    user_name: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), nullable=True)
    import_id: Mapped[int | None] = _import_id()
    lines: Mapped[list["ReceiptLine"]] = relationship(order_by="ReceiptLine.id")


class ReceiptLine(Base):
    __tablename__ = "receipt_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())


class Invoice(Base):
    """A purchase invoice (inkoopfactuur); negative quantities make a credit note."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("supplier_id", "supplier_invoice"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    supplier_invoice: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    invoice_date: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_total: Mapped[Decimal] = mapped_column(Amount())
    vat_total: Mapped[Decimal] = mapped_column(Amount())
    user_name: Mapped[str] = mapped_column(String(128))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), nullable=True)
    import_id: Mapped[int | None] = _import_id()
    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.id")


def invoice_kind(net_total: Decimal) -> str:
    """What an invoice row is: "credit note" when it gives back on the whole (its net total
    below 0), else "invoice". The books keep both in `invoices`, one per supplier and number."""
    return "credit note" if net_total < 0 else "invoice"


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(Price())
    amount: Mapped[Decimal] = mapped_column(Amount())
    vat_rate: Mapped[Decimal] = mapped_column(Price())
