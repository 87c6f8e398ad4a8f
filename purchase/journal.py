"""From posting roles to journal lines: map roles to accounts, merge, drop what nets to zero.

Within one entry, lines on the same account with the same dimensions are merged and a
line that nets to nothing is left out. This is what keeps every entry valid when GR and
IR are configured as one account (the SAP-style GR/IR clearing account).
"""

from __future__ import annotations

from decimal import Decimal
from operator import itemgetter
from typing import Iterable

from ledger.posting import LineSpec, StoredLine
from purchase.rules import ROLES

ROLE_ORDER = {role: n for n, role in enumerate(ROLES)}
UNDO_DOCUMENT = "undo closeout "
"""The `document` of an undo's journal lines, before the close-out's number ("undo closeout 4")."""
_ONE = Decimal(1)
_KEY = itemgetter(0, 3, 4, 5)
"""A journal line's key in `merge_lines`: account, partner, order line, document (the same places in both forms)."""


def role_lines(
    amounts: dict[str, Decimal] | dict[str, int],
    accounts: dict[str, str],
    *,
    partner_id: int | None,
    order_line_id: int | None,
    document: str | None,
    quantity: Decimal | None,
    quantities: dict[str, Decimal | None] | None = None,
    order: dict[str, int] = ROLE_ORDER,
    form: type[LineSpec] | type[StoredLine] = LineSpec,
) -> list:
    """Signed role amounts (debit +) of one order line as journal lines, in a fixed order
    (`ROLES`', or the given role -> position): `LineSpec`s of Decimals, or with
    `form=StoredLine` of stored integers (amounts, and quantities, as the rule on
    `StoredLineState`s gives them).

    Each line carries `quantity`, or the role's own in `quantities` where it names one (a
    close-out's GR side carries the units written off as never invoiced, its IR side the
    units never received, its rounding line none).
    """
    lines = []
    signed = form.signed
    for role in sorted(amounts, key=order.__getitem__):
        amount = amounts[role]
        if amount == 0:  # 0, not ZERO: an int compared with a Decimal costs four times as much
            continue
        q = quantity if quantities is None else quantities.get(role, quantity)
        lines.append(signed(accounts[role], amount, partner_id, order_line_id, document, q))
    return lines


def merge_lines(lines: Iterable[LineSpec] | Iterable[StoredLine], *, add_quantities: bool = False) -> list:
    """Net lines with the same account and dimensions; drop the ones that net to zero.
    Lines are all `LineSpec`s or all `StoredLine`s, and come out so.

    A line alone on its key is kept as it is (most lines are: an import makes one object
    fewer per journal line); lines that share a key become one, built again. The merged
    line carries the first line's quantity (the lines of one document line, on an account
    two roles share, carry the same units), or with `add_quantities` their sum (lines of
    several document lines of one order line, each merged on its own first: an invoice
    of 5 at 0.335 and 5 at 0.34 on one order line says 10).
    """
    lines = lines if type(lines) is list else list(lines)
    if len(set(map(_KEY, lines))) == len(lines):  # each line alone on its key (most entries): nothing to add up
        return [line if _as_signed(line, amount) else
                type(line).signed(line.account, amount, partner_id=line.partner_id, order_line_id=line.order_line_id,
                                  document=line.document, quantity=line.quantity)
                for line in lines if (amount := line.amount) != 0]
    merged: dict[tuple, list] = {}
    form = LineSpec
    for line in lines:
        form = type(line)
        key = (line.account, line.partner_id, line.order_line_id, line.document)
        held = merged.get(key)
        if held is None:
            merged[key] = [line.amount, line.quantity, line]
        else:
            held[0] += line.amount
            if line.quantity is not None:
                if held[1] is None:
                    held[1] = line.quantity
                elif add_quantities:
                    held[1] += line.quantity
            held[2] = None
    out = []
    for (account, partner, order_line, document), (amount, quantity, alone) in merged.items():
        if amount == 0:
            continue
        if alone is not None and _as_signed(alone, amount):
            out.append(alone)
        else:
            out.append(form.signed(account, amount, partner_id=partner, order_line_id=order_line, document=document,
                                   quantity=quantity))
    return out


def _as_signed(line: LineSpec | StoredLine, amount: Decimal | int) -> bool:
    """Whether the line is what `signed` of its form builds from its account, amount and dimensions."""
    if type(line) is not StoredLine and (line.currency is not None or line.amount_currency is not None or line.rate != _ONE):
        return False
    return line.credit == 0 if amount > 0 else line.debit == 0
