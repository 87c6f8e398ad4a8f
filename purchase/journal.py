"""From posting roles to journal lines: map roles to accounts, merge, drop what nets to zero.

Within one entry, lines on the same account with the same dimensions are merged and a
line that nets to nothing is left out. This is what keeps every entry valid when GR and
IR are configured as one account (the SAP-style GR/IR clearing account).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from ledger.money import ZERO
from ledger.posting import LineSpec
from purchase.rules import ROLES

ROLE_ORDER = {role: n for n, role in enumerate(ROLES)}


def role_lines(
    amounts: dict[str, Decimal],
    accounts: dict[str, str],
    *,
    partner_id: int | None,
    order_line_id: int | None,
    document: str | None,
    quantity: Decimal | None,
) -> list[LineSpec]:
    """Signed role amounts (debit +) of one order line as journal lines, in a fixed order."""
    return [
        LineSpec.signed(
            accounts[role], amount, partner_id=partner_id, order_line_id=order_line_id, document=document, quantity=quantity
        )
        for role, amount in sorted(amounts.items(), key=lambda kv: ROLE_ORDER[kv[0]])
        if amount != ZERO
    ]


def merge_lines(lines: Iterable[LineSpec]) -> list[LineSpec]:
    """Net lines with the same account and dimensions; drop the ones that net to zero."""
    merged: dict[tuple, list] = {}
    for line in lines:
        key = (line.account, line.partner_id, line.order_line_id, line.document)
        if key in merged:
            merged[key][0] += line.amount
            if line.quantity is not None and merged[key][1] is None:
                merged[key][1] = line.quantity
        else:
            merged[key] = [line.amount, line.quantity]
    return [
        LineSpec.signed(account, amount, partner_id=partner, order_line_id=order_line, document=document, quantity=quantity)
        for (account, partner, order_line, document), (amount, quantity) in merged.items()
        if amount != ZERO
    ]
