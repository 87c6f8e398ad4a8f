"""PostgreSQL: the references of the rows written in bulk checked once a statement, not once a row.

A foreign key on PostgreSQL checks every inserted row by itself: one lookup of the
referenced row and one row lock (FOR KEY SHARE) a row. For the close-out's writes (its
entries, their lines, its close-out lines and their links) those checks were about half
of the server's time: a run of 100,000 order lines wrote 87,170 entry lines, checking two
references each, and 60,228 close-out lines, checking two each.

This revision replaces those eight foreign keys (`REFERENCES`) with checks the database
makes once a statement, over all the rows the statement inserted (an AFTER INSERT ...
FOR EACH STATEMENT trigger with the inserted rows as a transition table), and with
triggers on the referenced tables that refuse what a foreign key refuses:

- **inserting** a row whose reference is missing: `foreign_key_violation` (SQLSTATE 23503,
  as a foreign key raises it, naming the constraint it replaces), and nothing of the
  statement is written.
- **deleting** a referenced row, or **changing its id**: refused (23503) while any row
  points at it; deletes of rows nothing points at still work. The delete first locks each
  table that may point at the row (SHARE mode): it waits for every transaction that is
  inserting into those tables to end, and keeps new ones out until it ends itself, so it
  sees every row that points at it. That is what a foreign key's row lock (FOR KEY SHARE)
  on every referenced row protects against; here the rare delete pays for it, not each
  inserted row. Inserts in a REPEATABLE READ or SERIALIZABLE transaction, whose snapshot
  may predate such a delete, still lock the rows they point at (FOR KEY SHARE), once per
  referenced row and statement. Rows of `entries` are never locked: they can never be
  deleted or changed (0002).
- **TRUNCATE** of a referenced table while any row points into it: refused.
- A delete, id change or TRUNCATE of a referenced table inside a REPEATABLE READ or
  SERIALIZABLE transaction is refused outright: such a transaction cannot see a row that
  another transaction inserted and committed after it began, so it could not tell whether
  the row it removes is still referenced. pledger itself deletes none of these rows and
  runs READ COMMITTED; the refusal is for hand-written SQL.

The checks run with the rights of the functions' owner, as a foreign key's do (SECURITY
DEFINER, with the search path of the migration): a role that may insert into `entry_lines`
need not be allowed to lock `accounts`, and one that may change an order line need not be
allowed to lock `closeout_lines`. `pledger db roles` gives them to pledger_owner.

Rows of the four tables are never updated (0002 refuses it), so their inserts are all
there is to check on their side; they are checked at the end of each statement, as the
non-deferrable foreign keys were. The tables keep their indexes. SQLite keeps its foreign
keys: it checks them at about the speed of the floor (docs/benchmarks.md, "The schema
floor").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""
import textwrap

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

#: (table, column, referenced table): each was the foreign key fk_<table>_<column>_<referenced>
REFERENCES = (
    ("entries", "journal_id", "journals"),
    ("entries", "fiscal_year_id", "fiscal_years"),
    ("entry_lines", "entry_id", "entries"),
    ("entry_lines", "account_id", "accounts"),
    ("closeout_lines", "closeout_id", "closeouts"),
    ("closeout_lines", "order_line_id", "order_lines"),
    ("closeout_entries", "closeout_id", "closeouts"),
    ("closeout_entries", "entry_id", "entries"),
)
#: referenced tables whose rows are never updated or deleted (0002 refuses it): nothing to lock
IMMUTABLE = frozenset({"entries"})


def constraint_name(table: str, column: str, referenced: str) -> str:
    return f"fk_{table}_{column}_{referenced}"


def _tables(position: int) -> list[str]:
    return list(dict.fromkeys(reference[position] for reference in REFERENCES))


def _check_column(table: str, column: str, referenced: str) -> str:
    """PL/pgSQL: raise 23503 if a row of `new_rows` points at no row of `referenced`."""
    missing = (f"SELECT n.{column} INTO missing FROM new_rows n WHERE n.{column} IS NOT NULL "
               f"AND NOT EXISTS (SELECT 1 FROM {referenced} p WHERE p.id = n.{column}) LIMIT 1;")
    violation = (f"RAISE EXCEPTION 'insert or update on table \"%\" violates foreign key constraint \"%\"', "
                 f"TG_TABLE_NAME, '{constraint_name(table, column, referenced)}' USING ERRCODE = 'foreign_key_violation', "
                 f"DETAIL = format('Key ({column})=(%s) is not present in table \"{referenced}\".', missing);")
    found = f"""
  {missing}
  IF FOUND THEN
    {violation}
  END IF;"""
    if referenced in IMMUTABLE:
        return found
    return f"""
  IF current_setting('transaction_isolation') = 'read committed' THEN{textwrap.indent(found, "  ")}
  ELSE
    SELECT count(DISTINCT n.{column}) INTO wanted FROM new_rows n;
    SELECT count(*) INTO locked FROM (SELECT 1 FROM {referenced} p WHERE p.id IN (SELECT n.{column} FROM new_rows n)
                                      FOR KEY SHARE OF p) AS kept;
    IF locked <> wanted THEN
      {missing}
      {violation}
    END IF;
  END IF;"""


def _check_function(table: str) -> str:
    checks = "".join(_check_column(t, c, r) for t, c, r in REFERENCES if t == table)
    return f"""
