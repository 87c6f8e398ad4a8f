"""The edges of a close-out's selection and report (mutation testing, second round).

A whole selection (`--close-fully`, no edits file) is worked in the sort asked, as an
edits file is (tests/test_closeout.py); the posting report's totals per account are each
account's own debits and credits.
"""

import csv
import datetime as dt
import io
import json
from decimal import Decimal

from tests.builders import GR, IR, PRICE_DIFF, UNINVOICED, UNRECEIVED, balance, invoice, order, receive, three_orders_to_sort
from tests.test_closeout import acme, edits_file, entry_lines, refused, run  # noqa: F401 (the fixture)


def test_a_whole_selection_is_closed_in_the_sort_asked(acme):
    """PO-A (BETA, 05-01), PO-B (ACME, 05-03, two lines), PO-C (ACME, 05-02): by number
    A B C, by supplier (code, then number) B C A, by order date A C B."""
    with acme.session() as s:
        three_orders_to_sort(s)
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
    at = rows.index(["account", "name", "debit", "credit", "closeout", "undo_of", "trial"])  # the undo's totals per account
    assert [(r[0], r[2], r[3]) for r in rows[at + 1 : at + 6]] == [
        (GR, "0.00", "1250.00"), (IR, "1000.00", "0.00"), (UNRECEIVED, "0.00", "1000.00"), (UNINVOICED, "1250.00", "0.00"),
        ("Total", "2250.00", "2250.00")]


def test_an_edits_file_that_keeps_every_value_takes_no_number(acme, tmp_path):
    """DOMAIN.md: a run that lowers nothing takes no close-out number; an open line whose
    row gives its quantities as they stand is not lowered."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 4)
    path = tmp_path / "edits.csv"
    path.write_text("order,line,to_receive,to_invoice\nPO-1,1,6,10\n")
    report = run(acme, "run", "--edits", str(path), "--date", "2026-06-30")
    assert (report["closeout"], report["lines"], report["entries"]) == (None, [], [])
    assert acme.raw("select count(*) from closeouts").scalar() == 0
    report = run(acme, "run", "--close-fully", "--date", "2026-06-30")
    assert report["closeout"] == 1


def test_a_saved_trial_is_refused_once_a_posting_account_it_showed_has_moved(acme, tmp_path):
    """The lines are as the trial read them, but the uninvoiced receipts now go to another
    account: the real run would post what nobody reviewed."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 4)
    saved = tmp_path / "trial.jsonl"
    run(acme, "run", "--close-fully", "--trial", "--save", str(saved), "--date", "2026-06-30")
    assert acme.cli("settings", "set", "uninvoiced_receipts", PRICE_DIFF).exit_code == 0
    out = refused(acme, "run", "--from-trial", str(saved))
    assert out == "pledger: the run differs from the reviewed trial, nothing written: re-run the trial and review it again\n"
    assert acme.raw("select count(*) from closeouts").scalar() == 0


def test_an_undo_of_a_hundred_and_twenty_lines_gives_each_its_no_close_out_back(acme):
    """On PostgreSQL from 100 rows the lines are written back by one UPDATE ... FROM unnest()
    of arrays (ledger/bulk.py): a line with no close-out standing any more holds NULL, as a
    line never closed out, not 0."""
    with acme.session() as s:
        order(s, "PO-1", *[("BOLT", 1, "1.00")] * 120)
    assert run(acme, "run", "--close-fully", "--date", "2026-06-30")["closeout"] == 1
    assert acme.raw("select count(*) from order_lines where last_closeout_number = 1").scalar() == 120
    assert acme.cli("closeout", "undo", "--number", "1", "--date", "2026-06-30").exit_code == 0
    assert acme.raw("select count(*) from order_lines where last_closeout_number is null").scalar() == 120


