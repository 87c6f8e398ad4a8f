"""A reviewed trial, saved and committed later exactly as reviewed.

`closeout run --trial --save FILE` stores the run's parameters, a fingerprint of every
line it read (its quantities and price) and the report. `closeout run --from-trial FILE`
runs the same close-out for real, compares what it reads with the saved fingerprints and
the report it makes with the saved one, and refuses (nothing written, naming what
changed) if any selected line changed since the review.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from ledger.errors import PledgerError
from matching.closeout import Edit, fingerprint_line
from matching.selection import Selection

VERSION = 1


class TrialFileError(PledgerError):
    pass


class ReadLog:
    """Collects the fingerprint of every line a run reads, in order."""

    def __init__(self):
        self.lines: dict[str, str] = {}

    def __call__(self, record) -> None:
        self.lines[f"{record.order_number}/{record.line_no}"] = hashlib.sha256(fingerprint_line(record).encode()).hexdigest()

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(f"{k}={v}" for k, v in self.lines.items()).encode()).hexdigest()


def save(path, *, selection: Selection, edits, close_fully: bool, date: dt.date, read: ReadLog, report: dict) -> None:
    data = {
        "version": VERSION,
        "selection": selection.describe(),
        "close_fully": close_fully,
        "edits": None if edits is None else [
            {"order": e.order, "line": e.line,
             "to_receive": None if e.to_receive is None else str(e.to_receive),
             "to_invoice": None if e.to_invoice is None else str(e.to_invoice)} for e in edits],
        "date": date.isoformat(),
        "fingerprint": read.fingerprint,
        "lines_read": read.lines,
        "report": report,
    }
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True))


def load(path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise TrialFileError(f"cannot read the saved trial {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or "lines_read" not in data:
        raise TrialFileError(f"{path} is not a trial saved by 'pledger closeout run --trial --save'")
    from ledger.money import D

    data["selection_obj"] = Selection.from_dict(data["selection"])
    data["edits_obj"] = None if data["edits"] is None else [
        Edit(e["order"], e["line"], None if e["to_receive"] is None else D(e["to_receive"]),
             None if e["to_invoice"] is None else D(e["to_invoice"])) for e in data["edits"]]
    data["date_obj"] = dt.date.fromisoformat(data["date"])
    return data


def changes(saved: dict, read: ReadLog) -> list[str]:
    """What differs between the lines read now and those read by the reviewed trial."""
    before, now = saved["lines_read"], read.lines
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


def comparable(report: dict) -> dict:
    """A report without what may differ between a trial and its real run."""
    out = dict(report)
    for key in ("closeout", "trial", "user"):
        out.pop(key, None)
    out["entries"] = [{**e, "number": None} for e in report["entries"]]
    return out
