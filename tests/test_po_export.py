"""`pledger po export ORDER --format pdf|xlsx|ubl -o FILE`: the order as the supplier receives it.

PO-2001 by hand: 12 x 3.15 less 7.5 % = 34.965 -> 34.97; 3 x 50.00 = 150.00; 40 x 1.95 = 78.00.
Net 262.97; VAT 21 % on 184.97 = 38.8437 -> 38.84, 6 % on 78.00 = 4.68; total 306.49.
"""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree
from openpyxl import load_workbook

from cli.main import cli
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers
from purchase.orders import get_order
from purchase.settings import set_company
from tests.builders import D
from tests.pdftext import page_texts
from tests.ubl.conftest import assert_schema_valid

NS = {
    "o": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def export_command() -> list[str]:
    """`po export` when the po group exists, else the top-level `po-export`."""
    from cli import commands  # noqa: F401

    po = cli.commands.get("po")
    return ["po", "export"] if po is not None and "export" in getattr(po, "commands", {}) else ["po-export"]


@pytest.fixture
def shop(books):
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("JANS", "Papierwaren Janssens NV", "EUR", vat_number="BE0123456749",
                                          endpoint_id="0208:0123456749")])
        upsert_items(s, [ItemData("PEN-BLUE", "Ballpoint blue, box of 50"), ItemData("STAPLER", "Stapler"),
                         ItemData("NOTE-A5", "Notebook A5", unit="EA")])
        create_orders(s, [OrderData("PO-2001", "JANS", dt.date(2026, 5, 4), [
            OrderLineData(1, "PEN-BLUE", D(12), D("3.15"), discount_pct=D("7.5"), vat_rate=D(21),
                          expected_date=dt.date(2026, 5, 20)),
            OrderLineData(2, "STAPLER", D(3), D("50.00"), vat_rate=D(21), description="Stapler heavy duty"),
            OrderLineData(3, "NOTE-A5", D(40), D("1.95"), vat_rate=D(6)),
        ], reference="Mechelen gate 3")])
        set_company(s, name="Bureau Peeters BV", vat_number="BE0987654321", endpoint="0208:0987654321")
    return books


def export(books, *args):
    result = books.cli(*export_command(), *map(str, args))
    assert result.exit_code == 0, result.output
    return result


def refused(books, *args, code=1) -> str:
    result = books.cli(*export_command(), *map(str, args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.stderr.strip()


def test_the_ubl_order_is_schema_valid_and_carries_the_orders_figures(shop, tmp_path):
    path = tmp_path / "po.xml"
    export(shop, "PO-2001", "--format", "ubl", "-o", path)
    assert_schema_valid("Order", path)
    root = etree.parse(str(path)).getroot()

    def text(xpath):
        return root.xpath(xpath, namespaces=NS)[0].text

    assert (text("cbc:ID"), text("cbc:IssueDate"), text("cbc:DocumentCurrencyCode")) == ("PO-2001", "2026-05-04", "EUR")
    assert text("cac:SellerSupplierParty/cbc:CustomerAssignedAccountID") == "JANS"
    assert root.xpath("cac:SellerSupplierParty/cac:Party/cbc:EndpointID/@schemeID", namespaces=NS) == ["0208"]
    assert text("cac:SellerSupplierParty/cac:Party/cbc:EndpointID") == "0123456749"
    assert [D(x.text) for x in root.xpath("cac:OrderLine/cac:LineItem/cbc:LineExtensionAmount", namespaces=NS)] == [
        D("34.97"), D("150.00"), D("78.00")]
    assert [x.text for x in root.xpath("cac:OrderLine/cac:LineItem/cac:Item/cac:BuyersItemIdentification/cbc:ID", namespaces=NS)] == [
        "PEN-BLUE", "STAPLER", "NOTE-A5"]
    assert root.xpath("cac:OrderLine/cac:LineItem/cbc:Quantity/@unitCode", namespaces=NS) == ["C62", "C62", "EA"]
    assert text("cac:OrderLine[2]/cac:LineItem/cac:Item/cbc:Name") == "Stapler heavy duty"
    assert (D(text("cac:AnticipatedMonetaryTotal/cbc:LineExtensionAmount")), D(text("cac:TaxTotal/cbc:TaxAmount")),
            D(text("cac:AnticipatedMonetaryTotal/cbc:PayableAmount"))) == (D("262.97"), D("43.52"), D("306.49"))
    assert text("cbc:Note") == "Our reference: Mechelen gate 3"
    buyer = "cac:BuyerCustomerParty/cac:Party/"
    assert (text(buyer + "cac:PartyName/cbc:Name"), text(buyer + "cac:PartyTaxScheme/cbc:CompanyID"),
            text(buyer + "cbc:EndpointID")) == ("Bureau Peeters BV", "BE0987654321", "0987654321")
    assert root.xpath(buyer + "cbc:EndpointID/@schemeID", namespaces=NS) == ["0208"]


def test_an_order_is_not_exported_before_our_company_has_a_name(books, tmp_path):
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("JANS", "Papierwaren Janssens NV", "EUR")])
        upsert_items(s, [ItemData("STAPLER", "Stapler")])
        create_orders(s, [OrderData("PO-2002", "JANS", dt.date(2026, 5, 4), [OrderLineData(1, "STAPLER", D(3), D("50.00"))])])
    for suffix in ("pdf", "xlsx", "xml"):
        assert refused(books, "PO-2002", "-o", tmp_path / f"po.{suffix}") == (
            "pledger: our company's name is not set, and a purchase order names its buyer: set it with "
            "'pledger settings company --name NAME [--vat-number ...] [--endpoint SCHEME:ID]'")
    assert list(tmp_path.iterdir()) == []


