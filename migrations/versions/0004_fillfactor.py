"""PostgreSQL: leave room on the pages of the rows whose state changes (HOT updates).

Order lines change state with every receipt, invoice, close-out, trial and undo, and
orders change status; the columns that change are in no index. With every page filled
(PostgreSQL's default fillfactor of 100) each such UPDATE writes the new row version to
another page and a new entry into every index of the table, so a close-out followed by
its undo reads through index entries and dead row versions left behind by the run and
by every rolled-back trial. With room left on the page, PostgreSQL keeps the new
version on the same page without new index entries (a heap-only tuple) and prunes the
dead versions as it goes.

Takes effect for pages written from now on; an existing database gets it for the rows
it rewrites (VACUUM FULL rewrites all). SQLite updates rows in place: nothing to do.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FILLFACTOR = {"order_lines": 70, "purchase_orders": 80}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, percent in FILLFACTOR.items():
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLFACTOR:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
