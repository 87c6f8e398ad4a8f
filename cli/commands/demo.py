"""`pledger demo`: a realistic book, then a close-out through trial, run and undo, a raised line and a closed order."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import func, inspect, select

from cli.commands.books import CHECK_PASSED
from cli.commands.closeout import print_reports
from cli.formats import Column, Table
from cli.main import cli, fail
from cli.output import chosen_format, emit, format_option, stream_json
from ledger.money import format_amount, format_quantity
from matching.closeout import UndoSelection, run_closeout, undo_closeouts
from matching.demo import build_demo_book
from matching.order_close import close_order, describe
from matching.selection import Selection
from migrations import runner
from matching.checks import check_books
from purchase.documents import DocLine, DocumentPoster, ReceiptDoc
from purchase.lines import LineBook
from purchase.models import PurchaseOrder
from purchase.orders import raise_lines
from purchase.settings import install_defaults


class _Narrator:
    """The demo's story: on stdout as a table walk-through; on stderr when stdout carries
    JSON or CSV for a script, which then reads only data there."""

    def __init__(self, fmt: str):
        self.err = fmt != "table"

    def say(self, text: str) -> None:
        click.echo(err=self.err)
        click.echo(click.style(f"== {text}", bold=True), err=self.err)

    def tell(self, text: str) -> None:
        click.echo(text, err=self.err)


def _check(app, narrator: _Narrator) -> str:
    with app.transaction(readonly=True) as session:
        breaches = check_books(session)
    if breaches:
        fail(f"check failed: {breaches[0]}")
    narrator.tell(CHECK_PASSED)
    return "passed"


NOT_EMPTY = "the demo needs an empty database: give a new file, e.g. 'pledger --db demo.db demo'"


def _print(app, reports, fmt: str) -> None:
    """Print posting reports as the run prints them; as CSV followed by a blank line, which
    parts them from the demo's next tables (a report's CSV ends with its last row, as its
    `--report FILE.csv` does)."""
    print_reports(app, reports, fmt, None, single=True)
    if fmt == "csv":
        click.echo()


def _holds_orders(engine) -> bool:
    """Whether the database holds orders, read before any migration runs: the orders table
    is there from the first migration, so this reads a book at any revision."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(PurchaseOrder.__tablename__):
            return False
        return bool(connection.scalar(select(func.count()).select_from(PurchaseOrder.__table__)))


