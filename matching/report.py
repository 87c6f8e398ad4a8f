"""The posting report (boekingsverslag): what a close-out or undo posts, or would post.

Filled while the run posts, from the very entries it posts, so a trial report and the
real one come from the same lines. The close-out number and entry numbers are kept as
taken inside the transaction; a trial shows them as null (its transaction is rolled
back, so those numbers were never given). With `keep_details=False` only the totals
are kept. With details, every line and entry is kept as the stored integers the run holds,
in a `Spill`: the first chunk in memory, the rest in a temporary file, so a million-line
run holds one chunk of its report; they are shown as the JSON's dicts, amounts and
quantities as text, as they are read, and the CLI writes the report from them as a stream
(`json_view`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Mapping, Sequence

from ledger.money import amount_formatter
from ledger.spill import Mapped, Spill
from ledger.types import stored_amount_text, stored_quantity_text
from purchase.rules import amount_of


ABOUT_FIELDS = ("currency", "selection", "selection_in_words", "lowered")
"""The JSON's keys that say what the report is a report of, beside its date and user: the
base currency of its amounts, the selection, how the quantities were lowered. A run from a
saved trial says it was lowered as the trial, so they are left out of the trial's digest."""
REPRINT_FIELDS = ("reprinted", "undone")
"""The JSON's keys a report rebuilt from the books has beside a run's (`matching.reprint`):
the day it was rebuilt, and the undo of a close-out undone since (null if none)."""

REPORT_LINE_FIELDS = ("order", "line", "to_receive_before", "to_receive_after", "to_invoice_before", "to_invoice_after",
                      "uninvoiced", "unreceived", "uninvoiced_amount", "unreceived_amount")
"""A changed line as `PostingReport.add_lines` takes it: a tuple of these, the order number and
line number, then the stored integers the run holds (quantities x 10^6, amounts x 10^4):
to receive and to invoice before and after, the units written off as never invoiced
(uninvoiced) and never received (unreceived), and their amounts."""


