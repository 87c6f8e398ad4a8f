"""`python -m bench closeout --lines N --db URL [--json]`: time a whole close-out cycle.

In one run, on one fresh database: the imports with their postings (suppliers, items,
orders, receipts, invoices: the CSV path users take), the close-out trial, the real
run, the undo, the posting report written as XLSX and PDF, and `check`; and, on the same
database, the floor: the raw driver writing as many rows as the real run wrote
(executemany on SQLite, COPY on PostgreSQL). Each phase's ratio is its seconds over the
floor's seconds scaled to the phase's rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.database import drop_database, fresh_database
from bench.flow import flow_bench
from bench.generate import write_book
from bench.floor import floor_seconds
from cli.commands.closeout import report_tables
from cli.formats import write_pdf, write_xlsx
from ledger.db import make_engine, make_sessionmaker
from matching.closeout import UndoSelection, run_closeout, undo_closeouts
from matching.selection import Selection
from migrations import runner
from purchase.checks import check_books
from purchase.imports import import_file
from purchase.settings import install_defaults

WRITTEN = ("purchase_orders", "order_lines", "receipts", "receipt_lines", "invoices", "invoice_lines", "entries",
           "entry_lines", "closeouts", "closeout_lines", "closeout_entries")
REPORT_DETAIL_LIMIT = 200_000


def counts(engine) -> dict[str, int]:
    with engine.connect() as c:
        return {t: c.execute(text(f"select count(*) from {t}")).scalar() for t in WRITTEN}


def written(before: dict, after: dict) -> int:
    return sum(after[t] - before[t] for t in WRITTEN)


def closeout_bench(lines: int, db: str | None, workdir: Path, keep: bool = False) -> dict:
    year = dt.date.today().year
    url = fresh_database(db, workdir)
    engine = make_engine(url)
    runner.upgrade(engine)
    maker = make_sessionmaker(engine)
    with maker() as s:
        install_defaults(s, "EUR", dt.date(year, 1, 1))
        s.commit()
    paths = write_book(workdir / "book", lines, year=year)
    phases: dict[str, dict] = {}

    def timed(name, fn, rows_fn=None):
        before = counts(engine)
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        rows = rows_fn(result) if rows_fn else written(before, counts(engine))
        phases[name] = {"seconds": round(seconds, 3), "rows": rows}
        return result

    def imports():
        total = 0
        for kind in ("suppliers", "items", "orders", "receipts", "invoices"):
            with maker() as s:
                total += import_file(s, kind, paths[kind], "bench").rows
                s.commit()
        return total

    document_lines = timed("import", imports)
    phases["import"]["document_lines"] = document_lines
    details = lines <= REPORT_DETAIL_LIMIT
    closeout_date = dt.date(year, 12, 31)

    def trial():
        with maker() as s:
            report = run_closeout(s, Selection(), user="bench", date=closeout_date, close_fully=True, trial=True, keep_details=False)
            rows = written(before_trial, {t: s.execute(text(f"select count(*) from {t}")).scalar() for t in WRITTEN})
            s.rollback()
        return report, rows

    before_trial = counts(engine)
    trial_report, trial_rows = timed("trial", trial, rows_fn=lambda r: r[1])

    def run():
        with maker() as s:
            report = run_closeout(s, Selection(), user="bench", date=closeout_date, close_fully=True, keep_details=details)
            s.commit()
        return report

    report = timed("run", run)
    assert trial_report.to_json()["totals"] == report.to_json()["totals"], "trial and run differ"
    data = report.to_json() if details else None

    if data is not None:
        tables = report_tables(data)
        out = workdir / "report"
        timed("report_xlsx", lambda: write_xlsx(tables, str(out) + ".xlsx"), rows_fn=lambda _: len(tables[0].rows))
        timed("report_pdf", lambda: write_pdf(tables, str(out) + ".pdf", document_title="bench posting report"),
              rows_fn=lambda _: len(tables[0].rows))
        del tables, data

    def undo():
        with maker() as s:
            undo_closeouts(s, UndoSelection(numbers=(report.closeout, report.closeout)), user="bench", date=closeout_date, keep_details=False)
            s.commit()

    timed("undo", undo)

    def check():
        with maker() as s:
            breaches = check_books(s)
        if breaches:
            raise SystemExit(f"check failed: {breaches[0]}")
        return None

    before = counts(engine)
    timed("check", check, rows_fn=lambda _: before["entries"] + before["entry_lines"])

    floor_rows = phases["run"]["rows"]
    floor = {"rows": floor_rows, "seconds": round(floor_seconds(engine, floor_rows), 3)}
    per_row = floor["seconds"] / floor_rows if floor_rows else 0
    for p in phases.values():
        p["ratio"] = round(p["seconds"] / (per_row * p["rows"]), 2) if per_row and p["rows"] else None
    result = {
        "lines": lines,
        "db": engine.dialect.name,
        "floor": floor,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "phases": phases,
        "closeout_lines": report.line_count,
        "closeout_entries": report.entry_count,
        "import_lines_per_second": round(document_lines / phases["import"]["seconds"]),
        "check": "passed",
    }
    engine.dispose()
    if not keep:
        drop_database(url)
    return result


def print_table(result: dict) -> None:
    print(f"{result['lines']} lines on {result['db']}: floor {result['floor']['rows']} rows in {result['floor']['seconds']} s; "
          f"peak RSS {result['peak_rss_mb']} MB; imports {result['import_lines_per_second']} document lines/s")
    print(f"{'phase':<12} {'seconds':>9} {'rows':>10} {'ratio':>7}")
    for name, p in result["phases"].items():
        print(f"{name:<12} {p['seconds']:>9.3f} {p['rows']:>10} {p['ratio'] if p['ratio'] is not None else '-':>7}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("closeout", help="time imports, trial, run, undo, reports and check against the floor")
    c.add_argument("--lines", type=int, required=True)
    c.add_argument("--db", default=None, help="SQLAlchemy URL (default: a SQLite file in a temporary folder)")
    c.add_argument("--json", action="store_true")
    c.add_argument("--workdir", default=None)
    f = sub.add_parser("flow", help="N one-line orders received and invoiced (pledger's side of bench/peer_tryton.py)")
    f.add_argument("--orders", type=int, default=500)
    f.add_argument("--db", default=None, help="SQLAlchemy URL (default: a SQLite file in a temporary folder)")
    f.add_argument("--json", action="store_true")
    f.add_argument("--workdir", default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pledger-bench-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        if args.command == "flow":
            result = flow_bench(args.orders, args.db, workdir)
            print(json.dumps(result) if args.json else
                  f"{result['orders']} orders on {result['db']}: setup {result['setup_seconds']} s, flow {result['flow_seconds']} s, "
                  f"{result['entries']} entries, all balanced, check passed")
            return 0
        result = closeout_bench(args.lines, args.db, workdir)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
