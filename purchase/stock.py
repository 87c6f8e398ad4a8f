"""`pledger import issues FILE.csv`: stock issues and reservations, whole or not at all.

Columns `issue, date, item, quantity` and an optional `kind` (`issue`, the default, or
`reservation`). Rows sharing the `issue` column form one document, wherever they stand in
the file, and share its date;
an issue number is imported once. An issue lowers physical stock, a reservation lowers
available stock (see `purchase.reorder`). Rows are never edited: a negative quantity
corrects an earlier one (goods back into stock, a reservation released; a release of more
than stands reserved of the item, with the file's own rows, is refused). A quantity of
zero changes nothing and is refused, as is an issue dated in a locked period. An item that is not a stock item (a service, booked to
expense on receipt) keeps no stock and is refused, naming the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, insert, select, type_coerce
from sqlalchemy.orm import Session

from ledger.money import ZERO, counted, format_quantity
from ledger.periods import LockedPeriod, PeriodMap
from ledger.progress import QUIET, Progress, told
from ledger.types import Quantity
from purchase import csvfile as c
from purchase.csvfile import CsvError, Field
from purchase.import_log import record_file_import
from purchase.lookalike import zeros_dropped
from purchase.imports import _documents, _same
from purchase.models import Item, length_of
from purchase.models_stock import KINDS, StockIssue

CHUNK = 1000


def kind(value: str) -> str:
    lowered = value.lower()
    if lowered not in KINDS:
        raise ValueError(f"is not a kind of issue: write {' or '.join(KINDS)}")
    return lowered


FIELDS = [
    Field("issue", c.code_of(length_of(StockIssue.number))),
    Field("date", c.date),
    Field("item", c.code),
    Field("quantity", c.quantity),
    Field("kind", kind, required=False, blank="issue"),
]


@dataclass(frozen=True)
class IssueResult:
    documents: int
    issues: int
    reservations: int

    def summary(self) -> str:
        return (
            f"issues: {counted(self.documents, 'document')} with {counted(self.issues + self.reservations, 'line')} "
            f"({counted(self.issues, 'issue')}, {counted(self.reservations, 'reservation')})"
        )


def import_issues(session: Session, path, user: str, *, progress: Progress = QUIET) -> IssueResult:
    """The file's issues and reservations, whole or not at all. `progress` is started with
    twice the file's rows and told each as it is read, then as it is written."""
    progress.start(2 * c.count_rows(path))
    rows = list(told(c.iter_rows(path, FIELDS), progress))
    # a document's rows apart in the file form one document (CLI.md), brought together in
    # the order documents first appear, as `imports.import_file` does for the other kinds
    rank: dict[str, int] = {}
    for _, values in rows:
        rank.setdefault(values["issue"], len(rank))
    rows.sort(key=lambda row: (rank[row[1]["issue"]], row[0]))
    groups = dict(_documents(rows, "issue", path))
    for number, doc_rows in groups.items():
        _same(path, doc_rows, f"issue {number}", "date")
        for row_no, values in doc_rows:
            if values["quantity"] == ZERO:
                raise CsvError(f"{path}: row {row_no}, column quantity: a quantity of 0 changes nothing")

    numbers = list(groups)
    for i in range(0, len(numbers), CHUNK):
        known = session.scalars(select(StockIssue.number).where(StockIssue.number.in_(numbers[i : i + CHUNK]))).first()
        if known is not None:
            first_row = groups[known][0][0]
            raise CsvError(f"{path}: row {first_row}, column issue: issue {known} was already imported: an issue is imported once")

    # as a posting holds the items it reads: an item turning into a service meanwhile
    # (`masterdata._refuse_stock_changes_after_receipts`, exclusive) waits for these issues
    # and is refused, or they wait for it and are (PostgreSQL; audit of 6 December 2026: a
    # service with a stock issue, either import finding nothing of the other's)
    periods = PeriodMap(session)  # holds them (`hold_periods`)
    # a locked period takes no change of any kind: an issue dated in one changes the month's
    # stock as `reorder propose` reads it (audit of 6 December 2026: it was taken)
    for number, doc_rows in groups.items():
        row_no, values = doc_rows[0]
        if periods.known(values["date"]) and periods.is_locked(values["date"]):
            raise CsvError(f"{path}: row {row_no}, column date: {LockedPeriod(values['date'])}")
    codes = sorted({v["item"] for _, v in rows})
    items: dict[str, int] = {}
    not_stock: set[str] = set()
    for i in range(0, len(codes), CHUNK):
        for code, item_id, stock_item in session.execute(
            select(Item.code, Item.id, Item.stock_item).where(Item.code.in_(codes[i : i + CHUNK]))
        ):
            items[code] = item_id
            if not stock_item:
                not_stock.add(code)
    _refuse_releases_beyond_reserved(session, path, rows, {code: i for code, i in items.items() if code not in not_stock})
    import_id = record_file_import(session, "issues", path, user)
    out = []
    for number, doc_rows in groups.items():
        for line_no, (row_no, v) in enumerate(doc_rows, 1):
            if v["item"] not in items:
                raise CsvError(f"{path}: row {row_no}, column item: unknown item '{v['item']}'"
                               f"{zeros_dropped(session, Item.code, v['item'], 'item') or ' (import items first)'}")
            if v["item"] in not_stock:
                raise CsvError(f"{path}: row {row_no}, column item: item '{v['item']}' is not a stock item: its receipts are "
                               f"booked to expense and it keeps no stock to issue or reserve")
            out.append({
                "number": number, "line_no": line_no, "issue_date": v["date"], "item_id": items[v["item"]],
                "kind": v["kind"], "quantity": v["quantity"], "user_name": user, "import_id": import_id,
            })
    for i in range(0, len(out), CHUNK):
        session.execute(insert(StockIssue), out[i : i + CHUNK])
        progress.advance(len(out[i : i + CHUNK]))
    reservations = sum(1 for r in out if r["kind"] == "reservation")
    return IssueResult(len(groups), len(out) - reservations, reservations)


