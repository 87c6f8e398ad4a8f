"""Numbers are never given twice: the counters only go forward, and are never deleted.

A journal's counter (per fiscal year) holds the last entry number given and the last
entry's hash; the close-out counter the last close-out number. No trigger guarded them: a
plain `DELETE FROM journal_counters` or `UPDATE journal_counters SET last_number = 0`
(likewise the close-out counter) was taken, and the next posting took a number already
given: refused by the unique key, on PostgreSQL after five tries as "other writers kept
the database busy". `pledger check` found the counter behind; the database now refuses
the change itself, on SQLite and PostgreSQL: a counter's key never changes, its number
never goes down, and it is never deleted (nor, on PostgreSQL, truncated). Moving a counter
on leaves a gap the check names.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

MESSAGE = "numbers are never given twice: a counter only goes forward and is never deleted"

KEYS = {"journal_counters": ("journal_id", "fiscal_year_id"), "closeout_counter": ("id",)}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            f"""
            CREATE FUNCTION pledger_refuse_counter_back() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% (table %, %)', '{MESSAGE}', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
    for table, keys in KEYS.items():
        moved = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" if postgresql else f"NEW.{c} IS NOT OLD.{c}" for c in keys)
        back = f"{moved} OR NEW.last_number < OLD.last_number"
        if postgresql:
            op.execute(f"CREATE TRIGGER trg_{table}_forward BEFORE UPDATE ON {table} FOR EACH ROW WHEN ({back}) "
                       "EXECUTE FUNCTION pledger_refuse_counter_back()")
            op.execute(f"CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW "
                       "EXECUTE FUNCTION pledger_refuse_counter_back()")
            op.execute(f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION pledger_refuse_counter_back()")
        else:
            op.execute(f"CREATE TRIGGER trg_{table}_forward BEFORE UPDATE ON {table} WHEN {back} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {table}, UPDATE)'); END")
            op.execute(f"CREATE TRIGGER trg_{table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {table}, DELETE)'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in KEYS:
        for name in ("forward", "no_delete") + (("no_truncate",) if postgresql else ()):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS pledger_refuse_counter_back()")
