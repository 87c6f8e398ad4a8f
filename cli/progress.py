"""The progress bar of long work (CLI.md): on stderr when it is a terminal, quiet otherwise.

A command makes one `TerminalProgress` (`with TerminalProgress("reading") as progress:`,
finished at the end whatever happens) and hands it down: the services tell it how much
there is and how far they are (`ledger.progress.Progress`: `start(total)`, `advance(n)`),
the table writers tell it each row written (`cli.formats.RowsOf`), and the command names
each phase (`stage("reading GR/IR lines")`, `stage("writing")`). The bar keeps one line
of the terminal: a new phase, or the same one started again (a table read twice, for its
widths and then for its text), is drawn over the last.

Output on the same terminal: `cli.output.emit` calls `printing()` just before the first
text it prints. When stdout is a terminal, the bar is then erased and stays off, so it
never runs through a table; when stdout goes to a file or a pipe, the bar goes on
through the printing.
"""

from __future__ import annotations

import sys

import click

from ledger.progress import Progress

ERASE_LINE = "\r\033[K"  # to the start of the line, and the line made blank
SHOW_CURSOR = "\033[?25h"  # click hides the cursor while it draws a bar


class TerminalProgress(Progress):
    """A click progress bar on stderr when it is a terminal; quiet otherwise."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.off = False  # erased before output to the terminal: quiet from then on

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    @property
    def shown(self) -> bool:
        return not self.off and sys.stderr.isatty()

    def stage(self, label: str) -> TerminalProgress:
        """Name the work the next `start` counts ("writing"); the bar shown goes on until then."""
        self.label = label
        return self

    def start(self, total: int) -> None:
        if total <= 0 or not self.shown:
            return
        if self.bar is not None:  # drawn over the last bar, on its line
            sys.stderr.write(ERASE_LINE)
        self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
        self.bar.render_progress()

    def advance(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        """The bar drawn once more, whole, and left on its line."""
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None

    def clear(self) -> None:
        """The bar erased from the terminal; nothing more is shown."""
        self.off = True
        if self.bar is not None:
            self.bar = None
            sys.stderr.write(ERASE_LINE + SHOW_CURSOR)
            sys.stderr.flush()

    def printing(self) -> None:
        """The command's output starts now: when it goes to the terminal (stdout a tty), the
        bar is erased first and stays off; to a file or a pipe, the bar goes on."""
        if sys.stdout.isatty():
            self.clear()