def test_an_edits_row_of_another_supplier_or_date_than_the_selection_is_refused(acme, tmp_path):
    """CLI.md: a row naming a line that is not open in the selection is refused; the
    selection is every option given, the supplier and the order date as well as the order."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "5.00"), date=dt.date(2026, 5, 1))
        order(s, "PO-2", ("BOLT", 10, "5.00"), supplier_code="BETA", date=dt.date(2026, 5, 3))
    path = tmp_path / "edits.csv"
    path.write_text("order,line,to_receive,to_invoice\nPO-1,1,0,0\n")
    for selection in (["--supplier", "BETA"], ["--order-date", "2026-05-02.."]):
        out = refused(acme, "run", *selection, "--edits", str(path), "--date", "2026-06-30")
        assert out == (f"pledger: close-out refused, nothing written (1 problem): {path}: row 2: order PO-1 line 1: "
                       f"not in the selection\n"), selection
    assert acme.raw("select count(*) from closeouts").scalar() == 0


def test_a_close_out_dated_before_the_undo_that_reopened_its_lines_is_refused(acme):
    """Close-out 1 of 06-01 writes off 1,000 invoiced, never received; its undo is dated
    06-20. A close-out of the same line dated 06-10 (or 05-25) would stand beside close-out 1
    as of 06-10..06-19 (06-01..06-19): IR -1,000 on the line and unreceived invoices 2,000 for
    1,000 invoiced
    (audit of 6 December 2026: trial balance as of a day between showed invoices received in
    credit). It is refused, trial too, naming the undo and the date to give; dated on or
    after the undo, or on a line the undone close-out never held, it runs; a lowering that
    posts nothing is left alone (tests/test_closeout.py, the newest older close-out)."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        order(s, "PO-2", ("BOLT", 10, "100.00"))
        invoice(s, "PO-1", 1, 10)
        invoice(s, "PO-2", 1, 10)
    run(acme, "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-01")
    run(acme, "undo", "--number", "1", "--date", "2026-06-20")
    entries = acme.raw("select count(*) from entries").scalar()
    for day, trial in (("2026-06-10", ["--trial"]), ("2026-06-10", []), ("2026-05-25", [])):  # before close-out 1 too
        message = ("pledger: close-out refused, nothing written: on order PO-1 line 1 the write-offs of close-out 1 stood "
                   f"until its undo of 2026-06-20; dated {day}, this close-out would write them off again beside them: "
                   "give --date 2026-06-20 or later\n")
        result = acme.cli("closeout", "run", "--order", "PO-1..PO-2", "--close-fully", "--date", day, *trial)
        assert (result.exit_code, result.stderr) == (1, message), result.output
    assert acme.raw("select count(*) from entries").scalar() == entries
    assert acme.raw("select count(*) from closeouts").scalar() == 1
    assert run(acme, "run", "--order", "PO-2", "--close-fully", "--date", "2026-06-10")["closeout"] == 2
    report = run(acme, "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-20")
    assert (report["closeout"], report["totals"]["debit"]) == (3, "1000.00")
    assert acme.cli("check").exit_code == 0


