"""What the rows written in bulk point at is checked by the database, on both databases.

SQLite checks them with its foreign keys. On PostgreSQL, migration 0005 checks the eight
references of the close-out's tables once a statement, and the referenced tables refuse
what a foreign key refuses (`migrations/versions/0005_references_per_statement.py`). These
tests hold both to the same behaviour: a row pointing at nothing is refused with nothing
of its statement written, through a COPY, a single INSERT and an executemany; a row that
something points at is neither deleted nor given another id, while one that nothing points
at can be deleted; and on PostgreSQL the races a foreign key's row locks guard against.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from ledger import bulk
from ledger.check import EXAMPLES, check_references, foreign_keys
from ledger.models import Base
from purchase.checks import LEDGER_LINE_REFERENCES
from tests.builders import invoice, item, order, receive, supplier

migration = importlib.import_module("migrations.versions.0005_references_per_statement")

MISSING = 999_999
FRESH = 9_001  # ids far above what the small book uses


def table(name: str):
    return Base.metadata.tables[name]


def model(name: str):
    return next(m.class_ for m in Base.registry.mappers if m.local_table.name == name)


def count(connection, name: str) -> int:
    return connection.execute(select(func.count()).select_from(table(name))).scalar_one()


@pytest.fixture
def closed(books):
    """A small book with one close-out: every table of `REFERENCES` holds rows."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "100.00"), ("BOLT", 5, "20.00"))
        receive(s, "PO-1", 1, 10)
        invoice(s, "PO-1", 1, 4)
    result = books.cli("closeout", "run", "--close-fully", "--date", "2026-06-30")
    assert result.exit_code == 0, result.output
    return books


UNIQUE = {"entries": "number", "order_lines": "line_no", "closeouts": "number"}  # besides the id


def a_copy(connection, name: str, *, nth: int = 0, **overrides) -> dict:
    """An existing row of `name` as a dict of its values, with `overrides`, made the `nth`
    new row where the table asks for unique values (a new id; a new number or line number)."""
    row = dict(connection.execute(select(table(name)).limit(1)).mappings().one())
    if "id" in row:
        row["id"] = connection.execute(select(func.max(table(name).c.id))).scalar_one() + 1 + nth
    if name in UNIQUE:
        row[UNIQUE[name]] += 100_000 + nth
    row.update(overrides)
    return row


def refused_as_missing(exc: BaseException, books, name: str, column: str, referenced: str) -> None:
    assert isinstance(exc, IntegrityError), exc
    if books.dialect == "postgresql":
        assert f'"{migration.constraint_name(name, column, referenced)}"' in str(exc)
        assert f"Key ({column})=({MISSING}) is not present" in str(exc)
    else:
        assert "FOREIGN KEY constraint failed" in str(exc)


REFERENCES = [pytest.param(*reference, id=f"{reference[0]}.{reference[1]}") for reference in migration.REFERENCES]


@pytest.mark.parametrize("name, column, referenced", REFERENCES)
@pytest.mark.parametrize("how", ["copy", "executemany", "insert"])
def test_a_row_pointing_at_nothing_is_refused_and_nothing_of_it_is_written(closed, monkeypatch, name, column, referenced, how):
    monkeypatch.setattr(bulk, "COPY_FROM", 1 if how == "copy" else 1_000)
    with closed.engine.connect() as connection:
        before = count(connection, name)
        good = a_copy(connection, name)
        bad = a_copy(connection, name, nth=1, **{column: MISSING})
    # closeout_entries: its key is its two references, so a good copy would be the same row again
    rows = [bad] if name == "closeout_entries" else [good, bad]
    with pytest.raises(DBAPIError) as raised:
        with closed.session() as s:
            if how == "insert":
                s.execute(table(name).insert(), rows[-1])
            else:
                bulk.insert_rows(s, model(name), rows)
    refused_as_missing(raised.value, closed, name, column, referenced)
    with closed.engine.connect() as connection:
        assert count(connection, name) == before


