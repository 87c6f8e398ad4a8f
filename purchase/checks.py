"""`pledger check` for the purchase ledger: the ledger's own proof plus the GR/IR tie-out.

Tie-out (DOMAIN.md, rule 5): per order line, the ledger's GR and IR lines carrying that
order line sum to exactly the sub-balances its quantities imply; and the ledger balance
of each interim account equals the sum over the lines. Streamed in one ordered query.

Suppliers: every journal line posted on an order line names that order's supplier
(`check_order_suppliers`).

References: every foreign key of the schema, and the two the ledger's lines carry without
one (the ledger knows nothing of purchasing): a line's order line and its supplier
(`partner_id`).
"""

from __future__ import annotations

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from ledger.batchmode import batch_collection
from ledger.check import Breach, Reference, check_ledger, check_period_locks, check_references, foreign_keys
from ledger.models import Account, Base, Entry, EntryLine, FiscalYear, Journal
from ledger.money import ZERO, counted, format_amount, format_quantity, round_money
from ledger.posting import base_currency
from ledger.progress import QUIET, Progress, start_counted, told
from ledger.types import Amount
from purchase.bounds import code_order
from purchase.models import InvoiceLine, OrderLine, OrderLineRaise, PurchaseOrder, ReceiptLine, Supplier
from purchase.settings import role_accounts
from purchase.state import STATE_COLUMNS, line_state

CHUNK = 5000


LEDGER_LINE_REFERENCES: tuple[Reference, ...] = (
    (EntryLine.__table__.c.order_line_id, OrderLine.__table__.c.id),
    (EntryLine.__table__.c.partner_id, Supplier.__table__.c.id),
)
"""What a ledger line points at in the purchase ledger, with no foreign key to say so."""


@batch_collection()
def check_books(session: Session, progress: Progress = QUIET) -> list[Breach]:
    """The ledger's proof (`check_ledger`), then rows pointing at nothing, then the periods'
    locked flags against their history (`check_period_locks`), then the GR/IR tie-out: the
    first breach is the first thing broken at the lowest level. `progress` is started with
    the rows of the two long passes, the ledger's lines and the order lines (counted when
    it is shown), and told each as it is read."""
    start_counted(session, progress, select(EntryLine.id), select(OrderLine.id))
    breaches = check_ledger(session, progress=progress)
    breaches.extend(check_references(session, [*foreign_keys(Base.metadata), *LEDGER_LINE_REFERENCES]))
    breaches.extend(check_period_locks(session))
    breaches.extend(check_tie_out(session, progress))
    breaches.extend(check_documents(session))
    breaches.extend(check_raises(session))
    breaches.extend(check_cancelled_orders(session))
    breaches.extend(check_order_suppliers(session))
    return breaches


def check_order_suppliers(session: Session) -> list[Breach]:
    """Every journal line posted on an order line names that order's supplier (DOMAIN.md: a
    line from a document carries the supplier, the order line and the document): an order
    given another supplier after it posted (an UPDATE no trigger refuses, which the
    accountant role may make) left its lines naming the first, `journal show` and `po show`
    disagreeing, and `check` passed. One query: only the orders that differ come back, with
    how many lines and the first of them."""
    named = Supplier.__table__.alias("named")
    differs = (select(PurchaseOrder.id.label("order_id"), func.count().label("lines"), func.min(EntryLine.id).label("first"))
               .join(OrderLine, OrderLine.order_id == PurchaseOrder.id)
               .join(EntryLine, EntryLine.order_line_id == OrderLine.id)
               .where(EntryLine.partner_id.is_distinct_from(PurchaseOrder.supplier_id))
               .group_by(PurchaseOrder.id)).subquery()
    stmt = (select(PurchaseOrder.number, Supplier.code, differs.c.lines, Journal.code, FiscalYear.year, Entry.number, named.c.code)
            .join(differs, differs.c.order_id == PurchaseOrder.id)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .join(EntryLine, EntryLine.id == differs.c.first)
            .join(Entry, Entry.id == EntryLine.entry_id)
            .join(Journal, Journal.id == Entry.journal_id)
            .join(FiscalYear, FiscalYear.id == Entry.fiscal_year_id)
            .outerjoin(named, named.c.id == EntryLine.partner_id)
            .order_by(code_order(PurchaseOrder.number)))
    return [Breach(f"order {number} is {supplier}'s, and {counted(lines, 'journal line')} posted on it "
                   f"{'names' if lines == 1 else 'name'} another supplier (the first: {journal} {year} entry {entry} names "
                   f"{first or 'no supplier'}): its supplier was changed after posting")
            for number, supplier, lines, journal, year, entry, first in session.execute(stmt)]


