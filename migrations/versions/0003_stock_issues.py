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

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "stock_issues"
MESSAGE = "posted rows are immutable: correct them with a new entry, never an edit"


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

    if op.get_bind().dialect.name == "postgresql":
        # pledger_refuse_change() was created by 0002
        op.execute(
            f"CREATE TRIGGER trg_{TABLE}_immutable BEFORE UPDATE OR DELETE ON {TABLE} "
            f"FOR EACH ROW EXECUTE FUNCTION pledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER trg_{TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION pledger_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {TABLE}, {action})'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_immutable ON {TABLE}")
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_no_truncate ON {TABLE}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_no_{action}")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_issues_item_id"))
    op.drop_table(TABLE)
