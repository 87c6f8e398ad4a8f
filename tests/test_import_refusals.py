"""Every refusal of a CSV import, `po receive` and `po invoice`, as a user meets it.

Each case runs the CLI and checks the whole answer: exit status 1, nothing on stdout,
exactly one line on stderr, "pledger: " and the exact message. A refused import or
document writes nothing: every case compares a fingerprint of every table (row counts
and a hash of the rows, tests/fingerprint.py) before and after.

The books (`shop`), all in EUR:

    PO-1  ACME  line 1: 10 BOLT at 2.50   received 4 (R-1), invoiced 2 (I-1, the supplier's S-I-1)
    PO-2  BETA  line 1: 10 BOLT at 2.50   nothing received or invoiced
    PO-3  ACME  line 1: 10 BOLT at 2.50   status new (not sent yet: takes no documents)
"""

from __future__ import annotations

import codecs
import json

import pytest

from purchase import imports
from purchase.orders import get_order
from tests.builders import invoice, item, order, receive, supplier
from tests.fingerprint import fingerprint

DAY = "2026-05-10"


@pytest.fixture
def shop(books):
    with books.session() as s:
        supplier(s, "ACME", "Acme NV")
        supplier(s, "BETA", "Beta BV")
        item(s, "BOLT")
        order(s, "PO-1", ("BOLT", 10, "2.50"))
        order(s, "PO-2", ("BOLT", 10, "2.50"), supplier_code="BETA")
        order(s, "PO-3", ("BOLT", 10, "2.50"))
        get_order(s, "PO-3").status = "new"
        receive(s, "PO-1", 1, 4, number="R-1")
        invoice(s, "PO-1", 1, 2, number="I-1")  # the supplier's invoice S-I-1
    return books


def tables(books):
    with books.session() as s:
        return fingerprint(s)


def refused(books, *args) -> str:
    """Run a command that must be refused and that must change nothing; its message, without "pledger: "."""
    before = tables(books)
    result = books.cli(*args)
    assert (result.exit_code, result.stdout) == (1, ""), result.output
    assert result.stderr.startswith("pledger: ") and result.stderr.count("\n") == 1, result.stderr
    assert tables(books) == before, "a refused command wrote to the books"
    return result.stderr[len("pledger: "):-1]


def import_refused(books, tmp_path, kind: str, content: str | bytes) -> tuple[str, str]:
    """Import `content` as a KIND file that must be refused; (its path, the message)."""
    path = tmp_path / f"{kind}.csv"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return str(path), refused(books, "import", kind, str(path))


# -- reading the file (purchase/csvfile.py) ------------------------------------------------

SUPPLIERS = "code,name,currency\n"
SUPPLIER_COLUMNS = "code, name, currency, vat_number, endpoint_id"
UTF16 = "code,name,currency\nNEW,New NV,EUR\n".encode("utf-16-le")

FILE_REFUSALS = [
    # a file that is not UTF-8 text
    pytest.param(codecs.BOM_UTF16_LE + UTF16,
                 "row 1: the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8", id="utf16-bom"),
    pytest.param(codecs.BOM_UTF32_LE + "code,name,currency\n".encode("utf-32-le"),
                 "row 1: the file is UTF-32 (it starts with a UTF-32 byte-order mark); save it as UTF-8", id="utf32-bom"),
    pytest.param((SUPPLIERS + "NEW,Caf\xe9 NV,EUR\n").encode("latin-1"),
                 "row 2, column name: byte 0xE9 is not UTF-8 (Latin-1 or Windows-1252?); save the file as UTF-8", id="latin1"),
    pytest.param((SUPPLIERS + "NEW,Caf\xe9 NV,EUR\n").encode("utf-16-le"),
                 "row 2, column name: byte 0xE9 is not UTF-8 (it looks like UTF-16); save the file as UTF-8", id="utf16-not-ascii"),
    pytest.param(UTF16,
                 "row 1: the file holds NUL characters everywhere (it looks like UTF-16 without a byte-order mark); "
                 "save it as UTF-8", id="utf16-without-bom"),
    pytest.param(SUPPLIERS + "NEW,New\x00NV,EUR\n",
                 "row 2, column name: holds a NUL character; it is not a CSV text file", id="nul"),
    # the header
    pytest.param("", "the file is empty; expected a header row with code, name, currency", id="empty-file"),
    pytest.param('code,"name,currency\nNEW,New NV,EUR\n',
                 "row 1: a quoted value starts here and is never closed (a stray '\"'?)", id="header-unclosed-quote"),
    pytest.param("\nNEW,New NV,EUR\n", "row 1 is empty; expected a header row with code, name, currency", id="header-empty"),
    pytest.param(",,\nNEW,New NV,EUR\n", "row 1 is empty; expected a header row with code, name, currency", id="header-blank"),
    pytest.param("code;name;currency\nNEW;New NV;EUR\n", "row 1 is separated by ';': pledger reads comma-separated files "
                 "with a decimal point (Excel with Dutch or Belgian settings saves ';' and decimal commas: save it from "
                 "LibreOffice with field delimiter ',', or set Windows' list separator to ',' and decimal symbol to '.'; or save it as an Excel workbook (.xlsx) "
                 "and give that: pledger reads its cells as numbers, whatever the settings)",
                 id="header-semicolons"),
    pytest.param("code,name,currency,name\nNEW,New NV,EUR,Other\n", "row 1: column name appears twice", id="header-twice"),
    pytest.param("code,name,currency,colour\nNEW,New NV,EUR,red\n",
                 f"row 1: unknown column 'colour'; the columns are {SUPPLIER_COLUMNS}", id="header-unknown"),
    # the rows
    pytest.param(SUPPLIERS + 'NEW,"New NV,EUR\n',
                 "row 2: a quoted value starts here and is never closed (a stray '\"'?)", id="row-unclosed-quote"),
    pytest.param(SUPPLIERS + 'NEW,"New" NV,EUR\n',
                 "row 2: a quote closes in the middle of a value (inside quotes write a quote as '\"\"')", id="row-quote-inside"),
    pytest.param(SUPPLIERS + "NEW," + "x" * 10_001 + ",EUR\n", "row 2: a value is longer than 10000 characters", id="row-too-long"),
    pytest.param(SUPPLIERS + "NEW,New NV,EUR,BE0123456749\n",
                 "row 2: 4 values for 3 columns (a ';' or an unquoted comma?)", id="row-too-many"),
    pytest.param(SUPPLIERS + "NEW;New NV;EUR\n", "row 2 is separated by ';': pledger reads comma-separated files",
                 id="row-semicolons"),
    pytest.param("code,name,currency,vat_number\nNEW;New NV, Gent;EUR;\n", "row 2 is separated by ';': pledger reads "
                 "comma-separated files", id="row-semicolons-split-by-a-comma"),  # was: column name: ' Gent;EUR;'...
    pytest.param("code,name,currency,\nNEW,New NV,EUR,zzz\n",
                 "row 2, column 4: a value under a column with no name in the header", id="row-unnamed-column"),
    pytest.param(SUPPLIERS + "NEW,,EUR\n", "row 2, column name: a value is required", id="row-blank-required"),
    pytest.param(SUPPLIERS, "no rows under the header: nothing to import", id="no-rows"),
    pytest.param(SUPPLIERS + "\n,,\n", "no rows under the header: nothing to import", id="blank-rows-only"),
]


