"""Looking at orders: `po show`, `po list`, the lifecycle actions, `report grir` and `report backorders`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import click

from cli.commands.books import report
from cli.commands.closeout import print_reports, report_option
from cli.formats import Column, RowsOf, Table, check_table_file, folder_given, write_table_file
from cli.main import cli, fail
from cli.output import change_table, chosen_format, dumps, emit, emit_done, format_option
from cli.params import DATE, ORDER_NUMBER, DATE_RANGE, TEXT_RANGE, not_blank, not_one_line, refuse_the_books
from cli.progress import TerminalProgress
from ledger.clock import local_text
from ledger.money import ZERO, counted, format_quantity, round_money
from ledger.posting import base_currency
from matching.booked import latest_booked
from matching.order_close import lines_named
from matching.order_view import order_view
from matching.selection import Selection, unknown_value_notes
from purchase import orders as order_rules
from purchase.views import BACKORDER_SORTS, backorder_rows, grir_rows, list_orders

REPORT_SUFFIXES = (".pdf", ".xlsx", ".csv")


def _bound(value):
    """A `cli.params.Range` as the (low, high) pair the views take; None stays None."""
    return None if value is None else (value.low, value.high)


def _describe(label: str, value) -> str | None:
    return None if value is None else f"{label} {value.describe()}"


def _q(quantity: Decimal) -> str:
    """A quantity as exact JSON text: "2.5", "10"."""
    return format_quantity(quantity)


def _price(price: Decimal, currency: str) -> Decimal:
    """A unit price at the currency's decimals when that is exact ("100.00"), else as precise as it is."""
    rounded = round_money(price, currency)
    if rounded == price:
        return rounded
    return price.normalize()


def _report_file(path: str | None, output_format: str | None = None, db_url: str | None = None) -> str | None:
    """-o FILE: a report file of a type the name says; with --format besides, a usage mistake
    (the file's type comes from its name: the --format was dropped without a word); so is
    one that is the SQLite books (`refuse_the_books`: `--db books.csv report grir -o books.csv`
    wrote the report over them)."""
    if path is not None and Path(path).name.lower() in REPORT_SUFFIXES:  # -o "$NAME.pdf" with NAME unset
        such = Path(path).with_name("report" + Path(path).name.lower())
        raise click.BadParameter(f"'{path}' names only a file type: give the file a name, such as {such}", param_hint="'-o'")
    if path is not None and not path.lower().endswith(REPORT_SUFFIXES):
        if not Path(path).suffix and Path(path).is_dir():  # '/tmp': said as --report and po export -o say it
            raise click.BadParameter(folder_given(path, "report.pdf"), param_hint="'-o'")
        raise click.BadParameter(f"'{path}' is not a .pdf, .xlsx or .csv file", param_hint="'-o'")
    if path is not None and output_format is not None:
        raise click.UsageError(f"give -o {path} (its type from its name) or --format {output_format}, not both")
    if db_url is not None:
        refuse_the_books(db_url, path, "-o")
    return path


# -- po -----------------------------------------------------------------------------------


@cli.group()
def po():
    """Purchase orders (bestellingen): show, list and move them through their lifecycle."""


