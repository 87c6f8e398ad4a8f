"""Write-offs on arrival, recorded against the close-out they belong to.

A close-out may lower to invoice below what is still to receive, or the other way round;
the goods (or invoices) that then arrive are written off at once by their receipt (or
invoice), posted to uninvoiced receipts (or unreceived invoices). This table records each
such write-off with the close-out that caused it, so that undoing the close-out gives
them back exactly (`purchase.models.WriteOffOnArrival`). Before it, such an undo was
refused; write-offs posted before this revision are not recorded, and an undo that would
have to give them back is still refused (`matching.closeout`). The last entry posted before
it is kept (ledger setting `write_offs_recorded_after_entry`): `check` asks a record of
every write-off on arrival posted after it.

Append-only, as the documents they come with (0002): quantities and amounts are BIGINT
scaled integers (ledger.types). Its two references are ordinary foreign keys: rows are
few (one a document line that writes off), so nothing is gained by checking them once a
statement (0005).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

from migrations.append_only import create_triggers, drop_triggers

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLE = "write_offs_on_arrival"
BOUNDARY = "write_offs_recorded_after_entry"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("closeout_number", sa.Integer(), nullable=True),
        sa.Column("document", sa.String(length=64), nullable=False),
        sa.Column("uninvoiced_units", sa.BigInteger(), nullable=False),
        sa.Column("unreceived_units", sa.BigInteger(), nullable=False),
        sa.Column("uninvoiced_amount", sa.BigInteger(), nullable=False),
        sa.Column("unreceived_amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["order_line_id"], ["order_lines.id"], name=op.f("fk_write_offs_on_arrival_order_line_id_order_lines")),
        sa.ForeignKeyConstraint(["closeout_number"], ["closeouts.number"], name=op.f("fk_write_offs_on_arrival_closeout_number_closeouts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_offs_on_arrival")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index("ix_write_offs_on_arrival_order_line", ["order_line_id", "closeout_number"], unique=False)

    create_triggers(TABLE)
    # the last entry posted before write-offs on arrival were recorded: `check` does not ask
    # a record of the ones posted up to it (purchase.write_offs.unrecorded_until)
    op.execute(f"INSERT INTO ledger_settings (key, value) SELECT '{BOUNDARY}', CAST(coalesce(max(id), 0) AS VARCHAR(255)) FROM entries")


def downgrade() -> None:
    op.execute(f"DELETE FROM ledger_settings WHERE key = '{BOUNDARY}'")
    drop_triggers(TABLE)
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index("ix_write_offs_on_arrival_order_line")
    op.drop_table(TABLE)