CREATE FUNCTION pledger_references_{table}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  wanted bigint;
  locked bigint;
  missing text;
BEGIN{checks}
  RETURN NULL;
END $$;
"""


KEEP_REFERENCED = """
CREATE FUNCTION pledger_keep_referenced() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  i int := 0;
  hit boolean;
BEGIN
  -- TG_ARGV: pairs of (table, column) that point at this table's id
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION '% on table "%", whose rows ledger rows point at, runs only in a READ COMMITTED transaction',
      TG_OP, TG_TABLE_NAME USING ERRCODE = 'object_not_in_prerequisite_state',
      HINT = 'A REPEATABLE READ or SERIALIZABLE transaction cannot see every row that points at it.';
  END IF;
  WHILE i < TG_NARGS LOOP
    IF TG_OP = 'TRUNCATE' THEN
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', TG_ARGV[i]) INTO hit;
    ELSE
      -- waits for every transaction that is inserting into it, and keeps new ones out
      EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[i]);
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[i], TG_ARGV[i + 1]) INTO hit USING OLD.id;
    END IF;
    IF hit THEN
      RAISE EXCEPTION 'update or delete on table "%" violates foreign key constraint "%" on table "%"',
        TG_TABLE_NAME, format('fk_%s_%s_%s', TG_ARGV[i], TG_ARGV[i + 1], TG_TABLE_NAME), TG_ARGV[i]
        USING ERRCODE = 'foreign_key_violation',
        DETAIL = CASE WHEN TG_OP = 'TRUNCATE' THEN format('Table "%s" points at it.', TG_ARGV[i])
                      ELSE format('Key (id)=(%s) is still referenced from table "%s".', OLD.id, TG_ARGV[i]) END;
    END IF;
    i := i + 2;
  END LOOP;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, referenced in REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint_name(table, column, referenced)}")
    for table in _tables(0):
        op.execute(_check_function(table))
        op.execute(f"CREATE TRIGGER trg_{table}_references AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION pledger_references_{table}()")
    op.execute(KEEP_REFERENCED)
    for referenced in _tables(2):
        if referenced in IMMUTABLE:
            continue  # 0002 refuses every UPDATE, DELETE and TRUNCATE of it
        pointing = ", ".join(f"'{t}', '{c}'" for t, c, r in REFERENCES if r == referenced)
        op.execute(f"CREATE TRIGGER trg_{referenced}_keep_referenced_delete AFTER DELETE ON {referenced} "
                   f"FOR EACH ROW EXECUTE FUNCTION pledger_keep_referenced({pointing})")
        op.execute(f"CREATE TRIGGER trg_{referenced}_keep_referenced_id AFTER UPDATE OF id ON {referenced} "
                   f"FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION pledger_keep_referenced({pointing})")
        op.execute(f"CREATE TRIGGER trg_{referenced}_keep_referenced_truncate BEFORE TRUNCATE ON {referenced} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION pledger_keep_referenced({pointing})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for referenced in _tables(2):
        if referenced in IMMUTABLE:
            continue
        for suffix in ("delete", "id", "truncate"):
            op.execute(f"DROP TRIGGER trg_{referenced}_keep_referenced_{suffix} ON {referenced}")
    op.execute("DROP FUNCTION pledger_keep_referenced()")
    for table in _tables(0):
        op.execute(f"DROP TRIGGER trg_{table}_references ON {table}")
        op.execute(f"DROP FUNCTION pledger_references_{table}()")
    for table, column, referenced in REFERENCES:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint_name(table, column, referenced)} "
                   f"FOREIGN KEY ({column}) REFERENCES {referenced} (id)")
