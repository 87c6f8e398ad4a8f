"""Reading Peppol BIS 3 invoices and credit notes: figures, signs, arithmetic, spreading, errors.

Every figure below was worked out by hand from the sample files (see samples/README.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.money import D
from purchase.ubl import AllowanceCharge, MonetaryTotal, Party, UblError, UblInvoice, UblLine, parse_invoice

SAMPLES = Path(__file__).resolve().parent / "samples"
ALL_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.xml"))
WRONG = {"invoice-wrong-arithmetic.xml"}


def sample(name: str) -> UblInvoice:
    return parse_invoice(SAMPLES / name)


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def figures(lines, *fields):
    return [tuple(getattr(line, f) for f in fields) for line in lines]


# --------------------------------------------------------------------------- schema


def test_there_are_enough_samples():
    assert len(ALL_SAMPLES) >= 10


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_every_sample_is_valid_ubl(name, schema_valid):
    document = "CreditNote" if name.startswith("creditnote") else "Invoice"
    schema_valid(document, SAMPLES / name)


@pytest.mark.parametrize("name", sorted(set(ALL_SAMPLES) - WRONG))
def test_every_correct_sample_adds_up(name):
    invoice = sample(name)
    assert invoice.check_arithmetic() == []
    amounts = invoice.line_amounts()
    assert sum(a.amount for a in amounts) == invoice.totals.tax_exclusive_amount


# --------------------------------------------------------------------------- figures


def test_simple_invoice():
    inv = sample("invoice-simple.xml")
    assert (inv.is_credit_note, inv.number, inv.issue_date, inv.currency) == (
        False, "INV-1001", date(2024, 3, 12), "EUR")
    assert inv.order_reference == "PO-1001"
    assert inv.seller == Party(name="Papierwaren Janssens NV", endpoint_id="0123456749",
                               endpoint_scheme="0208", vat_number="BE0123456749")
    assert inv.buyer.vat_number == "BE0666123447"
    assert figures(inv.lines, "line_id", "order_line_reference", "seller_item_id", "buyer_item_id",
                   "quantity", "unit_code", "price", "base_quantity", "net_amount",
                   "vat_category", "vat_rate") == [
        ("1", "1", "A4-80", "PAPER-A4", D("10"), "BX", D("25.00"), D(1), D("250.00"), "S", D(21)),
        ("2", "2", "TONER-K", "TONER-BLACK", D("2"), "C62", D("89.50"), D(1), D("179.00"), "S", D(21)),
    ]
    assert inv.totals == MonetaryTotal(
        line_extension_amount=D("429.00"), tax_exclusive_amount=D("429.00"),
        tax_inclusive_amount=D("519.09"), payable_amount=D("519.09"),
        allowance_total_amount=None, charge_total_amount=None,
        prepaid_amount=D("0.00"), payable_rounding_amount=D("0.00"))
    assert inv.tax_amount == D("90.09")
    assert [(s.vat_category, s.vat_rate, s.taxable_amount, s.tax_amount) for s in inv.tax_subtotals] == [
        ("S", D(21), D("429.00"), D("90.09"))]
    line = inv.lines[0]
    numbers = (line.quantity, line.price, line.base_quantity, line.net_amount, line.vat_rate,
               inv.tax_amount, *vars(inv.totals).values())
    assert all(type(n) is Decimal for n in numbers if n is not None)


def test_partial_invoice_with_a_price_per_hundred():
    inv = sample("invoice-partial.xml")
    assert inv.order_reference == "PO-1002"
    assert figures(inv.lines, "order_line_reference", "quantity", "price", "base_quantity", "net_amount") == [
        ("1", D(40), D("1.25"), D(1), D("50.00")),
        ("2", D(500), D("4.95"), D(100), D("24.75")),
    ]
    assert (inv.tax_amount, inv.totals.payable_amount) == (D("15.70"), D("90.45"))


def test_invoice_with_other_prices_than_the_order():
    inv = sample("invoice-price-difference.xml")
    assert inv.order_reference == "PO-1003"
    assert figures(inv.lines, "order_line_reference", "quantity", "price", "net_amount") == [
        ("1", D(10), D("25.50"), D("255.00")),
        ("2", D(2), D("87.95"), D("175.90")),
    ]
    assert (inv.totals.line_extension_amount, inv.tax_amount, inv.totals.payable_amount) == (
        D("430.90"), D("90.49"), D("521.39"))


def test_line_allowance_and_line_charge():
    inv = sample("invoice-line-allowance.xml")
    lamp, binder = inv.lines
    assert lamp.allowance_charges == (AllowanceCharge(
        is_charge=False, amount=D("30.00"), reason="Volume discount", reason_code="95",
        base_amount=D("300.00"), multiplier_pct=D(10)),)
    assert (lamp.allowance_total, lamp.charge_total, lamp.net_amount) == (D("30.00"), D(0), D("270.00"))
    assert (binder.allowance_total, binder.charge_total, binder.net_amount) == (D(0), D("2.50"), D("31.50"))
    assert (inv.tax_amount, inv.totals.payable_amount) == (D("63.32"), D("364.82"))
    assert inv.allowance_charges == ()


def test_document_level_allowance_and_charge():
    inv = sample("invoice-document-allowance-charge.xml")
    assert [(ac.is_charge, ac.amount, ac.reason, ac.vat_category, ac.vat_rate)
            for ac in inv.allowance_charges] == [
        (False, D("10.00"), "Loyalty discount", "S", D(21)),
        (True, D("15.00"), "Freight", "S", D(21)),
    ]
    t = inv.totals
    assert (t.line_extension_amount, t.allowance_total_amount, t.charge_total_amount,
            t.tax_exclusive_amount, inv.tax_amount, t.tax_inclusive_amount, t.payable_amount) == (
        D("219.99"), D("10.00"), D("15.00"), D("224.99"), D("47.25"), D("272.24"), D("272.24"))


def test_several_vat_rates():
    inv = sample("invoice-vat-rates.xml")
    assert inv.seller.vat_number == "BE0555000148"
    assert figures(inv.lines, "vat_category", "vat_rate", "net_amount") == [
        ("S", D(21), D("90.00")), ("S", D(6), D("37.80")), ("Z", D(0), D("40.00")), ("S", D(6), D("13.20"))]
    assert [(s.vat_category, s.vat_rate, s.taxable_amount, s.tax_amount) for s in inv.tax_subtotals] == [
        ("S", D(21), D("90.00"), D("18.90")),
        ("S", D(6), D("48.45"), D("2.91")),
        ("Z", D(0), D("40.00"), D("0.00")),
    ]
    t = inv.totals
    assert (t.tax_exclusive_amount, inv.tax_amount, t.tax_inclusive_amount, t.prepaid_amount,
            t.payable_amount) == (D("178.45"), D("21.81"), D("200.26"), D("50.00"), D("150.26"))


def test_foreign_currency_invoice():
    inv = sample("invoice-usd.xml")
    assert (inv.currency, inv.tax_currency) == ("USD", "EUR")
    assert (inv.tax_amount, inv.tax_amount_in_tax_currency) == (D("138.60"), D("127.74"))
    assert (inv.totals.line_extension_amount, inv.totals.payable_amount) == (D("659.98"), D("798.58"))
    assert inv.seller.vat_number == "BE0881234508"


def test_invoice_without_order_reference():
    inv = sample("invoice-no-order-reference.xml")
    assert inv.order_reference is None
    assert inv.buyer_reference == "Aankoop Mechelen"
    assert figures(inv.lines, "order_line_reference", "seller_item_id", "buyer_item_id", "quantity") == [
        (None, "A4-80", None, D(5)), (None, "TONER-K", None, D(1))]
    assert inv.seller.vat_number == "BE0123456749"
    assert inv.tax_amount == D("45.05")  # 214.50 x 21 % = 45.045, half-up


def test_invoice_with_the_same_item_twice():
    inv = sample("invoice-same-item-twice.xml")
    assert inv.order_reference == "PO-1010"
    assert figures(inv.lines, "line_id", "order_line_reference", "seller_item_id", "quantity", "net_amount") == [
        ("1", None, "A4-80", D(4), D("100.00")), ("2", None, "A4-80", D(6), D("150.00"))]


# --------------------------------------------------------------------------- credit notes


def test_credit_note_is_a_negative_invoice():
    cn = sample("creditnote.xml")
    assert cn.is_credit_note
    assert (cn.number, cn.order_reference, cn.billing_reference) == ("CN-2001", "PO-1001", "INV-1001")
    assert cn.label == "credit note CN-2001"
    assert figures(cn.lines, "order_line_reference", "quantity", "price", "net_amount") == [
        ("2", D(-1), D("89.50"), D("-89.50")),
        ("1", D(-2), D("25.00"), D("-50.00")),
    ]
    assert cn.tax_amount == D("-29.30")
    assert [(s.taxable_amount, s.tax_amount, s.vat_rate) for s in cn.tax_subtotals] == [
        (D("-139.50"), D("-29.30"), D(21))]
    t = cn.totals
    assert (t.line_extension_amount, t.tax_exclusive_amount, t.tax_inclusive_amount, t.payable_amount) == (
        D("-139.50"), D("-139.50"), D("-168.80"), D("-168.80"))
    assert cn.check_arithmetic() == []
    assert [a.amount for a in cn.line_amounts()] == [D("-89.50"), D("-50.00")]


def test_credit_note_messages_quote_the_document_figures():
    data = sample_bytes("creditnote.xml").replace(
        b'<cbc:LineExtensionAmount currencyID="EUR">50.00</cbc:LineExtensionAmount>\n    <cac:OrderLineReference>',
        b'<cbc:LineExtensionAmount currencyID="EUR">55.00</cbc:LineExtensionAmount>\n    <cac:OrderLineReference>')
    errors = parse_invoice(data).check_arithmetic()
    assert errors == [
        "credit note CN-2001 line 2: net 55.00 is not quantity 2 x price 25.00 / 1 = 50.00",
        "credit note CN-2001: LineExtensionAmount 139.50 is not the sum of the line nets 144.50",
        "credit note CN-2001 VAT S 21%: TaxableAmount 139.50 is not the net of its lines 144.50",
    ]


def test_credit_note_allowance_spreads_with_the_sign_of_a_credit():
    inv = sample("invoice-document-allowance-charge.xml")
    negated = UblInvoice(
        is_credit_note=True, number="CN-X", issue_date=inv.issue_date, currency="EUR",
        seller=inv.seller, totals=inv.totals, tax_amount=-inv.tax_amount,
        lines=tuple(UblLine(line_id=ln.line_id, quantity=-ln.quantity, unit_code=ln.unit_code,
                            price=ln.price, net_amount=-ln.net_amount, vat_category="S",
                            vat_rate=D(21)) for ln in inv.lines),
        allowance_charges=tuple(AllowanceCharge(is_charge=ac.is_charge, amount=-ac.amount,
                                                vat_category="S", vat_rate=D(21))
                                for ac in inv.allowance_charges),
    )
    assert [a.amount for a in negated.line_amounts()] == [D("-102.26"), D("-51.14"), D("-71.59")]


# --------------------------------------------------------------------------- arithmetic


def test_wrong_arithmetic_is_found_with_exact_messages():
    assert sample("invoice-wrong-arithmetic.xml").check_arithmetic() == [
        "invoice INV-1011 line 2: net 105.00 is not quantity 10 x price 10.00 / 1 = 100.00",
        "invoice INV-1011: PayableAmount 248.50 is not TaxInclusiveAmount 248.05 - PrepaidAmount 0.00"
        " + PayableRoundingAmount 0.00 = 248.05",
    ]


def edit(name: str, *replacements: tuple[str, str]) -> UblInvoice:
    data = sample_bytes(name).decode()
    for old, new in replacements:
        assert data.count(old) == 1, old
        data = data.replace(old, new)
    return parse_invoice(data.encode())


def test_line_allowance_named_in_the_message():
    inv = edit("invoice-line-allowance.xml",
               ('<cbc:LineExtensionAmount currencyID="EUR">270.00', '<cbc:LineExtensionAmount currencyID="EUR">280.00'))
    assert inv.check_arithmetic()[0] == (
        "invoice INV-1004 line 1: net 280.00 is not quantity 20 x price 15.00 / 1 = 300.00"
        " - allowances 30.00 = 270.00")


def test_vat_and_total_errors():
    inv = edit("invoice-vat-rates.xml",
               ('<cbc:TaxAmount currencyID="EUR">2.91</cbc:TaxAmount>', '<cbc:TaxAmount currencyID="EUR">2.95</cbc:TaxAmount>'),
               ('<cbc:TaxExclusiveAmount currencyID="EUR">178.45', '<cbc:TaxExclusiveAmount currencyID="EUR">181.00'))
    assert inv.check_arithmetic() == [
        "invoice INV-1006: TaxExclusiveAmount 181.00 is not LineExtensionAmount 181.00"
        " - AllowanceTotalAmount 2.55 + ChargeTotalAmount 0.00 = 178.45",
        "invoice INV-1006: TaxAmount 21.81 is not the sum of the VAT subtotals 21.85",
        "invoice INV-1006 VAT S 6%: TaxAmount 2.95 is not TaxableAmount 48.45 x 6% = 2.91",
        "invoice INV-1006: TaxInclusiveAmount 200.26 is not TaxExclusiveAmount 181.00 + TaxAmount 21.81 = 202.81",
    ]


def test_tax_within_one_cent_is_accepted():
    inv = edit("invoice-simple.xml",
               ('<cbc:TaxAmount currencyID="EUR">90.09</cbc:TaxAmount>\n      <cac:TaxCategory>',
                '<cbc:TaxAmount currencyID="EUR">90.10</cbc:TaxAmount>\n      <cac:TaxCategory>'))
    assert inv.check_arithmetic() == [
        "invoice INV-1001: TaxAmount 90.09 is not the sum of the VAT subtotals 90.10"]


def test_document_allowance_totals_and_taxable_amount():
    inv = edit("invoice-document-allowance-charge.xml",
               ('<cbc:AllowanceTotalAmount currencyID="EUR">10.00', '<cbc:AllowanceTotalAmount currencyID="EUR">12.00'),
               ('<cbc:TaxableAmount currencyID="EUR">224.99', '<cbc:TaxableAmount currencyID="EUR">219.99'))
    assert inv.check_arithmetic() == [
        "invoice INV-1005: AllowanceTotalAmount 12.00 is not the sum of the document-level allowances 10.00",
        "invoice INV-1005: TaxExclusiveAmount 224.99 is not LineExtensionAmount 219.99"
        " - AllowanceTotalAmount 12.00 + ChargeTotalAmount 15.00 = 222.99",
        "invoice INV-1005 VAT S 21%: TaxableAmount 219.99 is not the net of its lines 219.99"
        " - allowances 10.00 + charges 15.00 = 224.99",
        "invoice INV-1005 VAT S 21%: TaxAmount 47.25 is not TaxableAmount 219.99 x 21% = 46.20",
    ]


def test_allowance_at_a_rate_no_line_has_cannot_be_spread():
    inv = edit("invoice-vat-rates.xml", ("<cbc:Percent>6</cbc:Percent>\n      <cac:TaxScheme>\n        <cbc:ID>VAT</cbc:ID>\n      </cac:TaxScheme>\n    </cac:TaxCategory>\n  </cac:AllowanceCharge>",
                                         "<cbc:Percent>12</cbc:Percent>\n      <cac:TaxScheme>\n        <cbc:ID>VAT</cbc:ID>\n      </cac:TaxScheme>\n    </cac:TaxCategory>\n  </cac:AllowanceCharge>"))
    message = ("invoice INV-1006: its document-level allowance 2.55 is at VAT S 12%, which none of its lines has: "
               "pledger books an allowance as part of the lines at its rate; book this invoice outside pledger, or "
               "ask the supplier for one that puts the allowance on a line")
    errors = inv.check_arithmetic()
    assert message not in errors  # the document's arithmetic is another matter
    assert "invoice INV-1006: no VAT subtotal for S 12% (document-level allowance 2.55)" in errors
    with pytest.raises(UblError) as caught:
        inv.line_amounts()
    assert str(caught.value) == message


# --------------------------------------------------------------------------- spreading


def test_document_allowance_and_charge_are_spread_exactly():
    inv = sample("invoice-document-allowance-charge.xml")
    amounts = inv.line_amounts()
    # allowance -10.00 over 99.99 / 50.00 / 70.00 -> -4.55 / -2.27 / -3.18 (largest remainder)
    # charge    +15.00                            -> +6.82 / +3.41 / +4.77
    assert [(a.line_id, a.net, a.spread, a.amount) for a in amounts] == [
        ("1", D("99.99"), D("2.27"), D("102.26")),
        ("2", D("50.00"), D("1.14"), D("51.14")),
        ("3", D("70.00"), D("1.59"), D("71.59")),
    ]
    assert sum(a.spread for a in amounts) == D("5.00")
    assert sum(a.amount for a in amounts) == inv.totals.tax_exclusive_amount == D("224.99")


def test_allowance_at_a_rate_is_spread_over_that_rate_only():
    inv = sample("invoice-vat-rates.xml")
    amounts = inv.line_amounts()
    assert [(a.line_id, a.vat_rate, a.spread, a.amount) for a in amounts] == [
        ("1", D(21), D("0.00"), D("90.00")),
        ("2", D(6), D("-1.89"), D("35.91")),
        ("3", D(0), D("0.00"), D("40.00")),
        ("4", D(6), D("-0.66"), D("12.54")),
    ]
    for sub in inv.tax_subtotals:
        assert sum(a.amount for a in amounts if (a.vat_category, a.vat_rate) == sub.vat_key) == sub.taxable_amount


cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n) / 100)


@settings(max_examples=200, deadline=None)
@given(nets=st.lists(cents, min_size=1, max_size=8), allowance=cents, charge=cents)
def test_spreading_always_sums_exactly(nets, allowance, charge):
    lines = tuple(UblLine(line_id=str(i), quantity=D(1), unit_code="C62", price=net, net_amount=net,
                          vat_category="S", vat_rate=D(21)) for i, net in enumerate(nets, 1))
    invoice = UblInvoice(
        is_credit_note=False, number="P", issue_date=date(2024, 1, 1), currency="EUR",
        seller=Party(name="S"), lines=lines, tax_amount=D(0),
        totals=MonetaryTotal(line_extension_amount=D(0), tax_exclusive_amount=D(0),
                             tax_inclusive_amount=D(0), payable_amount=D(0)),
        allowance_charges=(AllowanceCharge(is_charge=False, amount=allowance, vat_category="S", vat_rate=D(21)),
                           AllowanceCharge(is_charge=True, amount=charge, vat_category="S", vat_rate=D(21))),
    )
    amounts = invoice.line_amounts()
    assert sum(a.spread for a in amounts) == charge - allowance
    assert sum(a.amount for a in amounts) == sum(nets) - allowance + charge
    assert all(a.spread == a.spread.quantize(D("0.01")) for a in amounts)


# --------------------------------------------------------------------------- errors


def test_malformed_xml(tmp_path):
    with pytest.raises(UblError, match=r"^UBL document: malformed XML: "):
        parse_invoice(b"<Invoice><cbc:ID>INV-1</Invoice>")
    with pytest.raises(UblError, match="malformed XML"):
        parse_invoice(b"")
    truncated = tmp_path / "invoice-simple.xml"
    truncated.write_bytes(sample_bytes("invoice-simple.xml")[:-20])
    with pytest.raises(UblError, match=r"^invoice-simple\.xml: malformed XML"):
        parse_invoice(truncated)
    with pytest.raises(UblError, match=r"^invoice-simple\.xml: malformed XML"):
        parse_invoice(str(truncated))


def test_entity_amplification_is_refused_though_long_text_nodes_are_read():
    """The parser reads a text node beyond libxml2's 10 MB (an embedded PDF, BG-24), and still
    refuses a "billion laughs": ten levels of ten entities, a 10 GB expansion from 1 KB."""
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {name} "{("&" + inner + ";") * 10}">' for inner, name in zip("abcdefghi", "bcdefghij"))
    xml = sample_bytes("invoice-simple.xml").decode().split("?>", 1)[1]
    bomb = f'<?xml version="1.0"?>\n<!DOCTYPE Invoice [{entities}]>\n' + xml.replace(
        "<cbc:ID>INV-1001</cbc:ID>", "<cbc:ID>&j;</cbc:ID>", 1)
    with pytest.raises(UblError, match=r"^UBL document: malformed XML: Maximum entity amplification"):
        parse_invoice(bomb.encode())


def test_missing_file():
    with pytest.raises(UblError, match="cannot read the file"):
        parse_invoice(SAMPLES / "no-such-invoice.xml")


def test_unknown_root_element():
    order = b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"><ID>1</ID></Order>'
    with pytest.raises(UblError) as caught:
        parse_invoice(order)
    assert str(caught.value).startswith(
        "UBL document: unknown root element {urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order: "
        "expected a UBL 2.1 Invoice")
    with pytest.raises(UblError, match="unknown root element Invoice"):
        parse_invoice(b"<Invoice/>")  # no namespace


def test_missing_required_elements():
    with pytest.raises(UblError) as caught:
        edit("invoice-simple.xml", ("<cbc:IssueDate>2024-03-12</cbc:IssueDate>", ""))
    assert str(caught.value) == "invoice INV-1001: missing required element cbc:IssueDate"
    with pytest.raises(UblError) as caught:
        edit("invoice-simple.xml", ('<cbc:PayableAmount currencyID="EUR">519.09</cbc:PayableAmount>', ""))
    assert str(caught.value) == (
        "invoice INV-1001 cac:LegalMonetaryTotal: missing required element cbc:PayableAmount")
    with pytest.raises(UblError) as caught:
        edit("invoice-simple.xml", ('<cbc:PriceAmount currencyID="EUR">89.50</cbc:PriceAmount>', ""))
    assert str(caught.value) == "invoice INV-1001 line 2: missing required element cac:Price/cbc:PriceAmount"


def test_numbers_must_be_plain_decimals():
    with pytest.raises(UblError) as caught:
        edit("invoice-simple.xml", ('<cbc:InvoicedQuantity unitCode="BX">10<', '<cbc:InvoicedQuantity unitCode="BX">1e1<'))
    assert str(caught.value) == "invoice INV-1001 line 1: cbc:InvoicedQuantity '1e1' is not a plain decimal number"
    with pytest.raises(UblError, match=r"cbc:PriceAmount '25,00' is not a plain decimal number"):
        edit("invoice-simple.xml", (">25.00<", ">25,00<"))
    with pytest.raises(UblError, match=r"'NaN' is not a plain decimal number"):
        edit("invoice-simple.xml", ('<cbc:TaxInclusiveAmount currencyID="EUR">519.09<',
                                    '<cbc:TaxInclusiveAmount currencyID="EUR">NaN<'))


def test_amount_in_another_currency():
    with pytest.raises(UblError) as caught:
        edit("invoice-simple.xml", ('<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="USD">'))
    assert str(caught.value) == (
        "invoice INV-1001 cac:LegalMonetaryTotal: cbc:PayableAmount 519.09 is in USD, the document currency is EUR")


def test_bad_date_and_currency():
    with pytest.raises(UblError, match=r"cbc:IssueDate '12/03/2024' is not a date \(YYYY-MM-DD\)"):
        edit("invoice-simple.xml", ("<cbc:IssueDate>2024-03-12<", "<cbc:IssueDate>12/03/2024<"))
    with pytest.raises(UblError, match="DocumentCurrencyCode 'XYZ' is not a known currency"):
        edit("invoice-simple.xml", ("<cbc:DocumentCurrencyCode>EUR<", "<cbc:DocumentCurrencyCode>XYZ<"))