def test_one_row_pointing_at_nothing_among_hundreds_refuses_the_whole_copy(closed):
    """Above `COPY_FROM` rows PostgreSQL takes a COPY: one check over all its rows."""
    with closed.engine.connect() as connection:
        before = count(connection, "entry_lines")
        first = a_copy(connection, "entry_lines")
    many = [{**first, "id": first["id"] + n, "line_no": 100 + n} for n in range(bulk.COPY_FROM + 50)]
    orphan = {**first, "id": first["id"] + len(many), "account_id": MISSING}
    with pytest.raises(DBAPIError) as raised:
        with closed.session() as s:
            bulk.insert_rows(s, model("entry_lines"), [*many[:70], orphan, *many[70:]])
    refused_as_missing(raised.value, closed, "entry_lines", "account_id", "accounts")
    with closed.engine.connect() as connection:
        assert count(connection, "entry_lines") == before
    with closed.session() as s:  # the same rows without the orphan are written
        bulk.insert_rows(s, model("entry_lines"), many)
    with closed.engine.connect() as connection:
        assert count(connection, "entry_lines") == before + len(many)


def fresh_parent(connection, referenced: str, new_id: int) -> None:
    """A new row of `referenced` that nothing points at yet."""
    values = {"journals": {"code": f"T{new_id}"}, "fiscal_years": {"year": new_id},
              "accounts": {"code": f"T{new_id}"}}.get(referenced, {})
    connection.execute(table(referenced).insert(), a_copy(connection, referenced, nth=new_id, id=new_id, **values))


def point_at(connection, name: str, column: str, parent_id: int) -> None:
    connection.execute(table(name).insert(), a_copy(connection, name, **{column: parent_id}))


DELETABLE = [pytest.param(*reference, id=f"{reference[0]}.{reference[1]}")
             for reference in migration.REFERENCES
             if reference[2] not in migration.IMMUTABLE | {"closeouts"}]  # kept whole since 0012: tests/test_immutability.py


@pytest.mark.parametrize("name, column, referenced", DELETABLE)
def test_a_referenced_row_keeps_its_id_and_is_not_deleted_and_an_unreferenced_one_can_be(closed, name, column, referenced):
    with closed.engine.begin() as connection:
        fresh_parent(connection, referenced, FRESH)
        fresh_parent(connection, referenced, FRESH + 1)
        point_at(connection, name, column, FRESH)
    for sql in (f"DELETE FROM {referenced} WHERE id = {FRESH}", f"UPDATE {referenced} SET id = {FRESH + 2} WHERE id = {FRESH}"):
        with pytest.raises(IntegrityError) as raised:
            closed.raw(sql)
        if closed.dialect == "postgresql":
            assert f'"{migration.constraint_name(name, column, referenced)}"' in str(raised.value)
            assert f"Key (id)=({FRESH}) is still referenced from table \"{name}\"" in str(raised.value)
        else:
            assert "FOREIGN KEY constraint failed" in str(raised.value)
    closed.raw(f"UPDATE {referenced} SET id = {FRESH + 3} WHERE id = {FRESH + 1}")  # nothing points at it
    closed.raw(f"DELETE FROM {referenced} WHERE id = {FRESH + 3}")
    with closed.engine.connect() as connection:
        ids = set(connection.execute(select(table(referenced).c.id).where(table(referenced).c.id >= FRESH)).scalars())
    assert ids == {FRESH}


@pytest.mark.postgresql_only
def test_truncate_of_a_table_that_rows_point_into_is_refused(closed):
    # write_offs_on_arrival (0006) points into closeouts with a foreign key of its own, which
    # makes PostgreSQL refuse the TRUNCATE before any trigger: that first, then without it
    with pytest.raises(DBAPIError, match="cannot truncate a table referenced in a foreign key constraint"):
        closed.raw("TRUNCATE closeouts")
    closed.raw("ALTER TABLE write_offs_on_arrival DROP CONSTRAINT fk_write_offs_on_arrival_closeout_number_closeouts")
    with pytest.raises(IntegrityError, match='violates foreign key constraint "fk_closeout_lines_closeout_id_closeouts"'):
        closed.raw("TRUNCATE closeouts")
    with closed.engine.connect() as connection:
        assert count(connection, "closeouts") == 1


@pytest.mark.postgresql_only
def test_a_delete_in_a_repeatable_read_transaction_is_refused(closed):
    with closed.engine.begin() as connection:
        fresh_parent(connection, "accounts", FRESH)
    with pytest.raises(DBAPIError, match="runs only in a READ COMMITTED transaction"):
        with closed.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            with connection.begin():
                connection.execute(table("accounts").delete().where(table("accounts").c.id == FRESH))


