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
import os
from pathlib import Path

from ledger.errors import PledgerError
from ledger.jsonstream import json_chunks
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
    """Write the trial file, whole or not at all; `report` may be `PostingReport.json_view()`
    (its lines and entries are written as they are read from the report's spill)."""
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
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for piece in json_chunks(data, indent=1):
                f.write(piece)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrialFileError(f"cannot write the trial to {path}: {exc.strerror or exc}") from None


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


def report_digest(report: dict) -> str:
    """A digest of what may not differ between a trial's report and its real run's.

    Left out: the close-out number, the trial flag, the user, and the entries' numbers
    (null on a trial). `report` is the JSON shape, its lines and entries as lists (a saved
    trial) or as the report's spills (`PostingReport.json_view()`), read item by item.
    """
    digest = hashlib.sha256()
    head = {k: v for k, v in report.items() if k not in ("closeout", "trial", "user", "lines", "entries")}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for line in report["lines"]:
        digest.update(b"\nL" + json.dumps(line, sort_keys=True).encode())
    for entry in report["entries"]:
        digest.update(b"\nE" + json.dumps({**entry, "number": None}, sort_keys=True).encode())
    return digest.hexdigest()