def check_cancelled_orders(session: Session) -> list[Breach]:
    """No cancelled order has receipts or invoices: `po cancel` refuses an order any document
    touched (a close-out clears what it holds instead), and no close-out selects a cancelled
    order, so goods received on one sit in GR for good. Before the status commands locked the
    order's lines (6 December 2026), a cancel on PostgreSQL while a receipt posted could
    leave one so, a GR balance of 6.66 no command reaches, and `check` passed. Few orders
    are cancelled: one query gives those that hold a document."""
    documented = [select(table.id).where(table.order_line_id == OrderLine.id).exists()  # by their index on the line
                  for table in (ReceiptLine, InvoiceLine)]
    stmt = (select(PurchaseOrder.number, func.count(OrderLine.id)).join(OrderLine, OrderLine.order_id == PurchaseOrder.id)
            .where(PurchaseOrder.status == "cancelled", documented[0] | documented[1])
            .group_by(PurchaseOrder.number).order_by(code_order(PurchaseOrder.number)))
    return [Breach(f"order {number} is cancelled, and receipts or invoices were posted on {counted(lines, 'line')} of it: "
                   f"an order a document touched is never cancelled (close it out instead)")
            for number, lines in session.execute(stmt)]


def check_documents(session: Session) -> list[Breach]:
    """Each order line has received what its receipt lines add up to and been invoiced what
    its invoice lines add up to, exactly (stored integers): a quantity edited by a few
    millionths moves no balance by a cent, so the tie-out alone would not show it."""
    fq = format_quantity
    received = (select(ReceiptLine.order_line_id.label("olid"), func.sum(ReceiptLine.quantity).label("q"))
                .group_by(ReceiptLine.order_line_id).subquery())
    invoiced = (select(InvoiceLine.order_line_id.label("olid"), func.sum(InvoiceLine.quantity).label("q"))
                .group_by(InvoiceLine.order_line_id).subquery())
    by_receipts = type_coerce(func.coalesce(received.c.q, 0), OrderLine.received.type)
    by_invoices = type_coerce(func.coalesce(invoiced.c.q, 0), OrderLine.invoiced.type)
    stmt = (select(PurchaseOrder.number, OrderLine.line_no, OrderLine.received, by_receipts.label("by_receipts"),
                   OrderLine.invoiced, by_invoices.label("by_invoices"))
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .outerjoin(received, received.c.olid == OrderLine.id).outerjoin(invoiced, invoiced.c.olid == OrderLine.id)
            .where((OrderLine.received != by_receipts) | (OrderLine.invoiced != by_invoices))
            .order_by(code_order(PurchaseOrder.number), OrderLine.line_no))
    breaches = []
    for row in session.execute(stmt):
        name = f"order {row.number} line {row.line_no}"
        if row.received != row.by_receipts:
            breaches.append(Breach(f"{name}: {fq(row.received)} received, its receipts add up to {fq(row.by_receipts)}"))
        if row.invoiced != row.by_invoices:
            breaches.append(Breach(f"{name}: {fq(row.invoiced)} invoiced, its invoices add up to {fq(row.by_invoices)}"))
    return breaches


def check_raises(session: Session) -> list[Breach]:
    """Each raised order line's raises follow on from each other (each starts from the
    quantity the one before left) and the newest left the quantity the line has: an edited
    quantity or a raise taken out shows. And on every order line, what its raises add up to
    equals what the line keeps it was raised by (`order_lines.raised`, migration 0015,
    written with each raise): a line's first raise taken out (its only one, too), or a raise
    INSERTed on a line never raised, shows, which the chain alone could not tell, as each
    raise overwrites the quantity. Raises are few: read whole, in order; the lines in one
    query, only those that differ coming back."""
    fq = format_quantity
    breaches: list[Breach] = []
    stmt = (select(OrderLineRaise.order_line_id, OrderLineRaise.ordered_before, OrderLineRaise.ordered_after,
                   OrderLine.quantity, OrderLine.line_no, PurchaseOrder.number)
            .join(OrderLine, OrderLine.id == OrderLineRaise.order_line_id)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .order_by(OrderLineRaise.order_line_id, OrderLineRaise.id))
    last = {}
    for row in session.execute(stmt):
        name = f"order {row.number} line {row.line_no}"
        previous = last.get(row.order_line_id)
        if previous is not None and row.ordered_before != previous[0]:
            breaches.append(Breach(f"{name}: a raise starts from {fq(row.ordered_before)} ordered, the raise before it "
                                   f"left {fq(previous[0])}"))
        if row.ordered_after <= row.ordered_before:
            breaches.append(Breach(f"{name}: a raise from {fq(row.ordered_before)} to {fq(row.ordered_after)} does not raise"))
        last[row.order_line_id] = (row.ordered_after, row.quantity, name)
    for after, quantity, name in last.values():
        if quantity != after:
            breaches.append(Breach(f"{name}: {fq(quantity)} ordered, but its newest raise left {fq(after)}"))
    by = (select(OrderLineRaise.order_line_id.label("olid"),
                 func.sum(OrderLineRaise.ordered_after - OrderLineRaise.ordered_before).label("q"))
          .group_by(OrderLineRaise.order_line_id).subquery())
    by_raises = type_coerce(func.coalesce(by.c.q, 0), OrderLine.raised.type)
    stmt = (select(PurchaseOrder.number, OrderLine.line_no, OrderLine.raised, by_raises.label("by_raises"))
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id).outerjoin(by, by.c.olid == OrderLine.id)
            .where(OrderLine.raised != by_raises).order_by(code_order(PurchaseOrder.number), OrderLine.line_no))
    for row in session.execute(stmt):
        breaches.append(Breach(f"order {row.number} line {row.line_no}: raised {fq(row.raised)}, "
                               f"its raises add up to {fq(row.by_raises)}"))
    return breaches