@pytest.mark.parametrize("content, message", FILE_REFUSALS)
def test_a_file_that_cannot_be_read_as_csv_is_refused(shop, tmp_path, content, message):
    path, said = import_refused(shop, tmp_path, "suppliers", content)
    assert said == f"{path}: {message}"


def test_a_file_that_is_not_there_is_refused(shop, tmp_path):
    path = tmp_path / "nowhere.csv"
    assert refused(shop, "import", "receipts", path) == f"cannot read {path}: No such file or directory"


@pytest.mark.parametrize("kind", ["orders", "receipts", "invoices"])
def test_the_streamed_imports_refuse_a_bad_file_the_same_way(shop, tmp_path, kind):
    """Orders, receipts and invoices read their file as a stream; a bad row is refused as in suppliers."""
    header = {"orders": "order,supplier,order_date,line,item,quantity,unit_price\n",
              "receipts": "receipt,date,order,line,quantity\n",
              "invoices": "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"}[kind]
    path, said = import_refused(shop, tmp_path, kind, header + 'X,"Y\n')
    assert said == f"{path}: row 2: a quoted value starts here and is never closed (a stray '\"'?)"


# -- what the books say of the file (purchase/imports.py, purchase/masterdata.py) ------------

FOREIGN = "differs from the books' EUR; foreign-currency purchasing is not supported yet"
ORDERS = "order,supplier,order_date,line,item,quantity,unit_price,currency\n"

BOOK_REFUSALS = [
    # suppliers and items
    pytest.param("suppliers", SUPPLIERS + "NEW,New NV,EUR\nNEW,New again NV,EUR\n",
                 "row 3, column code: 'NEW' already on row 2", id="supplier-twice"),
    pytest.param("items", "code,description,stock_item\nNUT,Nut M8,true\nNUT,Nut M10,true\n",
                 "row 3, column code: 'NUT' already on row 2", id="item-twice"),
    pytest.param("suppliers", SUPPLIERS + "NEW,New NV,EUR\nUSA,Yankee Inc,USD\n",
                 f"row 3, column currency: USD {FOREIGN}", id="supplier-foreign-currency"),
    pytest.param("items", "code,description,stock_item,preferred_supplier\nNUT,Nut M8,true,ACME\nPIN,Pin,false,NOPE\n",
                 "row 3, column preferred_supplier: unknown supplier 'NOPE' (import suppliers first)", id="item-unknown-supplier"),
    # orders: the references
    pytest.param("orders", ORDERS + "PO-1,ACME,2026-05-04,1,BOLT,5,2.50,\n",
                 "row 2, column order: order PO-1 already exists: an order number is used once", id="order-exists"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,5,2.50,\nPO-10,NOSUPP,2026-05-04,1,BOLT,5,2.50,\n",
                 "row 3, column supplier: unknown supplier 'NOSUPP' (import suppliers first)", id="order-unknown-supplier"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,5,2.50,EUR\nPO-9,ACME,2026-05-04,2,BOLT,5,2.50,USD\n",
                 f"row 3, column currency: USD {FOREIGN}", id="order-foreign-currency"),
    # orders: the lines
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,5,2.50,\nPO-9,ACME,2026-05-04,1,BOLT,3,2.50,\n",
                 "row 3, column line: order PO-9 line 1: line number used twice", id="order-line-twice"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,0,BOLT,5,2.50,\n",
                 "row 2, column line: order PO-9 line 0: line numbers start at 1", id="order-line-0"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,5,2.50,\nPO-9,ACME,2026-05-04,2,NOITEM,5,2.50,\n",
                 "row 3, column item: order PO-9 line 2: unknown item 'NOITEM' (import items first)", id="order-unknown-item"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,0,2.50,\n",
                 "row 2, column quantity: order PO-9 line 1: an ordered quantity must be above zero, not 0", id="order-quantity-0"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,-5,2.50,\n",
                 "row 2, column quantity: order PO-9 line 1: an ordered quantity must be above zero, not -5", id="order-quantity-negative"),
    pytest.param("orders", ORDERS + "PO-9,ACME,2026-05-04,1,BOLT,5,-1,\n",
                 "row 2, column unit_price: order PO-9 line 1: a unit price must not be negative, not -1", id="order-price-negative"),
    # receipts and invoices: documents already posted
    pytest.param("receipts", "receipt,date,order,line,quantity\nR-1,2026-05-10,PO-1,1,1\n",
                 "row 2, column receipt: receipt R-1 was already posted: a document is posted once", id="receipt-posted"),
    pytest.param("invoices", "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                             "I-1,S-NEW,2026-05-10,PO-1,1,1,2.50,21\n",
                 "row 2, column invoice: invoice I-1 was already posted: a document is posted once", id="invoice-posted"),
]