@dataclass
class PostingReport:
    """Kept as the run gives it, shown when read: the lines and entries are kept as tuples of
    the stored integers, and `lines` and `entries` make each one the JSON's dict, its
    amounts and quantities as text, as they are read (the run keeps a million-line report
    compact, and formats nothing a writer does not show)."""

    trial: bool
    date: dt.date
    user: str
    currency: str
    closeout: int | None = None
    undo_of: int | None = None
    selection: dict | None = None  # the options that chose the lines (`Selection.describe()`), as the close-out stores them
    selection_in_words: str | None = None  # the same as the options say it (`Selection.in_words()`)
    lowered: str | None = None  # how the quantities were lowered (an undo: what it gives back), in words
    reprinted: dt.date | None = None  # rebuilt from the books on this day (`matching.reprint`), not as the run gave it
    undone: dict | None = None  # a reprinted close-out undone since: {"by", "date", "at"} of its undo
    keep_details: bool = True
    line_count: int = 0
    entry_count: int = 0
    entry_line_count: int = 0
    account_totals: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # stored integers
    account_names: dict = field(default_factory=dict)
    _kept_lines: Spill[tuple] = field(default_factory=lambda: Spill(plain=True), init=False, repr=False)  # REPORT_LINE_FIELDS
    _kept_entries: Spill[tuple] = field(default_factory=lambda: Spill(plain=True), init=False, repr=False)  # (journal, number, ISO date, lines)
    _amount: Callable[[Decimal], str] = field(init=False, repr=False, compare=False)
    _stored_amount: Callable[[int], str] = field(init=False, repr=False, compare=False)
    notes: list[str] = field(default_factory=list, compare=False)  # for the person, beside the report (not in its JSON)

    def add_lines(self, lines: Sequence[tuple]) -> None:
        """Count changed lines (tuples of `REPORT_LINE_FIELDS`); with details, keep them."""
        self.line_count += len(lines)
        if self.keep_details:
            self._kept_lines.extend(lines)

    def add_entries(self, entries: Iterable[tuple[str, int, dt.date, Sequence]], names: Mapping[str, str],
                    order_lines: Callable[[], Mapping[int, tuple]]) -> None:
        """Count the lines of these entries ((journal, number, date, lines), the lines
        `StoredLine`s: stored integers, as posted) into the account totals; with details,
        keep each entry's lines, each with its order line's (order, line, supplier, item)
        as `order_lines()` gives them by order line id (only called then)."""
        totals_of = self.account_totals
        shown = order_lines() if self.keep_details else None
        kept = []
        for journal, number, date, lines in entries:
            self.entry_count += 1
            self.entry_line_count += len(lines)
            for l in lines:
                totals = totals_of[l.account]
                totals[0] += l.debit
                totals[1] += l.credit
            if shown is not None:
                kept.append((journal, number, date.isoformat(), [
                    (l.account, l.debit, l.credit, l.quantity, shown[l.order_line_id]) for l in lines]))
        for account in totals_of.keys() - self.account_names.keys():
            self.account_names[account] = names[account]
        self._kept_entries.extend(kept)

    @property
    def lines(self) -> Mapped[dict]:
        """The changed lines as in the JSON's "lines", made as they are read."""
        return Mapped(self._kept_lines, self._line_view)

    @property
    def entries(self) -> Mapped[dict]:
        """The entries as in the JSON's "entries", made as they are read."""
        return Mapped(self._kept_entries, self._entry_view)

    def _line_view(self, line: tuple) -> dict:
        amount, quantity = self._stored_amount, stored_quantity_text
        return dict(zip(REPORT_LINE_FIELDS, (*line[:2], *map(quantity, line[2:8]), *map(amount, line[8:]))))

    def _entry_view(self, entry: tuple) -> dict:
        journal, number, date, lines = entry
        amount, quantity, names = self._stored_amount, stored_quantity_text, self.account_names
        return {
            "journal": journal,
            "number": None if self.trial else number,
            "date": date,
            "lines": [
                {"account": account, "name": names[account], "debit": amount(debit), "credit": amount(credit),
                 "order": order, "line": line, "supplier": supplier, "item": item, "quantity": quantity(units)}
                for account, debit, credit, units, (order, line, supplier, item) in lines
            ],
        }

    def __post_init__(self) -> None:
        self._amount = amount_formatter(self.currency)  # amount -> its text at the currency's minor unit
        self._stored_amount = stored_amount_text(self.currency)  # the same, of a stored amount

    @property
    def debit(self) -> Decimal:
        return amount_of(sum(t[0] for t in self.account_totals.values()), self.currency)

    @property
    def credit(self) -> Decimal:
        return amount_of(sum(t[1] for t in self.account_totals.values()), self.currency)

    @property
    def shown_closeout(self) -> int | None:
        return None if self.trial else self.closeout

    def json_view(self) -> dict:
        """The CLI.md shape, with `lines` and `entries` as the spills themselves: for
        writers that stream (`cli.output.stream_json`), in constant memory."""
        amount = self._amount
        view = {
            "closeout": self.shown_closeout,
            "trial": self.trial,
            "undo_of": self.undo_of,
            "date": self.date.isoformat(),
            "user": self.user,
            "currency": self.currency,
            "selection": self.selection,
            "selection_in_words": self.selection_in_words,
            "lowered": self.lowered,
            "lines": self.lines,
            "entries": self.entries,
            "accounts": [
                {"account": code, "name": self.account_names[code], "debit": self._stored_amount(d),
                 "credit": self._stored_amount(c)}
                for code, (d, c) in sorted(self.account_totals.items())
            ],
            "totals": {"debit": amount(self.debit), "credit": amount(self.credit), "balanced": self.debit == self.credit},
            "line_count": self.line_count,
            "entry_count": self.entry_count,
        }
        if self.reprinted is not None:  # a reprint says so; a run's report has no such keys
            view["reprinted"] = self.reprinted.isoformat()
            view["undone"] = self.undone
        return view

    def to_json(self) -> dict:
        """The CLI.md shape as plain lists and dicts; exact decimals as strings, dates ISO,
        no clock time. Holds the whole report: for small reports and tests."""
        view = self.json_view()
        return {**view, "lines": list(view["lines"]), "entries": list(view["entries"])}