@po.command("show")
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@format_option
@click.pass_obj
def po_show(app, number, output_format):
    """An order: header, lines with their quantities, GR/IR balances, receipts, invoices, close-outs."""
    with app.transaction(readonly=True) as session:
        view = order_view(session, number)
    fmt = chosen_format(app, output_format)
    head = view.header
    currency = head.currency
    lines_table = Table(
        title=f"Order {head.number}",
        subtitle=f"{head.supplier} {head.supplier_name}, {head.order_date.isoformat()}, {head.status}",
        columns=[
            Column("line", "line", "int"), Column("item", "item"), Column("description", "description"),
            Column("unit_price", "unit price", "price"), Column("ordered", "ordered", "quantity"),
            Column("received", "received", "quantity"), Column("invoiced", "invoiced", "quantity"),
            Column("to_receive", "to receive", "quantity"), Column("to_invoice", "to invoice", "quantity"),
            Column("gr_balance", "GR (credit)", "amount"), Column("ir_balance", "IR (debit)", "amount"),
        ],
        rows=[
            {
                "line": l.line, "item": l.item, "description": l.description, "unit_price": _price(l.unit_price, currency),
                "ordered": l.ordered, "received": l.received, "invoiced": l.invoiced,
                "to_receive": l.to_receive, "to_invoice": l.to_invoice,
                "gr_balance": l.gr_balance, "ir_balance": l.ir_balance,
            }
            for l in view.lines
        ],
        totals={
            "gr_balance": sum((l.gr_balance for l in view.lines), ZERO),
            "ir_balance": sum((l.ir_balance for l in view.lines), ZERO),
        },
    )
    if fmt == "json":
        click.echo(dumps(_order_json(view)))
        return
    if fmt == "csv":
        emit("csv", lines_table)
        return
    click.echo(f"Order {head.number}  ({head.status})")
    for label, value in (
        ("supplier", f"{head.supplier} {head.supplier_name}"),
        ("order date", head.order_date.isoformat()),
        ("currency", currency),
        ("reference", head.reference),
        ("buyer", head.buyer),
        ("drop-shipment", "yes" if head.drop_shipment else ""),
        ("editable", "yes" if head.editable else "no"),
        ("allowed now", order_rules.actions_said(head.status, head.actions)),
        ("imported", head.imported and f"import {head.imported.number} by {head.imported.user}, "
                                       f"{local_text(head.imported.imported_at)}"),
    ):
        if value:
            click.echo(f"  {label + ':':<15}{value}")
    click.echo()
    emit("table", Table(title="", columns=lines_table.columns, rows=lines_table.rows, totals=lines_table.totals))
    documents = _documents_table(view)
    if documents.rows:
        click.echo()
        emit("table", documents)


def _by(document) -> str:
    """Who posted a receipt or invoice, and the import it came with."""
    return f"by {document.user}" + (f", import {document.import_id}" if document.import_id is not None else "")


def _documents_table(view) -> Table:
    rows = []
    for l in view.lines:
        for r in l.receipts:
            rows.append({"line": l.line, "kind": "return" if r.quantity < ZERO else "receipt", "number": r.number,
                         "date": r.date, "quantity": r.quantity, "amount": None, "detail": _by(r)})
        for i in l.invoices:
            rows.append({"line": l.line, "kind": "credit note" if i.credit_note else "invoice", "number": i.number,
                         "date": i.date, "quantity": i.quantity, "amount": i.amount,
                         "detail": f"supplier's number {i.supplier_invoice}, {_by(i)}"})
        for r in l.raises:
            when = local_text(r.raised_at)
            rows.append({"line": l.line, "kind": "raise", "number": "", "date": dt.date.fromisoformat(when[:10]),
                         "quantity": r.after - r.before, "amount": None,
                         "detail": f"ordered {_q(r.before)} -> {_q(r.after)}, by {r.user}, {when}"
                                   + (f": {r.reason}" if r.reason else "")})
        for c in view.closeouts_of(l):
            detail = (f"to receive {_q(c.to_receive_before)} -> {_q(c.to_receive_after)}, "
                      f"to invoice {_q(c.to_invoice_before)} -> {_q(c.to_invoice_after)}, by {c.user}")
            if c.undone:
                detail += f"; undone{' on ' + c.undo_date.isoformat() if c.undo_date else ''}"
            rows.append({"line": l.line, "kind": "close-out", "number": str(c.number), "date": c.date,
                         "quantity": None, "amount": None, "detail": detail})
    rows.sort(key=lambda r: (r["line"], r["date"]))
    return Table(
        title="Documents and close-outs per line",
        columns=[Column("line", "line", "int"), Column("kind", "kind"), Column("number", "number"), Column("date", "date", "date"),
                 Column("quantity", "quantity", "quantity"), Column("amount", "amount", "amount"), Column("detail", "detail")],
        rows=rows,
    )


