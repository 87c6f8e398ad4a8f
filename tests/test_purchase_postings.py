"""Receipts, invoices, returns and credit notes, by hand-checked amounts (DOMAIN.md)."""

import pytest

from ledger.check import check_ledger
from purchase.checks import check_tie_out
from purchase.documents import DocumentError
from tests.builders import (CREDITORS, D, GR, IR, PRICE_DIFF, STOCK, VAT, balance, invoice, item, order, receive,
                            supplier)


@pytest.fixture
def acme(books):
    with books.session() as s:
        supplier(s)
        item(s)
    return books


def assert_sound(s):
    assert check_ledger(s) == []
    assert check_tie_out(s) == []


def test_received_then_invoiced_at_a_higher_price_with_vat(acme):
    with acme.session() as s:
        order(s, "PO-1", ("BOLT", 10, "100.00", 21))
        receive(s, "PO-1", 1, 10)
        assert balance(s, STOCK) == D("1000.00")
        assert balance(s, GR) == D("-1000.00")
        invoice(s, "PO-1", 1, 10, price="105.00", vat=21)
        assert balance(s, STOCK) == D("1000.00")
        assert balance(s, GR) == D("0.00")
        assert balance(s, PRICE_DIFF) == D("50.00")
        assert balance(s, VAT) == D("220.50")
        assert balance(s, CREDITORS) == D("-1270.50")
        assert_sound(s)


def test_an_invoice_before_its_receipt(acme):
    with acme.session() as s:
        order(s, "PO-2", ("BOLT", 4, "25.00", 21))
        invoice(s, "PO-2", 1, 4)
        assert balance(s, IR) == D("100.00")
        assert balance(s, CREDITORS) == D("-121.00")
        assert balance(s, STOCK) == D("0")
        receive(s, "PO-2", 1, 4)
        assert balance(s, IR) == D("0.00")
        assert balance(s, GR) == D("0")
        assert balance(s, STOCK) == D("100.00")
        assert_sound(s)


def test_three_receipts_of_a_third_then_one_invoice_leave_no_cent_behind(acme):
    with acme.session() as s:
        order(s, "PO-3", ("BOLT", 3, "0.333", 0))
        for _ in range(3):
            receive(s, "PO-3", 1, 1)
        assert balance(s, STOCK) == D("1.00")  # 0.33 + 0.34 + 0.33
        invoice(s, "PO-3", 1, 3)
        assert balance(s, STOCK) == D("1.00")
        assert balance(s, GR) == D("0")
        assert balance(s, IR) == D("0")
        assert balance(s, PRICE_DIFF) == D("0")
        assert_sound(s)


def test_a_return_and_a_credit_note(acme):
    with acme.session() as s:
        order(s, "PO-4", ("BOLT", 10, "12.50", 21))
        receive(s, "PO-4", 1, 10)
        invoice(s, "PO-4", 1, 10)
        receive(s, "PO-4", 1, -2)  # return of 2
        assert balance(s, STOCK) == D("100.00")
        assert balance(s, IR) == D("25.00")  # invoiced, no longer received
        invoice(s, "PO-4", 1, -2)  # credit note for them
        assert balance(s, IR) == D("0")
        assert balance(s, GR) == D("0")
        assert balance(s, VAT) == D("21.00")  # 26.25 - 5.25
        assert balance(s, CREDITORS) == D("-121.00")
        assert_sound(s)


def test_over_receipt_and_over_invoicing_are_refused_and_leave_nothing(acme):
    with acme.session() as s:
        order(s, "PO-5", ("BOLT", 5, "10.00"))
        receive(s, "PO-5", 1, 3)
    with acme.session() as s:
        with pytest.raises(DocumentError, match="over-receipt refused: the line still expects 2 to receive, not 3"):
            receive(s, "PO-5", 1, 3)
    with acme.session() as s:
        with pytest.raises(DocumentError, match="over-invoicing refused: the line still expects 5 to invoice, not 6"):
            invoice(s, "PO-5", 1, 6)
    with acme.session() as s:
        with pytest.raises(DocumentError, match="received would become -1, below zero"):
            receive(s, "PO-5", 1, -4)
    with acme.session() as s:
        assert balance(s, STOCK) == D("30.00")
        assert_sound(s)