def _grir_as_of(books, day):
    result = books.cli("report", "grir", "--as-of", day, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    return report["ties"], {(r["order"], r["line"]): (r["gr_balance"], r["ir_balance"]) for r in report["rows"]}


def test_an_undo_dated_before_the_undo_of_a_newer_close_out_on_its_lines_is_refused(acme, tmp_path):
    """Close-out 1 of 06-01 writes off 2 of 4 invoiced, never received (200.00), close-out 2
    of 06-10 the other 2 on top of it; close-out 2 is undone on 06-20. The undo of close-out 1
    dated 06-15 was taken (audit of 6 December 2026): as of 06-15..06-19 close-out 2 stood on
    a line close-out 1 no longer held, the close-outs of the line undone oldest first, which
    DOMAIN.md refuses (IR 200.00, as if close-out 2 alone had lowered it). It is refused as a
    close-out dated before such an undo is, trial too, naming the newer close-out, its undo
    and the date to give; dated on that undo it runs and posts the mirror of close-out 1."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 6)
        invoice(s, "PO-1", 1, 10)
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-1,1,2,\n")
    run(acme, "run", "--order", "PO-1", "--edits", str(edits), "--date", "2026-06-01")
    run(acme, "run", "--order", "PO-1", "--close-fully", "--date", "2026-06-10")
    run(acme, "undo", "--number", "2", "--date", "2026-06-20")
    entries = acme.raw("select count(*) from entries").scalar()
    for day, trial in (("2026-06-15", ["--trial"]), ("2026-06-15", []), ("2026-06-19", []), ("2026-06-05", [])):
        message = ("pledger: undo of close-out 1 refused, nothing written: on order PO-1 line 1 close-out 2 stood on it "
                   f"until its undo of 2026-06-20; dated {day}, this undo would give back close-out 1 while close-out 2 "
                   "still stood (close-outs of a line are undone newest first): give --date 2026-06-20 or later\n")
        result = acme.cli("closeout", "undo", "--number", "1", "--date", day, *trial)
        assert (result.exit_code, result.stderr) == (1, message), result.output
    assert acme.raw("select count(*) from entries").scalar() == entries
    assert acme.raw("select count(*) from closeouts where undone_at is null").scalar() == 1
    report = run(acme, "undo", "--number", "1", "--date", "2026-06-20")
    assert entry_lines(report) == [(IR, "200.00", "0.00", "PO-1", 1), (UNRECEIVED, "0.00", "200.00", "PO-1", 1)]
    for day, ir in (("2026-06-01", "200.00"), ("2026-06-15", "0.00"), ("2026-06-20", "400.00")):
        assert _grir_as_of(acme, day) == (True, {("PO-1", 1): ("0.00", ir)} if ir != "0.00" else {}), day
    assert acme.cli("check").exit_code == 0


def test_an_undo_dated_before_the_close_out_it_settles_a_line_again_under_is_refused(acme, tmp_path):
    """Close-out 1, dated 06-10, lowers to invoice 10 -> 6 before anything came; close-out 2,
    run after it but dated 06-01, lowers it to 3; the 10 received on 06-10 write off 7 as
    they arrive (GR 300.00; dated before close-out 1's 06-10 it is refused:
    `test_a_receipt_dated_before_an_older_close_out_dated_later_on_its_line_is_refused`). Undoing close-out 2 settles the line again under close-out 1,
    writing off 4 (400.00) under it. Dated 06-05 the undo was taken (audit of 6 December
    2026; the receipt then dated 06-02): as of 06-05..06-09 400.00 written off, close-out 1's
    write-off days before close-out 1's date, with no close-out dated by then standing. It is
    refused, trial too, naming close-out 1 and its date; dated on it the undo runs."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("order,line,to_receive,to_invoice\nPO-1,1,,6\n")
    second.write_text("order,line,to_receive,to_invoice\nPO-1,1,,3\n")
    run(acme, "run", "--order", "PO-1", "--edits", str(first), "--date", "2026-06-10")
    run(acme, "run", "--order", "PO-1", "--edits", str(second), "--date", "2026-06-01")
    with acme.session() as s:
        receive(s, "PO-1", 1, 10, date=dt.date(2026, 6, 10))
    entries = acme.raw("select count(*) from entries").scalar()
    for day, trial in (("2026-06-05", ["--trial"]), ("2026-06-05", []), ("2026-06-09", [])):
        message = ("pledger: undo of close-out 2 refused, nothing written: on order PO-1 line 1 it would write off again "
                   f"under close-out 1, dated 2026-06-10; dated {day}, the ledger would hold close-out 1's write-offs "
                   "before its date: give --date 2026-06-10 or later\n")
        result = acme.cli("closeout", "undo", "--number", "2", "--date", day, *trial)
        assert (result.exit_code, result.stderr) == (1, message), result.output
    assert acme.raw("select count(*) from entries").scalar() == entries
    assert acme.raw("select count(*) from closeouts where undone_at is null").scalar() == 2
    report = run(acme, "undo", "--number", "2", "--date", "2026-06-10")
    assert entry_lines(report) == [(GR, "0.00", "300.00", "PO-1", 1), (UNINVOICED, "300.00", "0.00", "PO-1", 1)]
    assert _grir_as_of(acme, "2026-06-09") == (True, {})
    assert _grir_as_of(acme, "2026-06-10") == (True, {("PO-1", 1): ("600.00", "0.00")})
    assert acme.cli("check").exit_code == 0


def _counts(books):
    return {table: books.raw(f"select count(*) from {table}").scalar()
            for table in ("entries", "receipts", "invoices", "write_offs_on_arrival", "imports")}


def _written_off_before(kind, number, order_, units, never):
    return (f"{kind} {number}, order {order_} line 1: dated 2026-06-01, it would write off {units} units as never to be "
            f"{never} under close-out 1 of 2026-06-10, before that close-out's date: give a date of 2026-06-10 or later, "
            f"or undo close-out 1 first\n")


def test_a_receipt_dated_before_the_close_out_it_writes_off_under_is_refused(acme, tmp_path):
    """Close-out 1, dated 06-10, lowers to invoice 10 -> 6 on PO-1 before anything came; the
    10 received dated 06-01 wrote off 4 as they arrived, under close-out 1 (audit of 6
    December 2026): as of 06-01..06-09 GR 600.00 for 1,000.00 received and nothing invoiced,
    400.00 on uninvoiced receipts nine days before the close-out that wrote it off; with 3
    invoiced on 06-08 (PO-2), as of 06-01..06-07 IR -300.00. It is refused, by `po receive`
    and by an import, whose other receipt (PO-3, no close-out) is refused with it: nothing
    written, not even the import's log. Taken: a receipt dated on the close-out's date, a
    back-dated one that writes nothing off (5 of PO-3's 10 where 6 are still to invoice),
    a back-dated return, and the back-dated receipt once the close-out is undone."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        order(s, "PO-2", ("BOLT", 10, "100.00"))
        order(s, "PO-3", ("BOLT", 10, "100.00"))
        order(s, "PO-4", ("BOLT", 10, "100.00"))
        order(s, "PO-5", ("BOLT", 10, "100.00"))
        receive(s, "PO-4", 1, 10, date=dt.date(2026, 5, 4))
        invoice(s, "PO-2", 1, 3, date=dt.date(2026, 6, 8))
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-1,1,,6\nPO-2,1,,3\nPO-3,1,,6\nPO-4,1,,6\nPO-5,1,,6\n")
    run(acme, "run", "--edits", str(edits), "--date", "2026-06-10")  # writes off 4 of PO-4's 10 received
    before = _counts(acme)
    for number, order_ in (("R-1", "PO-1"), ("R-2", "PO-2"), ("R-5", "PO-5")):
        result = acme.cli("po", "receive", order_, "--receipt", number, "--date", "2026-06-01", "--line", "1=10")
        assert (result.exit_code, result.stderr) == (1, "pledger: " + _written_off_before("receipt", number, order_, 4, "invoiced"))
    path = tmp_path / "receipts.csv"
    path.write_text("receipt,date,order,line,quantity\nR-3,2026-06-01,PO-3,1,5\nR-1,2026-06-01,PO-1,1,10\n")
    result = acme.cli("import", "receipts", str(path))
    assert (result.exit_code, result.stderr) == (
        1, f"pledger: {path}: row 3, column date: " + _written_off_before("receipt", "R-1", "PO-1", 4, "invoiced"))
    assert _counts(acme) == before
    assert _grir_as_of(acme, "2026-06-09") == (True, {("PO-2", 1): ("0.00", "300.00"), ("PO-4", 1): ("1000.00", "0.00")})

    path.write_text("receipt,date,order,line,quantity\nR-3,2026-06-01,PO-3,1,5\nR-1,2026-06-10,PO-1,1,10\n")
    assert acme.cli("import", "receipts", str(path)).exit_code == 0  # 5 of PO-3 write off nothing; PO-1 on 06-10
    result = acme.cli("po", "receive", "PO-4", "--receipt", "R-4", "--date", "2026-06-01", "--line", "1=-2")
    assert result.exit_code == 0, result.output  # a return writes nothing off
    assert _grir_as_of(acme, "2026-06-09") == (True, {("PO-2", 1): ("0.00", "300.00"), ("PO-3", 1): ("500.00", "0.00"),
                                                      ("PO-4", 1): ("800.00", "0.00")})
    assert _grir_as_of(acme, "2026-06-10") == (True, {("PO-1", 1): ("600.00", "0.00"), ("PO-2", 1): ("0.00", "300.00"),
                                                      ("PO-3", 1): ("500.00", "0.00"), ("PO-4", 1): ("400.00", "0.00")})
    run(acme, "undo", "--number", "1", "--date", "2026-06-10")
    result = acme.cli("po", "receive", "PO-5", "--receipt", "R-5", "--date", "2026-06-01", "--line", "1=10")
    assert result.exit_code == 0, result.output  # close-out 1 undone: nothing is written off
    assert _grir_as_of(acme, "2026-06-09")[1][("PO-5", 1)] == ("1000.00", "0.00")
    assert acme.cli("check").exit_code == 0


def test_an_invoice_dated_before_the_close_out_it_writes_off_under_is_refused(acme, tmp_path):
    """The other side: close-out 1, dated 06-10, lowers to receive 10 -> 6 and keeps to
    invoice 10; the invoice of 10 dated 06-01 wrote off 4 as never to be received (audit of
    6 December 2026: as of 06-01..06-09 IR 600.00 for 1,000.00 invoiced, unreceived invoices
    400.00 before the close-out). Refused by `po invoice` and by an import (nothing written);
    taken dated on the close-out's date, and a back-dated credit note (it writes nothing off)."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        order(s, "PO-2", ("BOLT", 10, "100.00"))
        invoice(s, "PO-2", 1, 10, date=dt.date(2026, 5, 4))
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-1,1,6,10\nPO-2,1,6,\n")
    run(acme, "run", "--edits", str(edits), "--date", "2026-06-10")
    before = _counts(acme)
    result = acme.cli("po", "invoice", "PO-1", "--invoice", "I-1", "--supplier-invoice", "S-1", "--date", "2026-06-01",
                      "--line", "1=10")
    assert (result.exit_code, result.stderr) == (1, "pledger: " + _written_off_before("invoice", "I-1", "PO-1", 4, "received"))
    path = tmp_path / "invoices.csv"
    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "I-1,S-1,2026-06-01,PO-1,1,10,100.00,21\n")
    result = acme.cli("import", "invoices", str(path))
    assert (result.exit_code, result.stderr) == (
        1, f"pledger: {path}: row 2, column date: " + _written_off_before("invoice", "I-1", "PO-1", 4, "received"))
    assert _counts(acme) == before

    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "I-1,S-1,2026-06-10,PO-1,1,10,100.00,21\nI-2,S-2,2026-06-01,PO-2,1,-2,100.00,21\n")
    assert acme.cli("import", "invoices", str(path)).exit_code == 0
    assert _grir_as_of(acme, "2026-06-09") == (True, {("PO-2", 1): ("0.00", "800.00")})
    assert _grir_as_of(acme, "2026-06-10") == (True, {("PO-1", 1): ("0.00", "600.00"), ("PO-2", 1): ("0.00", "400.00")})
    assert acme.cli("check").exit_code == 0


