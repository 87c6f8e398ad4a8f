"""A generator of realistic purchase books of any size, written as the CSV files users import.

Orders of 1-9 lines over 25 suppliers and 400 items, dated over a year, prices with up
to four decimals, VAT 21/6/0. Per line, shares (by a fixed seed): fully received and
invoiced at the order price; received and invoiced at another price; received, never
invoiced; invoiced, never received; partly received and partly invoiced (mismatched);
received then partly returned and credited; untouched. Every line that is not fully
matched is a line a close-out has work on.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

SUPPLIERS = 25
ITEMS = 400


@contextmanager
def document_writers(paths: dict[str, Path]):
    """CSV writers for the orders, receipts and invoices files, their header rows written."""
    with open(paths["orders"], "w", newline="") as fo, open(paths["receipts"], "w", newline="") as fr, \
            open(paths["invoices"], "w", newline="") as fi:
        wo, wr, wi = csv.writer(fo), csv.writer(fr), csv.writer(fi)
        wo.writerow(["order", "supplier", "order_date", "line", "item", "quantity", "unit_price", "vat_rate"])
        wr.writerow(["receipt", "date", "order", "line", "quantity"])
        wi.writerow(["invoice", "supplier_invoice", "date", "order", "line", "quantity", "unit_price", "vat_rate"])
        yield wo, wr, wi


def _price(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(1, 2_000_000)).scaleb(-4)  # 0.0001 .. 199.9999


def write_book(folder: Path, lines: int, *, year: int, seed: int = 7) -> dict[str, Path]:
    """Write suppliers, items, orders, receipts and invoices CSV files for `lines` order lines."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}.csv" for k in ("suppliers", "items", "orders", "receipts", "invoices")}
    with open(paths["suppliers"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name", "currency", "vat_number"])
        for s in range(SUPPLIERS):
            w.writerow([f"S{s:03d}", f"Supplier {s} NV", "EUR", f"BE0{100000000 + s * 7919}"])
    with open(paths["items"], "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "description", "stock_item"])
        for i in range(ITEMS):
            w.writerow([f"IT{i:04d}", f"Item {i}", "true" if i % 5 else "false"])
    start = dt.date(year, 1, 1)
    made = 0
    order_no = 0
    with document_writers(paths) as (wo, wr, wi):
        while made < lines:
            order_no += 1
            order = f"PO{order_no:08d}"
            supplier = f"S{rng.randrange(SUPPLIERS):03d}"
            day = start + dt.timedelta(days=rng.randrange(300))
            count = min(rng.randint(1, 9), lines - made)
            receipt_rows, invoice_rows, credit_rows, return_rows = [], [], [], []
            for line in range(1, count + 1):
                qty = Decimal(rng.randint(1, 400))
                if rng.random() < 0.2:
                    qty += Decimal(rng.randint(1, 3)) / 4
                price = _price(rng)
                vat = rng.choice(["21", "21", "21", "6", "0"])
                wo.writerow([order, supplier, day.isoformat(), line, f"IT{rng.randrange(ITEMS):04d}", qty, price, vat])
                kind = rng.random()
                if kind < 0.30:  # matched at the order price
                    receipt_rows.append((line, qty)); invoice_rows.append((line, qty, price, vat))
                elif kind < 0.40:  # matched at another price
                    receipt_rows.append((line, qty)); invoice_rows.append((line, qty, (price * Decimal("1.03")).quantize(Decimal("0.0001")), vat))
                elif kind < 0.55:  # received, never invoiced
                    receipt_rows.append((line, qty))
                elif kind < 0.70:  # invoiced, never received
                    invoice_rows.append((line, qty, price, vat))
                elif kind < 0.85:  # mismatched partials
                    r = (qty * Decimal(rng.randint(2, 9)) / 10).quantize(Decimal("0.25"))
                    i = (qty * Decimal(rng.randint(1, 8)) / 10).quantize(Decimal("0.25"))
                    if r > 0:
                        receipt_rows.append((line, r))
                    if i > 0:
                        invoice_rows.append((line, i, price, vat))
                elif kind < 0.92:  # received, invoiced, partly returned and credited
                    back = max(Decimal(1), (qty / 4).quantize(Decimal(1)))
                    receipt_rows.append((line, qty)); invoice_rows.append((line, qty, price, vat))
                    if back < qty:
                        return_rows.append((line, -back)); credit_rows.append((line, -back, price, vat))
            rday = day + dt.timedelta(days=rng.randint(2, 20))
            iday = day + dt.timedelta(days=rng.randint(3, 30))
            for line, q in receipt_rows:
                wr.writerow([f"R{order_no:08d}", rday.isoformat(), order, line, q])
            for line, q in return_rows:
                wr.writerow([f"RT{order_no:08d}", (rday + dt.timedelta(days=20)).isoformat(), order, line, q])
            for line, q, p, v in invoice_rows:
                wi.writerow([f"I{order_no:08d}", f"F{order_no:08d}", iday.isoformat(), order, line, q, p, v])
            for line, q, p, v in credit_rows:
                wi.writerow([f"C{order_no:08d}", f"CN{order_no:08d}", (iday + dt.timedelta(days=25)).isoformat(), order, line, q, p, v])
            made += count
    return paths
