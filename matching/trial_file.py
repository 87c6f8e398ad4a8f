"""A reviewed trial, saved and committed later exactly as reviewed.

`closeout run --trial --save FILE` stores the run's parameters, a fingerprint of every
line it read (its quantities and price) and the report. `closeout run --from-trial FILE`
runs the same close-out for real, compares what it reads with the saved fingerprints and
the report it makes with the saved one, and refuses (nothing written, naming what
changed) if any selected line changed since the review.

The file is JSON Lines (version 2), so that a trial of a million lines is written and
read a line at a time: a head object (the parameters, the fingerprint of all lines read
and the digest of the report), then one `[line, fingerprint]` pair per line read in the
order read, then the report itself for the record: its head, then one object per
closed line and one per entry. Version 1 files (one JSON object) are still read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from typing import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import PledgerError
from ledger.files import not_a_file, write_whole
from ledger.money import D, format_quantity
from ledger.spill import Spill
from matching.closeout import Edit, fingerprint_line
from matching.models import Closeout, CloseoutLine
from matching.report import ABOUT_FIELDS
from matching.selection import Selection, one_line
from purchase.models import OrderLine, PurchaseOrder

VERSION = 2
KIND = "pledger close-out trial"


class TrialFileError(PledgerError):
    pass


class ReadLog:
    """The fingerprint of every line a run reads, in order (kept in a `Spill`), and of all."""

    def __init__(self):
        self.lines: Spill[tuple[str, str]] = Spill()
        self._all = hashlib.sha256()

    def __call__(self, record) -> None:
        key = f"{record.order_number}/{record.line_no}"
        value = hashlib.sha256(fingerprint_line(record).encode()).hexdigest()
        self._all.update(f"{chr(10) if self.lines else ''}{key}={value}".encode())
        self.lines.append((key, value))

    @property
    def fingerprint(self) -> str:
        """sha256 of "key=fingerprint" lines joined by newlines (as version 1 had it)."""
        return self._all.hexdigest()


def save(path, *, selection: Selection, edits, close_fully: bool, date: dt.date, read: ReadLog, report: dict,
         said: Callable[[OSError], str] | None = None) -> None:
    """Write the trial file, whole or not at all; `report` is the JSON shape, its lines and
    entries as lists or as the report's spills (`PostingReport.json_view()`). `said`: what a
    refusal says of a file that cannot be written (the CLI's `cli.formats.cannot_write`)."""
    head = {
        "kind": KIND,
        "version": VERSION,
        "selection": selection.describe(),
        "close_fully": close_fully,
        "edits": None if edits is None else [
            {"order": e.order, "line": e.line,
             "to_receive": None if e.to_receive is None else str(e.to_receive),
             "to_invoice": None if e.to_invoice is None else str(e.to_invoice)} for e in edits],
        "date": date.isoformat(),
        "lowered": report.get("lowered"),  # in words, for the report of the run that commits it
        "fingerprint": read.fingerprint,
        "lines_read": len(read.lines),
        "report_digest": report_digest(report),
    }
    report_head = {k: v for k, v in report.items() if k not in ("lines", "entries")}
    records = itertools.chain(
        [head], (list(pair) for pair in read.lines), [{"report": report_head}],
        ({"line": line} for line in report["lines"]), ({"entry": entry} for entry in report["entries"]))

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False))
                f.write("\n")

    try:
        write_whole(path, write)  # an interrupted save leaves no temporary file behind
    except OSError as exc:
        raise TrialFileError(said(exc) if said is not None else f"cannot write the trial to {path}: {exc.strerror or exc}") from None


