"""`pledger import KIND FILE`: documents in, whole or not at all."""

from __future__ import annotations

from dataclasses import asdict

import click

from cli.formats import Column, Table
from cli.main import cli, printable
from cli.output import chosen_format, emit, emit_done, format_option
from cli.params import not_blank
from cli.progress import TerminalProgress
from ledger.clock import local_text
from purchase.import_log import import_log
from purchase.imports import FIELDS, KINDS, import_file


@cli.group("import")
def import_group():
    """Load suppliers, items, orders, receipts, invoices, stock issues (CSV or XLSX) or UBL invoices and credit notes.

    A file is taken whole or not at all: on any bad row nothing is written, and the message
    names the row and column. 'import list' is the import log.
    """


# What a newcomer cannot guess from the column names (CLI.md's table, and what the
# columns take): each said in the help of its kind, and held there by a test.
COLUMN_NOTES = {
    "suppliers": "vat_number such as BE0403170701; endpoint_id the Peppol endpoint SCHEME:ID, such as "
                 "0208:0403170701. A code seen again updates that supplier.",
    "items": "stock_item true or false (yes/no); unit a UN/ECE code as UBL invoices give it (C62 pieces, the "
             "default; KGM, BX, PK...): an invoice line in another unit is refused. A code seen again updates that item.",
    "orders": "Rows sharing an order number form one order, imported as ordered. vat_rate in percent, such as 21 "
              "(blank: 0); discount_pct in percent.",
    "receipts": "Rows sharing a receipt number form one receipt. A negative quantity is a return.",
    "invoices": "Rows sharing an invoice number form one invoice. vat_rate in percent, such as 21. A negative "
                "quantity is a credit note (the unit price stays positive).",
}


def _make_import(kind: str):
    fields = FIELDS[kind]
    columns = ", ".join(f.name for f in fields if f.required)
    optional = ", ".join(f.name for f in fields if not f.required)
    @import_group.command(kind, help=(
        f"Import {kind} from a CSV file (UTF-8, comma separated, decimal point) or an Excel workbook (.xlsx, "
        f"its first sheet). Columns: {columns}" + (f"; optional: {optional}." if optional else ".")
        + (f" {COLUMN_NOTES[kind]}" if kind in COLUMN_NOTES else "")))
    @click.argument("path", metavar="FILE.csv|FILE.xlsx", type=click.Path(), callback=not_blank("name the file to import"))
    @format_option
    @click.pass_obj
    def command(app, path, output_format):
        progress = TerminalProgress(f"importing {kind}")
        try:
            result = app.run_in_transaction(lambda session: import_file(session, kind, path, app.user, progress=progress))
        finally:
            progress.finish()
        imported(app, output_format, path, result)

    return command


def imported(app, output_format, path, result, **more) -> None:
    """What an import did: its summary line, or as JSON (one object: the file and the
    result's counts) or CSV (the same as one row)."""
    data = {"file": str(path), **more, **asdict(result)}
    notes = data.pop("notes", ())  # for the person, on stderr: stdout stays what a script reads
    emit_done(chosen_format(app, output_format), [f"imported {result.summary()}"], data,
              Table(title="", columns=[Column(k, k, "text" if isinstance(v, str) else "int") for k, v in data.items()],
                    rows=[data]))
    say_notes(notes)


def say_notes(notes) -> None:
    """Notes for the person, on stderr: a credit note beside a close-out's write-off
    (`purchase.documents.credit_beside_closeout`)."""
    for note in notes:
        click.echo(f"note: {note}", err=True)


for _kind in KINDS:
    _make_import(_kind)


@import_group.command("list")
@format_option
@click.pass_obj
def import_list(app, output_format):
    """The import log: every import, oldest first: kind, file, its SHA-256, user, time (local)."""
    with app.transaction(readonly=True) as session:
        rows = [{"import": i.id, "kind": i.kind, "source": i.source, "sha256": i.sha256, "user": i.user_name,
                 "imported_at": local_text(i.imported_at)} for i in import_log(session)]
    columns = [Column("import", "import", "int"), Column("kind", "kind"), Column("source", "file"),
               Column("sha256", "SHA-256"), Column("user", "user"), Column("imported_at", "imported at")]
    fmt = chosen_format(app, output_format)
    # a file's name is the one text of the log no import checks: for people, on one line and
    # never an escape sequence for their terminal (JSON and CSV keep it as it is)
    shown = [{**r, "source": printable(r["source"])} for r in rows] if fmt == "table" else rows
    emit(fmt, Table(title="Imports", columns=columns, rows=shown), json_data=rows)
