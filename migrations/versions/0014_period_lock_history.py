"""Period locks keep their history: who locked or unlocked a period, and when.

A period's `locked` flag was all the books kept: who locked or unlocked it, and when, was
lost, and an unlock followed by postings and a lock again left no trace but the entries'
dates; a flag changed around pledger (`UPDATE periods SET locked = false`) passed `check`.
`period_lock_changes` now holds one row per change `period lock` or `period unlock`
makes (the period, locked or not, the acting user, the time in UTC), written in the
change's own transaction (`ledger.periods.set_locked`). The database refuses an UPDATE
or DELETE of a row (and, on PostgreSQL, a TRUNCATE), as 0012 and 0013 do for theirs; and
`check` proves each period's flag equals its last change (or unlocked, where it has none).

The past: what happened before this migration is not known, and none of it is made up.
For each period found locked, one row says so: `found` true, no user, locked, at the time
of this migration: "found locked when the history began", not a lock anyone was seen
making. A period found unlocked gets none: it is as it was opened. So every period's
flag is proven from here on, those locked before this migration as well.

On PostgreSQL, where `pledger db roles` has made the roles, they may read it and the
accountant (who locks periods) may write it, as 0009 does for its table; `pledger db
roles` grants the same (`ledger.roles.ACCOUNTANT_WRITES`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLE = "period_lock_changes"
MESSAGE = "the history of period locks stays as it happened: lock or unlock the period again, never edit or delete a change"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["period_id"], ["periods.id"], name=op.f("fk_period_lock_changes_period_id_periods")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_lock_changes")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_period_lock_changes_period_id"), ["period_id"], unique=False)
    # the periods found locked, as found (the time as stored: UTC, without a zone; ledger.clock)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        f"INSERT INTO {TABLE} (period_id, locked, user_name, changed_at, found) "
        "SELECT id, :true, NULL, :now, :true FROM periods WHERE locked ORDER BY id"), {"true": True, "now": now})
    if postgresql:
        op.execute(
            f"""
            CREATE FUNCTION pledger_refuse_lock_history_edit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% (table %, %)', '{MESSAGE}', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            """
        )
        op.execute(f"CREATE TRIGGER trg_{TABLE}_kept BEFORE UPDATE OR DELETE ON {TABLE} FOR EACH ROW "
                   "EXECUTE FUNCTION pledger_refuse_lock_history_edit()")
        op.execute(f"CREATE TRIGGER trg_{TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} FOR EACH STATEMENT "
                   "EXECUTE FUNCTION pledger_refuse_lock_history_edit()")
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
  IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'periods'
             AND tableowner = 'pledger_owner') THEN  -- this book's roles are made: the owner owns it, as the rest
    ALTER TABLE {TABLE} OWNER TO pledger_owner;
    ALTER FUNCTION pledger_refuse_lock_history_edit() OWNER TO pledger_owner;
  END IF;
END $$""")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER trg_{TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {TABLE}, {action})'); END")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    names = ("kept", "no_truncate") if postgresql else ("no_update", "no_delete")
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_{name}" + (f" ON {TABLE}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS pledger_refuse_lock_history_edit()")
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_lock_changes_period_id"))
    op.drop_table(TABLE)
