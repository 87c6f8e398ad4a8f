"""Posted means immutable: triggers refuse UPDATE and DELETE (and TRUNCATE) of posted rows.

Journal entries and their lines, and the document and close-out lines they were posted
from, are append-only. Corrections are new entries (reversals, undo), never edits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op

from migrations.append_only import MESSAGE, create_triggers, drop_triggers

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = (
    "entries",
    "entry_lines",
    "receipts",
    "receipt_lines",
    "invoices",
    "invoice_lines",
    "closeout_lines",
    "closeout_entries",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION pledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% (table %, %)', '{MESSAGE}', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
    for table in APPEND_ONLY:
        create_triggers(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_triggers(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS pledger_refuse_change()")
