"""Purchase settings (inkoopinstellingen) and the default chart that `pledger init` installs.

Every posting role of DOMAIN.md maps to an account. The default codes follow the Belgian
minimum chart of accounts (PCMN / MAR, Royal Decree of 21 October 2018), six digits:

| key                  | code   | PCMN class and meaning                                        |
|----------------------|--------|---------------------------------------------------------------|
| stock                | 340000 | 34 goods for resale (handelsgoederen), acquisition value      |
| expense              | 610000 | 61 services and other goods (diensten en diverse goederen)    |
| creditors            | 440000 | 44 trade creditors (leveranciers)                             |
| input_vat            | 411000 | 411 VAT receivable (terug te vorderen btw)                    |
| goods_received       | 444000 | 444 invoices to be received (te ontvangen facturen): GR       |
| invoices_received    | 499100 | 499 suspense accounts (wachtrekeningen): IR, goods to receive |
| uninvoiced_receipts  | 608100 | 608 discounts and rebates received: receipts never invoiced   |
| unreceived_invoices  | 604900 | 604 purchases of goods: invoices whose goods never arrive     |
| price_differences    | 604500 | 604 purchases of goods: price differences on purchases        |
| exchange_differences | 654000 | 654 exchange losses (wisselkoersverschillen)                  |
| rounding             | 657000 | 657 other financial charges: rounding differences             |
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.accounts import ensure_account, ensure_journal, ensure_setting, get_account, get_setting, put_setting
from ledger.errors import PledgerError
from ledger.text import control_named, first_control
from ledger.models import Account, EntryLine
from ledger.money import currency_code
from ledger.periods import hold_periods, open_year
from purchase.models import PurchaseSetting

SETTING_KEYS = (
    "stock",
    "expense",
    "creditors",
    "input_vat",
    "goods_received",
    "invoices_received",
    "uninvoiced_receipts",
    "unreceived_invoices",
    "price_differences",
    "exchange_differences",
    "rounding",
)

DEFAULT_CHART = {
    "stock": ("340000", "Handelsgoederen - aanschaffingswaarde (stock)", "asset"),
    "expense": ("610000", "Diensten en diverse goederen (expenses)", "expense"),
    "creditors": ("440000", "Leveranciers (trade creditors)", "liability"),
    "input_vat": ("411000", "Terug te vorderen btw (input VAT)", "asset"),
    "goods_received": ("444000", "Goederen ontvangen, te ontvangen facturen (goods received)", "liability"),
    "invoices_received": ("499100", "Ontvangen facturen, goederen te ontvangen (invoices received)", "asset"),
    "uninvoiced_receipts": ("608100", "Niet afgeletterde ontvangsten (uninvoiced receipts)", "expense"),
    "unreceived_invoices": ("604900", "Niet afgeletterde facturen (unreceived invoices)", "expense"),
    "price_differences": ("604500", "Prijsverschillen op aankopen (price differences)", "expense"),
    "exchange_differences": ("654000", "Wisselkoersverschillen (exchange differences)", "expense"),
    "rounding": ("657000", "Afrondingsverschillen (rounding differences)", "expense"),
}

# roles whose ledger balance must equal the order lines' sub-balances (the tie-out)
SUB_LEDGER_KEYS = ("goods_received", "invoices_received")
WRITE_OFF_KEYS = ("uninvoiced_receipts", "unreceived_invoices")
"""Accounts an undo gives back to exactly what close-outs (and documents under them) put there."""

JOURNALS = {
    "PUR": "Aankopen (purchase invoices)",
    "REC": "Ontvangsten (goods receipts)",
    "MEM": "Diverse posten (memorial: close-outs)",
}
INVOICE_JOURNAL, RECEIPT_JOURNAL, CLOSEOUT_JOURNAL = "PUR", "REC", "MEM"


class SettingsError(PledgerError):
    pass


@dataclass
class Installed:
    """What `install_defaults` created, kind by kind (each in the order made), and the
    same as sentences in that order (`said`). Nothing created: all empty, and false."""

    base_currency: str | None = None  # set now; None when the books had one
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    settings: list[tuple[str, str]] = field(default_factory=list)  # (key, account code)
    journals: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    fiscal_years: list[int] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.said)


def install_defaults(session: Session, base_currency: str, today: dt.date) -> Installed:
    """Install chart, journals, fiscal year of today and settings; returns what it created."""
    created = Installed()
    base_currency = currency_code(base_currency)
    if ensure_setting(session, "base_currency", base_currency):
        created.base_currency = base_currency
        created.said.append(f"base currency {base_currency}")
    for key, (code, name, kind) in DEFAULT_CHART.items():
        account, made = ensure_account(session, code, name, kind)
        if made:
            created.accounts.append((code, name))
            created.said.append(f"account {code} {name}")
        if session.get(PurchaseSetting, key) is None:
            session.add(PurchaseSetting(key=key, account_id=account.id))
            created.settings.append((key, code))
            created.said.append(f"setting {key} = {code}")
    for code, name in JOURNALS.items():
        if ensure_journal(session, code, name)[1]:
            created.journals.append((code, name))
            created.said.append(f"journal {code} {name}")
    if open_year(session, today.year)[1]:
        created.fiscal_years.append(today.year)
        created.said.append(f"fiscal year {today.year}")
    session.flush()
    return created


def settings_map(session: Session) -> dict[str, str]:
    """Setting key -> account code."""
    rows = session.execute(
        select(PurchaseSetting.key, Account.code).join(Account, Account.id == PurchaseSetting.account_id)
    ).all()
    found = dict(rows)
    return {key: found[key] for key in SETTING_KEYS if key in found}


def role_accounts(session: Session) -> dict[str, str]:
    """Posting role -> account code, refusing an incomplete configuration."""
    return _complete(settings_map(session))


def role_account_ids(session: Session) -> dict[str, int]:
    """Posting role -> account id, as ledger lines carry it; `role_accounts` by id."""
    return _complete(dict(session.execute(select(PurchaseSetting.key, PurchaseSetting.account_id)).all()))


NOT_INSTALLED = "the book's defaults are not installed (no chart of accounts or purchase settings): run 'pledger init'"


def refuse_not_installed(session: Session, init: str = "pledger init") -> None:
    """Refuse a book whose defaults were never installed: `init` made its tables and was
    stopped (killed, Ctrl-C, a full disk) before `install_defaults` committed, which makes
    the accounts, journals, year and settings in one transaction, so that a book with one
    purchase setting has them all. One read of one row. The CLI asks it of every command
    that reads or writes the books (`cli.app.App`), but those that complete or set up any
    database (`init`, `demo`, `db roles`). `init`: the command to run, as the CLI names it
    with the books it was given (`pledger --db books.db init`)."""
    if session.scalar(select(PurchaseSetting.key).limit(1)) is None:
        raise SettingsError(NOT_INSTALLED.replace("'pledger init'", f"'{init}'"))


def _complete(mapping: dict) -> dict:
    """Every setting key's value, in SETTING_KEYS' order; refused when one is missing.

    None at all: `init` made the tables but did not install its defaults (killed, or the
    disk full, between its migrations' commit and the defaults' one; only `install_defaults`
    makes accounts and settings, in one transaction): `init` again installs them."""
    if not mapping:
        raise SettingsError(NOT_INSTALLED)
    missing = [k for k in SETTING_KEYS if k not in mapping]
    if missing:
        raise SettingsError(f"purchase settings incomplete ({', '.join(missing)}): run 'pledger init'")
    return {key: mapping[key] for key in SETTING_KEYS}


def unknown_setting(key: str, keys=SETTING_KEYS) -> str:
    """A key that is not a purchase setting, with those that are (`keys`), as `set_setting`
    refuses it and the CLI's `settings set KEY` (`cli.params.SettingKeyType`, a usage mistake)."""
    return f"unknown purchase setting '{key}': one of {', '.join(keys)}"