def load(path) -> dict:
    """The saved trial's parameters; `lines_read` is an iterable of (line, fingerprint)
    pairs, read from the file as it is iterated."""
    not_ours = TrialFileError(f"{path} is not a trial saved by 'pledger closeout run --trial --save'")
    if (why := not_a_file(path)) is not None:  # read again for its lines: a pipe's were gone
        raise TrialFileError(why)
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline()
            try:
                head = json.loads(first)
            except ValueError:
                head = None
            if not isinstance(head, dict):  # version 1: one JSON object over many lines
                head = json.loads(first + f.read())
    except OSError as exc:
        raise TrialFileError(f"cannot read the saved trial {path}: {exc.strerror or exc}") from None
    except ValueError:  # not JSON (a CSV, a workbook, an empty file): said as "Expecting value: line 1 column 1 (char 0)"
        raise not_ours from None
    if not isinstance(head, dict):
        raise not_ours
    if head.get("version") == 1 and isinstance(head.get("lines_read"), dict) and "report" in head:
        data = dict(head)
        data["lines_read"] = list(head["lines_read"].items())
        data["report_digest"] = report_digest(head["report"])
    elif head.get("version") == VERSION and head.get("kind") == KIND and type(head.get("lines_read")) is int:
        data = dict(head)
        data["lines_read"] = _SavedLines(path, head["lines_read"], not_ours)
    else:
        raise not_ours
    try:
        data["selection_obj"] = Selection.from_dict(data["selection"])
        data["edits_obj"] = None if data["edits"] is None else [_edit(e) for e in data["edits"]]
        data["date_obj"] = dt.date.fromisoformat(data["date"])
        if type(data["close_fully"]) is not bool:  # "no" was taken for --close-fully
            raise ValueError("close_fully is true or false")
        if not (data.get("lowered") is None or one_line(data["lowered"])):  # printed in the run's report
            raise ValueError("lowered is one line of text")
    except (KeyError, TypeError, ValueError, PledgerError):
        raise not_ours from None
    return data


def _edit(saved: dict) -> Edit:
    """An edit as `save` writes it: the order a text, the line a whole number, the quantities
    texts or null; any other shape (edited by hand) is a ValueError, as an edits file's
    would be refused (an order saved as a number was an internal error)."""
    order, line, to_receive, to_invoice = saved["order"], saved["line"], saved["to_receive"], saved["to_invoice"]
    if not isinstance(order, str) or type(line) is not int or not all(q is None or isinstance(q, str) for q in (to_receive, to_invoice)):
        raise ValueError("not an edit as a trial saves it")
    return Edit(order, line, None if to_receive is None else D(to_receive), None if to_invoice is None else D(to_invoice))


class _SavedLines:
    """The (line, fingerprint) pairs of a version 2 file, read each time they are iterated."""

    def __init__(self, path, count: int, not_ours: TrialFileError):
        self._path, self._count, self._not_ours = path, count, not_ours

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[str, str]]:
        try:
            with open(self._path, encoding="utf-8") as f:
                f.readline()
                for _ in range(self._count):
                    key, value = json.loads(f.readline())
                    yield key, value
        except (OSError, ValueError, TypeError):
            raise self._not_ours from None


def changes(saved: dict, read: ReadLog) -> list[str]:
    """What differs between the lines read now and those read by the reviewed trial."""
    if saved["fingerprint"] == read.fingerprint:
        return []
    before, now = dict(saved["lines_read"]), dict(read.lines)
    out = []
    for key in before:
        if key not in now:
            out.append(f"order line {key} is no longer selected or open")
        elif before[key] != now[key]:
            out.append(f"order line {key} changed since the trial")
    for key in now:
        if key not in before:
            out.append(f"order line {key} is new in the selection")
    return out


def report_digest(report: dict) -> str:
    """A digest of what may not differ between a trial's report and its real run's.

    Left out: the close-out number, the trial flag, the user, the entries' numbers
    (null on a trial), and what the report says it is a report of (`ABOUT_FIELDS`: a run
    says them as its trial did, but trials saved before they were said still hold). `report` is the JSON shape, its lines and entries as lists (a saved
    trial) or as the report's spills (`PostingReport.json_view()`), read item by item.
    """
    digest = hashlib.sha256()
    head = {k: v for k, v in report.items() if k not in ("closeout", "trial", "user", "lines", "entries", *ABOUT_FIELDS)}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for line in report["lines"]:
        digest.update(b"\nL" + json.dumps(line, sort_keys=True).encode())
    for entry in report["entries"]:
        digest.update(b"\nE" + json.dumps({**entry, "number": None}, sort_keys=True).encode())
    return digest.hexdigest()


