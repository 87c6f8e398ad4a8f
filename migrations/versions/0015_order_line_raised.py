"""Order lines keep what their raises added: `order_lines.raised`.

`po raise` overwrites a line's ordered quantity and records the raise (0009's append-only
`order_line_raises`: from, to, who, why). `check` proved the raises follow on from one
another and that the newest left the line's quantity, but nothing in the book kept what a
line was ordered before its first raise: its only or oldest raise deleted (the trigger
dropped), or a raise INSERTed on a line never raised (the triggers allow an INSERT), left a
book that held together, and `po show` listed the raise by whoever the row named (audit of
6 December 2026). Each line now keeps the sum its raises added, written with each raise
in the same UPDATE as the quantity (`purchase.orders.raise_lines`), and `check` ties it to
the raises on every line (`purchase.checks.check_raises`). As the raises run on from one
another, that also proves where the first one started.

The past: filled from the raises there are. A raise deleted before this migration stays
unseen; none of it is made up. The column is added in place (no table rebuilt: SQLite's
references to order_lines stay as they are); the accountant's table-wide UPDATE on
order_lines (`pledger db roles`) covers it on PostgreSQL.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE order_lines ADD COLUMN raised BIGINT NOT NULL DEFAULT 0")  # stored millionths, as quantity
    op.execute("UPDATE order_lines SET raised = (SELECT coalesce(sum(r.ordered_after - r.ordered_before), 0) "
               "FROM order_line_raises r WHERE r.order_line_id = order_lines.id) "
               "WHERE id IN (SELECT order_line_id FROM order_line_raises)")


def downgrade() -> None:
    op.execute("ALTER TABLE order_lines DROP COLUMN raised")
