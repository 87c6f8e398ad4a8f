"""The posting service: the only way an entry gets into the books.

`Poster.post(entries)` validates a batch of entries, numbers them gapless per journal and
fiscal year from a counter row locked inside the caller's transaction, chains each
entry's hash to the previous entry of its journal, and writes entries and lines with
SQLAlchemy Core in one multi-row INSERT each. A single document posts a batch of one;
a close-out of a million lines posts batches of a few thousand. The service never
commits: the caller owns the transaction, so a rolled-back trial takes no number.

Refused (PostingError / PeriodError, nothing written): fewer than two lines, a zero
line, a line with both debit and credit, a negative amount, an amount finer than the
base currency's minor unit, an entry that does not balance to the cent, an unknown
account or journal, a date outside every fiscal year or in a locked period.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache
from itertools import chain, product
from operator import itemgetter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Iterator, NamedTuple, Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ledger.bulk import insert_rows, new_ids, update_by_key
from ledger.clock import utc_now
from ledger.errors import PostingError
from ledger.models import Account, Entry, EntryLine, Journal, JournalCounter, Setting
from ledger.money import ZERO, D, minor_unit
from ledger.periods import PeriodMap
from ledger.types import AMOUNT_SCALE, PRICE_SCALE, QUANTITY_SCALE, from_scaled, scaled_writer

GENESIS_HASH = "0" * 64
_ONE = Decimal(1)
_STORED_ONE = 10**PRICE_SCALE  # a rate of one, stored
_new_tuple = tuple.__new__


class LineSpec(NamedTuple):
    """One line to post: a debit or a credit on an account, with its dimensions.

    Immutable; a named tuple because a close-out builds one for every line it posts.
    """

    account: str  # account code
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    partner_id: int | None = None
    order_line_id: int | None = None
    document: str | None = None
    quantity: Decimal | None = None
    currency: str | None = None  # document currency; None = base currency
    amount_currency: Decimal | None = None  # signed (debit +), None = the base amount
    rate: Decimal = _ONE

    @property
    def amount(self) -> Decimal:
        """Signed amount, debit positive."""
        return self.debit - self.credit

    def decimals(self) -> "LineSpec":
        """The line in Decimals: itself (`StoredLine.decimals` makes one of stored integers)."""
        return self

    @staticmethod
    def signed(account: str, amount: Decimal, partner_id: int | None = None, order_line_id: int | None = None,
               document: str | None = None, quantity: Decimal | None = None) -> "LineSpec":
        """A debit for a positive amount, a credit for a negative one, in the base currency.
        (Dimensions by position too: batches build one for every line they post.)"""
        if amount >= 0:
            return LineSpec(account, amount, ZERO, partner_id, order_line_id, document, quantity)
        return LineSpec(account, ZERO, -amount, partner_id, order_line_id, document, quantity)


class StoredLine(NamedTuple):
    """A `LineSpec` in the base currency whose amounts and quantity are already the stored
    integers (amounts x 10^AMOUNT_SCALE, the quantity x 10^QUANTITY_SCALE), as batch rules
    compute them: posted as they are, with no Decimal made and converted back. The same
    checks hold (the minor unit in stored form: 100 for EUR)."""

    account: str  # account code
    debit: int = 0
    credit: int = 0
    partner_id: int | None = None
    order_line_id: int | None = None
    document: str | None = None
    quantity: int | None = None
    currency = None  # the base currency, always
    amount_currency = None
    rate = _STORED_ONE

    @property
    def amount(self) -> int:
        """Signed amount, debit positive."""
        return self.debit - self.credit

    @staticmethod
    def signed(account: str, amount: int, partner_id: int | None = None, order_line_id: int | None = None,
               document: str | None = None, quantity: int | None = None) -> "StoredLine":
        """As `LineSpec.signed`, in stored integers (the tuple made at once: batches make one a line)."""
        if amount >= 0:
            return _new_tuple(StoredLine, (account, amount, 0, partner_id, order_line_id, document, quantity))
        return _new_tuple(StoredLine, (account, 0, -amount, partner_id, order_line_id, document, quantity))

    def decimals(self) -> LineSpec:
        """The same line in Decimals (amounts with AMOUNT_SCALE places), for reading it."""
        return LineSpec(self.account, from_scaled(self.debit, AMOUNT_SCALE), from_scaled(self.credit, AMOUNT_SCALE),
                        self.partner_id, self.order_line_id, self.document, from_scaled(self.quantity, QUANTITY_SCALE))


@dataclass(frozen=True)
class EntrySpec:
    journal: str  # journal code
    date: dt.date
    lines: Sequence[LineSpec] | Sequence[StoredLine]  # one form per entry
    description: str = ""
    source: str = "manual"


@dataclass(frozen=True)
class PostedEntry:
    id: int
    journal: str
    fiscal_year_id: int
    number: int
    date: dt.date
    spec: EntrySpec = field(repr=False)


@dataclass(frozen=True)
class Numbered:
    """Entries checked, numbered and hashed by `Poster.number`, not yet written: what
    `Poster.write` writes. `heads`: each entry's row (its id taken); `line_rows`: each
    entry's lines' rows (its id first); `counters`: per (journal id, fiscal year id), the
    last number and hash after these entries."""

    specs: Sequence[EntrySpec]
    heads: list[dict]
    line_rows: list[list[tuple]]
    counters: dict[tuple[int, int], tuple[int, str]]

    def entries(self) -> Iterator[tuple[str, int, dt.date, Sequence]]:
        """(journal, number, date, lines) of each entry, as a posting report counts them."""
        return ((s.journal, h["number"], s.date, s.lines) for s, h in zip(self.specs, self.heads))


def base_currency(session: Session) -> str:
    value = session.scalar(select(Setting.value).where(Setting.key == "base_currency"))
    if value is None:
        raise PostingError("the database has no base currency: run 'pledger init' first")
    return value


HASHED_LINE_COLUMNS = ("line_no", "account_id", "debit", "credit", "currency", "amount_currency", "rate",
                       "partner_id", "order_line_id", "document", "quantity")
_HASHED_LINE = itemgetter(*HASHED_LINE_COLUMNS)


def entry_hash(prev_hash: str, head: dict, lines: Iterable[dict]) -> str:
    """SHA-256 over an entry's content and the previous entry's hash.

    `head` and `lines` hold the stored values (ids, scaled integers, ISO dates), so the
    hash computed at posting time and the one `check` recomputes from the rows agree.
    Per line: line_no, account_id, debit, credit, currency, amount_currency, rate,
    partner_id, order_line_id, document, quantity, joined by "|" (None as "").
    """
    return entry_hash_of_values(prev_hash, head, map(_HASHED_LINE, lines))


_LINE_TEXT = "|".join(["%s"] * len(HASHED_LINE_COLUMNS))
_HEAD_TEXT = "\n".join(["%s"] * 8)
"""The head's hashed values, each as str() writes it: journal id, fiscal year id, number, ISO
date, description, source, user, posting moment (ISO, to the microsecond)."""
_MAY_BE_NULL = tuple(HASHED_LINE_COLUMNS.index(c) for c in ("partner_id", "order_line_id", "document", "quantity"))
"""The hashed columns a line may leave empty (NULL); the others are NOT NULL."""


def entry_hash_of_values(prev_hash: str, head: dict, lines: Iterable[tuple], first: int = 0, *,
                         entry_date_text: str | None = None, posted_at_text: str | None = None) -> str:
    """`entry_hash` of lines given as tuples of their `HASHED_LINE_COLUMNS` values, from
    position `first` of each tuple on (1: the rows as written, the entry's id first).

    `entry_date_text` and `posted_at_text`: the head's date and moment as the hash writes
    them (ISO), when the caller already made them: a poster makes each once a batch, not
    once an entry (they were a fifth of the hash's time)."""
    parts = [
        prev_hash,
        _HEAD_TEXT % (
            head["journal_id"],
            head["fiscal_year_id"],
            head["number"],
            entry_date_text or head["entry_date"].isoformat(),
            head["description"],
            head["source"],
            head["user_name"],
            posted_at_text or head["posted_at"].isoformat(timespec="microseconds"),
        ),
    ]
    text, (a, b, c, d), texts = _line_texts(first)
    for line in lines:
        if line[a] is None or line[b] is None or line[c] is None or line[d] is None:
            nulls = (line[a] is None, line[b] is None, line[c] is None, line[d] is None)
            parts.append(texts[nulls] % line)
        else:  # the same text, in one formatting (most lines of a batch fill every column)
            parts.append(text % line)
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


@lru_cache(maxsize=None)
def _line_texts(first: int) -> tuple[str, tuple[int, ...], dict[tuple[bool, ...], str]]:
    """How `entry_hash_of_values` writes a line given from position `first` on: its text (the
    values before `first` shown as nothing, "%.0s"), the positions of the values that may be
    None, and per pattern of Nones among them the text that shows each None as nothing
    ("%.0s" of None is ""), so that a line with a None is one formatting too."""
    marks = ["%.0s"] * first + ["%s"] * len(HASHED_LINE_COLUMNS)
    positions = tuple(first + i for i in _MAY_BE_NULL)
    texts = {}
    for nulls in product((False, True), repeat=len(positions)):
        shown = list(marks)
        for position, null in zip(positions, nulls):
            if null:
                shown[position] = "%.0s"
        texts[nulls] = "".join(shown[:first]) + "|".join(shown[first:])
    return texts[(False,) * len(positions)], positions, texts


def _as_is(value):
    return value


def _stored_amount(value: int) -> str:
    """A stored amount as the number it stands for, in a message (12.345, 100)."""
    return f"{from_scaled(value, AMOUNT_SCALE).normalize():f}"


SCALED_LINE_COLUMNS = frozenset({"debit", "credit", "amount_currency", "rate", "quantity"})
_AMOUNT, _PRICE, _QUANTITY = scaled_writer(AMOUNT_SCALE), scaled_writer(PRICE_SCALE), scaled_writer(QUANTITY_SCALE)


def _entry_name(spec: EntrySpec) -> str:
    """How a refusal of `Poster.check` names its entry ("entry 'receipt R-1' of 2026-06-30"):
    made only where one is said (a batch checks thousands of entries)."""
    return f"entry '{spec.description or spec.journal}' of {spec.date.isoformat()}"


class Poster:
    """Posts batches of entries inside the caller's transaction."""

    def __init__(self, session: Session, user: str, *, now: dt.datetime | None = None, hold_counters: bool = False):
        """`hold_counters`: the poster posts inside one transaction only, and keeps the
        counters it has locked (journal number and hash) instead of reading them again for
        each batch: the lock holds them for it until the transaction ends (FOR UPDATE on
        PostgreSQL; on SQLite the one writer's BEGIN IMMEDIATE). A close-out or an undo
        posts a chunk at a time in one transaction."""
        self.session = session
        self.user = user
        self.now = now
        self._held: dict[tuple[int, int], tuple[int, str]] | None = {} if hold_counters else None
        self.base_currency = base_currency(session)
        self._unit = minor_unit(self.base_currency)
        self._stored_unit = _AMOUNT(self._unit)
        self._accounts = dict(session.execute(select(Account.code, Account.id)).all())
        self._journals = dict(session.execute(select(Journal.code, Journal.id)).all())
        self._periods = PeriodMap(session)

    def check_date(self, date: dt.date) -> int:
        """The fiscal year id of a posting date; refuses a locked period or a date outside every year.

        Callers check a document's date even when it posts nothing (a zero-value receipt,
        a close-out that lowers equally): a locked period takes no change of any kind.
        """
        return self._periods.fiscal_year_for(date)

    def check(self, spec: EntrySpec) -> int:
        """Validate one entry; returns its fiscal year id. Raises PostingError.

        The same checks for both forms of lines: `LineSpec` (Decimals) and `StoredLine`
        (stored integers, the minor unit then stored too); an entry's lines are one form."""
        if spec.journal not in self._journals:
            raise PostingError(f"{_entry_name(spec)}: unknown journal '{spec.journal}'")
        if len(spec.lines) < 2:
            raise PostingError(f"{_entry_name(spec)}: an entry needs two lines or more, it has {len(spec.lines)}")
        form = type(spec.lines[0])
        stored = form is StoredLine
        unit, shown = (self._stored_unit, _stored_amount) if stored else (self._unit, _as_is)
        debit = credit = 0 if stored else ZERO
        for n, line in enumerate(spec.lines, 1):
            if type(line) is not form:
                raise PostingError(f"{_entry_name(spec)}, line {n}: an entry's lines are all Decimals or all stored integers")
            if line.account not in self._accounts:
                raise PostingError(f"{_entry_name(spec)}, line {n}: unknown account '{line.account}'")
            d, c = line.debit, line.credit
            if stored:
                if type(d) is not int or type(c) is not int:
                    raise PostingError(f"{_entry_name(spec)}, line {n}: a stored amount is an integer, not {d!r} or {c!r}")
            elif type(d) is not Decimal or type(c) is not Decimal or not (d.is_finite() and c.is_finite()):
                d, c = D(d), D(c)
            if d < 0 or c < 0:
                raise PostingError(f"{_entry_name(spec)}, line {n}: debit and credit must not be negative")
            if d != 0 and c != 0:
                raise PostingError(f"{_entry_name(spec)}, line {n}: a line is a debit or a credit, not both")
            if d == 0 and c == 0:
                raise PostingError(f"{_entry_name(spec)}, line {n}: a line of zero posts nothing and is refused")
            if d % unit or c % unit:
                raise PostingError(
                    f"{_entry_name(spec)}, line {n}: {shown(d or c)} is finer than the {self.base_currency} minor unit {self._unit}"
                )
            debit += d
            credit += c
        if debit != credit:
            raise PostingError(
                f"{_entry_name(spec)} does not balance: debit {shown(debit)} and credit {shown(credit)} differ by {shown(debit - credit)}"
            )
        return self._periods.fiscal_year_for(spec.date)

    def post(self, specs: Sequence[EntrySpec]) -> list[PostedEntry]:
        """Validate all, then number, hash and write all. Nothing is written on a refusal."""
        return self.write(self.number(specs))

    def number(self, specs: Sequence[EntrySpec]) -> Numbered:
        """Validate all, then take their ids and number and hash all, writing nothing:
        `write` writes them, before this poster numbers anything else."""
        if not specs:
            return Numbered([], [], [], {})
        fiscal_years = [self.check(spec) for spec in specs]
        now = self.now or utc_now()
        counters = self._lock_counters({(self._journals[s.journal], fy) for s, fy in zip(specs, fiscal_years)})

        heads: list[dict] = []
        line_rows: list[list[tuple]] = []
        now_text = now.isoformat(timespec="microseconds")
        date_texts: dict[dt.date, str] = {}
        for entry_id, spec, fy_id in zip(new_ids(self.session, Entry, len(specs)), specs, fiscal_years):
            key = (self._journals[spec.journal], fy_id)
            number, prev_hash = counters[key]
            number += 1
            head = {
                "id": entry_id,
                "journal_id": key[0],
                "fiscal_year_id": fy_id,
                "number": number,
                "entry_date": spec.date,
                "description": spec.description[:255],
                "source": spec.source,
                "user_name": self.user,
                "posted_at": now,
                "prev_hash": prev_hash,
            }
            lines = self._stored_lines(entry_id, spec.lines)
            date_text = date_texts.get(spec.date)
            if date_text is None:
                date_text = date_texts[spec.date] = spec.date.isoformat()
            head["hash"] = entry_hash_of_values(prev_hash, head, lines, first=1, entry_date_text=date_text,
                                                posted_at_text=now_text)
            counters[key] = (number, head["hash"])
            heads.append(head)
            line_rows.append(lines)
        if self._held is not None:
            self._held.update(counters)
        return Numbered(specs, heads, line_rows, counters)

    def write(self, numbered: Numbered) -> list[PostedEntry]:
        """Write entries `number` numbered: their rows, their lines, and the counters."""
        if not numbered.specs:
            return []
        specs, heads = numbered.specs, numbered.heads
        insert_rows(self.session, Entry, heads)
        insert_rows(self.session, EntryLine, list(chain.from_iterable(numbered.line_rows)), stored=SCALED_LINE_COLUMNS,
                    columns=("entry_id", *HASHED_LINE_COLUMNS))
        update_by_key(self.session, JournalCounter, [(number, last_hash, journal_id, fy_id)
                                                     for (journal_id, fy_id), (number, last_hash) in numbered.counters.items()],
                      columns=("last_number", "last_hash", "journal_id", "fiscal_year_id"), keys=2)
        return [
            PostedEntry(id=h["id"], journal=s.journal, fiscal_year_id=h["fiscal_year_id"], number=h["number"], date=s.date, spec=s)
            for s, h in zip(specs, heads)
        ]

    def _stored_lines(self, entry_id: int, lines: Sequence[LineSpec] | Sequence[StoredLine]) -> list[tuple]:
        """A checked entry's lines (all of one form) as their rows' values: the entry's id, then
        `HASHED_LINE_COLUMNS`; amounts, rate and quantity the stored integers."""
        if type(lines[0]) is StoredLine:  # already stored: posted as they are
            accounts, currency = self._accounts, self.base_currency
            return [(entry_id, n, accounts[account], debit, credit, currency, debit - credit, _STORED_ONE, partner_id,
                     order_line_id, document, quantity)
                    for n, (account, debit, credit, partner_id, order_line_id, document, quantity) in enumerate(lines, 1)]
        return [self._stored_line(entry_id, n, line) for n, line in enumerate(lines, 1)]

    def _stored_line(self, entry_id: int, line_no: int, line: LineSpec) -> tuple:
        """A checked line of Decimals as its row's values (the entry's id, then `HASHED_LINE_COLUMNS`)."""
        # one of debit and credit is zero, the rate mostly one and the quantity often none:
        # those are known without converting (this runs for every line a batch posts)
        account, d, c, partner_id, order_line_id, document, quantity, currency, amount_currency, rate = line
        debit, credit = _AMOUNT(d) if d else 0, _AMOUNT(c) if c else 0
        return (
            entry_id,
            line_no,
            self._accounts[account],
            debit,
            credit,
            currency or self.base_currency,
            debit - credit if amount_currency is None else _AMOUNT(amount_currency),
            _STORED_ONE if rate is _ONE else _PRICE(rate),
            partner_id,
            order_line_id,
            document,
            None if quantity is None else _QUANTITY(quantity),
        )

    def _lock_counters(self, keys: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, str]]:
        """Lock (and create where missing) the counter rows, in a fixed order; those this
        poster holds (`hold_counters`) are known without reading them again."""
        held = self._held or {}
        result = {key: held[key] for key in keys if key in held}
        for journal_id, fy_id in sorted(keys - result.keys()):
            row = self.session.execute(
                select(JournalCounter.last_number, JournalCounter.last_hash)
                .where(JournalCounter.journal_id == journal_id, JournalCounter.fiscal_year_id == fy_id)
                .with_for_update()
            ).first()
            if row is None:
                self.session.execute(
                    insert(JournalCounter).values(
                        journal_id=journal_id, fiscal_year_id=fy_id, last_number=0, last_hash=GENESIS_HASH
                    )
                )
                row = (0, GENESIS_HASH)
            result[(journal_id, fy_id)] = (row[0], row[1])
        return result
