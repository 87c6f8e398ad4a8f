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


def test_a_raise_and_receipts_at_once_never_receive_beyond_the_line(books):
    """An over-delivery raised while its receipts post: a receipt either finds the line as
    it was (and is refused beyond it) or as raised, never half of each. Line 1 expects 4
    more; three receipts of 2 and a raise to 16 run in four processes at once."""
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "3.33"), ("BOLT", 5, "1.01"))
        receive(s, "PO-1", 1, 6)
    env = {**os.environ, "PLEDGER_DB": books.url, "PLEDGER_USER": "proc"}
    commands = [["po", "raise", "PO-1", "--line", "1=16", "--reason", "more came"]] + [
        ["po", "receive", "PO-1", "--receipt", f"R-{n}", "--line", "1=2", "--line", "2=0", "--date", "2026-06-30"]
        for n in range(1, 4)]
    procs = [subprocess.Popen([PLEDGER, *c], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in commands]
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert "Traceback" not in err and "deadlock" not in err, err
        assert p.returncode == 0 or "over-receipt refused" in err, err
    assert procs[0].returncode == 0, outputs[0][1]
    accepted = sum(p.returncode == 0 for p in procs[1:])
    (quantity, received), = books.raw("select quantity, received from order_lines where line_no = 1").all()
    assert quantity == 16_000_000  # stored with 6 decimals
    assert received == (6 + 2 * accepted) * 1_000_000 and received <= quantity
    assert {r[0] for r in books.raw("select number from receipts where number like 'R-%'")} == {
        f"R-{n}" for n, p in enumerate(procs[1:], 1) if p.returncode == 0}  # a refused receipt left nothing
    with books.session() as s:
        assert check_books(s) == []
