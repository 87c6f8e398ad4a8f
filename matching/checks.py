"""`pledger check`, whole: the purchase ledger's proof (`purchase.checks.check_books`), then
the write-offs' own tie-out, which needs the close-outs.

Per order line, what close-outs lowered and wrote off is explained by the close-outs still
standing on it and by the write-offs recorded under them as documents arrived
(`purchase.models.WriteOffOnArrival`; under a close-out since undone they were given back
with it):

- lowered to receive and to invoice (Lr, Li) = what the standing close-outs lowered;
- written off, never to be invoiced and never to be received (Wu, Wv) = what they wrote
  off + what was recorded under them (or under none);
- the ledger's uninvoiced-receipts (credit) and unreceived-invoices (debit) lines of the
  order line = the amounts of the same.

So an undo that left a write-off behind, a lowering or write-off changed around the
program, or a write-off account's line edited, deleted or added, names its order line.
Write-offs on arrival posted before they were recorded (migration 0006, up to the entry
kept as `write_offs_recorded_after_entry`) are not recorded: on a line that holds one, only
the lowering is checked. One worth 0.00 posted no ledger line to find it by: units written
off beyond what explains them that are worth 0.00 at the line's price count as explained
on a line a close-out stands on, with a document from before that entry
(`worthless_unrecorded`). Where a write-off account also serves another posting role, its
lines are not compared (they hold that role's amounts too).

Then the close-outs' own records: their numbers gapless (`check_closeout_numbers`), and the
entries each lists as posted by it or its undo dated and made as its row says
(`check_closeout_entries`), and each order line naming the newest close-out standing on
it (`check_last_closeouts`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ledger.batchmode import batch_collection
from ledger.check import Breach
from ledger.models import Entry, EntryLine, FiscalYear, Journal
from ledger.money import format_amount, format_quantity, round_money
from ledger.posting import base_currency
from ledger.progress import QUIET, Progress
from ledger.types import AMOUNT_SCALE, from_scaled
from matching.models import Closeout, CloseoutCounter, CloseoutEntry, CloseoutLine
from purchase.checks import check_books as check_purchase_books
from purchase.models import OrderLine, PurchaseOrder, WriteOffOnArrival
from purchase.rules import quantity_of
from purchase.settings import WRITE_OFF_KEYS, role_account_ids
from purchase.write_offs import unrecorded_documents, unrecorded_postings, unrecorded_until, worth_nothing

CHUNK = 5000


@batch_collection()
def check_books(session: Session, progress: Progress = QUIET) -> list[Breach]:
    """Everything `pledger check` proves: the ledger, the references, the GR/IR tie-out
    (`purchase.checks.check_books`, told to `progress`), then the write-offs (`check_write_offs`)."""
    breaches = check_purchase_books(session, progress)
    breaches.extend(check_write_offs(session))
    breaches.extend(check_closeout_numbers(session))
    breaches.extend(check_closeout_entries(session))
    breaches.extend(check_last_closeouts(session))
    return breaches


def check_closeout_numbers(session: Session) -> list[Breach]:
    """Close-out numbers are gapless (DOMAIN.md): the close-outs are numbered 1 to the
    counter's last number, each once (the column is unique). A number taken without a
    close-out (the counter moved on around the program) is a gap no entry shows."""
    last = session.scalar(select(CloseoutCounter.last_number)) or 0
    count, low, high = session.execute(select(func.count(), func.min(Closeout.number), func.max(Closeout.number))).one()
    if count == last and (count == 0 or (low, high) == (1, last)):
        return []
    numbers = set(session.scalars(select(Closeout.number)))  # only a broken book reads them all
    breaches = []
    missing = sorted(set(range(1, last + 1)) - numbers)
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        nobody = "is no close-out's number" if len(missing) == 1 else "are no close-outs' numbers"
        breaches.append(Breach(f"close-out numbers: the counter says {last} {'was' if last == 1 else 'were'} given, "
                               f"and {shown} {nobody}"))
    beyond = sorted(n for n in numbers if not 1 <= n <= last)
    if beyond:
        breaches.append(Breach(f"close-out numbers: {', '.join(map(str, beyond[:10]))} beyond the counter's last number, {last}"))
    return breaches


def check_last_closeouts(session: Session) -> list[Breach]:
    """Each order line names the newest close-out still standing on it (`last_closeout_number`,
    none where none stands): a document's refusal names it, and what a receipt or invoice
    writes off as it arrives is recorded under it, for that close-out's undo to give back.
    Renamed or cleared around the program, the next such write-off was recorded under no
    close-out, the undo left it behind (the line expecting its goods again with no IR
    sub-balance for what was invoiced) and `check` passed. Only the lines that differ come
    back."""
    newest = (select(CloseoutLine.order_line_id.label("olid"), func.max(Closeout.number).label("number"))
              .join(Closeout, Closeout.id == CloseoutLine.closeout_id).where(Closeout.undone_at.is_(None))
              .group_by(CloseoutLine.order_line_id).subquery())
    stmt = (select(PurchaseOrder.number, OrderLine.line_no, OrderLine.last_closeout_number, newest.c.number)
            .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .outerjoin(newest, newest.c.olid == OrderLine.id)
            .where(OrderLine.last_closeout_number.is_distinct_from(newest.c.number))
            .order_by(OrderLine.id))
    breaches = []
    for order_number, line_no, named, standing in session.execute(stmt):
        name = f"order {order_number} line {line_no}"
        if named is None:
            breaches.append(Breach(f"{name}: close-out {standing} stands on it, and the line names no close-out as its last"))
        elif standing is None:
            breaches.append(Breach(f"{name}: names close-out {named} as its last, and no close-out stands on it"))
        else:
            breaches.append(Breach(f"{name}: names close-out {named} as its last, and the newest standing on it is {standing}"))
    return breaches


POSTED_BY = {"closeout": "posted by it", "undo": "posted by its undo"}


def check_closeout_entries(session: Session) -> list[Breach]:
    """Each close-out lists the entries it and its undo posted (`closeout_entries`, what
    `closeout show` gives an auditor), and the entries prove its record: every entry a
    close-out or an undo posted (source "closeout") is listed by one close-out; what it
    lists is such an entry, dated at the close-out's date by who ran it, or at the undo's
    date by who undid it, and listed as an undo's only once the close-out is undone. The
    hash chain covers the entries' dates and users, not the close-out's row nor the links:
    an edit of either around the triggers names the close-out and the entry. Only the
    rows that differ come back: the database compares."""
    breaches: list[Breach] = []
    head = (Journal.code, FiscalYear.year, Entry.number)

    def name(code, year, number) -> str:
        return f"{code} {year} entry {number}"

    def entries(stmt):
        return (stmt.join(Journal, Journal.id == Entry.journal_id).join(FiscalYear, FiscalYear.id == Entry.fiscal_year_id)
                .order_by(Entry.journal_id, Entry.fiscal_year_id, Entry.number))

    # a set difference (EXCEPT), then the few ids it leaves joined by key: closeout_entries
    # has no index by entry alone (its key leads with the close-out), so a NOT EXISTS or an
    # anti join ran as a scan of it for every entry wherever the planner expected few: on
    # SQLite always (25.7 s at 100,000 order lines, the whole check 5.4 s before), on
    # PostgreSQL with statistics older than the close-out (28 s more); the difference is
    # one pass over each, whatever the statistics say
    ids = select(Entry.id).where(Entry.source == "closeout").except_(select(CloseoutEntry.entry_id)).subquery()
    unlisted = select(*head, Entry.description).join(ids, ids.c.id == Entry.id)
    for *entry, description in session.execute(entries(unlisted)):
        breaches.append(Breach(f"{name(*entry)}: posted by a close-out or its undo ({description}), and no close-out lists it"))

    c, e = Closeout, Entry
    as_run = and_(CloseoutEntry.kind == "closeout", or_(e.entry_date != c.closeout_date, e.user_name != c.user_name))
    as_undone = and_(CloseoutEntry.kind == "undo", or_(c.undone_at.is_(None), c.undo_date.is_(None), c.undone_by.is_(None),
                                                       e.entry_date != c.undo_date, e.user_name != c.undone_by))
    stmt = entries(select(*head, c.number, CloseoutEntry.kind, e.source, e.entry_date, e.user_name, c.closeout_date, c.user_name,
                          c.undone_at, c.undo_date, c.undone_by)
                   .select_from(CloseoutEntry).join(c, c.id == CloseoutEntry.closeout_id).join(e, e.id == CloseoutEntry.entry_id)
                   .where(or_(e.source != "closeout", CloseoutEntry.kind.not_in(list(POSTED_BY)), as_run, as_undone)))
    for code, year, number, closeout, kind, source, date, user, run_date, run_by, undone_at, undo_date, undone_by in session.execute(stmt):
        entry = name(code, year, number)
        posted = POSTED_BY.get(kind)
        if posted is None:
            breaches.append(Breach(f"close-out {closeout} lists {entry} as '{kind}', neither posted by it nor by its undo"))
        elif source != "closeout":
            breaches.append(Breach(f"close-out {closeout} lists {entry} as {posted}, an entry no close-out posted ({source})"))
        elif kind == "closeout":
            breaches.append(Breach(f"close-out {closeout} of {run_date} by {run_by}: {entry}, {posted}, is dated {date} "
                                   f"by {user}"))
        elif undone_at is None or undo_date is None or undone_by is None:
            breaches.append(Breach(f"close-out {closeout} is not marked undone, and lists {entry} as {posted}"))
        else:
            breaches.append(Breach(f"close-out {closeout}, undone at {undo_date} by {undone_by}: {entry}, {posted}, is "
                                   f"dated {date} by {user}"))

    twice = (select(CloseoutEntry.entry_id).group_by(CloseoutEntry.entry_id).having(func.count() > 1)).subquery()
    numbers = {}
    for *entry, closeout in session.execute(entries(select(*head, Closeout.number).select_from(Entry)
                                                    .join(twice, twice.c.entry_id == Entry.id)
                                                    .join(CloseoutEntry, CloseoutEntry.entry_id == Entry.id)
                                                    .join(Closeout, Closeout.id == CloseoutEntry.closeout_id))
                                            .order_by(Closeout.number)):
        numbers.setdefault(name(*entry), []).append(str(closeout))
    for entry, listing in numbers.items():
        breaches.append(Breach(f"{entry}: listed by close-outs {' and '.join(listing)}, posted by one"))
    return breaches


def _stored_sum(expression):
    """A sum of scaled columns as the stored integers (no Decimal made per row)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), BigInteger())


