"""The import log: who imported which file, and when; every imported row points at it.

CLI.md: the acting user (`--user`) is stored on every import. Receipts and invoices kept
their user already, but suppliers, items and orders kept none. Each `pledger import` now
writes one row of `imports` (kind, the file as given, its SHA-256, user, time)
before anything else, in the import's own transaction, so a refused import leaves none;
the suppliers and items it creates or changes, and the orders, receipts, invoices and
stock issues it creates, point at it (`import_id`, empty for rows made otherwise: `po
receive`, proposed orders, books from before this revision).

`imports` is append-only, as the documents (0002). The new columns are added in place
(`ALTER TABLE ... ADD COLUMN ... REFERENCES`, which both databases take for a column that
starts empty), so the append-only tables keep their triggers. The downgrade drops them in
place on both databases too (SQLite 3.35 and later takes a column whose REFERENCES is its
own column constraint, as these are), as 0008's and 0015's downgrades do: the copy of each
table that Alembic's batch mode made on SQLite could not replace one that other tables point
at ("FOREIGN KEY constraint failed" on any book with documents, rolled back), and the
append-only tables keep their triggers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

from migrations.append_only import create_triggers, drop_triggers

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "imports"
POINTING = ("suppliers", "items", "purchase_orders", "receipts", "invoices", "stock_issues")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    create_triggers(TABLE)
    for table in POINTING:
        op.execute(f"ALTER TABLE {table} ADD COLUMN import_id INTEGER "
                   f"CONSTRAINT fk_{table}_import_id_imports REFERENCES {TABLE} (id)")


def downgrade() -> None:
    # in place on both (its foreign key goes with it): a copy of the table, as batch mode
    # makes on SQLite, cannot replace one that order lines or document lines point at
    for table in POINTING:
        op.execute(f"ALTER TABLE {table} DROP COLUMN import_id")
    drop_triggers(TABLE)
    op.drop_table(TABLE)
