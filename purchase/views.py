"""Looking at the purchase side: one order, the order list, GR/IR and backorders, as data.

Nothing here prints or writes: each function reads with the caller's Session and returns
frozen values that the CLI turns into tables, JSON, CSV, XLSX or PDF.

Rules kept here:

* A line's to receive, to invoice, GR and IR come from `purchase.state.line_state` and
  nothing else. SQL may pre-select lines with a cheap condition that is a superset of
  what matters (exact, on the stored scaled integers); `LineState` decides.
* Amounts are returned at the currency's minor unit (`round_money`), so "1000.00"
  never shows as "1000.0000". Quantities are returned as stored (exact Decimals).
* A selection bound is a plain `(low, high)` pair, either end None for open, or None
  for no bound at all. Codes compare as text, dates as dates.
* Large results are read with SQLAlchemy Core selects in chunks (`yield_per`), not ORM
  objects one by one, and the long reports (GR/IR, backorders) keep their rows in a
  `ledger.spill.Spill` in the order they are shown, with what the report says about all
  of them (totals, count, currencies) gathered while the spill is filled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from purchase.bounds import Bound, bound_condition, code_order
from ledger.errors import PledgerError
from ledger.models import Account, Entry, EntryLine
from ledger.money import ZERO, round_money
from ledger.posting import base_currency
from ledger.progress import QUIET, Progress, rows_told
from ledger.reports import account_balance
from ledger.spill import Mapped, Spill, sorted_spill, spilled
from ledger.types import Amount
from purchase.models import Import, Invoice, InvoiceLine, Item, invoice_kind, OrderLine, OrderLineRaise, PurchaseOrder, Receipt, ReceiptLine, Supplier
from purchase.journal import UNDO_DOCUMENT
from purchase.orders import STATUSES, TAKES_DOCUMENTS, allowed_actions, can_edit, get_order
from purchase.settings import role_accounts
from purchase.state import STATE_COLUMNS, line_state

CHUNK = 2000


class ViewError(PledgerError):
    pass


def _filtered(stmt, *pairs):
    for column, bound in pairs:
        clause = bound_condition(column, bound)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def _state_columns():
    return [OrderLine.quantity, OrderLine.net_price, *[getattr(OrderLine, c) for c in STATE_COLUMNS]]


# -- one order (po show) -----------------------------------------------------------------


@dataclass(frozen=True)
class OrderHeader:
    number: str
    supplier: str  # code
    supplier_name: str
    order_date: dt.date
    status: str
    currency: str
    reference: str
    buyer: str
    drop_shipment: bool
    editable: bool  # lines may still change (new or ordered)
    actions: tuple[str, ...]  # lifecycle actions allowed now (purchase.orders.allowed_actions)
    imported: ImportRef | None = None  # the import that made the order; None for one made otherwise


@dataclass(frozen=True)
class ImportRef:
    """An import of the import log (`purchase.import_log`): its number, who, when (UTC)."""

    number: int
    user: str
    imported_at: dt.datetime


@dataclass(frozen=True)
class ReceiptRef:
    number: str
    date: dt.date
    quantity: Decimal  # negative for a return
    user: str  # who posted it
    import_id: int | None  # the import that posted it, if one did


@dataclass(frozen=True)
class InvoiceRef:
    number: str
    supplier_invoice: str
    date: dt.date
    quantity: Decimal  # negative where the line is credited
    amount: Decimal  # the invoice line's net amount
    user: str  # who posted it
    import_id: int | None  # the import that posted it, if one did
    credit_note: bool = False  # the document gives back on the whole (its net total below 0), not one line of it


@dataclass(frozen=True)
class RaiseRef:
    """A raise of the line's ordered quantity (`OrderLineRaise`)."""

    before: Decimal
    after: Decimal
    reason: str
    user: str
    raised_at: dt.datetime  # UTC, as stored


