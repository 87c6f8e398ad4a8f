"""A credit note on a line a close-out wrote off on: taken, and said (audit of 7 December 2026).

PO-1 has two lines of 10 BOLT at 100.00, each invoiced 10 (I-1) and received 6 (R-1);
PO-2 one line, received 10 and invoiced 6. Close-out 1 closes them fully: on PO-1 it
writes off the 4 invoiced units never to be received (400.00 a line on unreceived
invoices), on PO-2 the 4 received units never to be invoiced. A credit note of -4 on PO-1
is then taken (balanced, tying out), but the close-out's write-off stands beside it and
the line expects 4 invoices again with 400.00 on GR: the user most likely meant to undo
the close-out first. Before, nothing was said; now a note on stderr, once a document,
says so and gives the undo (stdout and the exit status as they were).
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import event

from purchase.documents import DocLine, DocumentPoster, InvoiceDoc
from purchase.masterdata import OrderData, OrderLineData, create_orders
from tests.builders import GR, IR, UNRECEIVED, D, balance, invoice, item, order, receive, supplier
from tests.test_ubl_audit import AUDIT, book, edited, imported  # noqa: F401 (the fixture)

NOTE = ("note: credit note CN-1 credits order PO-1 line 1{more}, where close-out 1 wrote off 4 invoiced units as never "
        "to be received: that write-off stands beside the credit note, and the line now expects 4 to invoice again and "
        "holds 400.00 on goods received (GR); to book it against the invoices instead, undo close-out 1 first: "
        "pledger closeout undo --number 1")
HEAD = "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"


def closed_out(books):
    with books.session() as s:
        supplier(s)
        item(s)
        order(s, "PO-1", ("BOLT", 10, "100.00"), ("BOLT", 10, "100.00"))
        order(s, "PO-2", ("BOLT", 10, "100.00"))
        order(s, "PO-3", ("BOLT", 10, "100.00"))
        for line in (1, 2):
            invoice(s, "PO-1", line, 10, date=dt.date(2026, 5, 10))
            receive(s, "PO-1", line, 6, date=dt.date(2026, 5, 11))
        receive(s, "PO-2", 1, 10, date=dt.date(2026, 5, 11))
        invoice(s, "PO-2", 1, 6, date=dt.date(2026, 5, 10))
        invoice(s, "PO-3", 1, 10, date=dt.date(2026, 5, 10))
        receive(s, "PO-3", 1, 6, date=dt.date(2026, 5, 11))
    result = books.cli("closeout", "run", "--order", "PO-1..PO-2", "--close-fully", "--date", "2026-05-31")
    assert result.exit_code == 0, result.output
    return books


def closed_out_by_edits(books, tmp_path, order_number: str, edits: dict[int, str]):
    """Line 1 of the order closed out once per entry of `edits`, its close-out number -> the
    edits file's `to_receive,to_invoice`, in that order, dated 31 May."""
    path = tmp_path / "edits.csv"
    for number, values in edits.items():
        path.write_text(f"order,line,to_receive,to_invoice\n{order_number},1,{values}\n")
        result = books.cli("closeout", "run", "--order", order_number, "--edits", path, "--date", "2026-05-31")
        assert result.exit_code == 0, result.output
        assert f"Close-out {number}" in result.stdout


def imported_csv(books, tmp_path, rows: str, *args):
    path = tmp_path / "credit.csv"
    path.write_text(HEAD + rows)
    result = books.cli("import", "invoices", path, *args)
    assert result.exit_code == 0, result.output
    return result, path


