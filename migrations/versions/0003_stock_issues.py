"""Stock issues and reservations (`pledger import issues`), for the reorder proposal.

Quantities are BIGINT scaled integers (ledger.types.Quantity, 6 decimals). The table is
append-only like the posted documents of 0002: corrections are new rows with the
opposite quantity, never edits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa

from migrations.append_only import create_triggers, drop_triggers

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "stock_issues"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.CheckConstraint("kind IN ('issue', 'reservation')", name=op.f("ck_stock_issues_kind")),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_stock_issues_item_id_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_issues")),
        sa.UniqueConstraint("number", "line_no", name=op.f("uq_stock_issues_number")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_issues_item_id"), ["item_id"], unique=False)

    create_triggers(TABLE)


def downgrade() -> None:
    drop_triggers(TABLE)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_issues_item_id"))
    op.drop_table(TABLE)
