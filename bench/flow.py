"""`python -m bench flow --orders N`: pledger's side of the comparison with Tryton 8.2.

The same flow `bench/tryton_flow.py` drives in Tryton: N purchase orders of one line,
each fully received, then invoiced; every entry checked balanced. pledger's batch way is
its imports (the CSV files users import, each one transaction), so the flow is: import
the orders, the receipts, the invoices. Timed as whole wall time from a fresh database:
`setup` (migrations, chart, journals, year, one supplier and one item) and `flow` (the
three imports with their postings), then `check` (every entry balanced, journal numbers
gapless, hash chain, GR/IR tie-out) outside the timing.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.database import drop_database, fresh_database
from bench.generate import document_writers
from ledger.db import make_engine, make_sessionmaker
from ledger.models import Entry, EntryLine
from migrations import runner
from matching.checks import check_books
from purchase.imports import import_file
from purchase.settings import install_defaults


def write_flow(folder: Path, orders: int, year: int) -> dict[str, Path]:
    """One supplier, one item, `orders` orders of one line: received in full, invoiced in full."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}.csv" for k in ("suppliers", "items", "orders", "receipts", "invoices")}
    paths["suppliers"].write_text("code,name,currency,vat_number\nS001,Supplier NV,EUR,BE0100000007\n")
    paths["items"].write_text("code,description,stock_item\nIT0001,Item 1,true\n")
    day = dt.date(year, 3, 2)
    with document_writers(paths) as (wo, wr, wi):
        for n in range(1, orders + 1):
            order = f"PO{n:06d}"
            wo.writerow([order, "S001", day.isoformat(), 1, "IT0001", "5", "12.3456", "21"])
            wr.writerow([f"R{n:06d}", (day + dt.timedelta(days=2)).isoformat(), order, 1, "5"])
            wi.writerow([f"I{n:06d}", f"F{n:06d}", (day + dt.timedelta(days=3)).isoformat(), order, 1, "5", "12.3456", "21"])
    return paths


def flow_bench(orders: int, db: str | None, workdir: Path) -> dict:
    year = dt.date.today().year
    paths = write_flow(workdir / "flow", orders, year)
    start = time.perf_counter()
    url = fresh_database(db, workdir, "flow")
    engine = make_engine(url)
    runner.upgrade(engine)
    maker = make_sessionmaker(engine)
    with maker() as s:
        install_defaults(s, "EUR", dt.date(year, 1, 1))
        s.commit()
    for kind in ("suppliers", "items"):
        with maker() as s:
            import_file(s, kind, paths[kind], "bench")
            s.commit()
    setup = time.perf_counter() - start
    start = time.perf_counter()
    for kind in ("orders", "receipts", "invoices"):
        with maker() as s:
            import_file(s, kind, paths[kind], "bench")
            s.commit()
    flow = time.perf_counter() - start
    with maker() as s:
        breaches = check_books(s)
        entries = s.scalar(select(func.count()).select_from(Entry))
        unbalanced = s.scalar(select(func.count()).select_from(
            select(EntryLine.entry_id).group_by(EntryLine.entry_id)
            .having(func.sum(EntryLine.debit) != func.sum(EntryLine.credit)).subquery()))
    engine.dispose()
    drop_database(url)
    if breaches or unbalanced:
        raise SystemExit(f"check failed: {breaches[:1]} {unbalanced} unbalanced entries")
    return {"tool": "pledger", "orders": orders, "db": engine.dialect.name, "setup_seconds": round(setup, 3),
            "flow_seconds": round(flow, 3), "seconds_per_order": round(flow / orders, 6), "entries": entries,
            "entries_checked_balanced": entries, "unbalanced": unbalanced, "check": "passed"}
