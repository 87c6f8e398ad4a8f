"""The ledger's tables: accounts, journals, fiscal years and periods, entries and lines.

Entries and their lines are posted once and never changed: triggers created by the
migrations refuse UPDATE and DELETE on both databases. Amounts are exact scaled integers
(`ledger.types`). Lines carry optional sub-ledger dimensions (partner, order line,
document, quantity) whose meaning belongs to the packages above; the ledger only stores
them and hashes them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    Index,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.types import Amount, Price, Quantity

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def length_of(attribute) -> int:
    """The characters a model's text column holds (`Entry.user_name`: 128): what PostgreSQL
    refuses beyond, and SQLite would keep, so the program refuses it first."""
    return attribute.property.columns[0].type.length


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Setting(Base):
    """Book-wide settings of the ledger (base currency)."""

    __tablename__ = "ledger_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Account(Base):
    """A general-ledger account (grootboekrekening)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # asset, liability, equity, income, expense


class Journal(Base):
    """A numbered book of entries (dagboek)."""

    __tablename__ = "journals"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class FiscalYear(Base):
    """A fiscal year (boekjaar) of twelve monthly periods."""

    __tablename__ = "fiscal_years"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    periods: Mapped[list["Period"]] = relationship(back_populates="fiscal_year", order_by="Period.month")


class Period(Base):
    """A monthly period (periode); a locked one takes no postings."""

    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("fiscal_year_id", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year_id: Mapped[int] = mapped_column(ForeignKey("fiscal_years.id"))
    month: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    fiscal_year: Mapped[FiscalYear] = relationship(back_populates="periods")


class PeriodLockChange(Base):
    """One change of a period's `locked` flag: who locked or unlocked it, and when (UTC).

    Append-only (triggers, migration 0014): `period lock` and `period unlock` write one row
    per change, in the change's own transaction, none when nothing changes. A period's flag
    equals its last change (in id order), or is unlocked where it has none, and its changes
    alternate from a lock (or its one `found` row): `check` proves it. `found` rows are not
    changes anyone was seen making: migration 0014 wrote one per period it found locked,
    with no user, at the migration's time."""

    __tablename__ = "period_lock_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    locked: Mapped[bool] = mapped_column(Boolean)
    user_name: Mapped[str | None] = mapped_column(String(128), nullable=True)  # None: found at migration 0014
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    found: Mapped[bool] = mapped_column(Boolean, default=False)


class JournalCounter(Base):
    """The last number and hash per journal and fiscal year.

    Locked (SELECT ... FOR UPDATE; BEGIN IMMEDIATE on SQLite) inside the posting
    transaction, so numbers are gapless and the hash chain is ordered by the same lock.
    """

    __tablename__ = "journal_counters"
    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"), primary_key=True)
    fiscal_year_id: Mapped[int] = mapped_column(ForeignKey("fiscal_years.id"), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")


class Entry(Base):
    """A posted journal entry (boeking): immutable once written."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("journal_id", "fiscal_year_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"))
    fiscal_year_id: Mapped[int] = mapped_column(ForeignKey("fiscal_years.id"))
    number: Mapped[int] = mapped_column(Integer)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(32), default="manual")
    user_name: Mapped[str] = mapped_column(String(128))
    posted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    lines: Mapped[list["EntryLine"]] = relationship(order_by="EntryLine.line_no")


class EntryLine(Base):
    """One debit or credit of an entry, with its sub-ledger dimensions."""

    __tablename__ = "entry_lines"
    __table_args__ = (
        Index("ix_entry_lines_order_line_account", "order_line_id", "account_id"),
        Index("ix_entry_lines_account", "account_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    debit: Mapped[Decimal] = mapped_column(Amount(), default=0)
    credit: Mapped[Decimal] = mapped_column(Amount(), default=0)
    currency: Mapped[str] = mapped_column(String(3))
    amount_currency: Mapped[Decimal] = mapped_column(Amount())
    rate: Mapped[Decimal] = mapped_column(Price())
    partner_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_line_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    document: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[Decimal | None] = mapped_column(Quantity(), nullable=True)
