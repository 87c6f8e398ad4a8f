"""The edges of a close-out's selection and report (mutation testing, second round).

A whole selection (`--close-fully`, no edits file) is worked in the sort asked, as an
edits file is (tests/test_closeout.py); the posting report's totals per account are each
account's own debits and credits.
"""

import csv
import datetime as dt
import io

from tests.builders import GR, IR, UNINVOICED, UNRECEIVED, invoice, order, receive
from tests.test_closeout import acme, run  # noqa: F401 (the fixture)


def test_a_whole_selection_is_closed_in_the_sort_asked(acme):
    """PO-A (BETA, 05-01), PO-B (ACME, 05-03, two lines), PO-C (ACME, 05-02): by number
    A B C, by supplier (code, then number) B C A, by order date A C B."""
    with acme.session() as s:
        order(s, "PO-A", ("BOLT", 10, "5.00"), supplier_code="BETA", date=dt.date(2026, 5, 1))
        order(s, "PO-B", ("BOLT", 10, "5.00"), ("BOLT", 10, "5.00"), date=dt.date(2026, 5, 3))
        order(s, "PO-C", ("BOLT", 10, "5.00"), date=dt.date(2026, 5, 2))
        for number, line in (("PO-A", 1), ("PO-B", 1), ("PO-B", 2), ("PO-C", 1)):
            receive(s, number, line, 4)
    for sort, expected in (("order", ["PO-A", "PO-B", "PO-C"]), ("supplier", ["PO-B", "PO-C", "PO-A"]),
                           ("date", ["PO-A", "PO-C", "PO-B"])):
        report = run(acme, "run", "--close-fully", "--date", "2026-06-30", "--trial", "--sort", sort)
        assert [e["lines"][0]["order"] for e in report["entries"]] == expected, sort
        assert [(l["order"], l["line"]) for l in report["lines"]] == [
            (o, n) for o in expected for n in ((1, 2) if o == "PO-B" else (1,))], sort
    report = run(acme, "run", "--close-fully", "--date", "2026-06-30", "--sort", "date")
    assert [(e["lines"][0]["order"], e["number"]) for e in report["entries"]] == [("PO-A", 1), ("PO-C", 2), ("PO-B", 3)]


def test_the_posting_reports_totals_per_account_are_each_accounts_debits_and_credits(acme, tmp_path):
    """The exact table (1,000 received never invoiced, 1,000 invoiced never received), and
    a second receipt line of 250 closed with it: GR is debited 1,250, IR credited 1,000."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"), ("BOLT", 5, "50.00"))
        order(s, "PO-2", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 10)
        receive(s, "PO-1", 2, 5)
        invoice(s, "PO-2", 1, 10)
    for trial in (["--trial"], []):
        report = run(acme, "run", "--close-fully", "--date", "2026-06-30", *trial)
        assert report["accounts"] == [
            {"account": a, "name": report["accounts"][i]["name"], "debit": d, "credit": c}
            for i, (a, d, c) in enumerate(sorted([(GR, "1250.00", "0.00"), (IR, "0.00", "1000.00"),
                                                  (UNRECEIVED, "1000.00", "0.00"), (UNINVOICED, "0.00", "1250.00")]))
        ], trial
        assert report["totals"] == {"debit": "2250.00", "credit": "2250.00", "balanced": True}
    csv_path = tmp_path / "undo.csv"
    result = acme.cli("closeout", "undo", "--number", "1", "--date", "2026-06-30", "--report", str(csv_path))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    at = rows.index(["account", "name", "debit", "credit"])  # the undo's totals per account, in the CSV report
    assert [(r[0], r[2], r[3]) for r in rows[at + 1 : at + 6]] == [
        (GR, "0.00", "1250.00"), (IR, "1000.00", "0.00"), (UNRECEIVED, "0.00", "1000.00"), (UNINVOICED, "1250.00", "0.00"),
        ("Total", "2250.00", "2250.00")]
