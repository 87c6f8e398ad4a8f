"""Peppol BIS 3 documents the team's stop 52 asked about, on the audit's book (`tests/test_ubl_audit.py`).

- a credit note numbered like one of the supplier's invoices: refused, naming the document
  that holds the number (the books keep one document per supplier and number);
- a DOCTYPE declaring XML entities: refused, nothing read from it;
- a BuyerReference (BT-10) naming an order of the seller's when OrderReference (BT-13) is absent;
- text lines (quantity 0, amount 0): skipped, the rest taken.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from purchase.ubl.errors import UblError
from purchase.ubl.invoice import parse_invoice
from tests.test_ubl_audit import AUDIT, book, creditors, edited, imported  # noqa: F401 (book: a fixture)
from tests.test_ubl_import import line_state
from tests.test_ubl_refusals import refusal, written
from tests.ubl.conftest import assert_schema_valid

D = Decimal


def refused(book, *paths) -> str:  # noqa: F811
    """The one line on stderr of a refusal (exit 1) that wrote nothing."""
    before = written(book)
    code, message = refusal(book, *paths)
    assert code == 1
    assert written(book) == before
    return message


def report(book, *paths, trial: bool = True) -> dict:  # noqa: F811
    result = book.cli("import", "ubl", *(["--trial"] if trial else []), "--format", "json", *paths)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def matched(document: dict) -> list[tuple[str, str, int, str]]:
    return [(ln["line"], ln["order"], ln["order_line"], ln["matched_by"]) for ln in document["lines"]]


# --------------------------------------------------------------------------- 1. one number, two kinds


def test_a_credit_note_numbered_like_an_imported_invoice_names_that_invoice(book, tmp_path):  # noqa: F811
    """JANS numbers its credit notes and invoices apart, and credit note INV-2024-0031 came after
    invoice INV-2024-0031. The refusal said "supplier JANS's INV-2024-0031 was already imported":
    the credit note had never been. It names the invoice that holds the number, and what to do."""
    imported(book, AUDIT / "INV-2024-0031.xml")
    credit = edited(tmp_path, "CN-2024-0007.xml", ("<cbc:ID>CN-2024-0007</cbc:ID>", "<cbc:ID>INV-2024-0031</cbc:ID>"))
    assert refused(book, credit) == (
        "pledger: CN-2024-0007.xml: credit note INV-2024-0031: supplier JANS's invoice INV-2024-0031 already holds "
        "this number (imported as UBL-JANS-INV-2024-0031, dated 2024-03-12), and pledger keeps one document per "
        "supplier and number: refused; import this credit note with 'pledger import invoices' (negative quantities) "
        "under a supplier_invoice of its own, such as INV-2024-0031-CN")
    assert line_state(book, "PO-1", 1) == (D(0), D(3))


def test_an_invoice_and_a_credit_note_of_one_number_in_one_batch_are_named_both(book, tmp_path):  # noqa: F811
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "INV-2024-0031.xml").write_bytes((AUDIT / "INV-2024-0031.xml").read_bytes())
    edited(folder, "CN-2024-0007.xml", ("<cbc:ID>CN-2024-0007</cbc:ID>", "<cbc:ID>INV-2024-0031</cbc:ID>"))
    assert refused(book, folder) == (
        "pledger: CN-2024-0007.xml: credit note INV-2024-0031: supplier JANS's invoice INV-2024-0031 in "
        "INV-2024-0031.xml has this number too, and pledger keeps one document per supplier and number: refused; "
        "import this credit note with 'pledger import invoices' (negative quantities) under a supplier_invoice of "
        "its own, such as INV-2024-0031-CN")


def test_a_credit_note_imported_twice_is_named_a_credit_note(book):  # noqa: F811
    imported(book, AUDIT / "INV-2024-0031.xml", AUDIT / "CN-2024-0007.xml")
    assert refused(book, AUDIT / "CN-2024-0007.xml") == (
        "pledger: CN-2024-0007.xml: credit note CN-2024-0007: supplier JANS's credit note CN-2024-0007 was already "
        "imported (as UBL-JANS-CN-2024-0007, dated 2024-03-20): a document is imported once")


# --------------------------------------------------------------------------- 2. entities


XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def with_doctype(folder: Path, doctype: str, *changes: tuple[str, str]) -> Path:
    return edited(folder, "c00_simple.xml", (XML_DECLARATION, XML_DECLARATION + "\n" + doctype), *changes)


@pytest.mark.parametrize("doctype, changes, named", [
    ('<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>',
     [("<cbc:BuyerReference>ann<", "<cbc:BuyerReference>ann&xxe;<")], "xxe"),
    ('<!DOCTYPE Invoice [<!ENTITY po "PO-1">]>', [("<cbc:ID>PO-1</cbc:ID>", "<cbc:ID>&po;</cbc:ID>")], "po"),
    ('<!DOCTYPE Invoice [<!ENTITY % remote SYSTEM "http://example.com/x.dtd">]>', [], "remote"),
], ids=["external", "internal", "parameter"])
def test_a_doctype_declaring_entities_is_refused(book, tmp_path, doctype, changes, named):  # noqa: F811
    """An external entity was dropped without a word (nothing fetched) and the rest booked;
    Peppol documents never declare entities (PEPPOL rules forbid a DOCTYPE): refused."""
    path = with_doctype(tmp_path, doctype, *changes)
    assert refused(book, path) == (
        f"pledger: c00_simple.xml: declares XML entities (DOCTYPE: {named}); Peppol documents have none: refused")
    with pytest.raises(UblError, match=rf"^UBL document: declares XML entities \(DOCTYPE: {named}\)"):
        parse_invoice(path.read_bytes())


def test_a_doctype_naming_an_external_dtd_is_refused(book, tmp_path):  # noqa: F811
    """An external DTD is never read; entities it may declare would be dropped as the ones above were."""
    path = with_doctype(tmp_path, '<!DOCTYPE Invoice SYSTEM "http://example.com/invoice.dtd">')
    assert refused(book, path) == (
        "pledger: c00_simple.xml: names an external DTD in its DOCTYPE (http://example.com/invoice.dtd), which may "
        "declare XML entities; Peppol documents have none: refused")


def test_a_doctype_declaring_no_entity_is_read_as_before(book, tmp_path):  # noqa: F811
    imported(book, with_doctype(tmp_path, "<!DOCTYPE Invoice>"))
    assert creditors(book) == D("519.09")


# --------------------------------------------------------------------------- 3. BuyerReference


NO_ORDER_REFERENCE = ("<cac:OrderReference><cbc:ID>PO-1</cbc:ID></cac:OrderReference>", "")


def test_a_buyer_reference_naming_the_sellers_order_is_its_order_reference(book, tmp_path):  # noqa: F811
    """Dutch and Belgian buyers have their PO number put in BuyerReference (BT-10), which Peppol
    requires when OrderReference is absent. Line 2's reference (2) names PO-1 line 2, though its
    item is on no other line: it matched by item, "the invoice names no order (BT-13)"."""
    path = edited(tmp_path, "c00_simple.xml", NO_ORDER_REFERENCE,
                  ("<cbc:BuyerReference>ann<", "<cbc:BuyerReference>PO-1<"))
    assert_schema_valid("Invoice", path)
    document, = report(book, path)["documents"]
    assert matched(document) == [("1", "PO-1", 1, "order line reference"), ("2", "PO-1", 2, "order line reference")]
    assert document["order_reference"] == {"order": "PO-1", "from": "BuyerReference"}
    imported(book, path)
    assert creditors(book) == D("519.09")


def test_a_buyer_reference_names_the_order_only_when_no_order_reference_is_given(book, tmp_path):  # noqa: F811
    path = edited(tmp_path, "c00_simple.xml", ("<cbc:BuyerReference>ann<", "<cbc:BuyerReference>PO-2<"))
    document, = report(book, path)["documents"]
    assert matched(document) == [("1", "PO-1", 1, "order line reference"), ("2", "PO-1", 2, "order line reference")]
    assert document["order_reference"] == {"order": "PO-1", "from": "OrderReference"}


@pytest.mark.parametrize("reference", ["PO-9", "PO-404"], ids=["another suppliers order", "no order"])
def test_a_buyer_reference_naming_no_order_of_the_seller_changes_nothing(book, tmp_path, reference):  # noqa: F811
    """PO-9 is ANON's, not JANS's; PO-404 is nobody's: matched as with a BuyerReference 'ann'."""
    as_before = report(book, edited(tmp_path, "c00_simple.xml", NO_ORDER_REFERENCE, as_name="ann.xml"))
    named = report(book, edited(tmp_path, "c00_simple.xml", NO_ORDER_REFERENCE,
                                ("<cbc:BuyerReference>ann<", f"<cbc:BuyerReference>{reference}<")))
    assert matched(named["documents"][0]) == matched(as_before["documents"][0]) == [
        ("1", "PO-1", 1, "item PAPER-A4 (the invoice names no order (BT-13))"),
        ("2", "PO-1", 2, "item TONER-BLACK (the invoice names no order (BT-13))")]
    for document in (named["documents"][0], as_before["documents"][0]):
        assert document["order_reference"] is None
        document.pop("file")
    assert named == as_before


