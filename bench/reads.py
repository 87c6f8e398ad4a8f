"""`python -m bench reads --db URL [--rounds 5]`: how fast the batch paths read order lines.

On a book made by `python -m bench book`, in one transaction rolled back at the end (on
PostgreSQL the lines are locked as the close-out locks them), each round reads every
order line the way a close-out does (`LineBook.load_orders_of`, chunks of 2,000 line
ids) and every order the way the receipt and invoice imports do (`LineBook.load_keys`,
by order number, 10,000 lines at a time). Prints the seconds of each round and the
fastest; nothing is written.

`PYTHONPATH=CHECKOUT python bench/reads.py --db URL` times another checkout's `LineBook`
(a worktree of an older commit) on the same book.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from ledger.db import make_engine, make_sessionmaker
from purchase.lines import LineBook

CLOSEOUT_CHUNK = 2000
IMPORT_CHUNK = 10_000


def reads_bench(url: str, rounds: int = 5) -> dict:
    engine = make_engine(url)
    times: dict[str, list[float]] = {"load_orders_of": [], "load_keys": []}
    try:
        with make_sessionmaker(engine)() as session:
            connection = session.connection()
            ids = [i for i, in connection.execute(text("SELECT id FROM order_lines ORDER BY id"))]
            keys = list(connection.execute(text(
                "SELECT o.number, l.line_no FROM order_lines l JOIN purchase_orders o ON o.id = l.order_id ORDER BY l.id")))
            for _ in range(rounds):
                started = time.perf_counter()
                for i in range(0, len(ids), CLOSEOUT_CHUNK):
                    LineBook(session).load_orders_of(ids[i : i + CLOSEOUT_CHUNK])
                times["load_orders_of"].append(time.perf_counter() - started)
                started = time.perf_counter()
                for i in range(0, len(keys), IMPORT_CHUNK):
                    LineBook(session).load_keys(tuple(k) for k in keys[i : i + IMPORT_CHUNK])
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
