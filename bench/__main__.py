"""`python -m bench closeout --lines N --db URL [--json]`: time a whole close-out cycle.

In one run, on one fresh database: the imports with their postings (suppliers, items,
orders, receipts, invoices: the CSV path users take), the close-out trial, the real
run, the posting report written as XLSX and PDF, the undo, and `check`; and, on the same
database, the floor: the raw driver writing as many rows as the real run wrote
(executemany on SQLite, COPY on PostgreSQL). Each phase's ratio is its seconds over the
floor's seconds scaled to the phase's rows. Also the schema floor (`bench.floor.schema_floor`):
the database alone copying the rows the real run inserted into empty copies of their
tables, with the same indexes and foreign keys, and rewriting the closed lines' state;
what the schema costs before any program's work. And the floor with references
(`bench.floor.references_floor`): as many rows as two-line journal entries into tables
with foreign keys, the kind of table that reproduces the issue's own PostgreSQL figure for
its floor (`bench/scale.py`); each phase's `ratio_references` is against it. And the driver floor
(`bench.floor.driver_floor`): the same rows sent by the raw driver from Python into copies
that hold the rest of the book, as a program must send them.

Each phase runs in a process of its own, as a user's commands do (`pledger import`,
`pledger closeout run`, ...), and reports its own seconds (from the first database
statement to the commit; the interpreter's start is left out) and its peak resident
memory (VmHWM; the report phases reset it after the run they follow).

`python -m bench lean BOOK.db`: see `bench/lean.py`; `python -m bench reads --db URL`: see
`bench/reads.py`; `python -m bench growth --small N --large M [--db URL]`: see `bench/growth.py`.
`python -m bench passes --lines N [--db URL] [--vacuum]`: the imports, then the trial, the
trial again and the real run on one book (`passes_bench`). `python -m bench flow --orders
N`: see `bench/flow.py`. `python -m bench plot FILE.json...`: see `bench/plot.py`;
`python -m bench table FILE.json...`: see `bench/table.py`; `python -m bench scale [--db URL]`:
the issue's own scale figures measured again (`bench/scale.py`); `python -m bench report
REPORT.json -o FILE.pdf`: see `bench/report.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.database import drop_database, fresh_database
from bench.floor import driver_floor, floor_seconds, references_floor, schema_floor
from bench.generate import write_book
from ledger.db import make_engine, make_sessionmaker

WRITTEN = ("purchase_orders", "order_lines", "receipts", "receipt_lines", "invoices", "invoice_lines", "entries",
           "entry_lines", "closeouts", "closeout_lines", "closeout_entries")
KINDS = ("suppliers", "items", "orders", "receipts", "invoices")


def counts(connection) -> dict[str, int]:
    return {t: connection.execute(text(f"select count(*) from {t}")).scalar() for t in WRITTEN}


def written(before: dict, after: dict) -> int:
    return sum(after[t] - before[t] for t in WRITTEN)


def import_book(maker, workdir: Path) -> int:
    """Import the generated book in workdir/book, each file in a transaction of its own, as
    `pledger import` does; the document lines imported."""
    from purchase.imports import import_file

    total = 0
    for kind in KINDS:
        with maker() as s:
            total += import_file(s, kind, workdir / "book" / f"{kind}.csv", "bench").rows
            s.commit()
    return total


# -- inside a phase's own process ---------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started or since `reset_peak`."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def phase(name: str, url: str, workdir: Path, closeout: int | None, details: bool, files: bool = True) -> dict:
    """One phase, timed from its first statement to its commit; returns what it measured.
    A run with `details` then writes the posting report as XLSX and PDF (timed apart),
    unless `files` is false."""
    from cli.commands.closeout import report_tables
    from cli.formats import write_pdf, write_xlsx
    from cli.output import stream_json
    from matching.closeout import UndoSelection, run_closeout, undo_closeouts
    from matching.selection import Selection
    from matching.checks import check_books

    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    year = dt.date.today().year
    closeout_date = dt.date(year, 12, 31)
    out: dict = {}
    if name == "check":
        with engine.connect() as c:
            counted = counts(c)
        out["rows"] = counted["entries"] + counted["entry_lines"]
    start = time.perf_counter()
    if name == "start":
        pass  # the process's start only (modules, engine): what `bench instructions` takes off
    elif name == "import":
        total = import_book(maker, workdir)
        out["document_lines"] = total
    elif name == "trial":
        with maker() as s:
            before = counts(s.connection())
            start = time.perf_counter()  # the trial as `closeout run --trial` does it: run, then roll back
            report = run_closeout(s, Selection(), user="bench", date=closeout_date, close_fully=True, trial=True, keep_details=False)
            counting = time.perf_counter()
            out["rows"] = written(before, counts(s.connection()))
            start += time.perf_counter() - counting  # the counting is not the trial's time
            s.rollback()
        out["totals"] = report.json_view()["totals"]
    elif name == "run":
        with maker() as s:
            report = run_closeout(s, Selection(), user="bench", date=closeout_date, close_fully=True, keep_details=details)
            s.commit()
        out.update(totals=report.json_view()["totals"], closeout=report.closeout, line_count=report.line_count,
                   entry_count=report.entry_count)
    elif name == "undo":
        with maker() as s:
            undo_closeouts(s, UndoSelection(numbers=(closeout, closeout)), user="bench", date=closeout_date, keep_details=False)
            s.commit()
    elif name == "check":
        with maker() as s:
            breaches = check_books(s)
        out["breaches"] = [str(b) for b in breaches[:5]]
    else:
        raise SystemExit(f"unknown phase {name}")
    out["seconds"] = round(time.perf_counter() - start, 3)
    out["peak_rss_mb"] = peak_rss_mb()
    if name == "run" and details and files:
        # as `pledger closeout run --report` writes it: streamed from the report's spill
        view = report.json_view()
        with open(workdir / "report.json", "w", encoding="utf-8") as f:  # for `bench report` (not timed)
            stream_json(view, f.write)
        tables = report_tables(view, report.entry_line_count)
        for kind, write in (("xlsx", lambda: write_xlsx(tables, str(workdir / "report.xlsx"))),
                            ("pdf", lambda: write_pdf(tables, str(workdir / "report.pdf"), document_title="bench posting report"))):
            reset_peak()
            started = time.perf_counter()
            write()
            out[f"report_{kind}"] = {"seconds": round(time.perf_counter() - started, 3), "rows": len(tables[0].rows),
                                     "peak_rss_mb": peak_rss_mb()}
    engine.dispose()
    return out


# -- the driver ---------------------------------------------------------------------------


CHECKOUT = Path(__file__).resolve().parent.parent
"""The checkout a phase's process runs from (its code, whichever worktree this is)."""


