"""`pledger import KIND FILE.csv`: suppliers, items, orders, receipts, invoices (CLI.md).

A file is read as a stream (`csvfile.iter_rows`): its rows are grouped into documents
(rows sharing the first column form one document) as they come, and every `CHUNK_LINES`
rows' documents are checked against the books and posted through the same services as
everything else, in the caller's one transaction. Memory stays that of one chunk however
long the file; on any bad row, wherever it is, nothing is written (the transaction is
rolled back) and the error names the row and the column. Suppliers and items, a few
hundred rows, are read whole: their codes are checked for repeats first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.batchmode import batch_collection
from ledger.db import one_of
from ledger.errors import PledgerError
from ledger.money import ZERO, counted
from ledger.periods import PeriodMap
from ledger.posting import base_currency
from ledger.progress import QUIET, Progress
from ledger.spill import sorted_spill
from purchase import csvfile as c
from purchase.csvfile import CsvError, Field
from purchase.documents import (DocLine, DocumentPoster, InvoiceDoc, ReceiptDoc, already_posted, known_supplier_invoices,
                                posted_invoice_kind)
from purchase.import_log import record_file_import
from purchase.masterdata import (ItemData, OrderData, OrderLineData, SupplierData, create_orders, foreign_currency,
                                 order_exists, unknown_supplier, upsert_items, upsert_suppliers)
from purchase.models import Invoice, Item, OrderLine, PurchaseOrder, Receipt, Supplier, length_of

KINDS = ("suppliers", "items", "orders", "receipts", "invoices")

_SUPPLIER, _ITEM, _ORDER = c.code_of(length_of(Supplier.code)), c.code_of(length_of(Item.code)), c.code_of(length_of(PurchaseOrder.number))
FIELDS = {
    "suppliers": [
        Field("code", _SUPPLIER), Field("name", c.text_of(length_of(Supplier.name))), Field("currency", c.currency),
        Field("vat_number", c.code_of(length_of(Supplier.vat_number)), required=False),
        Field("endpoint_id", c.code_of(length_of(Supplier.endpoint_id)), required=False),
    ],
    "items": [
        Field("code", _ITEM), Field("description", c.text_of(length_of(Item.description))), Field("stock_item", c.boolean),
        Field("unit", c.code_of(length_of(Item.unit)), required=False, blank="C62"),
        Field("min_stock", c.non_negative, required=False, blank=ZERO),
        Field("min_order_quantity", c.non_negative, required=False, blank=ZERO),
        Field("order_multiple", c.non_negative, required=False, blank=ZERO),
        Field("preferred_supplier", _SUPPLIER, required=False),
        Field("purchase_price", c.non_negative, required=False, blank=ZERO),
    ],
    "orders": [
        Field("order", _ORDER), Field("supplier", _SUPPLIER), Field("order_date", c.date), Field("line", c.integer),
        Field("item", _ITEM), Field("quantity", c.quantity), Field("unit_price", c.price),
        Field("currency", c.currency, required=False), Field("discount_pct", c.percent, required=False, blank=ZERO),
        Field("expected_date", c.date, required=False), Field("vat_rate", c.vat_percent, required=False, blank=ZERO),
        Field("description", c.text_of(length_of(OrderLine.description)), required=False, blank=""),
        Field("reference", c.text_of(length_of(PurchaseOrder.reference)), required=False, blank=""),
        Field("buyer", c.text_of(length_of(PurchaseOrder.buyer)), required=False, blank=""),
    ],
    "receipts": [
        Field("receipt", c.code_of(length_of(Receipt.number))), Field("date", c.date), Field("order", _ORDER),
        Field("line", c.integer), Field("quantity", c.quantity),
    ],
    "invoices": [
        Field("invoice", c.code_of(length_of(Invoice.number))), Field("supplier_invoice", c.code_of(length_of(Invoice.supplier_invoice))),
        Field("date", c.date), Field("order", _ORDER), Field("line", c.integer), Field("quantity", c.quantity),
        Field("unit_price", c.price), Field("vat_rate", c.vat_percent),
    ],
}


@dataclass(frozen=True)
class ImportResult:
    kind: str
    rows: int
    documents: int
    created: int = 0  # suppliers and items made; the orders or documents a document import made (all it read)
    updated: int = 0
    entries: int = 0
    notes: tuple[str, ...] = field(default=(), compare=False)  # for the person (stderr), not the result's data

    def summary(self) -> str:
        if self.kind in ("suppliers", "items"):
            return f"{self.kind}: {counted(self.rows, 'row')}, {self.created} created, {self.updated} updated"
        if self.kind == "orders":
            return f"orders: {counted(self.documents, 'order')} with {counted(self.rows, 'line')} created"
        return (f"{self.kind}: {counted(self.documents, 'document')} with {counted(self.rows, 'line')} posted "
                f"in {counted(self.entries, 'entry', 'entries')}")


def _documents(rows, key: str, path):
    """(number, rows) for each document of the file, given once its last row has been read.

    The rows come with each document's rows together: as the file has them, or brought
    together first where it does not (`csvfile.scattered`, `import_file`). A number that
    still comes back after other documents (the file changed while it was read) is refused
    with the row where it comes back.
    """
    done: set[str] = set()
    number, doc_rows = None, []
    for row in rows:  # (row number, values), kept as it comes
        k = row[1][key]
        if k != number:
            if doc_rows:
                done.add(number)
                yield number, doc_rows
            if k in done:
                raise CsvError(f"{path}: row {row[0]}, column {key}: '{k}' appeared before, separated by other documents; keep a document's rows together")
            number, doc_rows = k, []
        doc_rows.append(row)
    if doc_rows:
        yield number, doc_rows


def _chunks(documents, limit: int):
    """Whole documents in lists of about `limit` rows (a document is never split)."""
    chunk, size = [], 0
    for document in documents:
        chunk.append(document)
        size += len(document[1])
        if size >= limit:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _same(path, doc_rows, key: str, column: str):
    first = doc_rows[0][1][column]
    for row_no, values in doc_rows[1:]:
        if values[column] != first:
            raise CsvError(f"{path}: row {row_no}, column {column}: '{values[column]}' differs from '{first}' on the first row of {key}")
    return first


def _same_or_blank(path, doc_rows, key: str, column: str):
    """An optional column of the document's head: its rows that fill it in agree; a blank
    row says nothing (as a blank first row says nothing: the default applies). The value
    given, or None when every row is blank."""
    given = first_row = None
    for row_no, values in doc_rows:
        value = values[column]
        if value is None or value == "":
            continue
        if first_row is None:
            given, first_row = value, row_no
        elif value != given:
            raise CsvError(f"{path}: row {row_no}, column {column}: '{value}' differs from '{given}' "
                           f"on row {first_row} of {key}")
    return given


CHUNK_LINES = 10_000  # rows of documents read, checked and posted at a time
KEYS = {"orders": "order", "receipts": "receipt", "invoices": "invoice"}


@batch_collection()
def import_file(session: Session, kind: str, path, user: str, *, progress: Progress = QUIET) -> ImportResult:
    if kind not in KINDS:
        raise CsvError(f"unknown import kind '{kind}': one of {', '.join(KINDS)}")
    if kind in ("suppliers", "items"):
        return _import_master_data(session, kind, path, user, progress)
    rows = c.iter_rows(path, FIELDS[kind])
    key = next(f for f in FIELDS[kind] if f.name == KEYS[kind])
    first = c.scattered(path, key)
    if first is not None:  # a document's rows apart in the file: brought together, in the order documents first appear
        rows = sorted_spill(rows, key=lambda row: (first.get(row[1][key.name], len(first)), row[0]))
    books = _Books(session)
    progress.start(c.count_rows(path))
    import_id = record_file_import(session, kind, path, user)
    poster = None if kind == "orders" else DocumentPoster(session, user, progress=progress, import_id=import_id, numbers_read=True)
    lines = documents = entries = 0
    notes: list[str] = []
    shown = f"{path}"  # the path as each document line names its row (a Path made into text once, not per row)
    for chunk in _chunks(_documents(rows, KEYS[kind], path), CHUNK_LINES):
        _check_references(session, kind, path, [row for _, doc_rows in chunk for row in doc_rows], books)
        if kind == "orders":
            made = create_orders(session, [_order(shown, number, doc_rows) for number, doc_rows in chunk], import_id=import_id)
            progress.advance(made)
            lines += made
            documents += len(chunk)
            continue
        if kind == "receipts":
            posted = poster.post_receipts([_receipt(shown, number, doc_rows) for number, doc_rows in chunk])
        else:
            posted = poster.post_invoices([_invoice(shown, number, doc_rows) for number, doc_rows in chunk])
        lines += posted.lines
        documents += posted.documents
        entries += len(posted.entries)
        notes += posted.notes
    return ImportResult(kind, lines, documents, created=documents, entries=entries, notes=tuple(notes))  # each document is new: a known one is refused


def _import_master_data(session: Session, kind: str, path, user: str, progress: Progress) -> ImportResult:
    rows = c.read_rows(path, FIELDS[kind])
    _check_references(session, kind, path, rows, _Books(session))
    progress.start(len(rows))
    _unique(path, rows, "code")
    import_id = record_file_import(session, kind, path, user)
    if kind == "suppliers":
        created, updated = upsert_suppliers(session, [
            SupplierData(v["code"], v["name"], v["currency"], v["vat_number"], v["endpoint_id"]) for _, v in rows],
            import_id=import_id)
    else:
        created, updated = upsert_items(session, [
            ItemData(v["code"], v["description"], v["stock_item"], v["unit"], v["min_stock"], v["min_order_quantity"],
                     v["order_multiple"], v["preferred_supplier"], v["purchase_price"]) for _, v in rows],
            import_id=import_id)
    progress.advance(len(rows))
    return ImportResult(kind, len(rows), len(rows), created, updated)


def _order(path: str, number: str, doc_rows: list) -> OrderData:
    head = doc_rows[0][1]
    order = f"order {number}"
    for column in ("supplier", "order_date"):
        _same(path, doc_rows, order, column)
    currency = _same_or_blank(path, doc_rows, order, "currency")
    # the head's texts: given on any row (the first or every one), never two different ones
    reference = _same_or_blank(path, doc_rows, order, "reference") or ""
    buyer = _same_or_blank(path, doc_rows, order, "buyer") or ""
    return OrderData(
        number, head["supplier"], head["order_date"],
        [OrderLineData(v["line"], v["item"], v["quantity"], v["unit_price"], v["discount_pct"], v["vat_rate"],
                       v["expected_date"], v["description"], f"{path}: row {r}") for r, v in doc_rows],
        currency=currency, reference=reference, buyer=buyer, where=f"{path}: row {doc_rows[0][0]}",
    )


def _receipt(path: str, number: str, doc_rows: list) -> ReceiptDoc:
    date = _same(path, doc_rows, f"receipt {number}", "date")
    # DocLine's fields by position (no price, rate or amount; where; csv_row): a row each, cheaper than by keyword
    return ReceiptDoc(number, date, [DocLine(v["order"], v["line"], v["quantity"], None, None, None, f"{path}: row {r}", True)
                                     for r, v in doc_rows])


def _invoice(path: str, number: str, doc_rows: list) -> InvoiceDoc:
    date = _same(path, doc_rows, f"invoice {number}", "date")
    supplier_invoice = _same(path, doc_rows, f"invoice {number}", "supplier_invoice")
    # DocLine's fields by position (no amount; where; csv_row): a row each, cheaper than by keyword
    return InvoiceDoc(number, supplier_invoice, date, [
        DocLine(v["order"], v["line"], v["quantity"], v["unit_price"], v["vat_rate"], None, f"{path}: row {r}", True)
        for r, v in doc_rows])


def _unique(path, rows, column: str) -> None:
    seen = {}
    for row_no, values in rows:
        if values[column] in seen:
            raise CsvError(f"{path}: row {row_no}, column {column}: '{values[column]}' already on row {seen[values[column]]}")
        seen[values[column]] = row_no


def _refuse(path, row_no: int, column: str, message: str) -> CsvError:
    return CsvError(f"{path}: row {row_no}, column {column}: {message}")


def _refuse_foreign(path, row_no: int, currency: str, base: str) -> CsvError:
    return _refuse(path, row_no, "currency", foreign_currency(currency, base))


def _in_chunks(session: Session, stmt, column, values) -> list:
    """Rows of `stmt` WHERE column IN values, asked 500 values at a time (SQLite limits the
    number of parameters a statement may have)."""
    values = list(values)
    rows = []
    for i in range(0, len(values), 500):
        rows += session.execute(stmt.where(one_of(session, column, values[i : i + 500]))).all()
    return rows


def _known(session: Session, column, values: set) -> set:
    return {row[0] for row in _in_chunks(session, select(column), column, values)}


class _Books:
    """What the reference checks read of the books once per import, however many chunks it
    has, and what they have seen of the file so far."""

    def __init__(self, session: Session):
        self.session = session
        self.supplier_invoices: dict[tuple, tuple[str, int]] = {}  # (supplier id, their number) -> (invoice, row)

    @cached_property
    def base(self) -> str:
        return base_currency(self.session)

    @cached_property
    def periods(self) -> PeriodMap:
        return PeriodMap(self.session)


def _in_open_years(periods: PeriodMap, dates: set) -> bool:
    """Whether every date lies in a fiscal year and an open period (`PeriodMap.fiscal_year_for`)."""
    try:
        for date in dates:
            periods.fiscal_year_for(date)
    except PledgerError:
        return False
    return True


def _check_references(session: Session, kind: str, path, rows, books: _Books) -> None:
    """What the books already say about a file's rows, refused with the row and column.

    The services refuse all of this too (a file is taken whole or not at all); checked here
    first so that the message names the row and column of the file.
    """
    if kind == "suppliers":
        base = books.base
        for row_no, v in rows:
            if v["currency"] != base:
                raise _refuse_foreign(path, row_no, v["currency"], base)
        return
    if kind == "items":
        wanted = {v["preferred_supplier"] for _, v in rows if v["preferred_supplier"]}
        known = _known(session, Supplier.code, wanted)
        for row_no, v in rows:
            if v["preferred_supplier"] and v["preferred_supplier"] not in known:
                raise _refuse(path, row_no, "preferred_supplier", unknown_supplier(v["preferred_supplier"]))
        return
    if kind == "orders":
        base = books.base
        known = _known(session, PurchaseOrder.number, {v["order"] for _, v in rows})
        suppliers = _known(session, Supplier.code, {v["supplier"] for _, v in rows})
        for row_no, v in rows:
            if v["order"] in known:
                raise _refuse(path, row_no, "order", order_exists(v["order"]))
            if v["supplier"] not in suppliers:
                raise _refuse(path, row_no, "supplier", unknown_supplier(v["supplier"]))
            if v["currency"] is not None and v["currency"] != base:
                raise _refuse_foreign(path, row_no, v["currency"], base)
        return
    key = "receipt" if kind == "receipts" else "invoice"
    model = Receipt.number if kind == "receipts" else Invoice.number
    known = _known(session, model, {v[key] for _, v in rows})
    periods = books.periods
    # each date's year asked once (a book's rows share few dates); the rows are gone through,
    # to name the first refused, only where a number is known or a date refused
    if known or not _in_open_years(periods, {v["date"] for _, v in rows}):
        for row_no, v in rows:
            if v[key] in known:
                raise _refuse(path, row_no, key, already_posted(session, key, v[key]))
            try:
                periods.fiscal_year_for(v["date"])
            except PledgerError as exc:
                raise _refuse(path, row_no, "date", str(exc)) from None
    if kind == "invoices":
        order_supplier = dict(_in_chunks(session, select(PurchaseOrder.number, PurchaseOrder.supplier_id),
                                         PurchaseOrder.number, {v["order"] for _, v in rows}))
        taken = known_supplier_invoices(
            session, {(order_supplier[v["order"]], v["supplier_invoice"]) for _, v in rows if v["order"] in order_supplier})
        seen = books.supplier_invoices
        for row_no, v in rows:
            pair = (order_supplier.get(v["order"]), v["supplier_invoice"])
            first = seen.setdefault(pair, (v["invoice"], row_no))  # in this file, perhaps posted by an earlier chunk
            if pair[0] is not None and first[0] != v["invoice"]:
                raise _refuse(path, row_no, "supplier_invoice",
                              f"the supplier's invoice {v['supplier_invoice']} is also invoice {first[0]} on row {first[1]}: "
                              f"a supplier's invoice is imported once")
            if pair in taken:
                raise _refuse(path, row_no, "supplier_invoice",
                              f"the supplier's {posted_invoice_kind(session, taken[pair])} {v['supplier_invoice']} was "
                              f"already imported (as {taken[pair]})")
