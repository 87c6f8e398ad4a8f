"""`python -m bench lean`: the least Python a full close-out needs, measured beside pledger's
own run; it counts only if it does the same work (the same postings, line states and a book
that passes `check`)."""

import datetime as dt
import sqlite3
import time
from decimal import Decimal

import pytest
from hypothesis import example, given, strategies as st

from bench.__main__ import fresh_book, import_book, main
from bench.lean import _fresh_copy, _integer_value, lean_bench, lean_closeout, pledger_closeout
from ledger.db import make_sessionmaker
from ledger.money import value_of
from matching.checks import check_books
from purchase.state import STATE_COLUMNS

DATE = dt.date(dt.date.today().year, 12, 31)


def _book(tmp_path, lines=400):
    url, engine = fresh_book(lines, None, tmp_path)
    import_book(make_sessionmaker(engine), tmp_path)
    engine.dispose()
    return tmp_path / "bench.db"


def _states(path):
    con = sqlite3.connect(path)
    try:
        return con.execute(f"SELECT id, {', '.join(STATE_COLUMNS)}, last_closeout_number FROM order_lines ORDER BY id").fetchall()
    finally:
        con.close()


def _books_check(path):
    from ledger.db import make_engine

    engine = make_engine(f"sqlite:///{path}")
    try:
        with make_sessionmaker(engine)() as s:
            return check_books(s)
    finally:
        engine.dispose()


def test_the_lean_ways_post_what_pledger_posts_and_leave_the_same_line_states(tmp_path):
    book = _book(tmp_path)
    before = _states(book)
    done, states = {}, {}
    for way in ("lean", "lean_rule", "pledger"):
        folder = tmp_path / way
        folder.mkdir()
        copy = _fresh_copy(book, folder)
        started = time.perf_counter()
        if way == "pledger":
            done[way] = pledger_closeout(copy, date=DATE)
        else:
            done[way] = lean_closeout(copy, rule=way == "lean_rule", date=DATE)
        assert 0 < done[way]["seconds"] <= time.perf_counter() - started
        states[way] = _states(copy)
        assert _books_check(copy) == [], way
    assert done["pledger"]["lines"] > 100 and done["pledger"]["entries"] > 20
    for way in ("lean", "lean_rule"):
        assert (done[way]["lines"], done[way]["entries"], done[way]["totals"]) == \
            (done["pledger"]["lines"], done["pledger"]["entries"], done["pledger"]["totals"])
        assert states[way] == states["pledger"]
    assert states["pledger"] != before
    assert _states(book) == before  # the book itself is only copied


def test_the_bench_reports_each_way_against_the_floor(tmp_path):
    book = _book(tmp_path, lines=200)
    result = lean_bench(book, rounds=1, date=DATE)
    assert set(result["ways"]) == {"lean", "lean_rule", "pledger"}
    # the run's rows: its entries, their lines (at least two each), close-out lines, links, the close-out
    assert result["lines"] > 0 and result["rows"] >= 4 * result["entries"] + result["lines"] + 1
    assert result["floor_seconds"] > 0
    for way in result["ways"].values():
        assert way["seconds"] > 0 and way["ratio"] > 0 and len(way["all"]) == 1


@given(quantity=st.integers(-10**13, 10**13), price=st.integers(0, 10**13), currency=st.sampled_from(["EUR", "JPY", "KWD"]))
@example(quantity=5_000, price=10**6, currency="EUR")  # 0.005 x 1: a half cent, up to 0.01
@example(quantity=-5_000, price=10**6, currency="EUR")  # down to -0.01, away from zero as ROUND_HALF_UP
@example(quantity=-1_500_000, price=10**6, currency="JPY")  # -1.5 yen: -2
def test_the_integer_value_is_value_of_on_the_stored_integers(quantity, price, currency):
    expected = value_of(Decimal(quantity).scaleb(-6), Decimal(price).scaleb(-6), currency)
    assert _integer_value(currency)(quantity, price) == int(expected.scaleb(4))


def test_the_bench_refuses_what_is_not_a_book(tmp_path):
    with pytest.raises(SystemExit) as missing:
        main(["lean", str(tmp_path / "none.db")])
    assert str(missing.value) == (f"no SQLite book at {tmp_path / 'none.db'}: make one with "
                                  "`python -m bench book --lines N --workdir W` (W/bench.db)")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(SystemExit) as wrong:
        main(["lean", str(other)])
    assert str(wrong.value) == f"{other} is not a pledger book (no such table: order_lines): make one with `python -m bench book`"