@pytest.mark.parametrize("kind, content, message", BOOK_REFUSALS)
def test_a_file_the_books_contradict_is_refused(shop, tmp_path, kind, content, message):
    path, said = import_refused(shop, tmp_path, kind, content)
    assert said == f"{path}: {message}"


# -- receipts and invoices against the order lines (purchase/documents.py) -------------------

RECEIPTS = "receipt,date,order,line,quantity\n"
INVOICES = "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"



def held(quantity: str, name: str) -> str:
    """Said where a return or credit note takes back more than the line holds and no document
    further down the file adds to the line (one that does is named: tests/test_import_edges.py).
    Until 7 December 2026 every such CSV refusal asked whether the receipt was further down the
    file, also of a return larger than a receipt posted long before."""
    return f" (the line has {quantity} {name}; no more can be taken back)"


DOCUMENT_REFUSALS = [
    pytest.param("receipts", RECEIPTS + "R-8,2026-05-10,PO-1,1,2\nR-9,2026-05-10,PO-1,1,0\n",
                 "row 3, column quantity: receipt R-9, order PO-1 line 1: a quantity of 0 changes nothing", id="receipt-quantity-0"),
    pytest.param("invoices", INVOICES + "I-9,S-9,2026-05-10,PO-1,1,0,2.50,21\n",
                 "row 2, column quantity: invoice I-9, order PO-1 line 1: a quantity of 0 changes nothing", id="invoice-quantity-0"),
    pytest.param("receipts", RECEIPTS + "R-9,2026-05-10,PO-3,1,2\n",
                 "row 2, column order: receipt R-9, order PO-3 line 1: order PO-3 is new and takes no receipts "
                 "until it is sent to the supplier ('pledger po order PO-3')", id="receipt-new-order"),
    pytest.param("invoices", INVOICES + "I-9,S-9,2026-05-10,PO-3,1,2,2.50,21\n",
                 "row 2, column order: invoice I-9, order PO-3 line 1: order PO-3 is new and takes no invoices "
                 "until it is sent to the supplier ('pledger po order PO-3')", id="invoice-new-order"),
    pytest.param("receipts", RECEIPTS + "R-9,2026-05-10,PO-2,1,-1\n",
                 "row 2, column quantity: receipt R-9, order PO-2 line 1: received would become -1, below zero" + held("0", "received"), id="receipt-below-zero"),
    pytest.param("receipts", RECEIPTS + "R-9,2026-05-10,PO-1,1,-6\n",
                 "row 2, column quantity: receipt R-9, order PO-1 line 1: received would become -2, below zero" + held("4", "received"),
                 id="return-beyond-an-earlier-receipt"),
    pytest.param("invoices", INVOICES + "I-9,S-9,2026-05-10,PO-1,1,-3,2.50,21\n",
                 "row 2, column quantity: invoice I-9, order PO-1 line 1: invoiced would become -1, below zero" + held("2", "invoiced"), id="invoice-below-zero"),
    pytest.param("invoices", INVOICES + "I-9,S-9,2026-05-10,PO-1,1,1,2.50,21\nI-9,S-9,2026-05-10,PO-2,1,1,2.50,21\n",
                 "row 3, column order: invoice I-9, order PO-2 line 1: one invoice cannot cover orders of two suppliers", id="invoice-two-suppliers"),
]


@pytest.mark.parametrize("kind, content, message", DOCUMENT_REFUSALS)
def test_a_document_the_order_lines_cannot_take_is_refused(shop, tmp_path, kind, content, message):
    path, said = import_refused(shop, tmp_path, kind, content)
    assert said == f"{path}: {message}"


def test_a_number_another_import_posted_meanwhile_is_refused_with_its_row_and_column(shop):
    """The import checks a file's document numbers first, naming the row; on PostgreSQL
    three processes importing the same receipt file at once got, in the two that lost,
    "receipt RCX was already posted: a document is posted once", no file, row or column:
    the other import committed between that check and the posting service's own. The
    service names the row and column too, when the document comes from a CSV file."""
    import datetime as dt
    from decimal import Decimal

    from purchase.documents import DocLine, DocumentError, DocumentPoster, InvoiceDoc, ReceiptDoc

    row = DocLine("PO-1", 1, Decimal(1), unit_price=Decimal("2.50"), vat_rate=Decimal(21), where="r.csv: row 3", csv_row=True)
    day = dt.date(2026, 5, 10)
    with shop.session() as s:
        with pytest.raises(DocumentError) as receipt:
            DocumentPoster(s, "ann").post_receipts([ReceiptDoc("R-1", day, [row._replace(unit_price=None, vat_rate=None)])])
        with pytest.raises(DocumentError) as invoice_:
            DocumentPoster(s, "ann").post_invoices([InvoiceDoc("I-1", "S-NEW", day, [row])])
        with pytest.raises(DocumentError) as by_command:  # po receive: no file, as before
            DocumentPoster(s, "ann").post_receipts([ReceiptDoc("R-1", day, [DocLine("PO-1", 1, Decimal(1))])])
    assert str(receipt.value) == "r.csv: row 3, column receipt: receipt R-1 was already posted: a document is posted once"
    assert str(invoice_.value) == "r.csv: row 3, column invoice: invoice I-1 was already posted: a document is posted once"
    assert str(by_command.value) == "receipt R-1 was already posted: a document is posted once"


