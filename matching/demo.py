"""A realistic demo book: a few suppliers, dozens of orders in every state.

Deterministic (a fixed random seed), dated in the current fiscal year, built through
the same services as real work: orders, partial receipts, invoices before receipts,
price differences, returns and credit notes, orders left on backorder, cancelled and
new orders. The CLI's `pledger demo` then walks a close-out through trial, run and undo.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sqlalchemy.orm import Session

from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.settings import company, set_company
from purchase.masterdata import ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items, upsert_suppliers
from purchase.orders import apply

SUPPLIERS = [
    SupplierData("BOLTEX", "Boltex NV (Gent)", "EUR", "BE0123456749"),
    SupplierData("HOUTHANDEL", "Houthandel Van Dijk BV (Utrecht)", "EUR", "NL001234567B01"),
    SupplierData("KANTOOR", "Kantoor & Co SRL (Namur)", "EUR", "BE0987654321"),
    SupplierData("SERVICEPRO", "ServicePro BV (Antwerpen)", "EUR", "BE0555666777"),
]
ITEMS = [
    ItemData("BOLT-M8", "Hexagon bolt M8 x 40, zinc plated", True, min_stock=Decimal(500), min_order_quantity=Decimal(1000), order_multiple=Decimal(250)),
    ItemData("NUT-M8", "Hexagon nut M8, zinc plated", True),
    ItemData("PLANK-18", "Oak plank 18 mm, per metre", True),
    ItemData("BEAM-70", "Spruce beam 70 x 70 mm, per metre", True),
    ItemData("PAPER-A4", "Copy paper A4 80 g, box of 5 reams", True),
    ItemData("TONER-K", "Toner cartridge black", True),
    ItemData("SERVICE-H", "Maintenance, per hour", False),
    ItemData("FREIGHT", "Freight and handling", False),
]
CATALOGUE = {
    "BOLTEX": [("BOLT-M8", "0.1235"), ("NUT-M8", "0.0412")],
    "HOUTHANDEL": [("PLANK-18", "14.95"), ("BEAM-70", "6.335")],
    "KANTOOR": [("PAPER-A4", "21.50"), ("TONER-K", "64.99")],
    "SERVICEPRO": [("SERVICE-H", "72.50"), ("FREIGHT", "35.00")],
}


def build_demo_book(session: Session, user: str, year: int, *, orders: int = 36, seed: int = 2026) -> dict:
    """Create the demo book; returns a summary of what it made."""
    rng = random.Random(seed)
    if company(session).name is None:  # the buyer on the demo's purchase orders (`pledger po export`)
        set_company(session, name="Demo Bouwmaterialen NV (Mechelen)", vat_number="BE0111111124", endpoint="0208:0111111124")
    upsert_suppliers(session, SUPPLIERS)
    upsert_items(session, ITEMS)
    made = []
    for n in range(1, orders + 1):
        supplier = SUPPLIERS[(n - 1) % len(SUPPLIERS)].code
        order_date = dt.date(year, 1 + (n - 1) % 9, 1 + rng.randrange(20))
        lines = []
        for line_no, (item, price) in enumerate(CATALOGUE[supplier], 1):
            quantity = Decimal(rng.choice([10, 12, 20, 25, 40, 100])) * (Decimal(100) if item.startswith(("BOLT", "NUT")) else 1)
            lines.append(OrderLineData(line_no, item, quantity, Decimal(price), vat_rate=Decimal(rng.choice([21, 21, 6])),
                                       discount_pct=Decimal(rng.choice([0, 0, 5]))))
        number = f"PO-{year}-{n:03d}"
        create_orders(session, [OrderData(number, supplier, order_date, lines, reference=f"demo {n}", buyer="demo")])
        made.append((number, order_date, lines))
    poster = DocumentPoster(session, user)
    receipts, invoices = [], []
    for n, (number, order_date, lines) in enumerate(made, 1):
        day = lambda k: order_date + dt.timedelta(days=k)
        kind = n % 9
        for line in lines:
            q = line.quantity
            if kind == 0:  # left as ordered
                continue
            if kind == 1:  # fully received, fully invoiced at the order price
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(5), [DocLine(number, line.line, q)]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(9), [DocLine(number, line.line, q)]))
            elif kind == 2:  # partial receipt, never invoiced: goods received, not invoiced
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(6), [DocLine(number, line.line, q * Decimal("0.6"))]))
            elif kind == 3:  # invoiced before the goods, part never arrives
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(3), [DocLine(number, line.line, q)]))
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(12), [DocLine(number, line.line, q * Decimal("0.75"))]))
            elif kind == 4:  # received, invoiced at a higher price (price difference)
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(4), [DocLine(number, line.line, q)]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(8),
                                           [DocLine(number, line.line, q, unit_price=(line.unit_price * Decimal("1.04")).quantize(Decimal("0.0001")))]))
            elif kind == 5:  # received, partly returned, invoiced, then a credit note for the return
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(4), [DocLine(number, line.line, q)]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(7), [DocLine(number, line.line, q)]))
                receipts.append(ReceiptDoc(f"RT-{number}-{line.line}", day(10), [DocLine(number, line.line, -q / 5)]))
                invoices.append(InvoiceDoc(f"CN-{number}-{line.line}", f"C{n:04d}{line.line}", day(14), [DocLine(number, line.line, -q / 5)]))
            elif kind == 6:  # three partial receipts, one invoice for part of it
                for k in range(3):
                    receipts.append(ReceiptDoc(f"R-{number}-{line.line}-{k}", day(3 + k), [DocLine(number, line.line, q / 4)]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(9), [DocLine(number, line.line, q / 2)]))
            elif kind == 7:  # invoiced for more than received so far
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(2), [DocLine(number, line.line, q / 2)]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(5), [DocLine(number, line.line, q)]))
            elif kind == 8:  # partly received: on backorder
                receipts.append(ReceiptDoc(f"R-{number}-{line.line}", day(6), [DocLine(number, line.line, q * Decimal("0.4"))]))
                invoices.append(InvoiceDoc(f"I-{number}-{line.line}", f"F{n:04d}{line.line}", day(8), [DocLine(number, line.line, q * Decimal("0.4"))]))
    receipts.sort(key=lambda d: d.date)
    invoices.sort(key=lambda d: d.date)
    posted_r = poster.post_receipts(receipts)
    posted_i = poster.post_invoices(invoices)
    # a few more states of the lifecycle
    extra = [
        OrderData(f"PO-{year}-NEW", "KANTOOR", dt.date(year, 10, 1), [OrderLineData(1, "PAPER-A4", Decimal(50), Decimal("21.50"), vat_rate=Decimal(21))]),
        OrderData(f"PO-{year}-CANCEL", "BOLTEX", dt.date(year, 10, 2), [OrderLineData(1, "BOLT-M8", Decimal(1000), Decimal("0.1235"), vat_rate=Decimal(21))]),
    ]
    create_orders(session, extra[:1], status="new")
    create_orders(session, extra[1:])
    apply(session, f"PO-{year}-CANCEL", "cancel")
    return {"orders": len(made) + len(extra), "receipts": posted_r.documents, "invoices": posted_i.documents,
            "entries": len(posted_r.entries) + len(posted_i.entries)}
