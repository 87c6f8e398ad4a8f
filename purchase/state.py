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
