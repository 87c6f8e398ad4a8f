"""Writing Peppol BIS Ordering 3 orders: schema-valid, amounts exact, totals round-trip."""

from __future__ import annotations

from datetime import date

import pytest
from lxml import etree

from ledger.money import D
from purchase.ubl import OrderDoc, OrderLine, OrderParty, UblError, write_order
from purchase.ubl.order import CUSTOMIZATION_ID, PROFILE_ID

NS = {
    "o": "urn:oasis:names:specification:ubl:schema:xsd:Order-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}

US = OrderParty(name="Demo Groothandel Mechelen BV", vat_number="BE0666123447", endpoint_id="0666123447")
JANSSENS = OrderParty(code="S-0042", name="Papierwaren Janssens NV", vat_number="BE0123456749",
                      endpoint_id="0123456749")


def po_1001(**changes) -> OrderDoc:
    fields = dict(
        number="PO-1001",
        issue_date=date(2024, 3, 1),
        currency="EUR",
        buyer=US,
        supplier=JANSSENS,
        note="Deliver to the Mechelen warehouse, gate 3.",
        lines=(
            OrderLine(line_id="1", item_code="PAPER-A4", description="Copy paper A4 80 g, box of 5 reams",
                      quantity=D(10), unit_code="BX", unit_price=D("25.00"), vat_rate=D(21),
                      expected_date=date(2024, 3, 8), supplier_item_code="A4-80"),
            OrderLine(line_id="2", item_code="TONER-BLACK", description="Toner cartridge black",
                      quantity=D(3), unit_price=D("89.50"), discount_pct=D("7.5"), vat_rate=D(21)),
            OrderLine(line_id="3", item_code="TEA-100", description="Black tea, box of 100 bags",
                      quantity=D(12), unit_price=D("3.15"), vat_rate=D(6)),
        ),
    )
    fields.update(changes)
    return OrderDoc(**fields)


def xpath_text(root, path):
    return root.xpath(path, namespaces=NS)[0].text


def xpath_number(root, path):
    return D(xpath_text(root, path))


def test_amounts_are_exact():
    order = po_1001()
    paper, toner, tea = order.lines
    assert (order.gross_amount(paper), order.net_amount(paper), order.discount_amount(paper)) == (
        D("250.00"), D("250.00"), D("0.00"))
    # 3 x 89.50 = 268.50; less 7.5 %: 248.3625 -> 248.36; discount 20.14
    assert (order.gross_amount(toner), order.net_amount(toner), order.discount_amount(toner)) == (
        D("268.50"), D("248.36"), D("20.14"))
    assert order.net_amount(tea) == D("37.80")
    totals = order.totals()
    # VAT 21 % of 498.36 = 104.6556 -> 104.66; 6 % of 37.80 = 2.268 -> 2.27
    assert (totals.line_extension_amount, totals.tax_exclusive_amount, totals.tax_amount,
            totals.tax_inclusive_amount, totals.payable_amount) == (
        D("536.16"), D("536.16"), D("106.93"), D("643.09"), D("643.09"))


def test_written_order_is_valid_ubl(schema_valid):
    schema_valid("Order", write_order(po_1001()))


def test_minimal_order_is_valid_ubl(schema_valid):
    order = OrderDoc(
        number="PO-9", issue_date=date(2024, 5, 1), currency="EUR",
        buyer=OrderParty(name="Demo Groothandel Mechelen BV"),
        supplier=OrderParty(name="Horeca Groothandel Peeters BV"),
        lines=[OrderLine(line_id="1", item_code="X", description="Anything", quantity=D(1),
                         unit_price=D(0), vat_rate=D(0))],
    )
    xml = write_order(order)
    schema_valid("Order", xml)
    root = etree.fromstring(xml)
    assert xpath_text(root, "cac:OrderLine/cac:LineItem/cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == "Z"
    assert root.xpath("cbc:Note", namespaces=NS) == []


def test_written_order_round_trips_its_figures():
    order = po_1001()
    root = etree.fromstring(write_order(order))
    assert etree.QName(root).localname == "Order"
    assert xpath_text(root, "cbc:CustomizationID") == CUSTOMIZATION_ID == "urn:fdc:peppol.eu:poacc:trns:order:3"
    assert xpath_text(root, "cbc:ProfileID") == PROFILE_ID == "urn:fdc:peppol.eu:poacc:bis:ordering:3"
    assert (xpath_text(root, "cbc:ID"), xpath_text(root, "cbc:IssueDate"),
            xpath_text(root, "cbc:DocumentCurrencyCode")) == ("PO-1001", "2024-03-01", "EUR")
    assert xpath_text(root, "cac:SellerSupplierParty/cbc:CustomerAssignedAccountID") == "S-0042"
    assert xpath_text(root, "cac:SellerSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID") == "BE0123456749"
    endpoint = root.xpath("cac:BuyerCustomerParty/cac:Party/cbc:EndpointID", namespaces=NS)[0]
    assert (endpoint.text, endpoint.get("schemeID")) == ("0666123447", "0208")

    totals = order.totals()
    monetary = "cac:AnticipatedMonetaryTotal/cbc:"
    assert xpath_number(root, monetary + "LineExtensionAmount") == totals.line_extension_amount
    assert xpath_number(root, monetary + "TaxExclusiveAmount") == totals.tax_exclusive_amount
    assert xpath_number(root, monetary + "TaxInclusiveAmount") == totals.tax_inclusive_amount
    assert xpath_number(root, monetary + "PayableAmount") == totals.payable_amount == D("643.09")
    assert xpath_number(root, "cac:TaxTotal/cbc:TaxAmount") == totals.tax_amount == D("106.93")
    assert {a.get("currencyID") for a in root.xpath("//*[@currencyID]")} == {"EUR"}

    items = root.xpath("cac:OrderLine/cac:LineItem", namespaces=NS)
    nets = [xpath_number(item, "cbc:LineExtensionAmount") for item in items]
    assert nets == [D("250.00"), D("248.36"), D("37.80")]
    assert sum(nets) == totals.line_extension_amount
    toner = items[1]
    assert xpath_number(toner, "cac:AllowanceCharge/cbc:Amount") == D("20.14")
    assert xpath_number(toner, "cac:AllowanceCharge/cbc:BaseAmount") == D("268.50")
    assert xpath_number(toner, "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == D("7.5")
    # Peppol: line amount = quantity x price - allowances
    assert (xpath_number(toner, "cbc:Quantity") * xpath_number(toner, "cac:Price/cbc:PriceAmount")
            - xpath_number(toner, "cac:AllowanceCharge/cbc:Amount")) == nets[1]
    paper = items[0]
    assert paper.xpath("cbc:Quantity/@unitCode", namespaces=NS) == ["BX"]
    assert xpath_text(paper, "cac:Delivery/cac:RequestedDeliveryPeriod/cbc:EndDate") == "2024-03-08"
    assert xpath_text(paper, "cac:Item/cac:BuyersItemIdentification/cbc:ID") == "PAPER-A4"
    assert xpath_text(paper, "cac:Item/cac:SellersItemIdentification/cbc:ID") == "A4-80"
    assert items[2].xpath("cbc:Quantity/@unitCode", namespaces=NS) == ["C62"]
    assert xpath_text(items[2], "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent") == "6"


def test_currency_without_minor_unit(schema_valid):
    order = po_1001(currency="JPY", lines=(
        OrderLine(line_id="1", item_code="CONN-RJ45", description="RJ45 connector", quantity=D(3),
                  unit_price=D("1250.5"), vat_rate=D(10)),))
    xml = write_order(order)
    schema_valid("Order", xml)
    root = etree.fromstring(xml)
    assert xpath_text(root, "cac:AnticipatedMonetaryTotal/cbc:LineExtensionAmount") == "3752"  # 3751.5 half-up
    assert xpath_text(root, "cac:TaxTotal/cbc:TaxAmount") == "375"


def test_floats_and_bad_figures_are_refused():
    with pytest.raises(UblError, match="order line 1: quantity: floats are never accepted"):
        OrderLine(line_id="1", item_code="X", description="X", quantity=1.5, unit_price=D(1), vat_rate=D(21))
    with pytest.raises(UblError, match="order line 1: discount_pct 120 is not between 0 and 100"):
        OrderLine(line_id="1", item_code="X", description="X", quantity=D(1), unit_price=D(1),
                  discount_pct=D(120), vat_rate=D(21))
    with pytest.raises(UblError, match="order line 1: quantity 0 is not positive"):
        OrderLine(line_id="1", item_code="X", description="X", quantity=D(0), unit_price=D(1), vat_rate=D(21))
    line = OrderLine(line_id="1", item_code="X", description="X", quantity="2", unit_price="1.10", vat_rate=21)
    assert (line.quantity, line.unit_price, line.vat_rate) == (D(2), D("1.10"), D(21))


def test_order_needs_lines_with_distinct_ids():
    with pytest.raises(UblError, match="order PO-1001: an order needs at least one line"):
        po_1001(lines=())
    line = po_1001().lines[0]
    with pytest.raises(UblError, match="order PO-1001: line ids used twice: 1"):
        po_1001(lines=(line, line))
    with pytest.raises(UblError, match="order PO-1001: unknown currency"):
        po_1001(currency="XYZ")


def test_a_discount_whose_amount_is_off_its_percentage_is_stated_as_an_amount(schema_valid):
    """100,000 screws at 0.0495 less 3.5 %: the books' net price is 0.047768 (6 decimals), the line
    4,776.80, the discount 4,950.00 - 4,776.80 = 173.20; 3.5 % of 4,950.00 is 173.25. Peppol's rule
    PEPPOL-T01-R022 (amount = base x percentage / 100 within 0.02) refused the order as written
    (MultiplierFactorNumeric 3.5, BaseAmount 4950.00, Amount 173.20): the percentage now goes in
    the reason text, and the amounts stay the books' figures."""
    screws = OrderLine(line_id="1", item_code="SCR-4X40", description="Screws 4 x 40", quantity=D(100000),
                       unit_price=D("0.0495"), discount_pct=D("3.5"), vat_rate=D(21))
    order = po_1001(lines=(screws,) + po_1001().lines[1:])
    xml = write_order(order)
    schema_valid("Order", xml)
    items = etree.fromstring(xml).xpath("cac:OrderLine/cac:LineItem", namespaces=NS)
    line = items[0]
    assert xpath_number(line, "cbc:LineExtensionAmount") == D("4776.80")
    assert xpath_number(line, "cac:AllowanceCharge/cbc:Amount") == D("173.20")
    assert xpath_text(line, "cac:AllowanceCharge/cbc:AllowanceChargeReason") == "Discount 3.5 %"
    assert line.xpath("cac:AllowanceCharge/cbc:MultiplierFactorNumeric | cac:AllowanceCharge/cbc:BaseAmount",
                      namespaces=NS) == []
    # the toner's 7.5 % agrees with its amount (20.14 for 20.1375): stated with its percentage, as before
    assert xpath_number(items[1], "cac:AllowanceCharge/cbc:MultiplierFactorNumeric") == D("7.5")
    for item in items:  # PEPPOL-T01-R022 and R024, to the 0.02 they allow
        for allowance in item.xpath("cac:AllowanceCharge[cbc:MultiplierFactorNumeric]", namespaces=NS):
            assert abs(xpath_number(allowance, "cbc:Amount") - xpath_number(allowance, "cbc:BaseAmount")
                       * xpath_number(allowance, "cbc:MultiplierFactorNumeric") / 100) <= D("0.02")
        allowances = sum((D(a.text) for a in item.xpath("cac:AllowanceCharge/cbc:Amount", namespaces=NS)), D(0))
        assert abs(xpath_number(item, "cbc:LineExtensionAmount") - (xpath_number(item, "cbc:Quantity")
                   * xpath_number(item, "cac:Price/cbc:PriceAmount") - allowances)) <= D("0.02")
