"""`pledger import KIND FILE`: documents in, whole or not at all."""

from __future__ import annotations

import sys

import click

from cli.main import cli
from ledger.progress import Progress
from purchase.imports import KINDS, import_file


@cli.group("import")
def import_group():
    """Load suppliers, items, orders, receipts, invoices (CSV) or UBL invoices."""


class TerminalProgress(Progress):
    """A click progress bar on stderr when it is a terminal; quiet otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None

    def start(self, total: int) -> None:
        if sys.stderr.isatty() and total > 0:
            self.finish()
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.render_progress()

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def _make_import(kind: str):
    @import_group.command(kind, help=f"Import {kind} from a CSV file (UTF-8, comma separated, decimal point).")
    @click.argument("path", metavar="FILE.csv", type=click.Path(dir_okay=False))
    @click.pass_obj
    def command(app, path):
        progress = TerminalProgress(f"importing {kind}")
        try:
            result = app.run_in_transaction(lambda session: import_file(session, kind, path, app.user, progress=progress))
        finally:
            progress.finish()
        click.echo(f"imported {result.summary()}")

    return command


for _kind in KINDS:
    _make_import(_kind)