def test_a_credit_note_already_posted_is_named_a_credit_note(shop, tmp_path):
    """A file naming a credit note the books hold, by our number or the supplier's: it was said
    "invoice C-1 was already posted", "the supplier's invoice S-C-1 was already imported". Its
    kind is the books' (`purchase.models.invoice_kind`: net total below zero), as the UBL
    import names it; the posting service's own check (another import posting it meanwhile)
    says the same."""
    import datetime as dt
    from decimal import Decimal

    from purchase.documents import DocLine, DocumentError, DocumentPoster, InvoiceDoc

    with shop.session() as s:
        invoice(s, "PO-1", 1, -1, number="C-1")  # the supplier's S-C-1
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "C-1,S-C-9,2026-05-10,PO-1,1,-1,2.50,21\n")
    assert said == f"{path}: row 2, column invoice: credit note C-1 was already posted: a document is posted once"
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "C-9,S-C-1,2026-05-10,PO-1,1,-1,2.50,21\n")
    assert said == f"{path}: row 2, column supplier_invoice: the supplier's credit note S-C-1 was already imported (as C-1)"
    row = DocLine("PO-1", 1, Decimal(-1), unit_price=Decimal("2.50"), vat_rate=Decimal(21), where="r.csv: row 3", csv_row=True)
    with shop.session() as s:
        with pytest.raises(DocumentError) as ours:
            DocumentPoster(s, "ann").post_invoices([InvoiceDoc("C-1", "S-C-9", dt.date(2026, 5, 10), [row])])
        with pytest.raises(DocumentError) as theirs:
            DocumentPoster(s, "ann").post_invoices([InvoiceDoc("C-9", "S-C-1", dt.date(2026, 5, 10), [row], supplier="ACME")])
    assert str(ours.value) == "r.csv: row 3, column invoice: credit note C-1 was already posted: a document is posted once"
    assert str(theirs.value) == ("r.csv: row 3, column supplier_invoice: supplier ACME's credit note S-C-1 was already "
                                 "posted (as C-1): a supplier's credit note is posted once")


@pytest.mark.postgresql_only
@pytest.mark.parametrize("kind, content, message", [
    pytest.param("receipts", "receipt,date,order,line,quantity\nR-9,2026-05-10,PO-2,1,10\n",
                 "row 2, column receipt: receipt R-9 was already posted: a document is posted once", id="receipts"),
    pytest.param("invoices", "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                             "I-9,S-9,2026-05-10,PO-2,1,10,2.50,21\n",
                 "row 2, column invoice: invoice I-9 was already posted: a document is posted once", id="invoices"),
    # a credit note is named as one (it said "invoice C-9 was already posted"): I-1 invoiced 2 of PO-1 line 1
    pytest.param("invoices", "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                             "C-9,S-C9,2026-05-10,PO-1,1,-2,2.50,21\n",
                 "row 2, column invoice: credit note C-9 was already posted: a document is posted once", id="credit-notes"),
])
def test_a_file_another_import_posts_while_this_one_waits_for_its_lines_is_said_posted(shop, tmp_path, kind, content,
                                                                                         message):
    """Two clerks import the same file at once, each line taken whole: on PostgreSQL the
    second passed the check of the numbers (the first's not committed yet), waited for the
    lines' locks, and found them full: "row 2, column quantity: receipt R-9, order PO-2 line
    1: over-receipt refused: the line still expects 0 to receive, not 10 (if more really
    came, raise the order line first: 'pledger po raise PO-2 --line 1=20')", advice that
    followed would receive the goods twice. It now says the document was posted."""

    from ledger.errors import PledgerError
    from purchase.imports import import_file

    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    second: list = []

    def other_clerk():
        try:
            with shop.session() as s:
                import_file(s, kind, path, "bob")
        except PledgerError as exc:
            second.append(str(exc))

    with shop.session() as first:
        import_file(first, kind, path, "ann")  # posted, not committed: it holds the line
        thread = shop.start_waiting(other_clerk, "the second import")
    thread.join(timeout=30)
    assert second == [f"{path}: {message}"]


