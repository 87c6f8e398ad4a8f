"""A close-out's record stays as it ran, and its undo as it was made.

A close-out row says who ran it, when, on which date it posted and what it selected
(DOMAIN.md: "the run records who, when, the selection"), and once undone, who undid it,
when and at which date. The hash chain covers the entries, not this row, and no trigger
guarded it: a plain `UPDATE closeouts SET user_name = 'mallory', closeout_date =
'2026-01-01'` (or `undone_by = ...` on an undone one), on SQLite or on PostgreSQL as the
tables' owner, rewrote the record `closeout list` and `closeout show` give an auditor, and
`pledger check` passed. The program writes the row once and, on an undo, sets the undone
columns once; the database now refuses any other change, a delete and a TRUNCATE.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MESSAGE = "the record of a close-out stays as it ran and its undo as it was made: undo a close-out, never edit or delete it"

FIXED = ("id", "number", "closeout_date", "user_name", "run_at", "selection")
UNDONE = ("undone_by", "undone_at", "undo_date")


def _changed(columns, postgresql: bool) -> str:
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" if postgresql else f"NEW.{c} IS NOT OLD.{c}"
                       for c in columns)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    undone = " OR ".join(f"OLD.{c} IS NOT NULL" for c in UNDONE)
    when = f"{_changed(FIXED, postgresql)} OR (({undone}) AND ({_changed(UNDONE, postgresql)}))"
    if postgresql:
        op.execute(
            f"""
            CREATE FUNCTION pledger_refuse_closeout_edit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% (table %, %)', '{MESSAGE}', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
        op.execute(f"CREATE TRIGGER trg_closeouts_kept BEFORE UPDATE ON closeouts FOR EACH ROW WHEN ({when}) "
                   "EXECUTE FUNCTION pledger_refuse_closeout_edit()")
        op.execute("CREATE TRIGGER trg_closeouts_no_delete BEFORE DELETE ON closeouts FOR EACH ROW "
                   "EXECUTE FUNCTION pledger_refuse_closeout_edit()")
        op.execute("CREATE TRIGGER trg_closeouts_no_truncate BEFORE TRUNCATE ON closeouts FOR EACH STATEMENT "
                   "EXECUTE FUNCTION pledger_refuse_closeout_edit()")
    else:
        op.execute(f"CREATE TRIGGER trg_closeouts_kept BEFORE UPDATE ON closeouts WHEN {when} "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table closeouts, UPDATE)'); END")
        op.execute("CREATE TRIGGER trg_closeouts_no_delete BEFORE DELETE ON closeouts "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table closeouts, DELETE)'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("kept", "no_delete") + (("no_truncate",) if postgresql else ()):
        op.execute(f"DROP TRIGGER IF EXISTS trg_closeouts_{name}" + (" ON closeouts" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS pledger_refuse_closeout_edit()")