def _order_json(view) -> dict:
    head = view.header
    currency = head.currency
    lines = []
    for l in view.lines:
        lines.append({
            "line": l.line,
            "item": l.item,
            "description": l.description,
            "unit_price": _price(l.unit_price, currency),  # the net price, after the line discount
            "list_price": _price(l.list_price, currency),
            "discount_pct": _q(l.discount_pct),
            "vat_rate": _q(l.vat_rate),
            "expected_date": l.expected_date,
            "ordered": _q(l.ordered),
            "received": _q(l.received),
            "invoiced": _q(l.invoiced),
            "to_receive": _q(l.to_receive),
            "to_invoice": _q(l.to_invoice),
            "gr_balance": round_money(l.gr_balance, currency),
            "ir_balance": round_money(l.ir_balance, currency),
            "open": l.is_open,
            "receipts": [{"number": r.number, "date": r.date, "quantity": _q(r.quantity), "user": r.user,
                          "import": r.import_id} for r in l.receipts],
            "invoices": [
                {"number": i.number, "supplier_invoice": i.supplier_invoice, "date": i.date, "quantity": _q(i.quantity),
                 "amount": round_money(i.amount, currency), "user": i.user, "import": i.import_id}
                for i in l.invoices
            ],
            "closeouts": [
                {"number": c.number, "date": c.date, "user": c.user,
                 "to_receive_before": _q(c.to_receive_before), "to_receive_after": _q(c.to_receive_after),
                 "to_invoice_before": _q(c.to_invoice_before), "to_invoice_after": _q(c.to_invoice_after),
                 "undone": c.undone, "undo_date": c.undo_date, "undone_by": c.undone_by}
                for c in view.closeouts_of(l)
            ],
            "raises": [{"ordered_before": _q(r.before), "ordered_after": _q(r.after), "reason": r.reason, "user": r.user,
                        "raised_at": local_text(r.raised_at)} for r in l.raises],
        })
    return {
        "number": head.number,
        "supplier": head.supplier,
        "supplier_name": head.supplier_name,
        "order_date": head.order_date,
        "status": head.status,
        "currency": currency,
        "reference": head.reference,
        "buyer": head.buyer,
        "drop_shipment": head.drop_shipment,
        "editable": head.editable,
        "actions": list(head.actions),
        "import": head.imported and {"number": head.imported.number, "user": head.imported.user,
                                     "imported_at": local_text(head.imported.imported_at)},
        "lines": lines,
    }


@po.command("list")
@click.option("--supplier", type=TEXT_RANGE, default=None, help="Supplier code or range A..B.")
@click.option("--order-date", type=DATE_RANGE, default=None, help="Order date or range A..B (YYYY-MM-DD).")
@click.option("--status", type=click.Choice(order_rules.STATUSES), default=None, help="Only orders in this status.")
@click.option("--open", "open_only", is_flag=True, help="Only orders with an open line.")
@format_option
@click.pass_obj
def po_list(app, supplier, order_date, status, open_only, output_format):
    """Orders by number, with their line count, open lines and ordered amount."""
    with TerminalProgress("reading orders") as progress:  # a bar while their lines are read, then the orders printed
        with app.transaction(readonly=True) as session:
            found = list_orders(session, supplier=_bound(supplier), order_date=_bound(order_date), status=status,
                                open_only=open_only, progress=progress)
            notes = unknown_value_notes(session, Selection(supplier=_bound(supplier)))
        rows = RowsOf(found, lambda o: {  # made as they are written: `found` is kept on disk past a chunk
            "order": o.number, "supplier": o.supplier, "supplier_name": o.supplier_name, "order_date": o.order_date,
            "status": o.status, "currency": o.currency, "lines": o.lines, "open_lines": o.open_lines,
            "amount": round_money(o.amount, o.currency)}, progress.stage("writing"))
        selection = [d for d in (_describe("supplier", supplier), _describe("order date", order_date),
                                 f"status {status}" if status else None, "open only" if open_only else None) if d]
        table = Table(
            title="Purchase orders",
            subtitle=", ".join(selection) or None,
            columns=[Column("order", "order"), Column("supplier", "supplier"), Column("supplier_name", "name"),
                     Column("order_date", "order date", "date"), Column("status", "status"), Column("currency", "cur"),
                     Column("lines", "lines", "int"), Column("open_lines", "open", "int"), Column("amount", "amount", "amount")],
            rows=rows,
        )
        emit(chosen_format(app, output_format), table, progress=progress)
    _say(notes)