def check_tie_out(session: Session, progress: Progress = QUIET) -> list[Breach]:
    breaches: list[Breach] = []
    roles = role_accounts(session)
    ids = dict(session.execute(select(Account.code, Account.id)).all())
    gr_id, ir_id = ids[roles["goods_received"]], ids[roles["invoices_received"]]
    one_account = gr_id == ir_id
    currency = base_currency(session)

    def money(amount):
        """At the minor unit ("10.00"), unless it holds more (a tampered row): then in full."""
        return format_amount(amount, currency) if round_money(amount, currency) == amount else f"{amount:f}"

    def net(account_id):
        return type_coerce(func.sum(case((EntryLine.account_id == account_id, EntryLine.debit - EntryLine.credit), else_=0)), Amount())

    per_line = (
        select(EntryLine.order_line_id.label("olid"), net(gr_id).label("gr"), net(ir_id).label("ir"))
        .where(EntryLine.account_id.in_([gr_id, ir_id]), EntryLine.order_line_id.is_not(None))
        .group_by(EntryLine.order_line_id)
        .subquery()
    )
    stmt = (  # plain columns, not ORM objects: nothing to track for a million lines
        select(OrderLine.line_no, OrderLine.quantity, OrderLine.net_price, *[getattr(OrderLine, c) for c in STATE_COLUMNS],
               PurchaseOrder.number, PurchaseOrder.currency, per_line.c.gr.label("ledger_gr"), per_line.c.ir.label("ledger_ir"))
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .join(per_line, per_line.c.olid == OrderLine.id, isouter=True)
        .order_by(OrderLine.id)
        .execution_options(yield_per=CHUNK)
    )
    sum_gr = sum_ir = ZERO
    for line in told(session.execute(stmt), progress, CHUNK):
        state = line_state(line, line.currency)
        _, _, gr, ir = state.values()
        sum_gr += gr
        sum_ir += ir
        ledger_gr = line.ledger_gr or ZERO
        ledger_ir = line.ledger_ir or ZERO
        name = f"order {line.number} line {line.line_no}"
        if one_account:
            if ledger_gr != ir - gr:
                breaches.append(Breach(f"{name}: GR/IR account holds {money(ledger_gr)}, its quantities imply {money(ir - gr)}"))
        else:
            if -ledger_gr != gr:
                breaches.append(Breach(f"{name}: goods-received sub-balance in the ledger is {money(-ledger_gr)}, its quantities imply {money(gr)}"))
            if ledger_ir != ir:
                breaches.append(Breach(f"{name}: invoices-received sub-balance in the ledger is {money(ledger_ir)}, its quantities imply {money(ir)}"))
        for label, qty in (("to receive", state.to_receive), ("to invoice", state.to_invoice)):
            if qty < 0:
                breaches.append(Breach(f"{name}: {label} is negative ({qty})"))

    totals = dict(
        session.execute(
            select(EntryLine.account_id, type_coerce(func.sum(EntryLine.debit - EntryLine.credit), Amount()))
            .where(EntryLine.account_id.in_([gr_id, ir_id]))
            .group_by(EntryLine.account_id)
        ).all()
    )
    gr_total = totals.get(gr_id) or ZERO
    ir_total = totals.get(ir_id) or ZERO
    if one_account:
        if gr_total != sum_ir - sum_gr:
            breaches.append(Breach(f"GR/IR account {roles['goods_received']} balance {money(gr_total)} differs from the lines' {money(sum_ir - sum_gr)}"))
    else:
        if -gr_total != sum_gr:
            breaches.append(Breach(f"goods-received account {roles['goods_received']} holds {money(-gr_total)} (credit), the lines hold {money(sum_gr)}"))
        if ir_total != sum_ir:
            breaches.append(Breach(f"invoices-received account {roles['invoices_received']} holds {money(ir_total)} (debit), the lines hold {money(sum_ir)}"))
    return breaches