def test_a_credit_note_on_a_line_a_close_out_wrote_off_says_so_once_and_posts_as_before(books, tmp_path):
    closed_out(books)
    result, path = imported_csv(books, tmp_path, "CN-1,SC-1,2026-06-05,PO-1,1,-4,100.00,21\n"
                                                 "CN-1,SC-1,2026-06-05,PO-1,2,-4,100.00,21\n", "--format", "json")
    assert json.loads(result.stdout) == {"file": str(path), "kind": "invoices", "rows": 2, "documents": 1, "created": 1,
                                         "updated": 0, "entries": 1}  # stdout as it was: no note in the data
    assert result.stderr.splitlines() == [NOTE.format(more=" and 1 more")]
    with books.session() as s:  # posted as before: the write-off stands, the line holds GR
        assert (balance(s, UNRECEIVED), balance(s, GR), balance(s, IR)) == (D("800.00"), D("-800.00"), D("400.00"))  # IR: PO-3
    # the remedy the note gives leaves PO-1 as undo-then-credit would: nothing on it
    assert books.cli("closeout", "undo", "--number", "1", "--date", "2026-06-05").exit_code == 0
    with books.session() as s:
        assert (balance(s, UNRECEIVED), balance(s, GR), balance(s, IR)) == (D("0.00"), D("-400.00"), D("400.00"))  # PO-2 and PO-3 as they stood


def test_the_table_output_says_it_too_and_a_line_no_close_out_wrote_off_on_says_nothing(books, tmp_path):
    closed_out(books)
    result, _ = imported_csv(books, tmp_path, "CN-1,SC-1,2026-06-05,PO-1,1,-4,100.00,21\n")
    assert result.stdout == "imported invoices: 1 document with 1 line posted in 1 entry\n"
    assert result.stderr.splitlines() == [NOTE.format(more="")]
    # PO-3, never closed out; PO-2, whose close-out wrote off received units (a credit of
    # goods received reopens what the line expects, as on any line): nothing to say
    result, _ = imported_csv(books, tmp_path, "CN-3,SC-3,2026-06-05,PO-3,1,-4,100.00,21\n"
                                              "CN-2,SC-2,2026-06-05,PO-2,1,-2,100.00,21\n")
    assert result.stderr == ""


