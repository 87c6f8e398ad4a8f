"""Purchase orders: creation and the lifecycle of DOMAIN.md as guarded transitions.

    new -> ordered -> confirmed | backorder | partial_backorder
        -> shipped (drop-shipment) | partly_received | received -> closed
    cancelled: from any status before closed, while no document touched the order

Each transition is a `can_x(order)` guard (returning the reason it cannot, or None) next
to its `x(order)` action, as in django-ledger. Receipts and invoices move the status on
by `refresh_statuses`: an order whose lines are all closed (nothing expected, no
sub-balance) is closed; an undo that reopens a line reopens its order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from ledger.bulk import ReadPlan, insert_rows, read_plan, select_in, update_by_id
from ledger.db import one_of
from ledger.errors import NotFound, PledgerError
from ledger.clock import utc_now
from ledger.money import ZERO, MoneyError, currency_code, format_quantity, value_of
from ledger.posting import base_currency
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, largest, to_scaled
from purchase.models import InvoiceLine, Item, OrderLine, OrderLineRaise, PurchaseOrder, ReceiptLine, Supplier
from purchase.state import STATE_COLUMNS, line_state
from purchase.write_offs import closeouts_lowered, standing_closeouts

STATUSES = (
    "new", "ordered", "confirmed", "backorder", "partial_backorder", "shipped",
    "partly_received", "received", "closed", "cancelled",
)
EDITABLE = ("new", "ordered")
TAKES_DOCUMENTS = ("ordered", "confirmed", "backorder", "partial_backorder", "shipped", "partly_received", "received", "closed")


class OrderError(PledgerError):
    pass


_HUNDRED = Decimal(100)
_PRICE_STEP = Decimal(1).scaleb(-PRICE_SCALE)


def net_price(unit_price: Decimal, discount_pct: Decimal) -> Decimal:
    """p of DOMAIN.md: the unit price after line discount, kept to 6 decimals, half-up."""
    if discount_pct < 0 or discount_pct > 100:
        raise OrderError(f"a line discount of {discount_pct}% is not between 0 and 100")
    price = unit_price * (_HUNDRED - discount_pct) / _HUNDRED
    return price.quantize(_PRICE_STEP, ROUND_HALF_UP)


_LARGEST_AMOUNT = largest(AMOUNT_SCALE)


def not_a_vat_rate(rate: Decimal) -> str:
    """A VAT rate outside 0 to 100 percent, as an order line (`purchase.masterdata`) and an
    invoice line (`purchase.documents`) given one refuse it (a CSV cell says it first, in its
    own words: `csvfile.percent`)."""
    return f"a VAT rate of {rate}% is not a percentage"


def unstorable_value(quantity: Decimal, price: Decimal, currency: str) -> str | None:
    """Why an order line of `quantity` at the net `price` cannot be taken: its value, what
    receiving all of it posts, is more than an amount holds (`_LARGEST_AMOUNT`);
    None if it fits. Checked when a line is made or raised, so that no receipt within what
    was ordered meets it at the INSERT (SQLite: an internal error; PostgreSQL: "bigint out
    of range", naming nothing)."""
    product = quantity * price
    if abs(product) < _LARGEST_AMOUNT - 1:  # fits, however it rounds (the common case: no rounding made)
        return None
    value = value_of(quantity, price, currency)
    if abs(value) <= _LARGEST_AMOUNT:
        return None
    return (f"its value {format_quantity(quantity)} x {format_quantity(price)} = {value} is more than an amount can hold "
            f"({_LARGEST_AMOUNT})")


# -- the lifecycle --------------------------------------------------------------------

_ACTIONS = ("order", "confirm", "backorder", "ship", "close", "cancel")


def allowed_actions(order: PurchaseOrder) -> list[str]:
    return [a for a in _ACTIONS if GUARDS[a](order) is None]


def actions_said(status: str, actions: Sequence[str]) -> str:
    """What is allowed now, as `po show` and a lifecycle command's refusal say it: the status
    commands, else, for an order under way, that its documents and close-outs move it (a
    refusal that named `po close --not-coming` ended "allowed now: none"), else none."""
    if actions:
        return ", ".join(actions)
    return "no status command: its receipts, invoices and close-outs move it" if status in TAKES_DOCUMENTS else "none"


def _refuse(order: PurchaseOrder, action: str, why: str):
    allowed = actions_said(order.status, allowed_actions(order))
    raise OrderError(f"order {order.number} is {order.status}: cannot {action} it ({why}); allowed now: {allowed}")


def can_order(order) -> str | None:
    return None if order.status == "new" else "only a new order is sent to the supplier"


def mark_as_ordered(order) -> None:
    if (why := can_order(order)) is not None:
        _refuse(order, "order", why)
    order.status = "ordered"


def can_confirm(order) -> str | None:
    return None if order.status == "ordered" else "only an ordered order is confirmed"


def mark_as_confirmed(order) -> None:
    if (why := can_confirm(order)) is not None:
        _refuse(order, "confirm", why)
    order.status = "confirmed"


def can_backorder(order) -> str | None:
    if order.status not in ("ordered", "confirmed", "partly_received"):
        return "only an ordered, confirmed or partly received order goes on backorder"
    if not any(line_state(l, order.currency).to_receive > ZERO for l in order.lines):
        return "no line expects goods"
    return None


def mark_as_backorder(order) -> None:
    if (why := can_backorder(order)) is not None:
        _refuse(order, "backorder", why)
    received_any = any(l.received != ZERO for l in order.lines)
    order.status = "partial_backorder" if received_any else "backorder"


def can_ship(order) -> str | None:
    if not order.drop_shipment:
        return "only a drop-shipment order is shipped"
    return None if order.status in ("ordered", "confirmed", "backorder", "partial_backorder") else "it is not waiting for the supplier"


def mark_as_shipped(order) -> None:
    if (why := can_ship(order)) is not None:
        _refuse(order, "ship", why)
    order.status = "shipped"


def can_close(order) -> str | None:
    if order.status in ("closed", "cancelled", "new"):
        return "only an order under way is closed"
    currency = order.currency
    states = [line_state(l, currency) for l in order.lines]
    if any(s.to_receive > ZERO for s in states):  # DOMAIN.md: closing it says what becomes of the goods still expected
        return (f"lines still expect goods: if they will not come, 'pledger po close {order.number} --not-coming' closes "
                f"them out; an order with no receipt is taken as delivered in full with --assume-delivered --receipt R")
    if any(s.is_open for s in states):
        return ("lines still expect invoices or hold a GR/IR balance: close them out first with 'pledger closeout run --order "
                + order.number + " --close-fully'")
    return None


def mark_as_closed(order) -> None:
    if (why := can_close(order)) is not None:
        _refuse(order, "close", why)
    order.reopens_as, order.status = reopens_as_after(order.status, "closed", order.reopens_as), "closed"


def can_cancel(order) -> str | None:
    if order.status in ("closed", "cancelled"):
        return "a closed or cancelled order stays as it is"
    if _has_bookings(order):
        return f"it has receipts or invoices: close it out instead ('pledger closeout run --order {order.number} --close-fully')"
    standing = _standing_closeout(order)
    if standing is not None:  # an undo would give a cancelled order back what the close-out lowered
        every = _standing_closeouts(order)
        if len(every) > 1:  # each undone newest first: the newest alone named, its undo left the others (review of 7 December 2026)
            return (f"close-outs {numbers_said(every)} stand on it: undo them first, newest first "
                    f"({undo_commands(every, quoted=True)})")
        return f"close-out {standing} stands on it: undo it first ('pledger closeout undo --number {standing}')"
    return None


def _has_bookings(order) -> bool:
    """Receipts or invoices are booked on the order, even returned or credited back to nothing."""
    return any(l.received != ZERO or l.invoiced != ZERO for l in order.lines) or _has_documents(order)


def _standing_closeout(order) -> int | None:
    """The newest close-out standing on any of the order's lines, if one does."""
    return max((l.last_closeout_number for l in order.lines if l.last_closeout_number is not None), default=None)


def _standing_closeouts(order) -> list[int]:
    """Every close-out standing on one of the order's lines, newest first: read only where a
    refusal names them (`can_cancel`)."""
    standing = standing_closeouts()
    lines = select(OrderLine.id).where(OrderLine.order_id == order.id)
    return sorted(set(object_session(order).scalars(
        standing.with_only_columns(standing.selected_columns.number)
        .where(standing.selected_columns.order_line_id.in_(lines)))), reverse=True)


def _has_documents(order) -> bool:
    """Whether a receipt or invoice line was ever posted on the order's lines (returned and
    credited back in full, its quantities are 0 again, but the documents stand)."""
    session = object_session(order)
    if session is None or order.id is None:
        return False
    lines = select(OrderLine.id).where(OrderLine.order_id == order.id)
    return any(session.scalar(select(table.id).where(table.order_line_id.in_(lines)).limit(1)) is not None
               for table in (ReceiptLine, InvoiceLine))


def mark_as_cancelled(order) -> None:
    if (why := can_cancel(order)) is not None:
        _refuse(order, "cancel", why)
    order.status = "cancelled"


def can_raise(order) -> str | None:
    return None if order.status in TAKES_DOCUMENTS else "only an order that takes receipts and invoices is raised, for an over-delivery"


@dataclass(frozen=True)
class Raised:
    """One line raised: its number, and its ordered quantity before and after."""

    line: int
    before: Decimal
    after: Decimal
    lowered_by: int | None = None
    """The close-out standing on the line that lowered what it expects, if one did: goods or
    invoices that come after all are its undo's (`raise_note`)."""
    undos: tuple[int, ...] = ()
    """Where several close-outs stand on the line, those whose undo gives back what they
    lowered, newest first, `lowered_by` the first (`raise_note`); empty where one does."""


def numbers_said(numbers: Sequence[int]) -> str:
    """Close-out numbers as a message lists them: "3", "3 and 2", "4, 3 and 2"."""
    return str(numbers[0]) if len(numbers) == 1 else ", ".join(str(n) for n in numbers[:-1]) + f" and {numbers[-1]}"


def undo_commands(numbers: Sequence[int], *, quoted: bool = False) -> str:
    """The undos of close-outs `numbers` as commands in that order (close-outs of a line are
    undone newest first): "pledger closeout undo --number 3, then pledger closeout undo
    --number 2", each in quotes where `quoted`. The one wording of the messages that name
    several close-outs to undo (`purchase.documents`, `matching.closeout`, here)."""
    q = "'" if quoted else ""
    return ", then ".join(f"{q}pledger closeout undo --number {n}{q}" for n in numbers)


def undo_it_first(closeout: int) -> str:
    """The remedy for goods (invoices) a close-out lowered a line for that come after all,
    as a receipt's refusal (`purchase.documents`) and `po raise`'s note give it (Exact:
    "ongedaan maken, omdat u de goederen toch gaat ontvangen en betalen")."""
    return f"undo it first ('pledger closeout undo --number {closeout}', which reopens every line it closed)"


def raise_note(number: str, raised: Raised) -> str | None:
    """What to say of a raise on a line a close-out lowered: taken (more may really have
    come than was ordered), but where the goods or invoices it wrote off come after all the
    undo is the remedy, not a raise, which leaves the write-off standing beside them (audit
    of 7 December 2026). Of several close-outs standing on the line, each whose undo gives
    back what it lowered, newest first, with the undos in that order: close-out 1 lowered to
    receive and close-out 2 only to invoice, the note named close-out 2 alone, whose undo
    gives back none of the goods close-out 1 said would never come (review of 7 December 2026)."""
    if raised.lowered_by is None:
        return None
    where = f"order {number} line {raised.line}"
    if len(raised.undos) > 1:
        return (f"close-outs {numbers_said(raised.undos)} lowered what {where} expects: if the goods or invoices come "
                f"after all, undo them first, newest first ({undo_commands(raised.undos, quoted=True)}; each reopens "
                f"every line it closed), not a raise")
    return (f"close-out {raised.lowered_by} lowered what {where} expects: if the goods or "
            f"invoices come after all, {undo_it_first(raised.lowered_by)}, not a raise")


def raise_lines(session: Session, number: str, ordered: Mapping[int, Decimal], *, user: str, reason: str = "") -> list[Raised]:
    """Raise order lines (bestelregels verhogen) for an over-delivery: each line's ordered
    quantity Q becomes the one given, which must be larger (DOMAIN.md: "over-delivery needs
    the order line raised first"; what a line expects is lowered by a close-out, never
    here). Nothing is posted: the GR and IR sub-balances do not depend on Q, and to receive
    and to invoice grow by the raise. Each raise is recorded (`OrderLineRaise`, append-only)
    and the order's status follows its lines (a closed order reopens). All or nothing: one
    wrong line refuses them all."""
    order = get_order(session, number, lock=True)  # a cancel under way is in or not begun (`get_order`)
    if (why := can_raise(order)) is not None:
        _refuse(order, "raise", why)
    # the order's lines, locked (PostgreSQL) before they are read: a receipt or invoice
    # posting to them at the same time waits, then finds the new quantity
    rows = session.execute(select(OrderLine.id, OrderLine.line_no, OrderLine.quantity, OrderLine.net_price, OrderLine.raised,
                                  OrderLine.last_closeout_number, OrderLine.lowered_receive, OrderLine.lowered_invoice)
                           .where(OrderLine.order_id == order.id).order_by(OrderLine.id).with_for_update()).all()
    by_number = {row.line_no: (row.id, row.quantity, row.net_price) for row in rows}
    raised_by = {row.id: row.raised for row in rows}
    lowered_by = {row.id: row.last_closeout_number for row in rows
                  if row.last_closeout_number is not None and (row.lowered_receive > 0 or row.lowered_invoice > 0)}
    problems, raised = [], []  # (order line id, Raised)
    for line_no, quantity in sorted(ordered.items()):
        where = f"order {number} line {line_no}"
        if line_no not in by_number:
            problems.append(f"{where}: no such line")
            continue
        line_id, before, price = by_number[line_no]
        try:
            to_scaled(quantity, QUANTITY_SCALE)  # as it will be stored: finite, at most 6 decimals, not too large
        except MoneyError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if quantity <= before:
            problems.append(f"{where}: ordered {format_quantity(quantity)} is not above the {format_quantity(before)} ordered; "
                            f"a raise only raises (a close-out lowers what a line expects)")
        elif (why := unstorable_value(quantity, price, order.currency)) is not None:
            problems.append(f"{where}: {why}")
        else:
            undos = ()
            if line_id in lowered_by:  # the close-outs read where a note names them, one line at a time
                standing = closeouts_lowered(session, line_id)
                while standing and standing[-1][1] <= 0 and standing[-1][2] <= 0:
                    standing.pop()  # older ones that lowered nothing here: their undo gives nothing back
                undos = tuple(row[0] for row in standing) if len(standing) > 1 else ()
            raised.append((line_id, Raised(line_no, before, quantity, lowered_by.get(line_id), undos)))
    if problems:
        raise OrderError("nothing raised: " + "; ".join(problems))
    if not raised:
        raise OrderError(f"nothing raised: name the lines of order {number} to raise")
    now = utc_now()
    update_by_id(session, OrderLine, [(r.after, raised_by[line_id] + r.after - r.before, line_id) for line_id, r in raised],
                 columns=("quantity", "raised", "id"))
    insert_rows(session, OrderLineRaise, [(line_id, r.before, r.after, reason, user, now) for line_id, r in raised],
                columns=("order_line_id", "ordered_before", "ordered_after", "reason", "user_name", "raised_at"))
    refresh_statuses(session, [order.id])
    return [r for _, r in raised]


def lines_without_vat(session: Session, number: str, line_numbers: Sequence[int]) -> list[int]:
    """The order's lines among these whose VAT rate is 0: `po invoice` invoices at the order
    line's rate, so a line imported without `vat_rate` is invoiced without VAT."""
    return list(session.scalars(
        select(OrderLine.line_no).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .where(PurchaseOrder.number == number, OrderLine.line_no.in_(list(line_numbers)), OrderLine.vat_rate == 0)
        .order_by(OrderLine.line_no)))


def can_edit(order) -> str | None:
    """An order may be edited while it is new or ordered and nothing is booked on it: no
    receipt or invoice (even one returned or credited back to nothing), no close-out standing
    (a year's audit found P2603, cleaning invoiced six times and closed out, shown as
    "editable: yes" because it was still "ordered")."""
    if order.status not in EDITABLE:
        return "a confirmed order can no longer be edited"
    if _has_bookings(order):
        return "receipts or invoices are booked on it"
    standing = _standing_closeout(order)
    return None if standing is None else f"close-out {standing} stands on it"


GUARDS = {"order": can_order, "confirm": can_confirm, "backorder": can_backorder, "ship": can_ship, "close": can_close, "cancel": can_cancel}
TRANSITIONS = {
    "order": mark_as_ordered, "confirm": mark_as_confirmed, "backorder": mark_as_backorder,
    "ship": mark_as_shipped, "close": mark_as_closed, "cancel": mark_as_cancelled,
}


def get_order(session: Session, number: str, *, lock: bool = False) -> PurchaseOrder:
    """The order by its number. `lock`: for a change of its status, its lines and then the
    order are locked first (PostgreSQL; in that order, as receipts and invoices lock them)
    and read as committed: a receipt or invoice posting to it at the same time is then in
    the books or not begun. Unlocked, `po cancel` checked for receipts while one was being
    posted, and cancelled the order once it had committed: a cancelled order with 2
    received and a GR balance of 6.66 no close-out could reach (audit of 6 December 2026)."""
    stmt = select(PurchaseOrder).where(PurchaseOrder.number == number)
    if lock:
        order_id = select(PurchaseOrder.id).where(PurchaseOrder.number == number).scalar_subquery()
        session.execute(select(OrderLine.id).where(OrderLine.order_id == order_id).order_by(OrderLine.id).with_for_update())
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = session.scalar(stmt)
    if order is None:
        raise NotFound(f"no purchase order '{number}': see 'pledger po list'")
    return order


def status_of(session: Session, number: str) -> str:
    """The order's status as the database holds it now: the batch paths write statuses
    through Core (`refresh_statuses`), which an order loaded before does not see."""
    return session.scalar(select(PurchaseOrder.status).where(PurchaseOrder.number == number))


def apply(session: Session, number: str, action: str) -> PurchaseOrder:
    order = get_order(session, number, lock=True)
    TRANSITIONS[action](order)
    session.flush()
    return order


REOPENS_AS = ("ordered", "confirmed", "backorder", "partial_backorder")
"""What an order with nothing received any more goes back to: the status it had before its
first receipt or its close (`PurchaseOrder.reopens_as`)."""


def reopens_as_after(status: str, new: str, reopens_as: str | None) -> str | None:
    """What an order going from `status` to `new` goes back to when nothing is received any
    more: the status it leaves, where it leaves one of `REOPENS_AS` for another kind
    (received, closed); else what it went back to already. A confirmed order received and
    closed, then returned and reopened, is confirmed again, not an editable "ordered"."""
    if status in REOPENS_AS and new not in REOPENS_AS:
        return status
    return reopens_as


def derived_status(status: str, states: Sequence, reopens_as: str | None = None) -> str:
    """The status after documents or close-outs changed the lines' states. `reopens_as`: the
    status the order had before its first receipt or its close (`PurchaseOrder.reopens_as`).

    With nothing received any more (every receipt returned, or an undo reopening it) an
    order goes back to that status (ordered for orders closed before it was kept); an order
    on backorder stays on backorder, a partial backorder becoming a whole one. On
    backorder, or going back to it, with no line expecting goods any more (a close-out
    lowered what was to come), it is confirmed: the supplier took it, and nothing is
    awaited from it. A partial backorder stays one while something was received and goods
    are still to come: an invoice or a raise leaves it one, as a receipt that leaves goods
    to come does; received or closed, then reopened with goods to come again (the undo of
    its `po close --not-coming`, a return), it is a partial backorder again."""
    if status in ("new", "cancelled"):
        return status
    if not any(s.is_open for s in states):
        return "closed"
    if status == "shipped":
        return status
    received = any(s.received != 0 for s in states)  # 0: the states are Decimals or stored integers
    if received:
        if all(s.to_receive <= 0 for s in states):
            return "received"
        # a partial backorder (`po backorder` after a receipt) stands while goods are still
        # expected: an invoice, a raise or another receipt that leaves goods to come does not
        # take the supplier's word back (it went to partly_received on any of them)
        if status == "partial_backorder" or (status in ("received", "closed") and reopens_as == "partial_backorder"):
            return "partial_backorder"  # reopened (an undo, a return): it was on partial backorder before
        return "partly_received"
    if status in ("closed", "received", "partly_received"):
        back = reopens_as if reopens_as in REOPENS_AS else "ordered"
    elif status in ("backorder", "partial_backorder"):
        back = "backorder"
    else:
        return status  # ordered, confirmed: nothing received yet
    if back in ("backorder", "partial_backorder"):
        return "backorder" if any(s.to_receive > 0 for s in states) else "confirmed"
    return back


@lru_cache(maxsize=4)
def _status_plan(dialect) -> ReadPlan:
    """How `refresh_statuses` reads (and on PostgreSQL locks) orders by id: id, status, currency, reopens_as."""
    return read_plan(select(PurchaseOrder.id, PurchaseOrder.status, PurchaseOrder.currency, PurchaseOrder.reopens_as),
                     PurchaseOrder.id, PurchaseOrder.id, dialect, lock_of=PurchaseOrder.__table__)


def refresh_statuses(session: Session, order_ids: Iterable[int], known: Mapping[int, Sequence] | None = None,
                     statuses: Mapping[int, str] | None = None, reopens_as: Mapping[int, str | None] | None = None) -> None:
    """Recompute the status of these orders from their lines, in chunks, with Core.

    The order rows are locked first (FOR UPDATE on PostgreSQL; SQLite has one writer).
    `known` gives, per order, the states of all its lines where the caller holds them
    (locked, as `LineBook.whole_orders` does); the other orders' lines are read.
    `statuses` gives the orders' statuses where the caller read them earlier in this
    transaction, locked, and nothing has changed them since (as `LineBook.statuses`, for
    the orders of a chunk that no one else touches): those orders are not read again, and
    `reopens_as` what they go back to if they reopen (`LineBook.reopens_as`). On SQLite this
    transaction is the one writer; on PostgreSQL the book read them FOR UPDATE. An order
    that closes keeps the status it had (`reopens_as`), for an undo that reopens it.
    """
    known = known or {}
    ids = sorted(set(order_ids))
    dialect = session.get_bind().dialect
    plan = _status_plan(dialect)
    if statuses is None:
        statuses = {}
    if reopens_as is None:
        reopens_as = {}
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        if all(o in known and o in statuses for o in part):  # nothing to read, nothing to lock
            rows = [(o, statuses[o], None, reopens_as.get(o)) for o in part]
        else:
            # Lock the order rows (by id, the same order in every writer) before reading their
            # lines: on PostgreSQL a concurrent writer that changed other lines of the same order
            # has then committed, and the status is derived from every line as committed.
            rows = select_in(session, plan, part)  # plain rows: no ORM loading, nothing tracked
        lines: dict[int, Sequence] = {o: known[o] for o in part if o in known}
        unknown = [o for o in part if o not in known]
        if unknown:
            currencies = {order_id: currency for order_id, _, currency, _ in rows}
            connection = session.connection()
            columns = [OrderLine.order_id, OrderLine.quantity, OrderLine.net_price, *[getattr(OrderLine, c) for c in STATE_COLUMNS]]
            for row in connection.execute(select(*columns).where(one_of(connection, OrderLine.order_id, unknown))):
                lines.setdefault(row.order_id, []).append(line_state(row, currencies[row.order_id]))
        changes = []
        for order_id, status, _, reopens in rows:
            new = derived_status(status, lines.get(order_id, ()), reopens)
            if new != status:  # what it goes back to when nothing is received any more: `reopens_as_after`
                changes.append((new, reopens_as_after(status, new, reopens), order_id))
        if changes:
            update_by_id(session, PurchaseOrder, changes, columns=("status", "reopens_as", "id"))
