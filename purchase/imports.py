"""`pledger import KIND FILE.csv`: suppliers, items, orders, receipts, invoices (CLI.md).

A file is parsed whole first (`csvfile.read_rows`), then grouped into documents (rows
sharing the first column form one document) and posted through the same services as
everything else, in the caller's one transaction: on any bad row nothing is written,
and the error names the row and the column.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from sqlalchemy.orm import Session

from ledger.money import ZERO
from ledger.progress import QUIET, Progress
from purchase import csvfile as c
from purchase.csvfile import CsvError, Field
from purchase.documents import DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc
from purchase.masterdata import (ItemData, OrderData, OrderLineData, SupplierData, create_orders, upsert_items,
                                 upsert_suppliers)

KINDS = ("suppliers", "items", "orders", "receipts", "invoices")

FIELDS = {
    "suppliers": [
        Field("code", c.code), Field("name", c.text), Field("currency", c.code),
        Field("vat_number", c.code, required=False), Field("endpoint_id", c.code, required=False),
    ],
    "items": [
        Field("code", c.code), Field("description", c.text), Field("stock_item", c.boolean),
        Field("unit", c.code, required=False, blank="C62"),
        Field("min_stock", c.quantity, required=False, blank=ZERO),
        Field("min_order_quantity", c.quantity, required=False, blank=ZERO),
        Field("order_multiple", c.quantity, required=False, blank=ZERO),
        Field("preferred_supplier", c.code, required=False),
        Field("purchase_price", c.price, required=False, blank=ZERO),
    ],
    "orders": [
        Field("order", c.code), Field("supplier", c.code), Field("order_date", c.date), Field("line", c.integer),
        Field("item", c.code), Field("quantity", c.quantity), Field("unit_price", c.price),
        Field("currency", c.code, required=False), Field("discount_pct", c.percent, required=False, blank=ZERO),
        Field("expected_date", c.date, required=False), Field("vat_rate", c.percent, required=False, blank=ZERO),
        Field("description", c.text, required=False, blank=""), Field("reference", c.text, required=False, blank=""),
        Field("buyer", c.text, required=False, blank=""),
    ],
    "receipts": [
        Field("receipt", c.code), Field("date", c.date), Field("order", c.code), Field("line", c.integer),
        Field("quantity", c.quantity),
    ],
    "invoices": [
        Field("invoice", c.code), Field("supplier_invoice", c.code), Field("date", c.date), Field("order", c.code),
        Field("line", c.integer), Field("quantity", c.quantity), Field("unit_price", c.price), Field("vat_rate", c.percent),
    ],
}


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    documents: int
    created: int = 0
    updated: int = 0
    entries: int = 0

    def summary(self) -> str:
        if self.kind in ("suppliers", "items"):
            return f"{self.kind}: {self.rows} rows, {self.created} created, {self.updated} updated"
        if self.kind == "orders":
            return f"orders: {self.documents} orders with {self.rows} lines created"
        return f"{self.kind}: {self.documents} documents with {self.rows} lines posted in {self.entries} entries"


def _group(rows, key: str, path) -> "OrderedDict[str, list]":
    groups: OrderedDict[str, list] = OrderedDict()
    last = None
    for row_no, values in rows:
        k = values[key]
        if k in groups and k != last:
            raise CsvError(f"{path}: row {row_no}, column {key}: '{k}' appeared before, separated by other documents; keep a document's rows together")
        groups.setdefault(k, []).append((row_no, values))
        last = k
    return groups


def _same(path, doc_rows, key: str, column: str):
    first = doc_rows[0][1][column]
    for row_no, values in doc_rows[1:]:
        if values[column] != first:
            raise CsvError(f"{path}: row {row_no}, column {column}: '{values[column]}' differs from '{first}' on the first row of {key}")
    return first


def import_file(session: Session, kind: str, path, user: str, *, progress: Progress = QUIET) -> ImportResult:
    if kind not in KINDS:
        raise CsvError(f"unknown import kind '{kind}': one of {', '.join(KINDS)}")
    rows = c.read_rows(path, FIELDS[kind])
    progress.start(len(rows))
    tick = progress.advance
    if kind == "suppliers":
        _unique(path, rows, "code")
        created, updated = upsert_suppliers(session, [
            SupplierData(v["code"], v["name"], v["currency"], v["vat_number"], v["endpoint_id"]) for _, v in rows])
        tick(len(rows))
        return ImportResult(kind, len(rows), len(rows), created, updated)
    if kind == "items":
        _unique(path, rows, "code")
        created, updated = upsert_items(session, [
            ItemData(v["code"], v["description"], v["stock_item"], v["unit"], v["min_stock"], v["min_order_quantity"],
                     v["order_multiple"], v["preferred_supplier"], v["purchase_price"]) for _, v in rows])
        tick(len(rows))
        return ImportResult(kind, len(rows), len(rows), created, updated)
    if kind == "orders":
        orders = []
        for number, doc_rows in _group(rows, "order", path).items():
            head = doc_rows[0][1]
            for column in ("supplier", "order_date", "currency"):
                _same(path, doc_rows, f"order {number}", column)
            orders.append(OrderData(
                number, head["supplier"], head["order_date"],
                [OrderLineData(v["line"], v["item"], v["quantity"], v["unit_price"], v["discount_pct"], v["vat_rate"],
                               v["expected_date"], v["description"], where=f"{path}: row {r}") for r, v in doc_rows],
                currency=head["currency"], reference=head["reference"], buyer=head["buyer"], where=f"{path}: row {doc_rows[0][0]}",
            ))
        made = create_orders(session, orders)
        tick(made)
        return ImportResult(kind, made, len(orders))
    poster = DocumentPoster(session, user, progress=progress)
    if kind == "receipts":
        docs = []
        for number, doc_rows in _group(rows, "receipt", path).items():
            date = _same(path, doc_rows, f"receipt {number}", "date")
            docs.append(ReceiptDoc(number, date, [DocLine(v["order"], v["line"], v["quantity"], where=f"{path}: row {r}") for r, v in doc_rows]))
        posted = poster.post_receipts(docs)
    else:
        docs = []
        for number, doc_rows in _group(rows, "invoice", path).items():
            date = _same(path, doc_rows, f"invoice {number}", "date")
            supplier_invoice = _same(path, doc_rows, f"invoice {number}", "supplier_invoice")
            docs.append(InvoiceDoc(number, supplier_invoice, date, [
                DocLine(v["order"], v["line"], v["quantity"], unit_price=v["unit_price"], vat_rate=v["vat_rate"], where=f"{path}: row {r}")
                for r, v in doc_rows]))
        posted = poster.post_invoices(docs)
    return ImportResult(kind, posted.lines, posted.documents, entries=len(posted.entries))


def _unique(path, rows, column: str) -> None:
    seen = {}
    for row_no, values in rows:
        if values[column] in seen:
            raise CsvError(f"{path}: row {row_no}, column {column}: '{values[column]}' already on row {seen[values[column]]}")
        seen[values[column]] = row_no
