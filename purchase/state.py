"""Reading an order line's matching state from its row (ORM object or Core row)."""

from __future__ import annotations

from purchase.rules import LineState


def line_state(line, currency: str) -> LineState:
    return LineState(line.quantity, line.net_price, currency, line.received, line.invoiced, line.lowered_receive,
                     line.lowered_invoice, line.written_off_uninvoiced, line.written_off_unreceived)


STATE_COLUMNS = (
    "received",
    "invoiced",
    "lowered_receive",
    "lowered_invoice",
    "written_off_uninvoiced",
    "written_off_unreceived",
)
STORED_STATE = frozenset(STATE_COLUMNS)
"""The same, as `ledger.bulk`'s writes take them (`stored=`) when the values are already the
stored integers (`StoredLineState`'s, a new line's zeros)."""