@pytest.mark.parametrize("chunk", [10_000, 1], ids=["one-chunk", "a-document-a-chunk"])
def test_one_supplier_invoice_in_two_invoices_of_a_file_is_refused_by_its_row(shop, tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(imports, "CHUNK_LINES", chunk)
    content = INVOICES + "I-8,S-9,2026-05-10,PO-1,1,1,2.50,21\nI-9,S-9,2026-05-10,PO-1,1,1,2.50,21\n"
    path, said = import_refused(shop, tmp_path, "invoices", content)
    assert said == (f"{path}: row 3, column supplier_invoice: the supplier's invoice S-9 is also invoice I-8 on row 2: "
                    "a supplier's invoice is imported once")


@pytest.mark.parametrize("kind, content, message", [
    pytest.param("orders", ORDERS + "PO-8,ACME,2026-05-04,1,BOLT,5,2.50,\nPO-9,ACME,2026-05-04,1,BOLT,0,2.50,\n",
                 "row 3, column quantity: order PO-9 line 1: an ordered quantity must be above zero, not 0", id="orders"),
    pytest.param("receipts", RECEIPTS + "R-8,2026-05-10,PO-1,1,2\nR-9,2026-05-10,PO-1,1,0\n",
                 "row 3, column quantity: receipt R-9, order PO-1 line 1: a quantity of 0 changes nothing", id="receipts"),
    pytest.param("invoices", INVOICES + "I-8,S-8,2026-05-10,PO-1,1,1,2.50,21\nI-9,S-9,2026-05-10,PO-1,1,-9,2.50,21\n",
                 "row 3, column quantity: invoice I-9, order PO-1 line 1: invoiced would become -6, below zero" + held("3", "invoiced"), id="invoices"),
])
def test_a_refusal_after_documents_were_posted_writes_nothing(shop, tmp_path, monkeypatch, kind, content, message):
    """One document per chunk: the first is written (in the import's transaction) before the second is refused."""
    monkeypatch.setattr(imports, "CHUNK_LINES", 1)
    path, said = import_refused(shop, tmp_path, kind, content)
    assert said == f"{path}: {message}"


@pytest.mark.parametrize("command, args, message", [
    pytest.param("receive", ["PO-1", "--receipt", "R-1"], "receipt R-1 was already posted: a document is posted once",
                 id="receipt-posted"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-1", "--supplier-invoice", "S-9"],
                 "invoice I-1 was already posted: a document is posted once", id="invoice-posted"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S-I-1"],
                 "supplier ACME's invoice S-I-1 was already posted (as I-1): a supplier's invoice is posted once",
                 id="supplier-invoice-posted"),
    pytest.param("receive", ["PO-1", "--receipt", "R-9", "--line", "1=0.0000001"],
                 "receipt R-9, order PO-1 line 1: the quantity 0.0000001 has more than 6 decimals", id="receipt-7-decimals"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S-9", "--line", "1=0.0000001"],
                 "invoice I-9, order PO-1 line 1: the quantity 0.0000001 has more than 6 decimals", id="invoice-7-decimals"),
    pytest.param("receive", ["PO-3", "--receipt", "R-9"], "receipt R-9, order PO-3 line 1: order PO-3 is new and takes no receipts "
                 "until it is sent to the supplier ('pledger po order PO-3')",
                 id="receipt-new-order"),
    pytest.param("receive", ["PO-2", "--receipt", "R-9", "--line", "1=-5"],
                 "receipt R-9, order PO-2 line 1: received would become -5, below zero" + held("0", "received"), id="receipt-below-zero"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S-9", "--line", "1=1@0.0000001"],
                 "invoice I-9, order PO-1 line 1: the price 0.0000001 has more than 6 decimals", id="invoice-price-7-decimals"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S-9", "--line", "1=1@-2.50"],
                 "invoice I-9, order PO-1 line 1: a unit price must not be negative, not -2.50: credit with a negative "
                 "quantity", id="invoice-negative-price"),
    # 23 digits: checking its decimals took more digits than Decimal's 28 ("internal error (InvalidOperation)")
    pytest.param("receive", ["PO-2", "--receipt", "R-9", "--line", "1=99999999999999999999999"],
                 "receipt R-9, order PO-2 line 1: the quantity 99999999999999999999999 is too large to store (at most 9223372036854.775807)",
                 id="receive-quantity-23-digits"),
    pytest.param("receive", ["PO-2", "--receipt", "R-9", "--line", "1=-99999999999999999"],
                 "receipt R-9, order PO-2 line 1: the quantity -99999999999999999 is too large to store (at most 9223372036854.775807)",
                 id="return-quantity-17-digits"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S-9", "--line", "1=1@99999999999999999999999"],
                 "invoice I-9, order PO-1 line 1: the price 99999999999999999999999 is too large to store (at most 9223372036854.775807)",
                 id="invoice-price-23-digits"),
    pytest.param("receive", ["PO-2", "--receipt", "R" * 33], f"receipt number {'R' * 33} is longer than 32 characters",
                 id="receipt-number-too-long"),
    pytest.param("invoice", ["PO-1", "--invoice", "I" * 33, "--supplier-invoice", "S-9"],
                 f"invoice number {'I' * 33} is longer than 32 characters", id="invoice-number-too-long"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "S" * 65],
                 f"invoice I-9: the supplier's number {'S' * 65} is longer than 64 characters", id="supplier-invoice-too-long"),
    # a number as a CSV cell of its column would be read: the import refuses these, the commands took them
    pytest.param("receive", ["PO-2", "--receipt", " R-9"], "receipt number ' R-9' begins or ends with a space",
                 id="receipt-number-leading-space"),
    pytest.param("receive", ["PO-2", "--receipt", "R\t9"], "receipt number R\\t9 holds a line break or tab",
                 id="receipt-number-tab"),
    pytest.param("invoice", ["PO-1", "--invoice", "@SUM(A1)", "--supplier-invoice", "S-9"],
                 "invoice number @SUM(A1) begins with '@': a spreadsheet reads that as a formula; a code begins with a letter "
                 "or digit", id="invoice-number-formula"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", "-2+3"],
                 "invoice I-9: the supplier's number -2+3 begins with '-': a spreadsheet reads that as a formula; a code "
                 "begins with a letter or digit", id="supplier-invoice-formula"),
])
def test_po_receive_and_invoice_refusals(shop, command, args, message):
    assert refused(shop, "po", command, *args, "--date", DAY) == message


