"""Accounts and journals: creating them idempotently."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from ledger.errors import NotFound
from ledger.models import Account, FiscalYear, Journal, JournalCounter, Setting
from ledger.posting import GENESIS_HASH

ACCOUNT_KINDS = ("asset", "liability", "equity", "income", "expense")


def ensure_account(session: Session, code: str, name: str, kind: str) -> tuple[Account, bool]:
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"unknown account kind {kind!r}")
    account = session.scalar(select(Account).where(Account.code == code))
    if account is not None:
        return account, False
    account = Account(code=code, name=name, kind=kind)
    session.add(account)
    session.flush()
    return account, True


def get_account(session: Session, code: str) -> Account:
    account = session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise NotFound(f"no account with code '{code}': see 'pledger accounts list'")
    return account


def ensure_journal(session: Session, code: str, name: str) -> tuple[Journal, bool]:
    journal = session.scalar(select(Journal).where(Journal.code == code))
    if journal is not None:
        return journal, False
    journal = Journal(code=code, name=name)
    session.add(journal)
    session.flush()
    ensure_counters(session)
    return journal, True


def ensure_counters(session: Session) -> None:
    """One counter row per journal and fiscal year, made before anyone posts.

    Made ahead so that concurrent posters only ever lock an existing row.
    """
    have = set(session.execute(select(JournalCounter.journal_id, JournalCounter.fiscal_year_id)).all())
    for journal_id in session.scalars(select(Journal.id)):
        for fy_id in session.scalars(select(FiscalYear.id)):
            if (journal_id, fy_id) not in have:
                session.add(JournalCounter(journal_id=journal_id, fiscal_year_id=fy_id, last_number=0, last_hash=GENESIS_HASH))
    session.flush()


def get_setting(session: Session, key: str) -> str | None:
    return session.scalar(select(Setting.value).where(Setting.key == key))


def kept_setting(engine: Engine, key: str) -> str | None:
    """A book-wide setting of the books the database holds, read before any migration runs
    (`pledger init`): None where it holds none, or no pledger tables yet."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(Setting.__tablename__):
            return None
        return connection.scalar(select(Setting.value).where(Setting.key == key))


def put_setting(session: Session, key: str, value: str) -> bool:
    """Set a book-wide setting; whether it changed."""
    setting = session.get(Setting, key)
    if setting is None:
        session.add(Setting(key=key, value=value))
    elif setting.value == value:
        return False
    else:
        setting.value = value
    session.flush()
    return True


def ensure_setting(session: Session, key: str, value: str) -> bool:
    if get_setting(session, key) is not None:
        return False
    session.add(Setting(key=key, value=value))
    session.flush()
    return True
