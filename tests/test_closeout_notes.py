"""Notes a close-out prints for the person on stderr, beside its report (stdout and the
report's JSON unchanged): an edits file that keeps to_invoice while lowering to_receive
(as a `closeout propose` file does unless to_invoice is blanked), and a close-out dated
before documents on its lines.

The shop is tests/test_views.py's: PO-1 line 1 BOLT 10 x 100.00, received 6 (R-1,
2026-05-06), invoiced 4 (I-1, 2026-05-12): to receive 4, to invoice 6; line 2 NUT 5,
nothing yet. PO-2 line 1 BOLT 4 invoiced (I-2, 2026-05-15), nothing received.
"""

import json

from tests.builders import order
from tests.test_cli_orders import shop  # noqa: F401  (the fixture)

KEPT = ("note: 1 edited line lower to_receive and give to_invoice as it was, so it stays (order PO-1 line 1); "
        "leave to_invoice blank to lower it along with to_receive")


def run(books, tmp_path, edits: str, *args):
    path = tmp_path / "edits.csv"
    path.write_text("order,line,to_receive,to_invoice\n" + edits)
    result = books.cli("closeout", "run", "--edits", path, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr.strip().splitlines()


def test_lowering_to_receive_with_to_invoice_as_it_was_is_kept_and_said(shop, tmp_path):
    trial, notes = run(shop, tmp_path, "PO-1,1,0,6\n", "--trial", "--date", "2026-06-30")
    assert notes == [KEPT]
    assert [(l["to_invoice_before"], l["to_invoice_after"]) for l in trial["lines"]] == [("6", "6")]  # CLI.md: kept
    real, notes = run(shop, tmp_path, "PO-1,1,0,6\n", "--date", "2026-06-30")
    assert notes == [KEPT]
    assert real["lines"] == trial["lines"]


def test_no_note_when_to_invoice_is_blank_lowered_or_had_nothing_to_follow(shop, tmp_path):
    blank, notes = run(shop, tmp_path, "PO-1,1,0,\n", "--trial", "--date", "2026-06-30")
    assert notes == [] and blank["lines"][0]["to_invoice_after"] == "2"  # lowered along: 6 - 4
    assert run(shop, tmp_path, "PO-1,1,0,2\n", "--trial", "--date", "2026-06-30")[1] == []  # set, and not as it was
    assert run(shop, tmp_path, "PO-1,1,,3\n", "--trial", "--date", "2026-06-30")[1] == []  # to_receive untouched
    assert run(shop, tmp_path, "PO-2,1,0,0\n", "--trial", "--date", "2026-06-30")[1] == []  # to invoice 0: nothing to follow


def test_a_close_out_dated_before_documents_on_its_lines_says_so(shop, tmp_path):
    trial, notes = run(shop, tmp_path, "PO-1,1,0,\n", "--trial", "--date", "2026-05-10")
    assert notes == ["note: the close-out tried is dated 2026-05-10, before documents on 1 of its lines (the latest: "
                     "invoice I-1 of 2026-05-12): as of its date the ledger holds its write-offs before the documents "
                     "they settle"]
    real, notes = run(shop, tmp_path, "PO-1,1,0,\n", "--date", "2026-05-10")
    assert notes == [notes[0]] and notes[0].startswith("note: close-out 1 is dated 2026-05-10, before documents on 1 ")
    assert real["lines"] == trial["lines"]
    # dated on or after every document of its lines: nothing to say
    assert run(shop, tmp_path, "PO-1,2,0,\n", "--date", "2026-05-12")[1] == []


def test_po_close_not_coming_says_it_too(shop):
    result = shop.cli("po", "close", "PO-2", "--not-coming", "--date", "2026-05-14", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["closeout"] == 1
    assert result.stderr.splitlines() == [
        "note: close-out 1 is dated 2026-05-14, before documents on 1 of its lines (the latest: invoice I-2 of 2026-05-15): "
        "as of its date the ledger holds its write-offs before the documents they settle",
        "order PO-2: ordered -> closed",
    ]


def test_an_undo_dated_before_documents_on_its_lines_says_so(shop, tmp_path):
    """Found playing a year: services invoiced without receipt, a close-out setting to receive
    to 0 so that the invoices are written off as they come, then an undo dated back to before
    the later invoices. As of the undo's date the ledger gave back write-offs of invoices not
    yet received (unreceived invoices -370.00 as of 2026-04-15, IR 925.00 for 555.00 invoiced)
    and nothing was said, where a close-out so dated says it."""
    run(shop, tmp_path, "PO-1,1,0,\n", "--date", "2026-05-31")  # to receive 4 -> 0, to invoice 6 -> 2
    invoiced = shop.cli("po", "invoice", "PO-1", "--invoice", "I-9", "--supplier-invoice", "S-9", "--date", "2026-06-10",
                        "--line", "1=2", "--line", "2=0")
    assert invoiced.exit_code == 0, invoiced.output
    expected = ("the undo of close-out 1{} is dated 2026-06-01, before documents on 1 of its lines (the latest: invoice "
                "I-9 of 2026-06-10): as of its date the ledger holds the lines as those documents left them")
    for trial, word in (("--trial", " tried"), ("--format", "")):
        args = ("--trial",) if trial == "--trial" else ()
        result = shop.cli("closeout", "undo", "--number", "1", "--date", "2026-06-01", *args, "--format", "json")
        assert result.exit_code == 0, result.output
        assert result.stderr.strip().splitlines() == ["note: " + expected.format(word)]
        assert json.loads(result.stdout)["undo_of"] == 1  # stdout stays the report
    # dated on or after every document of its lines: nothing to say
    again = run(shop, tmp_path, "PO-1,1,0,\n", "--date", "2026-06-30")
    assert again[1] == []
    result = shop.cli("closeout", "undo", "--number", "2", "--date", "2026-06-30", "--format", "json")
    assert result.exit_code == 0 and result.stderr.strip() == "", result.output


def test_the_latest_document_of_a_day_is_the_last_posted_not_the_last_by_its_numbers_text(shop, tmp_path):
    """R-9 received 2 and R-10 returned 1 on 2026-05-20: as text R-9 sorts after R-10, which
    named the receipt where the return was posted after it."""
    for number, quantity in (("R-9", "2"), ("R-10", "-1")):
        result = shop.cli("po", "receive", "PO-1", "--receipt", number, "--date", "2026-05-20", "--line", f"1={quantity}")
        assert result.exit_code == 0, result.output
    trial, notes = run(shop, tmp_path, "PO-1,1,0,\n", "--trial", "--date", "2026-05-10")
    assert notes == ["note: the close-out tried is dated 2026-05-10, before documents on 1 of its lines (the latest: "
                     "receipt R-10 of 2026-05-20): as of its date the ledger holds its write-offs before the documents "
                     "they settle"]


def test_a_selection_naming_no_order_or_supplier_of_the_books_says_so(shop, tmp_path):
    """Audit of 6 December 2026 (the close-out as people run it): `--supplier acme` (the book's
    code is ACME), `--order PO-1,PO-2` (a list, which the options do not take) and a mistyped
    order number wrote "0 open lines written" and ran an empty close-out without a word, as
    if the supplier or orders had nothing open. Codes still compare exactly (CLI.md), and the
    run still exits 0 with its report on stdout; stderr now says why nothing was selected."""
    acme = shop
    with acme.session() as s:
        order(s, "00123", ("BOLT", 1, "1.00"))
    proposal = str(tmp_path / "open.csv")
    said = {
        ("--supplier", "acme"): "note: no supplier acme in the books, so the selection holds no line; "
                                "codes compare exactly, case and all: did you mean ACME?",
        ("--order", "PO-1,PO-2"): "note: no order PO-1,PO-2 in the books, so the selection holds no line; "
                                  "a list is not taken: give a range A..B, or name the lines in an --edits file",
        ("--order", "PO-7"): "note: no order PO-7 in the books, so the selection holds no line",
        ("--order", "123"): "note: no order 123 in the books, so the selection holds no line; "
                            "order 00123 is: did a spreadsheet drop the leading zeros?",
    }
    for option, note in said.items():
        result = acme.cli("closeout", "propose", *option, "-o", proposal)
        assert result.exit_code == 0, result.output
        assert (result.stdout, result.stderr) == (f"0 open lines written to {proposal}\n", note + "\n")
        result = acme.cli("closeout", "run", *option, "--close-fully", "--format", "json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert (report["closeout"], report["lines"]) == (None, [])
        assert result.stderr == note + "\n"
    # a value the books hold, or a range, says nothing
    for option in (("--supplier", "ACME"), ("--order", "PO-1"), ("--order", "PO-5..PO-7")):
        result = acme.cli("closeout", "propose", *option, "-o", proposal)
        assert result.exit_code == 0 and result.stderr == "", result.output