def _say(notes: list[str]) -> None:
    """Notes for the person, on stderr (stdout stays what a script reads): a supplier or item
    code the books do not hold, as the close-out's selection says it (`unknown_value_notes`)."""
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _lifecycle_command(action: str, help_text: str):
    @po.command(action, help=help_text)
    @click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
    @format_option
    @click.pass_obj
    def command(app, number, output_format):
        def work(session):
            order = order_rules.get_order(session, number, lock=True)  # its status as it stands once ours to change
            before = order.status
            order_rules.apply(session, number, action)
            return before, order.status

        before, after = app.run_in_transaction(work)
        moved = {"order": number, "before": before, "after": after}  # as po close and po raise give it
        emit_done(chosen_format(app, output_format), [f"order {number}: {before} -> {after}"], moved,
                  change_table("order", "order", [moved]))

    return command


for _action, _help in (
    ("order", "Send a new order to the supplier (new -> ordered)."),
    ("confirm", "The supplier confirmed the order (ordered -> confirmed); it can no longer be edited."),
    ("backorder", "The supplier puts the order on backorder (partial backorder when some was received)."),
    ("ship", "A drop-shipment order was shipped to the customer."),
    ("cancel", "Cancel an order that no receipt or invoice touched."),
):
    _lifecycle_command(_action, _help)


@po.command("raise")
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@click.option("--line", "lines", multiple=True, required=True,
              help="N=QUANTITY: line N's new ordered quantity, above what it is (repeat for more lines).")
@click.option("--reason", default="", help="Why, kept with the raise (for example the delivery note that brought more).")
@format_option
@click.pass_obj
def po_raise(app, number, lines, reason, output_format):
    """Raise order lines for an over-delivery (bestelregel verhogen): more came than was
    ordered. Posts nothing; the line then expects the rest, to receive and to invoice."""
    new_quantities = {line_no: quantity for line_no, (quantity, _) in _line_overrides(lines, with_price=False).items()}
    if len(reason) > 255:
        raise click.BadParameter("at most 255 characters", param_hint="--reason")
    if (what := not_one_line(reason)) is not None:  # shown in po show's table: an ESC would drive the terminal
        raise click.BadParameter(f"holds {what}: a reason is one line of text", param_hint="--reason")

    def work(session):
        before = order_rules.get_order(session, number, lock=True).status  # as it stands once ours to change
        raised = order_rules.raise_lines(session, number, new_quantities, user=app.user, reason=reason)
        return before, raised, order_rules.status_of(session, number)

    before, raised, after = app.run_in_transaction(work)
    said = [f"order {number} line {r.line}: ordered {_q(r.before)} -> {_q(r.after)}" for r in raised]
    said += [f"order {number}: {before} -> {after}"] if after != before else []
    rows = [{"order": number, "line": r.line, "before": r.before, "after": r.after} for r in raised]
    emit_done(chosen_format(app, output_format), said,
              {"order": number, "reason": reason, "status_before": before, "status_after": after,
               "raised": [{"line": r.line, "ordered_before": _q(r.before), "ordered_after": _q(r.after)} for r in raised]},
              Table(title="", columns=[Column("order", "order"), Column("line", "line", "int"),
                                       Column("before", "ordered before", "quantity"), Column("after", "ordered after", "quantity")],
                    rows=rows))
    _say([note for r in raised if (note := order_rules.raise_note(number, r)) is not None])


@po.command("close")
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@click.option("--not-coming", is_flag=True,
              help="What remains to receive will not come: close it out (a close-out, undone by its number).")
@click.option("--assume-delivered", is_flag=True,
              help="An order with no receipt: take it as delivered in full (a receipt of every open quantity; needs --receipt).")
@click.option("--receipt", "receipt_number", default=None, callback=not_blank("give the number of the receipt --assume-delivered posts"),
              help="With --assume-delivered: the receipt's number.")
@click.option("--date", "close_date", type=DATE, default=None, help="Posting date of the close-out or receipt (default today).")
@click.option("--trial", is_flag=True,
              help="Show what the close-out (--not-coming) would post or the receipt (--assume-delivered) would receive; "
                   "commit nothing.")
