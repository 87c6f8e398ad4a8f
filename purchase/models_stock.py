"""Stock issues and reservations: what leaves the warehouse, or is promised to leave it.

One row per line of an issue document (`pledger import issues`). An *issue* lowers
physical stock; a *reservation* lowers available stock only. Rows are append-only (the
migration's triggers refuse UPDATE and DELETE, as for posted documents): a mistake is
corrected by a new document with the opposite quantity (a return to stock, a released
reservation). Quantities are exact scaled integers (`ledger.types.Quantity`).

Physical stock itself is not stored: `purchase.reorder` derives it from the receipt
lines of the item's order lines, less the issues.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import Base
from ledger.types import Quantity

KINDS = ("issue", "reservation")


class StockIssue(Base):
    """One line of a stock issue (uitgifte) or reservation (reservering)."""

    __tablename__ = "stock_issues"
    __table_args__ = (
        UniqueConstraint("number", "line_no"),
        CheckConstraint("kind IN ('issue', 'reservation')", name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64))
    line_no: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    user_name: Mapped[str] = mapped_column(String(128))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"), nullable=True)  # the import that made it