def set_setting(session: Session, key: str, account_code: str) -> bool:
    """Point a posting role at another account; returns whether it changed.

    Waits for the postings under way, and holds off those that start meanwhile, as a period
    lock does (`ledger.periods.hold_periods`: every posting holds that lock, shared, from
    before it reads the settings to its end): the check that the account holds no order
    line's postings then sees every posting. Unheld, on PostgreSQL, a book's first receipt
    posting to goods received 444000 while goods_received was set to 499100 was not seen,
    and both committed: `check` failed, "GR/IR account 499100 balance 0.00 differs from
    the lines' -6.66" (audit of 6 December 2026)."""
    if key not in SETTING_KEYS:
        raise SettingsError(unknown_setting(key))
    refuse_not_installed(session)  # `init` cut short: not "no account with code" (a book missing some keys may still set them)
    hold_periods(session, exclusive=True)
    account = get_account(session, account_code)
    _refuse_shared_sub_ledger(session, key, account)
    setting = session.get(PurchaseSetting, key)
    if setting is not None and setting.account_id != account.id and key in SUB_LEDGER_KEYS + WRITE_OFF_KEYS:
        used = session.scalar(
            select(EntryLine.id).where(EntryLine.account_id == setting.account_id, EntryLine.order_line_id.is_not(None)).limit(1)
        )
        if used is not None:
            current = session.get(Account, setting.account_id).code
            held = ("sub-balances, which would no longer tie out" if key in SUB_LEDGER_KEYS else
                    "write-offs, which an undo gives back to the account it is set to then")
            raise SettingsError(
                f"cannot move {key} from {current} to {account_code}: {current} already holds order lines' "
                f"{held}; change it in a new book or before the first posting"
            )
    if setting is None:
        session.add(PurchaseSetting(key=key, account_id=account.id))
        return True
    if setting.account_id == account.id:
        return False
    setting.account_id = account.id
    session.flush()
    return True