def _refuse_releases_beyond_reserved(session: Session, path, rows, items: dict[str, int]) -> None:
    """A negative reservation releases what was reserved: one that would leave an item with
    less than nothing reserved, with what the books hold and the file's rows together, is
    refused, naming the file's last release of that item. Taken, it made the item's
    available stock more than the books hold and the reorder proposal order too little, or
    nothing (audit of 7 December 2026: 50 washers released where none were reserved). A
    negative issue is not held so: it gives goods back to stock, and is the one way to bring
    stock in that came by no receipt. The released items are locked first (PostgreSQL), so
    two imports releasing the same reservation at once see each other's."""
    released = {v["item"] for _, v in rows if v["kind"] == "reservation" and v["quantity"] < ZERO and v["item"] in items}
    if not released:
        return
    ids = sorted(items[code] for code in released)
    session.execute(select(Item.id).where(Item.id.in_(ids)).order_by(Item.id).with_for_update())
    before = dict(session.execute(
        select(StockIssue.item_id, type_coerce(func.coalesce(func.sum(StockIssue.quantity), 0), Quantity()))
        .where(StockIssue.item_id.in_(ids), StockIssue.kind == "reservation").group_by(StockIssue.item_id)).all())
    total: dict[str, object] = {}
    last_release: dict[str, int] = {}
    for row_no, v in rows:
        if v["kind"] == "reservation" and v["item"] in released:
            total[v["item"]] = total.get(v["item"], ZERO) + v["quantity"]
            if v["quantity"] < ZERO:
                last_release[v["item"]] = row_no
    for code in sorted(released, key=lambda c: last_release[c]):
        held = before.get(items[code], ZERO)
        if held + total[code] < ZERO:
            raise CsvError(f"{path}: row {last_release[code]}, column quantity: releases more of item {code} than is "
                           f"reserved: reserved would become {format_quantity(held + total[code])} ({format_quantity(held)} "
                           f"reserved before this file): a negative reservation releases what was reserved")