def _two_close_outs_out_of_date_order(acme, tmp_path, first_row, second_row):
    """Close-out 1, dated 06-20, run first; close-out 2, dated 06-10, run after it (a
    year-end close-out run before one of the new year's dates is allowed), both on PO-1;
    close-out 1 also stands on PO-2, close-out 2 not."""
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(f"order,line,to_receive,to_invoice\nPO-1,1,{first_row}\nPO-2,1,{first_row}\n")
    second.write_text(f"order,line,to_receive,to_invoice\nPO-3,1,{second_row}\nPO-1,1,{second_row}\n")
    run(acme, "run", "--edits", str(first), "--date", "2026-06-20")
    run(acme, "run", "--edits", str(second), "--date", "2026-06-10")


def _written_off_before_the_latest(kind, number, units, never, day="2026-06-15"):
    return (f"pledger: {kind} {number}, order PO-1 line 1: dated {day}, it would write off {units} units as never to be "
            f"{never} under close-out 1 of 2026-06-20, before that close-out's date: give a date of 2026-06-20 or later, "
            f"or undo close-outs 2 and 1 first, newest first: pledger closeout undo --number 2, then pledger closeout "
            f"undo --number 1\n")


def test_a_document_dated_before_a_close_out_dated_later_is_pointed_to_every_undo_it_needs(acme, tmp_path):
    """Review of 7 December 2026: close-out 1 (06-20) and close-out 2 (06-10, run after it)
    on PO-1; a receipt dated 06-15 that writes off under them was refused "... or undo
    close-out 1 first", an undo refused while close-out 2 stands. It names both undos,
    newest first; followed, the receipt dated 06-15 is taken and writes nothing off:
    1,000.00 on GR, nothing on uninvoiced receipts, and `check` passes."""
    with acme.session() as s:
        for number in ("PO-1", "PO-2", "PO-3"):
            order(s, number, ("BOLT", 10, "100.00"))
    _two_close_outs_out_of_date_order(acme, tmp_path, ",8", ",6")
    result = acme.cli("po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-06-15", "--line", "1=10")
    assert (result.exit_code, result.stderr) == (1, _written_off_before_the_latest("receipt", "R-1", 4, "invoiced"))
    for number in ("2", "1"):
        run(acme, "undo", "--number", number, "--date", "2026-06-20")
    result = acme.cli("po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-06-15", "--line", "1=10")
    assert result.exit_code == 0, result.output
    with acme.session() as s:
        assert (balance(s, GR), balance(s, UNINVOICED), balance(s, IR), balance(s, UNRECEIVED)) == (
            Decimal("-1000.00"), 0, 0, 0)
    assert acme.cli("check").exit_code == 0


