"""One-line builders for tests: a supplier, an item, an order, a receipt, an invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ledger.reports import account_balance
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers

D = Decimal
DAY = dt.date(2026, 5, 4)


def supplier(s, code="ACME", name="Acme NV"):
    upsert_suppliers(s, [SupplierData(code, name, "EUR", vat_number="BE0123456749")])


def item(s, code="BOLT", stock=True, description="Bolt M8"):
    upsert_items(s, [ItemData(code, description, stock_item=stock)])


def order(s, number, *lines, supplier_code="ACME", date=DAY):
    """lines: (item, quantity, unit_price[, vat_rate[, discount_pct]])"""
    data = []
    for n, spec in enumerate(lines, 1):
        item_code, qty, price, *rest = spec
        vat = D(rest[0]) if rest else D(21)
        disc = D(rest[1]) if len(rest) > 1 else D(0)
        data.append(OrderLineData(n, item_code, D(qty), D(price), discount_pct=disc, vat_rate=vat))
    create_orders(s, [OrderData(number, supplier_code, date, data)])


_counter = {"r": 0, "i": 0}


def receive(s, order_number, line, qty, date=DAY, number=None, user="ann"):
    _counter["r"] += 1
    number = number or f"R{_counter['r']:05d}"
    DocumentPoster(s, user).post_receipts([ReceiptDoc(number, date, [DocLine(order_number, line, D(qty))])])
    return number


def invoice(s, order_number, line, qty, price=None, vat=None, date=DAY, number=None, user="ann"):
    _counter["i"] += 1
    number = number or f"I{_counter['i']:05d}"
    DocumentPoster(s, user).post_invoices([InvoiceDoc(number, f"S-{number}", date, [
        DocLine(order_number, line, D(qty), unit_price=None if price is None else D(price), vat_rate=None if vat is None else D(vat))
    ])])
    return number


def balance(s, code):
    return account_balance(s, code)


STOCK, EXPENSE, CREDITORS, VAT = "340000", "610000", "440000", "411000"
GR, IR, UNINVOICED, UNRECEIVED = "444000", "499100", "608100", "604900"
PRICE_DIFF, ROUNDING = "604500", "657000"


def three_orders_to_sort(s):
    """PO-A (BETA, 05-01), PO-B (ACME, 05-03, two lines), PO-C (ACME, 05-02), each line 10
    BOLT at 5.00 with 4 received: by number A B C, by supplier B C A, by order date A C B."""
    order(s, "PO-A", ("BOLT", 10, "5.00"), supplier_code="BETA", date=dt.date(2026, 5, 1))
    order(s, "PO-B", ("BOLT", 10, "5.00"), ("BOLT", 10, "5.00"), date=dt.date(2026, 5, 3))
    order(s, "PO-C", ("BOLT", 10, "5.00"), date=dt.date(2026, 5, 2))
    for number, line in (("PO-A", 1), ("PO-B", 1), ("PO-B", 2), ("PO-C", 1)):
        receive(s, number, line, 4)