SIDES = (("uninvoiced", "written off as never to be invoiced"), ("unreceived", "written off as never to be received"))
"""The two write-offs (Wu, Wv): the side as `purchase.write_offs.unrecorded_documents` names it, and in words."""


def write_off_differences(session: Session, accounts: dict[str, int], *, closeout_id: int | None = None):
    """The statement of `check_write_offs`: per order line whose lowerings, write-offs or
    write-off ledger lines differ from what explains them (the database compares), its
    order and line, the held and the explained quantities and amounts, whether a write-off
    on arrival posted before they were recorded is on it, its id, net price (stored) and
    currency, and whether a close-out stands on it; with `closeout_id`, only that
    close-out's lines (its undo asks, `matching.closeout`)."""
    uninvoiced_id, unreceived_id = (accounts[key] for key in WRITE_OFF_KEYS)
    others = {account for role, account in accounts.items() if role not in WRITE_OFF_KEYS}
    compare_ledger = uninvoiced_id not in others and unreceived_id not in others
    c = CloseoutLine
    standing = (
        select(c.order_line_id.label("olid"),
               _stored_sum(c.to_receive_before - c.to_receive_after).label("lr"), _stored_sum(c.to_invoice_before - c.to_invoice_after).label("li"),
               _stored_sum(c.uninvoiced_units).label("wu"), _stored_sum(c.unreceived_units).label("wv"),
               _stored_sum(c.uninvoiced_amount).label("au"), _stored_sum(c.unreceived_amount).label("av"))
        .join(Closeout, Closeout.id == c.closeout_id).where(Closeout.undone_at.is_(None))
        .group_by(c.order_line_id).subquery()
    )
    w = WriteOffOnArrival
    recorded = (
        select(w.order_line_id.label("olid"), _stored_sum(w.uninvoiced_units).label("wu"), _stored_sum(w.unreceived_units).label("wv"),
               _stored_sum(w.uninvoiced_amount).label("au"), _stored_sum(w.unreceived_amount).label("av"))
        .outerjoin(Closeout, Closeout.number == w.closeout_number)
        .where(or_(w.closeout_number.is_(None), Closeout.undone_at.is_(None)))
        .group_by(w.order_line_id).subquery()
    )
    posted = (  # the uninvoiced-receipts side as a credit, the unreceived-invoices side as a debit
        select(EntryLine.order_line_id.label("olid"),
               _stored_sum(case((EntryLine.account_id == uninvoiced_id, EntryLine.credit - EntryLine.debit), else_=0)).label("au"),
               _stored_sum(case((EntryLine.account_id == unreceived_id, EntryLine.debit - EntryLine.credit), else_=0)).label("av"))
        .where(EntryLine.account_id.in_([uninvoiced_id, unreceived_id]), EntryLine.order_line_id.is_not(None))
        .group_by(EntryLine.order_line_id).subquery()
    )
    # lines a write-off on arrival was posted to before such write-offs were recorded
    unrecorded = unrecorded_postings(EntryLine.order_line_id.label("olid"), accounts=accounts,
                                     until=unrecorded_until(session)).distinct().subquery()
    raw = lambda column: type_coerce(column, BigInteger())
    zero = lambda column: func.coalesce(column, 0)
    lr, li = raw(OrderLine.lowered_receive), raw(OrderLine.lowered_invoice)
    wu, wv = raw(OrderLine.written_off_uninvoiced), raw(OrderLine.written_off_unreceived)
    explained = dict(lr=zero(standing.c.lr), li=zero(standing.c.li), wu=zero(standing.c.wu) + zero(recorded.c.wu),
                     wv=zero(standing.c.wv) + zero(recorded.c.wv), au=zero(standing.c.au) + zero(recorded.c.au),
                     av=zero(standing.c.av) + zero(recorded.c.av))
    held_au, held_av = zero(posted.c.au), zero(posted.c.av)
    if uninvoiced_id == unreceived_id:  # one account: its debit balance (`held_av`, every line) against both sides
        ledger_differs = held_av != explained["av"] - explained["au"]
    else:
        ledger_differs = or_(held_au != explained["au"], held_av != explained["av"])
    written_off_differs = or_(wu != explained["wu"], wv != explained["wv"], *([ledger_differs] if compare_ledger else []))
    stmt = (  # only the lines that differ come back: the database compares
        select(PurchaseOrder.number, OrderLine.line_no, lr, li, wu, wv, *explained.values(), held_au, held_av,
               unrecorded.c.olid.is_not(None), OrderLine.id, raw(OrderLine.net_price), PurchaseOrder.currency,
               standing.c.olid.is_not(None))
        .join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
        .outerjoin(standing, standing.c.olid == OrderLine.id)
        .outerjoin(recorded, recorded.c.olid == OrderLine.id)
        .outerjoin(posted, posted.c.olid == OrderLine.id)
        .outerjoin(unrecorded, unrecorded.c.olid == OrderLine.id)
        .where(or_(lr != explained["lr"], li != explained["li"], and_(unrecorded.c.olid.is_(None), written_off_differs)))
        .order_by(OrderLine.id)
        .execution_options(yield_per=CHUNK)
    )
    if closeout_id is not None:
        stmt = stmt.where(OrderLine.id.in_(select(CloseoutLine.order_line_id).where(CloseoutLine.closeout_id == closeout_id)))
    return stmt


