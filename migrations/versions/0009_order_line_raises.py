"""Order lines raised for an over-delivery, each raise recorded.

DOMAIN.md: a receipt or invoice beyond what a line still expects is refused, and
"over-delivery needs the order line raised first". `pledger po raise` raises a line's
ordered quantity and records here who raised it, when, from what to what and why
(`purchase.models.OrderLineRaise`). Append-only, as the documents (0002): quantities are
BIGINT scaled integers (ledger.types). Its reference to the order line is an ordinary
foreign key: raises are few.

On PostgreSQL, where `pledger db roles` has made the roles, they may read it and the
accountant may write it, so that raises go on before `pledger db roles` runs again (it
grants the same: INSERT on append-only tables to the accountant).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

from migrations.append_only import create_triggers, drop_triggers

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "order_line_raises"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("ordered_before", sa.BigInteger(), nullable=False),
        sa.Column("ordered_after", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"], name=op.f("fk_order_line_raises_order_line_id_order_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_raises")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_raises_order_line_id"), ["order_line_id"], unique=False)
    create_triggers(TABLE)
    if op.get_bind().dialect.name == "postgresql":  # the roles, where they exist: read it; the accountant writes it
        op.execute(f"""
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pledger_accountant', 'pledger_auditor', 'pledger_controller'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('GRANT SELECT ON {TABLE} TO %I', r);
      EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE {TABLE}_id_seq TO %I', r);
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pledger_accountant') THEN
    GRANT INSERT ON {TABLE} TO pledger_accountant;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'order_lines'
             AND tableowner = 'pledger_owner') THEN  -- this book's roles are made: the owner owns it, as the rest
    ALTER TABLE {TABLE} OWNER TO pledger_owner;
  END IF;
END $$""")


def downgrade() -> None:
    drop_triggers(TABLE)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_line_raises_order_line_id"))
    op.drop_table(TABLE)