def phase_command(name: str, url: str, workdir: Path, closeout: int | None = None, details: bool = False,
                  files: bool = True) -> list[str]:
    """The command that runs one phase in a process of its own, from `CHECKOUT`."""
    args = [sys.executable, "-m", "bench", "phase", name, "--url", url, "--workdir", str(workdir)]
    if closeout is not None:
        args += ["--closeout", str(closeout)]
    if details:
        args.append("--details")
    if not files:
        args.append("--no-files")
    return args


def run_phase(name: str, url: str, workdir: Path, closeout: int | None = None, details: bool = False,
              files: bool = True) -> dict:
    done = subprocess.run(phase_command(name, url, workdir, closeout, details, files), capture_output=True, text=True,
                          cwd=CHECKOUT)
    if done.returncode != 0:
        raise SystemExit(f"bench phase {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fresh_defaults(db: str | None, workdir: Path, name: str = "bench"):
    """A fresh database (`bench.database.fresh_database`), migrated, with the defaults
    installed; returns (URL, engine)."""
    from migrations import runner
    from purchase.settings import install_defaults

    url = fresh_database(db, workdir, name)
    engine = make_engine(url)
    runner.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        install_defaults(s, "EUR", dt.date(dt.date.today().year, 1, 1))
        s.commit()
    return url, engine


def fresh_book(lines: int, db: str | None, workdir: Path):
    """A fresh database with the defaults installed, and a generated book of `lines` order
    lines written as CSV files in workdir/book; returns (URL, engine)."""
    url, engine = fresh_defaults(db, workdir)
    write_book(workdir / "book", lines, year=dt.date.today().year)
    return url, engine


def passes_bench(lines: int, db: str | None, workdir: Path, vacuum: bool = False) -> dict:
    """The close-out passes one after the other on one book: the imports, then (optionally
    a VACUUM (ANALYZE), PostgreSQL only), the trial, the trial again and the real run, each
    in its own process as in `closeout_bench`. Shows what each pass costs the next one (a
    rolled-back trial's dead rows stay where nothing vacuums them)."""
    url, engine = fresh_book(lines, db, workdir)
    result: dict = {"lines": lines, "db": engine.dialect.name, "passes": []}
    try:
        result["import"] = run_phase("import", url, workdir)["seconds"]
        if vacuum and engine.dialect.name == "postgresql":
            started = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM (ANALYZE)"))
            result["vacuum"] = round(time.perf_counter() - started, 3)
        for name in ("trial", "trial", "run"):
            done = run_phase(name, url, workdir)
            result["passes"].append({"phase": name, "seconds": done["seconds"], "totals": done["totals"]})
        if len({json.dumps(p["totals"], sort_keys=True) for p in result["passes"]}) != 1:
            raise SystemExit("the passes posted different totals")
    finally:
        engine.dispose()
        drop_database(url)
    return result


def closeout_bench(lines: int, db: str | None, workdir: Path, keep: bool = False) -> dict:
    url, engine = fresh_book(lines, db, workdir)
    phases: dict[str, dict] = {}

    def timed(name: str, **kw) -> dict:
        with engine.connect() as c:
            before = counts(c)
        result = run_phase(name, url, workdir, **kw)
        with engine.connect() as c:
            rows = result.pop("rows", None)
            phases[name] = {"seconds": result.pop("seconds"), "rows": written(before, counts(c)) if rows is None else rows,
                            "peak_rss_mb": result.pop("peak_rss_mb")}
        for report in ("report_xlsx", "report_pdf"):
            if report in result:
                phases[report] = result.pop(report)
        return result

    imported = timed("import")
    phases["import"]["document_lines"] = imported["document_lines"]
    trial = timed("trial")
    # the run keeps the posting report's details at every size, as `pledger closeout run` does
    # (in a spill on disk), for the XLSX and PDF that follow it
    run = timed("run", details=True)
    if trial["totals"] != run["totals"]:
        raise SystemExit("the trial and the real run differ")
    timed("undo", closeout=run["closeout"])
    check = timed("check")
    if check["breaches"]:
        raise SystemExit(f"check failed: {check['breaches'][0]}")

    floor_rows = phases["run"]["rows"]
    floor = {"rows": floor_rows, "seconds": round(floor_seconds(engine, floor_rows), 3)}
    per_row = floor["seconds"] / floor_rows if floor_rows else 0
    with engine.connect() as c:
        closeout_id = c.execute(text("select id from closeouts where number = :n"), {"n": run["closeout"]}).scalar()
    schema = schema_floor(engine, closeout_id) if closeout_id is not None else None
    by_driver = driver_floor(engine, closeout_id) if closeout_id is not None else None
    with_references = references_floor(engine, floor_rows) if floor_rows else None
    per_row_references = with_references["seconds"] / with_references["rows"] if with_references else 0
    for p in phases.values():
        p["ratio"] = round(p["seconds"] / (per_row * p["rows"]), 2) if per_row and p["rows"] else None
        p["ratio_references"] = (round(p["seconds"] / (per_row_references * p["rows"]), 2)
                                 if per_row_references and p["rows"] else None)
    result = {
        "lines": lines,
        "db": engine.dialect.name,
        "floor": floor,
        "schema_floor": schema,
        "driver_floor": by_driver,
        "references_floor": with_references,
        "peak_rss_mb": max(p["peak_rss_mb"] for p in phases.values()),
        "closeout_peak_rss_mb": max(phases[p]["peak_rss_mb"] for p in ("trial", "run", "undo")),
        "phases": phases,
        "closeout_lines": run["line_count"],
        "closeout_entries": run["entry_count"],
        "import_lines_per_second": round(phases["import"]["document_lines"] / phases["import"]["seconds"]),
        "seconds_per_line": {name: p["seconds"] / lines for name, p in phases.items()},
        "check": "passed",
        "date": dt.date.today().isoformat(),
    }
    engine.dispose()
    if not keep:
        drop_database(url)
    return result


def print_table(result: dict) -> None:
    print(f"{result['lines']} lines on {result['db']}: floor {result['floor']['rows']} rows in {result['floor']['seconds']} s; "
          f"imports {result['import_lines_per_second']} document lines/s; peak RSS {result['peak_rss_mb']} MB "
          f"(close-out {result['closeout_peak_rss_mb']} MB)")
    schema = result.get("schema_floor")
    if schema:
        print(f"schema floor: {schema['rows']} rows inserted and {schema['updated']} order lines rewritten by the database "
              f"alone in {schema['seconds']} s ({schema['seconds'] / result['floor']['seconds']:.1f} x the floor)")
    by_driver = result.get("driver_floor")
    if by_driver:
        print(f"driver floor: the same rows sent by the driver into copies holding the book in {by_driver['seconds']} s "
              f"({by_driver['seconds'] / result['floor']['seconds']:.1f} x the floor)")
    with_references = result.get("references_floor")
    if with_references:
        print(f"floor with references: {with_references['rows']} rows as two-line entries into tables with foreign keys "
              f"in {with_references['seconds']} s ({with_references['seconds'] / result['floor']['seconds']:.1f} x the floor)")
    print(f"{'phase':<12} {'seconds':>9} {'rows':>10} {'ratio':>7} {'x refs':>7} {'peak MB':>8}")
    for name, p in result["phases"].items():
        dash = lambda v: "-" if v is None else v
        print(f"{name:<12} {p['seconds']:>9.3f} {p['rows']:>10} {dash(p['ratio']):>7} {dash(p.get('ratio_references')):>7} "
              f"{p['peak_rss_mb']:>8}")


def fresh_db_help(name: str, sqlite: str, *, left: bool = False) -> str:
    """What `--db` does in a bench that makes a fresh database (`bench.database.fresh_database`):
    the help said "SQLAlchemy URL (of a server)", as if it used the database the URL names
    (review of 7 December 2026)."""
    end = ("left for pledger commands (its URL printed at the end; drop it when done)" if left
           else "dropped at the end")
    return (f"a PostgreSQL server's SQLAlchemy URL: a new database {name} is made on that server and {end}; "
            f"the URL's own database is only connected to, to make it. Not given, or a SQLite URL (its file is not used): "
            f"{sqlite}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("closeout", help="time imports, trial, run, undo, reports and check against the floor")
    c.add_argument("--lines", type=int, required=True)
    c.add_argument("--db", default=None, help=fresh_db_help("pledger_bench_<pid>", "bench.db in --workdir (default: a temporary folder)"))
    c.add_argument("--json", action="store_true")
    c.add_argument("--workdir", default=None)
    c.add_argument("--out", default=None, help="also write the JSON result to this file")
    f = sub.add_parser("flow", help="N one-line orders received and invoiced (pledger's side of bench/peer_tryton.py)")
    f.add_argument("--orders", type=int, default=500)
    f.add_argument("--db", default=None, help=fresh_db_help("pledger_flow_<pid>", "flow.db in --workdir (default: a temporary folder)"))
    f.add_argument("--json", action="store_true")
    f.add_argument("--workdir", default=None)
    ps = sub.add_parser("passes", help="imports, then trial, trial again and run on one book: what each pass costs the next")
    ps.add_argument("--lines", type=int, required=True)
    ps.add_argument("--db", default=None, help=fresh_db_help("pledger_bench_<pid>", "bench.db in --workdir (default: a temporary folder)"))
    ps.add_argument("--vacuum", action="store_true", help="VACUUM (ANALYZE) after the imports (PostgreSQL)")
    ps.add_argument("--workdir", default=None)
    b = sub.add_parser("book", help="a generated book of N lines, imported with its postings, left for pledger commands")
    b.add_argument("--lines", type=int, required=True)
    b.add_argument("--db", default=None, help=fresh_db_help("pledger_bench_<pid>", "WORKDIR/bench.db", left=True))
    b.add_argument("--workdir", required=True, help="where the CSV files (and the SQLite file) go")
    p = sub.add_parser("plot", help="seconds per line against N, per phase and database, as a PNG")
    p.add_argument("results", nargs="+", help="JSON files written by `closeout --out`")
    p.add_argument("-o", "--output", default="docs/benchmarks.png")
    t = sub.add_parser("table", help="the Markdown tables of docs/benchmarks.md from JSON results")
    t.add_argument("results", nargs="+", help="JSON files written by `closeout --out`")
    r = sub.add_parser("report", help="time the XLSX or PDF writer on a saved posting report (see bench/report.py)")
    r.add_argument("report", help="a posting report as JSON (pledger closeout run --report FILE.json)")
    r.add_argument("-o", "--output", required=True, help="the file to write: .pdf or .xlsx")
    le = sub.add_parser("lean", help="the least Python a full close-out needs, beside pledger's, on a SQLite book (bench/lean.py)")
    le.add_argument("book", help="a SQLite book made by `python -m bench book` (WORKDIR/bench.db); it is copied, never changed")
    le.add_argument("--rounds", type=int, default=3)
    le.add_argument("--out", default=None, help="also write the JSON result to this file")
    rd = sub.add_parser("reads", help="how fast the batch paths read order lines, on a book (bench/reads.py)")
    rd.add_argument("--db", required=True, help="SQLAlchemy URL of a book made by `python -m bench book`")
    rd.add_argument("--rounds", type=int, default=5)
    sc = sub.add_parser("scale", help="the issue's scale figures again: 100,000 two-line entries written several ways "
                        "(bench/scale.py)")
    sc.add_argument("--entries", type=int, default=100_000)
    sc.add_argument("--rounds", type=int, default=3)
    sc.add_argument("--orm", action="store_true", help="also the ORM's add_all (about 40 s a round)")
    sc.add_argument("--db", default=None, help=fresh_db_help("pledger_scale_<way>_<pid> for each way",
                                                             "scale_<way>.db in --workdir (default: a temporary folder)"))
    sc.add_argument("--workdir", default=None)
    sc.add_argument("--out", default=None, help="also write the JSON result to this file")
    ins = sub.add_parser("instructions", help="the instructions a phase executes (valgrind's callgrind), less the "
                         "process's start: a measure that does not move with the machine's speed (bench/instructions.py)")
    ins.add_argument("name", help="import, trial, run, undo or check")
    ins.add_argument("--url", required=True, help="the book's database; the phase changes it: give it a copy")
    ins.add_argument("--workdir", required=True, help="where the book's CSV files are (WORKDIR/book), for the import")
    ins.add_argument("--closeout", type=int, default=None, help="the close-out to undo")
    ins.add_argument("--details", action="store_true", help="the run keeps the posting report's details")
    ins.add_argument("--no-files", dest="files", action="store_false",
                     help="the run with details writes no report files (JSON, XLSX, PDF) after its commit")
    ph = sub.add_parser("phase", help=argparse.SUPPRESS)  # one phase in its own process (used by `closeout`)
    ph.add_argument("name")
    ph.add_argument("--url", required=True)
    ph.add_argument("--workdir", required=True)
    ph.add_argument("--closeout", type=int, default=None)
    ph.add_argument("--details", action="store_true")
    ph.add_argument("--no-files", dest="files", action="store_false")
    g = sub.add_parser("growth", help="time per line at two sizes, each phase run on both books back to back "
                       "(bench/growth.py)")
    g.add_argument("--small", type=int, default=10_000)
    g.add_argument("--large", type=int, default=1_000_000)
    g.add_argument("--rounds", type=int, default=3)
    g.add_argument("--db", default=None, help=fresh_db_help("pledger_growth_<lines>_<pid> for each size, each round,",
                                                            "growth_<lines>.db in --workdir/lines_<lines> (default: a temporary folder)"))
    g.add_argument("--workdir", default=None)
    g.add_argument("--out", default=None, help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    if args.command == "phase":
        print(json.dumps(phase(args.name, args.url, Path(args.workdir), args.closeout, args.details, args.files)))
        return 0
    if args.command == "instructions":
        from bench.instructions import instructions

        print(json.dumps(instructions(args.name, args.url, Path(args.workdir), args.closeout, args.details, args.files)))
        return 0
    if args.command == "report":
        from bench.report import write_report

        print(json.dumps(write_report(Path(args.report), Path(args.output))))
        return 0
    if args.command == "plot":
        from bench.plot import plot

        plot([json.loads(Path(r).read_text()) for r in args.results], Path(args.output))
        print(f"wrote {args.output}")
        return 0
    if args.command == "table":
        from bench.table import tables

        print(tables([json.loads(Path(r).read_text()) for r in args.results]))
        return 0
    if args.command == "lean":
        from bench.lean import lean_bench, print_lean

        if not Path(args.book).is_file():
            raise SystemExit(f"no SQLite book at {args.book}: make one with `python -m bench book --lines N --workdir W` (W/bench.db)")
        result = lean_bench(Path(args.book), args.rounds)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1))
        print_lean(result)
        return 0
    if args.command == "scale":
        from bench.scale import print_scale, scale_bench

        result = scale_bench(args.db, args.entries, args.rounds, args.orm, Path(args.workdir) if args.workdir else None)
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=1))
        print_scale(result)
        return 0
    if args.command == "reads":
        from bench.reads import print_reads, reads_bench

        print_reads(reads_bench(args.db, args.rounds))
        return 0
    if args.command == "book":
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        url, engine = fresh_book(args.lines, args.db, workdir)
        engine.dispose()
        imported = run_phase("import", url, workdir)
        print(f"{imported['document_lines']} document lines imported in {imported['seconds']} s; the book: pledger --db {url}")
        return 0
    with tempfile.TemporaryDirectory(prefix="pledger-bench-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.command == "flow":
            from bench.flow import flow_bench

            result = flow_bench(args.orders, args.db, workdir)
            print(json.dumps(result) if args.json else
                  f"{result['orders']} orders on {result['db']}: setup {result['setup_seconds']} s, flow {result['flow_seconds']} s, "
                  f"{result['entries']} entries, all balanced, check passed")
            return 0
        if args.command == "growth":
            from bench.growth import growth_bench, print_growth

            result = growth_bench(args.small, args.large, args.db, workdir, args.rounds)
            if args.out:
                Path(args.out).write_text(json.dumps(result, indent=1))
            print_growth(result)
            return 0
        if args.command == "passes":
            result = passes_bench(args.lines, args.db, workdir, args.vacuum)
            extra = f", vacuum {result['vacuum']} s" if "vacuum" in result else ""
            print(f"{result['lines']} lines on {result['db']}: import {result['import']} s{extra}, "
                  + ", ".join(f"{p['phase']} {p['seconds']} s" for p in result["passes"]) + "; the same totals each pass")
            return 0
        result = closeout_bench(args.lines, args.db, workdir)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