@report_option("With --not-coming: also write the posting report: .pdf .xlsx .csv .json")
@format_option
@click.pass_obj
def po_close(app, number, not_coming, assume_delivered, receipt_number, close_date, trial, report_path, output_format):
    """Close an order (afsluiten). Its lines all closed: the status only. Lines still expecting
    goods: --not-coming closes out what remains to receive; --assume-delivered receives it in
    full (an order with no receipt)."""
    from matching.order_close import close_order, describe

    if not_coming and assume_delivered:
        raise click.UsageError("give --not-coming or --assume-delivered, not both")
    if assume_delivered and not receipt_number:
        raise click.UsageError("--assume-delivered posts a receipt: give its number with --receipt")
    if receipt_number and not assume_delivered:
        raise click.UsageError("--receipt names the receipt of --assume-delivered: give that too")
    if trial and not (not_coming or assume_delivered):
        raise click.UsageError("--trial goes with --not-coming or --assume-delivered (closing the status alone posts nothing)")
    if close_date and not (not_coming or assume_delivered):
        raise click.UsageError("--date dates what --not-coming or --assume-delivered posts (closing the status alone posts nothing)")
    if report_path and not not_coming:
        raise click.UsageError("--report goes with --not-coming (a close-out, with its posting report)")
    if report_path:
        refuse_the_books(app.db_url, report_path, "--report")
        check_table_file(report_path, writable=True)  # refused before the close-out: the report is written after the commit
    closed = app.run_in_transaction(
        lambda session: close_order(session, number, user=app.user, date=close_date or dt.date.today(), not_coming=not_coming,
                                    assume_delivered=receipt_number if assume_delivered else None, trial=trial),
        trial=trial)
    status = describe(closed) + (" (trial: nothing written)" if trial else "")
    if closed.report is not None:
        print_reports(app, [closed.report], output_format, report_path, single=True)
        click.echo(status, err=chosen_format(app, output_format) != "table")  # stdout stays the report a script reads
        return
    fmt = chosen_format(app, output_format)
    received = "would be received" if trial else "received"
    rows = [{"order": number, "line": line.line, "quantity": line.quantity} for line in closed.received]
    emit_done(fmt, [f"receipt {receipt_number}: order {number} line {r['line']}: {_q(r['quantity'])} {received}" for r in rows]
              + [status],
              {"order": number, "before": closed.before, "after": closed.after, "trial": trial,
               "receipt": receipt_number if assume_delivered else None,
               "received": [{"line": r["line"], "quantity": _q(r["quantity"])} for r in rows],
               "still_to_invoice": _q(closed.still_to_invoice),
               "still_to_invoice_by_line": [{"line": n, "quantity": _q(q)} for n, q in closed.to_invoice_by_line]},
              Table(title="", columns=[Column("order", "order"), Column("line", "line", "int"),
                                       Column("quantity", "received", "quantity")], rows=rows))
    if fmt != "table":  # for a script the data on stdout, for the person the status line on stderr
        click.echo(status, err=True)


# -- report grir / report backorders -----------------------------------------------------


