"""Reading the close-out edits file: `order, line, to_receive, to_invoice` (blanks allowed)."""

from __future__ import annotations

from purchase import csvfile as c
from purchase.csvfile import Field
from matching.closeout import Edit

FIELDS = [
    Field("order", c.code),
    Field("line", c.integer),
    Field("to_receive", c.quantity, allow_blank=True),
    Field("to_invoice", c.quantity, allow_blank=True),
]


def read_edits(path) -> list[Edit]:
    return [
        Edit(v["order"], v["line"], v["to_receive"], v["to_invoice"], where=f"{path}: row {row}")
        for row, v in c.read_rows(path, FIELDS)
    ]