_CLOSED_QUANTITIES = ("to_receive_before", "to_receive_after", "to_invoice_before", "to_invoice_after", "uninvoiced", "unreceived")
"""What a closed line of the report says it did, as a close-out keeps it (`CloseoutLine`)."""


def report_lines(path, saved: dict) -> Iterator[tuple]:
    """The saved report's closed lines (its JSON "lines"), read from the file as they are
    iterated (version 1: from the object read), each as (order, line, the six quantities as
    `format_quantity` writes them). A line of another shape (edited by hand) refuses the
    file as not a saved trial: it was an internal error (TypeError, KeyError)."""
    not_ours = TrialFileError(f"{path} is not a trial saved by 'pledger closeout run --trial --save'")

    def closed(line) -> tuple:
        return (line["order"], line["line"], *(format_quantity(D(line[k])) for k in _CLOSED_QUANTITIES))

    try:
        if saved.get("version") == 1:
            for line in saved["report"]["lines"]:
                yield closed(line)
            return
        with open(path, encoding="utf-8") as f:
            for _ in range(1 + len(saved["lines_read"])):  # the head, the lines read
                f.readline()
            for text in f:
                record = json.loads(text)
                if "entry" in record:
                    return
                if "line" in record:
                    yield closed(record["line"])
    except (OSError, ValueError, TypeError, KeyError, PledgerError):
        raise not_ours from None


def _closed_digest(rows: Iterable[tuple]) -> tuple[int, int]:
    """How many closed lines, and a digest of them in any order: (order, line, the six
    quantities as `format_quantity` writes them). A report lists them in the selection's
    sort, a close-out keeps them as written: a sum of each one's hash compares them without
    holding a million lines."""
    count, total = 0, 0
    for row in rows:
        count += 1
        total = (total + int.from_bytes(hashlib.sha256(json.dumps(list(row)).encode()).digest(), "big")) % (1 << 256)
    return count, total


def committed_as(session: Session, path, saved: dict) -> Closeout | None:
    """The standing close-out that already did what the saved trial reviewed, or None: of
    its date and selection, and closing the same lines from the same quantities to the
    same. A trial committed once is run again with the same file (a script run twice): its
    lines are closed, or changed by its own close-out, and "no longer holds" would say the
    books moved under the review (`closeout run --from-trial`). A close-out run by hand with
    the same parameters did the same, and is one too. An undone one is not: its undo gave
    the lines back, and the trial then commits again if nothing else changed them."""
    candidates = session.scalars(
        select(Closeout).where(Closeout.closeout_date == saved["date_obj"], Closeout.selection == saved["selection_obj"].to_json(),
                               Closeout.undone_by.is_(None))
        .order_by(Closeout.number.desc())).all()
    if not candidates:
        return None
    wanted = _closed_digest(report_lines(path, saved))
    if wanted[0] == 0:  # a trial that lowers nothing commits no close-out
        return None
    cl = CloseoutLine.__table__.c
    for closeout in candidates:
        rows = session.execute(
            select(PurchaseOrder.number, OrderLine.line_no, cl.to_receive_before, cl.to_receive_after, cl.to_invoice_before,
                   cl.to_invoice_after, cl.uninvoiced_units, cl.unreceived_units)
            .join(OrderLine, OrderLine.id == cl.order_line_id).join(PurchaseOrder, PurchaseOrder.id == OrderLine.order_id)
            .where(cl.closeout_id == closeout.id).execution_options(yield_per=2000))
        if _closed_digest((order, line, *map(format_quantity, quantities)) for order, line, *quantities in rows) == wanted:
            return closeout
    return None
