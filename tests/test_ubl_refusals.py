"""`pledger import ubl`: every refusal through the CLI, with its exact message and exit code.

Each case is a sample of tests/ubl/samples, edited by plain string replacement where the
refusal needs it, imported into the shop of tests/test_ubl_import.py (suppliers JANS and
PEET with VAT numbers, ATL with a Peppol endpoint only; orders PO-1001 ... PO-1008). A
refusal exits 1, prints nothing on stdout and exactly one line on stderr, and writes
nothing: no invoice, no entry.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from sqlalchemy import text

from purchase.masterdata import SupplierData, upsert_suppliers
from tests.test_ubl_import import SAMPLES, count, make_order, shop  # noqa: F401 (shop: a fixture)


def edited(folder, sample, *changes, name=None):
    """A copy of a sample in `folder` with every occurrence of each `old` replaced by `new`."""
    xml = (SAMPLES / sample).read_text(encoding="utf-8")
    for old, new in changes:
        assert old in xml, f"{old!r} is not in {sample}"
        xml = xml.replace(old, new)
    path = folder / (name or sample)
    path.write_text(xml, encoding="utf-8")
    return path


def refusal(books, *paths):
    """`pledger import ubl PATH...`: (exit code, the one line on stderr); stdout stays empty."""
    result = books.cli("import", "ubl", *paths)
    assert result.stdout == "", result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return result.exit_code, lines[0]


def written(books):
    return count(books, "invoices"), count(books, "entries")


# --------------------------------------------------------------------------- matching refusals

SELLER_VAT = "<cbc:CompanyID>BE0123456749</cbc:CompanyID>"
SELLER_TAX_SCHEME = (
    "      <cac:PartyTaxScheme>\n"
    "        <cbc:CompanyID>BE0123456749</cbc:CompanyID>\n"
    "        <cac:TaxScheme>\n"
    "          <cbc:ID>VAT</cbc:ID>\n"
    "        </cac:TaxScheme>\n"
    "      </cac:PartyTaxScheme>\n"
)
LONG_NUMBER = "INV-" + "9" * 61  # 65 characters

# (sample, changes, the message on stderr)
REFUSED = {
    "foreign currency, no order": (
        "invoice-usd.xml",
        [("<cbc:ID>PO-1008</cbc:ID>", "<cbc:ID>THEIR-REF</cbc:ID>")],
        "pledger: invoice-usd.xml: invoice INV-1008 is in USD, the books are kept in EUR: foreign-currency invoices "
        "cannot be imported yet; ask the supplier for an invoice in EUR",
    ),
    "document number too long": (
        "invoice-simple.xml",
        [("<cbc:ID>INV-1001</cbc:ID>", f"<cbc:ID>{LONG_NUMBER}</cbc:ID>")],
        f"pledger: invoice-simple.xml: invoice {LONG_NUMBER}: its number {LONG_NUMBER} is longer than 64 characters",
    ),
    "document number a spreadsheet reads as a formula": (
        "invoice-simple.xml",
        [("<cbc:ID>INV-1001</cbc:ID>", "<cbc:ID>=HYPERLINK(\"x\")</cbc:ID>")],
        "pledger: invoice-simple.xml: invoice =HYPERLINK(\"x\"): its number =HYPERLINK(\"x\") begins with '=': a "
        "spreadsheet reads that as a formula; a code begins with a letter or digit",
    ),
    "issued on a date outside every fiscal year": (
        "invoice-simple.xml",
        [("<cbc:IssueDate>2024-03-12</cbc:IssueDate>", "<cbc:IssueDate>2023-12-28</cbc:IssueDate>")],
        "pledger: invoice-simple.xml: invoice INV-1001: 2023-12-28 lies outside every fiscal year: open it with "
        "'pledger year open 2023'",
    ),
    "seller's VAT number is not the supplier's": (
        "invoice-simple.xml",
        [(SELLER_VAT, "<cbc:CompanyID>BE0999999999</cbc:CompanyID>")],
        "pledger: invoice-simple.xml: invoice INV-1001: the seller's VAT number BE0999999999 (Papierwaren Janssens "
        "NV) is not supplier JANS's BE 0123.456.749 (order PO-1001): refused; check the order reference or the "
        "supplier's vat_number",
    ),
    "seller states no VAT number": (
        "invoice-simple.xml",
        [(SELLER_TAX_SCHEME, "")],
        "pledger: invoice-simple.xml: invoice INV-1001: the seller (Papierwaren Janssens NV) states no VAT number, "
        "supplier JANS (order PO-1001) has BE 0123.456.749: refused, the seller cannot be checked",
    ),
    "no supplier has the seller's VAT number": (
        "invoice-no-order-reference.xml",
        [(SELLER_VAT, "<cbc:CompanyID>BE0999999999</cbc:CompanyID>")],
        "pledger: invoice-no-order-reference.xml: invoice INV-1009: names no order of ours and no supplier has the "
        "seller's VAT number BE0999999999 (Papierwaren Janssens NV); set the supplier's vat_number with 'pledger "
        "import suppliers'",
    ),
    "no supplier has the seller's identification": (
        "invoice-no-order-reference.xml",
        [(SELLER_TAX_SCHEME, "")],
        "pledger: invoice-no-order-reference.xml: invoice INV-1009: names no order of ours and no supplier has the "
        "seller's Peppol endpoint 0208:0123456749 (Papierwaren Janssens NV); set the supplier's endpoint_id with "
        "'pledger import suppliers'",
    ),
    "a seller that states no identification at all": (
        "invoice-no-order-reference.xml",
        [(SELLER_TAX_SCHEME, ""), ('<cbc:EndpointID schemeID="0208">0123456749</cbc:EndpointID>', "")],
        "pledger: invoice-no-order-reference.xml: invoice INV-1009: names no order of ours, and the seller (Papierwaren "
        "Janssens NV) states no VAT number or Peppol endpoint to find its supplier by: refused; ask the supplier for "
        "an invoice that quotes our order number",
    ),
    "quantity with too many decimals": (
        "invoice-simple.xml",
        [('<cbc:InvoicedQuantity unitCode="BX">10<', '<cbc:InvoicedQuantity unitCode="BX">10.0000001<')],
        "pledger: invoice-simple.xml: invoice INV-1001 line 1: quantity 10.0000001 has more than 6 decimals",
    ),
    "a line names no item": (
        "invoice-no-order-reference.xml",
        [("      <cac:SellersItemIdentification>\n        <cbc:ID>A4-80</cbc:ID>\n"
          "      </cac:SellersItemIdentification>\n", "")],
        "pledger: invoice-no-order-reference.xml: invoice INV-1009 line 1: cannot be matched: the invoice names no "
        "order (BT-13), and the line names no item (seller's or buyer's item id)",
    ),
    "VAT is not what the books post": (
        # 429.00 x 21 % = 90.09; the document says 90.10, within the cent its own check allows
        "invoice-simple.xml",
        [('currencyID="EUR">90.09<', 'currencyID="EUR">90.10<'), ('currencyID="EUR">519.09<', 'currencyID="EUR">519.10<')],
        "pledger: invoice-simple.xml: invoice INV-1001: VAT at 21% is 90.10 in the document, the books post 90.09 "
        "(round(429.00 x 21%)); ask the supplier for a corrected document",
    ),
}


def test_refused_when_several_suppliers_have_the_sellers_vat_number(shop):
    with shop.session() as s:
        upsert_suppliers(s, [SupplierData("JANS2", "Janssens (second account)", "EUR", vat_number="BE0123456749")])
    assert refusal(shop, SAMPLES / "invoice-no-order-reference.xml") == (1, (
        "pledger: invoice-no-order-reference.xml: invoice INV-1009: names no order of ours, and suppliers JANS, JANS2 "
        "all have VAT number BE0123456749: refusing to guess; add the order reference or keep the number on one "
        "supplier"))
    assert written(shop) == (0, 0)


def test_refused_when_no_line_can_take_the_quantity(shop):
    with shop.session() as s:  # 2 boxes ordered, the invoice has 5
        make_order(s, "PO-1009", "JANS", [("A4-80", 2, "25.00", 21, 0), ("TONER-K", 1, "89.50", 21, 0)])
    assert refusal(shop, SAMPLES / "invoice-no-order-reference.xml") == (1, (
        "pledger: invoice-no-order-reference.xml: invoice INV-1009 line 1: the invoice names no order (BT-13), and no "
        "line of the orders of supplier JANS for item A4-80 can take the 5 to invoice: PO-1009 line 1 (to invoice 2, "
        "invoiced 0)"))
    assert written(shop) == (0, 0)


def test_an_invoice_dated_in_a_locked_period_names_its_file(shop):
    """Posting refused it without naming the file: in a folder of invoices, which one?"""
    assert shop.cli("period", "lock", "2024-03").exit_code == 0
    code, message = refusal(shop, SAMPLES / "invoice-simple.xml")
    assert code == 1 and message.startswith("pledger: invoice-simple.xml: invoice INV-1001: period 2024-03 is locked"), message
    assert written(shop) == (0, 0)


def test_an_invoice_of_a_locked_month_is_booked_in_an_open_one_with_date(shop):
    """Found playing a year: a supplier's UBL invoice of 20 December came after December was
    locked. The refusal said "or choose another date", and `import ubl` had no way to choose
    one (the date was the file's IssueDate): unlock a closed month or edit the supplier's
    document. Now the refusal names `--date`, which books every document of the import on
    that day; the report shows the issue date beside it."""
    assert shop.cli("period", "lock", "2024-03").exit_code == 0
    code, message = refusal(shop, SAMPLES / "invoice-simple.xml")
    assert (code, message) == (1, (
        "pledger: invoice-simple.xml: invoice INV-1001: period 2024-03 is locked: 2024-03-12 takes no postings (unlock "
        "it with 'pledger period unlock 2024-03' or choose another date); to book it in an open period, give the day it "
        "is booked on: 'pledger import ubl --date YYYY-MM-DD invoice-simple.xml'"))
    # a day in the locked month is refused as before, with no hint to give what was given
    code, message = refusal(shop, "--date", "2024-03-31", SAMPLES / "invoice-simple.xml")
    assert code == 1 and message.endswith("2024-03-31 takes no postings (unlock it with 'pledger period unlock 2024-03' "
                                          "or choose another date)"), message
    assert written(shop) == (0, 0)
    result = shop.cli("import", "ubl", "--date", "2024-04-02", SAMPLES / "invoice-simple.xml", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)["documents"][0]
    assert (document["date"], document["issue_date"], document["entry"]["date"]) == ("2024-04-02", "2024-03-12", "2024-04-02")
    with shop.engine.connect() as c:
        assert c.execute(text("select invoice_date from invoices")).scalar() in (dt.date(2024, 4, 2), "2024-04-02")
        assert c.execute(text("select entry_date from entries")).scalar() in (dt.date(2024, 4, 2), "2024-04-02")
    assert written(shop) == (1, 1)
    assert shop.cli("check").exit_code == 0
    table = shop.cli("import", "ubl", "--date", "2024-04-03", SAMPLES / "invoice-partial.xml")
    assert table.exit_code == 0, table.output
    assert "from JANS, 2024-04-03 (issued 2024-" in table.stdout


def test_a_document_twice_in_one_batch_refuses_the_batch_and_writes_nothing(shop, tmp_path):
    again = tmp_path / "partial-again.xml"
    shutil.copy(SAMPLES / "invoice-partial.xml", again)
    assert refusal(shop, SAMPLES / "invoice-simple.xml", SAMPLES / "invoice-partial.xml", again) == (1, (
        "pledger: partial-again.xml: invoice INV-1002: supplier JANS's INV-1002 is also in invoice-partial.xml: a document "
        "is imported once"))
    assert written(shop) == (0, 0)  # the same date: by file name, the copy comes second; not even invoice-simple.xml, which alone would have been imported


# --------------------------------------------------------------------------- unreadable documents

NOT_A_UBL_INVOICE = {
    "missing required element": (
        "invoice-simple.xml",
        [("<cbc:IssueDate>2024-03-12</cbc:IssueDate>", "")],
        "pledger: invoice-simple.xml: invoice INV-1001: missing required element cbc:IssueDate",
    ),
    "no invoice line": (
        "invoice-simple.xml",
        [("<cac:InvoiceLine>", "<cac:Ignored>"), ("</cac:InvoiceLine>", "</cac:Ignored>")],
        "pledger: invoice-simple.xml: invoice INV-1001: missing required element cac:InvoiceLine",
    ),
    "amount that is not a number": (
        "invoice-simple.xml",
        [(">25.00<", ">25,00<")],
        "pledger: invoice-simple.xml: invoice INV-1001 line 1: cac:Price/cbc:PriceAmount '25,00' is not a plain "
        "decimal number",
    ),
    "date that is not a date": (
        "invoice-simple.xml",
        [("<cbc:IssueDate>2024-03-12<", "<cbc:IssueDate>12/03/2024<")],
        "pledger: invoice-simple.xml: invoice INV-1001: cbc:IssueDate '12/03/2024' is not a date (YYYY-MM-DD)",
    ),
    "unknown currency": (
        "invoice-simple.xml",
        [("<cbc:DocumentCurrencyCode>EUR<", "<cbc:DocumentCurrencyCode>XYZ<")],
        "pledger: invoice-simple.xml: invoice INV-1001: DocumentCurrencyCode 'XYZ' is not a known currency",
    ),
    "an order, not an invoice": (
        "invoice-simple.xml",
        [("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"",
          "<Order xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\""), ("</Invoice>", "</Order>")],
        "pledger: invoice-simple.xml: unknown root element {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order: "
        "expected a UBL 2.1 Invoice ({urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice) or CreditNote "
        "({urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote)",
    ),
    "wrong namespace": (
        "invoice-simple.xml",
        [("xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"",
          "xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-3\"")],
        "pledger: invoice-simple.xml: unknown root element {urn:oasis:names:specification:ubl:schema:xsd:Invoice-3}"
        "Invoice: expected a UBL 2.1 Invoice ({urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice) or "
        "CreditNote ({urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote)",
    ),
}


@pytest.mark.parametrize("sample, changes, message", [*REFUSED.values(), *NOT_A_UBL_INVOICE.values()],
                         ids=[*REFUSED, *NOT_A_UBL_INVOICE])
def test_refused(shop, tmp_path, sample, changes, message):
    path = edited(tmp_path, sample, *changes)
    assert refusal(shop, path) == (1, message)
    assert written(shop) == (0, 0)