def test_an_order_made_by_the_reorder_proposal_exports_valid_ubl(shop, tmp_path):
    with shop.session() as s:
        create_orders(s, [OrderData("RO-20260504-JANS", "JANS", dt.date(2026, 5, 4),
                                    [OrderLineData(1, "STAPLER", D("2.5"), D("0.0495"))])], status="new")
    path = tmp_path / "ro.xml"
    export(shop, "RO-20260504-JANS", "-o", path)  # the format from the suffix
    assert_schema_valid("Order", path)


def test_the_xlsx_has_the_header_and_the_lines_with_their_total(shop, tmp_path):
    path = tmp_path / "po.xlsx"
    export(shop, "PO-2001", "-o", path)
    book = load_workbook(path)
    head, lines = book.worksheets
    values = [[c for c in row if c is not None] for row in head.iter_rows(values_only=True)]
    assert ["supplier", "JANS Papierwaren Janssens NV"] in values
    # the figures and the date are a spreadsheet's numbers and date, not text
    assert ["net total", 262.97] in values and ["VAT", 43.52] in values and ["total", 306.49] in values
    assert ["order date", dt.datetime(2026, 5, 4)] in values
    rows = [row for row in lines.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert [(r[0], r[1], r[3], r[-1]) for r in rows] == [
        (1, "PEN-BLUE", 12, 34.97), (2, "STAPLER", 3, 150), (3, "NOTE-A5", 40, 78)]
    # a unit price shows the decimals the PDF prints for it, not the storage's six
    shown = [c.number_format for row in lines.iter_rows() for c in row if c.column == 6 and isinstance(c.value, (int, float))]
    assert shown and all(f in ("#,##0.00", "#,##0.000", "#,##0.0000") for f in shown), shown


def test_the_pdf_is_a_purchase_order_with_lines_and_totals(shop, tmp_path):
    path = tmp_path / "po.pdf"
    result = export(shop, "PO-2001", "--format", "pdf", "-o", path)
    assert result.output.strip() == f"order PO-2001 written to {path} (pdf)"
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    again = tmp_path / "again.pdf"
    export(shop, "PO-2001", "--format", "pdf", "-o", again)
    assert again.read_bytes() == data  # no clock time in the file
    text = "\n".join(page_texts(path))
    for expected in ("Bureau Peeters BV", "VAT BE0987654321", "PURCHASE ORDER", "No. PO-2001", "Papierwaren Janssens NV", "VAT BE0123456749", "Supplier no. JANS",
                     "2026-05-04", "Mechelen gate 3", "PEN-BLUE", "Stapler heavy duty", "12 pcs", "3.15", "7.5",
                     "34.97", "150.00", "40 pcs", "Net total", "262.97", "VAT 21% on 184.97", "38.84", "VAT 6% on 78.00",
                     "4.68", "Total EUR", "306.49", "deliver by 2026-05-20"):
        assert expected in text, expected


def test_export_refusals(shop, tmp_path):
    assert refused(shop, "PO-9999", "-o", tmp_path / "x.pdf") == "pledger: no purchase order 'PO-9999': see 'pledger po list'"
    with shop.session() as s:
        get_order(s, "PO-2001").status = "cancelled"
    assert refused(shop, "PO-2001", "-o", tmp_path / "x.pdf") == "pledger: order PO-2001 is cancelled: there is nothing to send"
    assert "cannot tell the format from 'x.doc'" in refused(shop, "PO-2001", "-o", tmp_path / "x.doc", code=2)
    assert "'odt' is not one of" in refused(shop, "PO-2001", "--format", "odt", "-o", tmp_path / "x.odt", code=2)
    assert list(tmp_path.iterdir()) == []


def test_an_order_exported_over_the_sqlite_books_is_a_usage_mistake(shop):
    """Audit of 7 December 2026: `po export PO-2001 -o pledger.db --format pdf` wrote the PDF
    over the books ("order PO-2001 written to pledger.db"), and every command after said the
    file was not a SQLite database."""
    if shop.dialect != "sqlite":
        pytest.skip("PostgreSQL keeps its books in no file the command names")
    from sqlalchemy.engine import make_url

    books = make_url(shop.url).database
    before = open(books, "rb").read()
    assert refused(shop, "PO-2001", "--format", "pdf", "-o", books, code=2) == (
        "pledger: Invalid value for '-o': it names the books (--db): they would be overwritten; give another file name "
        "(see 'pledger po export --help')")
    assert open(books, "rb").read() == before


def test_an_unwritable_file_is_one_line_and_leaves_nothing(shop, tmp_path):
    message = refused(shop, "PO-2001", "--format", "ubl", "-o", tmp_path / "missing" / "po.xml")
    assert message.startswith("pledger: cannot write ")
    assert len(message.splitlines()) == 1


def test_the_pdf_keeps_large_figures_and_a_long_order_number_whole(books, tmp_path):
    """A unit price of 1,234,567.89 was set as "1234567." over "89" and a line amount of 10
    digits broke the same way; a long company name and order number ran the footer over
    "page 1" and off the page. Figures are never broken: their columns are as wide as they
    need; the footer cuts the company's name, not the order's number."""
    from pypdf import PdfReader
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from cli.formats import _pdf_fonts

    number = "POR-2026-BRUSSEL-000123"
    name = "Algemene Bouwonderneming Van den Broeck-De Smedt & Zonen, naamloze vennootschap"
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme NV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt")])
        create_orders(s, [OrderData(number, "ACME", dt.date(2026, 3, 1), [
            OrderLineData(1, "BOLT", D(1), D("1234567.89"), vat_rate=D(21)),
            OrderLineData(2, "BOLT", D("1234567.5"), D("123456.123456"), vat_rate=D(21)),
        ])])
        set_company(s, name=name)
    path = tmp_path / "po.pdf"
    export(books, number, "-o", path)
    lines = [line.strip() for line in page_texts(path)[0].splitlines()]
    for figure in ("1234567.89", "1234567.5 pcs", "123456.123456", "152414917694.77", "152416152262.66", "32007391975.16", "184423544237.82"):
        assert any(figure in line for line in lines), figure
    assert lines[lines.index("Order number") + 1] == number  # on one line, set smaller rather than broken
    chunks = []
    PdfReader(str(path)).pages[0].extract_text(visitor_text=lambda text, cm, tm, font, size: chunks.append((text, tm[4], tm[5])))
    footer = next((t.strip(), x) for t, x, y in chunks if t.strip().endswith(f"- purchase order {number}"))
    page = next(x for t, x, y in chunks if t.strip() == "page 1 of 1")
    assert footer[0].startswith("Algemene Bouwonderneming") and "..." in footer[0]
    assert footer[1] + stringWidth(footer[0], _pdf_fonts().regular, 7.5) < page


def test_the_exported_line_amount_is_what_receiving_the_line_posts(shop, tmp_path):
    """2.5 at 3.333333 less 2.5 %: the books keep the net price 3.250000 (6 decimals), so a
    full receipt posts 8.13; the order sent to the supplier says the same (it said 8.12,
    from the unrounded price, and an invoice of what it said posted a price difference)."""
    import json

    with shop.session() as s:
        create_orders(s, [OrderData("PO-2002", "JANS", dt.date(2026, 5, 4), [
            OrderLineData(1, "PEN-BLUE", D("2.5"), D("3.333333"), discount_pct=D("2.5"), vat_rate=D(21))])])
    listed = json.loads(shop.cli("po", "list", "--format", "json").stdout)
    assert [o["amount"] for o in listed if o["order"] == "PO-2002"] == ["8.13"]
    path = tmp_path / "po.xml"
    export(shop, "PO-2002", "--format", "ubl", "-o", path)
    root = etree.parse(str(path)).getroot()
    assert [e.text for e in root.xpath("//cac:LineItem/cbc:LineExtensionAmount", namespaces=NS)] == ["8.13"]
    assert root.xpath("//cac:AnticipatedMonetaryTotal/cbc:LineExtensionAmount", namespaces=NS)[0].text == "8.13"
    assert_schema_valid("Order", path)


def test_a_format_other_than_the_files_name_says_is_a_usage_mistake(shop, tmp_path):
    """--format xlsx -o order.pdf wrote a workbook named .pdf, which opens as a broken PDF."""
    assert refused(shop, "PO-2001", "--format", "xlsx", "-o", tmp_path / "order.pdf", code=2) == (
        "pledger: 'order.pdf' is named as pdf, and --format xlsx writes .xlsx: name the file so, or give --format pdf "
        f"(see '{' '.join(['pledger', *export_command()])} --help')")
    assert not (tmp_path / "order.pdf").exists()
    export(shop, "PO-2001", "--format", "ubl", "-o", tmp_path / "order.dat")  # a name that says nothing: --format does
    assert (tmp_path / "order.dat").read_bytes().startswith(b"<?xml")


def test_a_ubl_order_without_an_endpoint_says_peppol_needs_it(shop, tmp_path):
    path = tmp_path / "po.xml"
    assert shop.cli(*export_command(), "PO-2001", "-o", path).stderr == ""  # both endpoints known
    shop.raw("update suppliers set endpoint_id = null where code = 'JANS'")
    result = shop.cli(*export_command(), "PO-2001", "-o", path)
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: no Peppol endpoint for supplier JANS (its endpoint_id, 'pledger import suppliers'): "
                             "the order is valid UBL, but a Peppol access point needs both to send it\n")
    assert_schema_valid("Order", path)


