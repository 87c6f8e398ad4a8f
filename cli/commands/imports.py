"""`pledger import KIND FILE`: documents in, whole or not at all."""

from __future__ import annotations

import sys

import click

from cli.main import cli
from purchase.imports import KINDS, import_file


@cli.group("import")
def import_group():
    """Load suppliers, items, orders, receipts, invoices (CSV) or UBL invoices."""


def progress_bar(label: str, length: int | None = None):
    """A click progress bar on a terminal; nothing when output is not a terminal."""
    return click.progressbar(length=length or 0, label=label, file=sys.stderr) if sys.stderr.isatty() else None


def _make_import(kind: str):
    @import_group.command(kind, help=f"Import {kind} from a CSV file (UTF-8, comma separated, decimal point).")
    @click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False))
    @click.pass_obj
    def command(app, path):
        bar = progress_bar(f"importing {kind}", None)
        with app.transaction() as session:
            if bar is not None:
                with bar:
                    result = import_file(session, kind, path, app.user, progress=bar.update)
            else:
                result = import_file(session, kind, path, app.user)
        click.echo(f"imported {result.summary()}")

    return command


for _kind in KINDS:
    _make_import(_kind)