@dataclass(frozen=True)
class LineView:
    id: int  # order line id, for the packages above (close-outs)
    line: int
    item: str
    description: str
    unit_price: Decimal  # net price p (after line discount)
    ordered: Decimal
    received: Decimal
    invoiced: Decimal
    to_receive: Decimal
    to_invoice: Decimal
    gr_balance: Decimal  # credit, as a positive amount
    ir_balance: Decimal  # debit, as a positive amount
    is_open: bool
    receipts: tuple[ReceiptRef, ...]
    invoices: tuple[InvoiceRef, ...]
    raises: tuple[RaiseRef, ...] = ()  # oldest first
    list_price: Decimal | None = None  # the unit price as ordered, before the line discount
    discount_pct: Decimal | None = None
    vat_rate: Decimal | None = None  # percent
    expected_date: dt.date | None = None


@dataclass(frozen=True)
class OrderView:
    header: OrderHeader
    lines: tuple[LineView, ...]


def _import_ref(session: Session, import_id: int | None) -> ImportRef | None:
    if import_id is None:
        return None
    logged = session.get(Import, import_id)
    return ImportRef(logged.id, logged.user_name, logged.imported_at)


def order_lines_view(session: Session, order_number: str) -> OrderView:
    """The order's header, and per line its quantities, balances and documents.

    Raises NotFound for an unknown order number.
    """
    order = get_order(session, order_number)
    currency = order.currency
    header = OrderHeader(
        number=order.number,
        supplier=order.supplier.code,
        supplier_name=order.supplier.name,
        order_date=order.order_date,
        status=order.status,
        currency=currency,
        reference=order.reference or "",
        buyer=order.buyer or "",
        drop_shipment=bool(order.drop_shipment),
        editable=can_edit(order) is None,
        actions=tuple(allowed_actions(order)),
        imported=_import_ref(session, order.import_id),
    )
    ids = [l.id for l in order.lines]
    receipts: dict[int, list[ReceiptRef]] = {i: [] for i in ids}
    invoices: dict[int, list[InvoiceRef]] = {i: [] for i in ids}
    if ids:
        for row in session.execute(
            select(ReceiptLine.order_line_id, Receipt.number, Receipt.receipt_date, ReceiptLine.quantity, Receipt.user_name,
                   Receipt.import_id)
            .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
            .where(ReceiptLine.order_line_id.in_(ids))
            .order_by(Receipt.receipt_date, Receipt.id, ReceiptLine.id)  # a day's in the order they were posted
        ):
            receipts[row.order_line_id].append(ReceiptRef(row.number, row.receipt_date, row.quantity, row.user_name,
                                                                 row.import_id))
        for row in session.execute(
            select(InvoiceLine.order_line_id, Invoice.number, Invoice.supplier_invoice, Invoice.invoice_date,
                   Invoice.currency, InvoiceLine.quantity, InvoiceLine.amount, Invoice.user_name, Invoice.import_id,
                   Invoice.net_total)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.order_line_id.in_(ids))
            .order_by(Invoice.invoice_date, Invoice.id, InvoiceLine.id)  # a day's in the order they were posted
        ):
            invoices[row.order_line_id].append(
                InvoiceRef(row.number, row.supplier_invoice, row.invoice_date, row.quantity, round_money(row.amount, row.currency),
                           row.user_name, row.import_id, invoice_kind(row.net_total) == "credit note")
            )
    raises: dict[int, list[RaiseRef]] = {i: [] for i in ids}
    if ids:
        for row in session.execute(
            select(OrderLineRaise.order_line_id, OrderLineRaise.ordered_before, OrderLineRaise.ordered_after,
                   OrderLineRaise.reason, OrderLineRaise.user_name, OrderLineRaise.raised_at)
            .where(OrderLineRaise.order_line_id.in_(ids)).order_by(OrderLineRaise.id)
        ):
            raises[row.order_line_id].append(RaiseRef(row.ordered_before, row.ordered_after, row.reason, row.user_name,
                                                      row.raised_at))
    lines = []
    for l in order.lines:
        state = line_state(l, currency)
        lines.append(
            LineView(
                id=l.id,
                line=l.line_no,
                item=l.item.code,
                description=l.description or l.item.description,
                unit_price=l.net_price,
                ordered=l.quantity,
                received=l.received,
                invoiced=l.invoiced,
                to_receive=state.to_receive,
                to_invoice=state.to_invoice,
                gr_balance=state.gr_balance,
                ir_balance=state.ir_balance,
                is_open=state.is_open and order.status != "cancelled",  # a cancelled order expects nothing
                receipts=tuple(receipts[l.id]),
                invoices=tuple(invoices[l.id]),
                raises=tuple(raises[l.id]),
                list_price=l.unit_price,
                discount_pct=l.discount_pct,
                vat_rate=l.vat_rate,
                expected_date=l.expected_date,
            )
        )
    return OrderView(header, tuple(lines))


