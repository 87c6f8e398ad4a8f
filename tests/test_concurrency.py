"""Two (and more) real processes closing out overlapping lines at once never close a
quantity twice: SQLite queues them on BEGIN IMMEDIATE, PostgreSQL on row locks."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from matching.checks import check_books
from tests.builders import D, invoice, item, order, receive, supplier

PLEDGER = str(Path(sys.executable).with_name("pledger"))


def test_overlapping_closeouts_in_parallel_processes(books, tmp_path):
    with books.session() as s:
        supplier(s)
        item(s)
        for n in range(1, 41):
            order(s, f"PO-{n:02d}", ("BOLT", 10, "3.33"), ("BOLT", 7, "1.01"))
            receive(s, f"PO-{n:02d}", 1, 4)
            invoice(s, f"PO-{n:02d}", 2, 3)
    ranges = ["PO-01..PO-25", "PO-10..PO-35", "PO-20..PO-40", "PO-05..PO-30"]
    env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "proc"}
    procs = [
        subprocess.Popen([PLEDGER, "closeout", "run", "--order", r, "--close-fully", "--date", "2026-06-30", "--format", "json"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in ranges
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    numbers = [r[0] for r in books.raw("select number from closeouts order by number")]
    assert numbers == list(range(1, len(numbers) + 1))
    # no quantity closed twice: per line, what its close-outs lowered is what the line says was lowered
    rows = books.raw(
        "select ol.id, ol.lowered_receive, ol.lowered_invoice, "
        "coalesce(sum(cl.to_receive_before - cl.to_receive_after), 0), coalesce(sum(cl.to_invoice_before - cl.to_invoice_after), 0), count(cl.id) "
        "from order_lines ol left join closeout_lines cl on cl.order_line_id = ol.id group by ol.id, ol.lowered_receive, ol.lowered_invoice"
    ).all()
    assert len(rows) == 80
    for line_id, lr, li, sum_r, sum_i, closed in rows:
        assert (lr, li) == (sum_r, sum_i), line_id
        assert closed == 1, f"line {line_id} closed {closed} times"
    with books.session() as s:
        assert check_books(s) == []