def test_a_description_xml_cannot_carry_is_refused_naming_the_line_and_writes_no_file(shop, tmp_path):
    """U+FFFF passes the CSV import's text rules, but no XML 1.0 document can hold it: the
    UBL export ended in "internal error (ValueError: All strings must be XML compatible ...)"."""
    shop.raw("UPDATE order_lines SET description = :d WHERE line_no = 2", d="Stapler \uffff heavy")
    path = tmp_path / "po.xml"
    assert refused(shop, "PO-2001", "--format", "ubl", "-o", path) == (
        "pledger: order PO-2001 line 2: description 'Stapler \\uffff heavy' holds U+FFFF, a character an XML "
        "document cannot carry: correct the description")
    assert not path.exists()
    export(shop, "PO-2001", "--format", "pdf", "-o", tmp_path / "po.pdf")  # PDF and XLSX take it as they did


def test_a_line_taller_than_a_page_is_continued_on_the_next_not_an_internal_error(books, tmp_path):
    """Wide figures leave the description a narrow column; a description of 255 characters
    without a space to break at then made a row taller than a page, and the PDF
    export ended in "internal error (LayoutError: ... too large on page 2)"."""
    description = "MWM" * 85  # a code-like description in capitals, no space or hyphen to break at
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme NV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt")])
        create_orders(s, [OrderData("PO-7", "ACME", dt.date(2026, 3, 1), [
            OrderLineData(1, "BOLT", D("999999.123456"), D("999999.123456"), discount_pct=D("33.333333"), vat_rate=D("5.5"),
                          description=description),
        ])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-7", "-o", path)
    text = "".join(page_texts(path)).replace("\n", "")
    assert "666665501274.84" in text.replace(",", "")


def test_the_pdf_shows_a_mark_for_each_character_of_a_name_its_font_lacks(books, tmp_path):
    """Audit of 7 December 2026 (looks): an order to a supplier named in Japanese showed the
    name, and an item's Japanese description, as empty boxes, and the PDF's text held
    nothing there: the name looked blank. Each character the font cannot draw is the
    replacement mark (U+FFFD); accented text stays as it is."""
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("TOKYO", "株式会社東京精密", "EUR")])
        upsert_items(s, [ItemData("BRG", "精密ベアリング"), ItemData("KEY", "Schraubenschlüssel Łożysko")])
        create_orders(s, [OrderData("PO-JP-1", "TOKYO", dt.date(2026, 3, 3), [
            OrderLineData(1, "BRG", D(300), D("45.50"), vat_rate=D(21)),
            OrderLineData(2, "KEY", D(2), D("7.10"), vat_rate=D(21))])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-JP-1", "-o", path)
    lines = [line.strip() for line in page_texts(path)[0].splitlines()]
    mark = "\ufffd"
    assert mark * 8 in lines  # the supplier's name, a mark a character
    assert any(mark * 7 in line for line in lines)  # the item's description
    assert "Schraubenschlüssel" in lines and "Łożysko" in lines  # wrapped in its column


def test_every_page_of_a_long_orders_pdf_says_page_n_of_m(books, tmp_path):
    """Audit of 7 December 2026 (looks): an order of 80 lines ran over several pages, each
    footed "page 1", "page 2", ...: the supplier could not tell that a page was missing. Each
    page says "page N of M" beside the company and the order's number."""
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme NV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt M8, zinc plated, box of 100, with a description of two lines")])
        create_orders(s, [OrderData("PO-MANY", "ACME", dt.date(2026, 3, 1), [
            OrderLineData(n, "BOLT", D(n), D("1.25"), vat_rate=D(21)) for n in range(1, 81)])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-MANY", "-o", path)
    pages = page_texts(path)
    assert len(pages) >= 2
    for number, text in enumerate(pages, 1):
        lines = [line.strip() for line in text.splitlines()]
        assert "Bureau Peeters BV - purchase order PO-MANY" in lines
        assert f"page {number} of {len(pages)}" in lines


def test_the_pdf_says_units_as_a_reader_knows_them_and_the_other_exports_keep_the_codes(books, tmp_path):
    """Audit of 7 December 2026 (looks): the printed order said "1000 C62", "20 KGM": the
    Peppol codes a supplier's system reads, not a person. The PDF prints the common UN/ECE
    Rec 20 units as words (C62, H87, EA pcs; KGM kg; LTR l; MTR m; HUR h; DAY day), any other
    code as it is; XLSX and UBL keep the codes."""
    units = {"C62": "pcs", "H87": "pcs", "EA": "pcs", "KGM": "kg", "LTR": "l", "MTR": "m", "HUR": "h", "DAY": "day",
             "BX": "BX"}
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme NV", "EUR")])
        upsert_items(s, [ItemData(f"IT-{code}", f"Item {n}", unit=code) for n, code in enumerate(units)])
        create_orders(s, [OrderData("PO-UNITS", "ACME", dt.date(2026, 3, 1), [
            OrderLineData(n, f"IT-{code}", D(1000 + n), D("1.00"), vat_rate=D(21)) for n, code in enumerate(units, 1)])])
        set_company(s, name="Bureau Peeters BV")
    export(books, "PO-UNITS", "-o", tmp_path / "po.pdf")
    text = page_texts(tmp_path / "po.pdf")[0]
    for n, (code, word) in enumerate(units.items(), 1):
        assert f"{1000 + n} {word}" in text, (code, word)
    assert not any(f" {code}" in text for code in units if code != "BX")  # a quantity's unit, the code after it
    export(books, "PO-UNITS", "-o", tmp_path / "po.xlsx")
    cells = {c for row in load_workbook(tmp_path / "po.xlsx").worksheets[1].iter_rows(values_only=True) for c in row}
    assert set(units) <= cells
    export(books, "PO-UNITS", "-o", tmp_path / "po.xml", "--format", "ubl")
    codes = etree.parse(str(tmp_path / "po.xml")).xpath("//cbc:Quantity/@unitCode", namespaces=NS)
    assert codes == list(units)


@pytest.mark.parametrize("count", [24, 25, 26, 27, 28, 29, 60])
def test_every_page_is_headed_and_the_totals_stay_with_the_last_lines(books, tmp_path, count):
    """Audit of 7 December 2026 (looks): an order running over a page printed its later
    pages with no heading (which order, which supplier: only the footer said the order),
    and its totals could land alone on the last page (28 lines: "Net total ... Total EUR"
    alone on page 2; 26 lines: "Total EUR" alone, its net total on page 1). Every later
    page is headed with the order's number, supplier and date, and the totals (and the
    note under them) go on with the last three lines. Lines of 1 and 2 lines of text by
    turns, so that the pages end at every kind of place."""
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme Industrial Supplies NV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt M8, zinc plated, box of 100"), ItemData("OIL", "Machine oil", unit="LTR")])
        create_orders(s, [OrderData("PO-LONG", "ACME", dt.date(2026, 3, 1), [
            OrderLineData(n, "BOLT" if n % 5 == 0 else "OIL", D(n * 10), D("1.25"), vat_rate=D(21))
            for n in range(1, count + 1)])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-LONG", "-o", path)
    pages = [[line.strip() for line in text.splitlines()] for text in page_texts(path)]
    heading = "PURCHASE ORDER PO-LONG"
    for page in pages[1:]:
        top = " ".join(page[:2])  # the heading, before the lines' column headings
        assert top.startswith(heading) and "Acme Industrial Supplies NV (supplier no. ACME) - order date 2026-03-01" in top
    last = "\n".join(pages[-1])
    assert "Net total" in last and "Total EUR" in last and "Please quote order number PO-LONG" in last
    if len(pages) > 1:  # the last three lines with them
        for n in range(count - 2, count + 1):
            assert str(n) in pages[-1], n  # its line number, a cell of its own
    assert sum(1 for page in pages for line in page if line.startswith(("Net total",))) == 1


@pytest.mark.parametrize("count", [30, 45, 60])
def test_a_tall_line_at_a_page_end_goes_on_to_the_next_page_under_its_heading_once(books, tmp_path, count):
    """Review of 7 December 2026 (looks): lines of seven lines of text every third line, so
    that a page ends inside one. reportlab split the table after the last whole line, then
    set the rest in what was left of the page: the column headings printed a second time in
    the middle of page 1, with the top of the tall line under them and its end on page 2
    without its line number. Each page now has the column headings once, and a line is cut
    only where it is taller than a page."""
    long_text = ("A much longer description of an item that wraps over several lines in the PDF so that rows get "
                 "taller than usual and the page fills differently")
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME", "Acme Industrial Supplies NV", "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt M8"), ItemData("LONG", long_text)])
        create_orders(s, [OrderData("PO-TALL", "ACME", dt.date(2026, 3, 1), [
            OrderLineData(n, "LONG" if n % 3 == 0 else "BOLT", D(n), D("1.25"), vat_rate=D(21))
            for n in range(1, count + 1)])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-TALL", "-o", path)
    pages = [[line.strip() for line in text.splitlines() if line.strip()] for text in page_texts(path)]
    shown = []
    for number, page in enumerate(pages, 1):
        assert page.count("Unit price") == 1, number  # the column headings, once
        first = page.index("Amount") + 1
        assert page[first].isdigit() and page[first + 1] in ("BOLT", "LONG"), (number, page[first:first + 3])  # a line's start
        shown += [int(cell) for cell, after in zip(page[first:], page[first + 1:]) if cell.isdigit() and after in ("BOLT", "LONG")]
    assert shown == list(range(1, count + 1))


def test_a_later_pages_heading_cuts_a_long_supplier_name_not_the_order_date(books, tmp_path):
    """Review of 7 December 2026 (looks): the heading of every page after the first was cut
    from its end where it ran out of room, so a supplier's name of 40 characters left
    "... (supplier no. S1) - order date 2026-..." and a longer one lost the supplier's number
    too. The name is cut ("..."), the supplier's number and the order date stay whole."""
    name = "Supplier One with a rather long name, Industrial Fasteners and Fittings BV"
    with books.session() as s:
        upsert_suppliers(s, [SupplierData("ACME-0042", name, "EUR")])
        upsert_items(s, [ItemData("BOLT", "Bolt M8")])
        create_orders(s, [OrderData("PO-2026-000123", "ACME-0042", dt.date(2026, 3, 1), [
            OrderLineData(n, "BOLT", D(n), D("1.25"), vat_rate=D(21)) for n in range(1, 61)])])
        set_company(s, name="Bureau Peeters BV")
    path = tmp_path / "po.pdf"
    export(books, "PO-2026-000123", "-o", path)
    pages = page_texts(path)
    assert len(pages) > 1
    for text in pages[1:]:
        top = " ".join(line.strip() for line in text.splitlines()[:2])
        assert top.startswith("PURCHASE ORDER PO-2026-000123"), top
        assert "(supplier no. ACME-0042) - order date 2026-03-01" in top, top
        assert "PO-2026-000123 Supplier One" in top and "..." in top, top  # the name's start, cut
