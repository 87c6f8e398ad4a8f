"""The edges of UBL imports (mutation testing, second round): the payable rounding, the
posting order of a folder, unit prices, matching credits by item, the price a credit is
compared with, and spreading document-level allowances and charges.

c05_rounding.xml (tests/test_ubl_audit.py): 3 x 24.00 = 72.00 net, VAT 15.12, 87.12
with VAT, payable 87.16 after a PayableRoundingAmount of 0.04.
"""

import datetime as dt

from sqlalchemy import select

from purchase.masterdata import OrderData, OrderLineData, create_orders
from purchase.models import Invoice, InvoiceLine, OrderLine, PurchaseOrder
from purchase.ubl.importer import _Matcher
from purchase.ubl.invoice import parse_invoice
from tests.builders import CREDITORS, ROUNDING, D, balance, invoice
from tests.test_ubl_audit import AUDIT, book, edited, imported, line_state, refused  # noqa: F401 (the fixture)
from tests.ubl.conftest import assert_schema_valid
from tests.ubl.test_ubl_parse import SAMPLES


def test_a_rounding_of_exactly_one_unit_is_refused_and_of_99_cents_is_posted(book, tmp_path):
    path = edited(tmp_path, "c05_rounding.xml", (">0.04<", ">1.00<"), (">87.16<", ">88.12<"))
    assert refused(book, path) == (
        "pledger: c05_rounding.xml: invoice S-105: PayableRoundingAmount 1.00 is not a rounding of the payable amount "
        "(one EUR or more): refused; ask the supplier for a corrected document")
    path = edited(tmp_path, "c05_rounding.xml", (">0.04<", ">0.99<"), (">87.16<", ">88.11<"))
    imported(book, path)
    with book.session() as s:
        assert (balance(s, ROUNDING), balance(s, CREDITORS)) == (D("0.99"), D("-88.11"))


def test_a_rounding_down_is_credited_and_lowers_what_is_owed(book, tmp_path):
    path = edited(tmp_path, "c05_rounding.xml", (">0.04<", ">-0.02<"), (">87.16<", ">87.10<"))
    imported(book, path)
    with book.session() as s:
        assert (balance(s, ROUNDING), balance(s, CREDITORS)) == (D("-0.02"), D("-87.10"))


def test_a_folder_posts_its_invoices_before_a_credit_note_dated_earlier(book, tmp_path):
    """docs/accounting.md: invoices before credit notes, each by issue date. A credit note
    dated the day before the invoice it credits (INV-2024-0031, 03-12: 3 invoiced) is still
    posted after it: 1 credited back, 2 left invoiced."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    edited(folder, "CN-2024-0007.xml", ("<cbc:IssueDate>2024-03-20<", "<cbc:IssueDate>2024-03-11<"))
    (folder / "INV-2024-0031.xml").write_bytes((AUDIT / "INV-2024-0031.xml").read_bytes())
    imported(book, folder)
    assert line_state(book, "PO-1", 1) == (D(0), D(2))


def test_an_invoice_its_full_credit_note_and_the_corrected_invoice_post_in_their_own_order(book, tmp_path):
    """c00_simple (S-1, 03-12) invoices all of PO-1; CN-1 (03-13) credits S-1 in full, naming it
    (BillingReference); S-2 (03-14) invoices it again. Together in one folder they post in that
    order, as each alone would: posting both invoices first refused the folder as over-invoicing
    ("the line still expects 0 to invoice, not 10") and told the user to raise the order line."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "S-1.xml").write_bytes((AUDIT / "c00_simple.xml").read_bytes())
    edited(folder, "c00_simple.xml",
           ('<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"',
            '<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"'),
           ("</Invoice>", "</CreditNote>"), ("<cbc:ID>S-1</cbc:ID>", "<cbc:ID>CN-1</cbc:ID>"),
           ("<cbc:IssueDate>2024-03-12</cbc:IssueDate><cbc:DueDate>2024-04-11</cbc:DueDate>",
            "<cbc:IssueDate>2024-03-13</cbc:IssueDate>"),
           ("<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"),
           ("</cac:OrderReference>", "</cac:OrderReference><cac:BillingReference><cac:InvoiceDocumentReference>"
                                     "<cbc:ID>S-1</cbc:ID></cac:InvoiceDocumentReference></cac:BillingReference>"),
           ("<cac:InvoiceLine>", "<cac:CreditNoteLine>"), ("</cac:InvoiceLine>", "</cac:CreditNoteLine>"),
           ("cbc:InvoicedQuantity", "cbc:CreditedQuantity"), as_name="CN-1.xml")
    edited(folder, "c00_simple.xml", ("<cbc:ID>S-1</cbc:ID>", "<cbc:ID>S-2</cbc:ID>"),
           ("<cbc:IssueDate>2024-03-12<", "<cbc:IssueDate>2024-03-14<"), as_name="S-2.xml")
    assert_schema_valid("CreditNote", folder / "CN-1.xml")
    imported(book, folder)
    assert (line_state(book, "PO-1", 1), line_state(book, "PO-1", 2)) == ((D(0), D(10)), (D(0), D(2)))
    with book.session() as s:
        assert balance(s, CREDITORS) == D("-519.09")  # S-2 only: S-1 less CN-1 is nothing
        numbers = s.execute(select(Invoice.supplier_invoice).order_by(Invoice.id)).scalars().all()
    assert numbers == ["S-1", "CN-1", "S-2"]