# --------------------------------------------------------------------------- 4. text lines


def invoice_line(line_id: str, quantity: str, amount: str, inner: str = "", price: str = "0.00") -> str:
    return (f'<cac:InvoiceLine><cbc:ID>{line_id}</cbc:ID><cbc:InvoicedQuantity unitCode="C62">{quantity}'
            f'</cbc:InvoicedQuantity><cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>'
            f'{inner}<cac:Item><cbc:Name>Delivered with note DN-88, your contact Ann</cbc:Name>'
            f'<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent><cac:TaxScheme><cbc:ID>VAT'
            f'</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item><cac:Price><cbc:PriceAmount '
            f'currencyID="EUR">{price}</cbc:PriceAmount></cac:Price></cac:InvoiceLine>')


def test_a_text_line_of_quantity_0_and_amount_0_is_skipped(book, tmp_path):  # noqa: F811
    """A line of quantity 0 and amount 0 carries no goods and no money (a note the supplier's
    system writes as a line): it refused the whole invoice ("cannot be matched ... names no item")."""
    second_line = "<cac:InvoiceLine><cbc:ID>2</cbc:ID>"
    path = edited(tmp_path, "c00_simple.xml", (second_line, invoice_line("1a", "0", "0.00") + second_line))
    assert_schema_valid("Invoice", path)
    document, = report(book, path)["documents"]
    assert [ln["line"] for ln in document["lines"]] == ["1", "2"]
    assert document["skipped"] == [{"line": "1a", "reason": "quantity 0, amount 0: no goods and no money"}]
    table = book.cli("import", "ubl", "--trial", path)
    assert "line 1a skipped (quantity 0, amount 0: no goods and no money)" in table.stdout
    result = imported(book, path)
    assert "2 lines" in result.stdout
    assert creditors(book) == D("519.09")
    assert line_state(book, "PO-1", 1) == (D(0), D(10))


