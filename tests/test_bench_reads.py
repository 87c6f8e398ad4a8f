"""`python -m bench reads`: the batch paths' reads of order lines, timed on a book, which they leave as it was."""

from sqlalchemy import text

from bench.__main__ import fresh_book, import_book
from bench.database import drop_database
from bench.reads import reads_bench
from ledger.db import make_engine, make_sessionmaker


def _rows(url):
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return (c.execute(text("SELECT * FROM order_lines ORDER BY id")).all(),
                    c.execute(text("SELECT * FROM purchase_orders ORDER BY id")).all())
    finally:
        engine.dispose()


def test_the_reads_are_timed_and_write_nothing(fresh_url, tmp_path):
    url, engine = fresh_book(300, fresh_url, tmp_path)
    try:
        import_book(make_sessionmaker(engine), tmp_path)
        engine.dispose()
        before = _rows(url)

        result = reads_bench(url, rounds=2)

        assert result["lines"] == len(before[0]) == 300
        assert all(len(spent) == 2 and all(s > 0 for s in spent) for spent in result["seconds"].values())
        assert result["fastest"] == {name: min(spent) for name, spent in result["seconds"].items()}
        assert _rows(url) == before
    finally:
        engine.dispose()
        drop_database(url)