def test_an_invoice_lines_unit_price_is_its_amount_over_its_quantity_rounded_half_up(book, tmp_path):
    """72.02 for 3 is 24.0066666...: kept as 24.006667 (six decimals, half-up), as every
    price pledger rounds; the amount posted stays the 72.02 the invoice states."""
    path = edited(tmp_path, "c05_rounding.xml", ('<cbc:PriceAmount currencyID="EUR">24.00<', '<cbc:PriceAmount currencyID="EUR">24.006667<'),
                  (">72.00<", ">72.02<"), (">87.12<", ">87.14<"), (">87.16<", ">87.18<"))
    imported(book, path)
    with book.session() as s:
        assert s.execute(select(InvoiceLine.quantity, InvoiceLine.unit_price, InvoiceLine.amount)).all() == [
            (D(3), D("24.006667"), D("72.02"))]


def test_a_credit_by_item_is_not_matched_to_a_line_whose_invoiced_units_were_written_off(book, tmp_path):
    """CN-2024-0007 without its order and line references credits 1 PAPER-A4 of supplier
    JANS. PO-1 line 1 was invoiced 3 (INV-2024-0031); PO-6 line 1 was invoiced 2 whose goods
    a close-out wrote off as never to arrive: crediting it would take I below Wv (DOMAIN.md
    rule 4), so PO-1 line 1 is the one line that can take the credit."""
    with book.session() as s:
        create_orders(s, [OrderData("PO-6", "JANS", dt.date(2024, 3, 1), [
            OrderLineData(1, "PAPER-A4", D(5), D("25.00"), discount_pct=D(0), vat_rate=D(21))])])
        invoice(s, "PO-6", 1, 2, date=dt.date(2024, 3, 5), number="I-6")
    assert book.cli("closeout", "run", "--order", "PO-6", "--close-fully", "--date", "2024-03-06").exit_code == 0
    imported(book, AUDIT / "INV-2024-0031.xml")
    credit = edited(tmp_path, "CN-2024-0007.xml", ("<cac:OrderReference><cbc:ID>PO-1</cbc:ID></cac:OrderReference>", ""),
                    ("<cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference>", ""))
    imported(book, credit)
    assert (line_state(book, "PO-1", 1), line_state(book, "PO-6", 1)) == ((D(0), D(2)), (D(0), D(2)))


def test_the_price_a_line_was_invoiced_at_leaves_its_credit_notes_out(book):
    """A UBL credit is compared with the line's order price and the average price of its
    invoices (`_Matcher.refuse_price_correction`): 10 invoiced at 25.00 is 250.00 for 10,
    whatever a credit note of 5 at 13.00 gave back since (counted in, the average would
    be 37.00, and a credit at 52.00 would no longer look like a price correction)."""
    with book.session() as s:
        create_orders(s, [OrderData("PO-6", "JANS", dt.date(2024, 3, 1), [
            OrderLineData(1, "PAPER-A4", D(10), D("10.00"), discount_pct=D(0), vat_rate=D(21))])])
        invoice(s, "PO-6", 1, 10, price="25.00", date=dt.date(2024, 3, 5), number="I-6")
        invoice(s, "PO-6", 1, -5, price="13.00", date=dt.date(2024, 3, 6), number="C-6")
        line_id = s.scalar(select(OrderLine.id).join(PurchaseOrder).where(PurchaseOrder.number == "PO-6"))
        assert _Matcher(s).invoiced_before(line_id) == (D(10), D("250.00"))


