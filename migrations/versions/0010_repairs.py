"""Repairs for books that ran an earlier text of migrations 0006 and 0007.

Both were changed after books had already run them (a migration that ran is never run
again, so those books kept the earlier text's schema):

- 0007 at first gave `import_id` to suppliers, items, orders, receipts and invoices, not
  to stock issues. Such a book failed `check` ("no such column: stock_issues.import_id")
  and refused every `import issues`. The column is added where it is missing.
- 0006 at first kept no `write_offs_recorded_after_entry` (the last entry posted before
  write-offs on arrival were recorded). Without it, `check` and the undo took every
  write-off on arrival for recorded: a book with unrecorded ones failed `check`, and their
  undo gave nothing back. It is worked out where it is missing: the entry before the
  first receipt or invoice that has a recorded write-off (every one since 0006 ran is
  recorded; every one before is not), or, where none is recorded, the last entry.
- 0006 and 0007 made their tables without grants: on PostgreSQL, roles made by `pledger
  db roles` before them could not read `imports` or `write_offs_on_arrival` (every
  role's `check` refused) nor write them (the accountant's imports refused). Here every
  application role reads them and the accountant writes them, as 0008 and 0009 do for
  theirs; the owner gets them where it owns the rest. `pledger db roles` grants the rest
  (an undo by the auditor that gives back a write-off on arrival needs it).

Each repair changes nothing on a book that ran the final texts, or began since.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BOUNDARY = "write_offs_recorded_after_entry"  # as 0006 names it


def upgrade() -> None:
    bind = op.get_bind()
    if "import_id" not in {c["name"] for c in sa.inspect(bind).get_columns("stock_issues")}:
        op.execute("ALTER TABLE stock_issues ADD COLUMN import_id INTEGER "
                   "CONSTRAINT fk_stock_issues_import_id_imports REFERENCES imports (id)")
    if bind.execute(sa.text("SELECT count(*) FROM ledger_settings WHERE key = :k"), {"k": BOUNDARY}).scalar() == 0:
        first_recorded = bind.execute(sa.text(
            "SELECT min(entry_id) FROM ("
            " SELECT r.entry_id FROM receipts r JOIN write_offs_on_arrival w ON w.document = 'receipt ' || r.number"
            " UNION ALL SELECT i.entry_id FROM invoices i JOIN write_offs_on_arrival w ON w.document = 'invoice ' || i.number"
            ") d")).scalar()  # the documents as the records name them (purchase.documents)
        if first_recorded is None:
            boundary = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM entries")).scalar()
        else:
            boundary = first_recorded - 1
        bind.execute(sa.text("INSERT INTO ledger_settings (key, value) VALUES (:k, :v)"), {"k": BOUNDARY, "v": str(boundary)})
    if bind.dialect.name == "postgresql":
        op.execute("""
DO $$
DECLARE r text; t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['imports', 'write_offs_on_arrival'] LOOP
    FOREACH r IN ARRAY ARRAY['pledger_accountant', 'pledger_auditor', 'pledger_controller'] LOOP
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        EXECUTE format('GRANT SELECT ON %I TO %I', t, r);
        EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO %I', t || '_id_seq', r);
      END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pledger_accountant') THEN
      EXECUTE format('GRANT INSERT ON %I TO pledger_accountant', t);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'order_lines'
               AND tableowner = 'pledger_owner') THEN
      EXECUTE format('ALTER TABLE %I OWNER TO pledger_owner', t);
    END IF;
  END LOOP;
END $$""")


def downgrade() -> None:
    """Nothing to undo: what this adds is what 0006 and 0007 give a book now."""
