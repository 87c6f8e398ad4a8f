"""`pledger demo`: a realistic book, then a close-out through trial, run and undo."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy import func, select

from cli.commands.books import CHECK_PASSED
from cli.commands.closeout import _print_reports
from cli.formats import Column, Table, render_text
from cli.main import cli, fail
from ledger.money import format_amount
from matching.closeout import UndoSelection, run_closeout, undo_closeouts
from matching.demo import build_demo_book
from matching.selection import Selection
from migrations import runner
from matching.checks import check_books
from purchase.lines import LineBook
from purchase.models import PurchaseOrder
from purchase.settings import install_defaults


def _say(text: str) -> None:
    click.echo()
    click.echo(click.style(f"== {text}", bold=True))


def _check(app) -> None:
    with app.transaction(readonly=True) as session:
        breaches = check_books(session)
    if breaches:
        fail(f"check failed: {breaches[0]}")
    click.echo(CHECK_PASSED)


@cli.command()
@click.option("--orders", default=36, show_default=True, type=click.IntRange(9, 10_000), help="Orders to create.")
@click.pass_obj
def demo(app, orders):
    """Build a demo book and walk a close-out through trial, run and undo."""
    today = dt.date.today()
    runner.upgrade(app.engine)
    with app.transaction() as session:
        install_defaults(session, "EUR", today)
        if session.scalar(select(func.count()).select_from(PurchaseOrder)):
            fail("the demo needs an empty database: give a new file, e.g. --db demo.db")
        made = build_demo_book(session, app.user, today.year, orders=orders)
    _say(f"Demo book in {app.db_url}")
    click.echo(f"{made['orders']} orders, {made['receipts']} receipts, {made['invoices']} invoices, {made['entries']} journal entries")
    _check(app)

    selection = Selection(order_date=(None, dt.date(today.year, 6, 30)), sort="supplier")
    _say(f"1. Trial close-out (proef) of every order dated up to {today.year}-06-30, closing fully: nothing is written")
    with app.trial() as session:
        trial = run_closeout(session, selection, user=app.user, date=today, close_fully=True, trial=True)
    _print_reports(app, [trial], "table", None, single=True)

    _say("2. The real close-out (afletteren): the same report, now with its numbers")
    with app.transaction() as session:
        real = run_closeout(session, selection, user=app.user, date=today, close_fully=True)
    _print_reports(app, [real], "table", None, single=True)

    _say(f"3. GR/IR sub-balances of the {real.line_count} closed lines: all exactly zero")
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
    click.echo(render_text(Table(title="", columns=cols, rows=rows)))
    if any(r["gr_balance"] != "0.00" or r["ir_balance"] != "0.00" for r in rows):
        fail("a closed line holds a GR or IR balance: this is a bug, please report it")
    _check(app)

    _say(f"4. Undo close-out {real.closeout} (aflettering ongedaan maken): counter-entries, nothing deleted")
    with app.transaction() as session:
        undone = undo_closeouts(session, UndoSelection(numbers=(real.closeout, real.closeout)), user=app.user, date=today)
    _print_reports(app, undone, "table", None, single=True)
    _check(app)
    click.echo(f"\nThe demo book stays in {app.db_url}: try 'pledger --db ... closeout list' or 'report trial-balance'.")