@report.command("grir")
@click.option("--as-of", type=DATE, default=None, help="Balances from entries dated on or before this date.")
@click.option("-o", "--output", "path", default=None, help="Write FILE.pdf, FILE.xlsx or FILE.csv instead of printing.")
@format_option
@click.pass_obj
def report_grir(app, as_of, path, output_format):
    """Open GR and IR sub-balances per order line, with their age, tied to the ledger.

    GR (goederen ontvangen): received, not yet invoiced; IR (ontvangen facturen): invoiced,
    not yet received.
    """
    path = _report_file(path, output_format, app.db_url)
    with TerminalProgress("reading GR/IR lines") as progress:  # a bar while the lines are read, then written
        with app.transaction(readonly=True) as session:
            result = grir_rows(session, as_of, progress=progress)
        currency = result.currency
        rows = RowsOf(result.rows, lambda r: {
            "supplier": r.supplier, "order": r.order, "line": r.line, "item": r.item,
            "gr_balance": round_money(r.gr_balance, currency), "ir_balance": round_money(r.ir_balance, currency),
            "since": r.since, "age_days": r.age_days}, progress.stage("writing"))
        totals = {"gr_balance": round_money(result.gr_total, currency), "ir_balance": round_money(result.ir_total, currency)}
        if result.one_account:
            ledger_text = f"GR/IR account {result.gr_account}: {result.ledger_ir} (debit +)"
        else:
            ledger_text = (f"ledger: goods received {result.gr_account} {result.ledger_gr} credit, "
                           f"invoices received {result.ir_account} {result.ledger_ir} debit")
        tie_text = "ties out with the lines" if result.ties else "DOES NOT tie out with the lines: run 'pledger check'"
        title = "GR/IR sub-balances" + (f" as of {as_of.isoformat()}" if as_of else "")
        table = Table(
            title=title,
            subtitle=f"{ledger_text}; {tie_text}",
            columns=[Column("supplier", "supplier"), Column("order", "order"), Column("line", "line", "int"), Column("item", "item"),
                     Column("gr_balance", "GR (credit)", "amount"), Column("ir_balance", "IR (debit)", "amount"),
                     Column("since", "open since", "date"), Column("age_days", "age (days)", "int")],
            rows=rows,
            totals=totals,
            # a worksheet's name holds 31 characters: the title's would lose the day it is of
            sheet=f"GR IR as of {as_of.isoformat()}" if as_of else None,
        )
        if path is not None:
            _write_report(table, path, title, progress)
            return
        json_data = {
            "as_of": as_of,
            "currency": currency,
            "rows": rows,
            "totals": totals,
            "ledger": {
                "goods_received": {"account": result.gr_account, "balance": result.ledger_gr},
                "invoices_received": {"account": result.ir_account, "balance": result.ledger_ir},
            },
            "ties": result.ties,
        }
        emit(chosen_format(app, output_format), table, json_data=json_data, progress=progress)


@report.command("backorders")
@click.option("--supplier", type=TEXT_RANGE, default=None, help="Supplier code or range A..B.")
@click.option("--item", type=TEXT_RANGE, default=None, help="Item code or range A..B.")
@click.option("--order-date", type=DATE_RANGE, default=None, help="Order date or range A..B (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(BACKORDER_SORTS), default="item", show_default=True,
              help="item = item, supplier, date; amount = largest first.")
@click.option("-o", "--output", "path", default=None, help="Write FILE.pdf, FILE.xlsx or FILE.csv instead of printing.")
@format_option
@click.pass_obj
def report_backorders(app, supplier, item, order_date, sort, path, output_format):
    """Order lines still expecting goods: what is in backorder and its value."""
    path = _report_file(path, output_format, app.db_url)
    with TerminalProgress("reading backorders") as progress:  # a bar while the lines are read, then written
        with app.transaction(readonly=True) as session:
            found = backorder_rows(session, supplier=_bound(supplier), item=_bound(item), order_date=_bound(order_date), sort=sort,
                                   progress=progress)
            latest = latest_booked(session)
            base = base_currency(session)
            notes = unknown_value_notes(session, Selection(supplier=_bound(supplier)), item=_bound(item))
        rows = RowsOf(found.rows, lambda r: {
            "supplier": r.supplier, "supplier_name": r.supplier_name, "order": r.order, "line": r.line,
            "order_date": r.order_date, "expected_date": r.expected_date, "item": r.item, "description": r.description,
            "unit_price": _price(r.unit_price, r.currency), "ordered": r.ordered, "received": r.received,
            "in_backorder": r.in_backorder, "backorder_amount": round_money(r.backorder_amount, r.currency)},
            progress.stage("writing"))
        currencies = found.currencies
        totals = None
        if len(currencies) == 1:  # the amounts are at the currency's minor unit (`value_of`), as shown
            totals = {"backorder_amount": found.amount_total}
        elif not currencies:  # nothing in backorder: a total of nothing, so that a CSV always ends with its Total row
            totals = {"backorder_amount": round_money(ZERO, base)}
        selection = [d for d in (_describe("supplier", supplier), _describe("item", item), _describe("order date", order_date)) if d]
        subtitle = (", ".join(selection) or "all suppliers, items and dates") + f"; sorted by {sort}; {counted(len(rows), 'line')}"
        subtitle += _as_booked(dt.date.today(), latest)
        subtitle += f"; amounts in {', '.join(sorted(currencies or {base}))}"
        table = Table(
            title="Backorders",
            subtitle=subtitle,
            columns=[
                Column("supplier", "supplier"), Column("supplier_name", "name"), Column("order", "order"),
                Column("line", "line", "int"), Column("order_date", "order date", "date"),
                Column("expected_date", "expected", "date"), Column("item", "item"), Column("description", "description"),
                Column("unit_price", "unit price", "price"), Column("ordered", "ordered", "quantity"),
                Column("received", "received", "quantity"), Column("in_backorder", "in backorder", "quantity"),
                Column("backorder_amount", "backorder amount", "amount"),
            ],
            rows=rows,
            totals=totals,
        )
        if path is not None:
            if path.lower().endswith(".pdf") and not found.expected_dates:
                # on paper an empty column only takes room; spreadsheets keep their columns fixed
                table = replace(table, columns=[c for c in table.columns if c.key != "expected_date"])
            _write_report(table, path, "Backorders", progress)
        else:
            emit(chosen_format(app, output_format), table, progress=progress)
    _say(notes)


