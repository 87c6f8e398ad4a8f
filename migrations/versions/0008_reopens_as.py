"""What an order goes back to when an undo reopens it: the status it had when it closed.

DOMAIN.md: an undo that reopens a line reopens its order, and a confirmed order can no
longer be edited. An order reopened with nothing received went back to "ordered" (which
can be edited) whatever it was before it closed: a confirmed order, or one on backorder,
lost that. `purchase_orders.reopens_as` keeps the status an order had when it closed
(empty for orders that closed before this revision: they reopen as "ordered", as before).

Added in place (an empty column); on PostgreSQL the roles that may update an order's status
(`ledger/roles.py`, where `pledger db roles` has made them) may update it too, so that their
close-outs and undos go on before `pledger db roles` runs again. The downgrade drops the
column in place on both databases.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("purchase_orders", sa.Column("reopens_as", sa.String(length=20), nullable=True))
    if op.get_bind().dialect.name == "postgresql":  # the roles that may write statuses may write this too
        op.execute("""
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pledger_accountant', 'pledger_auditor', 'pledger_controller'] LOOP
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('GRANT UPDATE (reopens_as) ON purchase_orders TO %I', r);
    END IF;
  END LOOP;
END $$""")


def downgrade() -> None:
    # in place on both (SQLite 3.35 and later, as 0015's downgrade): a copy of the table, as
    # batch mode makes on SQLite, cannot replace one that order lines point at
    op.execute("ALTER TABLE purchase_orders DROP COLUMN reopens_as")
