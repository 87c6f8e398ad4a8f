"""Batch writes through SQLAlchemy Core, never the ORM unit of work row by row.

Measured here, the ORM's bulk paths with RETURNING fall back to a statement per row;
Core's `insertmanyvalues` sends a few multi-row statements instead.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session


def insert_rows(session: Session, model, rows: Sequence[dict]) -> None:
    if rows:
        session.execute(insert(model.__table__), list(rows))


def insert_returning_ids(session: Session, model, rows: Sequence[dict]) -> list[int]:
    """Insert rows; their new ids in the order of `rows`."""
    if not rows:
        return []
    table = model.__table__
    return list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)).scalars())


def update_by_id(session: Session, model, rows: Sequence[dict]) -> None:
    """UPDATE ... WHERE id = :id for each row (one executemany); rows share their keys."""
    if not rows:
        return
    table = model.__table__
    columns = [k for k in rows[0] if k != "id"]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id", type_=table.c.id.type))
        .values({c: bindparam(f"_{c}", type_=table.c[c].type) for c in columns})
    )
    session.execute(stmt, [{"_id": r["id"], **{f"_{c}": r[c] for c in columns}} for r in rows])
