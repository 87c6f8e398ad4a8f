"""`python -m bench reads --db URL [--rounds 5]`: how fast the batch paths read order lines.

On a book made by `python -m bench book`, in one transaction rolled back at the end (on
PostgreSQL the lines are locked as the close-out locks them), each round reads every
order line the way a close-out reads its chunks (whole orders, about 2,000 lines a chunk,
by order id: `order_chunks`, `LineBook.load_orders`) and every order the way the receipt
and invoice imports do (`LineBook.load_keys`, by order number, 10,000 lines at a time).
Prints the seconds of each round and the fastest; nothing is written. The rounds run with
the garbage collector's batch thresholds (`ledger.batchmode`), as every batch path does
(since 3 December 2026, evening; before, with the interpreter's defaults).

The books hold the stored integers (`LineBook(session, stored=True)`), as the batch paths
read since `9002ffc`. `PYTHONPATH=CHECKOUT python bench/reads.py --db URL` times another
checkout's `LineBook` (a worktree of an older commit, with Decimal books where it has no
other) on the same book.
"""

from __future__ import annotations

import time

from sqlalchemy import select, text

from ledger.batchmode import batch_collection
from ledger.db import make_engine, make_sessionmaker
from matching.selection import order_chunks, read_pairs
from purchase.lines import LineBook
from purchase.models import OrderLine

CLOSEOUT_CHUNK = 2000
IMPORT_CHUNK = 10_000


def _book(session) -> LineBook:
    """A book as the batch paths make it: of stored integers (an older checkout: of Decimals)."""
    try:
        return LineBook(session, stored=True)
    except TypeError:
        return LineBook(session)


@batch_collection()  # as the batch paths read: with the collector's batch thresholds
def reads_bench(url: str, rounds: int = 5) -> dict:
    engine = make_engine(url)
    times: dict[str, list[float]] = {"load_orders": [], "load_keys": []}
    try:
        with make_sessionmaker(engine)() as session:
            connection = session.connection()
            ids = [i for i, in connection.execute(text("SELECT id FROM order_lines ORDER BY id"))]
            every_line = select(OrderLine.id, OrderLine.order_id).order_by(OrderLine.order_id, OrderLine.line_no)
            keys = list(connection.execute(text(
                "SELECT o.number, l.line_no FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id ORDER BY l.id")))
            for _ in range(rounds):
                started = time.perf_counter()
                for chunk in order_chunks(*read_pairs(session, every_line), CLOSEOUT_CHUNK):
                    _book(session).load_orders(chunk.order_ids)
                times["load_orders"].append(time.perf_counter() - started)
                started = time.perf_counter()
                for i in range(0, len(keys), IMPORT_CHUNK):
                    _book(session).load_keys(tuple(k) for k in keys[i : i + IMPORT_CHUNK])
                times["load_keys"].append(time.perf_counter() - started)
            session.rollback()
    finally:
        engine.dispose()
    return {"lines": len(ids), "db": engine.dialect.name, "rounds": rounds,
            "seconds": {name: [round(s, 3) for s in spent] for name, spent in times.items()},
            "fastest": {name: round(min(spent), 3) for name, spent in times.items()}}


def print_reads(result: dict) -> None:
    print(f"{result['lines']} order lines on {result['db']}, {result['rounds']} rounds")
    for name, spent in result["seconds"].items():
        print(f"{name:<16} fastest {result['fastest'][name]:>7} s   all {spent}")


if __name__ == "__main__":  # `PYTHONPATH=CHECKOUT python bench/reads.py --db URL`: another checkout's LineBook
    import argparse

    parser = argparse.ArgumentParser(prog="bench/reads.py")
    parser.add_argument("--db", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_reads(reads_bench(args.db, args.rounds))
