"""Balances derived from the posted lines (never stored): the trial balance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.models import Account, Entry, EntryLine
from ledger.money import ZERO


@dataclass(frozen=True)
class AccountBalance:
    account: str
    name: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


def trial_balance(session: Session, as_of: dt.date | None = None) -> list[AccountBalance]:
    """Per account with postings: total debit, total credit (summed exactly in SQL)."""
    return _per_account(session, *(() if as_of is None else (Entry.entry_date <= as_of,)))


def account_totals(session: Session, entry_ids) -> list[AccountBalance]:
    """Per account: total debit and credit of the entries whose ids the select `entry_ids`
    gives (summed exactly in SQL), by account code: a posting report's totals per account
    read back from the ledger."""
    return _per_account(session, EntryLine.entry_id.in_(entry_ids))


def _per_account(session: Session, *conditions) -> list[AccountBalance]:
    """Total debit and credit per account of the entry lines the conditions select, by code."""
    sums = (
        select(EntryLine.account_id, func.sum(EntryLine.debit).label("debit"), func.sum(EntryLine.credit).label("credit"))
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(*conditions)
        .group_by(EntryLine.account_id)
    ).subquery()
    rows = session.execute(
        select(Account.code, Account.name, sums.c.debit, sums.c.credit)
        .join(sums, sums.c.account_id == Account.id)
        .order_by(Account.code)
    ).all()
    return [AccountBalance(code, name, debit or ZERO, credit or ZERO) for code, name, debit, credit in rows]


def account_balance(session: Session, account_code: str, as_of: dt.date | None = None) -> Decimal:
    """Debit minus credit of one account."""
    stmt = (
        select(func.sum(EntryLine.debit), func.sum(EntryLine.credit))
        .join(Account, Account.id == EntryLine.account_id)
        .join(Entry, Entry.id == EntryLine.entry_id)
        .where(Account.code == account_code)
    )
    if as_of is not None:
        stmt = stmt.where(Entry.entry_date <= as_of)
    debit, credit = session.execute(stmt).one()
    return (debit or ZERO) - (credit or ZERO)
