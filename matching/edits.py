"""Reading the close-out edits file: `order, line, to_receive, to_invoice` (blanks allowed).

The file `pledger closeout propose` writes is an edits file as it stands (CLI.md: the user
lowers `to_receive` / `to_invoice` in it and gives it back): its other columns, `supplier,
order_date, item, received, invoiced`, are taken and not read, whatever a spreadsheet made
of them. Any other column is refused, as every CSV reader here refuses one it does not
know: a misspelt `to_invoce` would otherwise be lost without a word.
"""

from __future__ import annotations

from purchase import csvfile as c
from purchase.csvfile import Field
from matching.closeout import Edit


def _not_read(value: str) -> None:
    """A column propose writes for the user to see: its value does not matter."""
    return None


PROPOSAL_ONLY = ("supplier", "order_date", "item", "received", "invoiced")
"""The columns of `closeout propose` besides the edits' own."""

FIELDS = [  # in the order propose writes them: the order a refusal lists them in
    Field("order", c.code),
    Field("line", c.integer),
    *(Field(name, _not_read, required=False) for name in PROPOSAL_ONLY),
    Field("to_receive", c.quantity, allow_blank=True),
    Field("to_invoice", c.quantity, allow_blank=True),
]

PROPOSAL_COLUMNS = tuple(f.name for f in FIELDS)
"""The header `closeout propose` writes (cli/commands/closeout.py): a file this reads back."""


def read_edits(path) -> list[Edit]:
    return [
        Edit(v["order"], v["line"], v["to_receive"], v["to_invoice"], where=f"{path}: row {row}")
        for row, v in c.read_rows(path, FIELDS, nothing="it names no line to close out")
    ]