@pytest.mark.parametrize("command, args, option, message", [
    pytest.param("receive", ["PO-2", "--receipt", ""], "--receipt", "'' is blank: give the receipt's number",
                 id="receipt-number-blank"),
    pytest.param("receive", ["PO-2", "--receipt", "   "], "--receipt", "' ' is blank: give the receipt's number",
                 id="receipt-number-spaces"),  # Click's message shows spaces as one
    pytest.param("close", ["PO-2", "--assume-delivered", "--receipt", ""], "--receipt",
                 "'' is blank: give the number of the receipt --assume-delivered posts", id="close-receipt-blank"),
    pytest.param("close", ["PO-2", "--assume-delivered", "--receipt", " "], "--receipt",
                 "' ' is blank: give the number of the receipt --assume-delivered posts", id="close-receipt-spaces"),
    pytest.param("invoice", ["PO-1", "--invoice", "", "--supplier-invoice", "S-9"], "--invoice",
                 "'' is blank: give our number for the invoice", id="invoice-number-blank"),
    pytest.param("invoice", ["PO-1", "--invoice", "I-9", "--supplier-invoice", ""], "--supplier-invoice",
                 "'' is blank: give the number the supplier gave the invoice", id="supplier-invoice-blank"),
])
def test_a_blank_document_number_is_a_usage_mistake(shop, command, args, option, message):
    """`--receipt "$R"` with R unset (a script's) names no receipt, as `--db ""` names no books:
    a usage mistake (exit 2) naming the option and what to give, as for --db and --user. It
    was a refusal (exit 1, "receipt number is blank"; `po close --assume-delivered --receipt ' '`
    said so too, and --receipt '' there said to give the --receipt that was given)."""
    before = tables(shop)
    result = shop.cli("po", command, *args, "--date", DAY)
    assert (result.exit_code, result.stdout) == (2, ""), result.output
    assert result.stderr == f"pledger: Invalid value for '{option}': {message} (see 'pledger po {command} --help')\n"
    assert tables(shop) == before


def test_the_csv_price_with_7_decimals_is_refused_as_it_is_read(shop, tmp_path):
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-1,1,1,0.0000001,21\n")
    assert said == f"{path}: row 2, column unit_price: '0.0000001' has more than 6 decimals"


def test_a_negative_invoice_price_is_refused_naming_its_row_and_column(shop, tmp_path):
    path, said = import_refused(shop, tmp_path, "invoices", INVOICES + "I-9,S-9,2026-05-10,PO-1,1,1,-2.50,21\n")
    assert said == (f"{path}: row 2, column unit_price: invoice I-9, order PO-1 line 1: a unit price must not be "
                    f"negative, not -2.50: credit with a negative quantity")
    assert shop.raw("select count(*) from invoices where number = 'I-9'").scalar() == 0


def test_a_return_below_what_a_close_out_wrote_off_is_refused_until_it_is_undone(shop, tmp_path):
    """PO-2: 10 received, to invoice lowered to 0 by close-out 1 (10 written off as never to be
    invoiced); returning 3 would leave 7 received, below those 10. Once the close-out is undone
    the return goes through."""
    assert shop.cli("po", "receive", "PO-2", "--receipt", "R-2", "--date", DAY).exit_code == 0
    edits = tmp_path / "edits.csv"
    edits.write_text("order,line,to_receive,to_invoice\nPO-2,1,,0\n", encoding="utf-8")
    closed = shop.cli("closeout", "run", "--order", "PO-2", "--edits", edits, "--date", "2026-06-30")
    assert closed.exit_code == 0, closed.output
    message = refused(shop, "po", "receive", "PO-2", "--receipt", "R-3", "--line", "1=-3", "--date", "2026-07-01")
    assert message == ("receipt R-3, order PO-2 line 1: received would become 7, below the 10 units written off as never "
                       "to be invoiced by close-out 1; undo that close-out first")
    path, said = import_refused(shop, tmp_path, "receipts", RECEIPTS + "R-3,2026-07-01,PO-2,1,-3\n")
    assert said == f"{path}: row 2, column quantity: {message}"
    undone = shop.cli("closeout", "undo", "--number", "1", "--date", "2026-07-01")
    assert undone.exit_code == 0, undone.output
    returned = shop.cli("po", "receive", "PO-2", "--receipt", "R-3", "--line", "1=-3", "--date", "2026-07-01")
    assert (returned.exit_code, returned.stdout) == (0, "receipt R-3: order PO-2 line 1: -3 received\n"), returned.output


@pytest.mark.parametrize("kind, header, cell, column, longest", [
    ("suppliers", "code,name,currency\n", "{v},Name,EUR", "code", 32),
    ("suppliers", "code,name,currency\n", "NEW,{v},EUR", "name", 200),
    ("items", "code,description,stock_item,unit\n", "NUT,Nut,true,{v}", "unit", 8),
    ("orders", "order,supplier,order_date,line,item,quantity,unit_price,reference\n",
     "PO-9,ACME,2026-05-01,1,BOLT,1,2.50,{v}", "reference", 100),
    ("orders", "order,supplier,order_date,line,item,quantity,unit_price\n", "{v},ACME,2026-05-01,1,BOLT,1,2.50", "order", 32),
    ("receipts", "receipt,date,order,line,quantity\n", "{v},2026-05-10,PO-2,1,1", "receipt", 32),
    ("invoices", "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n",
     "I-9,{v},2026-05-10,PO-1,1,1,2.50,21", "supplier_invoice", 64),
    ("issues", "issue,date,item,quantity\n", "{v},2026-05-10,BOLT,1", "issue", 64),
])
def test_a_value_longer_than_its_column_is_refused_by_its_row_on_both_databases(shop, tmp_path, kind, header, cell, column,
                                                                                longest):
    """PostgreSQL would refuse it at the INSERT without naming the row, SQLite would keep it:
    both refuse it as it is read, naming the row and column."""
    value = "X" * (longest + 1)
    path, said = import_refused(shop, tmp_path, kind, header + cell.format(v=value) + "\n")
    shown = value if len(value) <= 40 else value[:37] + "..."  # as csvfile quotes a long cell
    assert said == f"{path}: row 2, column {column}: '{shown}' is longer than {longest} characters"