def test_a_receipt_dated_before_an_older_close_out_dated_later_on_its_line_is_refused(acme, tmp_path):
    """Close-out 1 (06-20) lowers PO-1's to invoice 10 -> 8, close-out 2 (06-10, run after it)
    8 -> 6; the 10 received dated 06-15 write off 4 as they arrive, recorded under close-out 2.
    Compared with close-out 2's date alone it was taken (audit of 6 December 2026), yet 2 of
    the 4 were only decided by close-out 1 of 06-20: as of 06-15..06-19 the ledger held that
    write-off before its close-out. Refused, by `po receive` and by an import, naming close-out
    1 and its date; nothing written. Taken: dated 06-20; and PO-3, which close-out 1 does not
    stand on (only close-out 2 of 06-10), dated 06-15; and PO-2, under close-out 1 alone, dated 06-20."""
    with acme.session() as s:
        for number in ("PO-1", "PO-2", "PO-3"):
            order(s, number, ("BOLT", 10, "100.00"))
    _two_close_outs_out_of_date_order(acme, tmp_path, ",8", ",6")
    before = _counts(acme)
    for day in ("2026-06-15", "2026-06-19", "2026-06-10"):
        result = acme.cli("po", "receive", "PO-1", "--receipt", "R-1", "--date", day, "--line", "1=10")
        assert (result.exit_code, result.stderr) == (1, _written_off_before_the_latest("receipt", "R-1", 4, "invoiced", day))
    path = tmp_path / "receipts.csv"
    path.write_text("receipt,date,order,line,quantity\nR-3,2026-06-15,PO-3,1,10\nR-1,2026-06-15,PO-1,1,10\n")
    result = acme.cli("import", "receipts", str(path))
    assert (result.exit_code, result.stderr) == (
        1, _written_off_before_the_latest("receipt", "R-1", 4, "invoiced").replace(
            "pledger: ", f"pledger: {path}: row 3, column date: ", 1))
    assert _counts(acme) == before

    path.write_text("receipt,date,order,line,quantity\nR-3,2026-06-15,PO-3,1,10\nR-1,2026-06-20,PO-1,1,10\n"
                    "R-2,2026-06-20,PO-2,1,10\n")
    result = acme.cli("import", "receipts", str(path))
    assert result.exit_code == 0, result.output
    assert _grir_as_of(acme, "2026-06-20") == (True, {("PO-1", 1): ("600.00", "0.00"), ("PO-2", 1): ("800.00", "0.00"),
                                                      ("PO-3", 1): ("600.00", "0.00")})
    assert acme.cli("check").exit_code == 0


