"""`python -m bench growth --small 10000 --large 1000000 [--db URL] [--rounds 3]`: how the
time per line grows from a small book to a large one, each phase timed on the two books
back to back.

`bench closeout` runs one size after the other: at 1,000,000 lines one bench takes ten
minutes and more, and this machine's speed drifts within such a time by more than the
growth to be measured (docs/benchmarks.md: `check` of one book took 40 to 64 s within
one hour). So here every round builds both books afresh (migrations, defaults, the
generated CSV files imported) and runs each phase on the two books one right after the
other, the small book first in odd rounds and the large one first in even rounds, each
phase in a process of its own exactly as `bench closeout` runs it: the imports, the
close-out trial, the real run (keeping the posting report's details, as the bench's run
does; its XLSX and PDF are not written), the undo and `check`. Then the floor at each
size's rows (the rows the run wrote), in the same alternating order.

Per round and phase, the growth is (large book's seconds per line) / (small book's) - 1;
the result holds every round's figures and, per phase, the median of the rounds' growths.
It fails as `bench closeout` does: the trial's totals differ from the run's, or `check`
finds anything.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from statistics import median

from bench.database import drop_database
from bench.floor import floor_seconds
from bench.generate import write_book

PHASES = ("import", "trial", "run", "undo", "check")
TARGET = 0.30
"""The performance issue's bound on the growth of the time per line, 10,000 -> 1,000,000 lines."""


def _one_round(sizes: tuple[int, int], order: tuple[int, int], db: str | None, dirs: dict[int, Path]) -> dict:
    from bench.__main__ import fresh_defaults, run_phase

    books = {n: fresh_defaults(db, dirs[n], f"growth_{n}") for n in sizes}
    try:
        done: dict[int, dict] = {n: {} for n in sizes}
        for name in PHASES:
            for n in order:
                kw: dict = {}
                if name == "run":
                    kw = {"details": True, "files": False}
                elif name == "undo":
                    kw = {"closeout": done[n]["run"]["closeout"]}
                url, _ = books[n]
                done[n][name] = run_phase(name, url, dirs[n], **kw)
        for n in sizes:
            if done[n]["trial"]["totals"] != done[n]["run"]["totals"]:
                raise SystemExit(f"{n:,} lines: the trial and the real run differ")
            if done[n]["check"]["breaches"]:
                raise SystemExit(f"{n:,} lines: check failed: {done[n]['check']['breaches'][0]}")
        floor = {}
        for n in order:
            rows = done[n]["trial"]["rows"]  # what the trial wrote before its rollback: the run's rows
            floor[n] = {"rows": rows, "seconds": round(floor_seconds(books[n][1], rows), 6)}
    finally:
        for url, engine in books.values():
            engine.dispose()
            drop_database(url)
    seconds = {n: {name: done[n][name]["seconds"] for name in PHASES} for n in sizes}
    small, large = sizes
    return {
        "db": books[small][1].dialect.name,
        "order": list(order),
        "seconds": {str(n): seconds[n] for n in sizes},
        "floor": {str(n): floor[n] for n in sizes},
        "growth": {name: growth(seconds[small][name], small, seconds[large][name], large) for name in PHASES},
        "floor_growth": growth(floor[small]["seconds"], floor[small]["rows"], floor[large]["seconds"], floor[large]["rows"]),
        "document_lines": {str(n): done[n]["import"]["document_lines"] for n in sizes},
        "closeout_lines": {str(n): done[n]["run"]["line_count"] for n in sizes},
    }


def growth(small_seconds: float, small_count: int, large_seconds: float, large_count: int) -> float | None:
    """How much more time a unit takes at the large size than at the small one (0.1 = +10 %);
    None when the small size took no measurable time."""
    if small_seconds <= 0 or not small_count or not large_count:
        return None
    return round((large_seconds / large_count) / (small_seconds / small_count) - 1, 4)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(median(known), 4) if known else None


def _seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.0f} %"


def growth_bench(small: int, large: int, db: str | None, workdir: Path, rounds: int = 3) -> dict:
    if not 0 < small < large:
        raise SystemExit(f"the small book must have fewer lines than the large one, and more than none ({small:,}, {large:,})")
    if rounds < 1:
        raise SystemExit("at least one round")
    sizes = (small, large)
    dirs = {n: workdir / f"lines_{n}" for n in sizes}
    for n in sizes:  # the same generated book in every round
        write_book(dirs[n] / "book", n, year=dt.date.today().year)
    results = [_one_round(sizes, sizes if r % 2 == 0 else (large, small), db, dirs) for r in range(rounds)]
    medians = {name: _median([r["growth"][name] for r in results]) for name in PHASES}
    return {
        "db": results[0]["db"],
        "small": small,
        "large": large,
        "rounds": results,
        "growth": medians,
        "floor_growth": _median([r["floor_growth"] for r in results]),
        "within_target": {name: g is not None and g <= TARGET for name, g in medians.items()},
        "date": dt.date.today().isoformat(),
    }


def print_growth(result: dict) -> None:
    small, large = result["small"], result["large"]
    print(f"{result['db']}: time per line, {small:,} -> {large:,} lines, each phase on both books back to back "
          f"({len(result['rounds'])} rounds)")
    head = f"{'phase':<8}" + "".join(f"  round {i + 1} (first {r['order'][0]:,})".rjust(34)
                                      for i, r in enumerate(result["rounds"])) + f"{'median':>10}"
    print(head)
    for name in PHASES:
        cells = []
        for r in result["rounds"]:
            s, l = r["seconds"][str(small)][name], r["seconds"][str(large)][name]
            cells.append(f"{_seconds(s)}, {_seconds(l)}: {_percent(r['growth'][name])}".rjust(34))
        print(f"{name:<8}" + "".join(cells) + _percent(result["growth"][name]).rjust(10))
    cells = [f"{_seconds(r['floor'][str(small)]['seconds'])}, {_seconds(r['floor'][str(large)]['seconds'])}: "
             f"{_percent(r['floor_growth'])}".rjust(34) for r in result["rounds"]]
    print(f"{'floor':<8}" + "".join(cells) + _percent(result["floor_growth"]).rjust(10))
    over = [name for name, ok in result["within_target"].items() if not ok]
    print(f"within +{TARGET * 100:.0f} %: " + ("every phase" if not over else "all but " + ", ".join(over)))