def test_non_stock_items_post_to_expense(acme):
    with acme.session() as s:
        item(s, "CONSULT", stock=False, description="Consulting hour")
        order(s, "PO-6", ("CONSULT", 2, "80.00"))
        invoice(s, "PO-6", 1, 2)
        receive(s, "PO-6", 1, 2)
        assert balance(s, "610000") == D("160.00")
        assert balance(s, STOCK) == D("0")
        assert_sound(s)


def test_a_quantity_finer_than_a_quantity_keeps_is_refused(acme):
    with acme.session() as s:
        order(s, "PO-7D", ("BOLT", 5, "10.00"))
    with acme.session() as s:
        with pytest.raises(DocumentError, match="the quantity 0.0000001 has more than 6 decimals"):
            receive(s, "PO-7D", 1, D("0.0000001"))
    with acme.session() as s:
        assert balance(s, STOCK) == D("0")
        assert_sound(s)


def test_a_stated_invoice_amount_finer_than_a_cent_is_refused_at_its_line(acme):
    from purchase.documents import DocLine, DocumentPoster, InvoiceDoc
    from tests.builders import DAY

    with acme.session() as s:
        order(s, "PO-7C", ("BOLT", 5, "10.00"))
    with acme.session() as s:
        with pytest.raises(DocumentError, match=r"invoice I-7C, order PO-7C line 1: the amount 10.005 is finer than the EUR minor unit 0.01"):
            DocumentPoster(s, "ann").post_invoices([InvoiceDoc("I-7C", "S-7C", DAY, [
                DocLine("PO-7C", 1, D(1), amount=D("10.005"))])])
    with acme.session() as s:
        assert balance(s, IR) == D("0")
        assert_sound(s)


def test_a_supplier_invoice_number_is_taken_once_per_supplier(acme):
    from purchase.documents import DocLine, DocumentPoster, InvoiceDoc
    from tests.builders import DAY

    def post(number, supplier_invoice, order_number):
        DocumentPoster(s, "ann").post_invoices([InvoiceDoc(number, supplier_invoice, DAY, [DocLine(order_number, 1, D(1))])])

    with acme.session() as s:
        supplier(s, "BOLTCO", "Bolt Co")
        order(s, "PO-1", ("BOLT", 10, "1.00"))
        order(s, "PO-2", ("BOLT", 10, "1.00"), supplier_code="BOLTCO")
        post("I-1", "2026/17", "PO-1")
        post("I-2", "2026/17", "PO-2")  # another supplier's invoice of the same number
        post("I-4", "2026/18", "PO-2")
        s.commit()
        with pytest.raises(DocumentError, match=r"supplier ACME's invoice 2026/17 was already posted \(as I-1\): a supplier's invoice is posted once"):
            post("I-3", "2026/17", "PO-1")
        s.rollback()
        post("I-3", "2026/18", "PO-1")  # ACME and 2026/18 are each known, but not as a pair
        assert_sound(s)


def test_the_tie_out_names_a_line_whose_quantities_no_longer_match_the_ledger(acme, monkeypatch):
    import purchase.checks

    monkeypatch.setattr(purchase.checks, "CHUNK", 2)  # five lines, streamed two at a time
    with acme.session() as s:
        order(s, "PO-1", *[("BOLT", 10, "2.50")] * 5)
        for line in range(1, 6):
            receive(s, "PO-1", line, 4)  # GR 10.00 on each line
        invoice(s, "PO-1", 5, 2)  # line 5: GR 5.00 left
        assert_sound(s)
    # behind the application's back: line 4 says 6 received, the ledger holds the GR of 4
    acme.raw("UPDATE order_lines SET received = received + 2000000 WHERE line_no = 4")  # +2 units (scale 6)
    with acme.session() as s:
        found = [str(b) for b in check_tie_out(s)]
    assert found == [
        "order PO-1 line 4: goods-received sub-balance in the ledger is 10.00, its quantities imply 15.00",
        "goods-received account 444000 holds 45.00 (credit), the lines hold 50.00",
    ]