@pytest.mark.parametrize("given", ["option", "environment"])
def test_a_user_name_longer_than_the_book_keeps_is_a_usage_mistake_on_both_databases(shop, given):
    """Every row that says who acted keeps the user's name in 128 characters, an order made by
    `reorder propose --create` as its buyer in 100. PostgreSQL refused a longer name at the
    first INSERT ("value too long for type character varying(128)", naming no option) and SQLite
    kept it: both now refuse it before anything is written, and take a name of 100."""
    from click.testing import CliRunner

    from cli import commands  # noqa: F401
    from cli.main import cli

    def receive_as(name, receipt):
        args = ["--db", shop.url, "po", "receive", "PO-2", "--receipt", receipt, "--date", DAY]
        if given == "option":
            return CliRunner().invoke(cli, ["--user", name, *args], prog_name="pledger")
        return CliRunner(env={"PLEDGER_USER": name}).invoke(cli, args, prog_name="pledger")

    before = tables(shop)
    result = receive_as("u" * 101, "R-9")
    source = " (from PLEDGER_USER)" if given == "environment" else ""
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"pledger: Invalid value for '--user': '{'u' * 20}...'{source} has 101 characters: at most 100 "
                             f"(see 'pledger --help')\n")
    assert tables(shop) == before, "a refused command wrote to the books"

    kept = receive_as("u" * 100, "R-9")
    assert kept.exit_code == 0, kept.output
    assert shop.raw("select user_name from receipts where number = 'R-9'").scalar() == "u" * 100
    assert shop.raw("select count(*) from entries where user_name = :u", u="u" * 100).scalar() == 1
    assert shop.cli("check").exit_code == 0


@pytest.mark.postgresql_only
def test_an_item_made_a_service_while_its_first_receipt_posts_waits_for_it_and_is_refused(shop, tmp_path):
    """An items file turns NUT into a service while a clerk posts NUT's first receipt: on
    PostgreSQL the import found no receipt (not committed yet) and changed it; the receipt
    went to stock and its return later credited expenses, 2.00 left on each. The import now
    waits for the receipt under way, as a setting does, and refuses the change."""

    from ledger.errors import PledgerError
    from purchase.imports import import_file

    with shop.session() as s:
        item(s, "NUT")
        order(s, "PO-4", ("NUT", 5, "1.00"))
    path = tmp_path / "items.csv"
    path.write_text("code,description,stock_item\nNUT,Nut,false\n", encoding="utf-8")
    changed: list = []

    def other_user():
        try:
            with shop.session() as s:
                changed.append(import_file(s, "items", path, "bob"))
        except PledgerError as exc:
            changed.append(str(exc))

    with shop.session() as clerk:
        receive(clerk, "PO-4", 1, 2)  # posted, not committed
        thread = shop.start_waiting(other_user, "the import")
    thread.join(timeout=30)
    assert changed == ["item NUT: stock_item cannot change from true to false: its receipts (order PO-4 line 1) were "
                       "booked to stock, and a return must reverse them there; give what is bought as expense from now on "
                       "a new item code"]


def test_an_item_with_receipts_keeps_being_stock_or_expense_on_both_databases(shop, tmp_path):
    """BOLT's receipt R-1 (4 x 2.50 on PO-1) was booked to stock. Turned into an expense item,
    a return of those 4 would have credited expense 10.00 and left stock at 10.00 for goods
    gone back: the change is refused, naming the receipts' line. NUT, never received, may
    change; BOLT may change its description."""
    with shop.session() as s:
        item(s, "NUT")
        order(s, "PO-4", ("NUT", 5, "1.00"))
    path, said = import_refused(shop, tmp_path, "items", "code,description,stock_item\nNUT,Nut,false\nBOLT,Bolt M8,false\n")
    assert said == ("item BOLT: stock_item cannot change from true to false: its receipts (order PO-1 line 1) were booked "
                    "to stock, and a return must reverse them there; give what is bought as expense from now on a new item code")
    fine = tmp_path / "fine.csv"
    fine.write_text("code,description,stock_item\nNUT,Nut,false\nBOLT,Bolt M8 zinc,true\n", encoding="utf-8")
    assert shop.cli("import", "items", fine).exit_code == 0
    assert [tuple(r) for r in shop.raw("select code, description, stock_item from items order by code")] == [
        ("BOLT", "Bolt M8 zinc", True), ("NUT", "Nut", False)]
    returned = shop.cli("po", "receive", "PO-1", "--receipt", "R-9", "--line", "1=-4", "--date", DAY)
    assert returned.exit_code == 0, returned.output
    assert shop.cli("report", "trial-balance", "--format", "json").exit_code == 0
    with shop.session() as s:
        from ledger.reports import account_balance
        from tests.builders import STOCK
        assert account_balance(s, STOCK) == 0  # the return reversed the stock it came in on
    assert shop.cli("check").exit_code == 0


def test_an_order_line_worth_more_than_an_amount_holds_is_refused_when_made_or_raised_on_both_databases(shop, tmp_path):
    """Amounts are stored as BIGINTs of 1/10,000ths: at most 922,337,203,685,477.5807. An
    order line worth more was taken, and its receipt failed at the INSERT (SQLite: an
    internal error; PostgreSQL: "bigint out of range", naming nothing)."""
    header = "order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
    path, said = import_refused(shop, tmp_path, "orders", header + "BIG,ACME,2026-05-01,1,BOLT,1000,999999999999,21\n")
    assert said == (f"{path}: row 2, column quantity: order BIG line 1: its value 1000 x 999999999999 = 999999999999000.00 is more than "
                    f"an amount can hold (922337203685477.5807)")
    fits = tmp_path / "fits.csv"
    fits.write_text(header + "BIG,ACME,2026-05-01,1,BOLT,922,999999999999,21\n", encoding="utf-8")
    assert shop.cli("import", "orders", fits).exit_code == 0
    assert refused(shop, "po", "raise", "BIG", "--line", "1=923") == (
        "nothing raised: order BIG line 1: its value 923 x 999999999999 = 922999999999077.00 is more than an amount can "
        "hold (922337203685477.5807)")
    received = shop.cli("po", "receive", "BIG", "--receipt", "R-BIG", "--date", DAY)
    assert received.exit_code == 0, received.output
    assert shop.cli("check").exit_code == 0


