"""The schema and driver floors of the bench (`bench.floor`): the database alone, or its
driver, redoing a close-out's writes into copies of its tables, on both databases."""

import json

import pytest

from bench.floor import REPLAYED, _replay_copies, driver_floor, schema_floor
from matching.checks import check_books
from tests.builders import D, invoice, item, order, receive, supplier


TABLES = ("entries", "entry_lines", "closeout_lines", "closeout_entries")  # what a close-out inserts


def closeout_id_of(books, result) -> int:
    assert result.exit_code == 0, result.output
    return books.raw("select id from closeouts where number = :n", n=json.loads(result.stdout)["closeout"]).scalar()


def posted_by(books, closeout_id) -> tuple[int, int, int]:
    """The close-out's lines, its entries and their lines, counted."""
    closed = books.raw("select count(*) from closeout_lines where closeout_id = :c", c=closeout_id).scalar()
    entries = books.raw("select count(*) from closeout_entries where closeout_id = :c and kind = 'closeout'", c=closeout_id).scalar()
    entry_lines = books.raw("select count(*) from entry_lines where entry_id in "
                            "(select entry_id from closeout_entries where closeout_id = :c)", c=closeout_id).scalar()
    return closed, entries, entry_lines


def the_books(books) -> tuple[dict, list]:
    """What a replay must leave as it was: the rows of the inserted tables, counted, and the order lines."""
    return {t: books.raw(f"select count(*) from {t}").scalar() for t in TABLES}, books.raw("select * from order_lines order by id").all()


def assert_left_as_they_were(books, before) -> None:
    """The copies are gone and nothing real changed."""
    assert the_books(books) == before
    tables = books.raw("select tablename from pg_tables where tablename like 'bench_replay%'" if books.dialect == "postgresql"
                       else "select name from sqlite_master where name like 'bench_replay%'").all()
    assert tables == []
    with books.session() as s:
        assert check_books(s) == []


def test_the_schema_floor_redoes_a_closeouts_inserts_and_leaves_the_books_as_they_were(books):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 4):
            order(s, f"PO-{n}", ("BOLT", D("10"), D("2.5")), ("BOLT", D("4"), D("1.25")))
            receive(s, f"PO-{n}", 1, D("6"))
            invoice(s, f"PO-{n}", 2, D("3"))
    closeout_id = closeout_id_of(books, books.cli("closeout", "run", "--close-fully", "--date", "2026-06-30", "--format", "json"))
    before = the_books(books)

    measured = schema_floor(books.engine, closeout_id)

    closed, entries, entry_lines = posted_by(books, closeout_id)
    assert closed == 6 and entries == 3
    assert measured["rows"] == entries + entry_lines + closed + entries  # entries, their lines, close-out lines, links
    assert measured["updated"] == closed
    # timed, in seconds rounded to the millisecond: a replay of six lines can take less than half of one
    assert isinstance(measured["seconds"], float) and measured["seconds"] >= 0
    assert_left_as_they_were(books, before)


def test_the_driver_floor_sends_a_closeouts_rows_into_copies_holding_the_book_and_leaves_the_books_as_they_were(books):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 4):
            order(s, f"PO-{n}", ("BOLT", D("10"), D("2.5")), ("BOLT", D("4"), D("1.25")))
            receive(s, f"PO-{n}", 1, D("6"))
    for orders in ("PO-1", "PO-2..PO-3"):  # the first close-out's rows are the book's, the second one's are sent
        closeout_id = closeout_id_of(books, books.cli("closeout", "run", "--close-fully", "--order", orders,
                                                      "--date", "2026-06-30", "--format", "json"))
    before = the_books(books)
    inserted = before[0]

    measured = driver_floor(books.engine, closeout_id)

    closed, entries, entry_lines = posted_by(books, closeout_id)
    assert closed >= 1 and entries >= 1 and inserted["closeout_lines"] > closed  # the book holds more than this run
    assert measured["rows"] == entries + entry_lines + closed + entries
    assert measured["held"] == sum(inserted.values()) - measured["rows"]  # the rest of the book was in the copies
    assert measured["updated"] == closed
    assert isinstance(measured["seconds"], float) and measured["seconds"] >= 0
    assert_left_as_they_were(books, before)


def test_the_replayed_copies_check_what_their_rows_point_at_as_the_tables_do(books):
    """The floors write into copies that refuse a row pointing at nothing, as the real tables
    do: foreign keys on SQLite, the checks once a statement of migration 0005 on PostgreSQL."""
    with books.session() as s:
        supplier(s)
    with _replay_copies(books.engine) as (cur, driver, sqlite):
        for table in REPLAYED:
            cur.execute(f"SAVEPOINT {table}")
            columns = "closeout_id, entry_id, kind" if table == "closeout_entries" else None
            values = {"entries": "(1, 999999, 1, 1, '2026-01-01', '', 'manual', 'ann', '2026-01-01', '', '')",
                      "entry_lines": "(1, 999999, 1, 1, 0, 0, 'EUR', 0, 1, NULL, NULL, NULL, NULL)",
                      "closeout_lines": "(1, 999999, 1, 0, 0, 0, 0, 0, 0, 0, 0)",
                      "closeout_entries": "(999999, 999999, 'closeout')"}[table]
            with pytest.raises(Exception, match="FOREIGN KEY constraint failed" if sqlite else "violates foreign key constraint"):
                cur.execute(f"INSERT INTO bench_replay_{table} {'(' + columns + ') ' if columns else ''}VALUES {values}")
            cur.execute(f"ROLLBACK TO SAVEPOINT {table}")


def test_the_floor_with_references_writes_two_line_entries_and_drops_its_tables(books):
    from bench.floor import references_floor

    before = the_books(books)
    floor = references_floor(books.engine, 301)
    assert floor["rows"] == 300 and floor["seconds"] > 0  # 100 entries and their 200 lines
    tables = books.raw("select tablename from pg_tables where tablename like 'scale_%'" if books.dialect == "postgresql"
                       else "select name from sqlite_master where name like 'scale_%'").all()
    assert tables == [] and the_books(books) == before