# -- the order list (po list) ------------------------------------------------------------


@dataclass(frozen=True)
class OrderRow:
    number: str
    supplier: str
    supplier_name: str
    order_date: dt.date
    status: str
    currency: str
    lines: int
    open_lines: int
    amount: Decimal  # sum over the lines of value(ordered) at the net price


def list_orders(
    session: Session,
    supplier: Bound = None,
    order_date: Bound = None,
    status: str | None = None,
    open_only: bool = False,
    progress: Progress = QUIET,
) -> Mapped[OrderRow]:
    """Orders by number, with how many lines they have and how many are open, kept in a
    `Spill` as they are read (a book of years holds hundreds of thousands of orders: one
    chunk of them in memory, not the list), as plain tuples (pickled in half the time of
    the dataclass) made `OrderRow`s as they are read back.

    `open_only` keeps the orders with at least one open line (expecting something or
    holding a GR or IR sub-balance). `progress` is told the order lines read.
    """
    if status is not None and status not in STATUSES:
        raise ViewError(f"unknown order status '{status}': one of {', '.join(STATUSES)}")
    stmt = (
        select(
            PurchaseOrder.number, PurchaseOrder.order_date, PurchaseOrder.status, PurchaseOrder.currency,
            Supplier.code.label("supplier"), Supplier.name.label("supplier_name"), *_state_columns(),
        )
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(OrderLine, OrderLine.order_id == PurchaseOrder.id)
        .order_by(code_order(PurchaseOrder.number), OrderLine.line_no)
    )
    stmt = _filtered(stmt, (Supplier.code, supplier), (PurchaseOrder.order_date, order_date))
    if status is not None:
        stmt = stmt.where(PurchaseOrder.status == status)
    rows: Spill[tuple] = Spill()
    current = None
    count = open_count = 0
    amount = ZERO

    def flush():
        if current is not None and (open_count or not open_only):
            rows.append((current.number, current.supplier, current.supplier_name, current.order_date,
                         current.status, current.currency, count, open_count, amount))

    for row in rows_told(session, progress, stmt, CHUNK):
        if current is None or row.number != current.number:
            flush()
            current, count, open_count, amount = row, 0, 0, ZERO
        state = line_state(row, row.currency)
        count += 1
        open_count += 1 if state.is_open and row.status != "cancelled" else 0  # a cancelled order expects nothing
        amount += state.value(state.ordered)
    flush()
    return Mapped(rows, lambda row: OrderRow(*row))


# -- GR/IR (report grir) -----------------------------------------------------------------


@dataclass(frozen=True)
class GrirRow:
    supplier: str
    order: str
    line: int
    item: str
    gr_balance: Decimal  # credit, positive
    ir_balance: Decimal  # debit, positive
    since: dt.date | None  # the date from which the line has held a sub-balance without a break
    age_days: int | None


@dataclass(frozen=True)
class GrirReport:
    as_of: dt.date | None
    currency: str
    rows: Spill[GrirRow]  # by supplier, order, line
    gr_total: Decimal  # sum of the rows' GR (credit)
    ir_total: Decimal  # sum of the rows' IR (debit)
    gr_account: str
    ir_account: str
    ledger_gr: Decimal  # credit balance of the goods-received account
    ledger_ir: Decimal  # debit balance of the invoices-received account (of the one account: = -ledger_gr)
    one_account: bool  # GR and IR are one GR/IR clearing account

    @property
    def ties(self) -> bool:
        """The lines' sub-balances add up to the ledger balances of the interim accounts."""
        if self.one_account:  # one account: its debit balance is IR - GR over the lines
            return self.ledger_ir == self.ir_total - self.gr_total
        return self.ledger_gr == self.gr_total and self.ledger_ir == self.ir_total


