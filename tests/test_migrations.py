"""The schema exists only through the migrations: up, down and up again on both databases."""

from sqlalchemy import inspect

from ledger.db import make_engine
from migrations import runner


def test_upgrade_downgrade_upgrade(fresh_url):
    engine = make_engine(fresh_url)
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"entries", "entry_lines", "order_lines", "closeouts"} <= tables
    runner.downgrade(engine, "base")
    assert runner.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    runner.upgrade(engine)
    assert runner.current_revision(engine) == runner.head_revision()
    engine.dispose()


def test_constraint_names_follow_the_naming_convention(fresh_url):
    engine = make_engine(fresh_url)
    runner.upgrade(engine)
    inspector = inspect(engine)
    uniques = {u["name"] for u in inspector.get_unique_constraints("entries")}
    assert "uq_entries_journal_id" in uniques
    fks = {f["name"] for f in inspector.get_foreign_keys("entry_lines")}
    assert "fk_entry_lines_account_id_accounts" in fks
    engine.dispose()