def in_thread(work) -> tuple[threading.Thread, list]:
    """Run `work()` in a thread; its outcome (the exception, or None) lands in the list."""
    outcome: list = []

    def run():
        try:
            work()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def still_waiting(books, thread: threading.Thread) -> bool:
    """Whether `thread` waits for a lock: seen waiting (pg_stat_activity, up to 30 s) rather
    than still running after 0.5 s, which a thread that had not reached its statement yet, on
    a loaded host, also was."""
    books.until_waiting(thread.is_alive, "the other statement")
    return thread.is_alive()


@pytest.mark.postgresql_only
def test_a_delete_waits_for_an_insert_that_points_at_the_row_and_is_then_refused(closed):
    with closed.engine.begin() as connection:
        fresh_parent(connection, "accounts", FRESH)
    inserting = closed.engine.connect()
    transaction = inserting.begin()
    point_at(inserting, "entry_lines", "account_id", FRESH)  # not committed yet

    def delete():
        closed.raw(f"DELETE FROM accounts WHERE id = {FRESH}")

    thread, outcome = in_thread(delete)
    assert still_waiting(closed, thread), "the delete did not wait for the transaction inserting into entry_lines"
    transaction.commit()
    inserting.close()
    thread.join(30)
    assert isinstance(outcome[0], IntegrityError) and "is still referenced from table \"entry_lines\"" in str(outcome[0])
    with closed.engine.connect() as connection:
        assert connection.execute(select(table("accounts").c.id).where(table("accounts").c.id == FRESH)).scalar_one() == FRESH


@pytest.mark.postgresql_only
def test_an_insert_waits_for_a_delete_of_the_row_it_points_at_and_is_then_refused(closed):
    with closed.engine.begin() as connection:
        fresh_parent(connection, "accounts", FRESH)
        before = count(connection, "entry_lines")
    deleting = closed.engine.connect()
    transaction = deleting.begin()
    deleting.execute(table("accounts").delete().where(table("accounts").c.id == FRESH))  # not committed yet

    def insert():
        with closed.engine.begin() as connection:
            point_at(connection, "entry_lines", "account_id", FRESH)

    thread, outcome = in_thread(insert)
    assert still_waiting(closed, thread), "the insert did not wait for the transaction deleting the account"
    transaction.commit()
    deleting.close()
    thread.join(30)
    assert isinstance(outcome[0], IntegrityError) and f"Key (account_id)=({FRESH}) is not present" in str(outcome[0])
    with closed.engine.connect() as connection:
        assert count(connection, "entry_lines") == before


@pytest.mark.postgresql_only
def test_a_repeatable_read_insert_does_not_point_at_a_row_deleted_after_its_snapshot(closed):
    """Its snapshot still shows the row; the lock it takes on the row finds it gone."""
    with closed.engine.begin() as connection:
        fresh_parent(connection, "accounts", FRESH)
        before = count(connection, "entry_lines")
    with pytest.raises(DBAPIError, match="could not serialize access"):
        with closed.engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            with connection.begin():
                assert count(connection, "accounts") > 0  # the snapshot is taken here
                closed.raw(f"DELETE FROM accounts WHERE id = {FRESH}")
                point_at(connection, "entry_lines", "account_id", FRESH)
    with closed.engine.connect() as connection:
        assert count(connection, "entry_lines") == before


