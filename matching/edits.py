"""Reading the close-out edits file: `order, line, to_receive, to_invoice` (blanks allowed).

The file `pledger closeout propose` writes is an edits file as it stands (CLI.md: the user
lowers `to_receive` / `to_invoice` in it and gives it back). Of its other columns,
`supplier`, `item`, `received` and `invoiced` are read where a row gives them and compared
with the line the row names (`matching.closeout.shown_differences`): a spreadsheet that
dropped an order number's leading zeros (00123 saved as 123) would otherwise close out
another order's line, and documents that came in since the proposal would be closed out
unseen. `order_date` is taken and not read: spreadsheets rewrite dates in their own way.
Any other column is refused, as every CSV reader here refuses one it does not know: a
misspelt `to_invoce` would otherwise be lost without a word.
"""

from __future__ import annotations

from purchase import csvfile as c
from purchase.csvfile import Field
from matching.closeout import SHOWN, Edit


def _not_read(value: str) -> None:
    """A column propose writes for the user to see: its value does not matter."""
    return None


@c.holding(c.CODE)
def _as_written(value: str) -> str:
    """A code as the row shows it, compared with the line's as it stands."""
    return value


_PARSE = {"supplier": _as_written, "order_date": _not_read, "item": _as_written, "received": c.quantity,
          "invoiced": c.quantity}
PROPOSAL_ONLY = tuple(_PARSE)
"""The columns of `closeout propose` besides the edits' own."""
assert set(SHOWN) <= set(PROPOSAL_ONLY)

FIELDS = [  # in the order propose writes them: the order a refusal lists them in
    Field("order", c.code),
    Field("line", c.integer),
    *(Field(name, _PARSE[name], required=False) for name in PROPOSAL_ONLY),
    Field("to_receive", c.quantity, allow_blank=True),
    Field("to_invoice", c.quantity, allow_blank=True),
]

PROPOSAL_COLUMNS = tuple(f.name for f in FIELDS)
"""The header `closeout propose` writes (cli/commands/closeout.py): a file this reads back."""


def read_edits(path) -> list[Edit]:
    """The file's rows as edits. A CSV file holds what a spreadsheet showed, rounded to a
    column's decimals: its values are checked for that (`Edit.as_shown`); a workbook's cells
    hold what was typed, whatever they show (12.3 typed where the line has 12.34 is 12.3)."""
    as_shown = not c.is_workbook(path)
    return [
        Edit(v["order"], v["line"], v["to_receive"], v["to_invoice"], where=f"{path}: row {row}",
             shown=tuple((name, v[name]) for name in SHOWN if v[name] is not None), as_shown=as_shown)
        # a proposal filtered to some rows: its hidden rows, as propose wrote them, change nothing
        for row, v in c.read_rows(path, FIELDS, nothing="it names no line to close out", hidden_rows=True)
    ]