def _as_booked(today: dt.date, latest: dt.date | None) -> str:
    """When the backorders are: on today's date, unless a receipt, close-out or undo is dated
    after it. The report counts every one booked (the state after them all), so it then
    says so and names the latest date, rather than "open on" a day whose state it is not."""
    if latest is None or latest <= today:
        return f"; open on {today.isoformat()}"
    return f"; open after every receipt and close-out booked (the latest dated {latest.isoformat()}, after today {today.isoformat()})"


def _write_report(table: Table, path: str, title: str, progress: TerminalProgress) -> None:
    """Write a report's table to the file, its bar shown while it is written; say so."""
    try:
        write_table_file([table], path, document_title=title)
    finally:
        progress.finish()
    click.echo(f"wrote {path}: {counted(len(table.rows), 'line')}")


def _line_overrides(values: tuple[str, ...], with_price: bool) -> dict[int, tuple]:
    """--line N=Q or (invoices) N=Q@PRICE, each a usage error when it cannot be read."""
    from ledger.money import D, MoneyError

    out = {}
    for value in values:
        try:
            number, rest = value.split("=", 1)
            quantity, at, price = rest.partition("@")
            if at and (not price or not with_price):  # N=Q@ names no price: not the order's by default
                raise ValueError
            line_no, given = int(number), (D(quantity), D(price) if price else None)
        except (ValueError, MoneyError):
            form = "N=QUANTITY[@PRICE]" if with_price else "N=QUANTITY"
            raise click.BadParameter(f"'{value}' is not {form}", param_hint="--line") from None
        if line_no in out:  # the last one would have been taken without a word
            raise click.BadParameter(f"line {line_no} is given twice ('{value}'): give each line once", param_hint="--line")
        out[line_no] = given
    return out


def _document_lines(session, number: str, kind: str, overrides: dict) -> list:
    from purchase.documents import DocLine, proposed_lines

    proposed = proposed_lines(session, number, kind)
    # a return or credit note (a line given back) takes the lines it names and no other: the
    # others' open quantities are not what a supplier's credit note or a return holds
    giving_back = any(quantity < 0 for quantity, _ in overrides.values())
    lines = {} if giving_back else {l.line: l for l in proposed}
    for line_no, (quantity, price) in overrides.items():
        if quantity == 0:
            lines.pop(line_no, None)  # N=0 leaves the line out of this document
        else:
            lines[line_no] = DocLine(number, line_no, quantity, unit_price=price)
    if not lines:
        if proposed:  # every line still open was given as N=0
            fail(f"order {number}: every line it expects more on was left out (N=0): nothing to "
                 f"{'receive' if kind == 'receipt' else 'invoice'}")
        fail(f"order {number} expects nothing more to {'receive' if kind == 'receipt' else 'invoice'}")
    return [lines[k] for k in sorted(lines)]


