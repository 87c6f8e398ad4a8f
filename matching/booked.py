"""How far the books go: the latest date of what changes what order lines still expect.

A report of today's state (`report backorders`) counts every document booked, whatever its
date. What it shows is the state on today's date only when nothing is dated after today;
`latest_booked` gives the date to say otherwise.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.models import Closeout
from purchase.models import Receipt


def latest_booked(session: Session) -> dt.date | None:
    """The latest date of a receipt (or return), a close-out or an undo of one, over the
    whole book; None when there is none. One statement."""
    found = session.execute(select(
        select(func.max(Receipt.receipt_date)).scalar_subquery(),
        select(func.max(Closeout.closeout_date)).scalar_subquery(),
        select(func.max(Closeout.undo_date)).scalar_subquery(),
    )).one()
    dates = [d for d in found if d is not None]
    return max(dates) if dates else None