def grir_rows(session: Session, as_of: dt.date | None = None, *, today: dt.date | None = None,
              progress: Progress = QUIET) -> GrirReport:
    """One row per order line with a GR or IR sub-balance, with its age, and the tie-out.

    Balances. Without `as_of`: today's balances from each line's state
    (`purchase.state.line_state`), the one definition of DOMAIN.md. With `as_of`: the
    sum of the line's journal lines on the goods-received and invoices-received
    accounts in entries dated on or before `as_of`; this reconstructs the past exactly,
    because every posting on a line is the change of its two sub-balances, and
    `pledger check` proves the ledger and the states agree. When GR and IR are one
    account, a line's net balance on it is GR when a credit and IR when a debit (a line
    never holds both: one of them is zero by the model).

    Age. `since` is the date of the oldest posting still open: walking the line's GR/IR
    postings in date order (dated on or before `as_of`), the first date after which its
    sub-balances were never back to zero both. The age is `as_of` (or `today`, by
    default the system date, without `as_of`) minus `since`, in days; 0 for a balance
    opened by postings dated after today (the report without `as_of` holds every posting).

    The totals tie to `ledger.reports.account_balance` of the two accounts as of the same
    date; `GrirReport.ties` says whether they do.

    `progress` is told the rows read: the lines SQL pre-selects (today), or the lines' sums
    per entry date (`as_of`).
    """
    currency = base_currency(session)
    roles = role_accounts(session)
    gr_code, ir_code = roles["goods_received"], roles["invoices_received"]
    ids = dict(session.execute(select(Account.code, Account.id).where(Account.code.in_([gr_code, ir_code]))).all())
    gr_id, ir_id = ids[gr_code], ids[ir_code]
    one_account = gr_id == ir_id
    reference = as_of or today or dt.date.today()

    if as_of is not None:
        found = ((info, round_money(gr, currency), round_money(ir, currency), since)
                 for info, gr, ir, since in _ledger_walk(session, gr_id, ir_id, as_of=as_of, progress=progress)
                 if gr != ZERO or ir != ZERO)
    else:
        found = _balances_today(session, gr_id, ir_id, progress)
    rows: Spill[GrirRow] = Spill()
    gr_total = ir_total = ZERO
    for info, gr, ir, since in found:
        rows.append(_grir_row(info, gr, ir, since, reference))
        gr_total += gr
        ir_total += ir
    ledger_gr = round_money(-account_balance(session, gr_code, as_of), currency)
    ledger_ir = round_money(account_balance(session, ir_code, as_of), currency)
    return GrirReport(as_of, currency, rows, gr_total, ir_total, gr_code, ir_code, ledger_gr, ledger_ir, one_account)


@dataclass(frozen=True)
class _LineInfo:
    id: int
    supplier: str
    order: str
    line: int
    item: str


def _grir_row(info: _LineInfo, gr: Decimal, ir: Decimal, since: dt.date | None, reference: dt.date) -> GrirRow:
    # a balance first posted after the reference (a document dated ahead of today, without
    # `as_of`) has been open no day yet: 0, not a negative age
    age = max(0, (reference - since).days) if since is not None else None
    return GrirRow(info.supplier, info.order, info.line, info.item, gr, ir, since, age)


def _info_columns():
    return [
        OrderLine.id.label("olid"), Supplier.code.label("supplier"), PurchaseOrder.number.label("order"),
        OrderLine.line_no, Item.code.label("item"),
    ]


def _joined(stmt):
    return (
        stmt.join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Item, Item.id == OrderLine.item_id)
    )


def _balances_today(session: Session, gr_id: int, ir_id: int,
                    progress: Progress = QUIET) -> Iterator[tuple[_LineInfo, Decimal, Decimal, dt.date | None]]:
    """Per line with a GR or IR sub-balance today, by supplier, order and line: (info, GR
    credit, IR debit, since), the balances from its state and `since` from its postings
    in the ledger, walked 500 lines at a time."""
    for chunk in _chunks(_lines_with_balance(session, progress), 500):
        walked = {info.id: since for info, _, _, since in _ledger_walk(session, gr_id, ir_id, ids=[c[0].id for c in chunk])}
        for info, state in chunk:
            yield info, state.gr_balance, state.ir_balance, walked.get(info.id)


