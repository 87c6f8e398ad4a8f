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
starts empty), so the append-only tables keep their triggers; SQLite cannot drop a
referencing column in place, so the downgrade copies those tables (Alembic's batch mode)
and gives receipts, invoices and stock issues their triggers back.

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
APPEND_ONLY = ("receipts", "invoices", "stock_issues")  # their triggers (0002, 0003) go with a copied table


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
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in POINTING:
        if not sqlite:
            op.drop_column(table, "import_id")
            continue
        if table in APPEND_ONLY:
            drop_triggers(table)
        with op.batch_alter_table(table, schema=None, recreate="always") as batch_op:
            batch_op.drop_column("import_id")
        if table in APPEND_ONLY:
            create_triggers(table)
    drop_triggers(TABLE)
    op.drop_table(TABLE)
