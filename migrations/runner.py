"""Running the Alembic migrations from code (`pledger init`, the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from ledger.db import marked_commit
from migrations import NewerSchema, is_newer

HERE = Path(__file__).resolve().parent
# The key of the PostgreSQL advisory lock every schema change takes first ("pldg"): two
# `pledger init` at once on one database queue on it, and the second finds the schema the
# first made (on SQLite, BEGIN IMMEDIATE queues them already).
SCHEMA_LOCK = 0x706C6467


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return config


def _with_connection(engine: Engine, fn):
    with engine.connect() as connection, connection.begin() as transaction:
        if connection.dialect.name == "postgresql":
            # held to the commit: a concurrent init waits here, then reads the revision this one left
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        config = alembic_config()
        config.attributes["connection"] = connection
        result = fn(config, connection)
        with marked_commit():
            transaction.commit()
        return result


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to `revision`; the revisions before and after, read under the schema lock."""

    def run(config, connection):
        before = MigrationContext.configure(connection).get_current_revision()
        if is_newer(before):
            raise NewerSchema(before)
        command.upgrade(config, revision)
        return before, MigrationContext.configure(connection).get_current_revision()

    return _with_connection(engine, run)


def downgrade(engine: Engine, revision: str = "base") -> None:
    _with_connection(engine, lambda config, connection: command.downgrade(config, revision))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