def test_an_invoice_dated_before_an_older_close_out_dated_later_on_its_line_is_refused(acme, tmp_path):
    """The other side: close-out 1 (06-20) lowers PO-1's to receive 10 -> 8 and keeps to
    invoice 10, close-out 2 (06-10, run after it) lowers to receive to 6; the invoice of 10
    dated 06-15 writes off 4 as never to be received, 2 of them decided by close-out 1 only.
    Refused by `po invoice` and by an import, naming close-out 1 and its date; nothing
    written. Taken dated 06-20."""
    with acme.session() as s:
        for number in ("PO-1", "PO-2", "PO-3"):
            order(s, number, ("BOLT", 10, "100.00"))
    _two_close_outs_out_of_date_order(acme, tmp_path, "8,10", "6,10")
    before = _counts(acme)
    result = acme.cli("po", "invoice", "PO-1", "--invoice", "I-1", "--supplier-invoice", "S-1", "--date", "2026-06-15",
                      "--line", "1=10")
    assert (result.exit_code, result.stderr) == (1, _written_off_before_the_latest("invoice", "I-1", 4, "received"))
    path = tmp_path / "invoices.csv"
    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "I-1,S-1,2026-06-15,PO-1,1,10,100.00,21\n")
    result = acme.cli("import", "invoices", str(path))
    assert (result.exit_code, result.stderr) == (
        1, _written_off_before_the_latest("invoice", "I-1", 4, "received").replace(
            "pledger: ", f"pledger: {path}: row 2, column date: ", 1))
    assert _counts(acme) == before

    path.write_text("invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                    "I-1,S-1,2026-06-20,PO-1,1,10,100.00,21\nI-3,S-3,2026-06-15,PO-3,1,10,100.00,21\n")
    result = acme.cli("import", "invoices", str(path))
    assert result.exit_code == 0, result.output
    assert _grir_as_of(acme, "2026-06-20") == (True, {("PO-1", 1): ("0.00", "600.00"), ("PO-3", 1): ("0.00", "600.00")})
    assert acme.cli("check").exit_code == 0


def test_an_undo_dated_before_an_older_close_out_dated_later_it_settles_a_line_again_under_is_refused(acme, tmp_path):
    """Close-out 1 (06-20) lowers PO-1's to invoice 10 -> 8 before anything came, close-out 2
    (06-10, run after it) 8 -> 6, close-out 3 (06-01, run last) 6 -> 3; the 10 received on
    06-20 write off 7 under close-out 3. Undoing close-out 3 settles the line again under
    close-out 2, the newest standing, writing off 4: 2 of them only close-out 1 of 06-20
    decided. Dated 06-15 the undo was taken (06-15 is after close-out 2's date): as of
    06-15..06-19 the ledger held close-out 1's write-off before its date. Refused, trial too,
    naming close-out 1 and its date; dated on it the undo runs."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    for to_invoice, day in ((8, "2026-06-20"), (6, "2026-06-10"), (3, "2026-06-01")):
        edits = tmp_path / f"edits-{to_invoice}.csv"
        edits.write_text(f"order,line,to_receive,to_invoice\nPO-1,1,,{to_invoice}\n")
        run(acme, "run", "--order", "PO-1", "--edits", str(edits), "--date", day)
    with acme.session() as s:
        receive(s, "PO-1", 1, 10, date=dt.date(2026, 6, 20))
    entries = acme.raw("select count(*) from entries").scalar()
    for day, trial in (("2026-06-15", ["--trial"]), ("2026-06-15", []), ("2026-06-19", [])):
        message = ("pledger: undo of close-out 3 refused, nothing written: on order PO-1 line 1 it would write off again "
                   f"under close-out 1, dated 2026-06-20; dated {day}, the ledger would hold close-out 1's write-offs "
                   "before its date: give --date 2026-06-20 or later\n")
        result = acme.cli("closeout", "undo", "--number", "3", "--date", day, *trial)
        assert (result.exit_code, result.stderr) == (1, message), result.output
    assert acme.raw("select count(*) from entries").scalar() == entries
    assert acme.raw("select count(*) from closeouts where undone_at is null").scalar() == 3
    report = run(acme, "undo", "--number", "3", "--date", "2026-06-20")
    assert entry_lines(report) == [(GR, "0.00", "300.00", "PO-1", 1), (UNINVOICED, "300.00", "0.00", "PO-1", 1)]
    assert _grir_as_of(acme, "2026-06-20") == (True, {("PO-1", 1): ("600.00", "0.00")})
    assert acme.cli("check").exit_code == 0


# -- the date a refusal suggests lies in an open period ----------------------------------------

_UNLOCK_DECEMBER = ("period 2026-12 is locked and no later period is open: unlock it with 'pledger period unlock 2026-12', "
                    "then {give} {day} or later (or open year 2027 with 'pledger year open 2027' and {give} 2027-01-01 "
                    "or later)")
_JANUARY = "{give} 2027-01-01 or later, the first day of an open period (period 2026-12 is locked)"


def _refused_in_turn(books, args, said, give="give --date", day="2026-12-31", tail=""):
    """`args` refused, with December locked: first with no later period (unlock it, or open
    2027), then with 2027 open (its first day); `said` the message up to the advice. Nothing
    written either time."""
    assert books.cli("period", "lock", "2026-12").exit_code == 0
    entries = books.raw("select count(*) from entries").scalar()
    for advice in (_UNLOCK_DECEMBER, _JANUARY):
        if advice is _JANUARY:
            assert books.cli("year", "open", "2027").exit_code == 0
        result = books.cli(*args)
        assert (result.exit_code, result.stderr) == (1, "pledger: " + said + advice.format(give=give, day=day) + tail + "\n")
        assert books.raw("select count(*) from entries").scalar() == entries


def test_an_undo_dated_before_its_close_out_in_a_locked_december_is_told_a_date_it_can_take(acme):
    """Close-out 1 of 2026-12-31, December locked since: its undo dated 11-30 was told "give
    --date 2026-12-31 or later" (audit of 7 December 2026), and 2026-12-31 was refused as
    locked. The advice names the first day of an open period, or what to open first;
    followed, the undo is taken."""
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 4)
    run(acme, "run", "--close-fully", "--date", "2026-12-31")
    _refused_in_turn(acme, ("closeout", "undo", "--number", "1", "--date", "2026-11-30"),
                     "close-out 1 posted on 2026-12-31: its undo cannot be dated before it (2026-11-30); ")
    assert run(acme, "undo", "--number", "1", "--date", "2027-01-01")["undo_of"] == 1


def test_a_close_out_dated_before_an_undo_in_a_locked_december_is_told_a_date_it_can_take(acme):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        invoice(s, "PO-1", 1, 10)
    run(acme, "run", "--close-fully", "--date", "2026-11-01")
    run(acme, "undo", "--number", "1", "--date", "2026-12-20")
    _refused_in_turn(acme, ("closeout", "run", "--close-fully", "--date", "2026-11-10"),
                     "close-out refused, nothing written: on order PO-1 line 1 the write-offs of close-out 1 stood until "
                     "its undo of 2026-12-20; dated 2026-11-10, this close-out would write them off again beside them: ",
                     day="2026-12-20")


def test_an_undo_dated_before_a_newer_close_outs_undo_in_a_locked_december_is_told_a_date_it_can_take(acme, tmp_path):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
        receive(s, "PO-1", 1, 6)
        invoice(s, "PO-1", 1, 10)
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-1,1,2,"), "--date", "2026-11-01")
    run(acme, "run", "--close-fully", "--date", "2026-11-10")
    run(acme, "undo", "--number", "2", "--date", "2026-12-20")
    _refused_in_turn(acme, ("closeout", "undo", "--number", "1", "--date", "2026-11-15"),
                     "undo of close-out 1 refused, nothing written: on order PO-1 line 1 close-out 2 stood on it until its "
                     "undo of 2026-12-20; dated 2026-11-15, this undo would give back close-out 1 while close-out 2 still "
                     "stood (close-outs of a line are undone newest first): ", day="2026-12-20")


def test_an_undo_dated_before_the_close_out_it_settles_under_in_a_locked_december_is_told_a_date_it_can_take(acme, tmp_path):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-1,1,,6", name="first.csv"), "--date", "2026-12-10")
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-1,1,,3", name="second.csv"), "--date", "2026-11-01")
    with acme.session() as s:
        receive(s, "PO-1", 1, 10, date=dt.date(2026, 12, 10))
    _refused_in_turn(acme, ("closeout", "undo", "--number", "2", "--date", "2026-11-05"),
                     "undo of close-out 2 refused, nothing written: on order PO-1 line 1 it would write off again under "
                     "close-out 1, dated 2026-12-10; dated 2026-11-05, the ledger would hold close-out 1's write-offs "
                     "before its date: ", day="2026-12-10")


def test_a_receipt_dated_before_its_close_out_in_a_locked_december_is_told_a_date_it_can_take(acme, tmp_path):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00"))
    run(acme, "run", "--edits", edits_file(tmp_path, "PO-1,1,,6"), "--date", "2026-12-10")
    _refused_in_turn(acme, ("po", "receive", "PO-1", "--receipt", "R-1", "--date", "2026-11-01", "--line", "1=10"),
                     "receipt R-1, order PO-1 line 1: dated 2026-11-01, it would write off 4 units as never to be invoiced "
                     "under close-out 1 of 2026-12-10, before that close-out's date: ", give="give a date of",
                     day="2026-12-10", tail=", or undo close-out 1 first")
