"""Close-out tables: the close-out (afletteringen), its lines and entries, the counter.

A close-out is written once; undoing it only sets its `undone_*` columns and adds undo
entries. What it lowered and wrote off per line is kept, so the undo can add back
exactly that and return to the uninvoiced-receipts and unreceived-invoices accounts
exactly what the close-out put there.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base
from ledger.types import Amount, Quantity


class CloseoutCounter(Base):
    """The last close-out number given; one row, locked while a number is taken."""

    __tablename__ = "closeout_counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Closeout(Base):
    """One close-out action (aflettering) and its number (afletteringsnummer)."""

    __tablename__ = "closeouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    closeout_date: Mapped[dt.date] = mapped_column(Date)
    user_name: Mapped[str] = mapped_column(String(128), index=True)
    run_at: Mapped[dt.datetime] = mapped_column(DateTime)
    selection: Mapped[str] = mapped_column(Text, default="{}")
    undone_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    undo_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class CloseoutLine(Base):
    """Per order line: the quantities before and after and what was written off."""

    __tablename__ = "closeout_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    closeout_id: Mapped[int] = mapped_column(ForeignKey("closeouts.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    to_receive_before: Mapped[Decimal] = mapped_column(Quantity())
    to_receive_after: Mapped[Decimal] = mapped_column(Quantity())
    to_invoice_before: Mapped[Decimal] = mapped_column(Quantity())
    to_invoice_after: Mapped[Decimal] = mapped_column(Quantity())
    uninvoiced_units: Mapped[Decimal] = mapped_column(Quantity())
    unreceived_units: Mapped[Decimal] = mapped_column(Quantity())
    uninvoiced_amount: Mapped[Decimal] = mapped_column(Amount())
    unreceived_amount: Mapped[Decimal] = mapped_column(Amount())


class CloseoutEntry(Base):
    """The entries a close-out made, and those its undo made."""

    __tablename__ = "closeout_entries"
    closeout_id: Mapped[int] = mapped_column(ForeignKey("closeouts.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "closeout" or "undo"
