"""What a posted line points at keeps its meaning: an account's code and kind, a journal's
code, a fiscal year's year and dates, a period's place in its year are never updated.

An entry line names its account, and an entry its journal and fiscal year, by id; the hash
chain covers those ids. Before this migration a plain `UPDATE accounts SET code = '604500'
WHERE code = '340000'` (no trigger in the way) moved every posting on stock to another
account, `UPDATE fiscal_years SET year = 2023` renamed a year's entries, and `pledger
check` passed: the rows it proves had not changed, only what they point at. The program
never changes these columns (an account's name may be corrected; a period's `locked` flag
is what `period lock` changes); the database now refuses it, on SQLite and PostgreSQL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

MESSAGE = "what posted entries point at keeps its meaning: open a new account, journal or year instead"

FIXED = {
    "accounts": ("code", "kind"),
    "journals": ("code",),
    "fiscal_years": ("year", "start_date", "end_date"),
    "periods": ("fiscal_year_id", "month", "start_date", "end_date"),
}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(
            f"""
            CREATE FUNCTION pledger_refuse_rekey() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% (table %, %)', '{MESSAGE}', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
    for table, columns in FIXED.items():
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" if postgresql else f"NEW.{c} IS NOT OLD.{c}"
                              for c in columns)
        if postgresql:
            op.execute(f"CREATE TRIGGER trg_{table}_fixed_keys BEFORE UPDATE OF {', '.join(columns)} ON {table} "
                       f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION pledger_refuse_rekey()")
        else:
            op.execute(f"CREATE TRIGGER trg_{table}_fixed_keys BEFORE UPDATE OF {', '.join(columns)} ON {table} "
                       f"WHEN {changed} BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {table}, UPDATE)'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in FIXED:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_fixed_keys" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS pledger_refuse_rekey()")