def _lines_with_balance(session: Session, progress: Progress = QUIET) -> Iterator[tuple[_LineInfo, object]]:
    """Lines whose state holds a GR or IR sub-balance today, by supplier, order and line.

    SQL pre-selects R - Wu != I - Wv (when they are equal, M covers both and GR = IR = 0);
    the state decides. `progress` is told the pre-selected lines.
    """
    stmt = _joined(
        select(*_info_columns(), PurchaseOrder.currency, *_state_columns())
        .where(OrderLine.received - OrderLine.written_off_uninvoiced != OrderLine.invoiced - OrderLine.written_off_unreceived)
    ).order_by(code_order(Supplier.code), code_order(PurchaseOrder.number), OrderLine.line_no)
    for row in rows_told(session, progress, stmt, CHUNK):
        state = line_state(row, row.currency)
        if state.gr_balance != ZERO or state.ir_balance != ZERO:
            yield _LineInfo(row.olid, row.supplier, row.order, row.line_no, row.item), state


def _ledger_walk(session: Session, gr_id: int, ir_id: int, *, as_of: dt.date | None = None,
                 ids: list[int] | None = None, progress: Progress = QUIET) -> Iterator[tuple[_LineInfo, Decimal, Decimal, dt.date | None]]:
    """Per order line with GR/IR postings: (info, GR credit, IR debit, since), from the ledger.

    Sums the line's journal lines per entry date, in date order, keeping the date from
    which its running balances have not been back to zero. A close-out's undo gives back
    what the close-out took, with its age: balances brought to zero and opened again by an
    undo (document "undo closeout N") keep the date they were open from before, also when
    they were opened and brought to zero on one day (received, invoiced in part and closed
    out on 31 December: the day nets to zero, the balance was open on it).
    """
    def net(account_id):
        return type_coerce(func.sum(case((EntryLine.account_id == account_id, EntryLine.debit - EntryLine.credit), else_=0)), Amount())

    one_account = gr_id == ir_id
    info = _info_columns()
    stmt = _joined(
        select(*info, Entry.entry_date, net(gr_id).label("gr_net"), net(ir_id).label("ir_net"),
               func.max(case((EntryLine.document.like(f"{UNDO_DOCUMENT}%"), 1), else_=0)).label("undo"))
        .select_from(EntryLine)
        .join(Entry, Entry.id == EntryLine.entry_id)
        .join(OrderLine, OrderLine.id == EntryLine.order_line_id)
        .where(EntryLine.account_id.in_([gr_id, ir_id]))
    ).group_by(*info, Entry.entry_date).order_by(
        code_order(Supplier.code), code_order(PurchaseOrder.number), OrderLine.line_no, Entry.entry_date)
    if as_of is not None:
        stmt = stmt.where(Entry.entry_date <= as_of)
    if ids is not None:
        stmt = stmt.where(OrderLine.id.in_(ids))

    current: _LineInfo | None = None
    gr = ir = ZERO
    since = before_zero = None
    for row in rows_told(session, progress, stmt, CHUNK):
        if current is None or row.olid != current.id:
            if current is not None:
                yield current, gr, ir, since
            current = _LineInfo(row.olid, row.supplier, row.order, row.line_no, row.item)
            gr = ir = ZERO
            since = before_zero = None
        if one_account:
            balance = -gr + ir + (row.gr_net or ZERO)
            gr, ir = (max(ZERO, -balance), max(ZERO, balance))
        else:
            gr -= row.gr_net or ZERO
            ir += row.ir_net or ZERO
        if since is None:  # zero before the day: its first posting opens a balance (a line of zero is refused)
            since = before_zero if row.undo and before_zero is not None else row.entry_date
        if gr == ZERO and ir == ZERO:  # back to zero by the end of the day: open from `since` until then
            before_zero, since = since, None
    if current is not None:
        yield current, gr, ir, since


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# -- backorders (report backorders) --------------------------------------------------------

BACKORDER_SORTS = ("item", "supplier", "order", "date", "amount")


@dataclass(frozen=True)
class BackorderRow:
    supplier: str
    supplier_name: str
    order: str
    line: int
    order_date: dt.date
    expected_date: dt.date | None
    item: str
    description: str
    currency: str
    unit_price: Decimal  # net price p, after line discount
    ordered: Decimal
    received: Decimal
    in_backorder: Decimal  # to receive
    backorder_amount: Decimal  # what receiving it posts: value(R + to receive) - value(R) at the net price