def test_po_invoice_with_a_negative_line_says_it_too(books):
    closed_out(books)
    result = books.cli("po", "invoice", "PO-1", "--invoice", "CN-1", "--supplier-invoice", "SC-1", "--date", "2026-06-05",
                       "--line", "1=-4", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [NOTE.format(more="")]


def test_the_note_costs_no_statement(books):
    """Worked out from what the batch read of its lines already: crediting a line a close-out
    wrote off on reads what crediting an untouched line does (its closed order reopens: one
    more UPDATE)."""
    closed_out(books)

    def statements_of(number: str, order_number: str) -> int:
        seen = []
        listen = lambda conn, cursor, statement, *rest: seen.append(statement.lstrip().upper().startswith("SELECT"))
        event.listen(books.engine, "before_cursor_execute", listen)
        try:
            with books.session() as s:
                posted = DocumentPoster(s, "ann").post_invoices([InvoiceDoc(number, f"S-{number}", dt.date(2026, 6, 5), [
                    DocLine(order_number, 1, D(-1))])])
        finally:
            event.remove(books.engine, "before_cursor_execute", listen)
        return sum(seen), posted.notes

    untouched, no_notes = statements_of("CN-3", "PO-3")
    written_off, notes = statements_of("CN-1", "PO-1")
    assert (no_notes, len(notes)) == ([], 1)
    assert written_off == untouched + 1  # the note's one read of the close-outs to name, where it is said


def test_of_several_close_outs_writing_off_on_the_line_the_note_names_each_newest_first(books, tmp_path):
    """Review of 7 December 2026: PO-3, 10 invoiced and 6 received; close-out 2 lowers to
    receive to 2 (2 invoiced units written off), close-out 3 to 0 (2 more). A credit of -4
    said "close-out 3 wrote off 4 ... undo close-out 3 first": followed, close-out 2's 2
    units stayed written off beside the credit note. The note names both, newest first,
    and following it leaves PO-3 as undo-then-credit would."""
    closed_out(books)
    closed_out_by_edits(books, tmp_path, "PO-3", {2: "2,", 3: "0,"})
    result, _ = imported_csv(books, tmp_path, "CN-3,SC-3,2026-06-05,PO-3,1,-4,100.00,21\n")
    assert result.stderr.splitlines() == [
        "note: credit note CN-3 credits order PO-3 line 1, where close-outs 3 and 2 wrote off 4 invoiced units as never to "
        "be received: those write-offs stand beside the credit note, and the line now expects 4 to invoice again and holds "
        "400.00 on goods received (GR); to book it against the invoices instead, undo them first, newest first: "
        "pledger closeout undo --number 3, then pledger closeout undo --number 2"]
    for number in (3, 2):
        assert books.cli("closeout", "undo", "--number", str(number), "--date", "2026-06-05").exit_code == 0
    with books.session() as s:  # PO-3 holds nothing; PO-1 and PO-2 as close-out 1 left them
        assert (balance(s, UNRECEIVED), balance(s, GR), balance(s, IR)) == (D("800.00"), D("0.00"), D("0.00"))


def test_a_ubl_credit_note_says_it_too(book, tmp_path):
    """CN-2024-0007 credits 1 PAPER-A4 on PO-7 line 1 (invoiced 5, received 3, closed out:
    2 invoiced units written off)."""
    with book.session() as s:
        create_orders(s, [OrderData("PO-7", "JANS", dt.date(2024, 3, 1), [
            OrderLineData(1, "PAPER-A4", D(5), D("25.00"), discount_pct=D(0), vat_rate=D(21))])])
        invoice(s, "PO-7", 1, 5, date=dt.date(2024, 3, 5), number="I-7")
        receive(s, "PO-7", 1, 3, date=dt.date(2024, 3, 6), number="R-7")
    assert book.cli("closeout", "run", "--order", "PO-7", "--close-fully", "--date", "2024-03-07").exit_code == 0
    credit = edited(tmp_path, "CN-2024-0007.xml", ("<cbc:ID>PO-1</cbc:ID>", "<cbc:ID>PO-7</cbc:ID>"))
    result = imported(book, credit)
    assert result.stderr.splitlines() == [
        "note: credit note UBL-JANS-CN-2024-0007 credits order PO-7 line 1, where close-out 1 wrote off 2 invoiced units as never "
        "to be received: that write-off stands beside the credit note, and the line now expects 1 to invoice again and "
        "holds 25.00 on goods received (GR); to book it against the invoices instead, undo close-out 1 first: "
        "pledger closeout undo --number 1"]
    assert "note:" not in result.stdout


def test_a_newer_close_out_that_wrote_off_nothing_is_undone_first_too(books, tmp_path):
    """Review of 7 December 2026: PO-4, 12 ordered, 10 invoiced, 6 received; close-out 2
    lowers to receive to 2 (2 invoiced units written off as never to be received), close-out
    3 only to invoice (2 -> 0, nothing written off). A credit of -2 said "undo close-out 2
    first: pledger closeout undo --number 2", which is refused while close-out 3 stands. The
    note names close-out 3's undo first; followed, PO-4 is as undo-then-credit leaves it."""
    closed_out(books)
    with books.session() as s:
        order(s, "PO-4", ("BOLT", 12, "100.00"))
        invoice(s, "PO-4", 1, 10, date=dt.date(2026, 5, 10))
        receive(s, "PO-4", 1, 6, date=dt.date(2026, 5, 11))
    closed_out_by_edits(books, tmp_path, "PO-4", {2: "2,2", 3: ",0"})
    result, _ = imported_csv(books, tmp_path, "CN-4,SC-4,2026-06-05,PO-4,1,-2,100.00,21\n")
    assert result.stderr.splitlines() == [
        "note: credit note CN-4 credits order PO-4 line 1, where close-out 2 wrote off 2 invoiced units as never to "
        "be received: that write-off stands beside the credit note, and the line now expects 2 to invoice again; to book "
        "it against the invoices instead, undo close-out 3, standing on the line since, and close-out 2 first, newest "
        "first: pledger closeout undo --number 3, then pledger closeout undo --number 2"]
    for number in (3, 2):
        result = books.cli("closeout", "undo", "--number", str(number), "--date", "2026-06-05")
        assert result.exit_code == 0, result.output
    shown = json.loads(books.cli("po", "show", "PO-4", "--format", "json").stdout)["lines"][0]
    assert [shown[k] for k in ("to_receive", "to_invoice", "gr_balance", "ir_balance")] == ["6", "4", "0.00", "200.00"]
    with books.session() as s:  # PO-1's 800.00 alone on unreceived invoices
        assert balance(s, UNRECEIVED) == D("800.00")
    assert books.cli("check").exit_code == 0