def test_a_document_allowance_and_charge_spread_over_a_negative_line_with_its_sign(tmp_path):
    """invoice-document-allowance-charge.xml with its third line turned into 7 notes taken
    back (-70.00): net 79.99, less 10.00, plus 15.00, 84.99 taxable. The allowance and the
    charge are spread in proportion to the signed net amounts, so every line keeps the same
    share of them (+6.25 % net: 5.00 / 79.99) and the line taken back is credited at the
    price after them, as the goods were invoiced at it."""
    xml = (SAMPLES / "invoice-document-allowance-charge.xml").read_text(encoding="utf-8")
    for old, new in (('unitCode="C62">7<', 'unitCode="C62">-7<'), (">70.00<", ">-70.00<"), (">219.99<", ">79.99<"),
                     (">224.99<", ">84.99<"), (">47.25<", ">17.85<"), (">272.24<", ">102.84<")):
        assert old in xml, old
        xml = xml.replace(old, new)
    path = tmp_path / "negative-line.xml"
    path.write_text(xml, encoding="utf-8")
    invoice = parse_invoice(path)
    assert invoice.check_arithmetic() == []
    assert [(a.net, a.spread, a.amount) for a in invoice.line_amounts()] == [
        (D("99.99"), D("6.25"), D("106.24")), (D("50.00"), D("3.13"), D("53.13")), (D("-70.00"), D("-4.38"), D("-74.38"))]


def test_a_rounding_finer_than_a_cent_is_refused_naming_the_file_and_the_suppliers_number(book, tmp_path):
    """It named only our number (invoice UBL-NLBV-S-105), which no file holds: in a folder of
    many invoices the user could not tell which one was refused."""
    path = edited(tmp_path, "c05_rounding.xml", (">0.04<", ">0.045<"), (">87.16<", ">87.165<"))
    assert refused(book, path) == (
        "pledger: c05_rounding.xml: invoice S-105: the rounding 0.045 is finer than the EUR minor unit 0.01")


def test_figures_too_large_to_store_are_refused_naming_the_file_line_and_figure(book, tmp_path):
    """They were refused as "pledger: 10000000000000.000000 is too large to store", naming
    neither the file, nor the line, nor which figure it was."""
    path = edited(tmp_path, "c05_rounding.xml", (">24.00<", ">10000000000000.00<"), (">72.00<", ">30000000000000.00<"),
                  (">15.12<", ">6300000000000.00<"), (">87.12<", ">36300000000000.00<"), (">87.16<", ">36300000000000.04<"))
    assert refused(book, path) == (
        "pledger: c05_rounding.xml: invoice S-105 line 1: unit price 10000000000000 is too large to store (at most 9223372036854.775807)")
    path = edited(tmp_path, "c05_rounding.xml", ('unitCode="C62">3<', 'unitCode="C62">100<'),
                  (">24.00<", ">9000000000000.00<"), (">72.00<", ">900000000000000.00<"), (">15.12<", ">189000000000000.00<"),
                  (">87.12<", ">1089000000000000.00<"), (">87.16<", ">1089000000000000.04<"))
    assert refused(book, path) == (
        "pledger: c05_rounding.xml: invoice S-105: its total 1089000000000000.04 is too large to store (at most 922337203685477.5807)")


def test_a_rounding_down_of_a_whole_unit_is_quoted_as_the_document_states_it(book, tmp_path):
    """It was quoted as "PayableRoundingAmount 1.50": the document says -1.50."""
    path = edited(tmp_path, "c05_rounding.xml", (">0.04<", ">-1.50<"), (">87.16<", ">85.62<"))
    assert refused(book, path) == (
        "pledger: c05_rounding.xml: invoice S-105: PayableRoundingAmount -1.50 is not a rounding of the payable amount "
        "(one EUR or more): refused; ask the supplier for a corrected document")