@dataclass(frozen=True)
class BackorderReport:
    rows: Spill[BackorderRow]  # in the order asked for
    currencies: frozenset[str]  # of the rows
    amount_total: Decimal  # sum of the rows' backorder amounts (a total only when they are of one currency)
    expected_dates: bool  # some row has an expected date


def backorder_rows(
    session: Session,
    supplier: Bound = None,
    item: Bound = None,
    order_date: Bound = None,
    sort: str = "item",
    progress: Progress = QUIET,
) -> BackorderReport:
    """One row per order line still expecting goods (to receive > 0), and their total.

    Orders that do not wait for goods are left out: new (not sent yet), cancelled,
    closed, and drop-shipment orders once shipped (the goods went to the customer).

    Sorts: item (item, supplier, order date, order, line; the default), supplier
    (supplier, order date, order, line), order (order, line), date (order date, order,
    line), amount (largest backorder amount first, then order, line). SQL sorts all but
    amount; amount is read by order and line and sorted on disk (`sorted_spill`).
    """
    if sort not in BACKORDER_SORTS:
        raise ViewError(f"unknown sort '{sort}': one of {', '.join(BACKORDER_SORTS)}")
    waiting = [s for s in TAKES_DOCUMENTS if s not in ("closed", "shipped")]
    stmt = _joined(
        select(
            Supplier.code.label("supplier"), Supplier.name.label("supplier_name"), PurchaseOrder.number.label("order"),
            OrderLine.line_no, PurchaseOrder.order_date, OrderLine.expected_date, Item.code.label("item"),
            OrderLine.description, Item.description.label("item_description"), PurchaseOrder.currency, *_state_columns(),
        )
        # pre-selection on the stored integers: Q - R - Lr > 0; the state decides
        .where(PurchaseOrder.status.in_(waiting),
               OrderLine.quantity - OrderLine.received - OrderLine.lowered_receive > 0)
    )
    stmt = _filtered(stmt, (Supplier.code, supplier), (Item.code, item), (PurchaseOrder.order_date, order_date))
    order_by = {
        "item": (Item.code, Supplier.code, PurchaseOrder.order_date, PurchaseOrder.number, OrderLine.line_no),
        "supplier": (Supplier.code, PurchaseOrder.order_date, PurchaseOrder.number, OrderLine.line_no),
        "date": (PurchaseOrder.order_date, PurchaseOrder.number, OrderLine.line_no),
    }.get(sort, (PurchaseOrder.number, OrderLine.line_no))
    stmt = stmt.order_by(*map(code_order, order_by))  # codes by code point, as the ranges (purchase/bounds.py)

    currencies: set[str] = set()
    amount_total = ZERO
    expected_dates = False

    def found() -> Iterator[BackorderRow]:
        nonlocal amount_total, expected_dates
        for row in rows_told(session, progress, stmt, CHUNK):
            state = line_state(row, row.currency)
            if state.to_receive <= ZERO:
                continue
            # what receiving the rest posts to stock, value(R + to receive) - value(R) (DOMAIN.md: partial
            # receipts add up to what one receipt of the sum posts), not value(to receive): 17 of 37 at
            # 2.437403 with 20 received said 41.44, the receipt posted 41.43 (audit of 7 December 2026)
            amount = state.value(state.received + state.to_receive) - state.value(state.received)
            currencies.add(row.currency)
            amount_total += amount
            expected_dates = expected_dates or row.expected_date is not None
            yield BackorderRow(
                supplier=row.supplier,
                supplier_name=row.supplier_name,
                order=row.order,
                line=row.line_no,
                order_date=row.order_date,
                expected_date=row.expected_date,
                item=row.item,
                description=row.description or row.item_description,
                currency=row.currency,
                unit_price=row.net_price,
                ordered=row.quantity,
                received=row.received,
                in_backorder=state.to_receive,
                backorder_amount=amount,
            )

    if sort == "amount":
        rows = sorted_spill(found(), key=lambda r: (-r.backorder_amount, r.order, r.line))
    else:
        rows = spilled(found())
    return BackorderReport(rows, frozenset(currencies), amount_total, expected_dates)
