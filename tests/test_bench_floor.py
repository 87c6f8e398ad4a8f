"""The schema and driver floors of the bench (`bench.floor`): the database alone, or its
driver, redoing a close-out's writes into copies of its tables, on both databases."""

import json

from bench.floor import driver_floor, schema_floor
from purchase.checks import check_books
from tests.builders import D, invoice, item, order, receive, supplier


def test_the_schema_floor_redoes_a_closeouts_inserts_and_leaves_the_books_as_they_were(books):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 4):
            order(s, f"PO-{n}", ("BOLT", D("10"), D("2.5")), ("BOLT", D("4"), D("1.25")))
            receive(s, f"PO-{n}", 1, D("6"))
            invoice(s, f"PO-{n}", 2, D("3"))
    result = books.cli("closeout", "run", "--close-fully", "--date", "2026-06-30", "--format", "json")
    assert result.exit_code == 0, result.output
    number = json.loads(result.stdout)["closeout"]
    closeout_id = books.raw("select id from closeouts where number = :n", n=number).scalar()
    inserted = {t: books.raw(f"select count(*) from {t}").scalar() for t in ("entries", "entry_lines", "closeout_lines", "closeout_entries")}
    lines_before = books.raw("select * from order_lines order by id").all()

    measured = schema_floor(books.engine, closeout_id)

    closed = books.raw("select count(*) from closeout_lines where closeout_id = :c", c=closeout_id).scalar()
    entries = books.raw("select count(*) from closeout_entries where closeout_id = :c and kind = 'closeout'", c=closeout_id).scalar()
    entry_lines = books.raw("select count(*) from entry_lines where entry_id in "
                            "(select entry_id from closeout_entries where closeout_id = :c)", c=closeout_id).scalar()
    assert closed == 6 and entries == 3
    assert measured["rows"] == entries + entry_lines + closed + entries  # entries, their lines, close-out lines, links
    assert measured["updated"] == closed
    # timed, in seconds rounded to the millisecond: a replay of six lines can take less than half of one
    assert isinstance(measured["seconds"], float) and measured["seconds"] >= 0
    # the copies are gone and nothing real changed
    assert {t: books.raw(f"select count(*) from {t}").scalar() for t in inserted} == inserted
    assert books.raw("select * from order_lines order by id").all() == lines_before
    tables = books.raw("select tablename from pg_tables where tablename like 'bench_replay%'" if books.dialect == "postgresql"
                       else "select name from sqlite_master where name like 'bench_replay%'").all()
    assert tables == []
    with books.session() as s:
        assert check_books(s) == []


def test_the_driver_floor_sends_a_closeouts_rows_into_copies_holding_the_book_and_leaves_the_books_as_they_were(books):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 4):
            order(s, f"PO-{n}", ("BOLT", D("10"), D("2.5")), ("BOLT", D("4"), D("1.25")))
            receive(s, f"PO-{n}", 1, D("6"))
    for orders in ("PO-1", "PO-2..PO-3"):  # the first close-out's rows are the book's, the second one's are sent
        result = books.cli("closeout", "run", "--close-fully", "--order", orders, "--date", "2026-06-30", "--format", "json")
        assert result.exit_code == 0, result.output
    number = json.loads(result.stdout)["closeout"]
    closeout_id = books.raw("select id from closeouts where number = :n", n=number).scalar()
    tables = ("entries", "entry_lines", "closeout_lines", "closeout_entries")
    inserted = {t: books.raw(f"select count(*) from {t}").scalar() for t in tables}
    lines_before = books.raw("select * from order_lines order by id").all()

    measured = driver_floor(books.engine, closeout_id)

    closed = books.raw("select count(*) from closeout_lines where closeout_id = :c", c=closeout_id).scalar()
    entries = books.raw("select count(*) from closeout_entries where closeout_id = :c and kind = 'closeout'", c=closeout_id).scalar()
    entry_lines = books.raw("select count(*) from entry_lines where entry_id in "
                            "(select entry_id from closeout_entries where closeout_id = :c)", c=closeout_id).scalar()
    assert closed >= 1 and entries >= 1 and inserted["closeout_lines"] > closed  # the book holds more than this run
    assert measured["rows"] == entries + entry_lines + closed + entries
    assert measured["held"] == sum(inserted.values()) - measured["rows"]  # the rest of the book was in the copies
    assert measured["updated"] == closed
    assert isinstance(measured["seconds"], float) and measured["seconds"] >= 0
    assert {t: books.raw(f"select count(*) from {t}").scalar() for t in tables} == inserted
    assert books.raw("select * from order_lines order by id").all() == lines_before
    replays = books.raw("select tablename from pg_tables where tablename like 'bench_replay%'" if books.dialect == "postgresql"
                        else "select name from sqlite_master where name like 'bench_replay%'").all()
    assert replays == []
    with books.session() as s:
        assert check_books(s) == []
