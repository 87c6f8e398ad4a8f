"""Documents exchanged with suppliers, and the stock that drives them.

- `pledger import ubl FILE.xml|FOLDER... [--trial]`: Peppol invoices and credit notes
  (`purchase.ubl.importer`); `--trial` runs the very same import in a transaction that
  is rolled back and prints what it would post.
- `pledger import issues FILE.csv`: stock issues and reservations (`purchase.stock`).
- `pledger po export ORDER --format pdf|xlsx|ubl -o FILE`: the order as a supplier
  receives it (`po-export` when no `po` group exists).
- `pledger reorder propose [--create] [--date D]`: the reorder proposal (`purchase.reorder`).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal
from pathlib import Path

import click
from sqlalchemy import select

from cli.commands.imports import import_group, imported, say_notes
from cli.formats import (Column, FormatError, Table, _numbered_canvas, _pdf_fonts, _write_atomically, fitted, folder_given, pdf_shown,
                         render_csv, render_text, write_xlsx)
from cli.main import PledgerCommand, cli
from cli.output import chosen_format, dumps, format_option
from cli.params import DATE, ORDER_NUMBER, not_blank, refuse_the_books
from cli.progress import TerminalProgress
from ledger.errors import PledgerError
from ledger.models import Account
from ledger.money import ZERO, counted, format_amount, format_quantity, round_money
from ledger.posting import base_currency
from matching.order_close import lines_named
from purchase.models import Item
from purchase.orders import get_order
from purchase.reorder import create_reorder, propose
from purchase.settings import company, split_endpoint
from purchase.stock import import_issues
from purchase.ubl import OrderDoc, OrderLine, OrderParty, UblError, write_order
from purchase.ubl.importer import UblImport, import_ubl

HUNDRED = Decimal(100)
SKIPPED_TEXT_LINE = "quantity 0, amount 0: no goods and no money"  # `purchase.ubl.importer.carries_nothing`
CENT = Decimal("0.01")


def qty(value: Decimal) -> Decimal:
    """A quantity as people write it: 10, 2.5 (not the storage scale's 10.000000)."""
    return Decimal(format_quantity(value))


def price_text(value: Decimal | None) -> Decimal | None:
    """A unit price without the storage scale's trailing zeros, but with at least two decimals."""
    if value is None:
        return None
    trimmed = value.normalize()
    return value.quantize(CENT) if trimmed.as_tuple().exponent > -2 else trimmed


def _echo_tables(tables: list[Table]) -> None:
    for n, table in enumerate(tables):
        if n:
            click.echo("")
        click.echo(table.title)
        if table.subtitle:
            click.echo(table.subtitle)
        click.echo(render_text(table) if table.rows or table.totals else "(nothing)")


# =========================================================================== import ubl


@import_group.command("ubl")
@click.argument("paths", nargs=-1, required=True, metavar="FILE.xml|FOLDER...", type=click.Path(),
                callback=not_blank("name a file or folder to import ('.' for this folder)"))
@click.option("--trial", is_flag=True, help="Match and compute everything, write nothing.")
@click.option("--date", "posting_date", type=DATE, default=None,
              help="Book every document on this day (default: its IssueDate), e.g. a December invoice come after "
                   "December was locked.")
@format_option
@click.pass_obj
def import_ubl_command(app, paths, trial, posting_date, output_format):
    """Import Peppol BIS 3 invoices and credit notes (UBL 2.1), matched to order lines.

    Each line goes to the order line named by the order reference and order line
    reference, else to the one line of the supplier that has the item; the file is refused
    when no line or two lines fit. All files are imported in one transaction, or none.
    """
    fmt = chosen_format(app, output_format)
    progress = TerminalProgress("importing UBL")

    def imported_now(session):  # run again whole if the database gave up on it for another writer
        result = import_ubl(session, paths, app.user, progress=progress, posting_date=posting_date)
        return result, ubl_report(session, result, trial)

    try:
        result, report = app.run_in_transaction(imported_now, trial=trial)
    finally:
        progress.finish()
    if fmt == "json":
        click.echo(dumps(report))
    elif fmt == "csv":
        click.echo(render_csv(_ubl_lines_table(report)), nl=False)
    else:
        _echo_tables(_ubl_tables(report))
        docs = report["documents"]
        credit = sum(1 for d in docs if d["kind"] == "credit note")
        lines = sum(len(d["lines"]) for d in docs)
        what = (f"{counted(len(docs) - credit, 'invoice')} and {counted(credit, 'credit note')} "
                f"with {counted(lines, 'line')}")
        click.echo("")
        if trial:
            click.echo(f"trial: {what} would be imported; nothing was written")
        else:
            click.echo(f"imported {what} in {counted(len(result.posted.entries), 'entry', 'entries')}")
    say_notes(result.posted.notes)


def _dates(document: dict) -> str:
    """Its date, and the supplier's issue date where it is booked on another day (`--date`)."""
    if document["date"] == document["issue_date"]:
        return document["date"].isoformat()
    return f"{document['date'].isoformat()} (issued {document['issue_date'].isoformat()})"


def ubl_report(session, result: UblImport, trial: bool) -> dict:
    """The import as data: per document its lines, what they do to the order lines, the journal lines."""
    cur = base_currency(session)
    names = dict(session.execute(select(Account.code, Account.name)).all())

    def money(value: Decimal) -> Decimal:
        return round_money(value, cur)

    documents = []
    total_debit = total_credit = ZERO
    for doc in result.documents:
        entry = result.entry_of(doc)
        by_order_line: dict[int, list[str]] = {}
        for m in doc.lines:
            by_order_line.setdefault(m.order_line_id, []).append(m.ubl.line_id)
        journal_lines, per_line = [], {}
        if entry is not None:
            for spec in (line.decimals() for line in entry.spec.lines):  # posted as stored integers
                ids = by_order_line.get(spec.order_line_id) if spec.order_line_id is not None else None
                row = {
                    "for": ", ".join(ids) if ids else None,
                    "account": spec.account, "name": names.get(spec.account, ""),
                    "debit": money(spec.debit), "credit": money(spec.credit),
                }
                journal_lines.append(row)
                if ids:
                    per_line.setdefault(ids[0], []).append(row)
                total_debit += spec.debit
                total_credit += spec.credit
        lines = []
        for m in doc.lines:
            lines.append({
                "line": m.ubl.line_id, "order": m.order, "order_line": m.line, "item": m.item,
                "matched_by": m.matched_by, "quantity": qty(m.quantity), "unit": m.ubl.unit_code,
                "ordered": qty(m.before.ordered),
                "to_invoice_before": qty(m.before.to_invoice), "to_invoice_after": qty(m.after.to_invoice),
                "quantity_difference": qty(m.quantity_difference),
                "order_price": price_text(m.order_price), "invoice_price": price_text(m.unit_price),
                "expected_amount": money(m.expected_amount), "amount": money(m.amount),
                "allowances_spread": money(m.spread), "price_difference": money(m.price_difference),
                "vat_rate": qty(m.ubl.vat_rate),
                "journal_lines": [{k: v for k, v in r.items() if k != "for"} for r in per_line.get(m.ubl.line_id, [])],
            })
        ubl = doc.ubl
        net = sum((m.amount for m in doc.lines), ZERO)
        documents.append({
            "file": doc.path.name, "kind": "credit note" if ubl.is_credit_note else "invoice",
            "number": ubl.number, "invoice": doc.number, "supplier": doc.supplier, "seller": ubl.seller.name,
            "date": doc.date, "issue_date": ubl.issue_date, "currency": ubl.currency,
            "order_reference": None if doc.order_reference is None else dict(zip(("order", "from"), doc.order_reference)),
            "net": money(net), "vat": money(ubl.tax_amount),
            "total": money(net + ubl.tax_amount + ubl.totals.payable_rounding_amount),  # what creditors are posted
            "entry": None if entry is None else {
                "journal": entry.journal, "number": None if trial else entry.number, "date": entry.date,
            },
            "lines": lines,
            "skipped": [{"line": line.line_id, "reason": SKIPPED_TEXT_LINE} for line in doc.skipped],
            "journal_lines": journal_lines,
        })
    return {
        "trial": trial,
        "documents": documents,
        "totals": {"debit": money(total_debit), "credit": money(total_credit)},
    }


_UBL_LINE_COLUMNS = [
    Column("line", "line"), Column("order", "order"), Column("order_line", "order line", "int"),
    Column("item", "item"), Column("matched_by", "matched by"), Column("quantity", "quantity", "quantity"),
    Column("to_invoice_before", "to invoice", "quantity"), Column("to_invoice_after", "after", "quantity"),
    Column("quantity_difference", "qty diff", "quantity"), Column("order_price", "order price", "price"),
    Column("invoice_price", "invoice price", "price"), Column("expected_amount", "at order price", "amount"),
    Column("amount", "amount", "amount"), Column("price_difference", "price diff", "amount"),
    Column("vat_rate", "VAT %", "quantity"),
]


def _ubl_tables(report: dict) -> list[Table]:
    tables = []
    trial = report["trial"]
    for d in report["documents"]:
        entry = d["entry"]
        posted = "posts nothing" if entry is None else (
            f"{'would post' if trial else 'posted'} {entry['journal']} "
            f"{'(trial)' if entry['number'] is None else entry['number']} on {entry['date'].isoformat()}"
        )
        skipped = [s["line"] for s in d["skipped"]]
        if skipped:
            posted += f"; {lines_named(skipped)} skipped ({SKIPPED_TEXT_LINE})"
        reference = d["order_reference"]
        named = (f"; order {reference['order']} named by its BuyerReference (BT-10)"
                 if reference is not None and reference["from"] == "BuyerReference" else "")
        tables.append(Table(
            title=f"{d['kind']} {d['number']} ({d['file']}) from {d['supplier']}, {_dates(d)}, as {d['invoice']}",
            subtitle=f"net {format_amount(d['net'])}, VAT {format_amount(d['vat'])}, total {format_amount(d['total'])} "
                     f"{d['currency']}; {posted}{named}",
            columns=_UBL_LINE_COLUMNS,
            rows=d["lines"],
        ))
        tables.append(Table(
            title="  journal lines",
            columns=[Column("for", "invoice line"), Column("account", "account"), Column("name", "name"),
                     Column("debit", "debit", "amount"), Column("credit", "credit", "amount")],
            rows=[{**r, "for": r["for"] or "(invoice)"} for r in d["journal_lines"]],
            totals={"for": "total", "debit": sum((r["debit"] for r in d["journal_lines"]), ZERO),
                    "credit": sum((r["credit"] for r in d["journal_lines"]), ZERO)},
        ))
    return tables


def _ubl_lines_table(report: dict) -> Table:
    rows = [{"file": d["file"], "document": d["number"], **line} for d in report["documents"] for line in d["lines"]]
    return Table(title="UBL import", columns=[Column("file", "file"), Column("document", "document"), *_UBL_LINE_COLUMNS],
                 rows=rows)


# =========================================================================== import issues


@import_group.command("issues")
@click.argument("path", metavar="FILE.csv|FILE.xlsx", type=click.Path(), callback=not_blank("name the file to import"))
@format_option
@click.pass_obj
def import_issues_command(app, path, output_format):
    """Stock issues and reservations: columns issue, date, item, quantity [, kind].

    CSV (UTF-8, comma separated, decimal point) or an Excel workbook (.xlsx, its first
    sheet). kind is issue (the default: physical stock goes down) or reservation
    (available stock goes down). A negative quantity corrects an earlier row.
    """
    with TerminalProgress("importing issues") as progress:  # a bar while the rows are read, then written
        # run again whole if the database gave up on it for another writer (the same issue imported meanwhile)
        result = app.run_in_transaction(lambda session: import_issues(session, path, app.user, progress=progress))
    imported(app, output_format, path, result, kind="issues")


# =========================================================================== po export

EXPORT_FORMATS = {"pdf": ".pdf", "xlsx": ".xlsx", "ubl": ".xml"}


def order_document(session, number: str) -> tuple[OrderDoc, object]:
    """The order as the supplier receives it (the same figures in PDF, XLSX and UBL)."""
    order = get_order(session, number)
    if order.status == "cancelled":
        raise PledgerError(f"order {number} is cancelled: there is nothing to send")
    supplier = order.supplier
    scheme, endpoint = split_endpoint(supplier.endpoint_id)
    ours = company(session)
    if ours.name is None:
        raise PledgerError("our company's name is not set, and a purchase order names its buyer: "
                           "set it with 'pledger settings company --name NAME [--vat-number ...] [--endpoint SCHEME:ID]'")
    buyer_scheme, buyer_endpoint = split_endpoint(ours.endpoint)
    buyer = OrderParty(name=ours.name, vat_number=ours.vat_number, endpoint_id=buyer_endpoint, endpoint_scheme=buyer_scheme)
    items = {it.id: it for it in session.scalars(select(Item).where(Item.id.in_([l.item_id for l in order.lines])))}
    try:
        doc = OrderDoc(
            number=order.number,
            issue_date=order.order_date,
            currency=order.currency,
            buyer=buyer,
            supplier=OrderParty(code=supplier.code, name=supplier.name, vat_number=supplier.vat_number,
                                endpoint_id=endpoint, endpoint_scheme=scheme),
            note=f"Our reference: {order.reference}" if order.reference else None,
            lines=tuple(
                OrderLine(
                    line_id=str(l.line_no), item_code=items[l.item_id].code,
                    description=l.description or items[l.item_id].description,
                    quantity=l.quantity, unit_code=items[l.item_id].unit or "C62", unit_price=l.unit_price,
                    discount_pct=l.discount_pct, vat_rate=l.vat_rate, expected_date=l.expected_date,
                )
                for l in order.lines
            ),
        )
    except UblError as exc:
        raise PledgerError(str(exc)) from None
    return doc, order


def _vat_breakdown(doc: OrderDoc) -> list[tuple[Decimal, Decimal, Decimal]]:
    nets: dict[tuple[str, Decimal], Decimal] = {}
    for line in doc.lines:
        nets[line.vat_key] = nets.get(line.vat_key, ZERO) + doc.net_amount(line)
    return [(rate, net, round_money(net * rate / HUNDRED, doc.currency)) for (_, rate), net in sorted(nets.items(), key=lambda kv: kv[0][1])]


# UN/ECE Recommendation 20 unit codes as a reader of the printed order knows them; any
# other code prints as it is. The UBL, XLSX and CSV exports keep the codes (a supplier's
# system reads those).
UNIT_WORDS = {"C62": "pcs", "H87": "pcs", "EA": "pcs", "KGM": "kg", "LTR": "l", "MTR": "m", "HUR": "h", "DAY": "day"}


def unit_word(code: str) -> str:
    """A unit code as the printed purchase order says it: "pcs" for C62, "kg" for KGM; others as they are."""
    return UNIT_WORDS.get(code, code)


def _text_width(paragraph, fonts) -> float:
    """The width of a one-line paragraph's text in its own font and size, in points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    st = paragraph.style
    return stringWidth(paragraph.getPlainText(), st.fontName, st.fontSize)


def _export_pdf(doc: OrderDoc, order, path: str) -> None:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (BaseDocTemplate, Frame, FrameBreak, NextPageTemplate, PageTemplate, Paragraph, Spacer, Table as PdfTable,
                                    TableStyle)

    class _TotalsKeptWithLines(PdfTable):
        """The order's lines and, as its last rows, its totals: split where a page ends, but
        never so that fewer than its `tail` last rows (the totals and the last lines) go on
        to the next page together; where no split leaves a line before them (a line taller
        than a page), as reportlab splits it. What is left after a split begins the next
        page, so that a line is cut only where it is taller than a page."""

        tail = 0

        def split(self, availWidth, availHeight):
            parts = super().split(availWidth, availHeight)
            if len(parts) == 2 and parts[1]._nrows - self.repeatRows < self.tail:
                keep = self._nrows - self.tail  # the rows before the tail, the heading row included
                if keep > self.repeatRows:
                    shorter = super().split(availWidth, sum(self._rowHeights[:keep]))
                    if len(shorter) == 2 and shorter[1]._nrows - self.repeatRows >= self.tail:
                        for part in shorter:
                            part.tail = self.tail
                        return [shorter[0], FrameBreak(), shorter[1]]  # the page ends early: the rest goes on the next
            for part in parts:
                part.tail = self.tail
            if len(parts) == 2:
                # the rest begins the next page: set in what is left of this one (reportlab's way
                # where it split after a whole line), it printed the column headings again in
                # mid-page over the top of a tall line, its end on the next page without its number
                return [parts[0], FrameBreak(), parts[1]]
            return parts

    fonts = _pdf_fonts()
    margin = 16 * mm
    width = A4[0] - 2 * margin - 12  # the frame pads 6 points on each side
    accent = colors.HexColor("#2F4B6E")
    light = colors.HexColor("#E8EDF3")
    cur = doc.currency

    def style(name, size=9, bold=False, right=False, color=None, leading=None):
        return ParagraphStyle(name, fontName=fonts.bold if bold else fonts.regular, fontSize=size,
                              leading=leading or size * 1.3, alignment=2 if right else 0,
                              textColor=color or colors.black)

    small, small_right = style("small", 8.5), style("small_r", 8.5, right=True)
    bold_right = style("bold_r", 9, bold=True, right=True)

    def p(text, st=small):  # a character the font cannot draw is a mark, never a blank (`pdf_shown`)
        return Paragraph(escape(pdf_shown(text, st.fontName)).replace("\n", "<br/>"), st)

    def money(value):
        return f"{format_amount(round_money(value, cur))}"

    company = doc.buyer
    head = PdfTable(
        [[p(company.name, style("company", 15, bold=True, leading=18)),
          Paragraph("PURCHASE ORDER", style("title", 17, bold=True, right=True, color=accent, leading=20))],
         [p("   ".join(x for x in (f"VAT {company.vat_number}" if company.vat_number else "",
                                   f"Peppol {company.endpoint_scheme}:{company.endpoint_id}" if company.endpoint_id else "") if x)),
          p(f"No. {doc.number}", style("no", 11, bold=True, right=True))]],
        colWidths=[width * 0.55, width * 0.45],
    )
    head.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                              ("RIGHTPADDING", (0, 0), (-1, -1), 0), ("LINEBELOW", (0, -1), (-1, -1), 1.2, accent),
                              ("BOTTOMPADDING", (0, -1), (-1, -1), 6)]))

    supplier = doc.supplier
    supplier_lines = [supplier.name, f"Supplier no. {supplier.code}"]
    if supplier.vat_number:
        supplier_lines.append(f"VAT {supplier.vat_number}")
    if supplier.endpoint_id:
        supplier_lines.append(f"Peppol {supplier.endpoint_scheme}:{supplier.endpoint_id}")
    info = [("Order number", doc.number), ("Order date", doc.issue_date.isoformat()), ("Currency", cur)]
    if order.reference:
        info.append(("Our reference", order.reference))
    if order.buyer:
        info.append(("Buyer", order.buyer))
    expected = sorted({l.expected_date for l in doc.lines if l.expected_date})
    if expected:
        info.append(("Delivery by", expected[0].isoformat() if len(expected) == 1 else f"{expected[0].isoformat()} .. {expected[-1].isoformat()}"))
    label = style("label", 8, color=colors.HexColor("#555555"))
    value_width = width * 0.45 - 24 * mm - 6 * mm

    def value(text):  # on one line: a long order number is set smaller rather than broken
        from reportlab.pdfbase.pdfmetrics import stringWidth

        room = value_width - 6  # the cell's right padding
        size = min(9.0, max(6.5, 9 * room / max(1.0, stringWidth(text, fonts.bold, 9))))
        return p(text, style(f"v{size}", size, bold=True))

    info_table = PdfTable([[p(k, label), value(v)] for k, v in info], colWidths=[24 * mm, value_width])
    info_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                    ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    address = PdfTable(
        [[p("SUPPLIER", style("sup", 8, bold=True, color=accent)), ""],
         [Paragraph("<br/>".join([f"<b>{escape(pdf_shown(supplier_lines[0], fonts.bold))}</b>",
                                  *(escape(pdf_shown(line, fonts.regular)) for line in supplier_lines[1:])]),
                    style("addr", 10, leading=14)), info_table]],
        colWidths=[width * 0.55, width * 0.45],
    )
    address.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                 ("BOX", (0, 1), (0, 1), 0.6, colors.HexColor("#9AA8B8")),
                                 ("LEFTPADDING", (0, 1), (0, 1), 8), ("TOPPADDING", (0, 1), (0, 1), 6),
                                 ("BOTTOMPADDING", (0, 1), (0, 1), 8), ("LEFTPADDING", (1, 1), (1, 1), 6 * mm)]))

    header = ["Line", "Item", "Description", "Quantity", "Unit price", "Disc. %", "VAT %", "Amount"]
    rows = [[p(h, style(f"h{i}", 8, bold=True, right=i >= 3, color=colors.white)) for i, h in enumerate(header)]]
    for line in doc.lines:
        description = line.description
        if line.expected_date:
            description += f"\ndeliver by {line.expected_date.isoformat()}"
        rows.append([
            p(line.line_id), p(line.item_code), p(description),
            p(f"{format_quantity(line.quantity)} {unit_word(line.unit_code)}", small_right),
            p(f"{price_text(line.unit_price):f}", small_right),
            p(format_quantity(line.discount_pct) if line.discount_pct else "", small_right),
            p(format_quantity(line.vat_rate), small_right),
            p(money(doc.net_amount(line)), small_right),
        ])
    # the totals are the table's last rows, so that they never stand alone on a page: the
    # table keeps them with its last lines (`_TotalsKeptWithLines`; audit of 7 December 2026,
    # an order of 28 lines printed its totals alone on page 2, one of 26 its "Total EUR")
    totals = doc.totals()
    total_rows = [("Net total", money(totals.line_extension_amount), small_right)]
    for rate, net, tax in _vat_breakdown(doc):
        total_rows.append((f"VAT {format_quantity(rate)}% on {money(net)}", money(tax), small_right))
    total_rows.append((f"Total {cur}", money(totals.payable_amount), bold_right))
    body = len(rows)
    rows += [["", "", "", p(text, st), "", "", "", p(figure, st)] for text, figure, st in total_rows]
    col = [11 * mm, 26 * mm, None, 22 * mm, 20 * mm, 15 * mm, 13 * mm, 22 * mm]
    for i in range(4, len(col)):  # a figure never wraps: its column is as wide as its widest figure
        col[i] = max(col[i], max(_text_width(r[i], fonts) for r in rows if r[i] != "") + 12)
    col[3] = max(col[3], max(_text_width(r[3], fonts) for r in rows[:body]) + 12)
    labels = max(62 * mm, max(_text_width(r[3], fonts) for r in rows[body:]) + 12)  # a total's words, over 4 columns
    col[3] = max(col[3], labels - sum(col[4:7]))
    col[1] = max(16 * mm, min(col[1], width - sum(col[i] for i in (0, 3, 4, 5, 6, 7)) - 30 * mm))  # the item code wraps first
    col[2] = width - sum(c for c in col if c)
    last = len(rows) - 1
    note = (f"Please quote order number {doc.number} and our line numbers on your invoice "
            f"(Peppol: OrderReference and OrderLineReference), so that it is matched without delay.")
    rows.append([p(note, style("foot", 8, color=colors.HexColor("#555555")))] + [""] * 7)  # with the totals, never alone
    lines_table = _TotalsKeptWithLines(rows, colWidths=col, repeatRows=1, splitInRow=1)  # a row taller than a page goes on
    lines_table.tail = len(total_rows) + 1 + min(3, body - 1)  # the totals, the note and (up to) the last three lines
    lines_table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), accent), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1), (-1, body - 1), [colors.white, light]),
        ("LINEBELOW", (0, body - 1), (-1, body - 1), 0.8, accent),
        ("TOPPADDING", (0, 0), (-1, body - 1), 3), ("BOTTOMPADDING", (0, 0), (-1, body - 1), 3),
        *(("SPAN", (3, r), (6, r)) for r in range(body, len(rows))),
        ("TOPPADDING", (0, body), (-1, -1), 2), ("BOTTOMPADDING", (0, body), (-1, -1), 2),
        ("TOPPADDING", (0, body), (-1, body), 3 * mm + 2),  # as far from the lines as they stood
        ("LINEABOVE", (3, last), (-1, last), 0.8, accent), ("BACKGROUND", (3, last), (-1, last), light),
        ("SPAN", (0, -1), (-1, -1)), ("TOPPADDING", (0, -1), (-1, -1), 6 * mm), ("LEFTPADDING", (0, -1), (-1, -1), 0),
    ]))

    story = [NextPageTemplate("later"), head, Spacer(1, 8 * mm), address, Spacer(1, 8 * mm), lines_table]

    # the running footer: "company - purchase order N ... page N of M" (the reports' numbered
    # canvas); "page 1" alone did not tell the supplier that a page was missing (audit of 7
    # December 2026). The order's number stays whole; a long company name is cut.
    from reportlab.pdfbase.pdfmetrics import stringWidth

    width_of = lambda t: stringWidth(t, fonts.regular, 7.5)  # noqa: E731
    room = A4[0] - 2 * margin - width_of("page 9999 of 9999") - 18
    tail = f" - purchase order {doc.number}"
    running_title = fitted(pdf_shown(company.name, fonts.regular), room - width_of(tail), width_of) + tail

    # every page after the first is headed with the order's number, date and supplier (they
    # carried none: a page apart from the first said whose order it was only in its footer)
    heading_height = 12 * mm
    heading_left = f"PURCHASE ORDER {doc.number}"
    # where it has no room, the supplier's name is cut, not its number and the order date (cut
    # from the end, a name of 40 characters left "order date 2026-...")
    heading_kept = f" (supplier no. {supplier.code}) - order date {doc.issue_date.isoformat()}"

    def later_heading(canvas, _doc) -> None:
        canvas.saveState()
        top = A4[1] - margin
        canvas.setFillColor(accent)
        canvas.setFont(fonts.bold, 10)
        left = pdf_shown(heading_left, fonts.bold)
        canvas.drawString(margin + 6, top - 10, left)
        canvas.setFillColor(colors.black)
        canvas.setFont(fonts.regular, 8.5)
        room = A4[0] - 2 * margin - 12 - stringWidth(left, fonts.bold, 10) - 12
        heading_width = lambda t: stringWidth(t, fonts.regular, 8.5)  # noqa: E731
        kept = pdf_shown(heading_kept, fonts.regular)
        canvas.drawRightString(A4[0] - margin - 6, top - 10,
                               fitted(pdf_shown(supplier.name, fonts.regular), room - heading_width(kept), heading_width) + kept)
        canvas.setStrokeColor(accent)
        canvas.setLineWidth(0.8)
        canvas.line(margin + 6, top - 15, A4[0] - margin - 6, top - 15)
        canvas.restoreState()

    def build(tmp: str) -> None:
        pdf = BaseDocTemplate(tmp, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin,
                              bottomMargin=18 * mm, title=f"Purchase order {doc.number}", author=company.name,
                              creator="pledger", invariant=1)
        frame_height = A4[1] - margin - 18 * mm
        pdf.addPageTemplates([
            PageTemplate("first", [Frame(margin, 18 * mm, A4[0] - 2 * margin, frame_height, id="first")]),
            PageTemplate("later", [Frame(margin, 18 * mm, A4[0] - 2 * margin, frame_height - heading_height, id="later")],
                         onPage=later_heading),
        ])
        pdf.build(story, canvasmaker=_numbered_canvas(running_title, fonts, margin))

    _write_atomically(path, build)


def _export_xlsx(doc: OrderDoc, order, path: str) -> None:
    totals = doc.totals()
    head = Table(
        title=f"Purchase order {doc.number}",
        columns=[Column("field", "field"), Column("value", "value")],
        rows=[
            {"field": "order", "value": doc.number}, {"field": "order date", "value": doc.issue_date},
            {"field": "from", "value": doc.buyer.name},
            {"field": "supplier", "value": f"{doc.supplier.code} {doc.supplier.name}"},
            {"field": "supplier VAT", "value": doc.supplier.vat_number or ""},
            {"field": "currency", "value": doc.currency}, {"field": "reference", "value": order.reference or ""},
            {"field": "net total", "value": totals.line_extension_amount},  # numbers in the spreadsheet
            {"field": "VAT", "value": totals.tax_amount},
            {"field": "total", "value": totals.payable_amount},
        ],
    )
    lines = Table(
        title="Lines",
        subtitle=f"{doc.supplier.name}, order {doc.number} of {doc.issue_date.isoformat()}, amounts in {doc.currency}",
        columns=[Column("line", "line", "int"), Column("item", "item"), Column("description", "description"),
                 Column("quantity", "quantity", "quantity"), Column("unit", "unit"),
                 Column("unit_price", "unit price", "price"), Column("discount_pct", "discount %", "quantity"),
                 Column("vat_rate", "VAT %", "quantity"), Column("expected", "deliver by", "date"),
                 Column("amount", "amount", "amount")],
        rows=[{"line": int(l.line_id), "item": l.item_code, "description": l.description, "quantity": l.quantity,
               "unit": l.unit_code, "unit_price": price_text(l.unit_price), "discount_pct": l.discount_pct, "vat_rate": l.vat_rate,
               "expected": l.expected_date, "amount": doc.net_amount(l)} for l in doc.lines],
        totals={"amount": totals.line_extension_amount},
    )
    write_xlsx([head, lines], path)


def _export_ubl(doc: OrderDoc, order, path: str) -> None:
    try:
        data = write_order(doc)
    except UblError as exc:  # a text XML cannot carry: refused before any file is written
        raise PledgerError(str(exc)) from None
    _write_atomically(path, lambda tmp: Path(tmp).write_bytes(data))


@click.command("export", cls=PledgerCommand)
@click.argument("number", metavar="ORDER", callback=ORDER_NUMBER)
@click.option("--format", "export_format", type=click.Choice(sorted(EXPORT_FORMATS)), default=None,
              help="pdf (printable), xlsx, or ubl (Peppol BIS Order 3, .xml); default: from the file's suffix.")
@click.option("-o", "--output", "path", required=True, type=click.Path(),
              callback=not_blank("name the file to write (.pdf, .xlsx or .xml)"),
              help="The file to write: .pdf, .xlsx or .xml (UBL).")
@click.pass_obj
def po_export(app, number, export_format, path):
    """Write a purchase order (bestelbon) for the supplier: PDF, XLSX or UBL 2.1 Order.

    Our company ('pledger settings company') is the buyer on it.
    """
    refuse_the_books(app.db_url, path, "-o")
    suffix = Path(path).suffix.lower()
    matching = [f for f, s in EXPORT_FORMATS.items() if s == suffix]
    if export_format is None:
        if not matching and Path(path).is_dir():  # '/tmp': "cannot tell the format from 'tmp'" (review of 7 December 2026)
            raise click.UsageError(folder_given(path, number + ".pdf"))
        if not matching:
            raise click.UsageError(f"cannot tell the format from '{Path(path).name}': give --format pdf, xlsx or ubl")
        export_format = matching[0]
    elif matching and export_format not in matching:  # an XLSX file named .pdf opens as a broken PDF
        raise click.UsageError(f"'{Path(path).name}' is named as {matching[0]}, and --format {export_format} writes "
                               f"{EXPORT_FORMATS[export_format]}: name the file so, or give --format {matching[0]}")
    with app.transaction(readonly=True) as session:
        doc, order = order_document(session, number)
        writer = {"pdf": _export_pdf, "xlsx": _export_xlsx, "ubl": _export_ubl}[export_format]
        try:
            writer(doc, order, path)
        except OSError as exc:
            raise FormatError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"order {doc.number} written to {path} ({export_format})")
    if export_format == "ubl":
        missing = [how for party, how in (
            (doc.buyer, "our company ('pledger settings company --endpoint SCHEME:ID')"),
            (doc.supplier, f"supplier {doc.supplier.code or doc.supplier.name} (its endpoint_id, 'pledger import suppliers')"))
            if not party.endpoint_id]
        if missing:
            click.echo(f"note: no Peppol endpoint for {' nor for '.join(missing)}: the order is valid UBL, but a Peppol "
                       f"access point needs both to send it", err=True)


def _attach_po_export() -> str:
    """`po export` when a `po` group exists (cli/commands/orders.py), else `po-export`."""
    if importlib.util.find_spec("cli.commands.orders") is not None:
        from cli.commands import orders

        group = getattr(orders, "po", None)
        if isinstance(group, click.Group) and "export" not in group.commands:
            group.add_command(po_export, "export")
            return "po export"
    cli.add_command(po_export, "po-export")
    return "po-export"


PO_EXPORT_COMMAND = _attach_po_export()


# =========================================================================== reorder


@cli.group()
def reorder():
    """Reorder proposals (bestelvoorstel) from minimum stock."""


@reorder.command("propose")
@click.option("--create", is_flag=True, help="Create the proposed orders (status new).")
@click.option("--date", "date", type=DATE, default=None, help="Order date and number date (default: today).")
@format_option
@click.pass_obj
def reorder_propose(app, create, date, output_format):
    """Per item below its minimum: the quantity to order, grouped per preferred supplier."""
    date = date or dt.date.today()
    if create:  # run again whole if another writer was in the way (an order numbered the same meanwhile)
        proposal = app.run_in_transaction(lambda session: create_reorder(session, date, buyer=app.user))
    else:
        with app.transaction(readonly=True) as session:
            proposal = propose(session, date)
    rows, refused = [], []
    for order in proposal.orders:
        for need in order.lines:
            rows.append(_need_row(need, order.supplier, order.number))
    for r in proposal.refused:
        refused.append({**_need_row(r.need, r.need.supplier, None), "reason": r.reason})
    fmt = chosen_format(app, output_format)
    if fmt == "json":
        click.echo(dumps({
            "date": proposal.date, "created": proposal.created,
            "orders": [{"supplier": o.supplier, "name": o.supplier_name, "number": o.number,
                        "lines": [r for r in rows if r["supplier"] == o.supplier and r["order"] == o.number]}
                       for o in proposal.orders],
            "refused": refused,
        }))
        return
    table = Table(title=f"Reorder proposal of {date.isoformat()}", columns=_NEED_COLUMNS, rows=rows)
    if fmt == "csv":
        click.echo(render_csv(table), nl=False)
        # the CSV is the proposal's one table: the items it cannot order, which the table and
        # JSON list as refused, said for the person on stderr (stdout stays what a script reads)
        for r in proposal.refused:
            click.echo(f"note: {r.need.item} is {format_quantity(r.need.shortfall)} short of its minimum and not proposed: "
                       f"{r.reason}", err=True)
        return
    tables = [table]
    if refused:
        tables.append(Table(title="Refused", columns=[Column("item", "item"), Column("shortfall", "shortfall", "quantity"),
                                                      Column("quantity", "would order", "quantity"), Column("reason", "reason")],
                            rows=refused))
    _echo_tables(tables)
    if proposal.created:
        click.echo("")
        for o in proposal.orders:
            click.echo(f"created order {o.number} for {o.supplier} with {counted(len(o.lines), 'line')}, status new")
    elif create:
        click.echo("\nnothing to order: no order created")


def _need_row(need, supplier, number) -> dict:
    return {
        "supplier": supplier, "order": number, "item": need.item, "description": need.description,
        "min_stock": qty(need.min_stock), "physical": qty(need.physical), "reserved": qty(need.reserved),
        "on_order": qty(need.on_order), "available": qty(need.available), "shortfall": qty(need.shortfall),
        "min_order_quantity": qty(need.min_order_quantity), "order_multiple": qty(need.order_multiple),
        "quantity": qty(need.quantity), "unit_price": price_text(need.unit_price),
    }


_NEED_COLUMNS = [
    Column("supplier", "supplier"), Column("order", "order"), Column("item", "item"), Column("description", "description"),
    Column("min_stock", "min stock", "quantity"), Column("physical", "physical", "quantity"),
    Column("reserved", "reserved", "quantity"), Column("on_order", "on order", "quantity"),
    Column("available", "available", "quantity"), Column("shortfall", "shortfall", "quantity"),
    Column("min_order_quantity", "min order", "quantity"), Column("order_multiple", "multiple", "quantity"),
    Column("quantity", "to order", "quantity"), Column("unit_price", "unit price", "price"),
]