@cli.command()
@click.option("--orders", default=36, show_default=True, type=click.IntRange(9, 10_000), help="Orders to create, besides one left new and one cancelled.")
@format_option
@click.pass_obj
def demo(app, orders, output_format):
    """Build a demo book and walk a close-out through trial, run and undo; then raise a line
    for an over-delivery and close an order whose missing goods will not come.

    It needs a database holding no orders: give a new file ('pledger --db demo.db demo').

    As a table, the walk-through with each posting report. As JSON, one object: the book
    made, the trial's, the run's and the undo's posting reports, the closed lines'
    balances, the raised line, the closed order with its close-out's report, and each
    check; as CSV, those reports' and balances' tables, a blank line between. With JSON or
    CSV the story goes to stderr.
    """
    fmt = chosen_format(app, output_format)
    narrator = _Narrator(fmt)
    today = dt.date.today()
    if _holds_orders(app.engine):  # before the upgrade: a refused demo leaves an older pledger's tables as they were
        fail(NOT_EMPTY)
    before, after = runner.upgrade(app.engine)
    app.committed_apart(before != after)
    # its steps run in plain transactions, not again when another writer is in the way
    # (`app.run_in_transaction`): one given up after five tries would say "nothing was
    # written" of a book the steps before it committed. The demo's database is new and its own.
    with app.transaction() as session:
        install_defaults(session, "EUR", today)
        if session.scalar(select(func.count()).select_from(PurchaseOrder)):
            fail(NOT_EMPTY)
        made = build_demo_book(session, app.user, today.year, orders=orders)
    narrator.say(f"Demo book in {app.shown_url}")
    narrator.tell(f"{made['orders']} orders, {made['receipts']} receipts, {made['invoices']} invoices, {made['entries']} journal entries")
    checks = {"book": _check(app, narrator)}

    selection = Selection(order_date=(None, dt.date(today.year, 6, 30)), sort="supplier")
    narrator.say(f"1. Trial close-out (proef) of every order dated up to {today.year}-06-30, closing fully: nothing is written")
    with app.trial() as session:
        trial = run_closeout(session, selection, user=app.user, date=today, close_fully=True, trial=True)
    if fmt != "json":
        _print(app, [trial], fmt)

    narrator.say("2. The real close-out (afletteren): the same report, now with its numbers")
    with app.transaction() as session:
        real = run_closeout(session, selection, user=app.user, date=today, close_fully=True)
    if fmt != "json":
        _print(app, [real], fmt)

    narrator.say(f"3. GR/IR sub-balances of the {real.line_count} closed lines: all exactly zero")
    with app.transaction(readonly=True) as session:
        book = LineBook(session)
        book.load_keys((l["order"], l["line"]) for l in real.lines)
        rows = [
            {"order": r.order_number, "line": r.line_no, "supplier": r.supplier_code,
             "to_receive": r.state.to_receive, "to_invoice": r.state.to_invoice,
             "gr_balance": format_amount(r.state.gr_balance, r.currency), "ir_balance": format_amount(r.state.ir_balance, r.currency)}
            for r in sorted(book.by_id.values(), key=lambda r: (r.order_number, r.line_no))
        ]
    cols = [Column("order", "order"), Column("line", "line", "int"), Column("supplier", "supplier"),
            Column("to_receive", "to receive", "quantity"), Column("to_invoice", "to invoice", "quantity"),
            Column("gr_balance", "GR balance"), Column("ir_balance", "IR balance")]
    if fmt != "json":
        emit(fmt, Table(title="", columns=cols, rows=rows))
        if fmt == "csv":
            click.echo()
    if any(r["gr_balance"] != "0.00" or r["ir_balance"] != "0.00" for r in rows):
        fail("a closed line holds a GR or IR balance: this is a bug, please report it")
    checks["closeout"] = _check(app, narrator)

    narrator.say(f"4. Undo close-out {real.closeout} (aflettering ongedaan maken): counter-entries, nothing deleted")
    with app.transaction() as session:
        undone = undo_closeouts(session, UndoSelection(numbers=(real.closeout, real.closeout)), user=app.user, date=today)
    if fmt != "json":
        _print(app, undone, fmt)
    checks["undo"] = _check(app, narrator)

    year = today.year  # the demo's orders 7 and 8 are dated in July and August, outside the close-out above
    over, short = f"PO-{year}-008", f"PO-{year}-007"
    def line_one(session):  # the over-delivered line's state as it stands
        book = LineBook(session)
        book.load_keys([(over, 1)])
        return book.get(over, 1).state

    with app.transaction() as session:
        was = line_one(session)
        delivered = was.to_receive + was.ordered / 10  # the rest, and a tenth of the order more
        narrator.say(f"5. An over-delivery (bestelregel verhogen): {over} line 1 raised first, then received")
        (raised,) = raise_lines(session, over, {1: was.ordered + was.ordered / 10}, user=app.user,
                                reason="demo: the delivery note brought a tenth more")
        DocumentPoster(session, app.user).post_receipts([ReceiptDoc(f"R-{over}-OVER", today, [DocLine(over, 1, delivered)])])
        now = line_one(session)
    narrator.tell(f"order {over} line 1: ordered {format_quantity(raised.before)} -> {format_quantity(raised.after)}; "
                  f"receipt R-{over}-OVER: {format_quantity(delivered)} received; to receive now "
                  f"{format_quantity(now.to_receive)}, to invoice {format_quantity(now.to_invoice)}")
    checks["raise"] = _check(app, narrator)

    narrator.say(f"6. What is missing will not come (bestelling afsluiten): {short} closed out, its invoices already in")
    with app.transaction() as session:
        closed = close_order(session, short, user=app.user, date=today, not_coming=True)
    if fmt != "json":
        _print(app, [closed.report], fmt)
    narrator.tell(describe(closed))
    checks["close"] = _check(app, narrator)
    if fmt == "json":
        stream_json({"db": app.shown_url, "book": made, "trial": trial.json_view(), "closeout": real.json_view(),
                     "closed_lines": rows, "undo": undone[0].json_view(),
                     "raised": {"order": over, "line": 1, **{k: format_quantity(v) for k, v in (
                         ("before", raised.before), ("after", raised.after), ("received", delivered),
                         ("to_receive", now.to_receive), ("to_invoice", now.to_invoice))}},
                     "order_closed": {"order": short, "before": closed.before, "after": closed.after,
                                      "closeout": closed.report.json_view()},
                     "checks": checks},
                    lambda text: click.echo(text, nl=False))
        click.echo()
    narrator.tell(f"\nThe demo book stays in {app.shown_url}: try 'pledger --db ... closeout list' or 'report trial-balance'.")