def _refuse_shared_sub_ledger(session: Session, key: str, account: Account) -> None:
    """The goods-received and invoices-received accounts hold the order lines' sub-balances
    alone: their balances must equal them (the GR/IR tie-out), which any other role's
    postings on them would break. The two may share one account (a GR/IR clearing account,
    as SAP keeps one); no other role may share theirs."""
    roles = dict(session.execute(select(PurchaseSetting.key, PurchaseSetting.account_id)).all())
    roles[key] = account.id
    for sub in SUB_LEDGER_KEYS:
        sharing = [k for k in SETTING_KEYS if k not in SUB_LEDGER_KEYS and sub in roles and roles.get(k) == roles[sub]]
        if sharing and key in (sub, *sharing):
            other = sharing[0] if key == sub else sub
            raise SettingsError(
                f"cannot set {key} to {account.code}: {account.code} is the {other} account, and {sub} needs an "
                f"account of its own (its balance must equal the order lines' sub-balances); choose another account"
            )


# -- our company: the buyer on every purchase order ------------------------------------

COMPANY_KEYS = {"name": "company_name", "vat_number": "company_vat_number", "endpoint": "company_endpoint_id"}
DEFAULT_ENDPOINT_SCHEME = "0208"  # Peppol EAS: Belgian enterprise number
_VAT_NUMBER = re.compile(r"[A-Z]{2}[0-9A-Z]{2,12}")
_ENDPOINT = re.compile(r"(\d{4}):(\S{1,50})")
_ENTERPRISE_NUMBER = re.compile(r"[01]\d{9}")
"""A Belgian enterprise number (KBO/BCE), the ID of Peppol scheme 0208: ten digits, the first 0 or 1.
Its mod-97 check digits are not checked (the team is asked, as for VAT numbers)."""


@dataclass(frozen=True)
class Company:
    """Our company (de eigen onderneming) as purchase orders name it: the buyer."""

    name: str | None = None
    vat_number: str | None = None
    endpoint: str | None = None  # Peppol participant, "SCHEME:ID"


def split_endpoint(value: str | None) -> tuple[str, str | None]:
    """A Peppol endpoint "SCHEME:ID" as (scheme, id); a bare id is a Belgian enterprise number (0208)."""
    if value and ":" in value:
        scheme, endpoint = value.split(":", 1)
        return scheme, endpoint
    return DEFAULT_ENDPOINT_SCHEME, value or None


def company(session: Session) -> Company:
    return Company(**{field: get_setting(session, key) for field, key in COMPANY_KEYS.items()})


def set_company(session: Session, *, name: str | None = None, vat_number: str | None = None,
                endpoint: str | None = None) -> dict[str, str]:
    """Set what is given of our company; returns the fields that changed, with their new values."""
    changed = {}
    for field, value in company_values(name=name, vat_number=vat_number, endpoint=endpoint).items():
        if put_setting(session, COMPANY_KEYS[field], value):
            changed[field] = value
    return changed


def company_values(*, name: str | None = None, vat_number: str | None = None,
                   endpoint: str | None = None) -> dict[str, str]:
    """What is given of our company, as it is kept (the name's spaces, a VAT number's and an
    enterprise number's dots dropped); SettingsError saying why a value cannot be one. Each
    is judged by its text alone, not by the books: the CLI refuses such a value as a usage
    mistake before the command runs."""
    given = {}
    if name is not None:
        name = " ".join(name.split())
        if not name:
            raise SettingsError("the company name is empty: give the name purchase orders show as the buyer")
        if len(name) > 255:
            raise SettingsError(f"the company name has {len(name)} characters: at most 255")
        control = first_control(name)
        if control is not None:  # shown in tables and on every purchase order: never an escape sequence
            raise SettingsError(f"the company name holds {control_named(control)}: it is one line of text")
        given["name"] = name
    if vat_number is not None:
        cleaned = vat_number.replace(" ", "").replace(".", "").upper()
        if not _VAT_NUMBER.fullmatch(cleaned):
            raise SettingsError(f"'{vat_number}' is not a VAT number: the country's two letters and the number, "
                                f"such as BE0123456749")
        given["vat_number"] = cleaned
    if endpoint is not None:
        value = endpoint.strip()
        if ":" not in value:
            value = f"{DEFAULT_ENDPOINT_SCHEME}:{value}"
        if not _ENDPOINT.fullmatch(value):
            raise SettingsError(f"'{endpoint}' is not a Peppol endpoint: SCHEME:ID with a four-digit scheme, "
                                f"such as 0208:0123456749 (a bare number is taken as 0208)")
        scheme, number = split_endpoint(value)
        if scheme == DEFAULT_ENDPOINT_SCHEME:  # an enterprise number, as people write it: 0123.456.749
            number = number.replace(".", "")
            if not _ENTERPRISE_NUMBER.fullmatch(number):
                raise SettingsError(f"'{endpoint}' is not a Belgian enterprise number (Peppol scheme 0208): ten digits, "
                                    f"such as 0123456749 or 0123.456.749")
            value = f"{scheme}:{number}"
        given["endpoint"] = value
    return given