def test_several_text_lines_skipped_are_named_in_one_note(book, tmp_path):  # noqa: F811
    second_line = "<cac:InvoiceLine><cbc:ID>2</cbc:ID>"
    path = edited(tmp_path, "c00_simple.xml",
                  (second_line, invoice_line("1a", "0", "0.00") + invoice_line("1b", "0", "0.00") + second_line))
    table = book.cli("import", "ubl", "--trial", path)
    assert "lines 1a, 1b skipped (quantity 0, amount 0: no goods and no money)" in table.stdout, table.output


def test_an_invoice_of_text_lines_only_is_refused(book, tmp_path):  # noqa: F811
    lines_start = "<cac:InvoiceLine>"
    xml = (AUDIT / "c00_simple.xml").read_text(encoding="utf-8")
    head = xml[: xml.index(lines_start)]
    for old, new in (('EUR">429.00<', 'EUR">0.00<'), ('EUR">90.09<', 'EUR">0.00<'), ('EUR">519.09<', 'EUR">0.00<')):
        head = head.replace(old, new)
    path = tmp_path / "text-only.xml"
    path.write_text(head + invoice_line("1", "0", "0.00") + "</Invoice>", encoding="utf-8")
    assert refused(book, path) == (
        "pledger: text-only.xml: invoice S-1: every line has quantity 0 and amount 0: it bills no goods and no "
        "money, there is nothing to book: refused")


def test_a_line_of_quantity_0_with_an_amount_is_still_refused(book, tmp_path):  # noqa: F811
    """Quantity 0 and a charge of 5.00 on PO-1 line 1: money for no goods stays refused, as before."""
    charge = ('<cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference><cac:AllowanceCharge>'
              '<cbc:ChargeIndicator>true</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Handling'
              '</cbc:AllowanceChargeReason><cbc:Amount currencyID="EUR">5.00</cbc:Amount></cac:AllowanceCharge>')
    last_line_end = "</cac:InvoiceLine></Invoice>"
    path = edited(tmp_path, "c00_simple.xml", (last_line_end, "</cac:InvoiceLine>" + invoice_line("3", "0", "5.00", charge)
                                               + "</Invoice>"),
                  ('EUR">429.00<', 'EUR">434.00<'), ('EUR">90.09<', 'EUR">91.14<'), ('EUR">519.09<', 'EUR">525.14<'))
    assert_schema_valid("Invoice", path)
    assert refused(book, path) == (
        "pledger: c00_simple.xml: invoice S-1 line 3: invoice UBL-JANS-S-1, order PO-1 line 1: a quantity of 0 "
        "changes nothing")


# --------------------------------------------------------------------------- line IDs


def test_a_document_with_two_lines_of_one_id_is_refused(book, tmp_path):  # noqa: F811
    """BT-126 is "a unique identifier for the individual line", and pledger names a document's
    lines by it ("line 1a skipped", "c00_simple.xml: invoice ... line 2: ..."): a document with two
    lines 1 was taken, its refusals and trial then naming either by the same words."""
    twice = edited(tmp_path, "c00_simple.xml", ("<cac:InvoiceLine><cbc:ID>2", "<cac:InvoiceLine><cbc:ID>1"))
    message = refused(book, twice)
    assert message.startswith("pledger: c00_simple.xml: ")
    assert message.endswith(": lines 1 and 2 have the same ID '1' (BT-126): a document's line IDs are unique, and "
                            "pledger names its lines by them; ask the supplier for a corrected document")
    assert report(book, AUDIT / "c00_simple.xml")["documents"][0]["lines"]  # its lines 1 and 2: taken as before
