"""A period locked while a posting into it is under way (PostgreSQL, read committed).

The posting read the periods (unlocked) before it waited for its journal's counter; the
lock committed meanwhile, and the posting then committed into the locked period. Now a
posting holds the periods it read until it ends (`ledger.periods.hold_periods`): the lock
waits for it, and a posting that starts while a lock is under way waits for the lock and
then finds the period locked. SQLite has one writer at a time and needs none of this.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import text

from ledger.errors import PeriodError
from ledger.periods import PeriodMap, set_locked

pytestmark = pytest.mark.postgresql_only

JULY = dt.date(2026, 7, 15)


def _in_thread(books, work, what: str) -> tuple[threading.Thread, dict]:
    """`work()` in a thread, returned once it waits for a lock or has ended (`start_waiting`:
    seen, not slept for; a thread that had not reached its lock after 0.5 s, on a loaded host,
    made the test pass without the wait it is about)."""
    done: dict = {}

    def run():
        try:
            done["result"] = work()
        except Exception as exc:  # noqa: BLE001 - handed to the test
            done["error"] = exc
        done["at"] = time.monotonic()

    return books.start_waiting(run, what), done


def _lock_july(books):
    with books.session() as s:
        set_locked(s, 2026, 7, True, user="ann")


def test_a_period_lock_waits_for_the_posting_under_way(books):
    with books.session() as posting:
        periods = PeriodMap(posting)  # a posting has read the periods: July open
        assert periods.fiscal_year_for(JULY)
        thread, done = _in_thread(books, lambda: _lock_july(books), "the period lock")
        assert "at" not in done, "the lock did not wait for the posting under way"
        committed = time.monotonic()
    thread.join(timeout=30)
    assert "error" not in done, done.get("error")
    assert done["at"] >= committed  # it locked once the posting had ended
    assert books.raw("select locked from periods where month = 7").scalar() is True


def test_a_posting_that_starts_while_a_lock_is_under_way_finds_the_period_locked(books):
    with books.session() as locking:
        set_locked(locking, 2026, 7, True, user="ann")  # not committed yet

        def post():
            with books.session() as s:
                return PeriodMap(s).fiscal_year_for(JULY)

        thread, done = _in_thread(books, post, "the posting")
        assert "at" not in done, "the posting did not wait for the lock under way"
    thread.join(timeout=30)
    assert isinstance(done.get("error"), PeriodError), done
    assert "period 2026-07 is locked" in str(done["error"])


def test_postings_do_not_wait_for_each_other_on_the_periods(books):
    with books.session() as first:
        PeriodMap(first)
        with books.session() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            assert PeriodMap(second).fiscal_year_for(JULY)  # shared: no wait