@po.command("receive")
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@click.option("--receipt", "receipt_number", required=True, callback=not_blank("give the receipt's number"), help="Receipt number.")
@click.option("--date", "doc_date", type=DATE, default=None, help="Receipt date (default today).")
@click.option("--line", "lines", multiple=True, help="N=QUANTITY instead of the open quantity (0: leave out; negative: a return, which takes only the lines named).")
@format_option
@click.pass_obj
def po_receive(app, number, receipt_number, doc_date, lines, output_format):
    """Receive an order's open quantities, line by line (or as given with --line)."""
    from purchase.documents import DocumentPoster, ReceiptDoc

    overrides = _line_overrides(lines, with_price=False)
    def work(session):
        doc_lines = _document_lines(session, number, "receipt", overrides)
        DocumentPoster(session, app.user).post_receipts([ReceiptDoc(receipt_number, doc_date or dt.date.today(), doc_lines)])
        return doc_lines

    doc_lines = app.run_in_transaction(work)
    _document_done(app, output_format, "receipt", receipt_number, number, doc_date, doc_lines)
    _note_unnamed(overrides, doc_lines, "received")


@po.command("invoice")
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@click.option("--invoice", "invoice_number", required=True, callback=not_blank("give our number for the invoice"),
              help="Our invoice number.")
@click.option("--supplier-invoice", required=True, callback=not_blank("give the number the supplier gave the invoice"),
              help="The supplier's invoice number.")
@click.option("--date", "doc_date", type=DATE, default=None, help="Invoice date (default today).")
@click.option("--line", "lines", multiple=True, help="N=QUANTITY[@PRICE] instead of the open quantity at the order price (0: leave out; negative: a credit note, which takes only the lines named).")
@format_option
@click.pass_obj
def po_invoice(app, number, invoice_number, supplier_invoice, doc_date, lines, output_format):
    """Invoice an order's open quantities, line by line (or as given with --line)."""
    from purchase.documents import DocumentPoster, InvoiceDoc

    overrides = _line_overrides(lines, with_price=True)
    def work(session):
        doc_lines = _document_lines(session, number, "invoice", overrides)
        posted = DocumentPoster(session, app.user).post_invoices([InvoiceDoc(invoice_number, supplier_invoice, doc_date or dt.date.today(), doc_lines)])
        return doc_lines, order_rules.lines_without_vat(session, number, [l.line for l in doc_lines]), posted.notes

    doc_lines, without_vat, notes = app.run_in_transaction(work)
    _document_done(app, output_format, "invoice", invoice_number, number, doc_date, doc_lines, supplier_invoice=supplier_invoice)
    _note_unnamed(overrides, doc_lines, "invoiced")
    _say(notes)  # a credit beside a close-out's write-off (`purchase.documents.credit_beside_closeout`)
    if without_vat:
        click.echo(f"note: {lines_named(without_vat)} invoiced at 0 % VAT, the order line's rate: an invoice "
                   f"that charges VAT is imported with its rate ('pledger import invoices' or 'import ubl')", err=True)


def _note_unnamed(overrides: dict, doc_lines, done: str) -> None:
    """Lines given with --line, and others taken in full besides: said on stderr, as a user
    who names one line may have meant that line alone."""
    unnamed = [l.line for l in doc_lines if l.line not in overrides]
    if overrides and unnamed:
        click.echo(f"note: {lines_named(unnamed)}, not named with --line, {'was' if len(unnamed) == 1 else 'were'} {done} in full "
                   f"(what they expected); give N=0 to leave a line out", err=True)


def _document_done(app, output_format, kind: str, document: str, order: str, doc_date, doc_lines, **more) -> None:
    """What `po receive` or `po invoice` posted: a line per order line, or as JSON or CSV."""
    done = "received" if kind == "receipt" else "invoiced"
    rows = [{"order": order, "line": l.line, "quantity": l.quantity, "unit_price": l.unit_price} for l in doc_lines]
    columns = [Column("order", "order"), Column("line", "line", "int"), Column("quantity", done, "quantity")]
    if kind == "invoice":
        columns.append(Column("unit_price", "unit price (empty: the order's)", "price"))
    emit_done(chosen_format(app, output_format),
              [f"{kind} {document}: order {order} line {r['line']}: {_q(r['quantity'])} {done}" for r in rows],
              {kind: document, **more, "date": doc_date or dt.date.today(), "order": order,
               "lines": [{"line": r["line"], "quantity": _q(r["quantity"]),
                          **({"unit_price": None if r["unit_price"] is None else f"{r['unit_price']:f}"} if kind == "invoice" else {})}
                         for r in rows]},
              Table(title="", columns=columns, rows=rows))