def test_sums_beyond_what_sqlite_adds_up_say_so(shop, tmp_path, db_kind):
    """Two lines each within an amount, together beyond it: PostgreSQL sums BIGINTs as
    NUMERIC, exactly; SQLite's SUM stops at 2^63 - 1 ("integer overflow"), which was told as
    a database that cannot be reached."""
    orders = tmp_path / "two.csv"
    orders.write_text("order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
                      "TWO,ACME,2026-05-01,1,BOLT,1000,500000000000,21\nTWO,ACME,2026-05-01,2,BOLT,1000,500000000000,21\n")
    assert shop.cli("import", "orders", orders).exit_code == 0
    assert shop.cli("po", "receive", "TWO", "--receipt", "R-TWO", "--date", DAY).exit_code == 0
    shown = shop.cli("report", "trial-balance", "--format", "json")
    if db_kind == "postgresql":
        assert shown.exit_code == 0, shown.output
        stock = next(r for r in json.loads(shown.stdout) if r["account"] == "340000")
        assert stock["debit"] == "1000000000000010.00"  # R-1's 10.00 and R-TWO's 2 x 500,000,000,000,000.00, exactly
        assert shop.cli("check").exit_code == 0
        return
    for args in (("report", "trial-balance"), ("check",)):
        result = shop.cli(*args)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr == ("pledger: the amounts to add up here come to more than SQLite sums (922337203685477.5807 "
                                 "a column): nothing was changed; a book of such amounts needs PostgreSQL, which sums "
                                 "them exactly\n")


def test_an_item_an_earlier_pledger_let_change_after_receipts_may_be_put_back(shop, tmp_path):
    """Before the refusal above, an import could turn BOLT (received into stock on PO-1)
    into an expense item: a return then credited expense. Turning it back to what its
    receipts were booked to is taken; turning it on again is refused, as the ledger says."""
    shop.raw("update items set stock_item = :f where code = 'BOLT'", f=False)  # what an earlier pledger let happen
    back = tmp_path / "back.csv"
    back.write_text("code,description,stock_item\nBOLT,Bolt M8,true\n", encoding="utf-8")
    result = shop.cli("import", "items", back)
    assert result.exit_code == 0, result.output
    assert shop.raw("select stock_item from items where code = 'BOLT'").scalar() in (True, 1)
    path, said = import_refused(shop, tmp_path, "items", "code,description,stock_item\nBOLT,Bolt M8,false\n")
    assert said == ("item BOLT: stock_item cannot change from true to false: its receipts (order PO-1 line 1) were booked "
                    "to stock, and a return must reverse them there; give what is bought as expense from now on a new item code")


@pytest.mark.parametrize("content, column, char", [
    ("code,name,currency\nNEW,Evil \u202eNV,EUR\n", "name", "U+202E"),
    ("code,name,currency\nNE\u2066W,New NV,EUR\n", "code", "U+2066"),
])
def test_a_bidirectional_control_character_is_refused_naming_its_row_and_column(shop, tmp_path, content, column, char):
    """A supplier name holding U+202E (right-to-left override) was imported; the backorder
    table, in a terminal that follows Unicode's bidi rules, shows the rest of its row mirrored: 'Evil <U+202E>NV  PO-1 ... 6.00' reads
    '00.6 ... 1-OP  VN'. Hebrew and Arabic names need no such character and are taken."""
    path, said = import_refused(shop, tmp_path, "suppliers", content)
    assert said.startswith(f"{path}: row 2, column {column}: ")
    assert said.endswith(f"holds a bidirectional control character ({char}), "
                         "which shows the text after it, figures too, in another order")


def test_a_hebrew_or_arabic_name_is_taken(shop, tmp_path):
    path = tmp_path / "suppliers.csv"
    path.write_text("code,name,currency\nHEB,\u05d0\u05d1\u05d2 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 NV,EUR\n", encoding="utf-8")
    result = shop.cli("import", "suppliers", str(path))
    assert result.exit_code == 0, result.output


def test_an_invoice_whose_total_is_more_than_an_amount_holds_is_refused_naming_it_on_both_databases(shop, tmp_path):
    """Each line of the invoice fits an amount, its total with VAT does not: the creditors
    line failed at the INSERT (SQLite: "internal error (OverflowError: Python int too large
    to convert to SQLite INTEGER)"; PostgreSQL: "bigint out of range", naming nothing)."""
    def refused(order: str, quantity: int, order_price: str, invoice_price: str):
        """An order of one line, then an invoice of it at another price: its refusal."""
        orders = tmp_path / f"{order}.csv"
        orders.write_text("order,supplier,order_date,line,item,quantity,unit_price,vat_rate\n"
                          f"{order},ACME,2026-05-01,1,BOLT,{quantity},{order_price},21\n", encoding="utf-8")
        assert shop.cli("import", "orders", orders).exit_code == 0
        return import_refused(shop, tmp_path, "invoices",
                              "invoice,supplier_invoice,date,order,line,quantity,unit_price,vat_rate\n"
                              f"I-BIG,S-BIG,{DAY},{order},1,{quantity},{invoice_price},21\n")

    path, said = refused("BIG", 900, "999999999999", "999999999999")
    assert said == (f"{path}: row 2, column invoice: invoice I-BIG: its total 1088999999998911.00 is more than an amount "
                    f"can hold (922337203685477.5807)")
    path, said = refused("CHEAP", 1000, "0.01", "999999999999")
    assert said == (f"{path}: row 2, column unit_price: invoice I-BIG, order CHEAP line 1: its amount 999999999999000.00 is "
                    f"more than an amount can hold (922337203685477.5807)")
    assert shop.cli("check").exit_code == 0
