"""Time one writer of the posting report (XLSX or PDF) on a saved posting report.

    python -m bench report REPORT.json -o OUT.pdf      (or OUT.xlsx)
    PYTHONPATH=OTHER_CHECKOUT python bench/report.py REPORT.json -o OUT.pdf

REPORT.json is the posting report as `pledger closeout run ... --report FILE.json` writes
it; `python -m bench closeout --workdir W` leaves the real run's in W/report.json (up to
its detail limit). The second form runs the writer of another checkout on the same
report: an A/B of two versions of `cli.formats` without rebuilding the book.

Prints one JSON object: the rows of each table, the seconds the writer took, the
resident memory before it started (`base_mb`: the loaded report, its tables) and the
peak while it wrote (`peak_mb`, VmHWM reset just before), and the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def write_report(report: Path, output: Path) -> dict:
    from bench.__main__ import peak_rss_mb, reset_peak
    from cli.commands.closeout import report_tables
    from cli.formats import write_table_file

    tables = report_tables(json.loads(report.read_text(encoding="utf-8")))
    reset_peak()
    base = peak_rss_mb()
    started = time.perf_counter()
    write_table_file(tables, output, document_title="bench posting report")
    return {"rows": [len(t.rows) for t in tables], "seconds": round(time.perf_counter() - started, 3),
            "base_mb": base, "peak_mb": peak_rss_mb(), "bytes": os.path.getsize(output)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/report.py")
    parser.add_argument("report", help="a posting report as JSON (pledger closeout run --report FILE.json)")
    parser.add_argument("-o", "--output", required=True, help="the file to write: .pdf or .xlsx")
    args = parser.parse_args(argv)
    print(json.dumps(write_report(Path(args.report), Path(args.output))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
