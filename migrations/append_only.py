"""The triggers that make a table append-only, as the migrations create and drop them.

A posted row is never updated or deleted (nor, on PostgreSQL, truncated): the database
refuses it with MESSAGE, naming the table and the action. PostgreSQL calls
`pledger_refuse_change()`, created by migration 0002; SQLite raises in the trigger itself.
Migrations 0002, 0003 and 0006 call these; what they create must stay as it is, since
databases already hold it.
"""

from alembic import op

MESSAGE = "posted rows are immutable: correct them with a new entry, never an edit"


def create_triggers(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER trg_{table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION pledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION pledger_refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER trg_{table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} (table {table}, {action})'); END"
            )


def drop_triggers(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_immutable ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON {table}")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_no_{action}")
