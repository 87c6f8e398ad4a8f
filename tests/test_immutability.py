"""Posted means immutable: the database refuses edits; check detects edits made around it."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ledger.posting import EntrySpec, LineSpec, Poster


def post_two(books):
    with books.session() as s:
        Poster(s, "ann").post([
            EntrySpec("MEM", dt.date(2026, 4, 1), [LineSpec("604500", debit=Decimal("10.00")), LineSpec("440000", credit=Decimal("10.00"))]),
            EntrySpec("MEM", dt.date(2026, 4, 2), [LineSpec("604500", debit=Decimal("20.00")), LineSpec("440000", credit=Decimal("20.00"))]),
        ])


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entry_lines SET debit = debit + 100 WHERE line_no = 1",
        "UPDATE entries SET description = 'edited'",
        "DELETE FROM entry_lines",
        "DELETE FROM entries",
    ],
)
def test_raw_sql_update_and_delete_of_posted_rows_is_refused(books, sql):
    post_two(books)
    with pytest.raises(DBAPIError, match="immutable"):
        books.raw(sql)
    with books.session() as s:
        assert s.execute(text("select count(*) from entries")).scalar() == 2


@pytest.mark.postgresql_only
def test_truncate_is_refused_on_postgresql(books):
    post_two(books)
    with pytest.raises(DBAPIError, match="immutable"):
        books.raw("TRUNCATE entry_lines")


def drop_triggers(books):
    if books.dialect == "postgresql":
        books.raw("DROP FUNCTION pledger_refuse_change() CASCADE")
    else:
        names = [r[0] for r in books.raw("select name from sqlite_master where type='trigger'")]
        for name in names:
            books.raw(f"DROP TRIGGER {name}")


def test_with_the_triggers_dropped_an_edited_amount_is_reported_by_check(books):
    post_two(books)
    assert books.cli("check").exit_code == 0
    drop_triggers(books)
    # edit both lines of entry 1 so that it still balances: only the hash can tell
    books.raw("UPDATE entry_lines SET debit = debit * 2 WHERE debit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    books.raw("UPDATE entry_lines SET credit = credit * 2 WHERE credit > 0 AND entry_id = (SELECT min(id) FROM entries)")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "MEM 2026 entry 1: content does not match its hash" in result.output


def test_with_the_triggers_dropped_a_deleted_entry_is_reported_by_check(books):
    post_two(books)
    drop_triggers(books)
    books.raw("DELETE FROM entry_lines WHERE entry_id = (SELECT max(id) FROM entries)")
    books.raw("DELETE FROM entries WHERE id = (SELECT max(id) FROM entries)")
    result = books.cli("check")
    assert result.exit_code == 1
    assert "the counter says 2 entries were posted, 1 are there" in result.output