@pytest.mark.postgresql_only
def test_postgresql_checks_the_references_once_a_statement_instead_of_by_foreign_keys(closed):
    keys = {name for (name,) in closed.raw("SELECT conname FROM pg_constraint WHERE contype = 'f'")}
    replaced = {migration.constraint_name(*reference) for reference in migration.REFERENCES}
    assert keys.isdisjoint(replaced)
    assert "fk_receipt_lines_order_line_id_order_lines" in keys  # the others stay foreign keys
    triggers = {name for (name,) in closed.raw("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert {f"trg_{name}_references" for name, _, _ in migration.REFERENCES} <= triggers


# -- `pledger check` finds rows pointing at nothing, made behind the database's back -------


def around_the_checks(books):
    """A raw connection of someone working around the database's checks (SQLite: foreign keys
    off; PostgreSQL: triggers and foreign keys not fired), in autocommit."""
    books.engine.dispose()
    raw = books.engine.raw_connection()
    driver = raw.driver_connection
    if books.dialect == "sqlite":
        driver.isolation_level = None
        driver.execute("PRAGMA foreign_keys = OFF")
    else:
        driver.autocommit = True
        driver.execute("SET session_replication_role = replica")
    return raw


def test_check_names_rows_that_point_at_nothing_and_fails(closed):
    books = closed
    raw = around_the_checks(books)
    try:
        cur = raw.driver_connection.cursor()
        p = "?" if books.dialect == "sqlite" else "%s"
        cur.execute("SELECT min(id), max(id) FROM entry_lines")
        first, last = cur.fetchone()
        for line_id in (first, last):  # two copies of lines, zero amounts (the tie-out stays as it was), in no entry
            cur.execute("INSERT INTO entry_lines (entry_id, line_no, account_id, debit, credit, currency, amount_currency, rate) "
                        f"SELECT {p}, line_no, account_id, 0, 0, currency, 0, rate FROM entry_lines WHERE id = {p}", (MISSING, line_id))
        columns = ", ".join(c.name for c in table("closeout_lines").c if c.name not in ("id", "order_line_id"))
        cur.execute(f"INSERT INTO closeout_lines (order_line_id, {columns}) SELECT {p}, {columns} FROM closeout_lines "
                    "WHERE id = (SELECT min(id) FROM closeout_lines)", (MISSING,))
        cur.execute("SELECT id FROM entry_lines WHERE entry_id = %d ORDER BY id" % MISSING)
        orphans = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT max(id) FROM closeout_lines")
        (closeout_line,) = cur.fetchone()
    finally:
        raw.close()

    result = books.cli("check", "--format", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["breaches"] == [  # the ledger's tables first (`foreign_keys`: in table order)
        f"entry_lines.entry_id: 2 rows point at no row of entries (row {orphans[0]} points at {MISSING}, "
        f"row {orphans[1]} points at {MISSING})",
        f"closeout_lines.order_line_id: 1 row points at no row of order_lines (row {closeout_line} points at {MISSING})",
    ]
    result = books.cli("check")
    assert result.exit_code == 1
    assert "check failed: 2 breaches; the first: entry_lines.entry_id: 2 rows point at no row of entries" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    as_csv = books.cli("check", "--format", "csv")  # a breach a row, nothing else on stdout
    assert as_csv.exit_code == 1
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [["breach"]] + [[b] for b in json.loads(
        books.cli("check", "--format", "json").stdout)["breaches"]]


def test_a_breach_names_the_first_rows_and_counts_the_rest(closed):
    lines, accounts = table("entry_lines"), table("accounts")
    nothing = select(accounts.c.id).where(accounts.c.id < 0).subquery()  # no account has a negative id
    with closed.session() as s:
        rows = s.execute(select(lines.c.id, lines.c.account_id).order_by(lines.c.id)).all()
        (breach,) = check_references(s, [(lines.c.account_id, nothing.c.id)])
    assert len(rows) > EXAMPLES
    named = ", ".join(f"row {i} points at {account}" for i, account in rows[:EXAMPLES])
    assert str(breach) == (f"entry_lines.account_id: {len(rows)} rows point at no row of {nothing.name} "
                           f"({named}, and {len(rows) - EXAMPLES} more)")


def test_the_check_covers_every_reference_the_database_checks_and_the_ledger_lines_own():
    covered = {(c.table.name, c.name, t.table.name) for c, t in [*foreign_keys(Base.metadata), *LEDGER_LINE_REFERENCES]}
    assert set(migration.REFERENCES) <= covered  # those PostgreSQL checks by trigger (0005)
    assert {("entry_lines", "order_line_id", "order_lines"), ("entry_lines", "partner_id", "suppliers")} <= covered
    every_foreign_key = {(fk.parent.table.name, fk.parent.name, fk.column.table.name)
                         for t in Base.metadata.tables.values() for fk in t.foreign_keys}
    assert every_foreign_key <= covered