def worthless_unrecorded(session: Session, row, side: str, held: int, by: int, *, until: int, since=None) -> str | None:
    """The receipt or invoice (its number, the oldest) that may have written off, before
    0006, the units by which a line's write-off of `side` exceeds what explains it, where
    those units are worth 0.00 at the line's price (`worth_nothing`: no ledger line shows
    such a write-off, so `unrecorded_postings` cannot find it); None where they are worth
    more, none stands on the line, or no document on it is from before the boundary
    (`until`; with `since`, posted since then). `row` is one of `write_off_differences`."""
    *_, line_id, price, currency, closeout_standing = row
    if not until or not closeout_standing or not worth_nothing(held - by, price, currency):
        return None
    return session.scalar(unrecorded_documents(line_id, side, until=until, since=since).limit(1))


def check_write_offs(session: Session) -> list[Breach]:
    breaches: list[Breach] = []
    accounts = role_account_ids(session)
    uninvoiced_id, unreceived_id = (accounts[key] for key in WRITE_OFF_KEYS)
    others = {account for role, account in accounts.items() if role not in WRITE_OFF_KEYS}
    compare_ledger = uninvoiced_id not in others and unreceived_id not in others
    currency = base_currency(session)
    until = unrecorded_until(session)
    stmt = write_off_differences(session, accounts)

    def quantity(stored: int) -> str:
        return format_quantity(quantity_of(stored))

    def money(stored: int) -> str:
        amount = from_scaled(stored, AMOUNT_SCALE)
        return format_amount(amount, currency) if round_money(amount, currency) == amount else f"{amount:f}"

    for row in session.execute(stmt).all():  # few rows (only lines that differ); a document may be asked of each
        number, line_no, lr, li, wu, wv, e_lr, e_li, e_wu, e_wv, e_au, e_av, p_au, p_av, unrecorded_here = row[:15]
        name = f"order {number} line {line_no}"
        for label, held, by in (("lowered to receive", lr, e_lr), ("lowered to invoice", li, e_li)):
            if held != by:
                breaches.append(Breach(f"{name}: {label} {quantity(held)}, the close-outs standing on it lowered {quantity(by)}"))
        if unrecorded_here:
            continue  # written off on arrival before such write-offs were recorded: no record explains them
        for (side, label), held, by in zip(SIDES, (wu, wv), (e_wu, e_wv)):
            if held != by and not worthless_unrecorded(session, row, side, held, by, until=until):
                breaches.append(Breach(f"{name}: {label} {quantity(held)}, the close-outs standing on it and the "
                                       f"write-offs recorded under them explain {quantity(by)}"))
        if not compare_ledger:
            continue
        if uninvoiced_id == unreceived_id:
            sides = (("uninvoiced receipts / unreceived invoices account holds (debit)", p_av, e_av - e_au),)
        else:
            sides = (("uninvoiced receipts account holds (credit)", p_au, e_au), ("unreceived invoices account holds (debit)", p_av, e_av))
        for label, held, by in sides:
            if held != by:
                breaches.append(Breach(f"{name}: the {label} {money(held)}, the close-outs standing on it and the "
                                       f"write-offs recorded under them put {money(by)} there"))
    return breaches
